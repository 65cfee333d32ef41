"""This machine, as the library sees it (plain Python: no JAX, no numpy)."""
from __future__ import annotations

import os


def available_cores() -> int:
  """Cores this process may run on (its CPU affinity on Linux; elsewhere all cores)."""
  affinity = getattr(os, "sched_getaffinity", None)
  return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def default_cache_dir() -> str:
  """Where compiled programs are kept between runs: $XDG_CACHE_HOME/toyticket/jax
  (default ~/.cache/toyticket/jax)."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "toyticket", "jax")
