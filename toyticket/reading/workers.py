"""Processes that draw figures: forked where this process has not loaded JAX, else forked
from a fork server started before they are needed, with the reading side preloaded.

Forking a process that runs JAX is unsafe (its runtime threads do not survive a fork), so
a sweep cannot fork its figure workers; spawning them costs each ~3 s of imports
(matplotlib, scipy.stats, the figure modules) after the chunk, on the critical path. A
sweep therefore calls `start()` first: multiprocessing's fork server is a fresh Python
(fork + exec, safe from a threaded parent) that imports PRELOAD once, while the sweep
loads and runs its chunk program; every worker is then a fork of it and starts at once.
Nothing here imports JAX or matplotlib.
"""
from __future__ import annotations

import multiprocessing
import os
import sys

# What a figure worker imports: the report module pulls in plots and every family's figure
# module; those import matplotlib and scipy.stats only when they draw, so name them too.
PRELOAD = ["toyticket.reading.report", "scipy.stats", "matplotlib.figure",
           "matplotlib.patches", "matplotlib.backends.backend_agg"]

_started = [False]


def start() -> bool:
  """Starts the fork server with PRELOAD imported (it keeps importing in the background;
  idempotent). Returns whether one runs (False where the platform has no fork server)."""
  if _started[0]:
    return True
  if "forkserver" not in multiprocessing.get_all_start_methods():
    return False
  from multiprocessing import forkserver
  forkserver.set_forkserver_preload(PRELOAD)
  forkserver.ensure_running()
  _started[0] = True
  return True


def start_method() -> str:
  """"fork" where this process has not loaded JAX and the platform forks (a worker
  starts at once); else "forkserver" where `start` launched one (a sweep does, unless
  quick); else "spawn" (each worker imports for ~3 s: `report.start` then draws small
  runs in this process)."""
  if "jax" not in sys.modules and hasattr(os, "fork"):
    return "fork"
  return "forkserver" if _started[0] else "spawn"


def context():
  """(multiprocessing context, its start method) for figure workers (`start_method`)."""
  method = start_method()
  return multiprocessing.get_context(method), method
