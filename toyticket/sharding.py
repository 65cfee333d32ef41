"""Sharding the run axes over all devices (and hosts) with jax.sharding.

Runs are independent, so splitting the dense-run axis (and with it the sparse cells of
each dense run) across devices changes no result. The axis is padded to a multiple of the
device count by repeating the last run; `unpad` drops the copies from the outputs again.
`per_device` runs a batch function on each device's share with shard_map: no
communication at all, where plain jit over sharded inputs turns every vmapped while
loop's `any(pred)` into a cross-device all-reduce per iteration.

On CPU, `use_cpu_cores` exposes one XLA:CPU device per core: XLA:CPU runs a batched dot
of many tiny matrices on one thread, while separate devices run their shards in parallel.
"""
from __future__ import annotations

import functools
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "runs"
FORCE_FLAG = "--xla_force_host_platform_device_count"


def use_cpu_cores(n: int = 0) -> int:
  """Exposes n XLA:CPU devices (0: one per core this process may use). Call before JAX
  initialises its backends; an explicit XLA_FLAGS device count (tests) wins. No effect on
  accelerator backends. Returns n."""
  if not n:
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere all cores
    n = len(affinity(0)) if affinity else (os.cpu_count() or 1)
  if FORCE_FLAG not in os.environ.get("XLA_FLAGS", ""):
    jax.config.update("jax_num_cpu_devices", n)
  return n


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


def to_host(tree):
  """Device arrays → numpy; across processes, gathers every process's shards first."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    tree = multihost_utils.process_allgather(tree, tiled=True)
  return jax.tree.map(np.asarray, tree)


def _pad(a, size: int):
  a = np.asarray(a)
  extra = size - a.shape[0]
  return a if extra == 0 else np.concatenate([a, np.repeat(a[-1:], extra, 0)])


def _round_up(n: int, k: int) -> int:
  return -(-n // k) * k


def pad_like(traj, losses, size: int):
  """Pads restored dense trajectories to the padded dense-run count."""
  return jax.tree.map(lambda a: _pad(a, size), traj), _pad(losses, size)


def shard_runs(dense_in: dict, cells: tuple):
  """Pads the dense-run axis (leading in `dense_in` and `cells`) and places the inputs on
  the mesh. Returns (dense_in, cells, unpad)."""
  nd = jax.device_count()
  r = dense_in["key"].shape[0]
  sh = NamedSharding(mesh(), P(AXIS))
  put = lambda a: jax.device_put(_pad(a, _round_up(r, nd)), sh)
  dense_in, cells = jax.tree.map(put, (dense_in, cells))
  per_run = sum(next(iter(c.values())).shape[1] for c in cells)

  def unpad(out: dict) -> dict:
    out = dict(out)
    for k in ("dense", "dense_traj"):
      out[k] = jax.tree.map(lambda a: a[:r], out[k])
    for k in ("cells", "sparse_final", "masks"):       # flat (dense run, cell) axis
      out[k] = jax.tree.map(lambda a: a[:r * per_run], out[k])
    return out

  return dense_in, cells, unpad
