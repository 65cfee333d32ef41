"""The exported-program cache: a warm run skips tracing its chunk program.

JAX's persistent compilation cache skips compiling, but every process still traces and
lowers the cycle's Python (≈ 5 s of the default sweep's warm run on 2 cores). Here the
traced program is kept too: `jax.export` serialises it (StableHLO plus its argument and
output trees and shardings) beside the compilation cache, under a key of everything that
decides it; a later process deserialises it and compiles `jax.jit(exported.call)`, a thin
wrapper whose compiled form the persistent cache then holds. The cold run compiles that
wrapper too (not the original function), so cold and warm runs run one and the same
executable: results are those of the traced program (tested bit-identical).

The key hashes: toyticket's code version, the user code a config names (a "flax" family's
options carry its digests), JAX / jaxlib versions, the backend and device layout, XLA_FLAGS,
the program's description (`sharding.describe`: function and static spec) and its
arguments' tree, shapes, dtypes and shardings. Off when the compilation cache is off,
in multi-process runs, for programs with host callbacks (`config.progress`), or without
the `flatbuffers` package (serialisation needs it); any failure to read, write or
deserialise an entry falls back to tracing (a damaged entry is rewritten).
"""
from __future__ import annotations

import hashlib
import os

import jax
import numpy as np

from toyticket.core import files, identity

SUBDIR = "toyticket-exported"


def directory() -> str | None:
  """Where exported programs live: beside the persistent compilation cache, or None (off)."""
  cache = jax.config.jax_compilation_cache_dir
  if not cache or jax.process_count() > 1:
    return None
  return os.path.join(cache, SUBDIR)


def key(description: str, args: tuple) -> str:
  """sha256 of everything that decides the traced program (module docstring)."""
  leaves, tree = jax.tree.flatten(args)
  dev = jax.devices()
  import jaxlib
  parts = [identity.code_version(), jax.__version__, jaxlib.__version__, dev[0].platform, dev[0].device_kind, len(dev),
      os.environ.get("XLA_FLAGS", ""), description, str(tree),
      [(np.shape(a), str(getattr(a, "dtype", type(a))), str(getattr(a, "sharding", None)))
       for a in leaves]]
  return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def compiled(jitted, args: tuple, description: str):
  """The compiled program of `jitted(*args)` through the exported-program cache, or None
  where the cache is off or cannot be used (the caller then traces as usual)."""
  where = directory()
  if where is None:
    return None
  try:
    import flatbuffers  # noqa: F401  (jax.export's serialisation needs it)
  except ImportError:
    return None
  path = os.path.join(where, key(description, args) + ".bin")
  exp = None
  if os.path.isfile(path):
    try:
      with open(path, "rb") as f:
        exp = jax.export.deserialize(bytearray(f.read()))
    except Exception:  # a damaged or foreign entry: trace again, rewrite it
      exp = None
  if exp is None:
    try:
      exp = jax.export.export(jitted)(*args)
      blob = exp.serialize()
    except Exception:  # a program jax.export cannot serialise (e.g. host callbacks)
      return None
    try:
      os.makedirs(where, exist_ok=True)
      files.atomic_write(path, bytes(blob))
    except OSError:
      pass                   # an unwritable cache only costs the next run its tracing
  return jax.jit(exp.call).lower(*args).compile()
