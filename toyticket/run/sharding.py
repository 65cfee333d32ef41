"""Sharding the run axes over all devices (and hosts) with jax.sharding.

Runs are independent, so splitting the dense-run axis (and with it the sparse cells of
each dense run) across devices changes no result. `run_sharded` pads the axis to a multiple
of the device count by repeating the last run and drops the copies from the outputs again.
`per_device` runs a batch function on each device's share with shard_map: no
communication at all, where plain jit over sharded inputs turns every vmapped while
loop's `any(pred)` into a cross-device all-reduce per iteration.

On CPU, `use_cpu_cores` exposes one XLA:CPU device per core: XLA:CPU runs a batched dot
of many tiny matrices on one thread, while separate devices run their shards in parallel.
"""
from __future__ import annotations

import functools
import os
import time

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from toyticket.core import host
from toyticket.core.errors import ConfigError, ResourceError  # noqa: F401  (one line)

AXIS = "runs"
FORCE_FLAG = "--xla_force_host_platform_device_count"


def use_cpu_cores(n: int = 0) -> int:
  """Exposes n XLA:CPU devices (0: one per core this process may use). Call before JAX
  initialises its backends; an explicit XLA_FLAGS device count (tests) wins. No effect on
  accelerator backends. Returns n."""
  n = n or host.available_cores()
  if FORCE_FLAG not in os.environ.get("XLA_FLAGS", ""):
    jax.config.update("jax_num_cpu_devices", n)
  return n


def use_compilation_cache(path: str) -> str:
  """Turns on JAX's persistent compilation cache in `path` ("" leaves it off), so a
  program compiled once (same shapes, flags, versions) loads from disk in later processes;
  an explicit JAX_COMPILATION_CACHE_DIR in the environment wins. Processes may share it:
  an entry is written once (an existing key is never rewritten; in a multi-process run
  only process 0 writes) and an entry that cannot be read (say, read while another
  process writes it) is a miss with a warning, not an error
  (jax_raise_persistent_cache_errors is off). Returns the directory in use ("" if off)."""
  env = os.environ.get("JAX_COMPILATION_CACHE_DIR")
  path = env or path
  if path:
    if os.path.exists(path) and not os.path.isdir(path):
      raise ConfigError("JAX_COMPILATION_CACHE_DIR" if env else "--compilation_cache", path,
                        "a directory (or '' to turn the cache off)")
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  return path


def mesh() -> Mesh:
  """1-D mesh over every device of every process (jax.distributed makes them global)."""
  return Mesh(np.array(jax.devices()), (AXIS,))


def per_device(fn, n_args: int, n_replicated: int = 0):
  """jit(shard_map(fn)) over `mesh()`: the first n_args - n_replicated arguments are split
  along their leading (run) axis, the rest replicated; every output is split along its
  leading axis. Each device runs fn on its own runs, as the unsharded program would on
  that sub-batch."""
  specs = (P(AXIS),) * (n_args - n_replicated) + (P(),) * n_replicated
  return jax.jit(jax.shard_map(fn, mesh=mesh(), in_specs=specs, out_specs=P(AXIS),
                               check_vma=False))


@functools.lru_cache(maxsize=None)
def per_device_static(fn, static, n_args: int, n_replicated: int = 0):
  """`per_device(partial(fn, static), ...)`, cached on (fn, static) so that each chunk of
  a sweep reuses one compiled program."""
  return per_device(functools.partial(fn, static), n_args, n_replicated)


@functools.lru_cache(maxsize=None)
def one_device_static(fn, static):
  """jit(partial(fn, static)): the unsharded program of `fn` for one static spec (the same
  HLO as jit(fn, static_argnums=0)(static, ...)), cached like `per_device_static`."""
  return jax.jit(functools.partial(fn, static))


_COMPILED: dict = {}


def compiled(jitted, args: tuple, static: tuple = (), exported: str | None = None):
  """`jitted.lower(*static, *args).compile()`, once per (jitted, static arguments, argument
  tree, shapes, dtypes and shardings), checked by `check_fits` BEFORE it first runs; call
  the result with `args` only. The program is the one `jitted(*static, *args)` would run
  (same HLO, same persistent-cache entry), so this costs no second compile.

  exported: a description of what `jitted` computes beyond its arguments (the function
  and its static spec; `static` must then be empty) turns on the exported-program cache
  (`aot.compiled`): a later process skips tracing it."""
  leaves, tree = jax.tree.flatten(args)
  key = (jitted, static, tree, tuple((np.shape(a), str(getattr(a, "dtype", type(a))),
                                      getattr(a, "sharding", None)) for a in leaves))
  if key not in _COMPILED:
    t0 = time.perf_counter()
    program = None
    if exported is not None and not static:
      from toyticket.run import aot
      program = aot.compiled(jitted, args, exported)
    if program is None:
      program = jitted.lower(*static, *args).compile()
    COMPILE_SECONDS[0] += time.perf_counter() - t0
    check_fits(program.memory_analysis())
    _COMPILED[key] = program
  return _COMPILED[key]


