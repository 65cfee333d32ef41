"""Sharding the run axes over all devices (and hosts) with jax.sharding.

Runs are independent, so splitting the dense-run axis (and with it the sparse cells of
each dense run) across devices changes no result. The axis is padded to a multiple of the
device count by repeating the last run; `unpad` drops the copies from the outputs again.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

AXIS = "runs"


def mesh() -> Mesh:
  """1-D mesh over every device of every process (jax.distributed makes them global)."""
  return Mesh(np.array(jax.devices()), (AXIS,))


def _pad(a: jax.Array, size: int) -> jax.Array:
  extra = size - a.shape[0]
  return a if extra == 0 else jnp.concatenate([a, jnp.repeat(a[-1:], extra, 0)])


def _round_up(n: int, k: int) -> int:
  return -(-n // k) * k


def pad_like(traj, losses, size: int):
  """Pads restored dense trajectories to the padded dense-run count."""
  return jax.tree.map(lambda a: _pad(jnp.asarray(a), size), traj), _pad(jnp.asarray(losses), size)


def shard_runs(dense_in: dict, cells: tuple):
  """Pads the dense-run axis (leading in `dense_in` and `cells`) and places the inputs on
  the mesh. Returns (dense_in, cells, unpad)."""
  nd = jax.device_count()
  r = dense_in["key"].shape[0]
  if nd == 1:
    return dense_in, cells, lambda out: out
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
