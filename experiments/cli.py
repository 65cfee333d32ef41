"""What every command line of toyticket shares: one-line failures with stated exit codes.

  fail(message, code)   one line on stderr, exit now (2: bad input or file; 130: Ctrl-C;
                        128 + N: signal N)
  parse_flags(argv)     absl flag parsing whose errors are one line and exit 2
  run(main)             app.run(main) with SIGTERM / SIGHUP turned into one line and
                        128 + N, Ctrl-C into one line and 130, and JAX's "cannot start the
                        backend asked for" (JAX_PLATFORMS) into one line and 2

Plain Python (absl only), so a command can fail fast before it imports JAX.
"""
from __future__ import annotations

import os
import signal
import sys

from absl import app, flags

INTERRUPTED = "interrupted: finished chunks are kept; re-run the same command to resume"
SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
  """SIGTERM or SIGHUP, raised in the main thread like KeyboardInterrupt for SIGINT, so a
  file being written is removed (atomic writes) before the one-line exit 128 + N."""

  def __init__(self, signum: int):
    super().__init__(signum)
    self.signum = signum


def _on_signal(signum, frame):
  raise Terminated(signum)


def fail(message: str, code: int = 2):
  """Prints one line and exits now (skipping teardown, where orbax threads print)."""
  print(message.splitlines()[0] if message else "error", file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(code)


def parse_flags(argv):
  """absl flag parsing with one-line errors (exit 2) instead of absl's two lines + exit 1;
  --help / --helpfull print the command's docstring and flags on stdout, exit 0."""
  if wants_help(argv[1:]):
    app.usage(shorthelp="--helpfull" not in argv, writeto_stdout=True, exitcode=0)
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"flag error: {e}")


def _unraisable(hook):
  """A sys.unraisablehook that re-delivers a signal whose exception Python swallowed (it
  was raised inside a callback, e.g. JAX's gc callback: "Exception ignored in ..."), so the
  stop still happens, in one line, at the next point the main thread runs Python code."""
  def later(signum):
    # from another thread, after the hook has returned: a signal sent from inside the hook
    # would raise inside the hook too, and be swallowed again
    import threading
    threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()

  def handle(unraisable):
    exc = unraisable.exc_value
    if isinstance(exc, Terminated):
      later(exc.signum)
    elif isinstance(exc, KeyboardInterrupt):
      later(signal.SIGINT)
    else:
      hook(unraisable)
  return handle


HELP = ("-h", "--help", "--helpshort", "--helpfull")


def wants_help(argv: list[str]) -> bool:
  """True if the command line asks for help (absl prints the usage and flags, exit 0)."""
  return any(a in HELP for a in argv)


def run(main, interrupted: str = INTERRUPTED) -> None:
  """app.run(main) with every stop a user can cause in one line (module docstring)."""
  for s in SIGNALS:
    signal.signal(s, _on_signal)
  sys.unraisablehook = _unraisable(sys.unraisablehook)
  try:
    app.run(main, flags_parser=parse_flags)
  except app.UsageError as e:
    fail(f"usage error: {e}")
  except RuntimeError as e:   # JAX cannot start the backend asked for (JAX_PLATFORMS)
    if "initialize backend" not in str(e):
      raise
    fail(f"device error: {str(e).splitlines()[0]} (JAX_PLATFORMS="
         f"{os.environ.get('JAX_PLATFORMS', '')!r})")
  except KeyboardInterrupt:
    fail(interrupted, 130)
  except Terminated as e:
    name = signal.Signals(e.signum).name
    fail(f"terminated ({name}): " + interrupted.split(": ", 1)[1], 128 + e.signum)
