"""The suite's command-line runs without their import time: `run_module` is
`subprocess.run([python, "-m", module, *args])` for a test, answered by a fork of a
per-worker server that imported the heavy modules once (JAX, flax, optax, orbax, the
library, matplotlib, scipy.stats: ~2 s of every CLI run otherwise).

Each run is a fresh fork in its own process group: it sets the request's environment,
working directory, argv and sys.path[0] as `python -m` would, reads /dev/null and writes
two pipes that the server copies to capture files until every process holding them has
closed them (as `subprocess.run` waits for them), runs the module as __main__ (runpy),
then shuts down like an interpreter (non-daemon threads joined, atexit handlers run,
streams flushed) and exits with the module's exit code (SystemExit's; 1 and a traceback
for an uncaught exception; death by SIGINT for an uncaught KeyboardInterrupt). A timeout
kills the process group. What the CLI does is unchanged: argument parsing, one-line
errors, exit codes and files are its own.

The server is used only where that is equivalent to a new interpreter: no JAX backend or
thread exists in it (checked before it answers), the request's environment equals the
server's in every variable that is read at import time — everything except XLA_FLAGS
(read when the backend starts, in the child) and pytest's per-test variables — no
argument names an absl flag that only the preloaded modules define, and the command does
not behave differently with JAX imported (REAL_ONLY). Any other request, and every run
whose process itself is under test (signals, Popen, several processes, determinism
across processes: the forks share the server's string-hash seed), is a real subprocess.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading

PRELOAD = ("jax", "jax.numpy", "flax.linen", "optax", "orbax.checkpoint", "chex",
           "ml_collections.config_flags", "absl.app", "experiments.cli",
           "toyticket.run.sweep", "toyticket.run.replicate", "toyticket.reading.report",
           "toyticket.ticket.cycle", "scipy.stats", "matplotlib.figure",
           "matplotlib.patches", "matplotlib.backends.backend_agg")
# Not experiments.sweep / replicate / bench / report themselves: they define absl flags at
# import, and each run imports its module afresh as __main__.
LATE = ("XLA_FLAGS", "PYTEST_CURRENT_TEST")   # env read after import (or never)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# CLI runs share a persistent compilation cache: identical programs compile once.
CACHE = {"JAX_COMPILATION_CACHE_DIR": os.path.join(tempfile.gettempdir(), "toyticket-jax-cache"),
         "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}


def cli_env(**over) -> dict:
  """The environment of the suite's CLI runs: this one on CPU, the repository importable,
  the shared compilation cache; `over` replaces variables."""
  return {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT, **CACHE, **over}


def _child(req: dict, out_fd: int, err_fd: int) -> None:
  """Runs one request in this (forked) process, its stdout and stderr on the given pipe
  ends; never returns."""
  code, interrupted = 1, False
  try:
    os.setpgid(0, 0)                          # a timeout kills the run and its children
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.close(out_fd)
    os.close(err_fd)
    sys.argv = [req["module"], *req["args"]]
    sys.path[0] = os.getcwd()               # what `python -m` puts first
    import runpy
    try:
      runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
      code = 0
    except SystemExit as e:
      if e.code is None:
        code = 0
      elif isinstance(e.code, int):
        code = e.code & 0xFF
      else:
        print(e.code, file=sys.stderr)
        code = 1
    except KeyboardInterrupt:                 # the interpreter dies of SIGINT
      sys.excepthook(*sys.exc_info())
      interrupted = True
    except BaseException:                     # what the interpreter prints, exit 1
      sys.excepthook(*sys.exc_info())
      code = 1
    threading._shutdown()                     # as Py_Finalize: threads, then atexit
    import atexit
    atexit._run_exitfuncs()
  finally:
    for s in (sys.stdout, sys.stderr):
      try:
        s.flush()
      except Exception:
        pass
    if interrupted:
      import signal
      signal.signal(signal.SIGINT, signal.SIG_DFL)
      os.kill(os.getpid(), signal.SIGINT)
    os._exit(code)


def _flag_names() -> set:
  from absl import flags
  return set(flags.FLAGS)


def serve() -> None:
  """The server: imports PRELOAD, then answers one JSON request per stdin line with
  "pid <pid>" (the run's process group, for a timeout kill) and "exit <code>" on its own
  copy of stdout (what imports print goes to stderr). Like `subprocess.run`, it copies the
  run's stdout and stderr to the request's files until every process that holds them has
  closed them (the run and whatever it started), then reaps the run."""
  proto = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)
  import importlib
  for m in ("absl.app", "absl.logging"):
    importlib.import_module(m)
  base = _flag_names()
  for m in PRELOAD:
    importlib.import_module(m)
  from jax._src import xla_bridge
  if xla_bridge._backends or threading.active_count() != 1:
    raise RuntimeError("the fork server started a JAX backend or a thread")
  say = lambda line: (proto.write(line + "\n"), proto.flush())
  say("ready " + json.dumps(sorted(_flag_names() - base)))
  for line in sys.stdin:
    req = json.loads(line)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
      os.close(proto.fileno())
      os.close(out_r)
      os.close(err_r)
      _child(req, out_w, err_w)
    os.close(out_w)
    os.close(err_w)
    say(f"pid {pid}")

    def copy(src, path):
      with open(path, "wb") as f, os.fdopen(src, "rb", buffering=0) as r:
        while chunk := r.read(65536):
          f.write(chunk)

    copiers = [threading.Thread(target=copy, args=a) for a in
               ((out_r, req["stdout"]), (err_r, req["stderr"]))]
    for t in copiers:
      t.start()
    for t in copiers:
      t.join()
    _, status = os.waitpid(pid, 0)
    say(f"exit {os.waitstatus_to_exitcode(status)}")


# Commands that choose what they do by whether JAX is imported (`reading.workers`: a
# report forks its figure workers only without JAX): always a real subprocess.
REAL_ONLY = ("experiments.report",)


class _Server:
  def __init__(self, env: dict):
    self.env = env
    self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)],
                                 cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, bufsize=1)
    self.lock = threading.Lock()
    self.ready = False
    self.extra_flags: set = set()    # absl flags the preloaded modules defined

  @staticmethod
  def compatible_with(a: dict, b: dict) -> bool:
    strip = lambda e: {k: v for k, v in e.items() if k not in LATE}
    return strip(a) == strip(b)

  def compatible(self, env: dict) -> bool:
    return self.compatible_with(env, self.env)

  def _expect(self, word: str) -> str:
    line = self.proc.stdout.readline()
    if not line.startswith(word):
      raise RuntimeError(f"zygote said {line!r}, expected {word!r}")
    return line[len(word):].strip()

  def usable(self) -> bool:
    """Whether the server runs and has imported (waits for it; False if it died, e.g. an
    import failed: its error is on stderr, and the caller uses a real subprocess)."""
    with self.lock:
      if not self.ready and self.proc.poll() is None:
        line = self.proc.stdout.readline()
        if line.startswith("ready "):
          self.extra_flags = set(json.loads(line[len("ready "):]))
          self.ready = True
      return self.ready and self.proc.poll() is None

  def takes(self, module: str, args: list) -> bool:
    """Whether a run of module with args is what a new interpreter would do: not a
    REAL_ONLY command, and no argument names a flag that only the preloaded modules
    define (a new interpreter would refuse it)."""
    named = {a[2:].split("=")[0] for a in map(str, args) if a.startswith("--")}
    named |= {n[2:] for n in named if n.startswith("no")}
    return module not in REAL_ONLY and not named & self.extra_flags

  def kill(self) -> None:
    self.proc.kill()
    self.proc.wait()

  def run(self, module: str, args: list, env: dict, cwd: str, timeout: float):
    with self.lock, tempfile.TemporaryDirectory() as tmp:
      req = dict(module=module, args=[str(a) for a in args], env=env, cwd=str(cwd),
                 stdout=os.path.join(tmp, "out"), stderr=os.path.join(tmp, "err"))
      killed = []

      def kill(pgid):
        try:
          os.killpg(pgid, 9)
          killed.append(pgid)
        except ProcessLookupError:          # it had just finished
          pass

      try:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        pid = int(self._expect("pid "))
        timer = threading.Timer(timeout, kill, (pid,))
        timer.start()
        try:
          code = int(self._expect("exit "))
        finally:
          timer.cancel()
      except BaseException:                   # out of step with the server: drop it
        self.kill()
        raise
      read = lambda p: open(p, encoding="utf-8", errors="replace").read()
      cmd = [sys.executable, "-m", module, *req["args"]]
      if killed and code == -9:
        raise subprocess.TimeoutExpired(cmd, timeout, read(req["stdout"]), read(req["stderr"]))
      p = subprocess.CompletedProcess(cmd, code, read(req["stdout"]), read(req["stderr"]))
      p.forked = True        # answered by the server (a test of this module checks it)
      return p


_SERVERS: dict = {}
_LOCK = threading.Lock()


def start(env: dict | None = None) -> "_Server":
  """Starts (once per environment; default `cli_env()`) a server for requests with this
  environment; it imports in the background while the caller goes on. A server that was
  dropped (killed after a timeout or an interrupted run) is started again; one whose
  imports failed is not."""
  env = cli_env() if env is None else env
  key = json.dumps({k: v for k, v in sorted(env.items()) if k not in LATE})
  with _LOCK:
    old = _SERVERS.get(key)
    if old is None or (old.ready and old.proc.poll() is not None):
      _SERVERS[key] = _Server(dict(env))
    return _SERVERS[key]


def run_module(module: str, *args, env: dict, cwd, timeout: float = 600):
  """`subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
  capture_output=True, text=True, timeout=timeout)`, answered by a server started with a
  compatible environment when one is and it takes the run (see the module docstring and
  `_Server.takes`), else exactly that."""
  if _Server.compatible_with(env, cli_env()):
    start()
  with _LOCK:
    servers = list(_SERVERS.values())
  for server in servers:
    if server.compatible(env) and server.usable() and server.takes(module, args):
      return server.run(module, list(args), env, cwd, timeout)
  return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
  serve()
