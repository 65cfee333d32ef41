"""Running one chunk of a group: input arrays, the jitted cycle, optional sharding.

`execute` is the only place that turns a (group, dense-run block) into cycle inputs and the
cycle's (R, C, ...) outputs into host arrays with the cell axis flattened (row r·C + c,
`grid.CellGrid.flatten`).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from toyticket.ticket import cycle
from toyticket.ticket import embeddings
from toyticket.core import names, prng
from toyticket.run import sharding
from toyticket.run.grid import ModelGroup

def task_arrays(g: ModelGroup) -> dict:
  """The group's task as device arrays (`Family.task_arrays`)."""
  return cycle.family_of(g.spec).task_arrays(g.task)


def dense_inputs(dense: list, d: int, n: int, densities: tuple) -> dict:
  """Per dense run (embedding family, seed): "key" PRNGKey(seed) (R, 2), "c0" (R, d, n)
  from the family and stream EMBEDDING, "c0_trainable" (R,) 0/1, and "densities" (R, P)
  at which its oracle-supported site classes are read."""
  keys = [jax.random.PRNGKey(s) for _, s in dense]
  c0 = [embeddings.make_c0(f, d, n, cycle.stream(k, prng.EMBEDDING))
        for (f, _), k in zip(dense, keys)]
  return {"key": jnp.stack(keys), "c0": jnp.stack(c0),
          "c0_trainable": jnp.array([float(names.TRAINABLE[f]) for f, _ in dense]),
          "densities": jnp.tile(jnp.asarray(densities, jnp.float32), (len(dense), 1))}


def inputs(g: ModelGroup, block: list[int]) -> tuple[dict, tuple, dict]:
  """(dense_in, cells, data) of the cycle for dense runs `block` of group g."""
  return (dense_inputs([g.dense[r] for r in block], g.d, g.task.n, g.densities),
          g.grid.inputs(len(block)), task_arrays(g))


def _call(g: ModelGroup, block: list[int], restored: dict | None):
  """(fn, jitted, args) of the chunk's program: the full cycle, or with `restored` dense
  trajectories the sparse cycle."""
  dense_in, cells, data = inputs(g, block)
  if restored is None:
    return cycle.full_cycle, cycle.full_cycle_jit, (dense_in, cells, data)
  args = (restored["dense_traj"], restored["dense_losses"], dense_in, cells, data)
  return cycle.sparse_cycle, cycle.sparse_cycle_jit, args


def _one_device(fn, spec, args):
  """The compiled unsharded program of fn at `spec` (`sharding.compiled`, with the
  exported-program cache)."""
  return sharding.compiled(sharding.one_device_static(fn, spec), args,
                           exported=sharding.describe(fn, spec, "one_device"))


def shard_count(shard: bool = True) -> int:
  """The devices of this process a chunk's program runs on (`execute`)."""
  return jax.local_device_count() if shard and jax.device_count() > 1 else 1


def execute(g: ModelGroup, block: list[int], restored: dict | None = None,
            shard: bool = True) -> dict:
  """Runs one chunk; returns the cycle's outputs as numpy, per-cell outputs flattened to
  (len(block)·C, ...) in `g.cell_labels(block)` order.

  restored: {"dense_traj", "dense_losses"} for these dense runs: skip dense training.
  shard: split the dense-run axis over all devices (no effect with one device).
  Raises ResourceError (one line) before running a program that would not fit in memory
  (`sharding.compiled`)."""
  fn, jitted, args = _call(g, block, restored)
  if shard and jax.device_count() > 1:   # each device runs its own dense runs
    out = sharding.run_sharded(fn, g.spec, args, n_replicated=1)
  else:
    out = sharding.to_host(_one_device(fn, g.spec, args)(*args))
  return {k: jax.tree.map(g.grid.flatten, v) if k in cycle.CELL_OUTPUTS else v
          for k, v in out.items()}


def memory_need(g: ModelGroup, block: list[int], restored: dict | None = None,
                shard: bool = True) -> dict:
  """`sharding.memory_need` of the chunk's program, compiled (or loaded from the cache) and
  checked to fit (ResourceError) without running it; `execute` then reuses it."""
  fn, jitted, args = _call(g, block, restored)
  if shard and jax.device_count() > 1:
    program = sharding.compiled_sharded(fn, g.spec, args, n_replicated=1)
    n = jax.local_device_count()
  else:
    program, n = _one_device(fn, g.spec, args), 1
  return sharding.memory_need(program.memory_analysis(), n)
