"""This machine, as the library sees it (plain Python: no JAX, no numpy)."""
from __future__ import annotations

import os
import subprocess
import sys


def available_cores() -> int:
  """Cores this process may run on (its CPU affinity on Linux; elsewhere all cores)."""
  affinity = getattr(os, "sched_getaffinity", None)
  return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def default_cache_dir() -> str:
  """Where compiled programs are kept between runs: $XDG_CACHE_HOME/toyticket/jax
  (default ~/.cache/toyticket/jax)."""
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "toyticket", "jax")


def available_memory() -> int | None:
  """Bytes of memory this process can still take: the least of MemAvailable
  (/proc/meminfo) and its cgroup's limit minus use (cgroup v2 memory.max −
  memory.current); None where neither is known (not Linux)."""
  known = []
  try:
    with open("/proc/meminfo") as f:
      known += [int(line.split()[1]) * 1024 for line in f
                if line.startswith("MemAvailable:")]
  except (OSError, ValueError, IndexError):
    pass
  try:
    with open("/sys/fs/cgroup/memory.max") as f:
      limit = f.read().strip()
    with open("/sys/fs/cgroup/memory.current") as f:
      if limit != "max":
        known.append(int(limit) - int(f.read().strip()))
  except (OSError, ValueError):
    pass
  return min(known) if known else None


# XLA_FLAGS this library sets itself (tests, `sharding.use_cpu_cores`): known to parse.
KNOWN_XLA_FLAGS = ("--xla_force_host_platform_device_count=",
                   "--xla_backend_optimization_level=")


def xla_flags_problem(timeout_s: float = 120.0) -> str:
  """"" if $XLA_FLAGS is unset or holds only KNOWN_XLA_FLAGS; else starts JAX's backend
  once in a child process with it and returns XLA's own complaint (XLA aborts the process
  on an unknown or malformed flag, which a caller cannot catch), "" if it starts. Costs one
  JAX start (~2 s), only when $XLA_FLAGS holds other flags."""
  value = os.environ.get("XLA_FLAGS", "")
  words = value.split()
  if all(w.startswith(KNOWN_XLA_FLAGS) and w.split("=", 1)[1].isdigit() for w in words):
    return ""
  try:
    child = subprocess.run([sys.executable, "-c", "import jax; jax.devices()"],
                           capture_output=True, text=True, timeout=timeout_s,
                           env={**os.environ, "JAX_PLATFORMS": "cpu"})   # flags only
  except (OSError, subprocess.TimeoutExpired):
    return ""
  if child.returncode == 0:
    return ""
  said = [l for l in child.stderr.splitlines() if "XLA_FLAGS" in l or "flag" in l.lower()]
  why = (said or child.stderr.strip().splitlines() or ["XLA did not start"])[-1]
  return (f"environment: XLA_FLAGS={value!r} stops XLA from starting "
          f"({why.split('] ', 1)[-1][:160]}); allowed: flags this XLA knows, or unset it")
