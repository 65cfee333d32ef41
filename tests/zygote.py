"""The suite's command-line runs without their import time: `run_module` is
`subprocess.run([python, "-m", module, *args])` for a test, answered by a fork of a
per-worker server that imported the heavy modules once (JAX, flax, optax, orbax, the
library, matplotlib, scipy.stats: ~2.4 s of every CLI run otherwise).

Each run is a fresh fork: it sets the request's environment, working directory, argv and
sys.path[0] as `python -m` would, points fds 0/1/2 at /dev/null and two capture files,
runs the module as __main__ (runpy), then shuts down like an interpreter (non-daemon
threads joined, atexit handlers run, streams flushed) and exits with the module's exit
code (SystemExit's; 1 and a traceback for an uncaught exception). What the CLI does is
unchanged: argument parsing, one-line errors, exit codes and files are its own.

The server is used only where that is exactly equivalent to a new interpreter: no JAX
backend exists in it (forking one would be unsafe; the `__main__` check below asserts it)
and the request's environment equals the server's in every variable that is read at
import time — everything except XLA_FLAGS (read when the backend starts, in the child)
and pytest's per-test variables. Any other request, and every run whose process itself is
under test (signals, Popen, several processes), is a real subprocess.
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


def _child(req: dict) -> None:
  """Runs one request in this (forked) process; never returns."""
  code = 1
  try:
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
      f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
      os.dup2(f, fd)
      os.close(f)
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
        code = e.code
      else:
        print(e.code, file=sys.stderr)
        code = 1
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
    os._exit(code)


def serve() -> None:
  """The server: imports PRELOAD, then answers one JSON request per stdin line with
  "pid <pid>" (the run's process, for a timeout kill) and "exit <code>" on its own copy of
  stdout (what imports print goes to stderr)."""
  proto = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)
  import importlib
  for m in PRELOAD:
    importlib.import_module(m)
  from jax._src import xla_bridge
  assert not xla_bridge._backends, "a JAX backend started in the fork server"
  say = lambda line: (proto.write(line + "\n"), proto.flush())
  say("ready")
  for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
      os.close(proto.fileno())
      _child(req)
    say(f"pid {pid}")
    _, status = os.waitpid(pid, 0)
    say(f"exit {os.waitstatus_to_exitcode(status)}")


class _Server:
  def __init__(self, env: dict):
    self.env = env
    here = os.path.dirname(os.path.abspath(__file__))
    self.proc = subprocess.Popen([sys.executable, os.path.join(here, "zygote.py")],
                                 cwd=os.path.dirname(here), env=env, stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, bufsize=1)
    self.lock = threading.Lock()
    self.ready = False

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
    if not self.ready and self.proc.poll() is None:
      with self.lock:
        self.ready = self.proc.stdout.readline() == "ready\n"
    return self.ready and self.proc.poll() is None

  def run(self, module: str, args: list, env: dict, cwd: str, timeout: float):
    with self.lock, tempfile.TemporaryDirectory() as tmp:
      req = dict(module=module, args=[str(a) for a in args], env=env, cwd=str(cwd),
                 stdout=os.path.join(tmp, "out"), stderr=os.path.join(tmp, "err"))
      self.proc.stdin.write(json.dumps(req) + "\n")
      self.proc.stdin.flush()
      pid = int(self._expect("pid "))
      killed = []
      timer = threading.Timer(timeout, lambda: (killed.append(1), os.kill(pid, 9)))
      timer.start()
      try:
        code = int(self._expect("exit "))
      finally:
        timer.cancel()
      read = lambda p: open(p, encoding="utf-8", errors="replace").read()
      cmd = [sys.executable, "-m", module, *req["args"]]
      if killed:
        raise subprocess.TimeoutExpired(cmd, timeout, read(req["stdout"]), read(req["stderr"]))
      p = subprocess.CompletedProcess(cmd, code, read(req["stdout"]), read(req["stderr"]))
      p.forked = True        # answered by the server (a test of this module checks it)
      return p


_SERVERS: dict = {}


def start(env: dict | None = None) -> "_Server":
  """Starts (once per environment; default `cli_env()`) a server for requests with this
  environment; it imports in the background while the caller goes on."""
  env = cli_env() if env is None else env
  key = json.dumps({k: v for k, v in sorted(env.items()) if k not in LATE})
  if key not in _SERVERS or _SERVERS[key].proc.poll() is not None:
    _SERVERS[key] = _Server(dict(env))
  return _SERVERS[key]


def run_module(module: str, *args, env: dict, cwd, timeout: float = 600):
  """`subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
  capture_output=True, text=True, timeout=timeout)`, answered by a server started with a
  compatible environment when one is (see the module docstring), else exactly that."""
  if _Server.compatible_with(env, cli_env()):
    start()
  for server in _SERVERS.values():
    if server.compatible(env) and server.usable():
      return server.run(module, list(args), env, cwd, timeout)
  return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=timeout)


if __name__ == "__main__":
  serve()