COMPILE_SECONDS = [0.0]   # wall time this process spent tracing, lowering and compiling
                          # (or loading from the persistent cache) in `compiled`


GIB = 2.0 ** 30


def memory_need(stats, n_devices: int) -> dict:
  """Bytes one run of a compiled program holds at its peak, from XLA's buffer assignment
  (`Compiled.memory_analysis()`, per device): "device" = arguments + outputs + working
  buffers − donated aliases on each device; "host" = device × n_devices plus the outputs
  once more (they are copied to numpy after the run) on an XLA:CPU backend, else the
  outputs alone."""
  per = (stats.argument_size_in_bytes + stats.output_size_in_bytes
         + stats.temp_size_in_bytes - stats.alias_size_in_bytes)
  cpu = jax.default_backend() == "cpu"
  host_bytes = (per * n_devices if cpu else 0) + stats.output_size_in_bytes * n_devices
  return {"device": per, "host": host_bytes, "outputs": stats.output_size_in_bytes,
          "temp": stats.temp_size_in_bytes}


def device_free_bytes() -> int | None:
  """The least free memory of this process's accelerators (bytes_limit − bytes_in_use);
  None on XLA:CPU or where the backend does not report it."""
  free = []
  for d in jax.local_devices():
    stats = d.memory_stats() if d.platform != "cpu" else None
    if not stats or "bytes_limit" not in stats:
      return None
    free.append(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
  return min(free) if free else None


def check_fits(stats) -> None:
  """Raises ResourceError (one line) if a program needs more memory than this machine has
  free: its device share above the accelerator's free memory, or its host share above
  `host.available_memory()`. No-op when either side is unknown."""
  if stats is None:
    return
  need = memory_need(stats, jax.local_device_count())
  free_host, free_dev = host.available_memory(), device_free_bytes()
  where = ("host", need["host"], free_host) if free_dev is None or need["device"] <= free_dev \
      else (jax.devices()[0].platform, need["device"], free_dev)
  if where[2] is not None and where[1] > where[2]:
    raise ResourceError(
        f"memory: one chunk needs about {where[1] / GIB:.2f} GiB on the {where[0]} "
        f"(outputs {need['outputs'] / GIB:.2f} GiB per device, working buffers "
        f"{need['temp'] / GIB:.2f} GiB) but {where[2] / GIB:.2f} GiB is free; lower "
        "max_cells_per_chunk, train.epochs (every dense epoch is kept), sae.latents or "
        "the model's size")


def to_host(tree):
  """Device arrays → numpy; across processes, gathers every process's shards first."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    tree = multihost_utils.process_allgather(tree, tiled=True)
  return jax.tree.map(np.asarray, tree)


def _pad(a, size: int):
  """a with its leading axis padded to `size` by repeating its last entry."""
  a = np.asarray(a)
  extra = size - a.shape[0]
  return a if extra == 0 else np.concatenate([a, np.repeat(a[-1:], extra, 0)])


def _placed(args: tuple, n_replicated: int) -> tuple[int, tuple]:
  """(R, args) with the leading (run) axis R of the first len(args) − n_replicated
  arguments padded to a multiple of the device count and split over every device."""
  split = args[:len(args) - n_replicated]
  r = jax.tree.leaves(split)[0].shape[0]
  size = -(-r // jax.device_count()) * jax.device_count()
  sh = NamedSharding(mesh(), P(AXIS))
  split = jax.tree.map(lambda a: jax.device_put(_pad(a, size), sh), split)
  return r, (*split, *args[len(split):])


def describe(fn, static, *extra) -> str | None:
  """What a program of `fn` at static spec `static` computes beyond its arguments' shapes
  (`compiled`'s `exported`): the function's name and the spec's repr (frozen dataclasses:
  every field, recursively); None for a spec with in-program progress (host callbacks,
  which jax.export cannot keep)."""
  if getattr(static, "progress", False):
    return None
  return repr((f"{fn.__module__}.{fn.__qualname__}", static, *extra))


def compiled_sharded(fn, static, args: tuple, n_replicated: int = 0):
  """The compiled (`compiled`) program `run_sharded` runs for these arguments."""
  _, placed = _placed(args, n_replicated)
  return compiled(per_device_static(fn, static, len(args), n_replicated), placed,
                  exported=describe(fn, static, "per_device", len(args), n_replicated))


def run_sharded(fn, static, args: tuple, n_replicated: int = 0):
  """fn(static, *args) with the leading (run) axis of the first len(args) − n_replicated
  arguments split over every device, the rest replicated; returns numpy outputs.

  Every argument and output leaf to be split must have the run axis R leading; R is padded
  to a multiple of the device count by repeating the last run, and the copies are dropped
  from every output leaf ([:R])."""
  r, placed = _placed(args, n_replicated)
  out = compiled(per_device_static(fn, static, len(args), n_replicated), placed,
                 exported=describe(fn, static, "per_device", len(args), n_replicated))(*placed)
  return jax.tree.map(lambda a: a[:r], to_host(out))
