"""`prune`: one network's mask by a named discovery method, outside the batched cycle.

  mask = prune("snip", params, 0.25, x, y)                      # keep 25 % of W1
  mask = prune("checkpoint_magnitude", None, 0.1, x, y, trajectory=traj, probe_epoch=3)

The same implementations the cycle runs (`impls.IMPLS`: exact density, ties to the lower
flat index), on one network: `params` is one state ({leaf: array}); `trajectory` stacks
states over epochs 0..E (leaves (E+1, ...)) for methods that read several (the probe epoch,
Early-Bird's mask queue, the dense end). Given one state, it stands for every epoch: θ0 for
init-time methods, the dense end for post-training ones. The masked leaf is `prunable`
("W1" for the clause model); `loss(params, mask, x, y, temperature=1.0)` is what saliency
methods differentiate (default: the clause model's), `synflow(params, mask)` SynFlow's
scores of the prunable leaf (default: the clause model's chain). A flax module's params:
`prune_module`. Feature-space methods also need the
task's clauses (`clause_vars`, `clause_pols`).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from toyticket.core import prng
from toyticket.discovery import impls, methods, weight
from toyticket.discovery.base import Context, DiscoveryConfig
from toyticket.families.clause import model


@functools.partial(jax.jit, static_argnames=("name", "hp", "loss", "prunable", "scored",
                                             "synflow"))
def _mask(name, traj, probe_epoch, key, x, y, clause_vars, clause_pols, density, hp, loss,
          prunable, scored, synflow):
  ctx = Context(traj, probe_epoch, key, x, y, clause_vars, clause_pols, hp, loss=loss,
                prunable=prunable, scored=scored, synflow=synflow)
  impl = impls.IMPLS[name]
  if methods.METHODS[name].scores_at == "start":      # reads the start point: θ0 here
    ctx = ctx.replace(start=jax.tree.map(lambda a: a[0], traj), start_epoch=jnp.int32(0))
  mask, _, _ = impl.select(impl.prepare(ctx), ctx, density)
  return mask


def prune(method: str, params: dict | None, density: float, x, y, *, trajectory=None,
          probe_epoch: int = -1, seed: int = 0, loss=model.loss, prunable: str = "W1",
          scored: tuple = ("W1", "W2"), synflow=weight.chain_synflow, clause_vars=None,
          clause_pols=None,
          hp: DiscoveryConfig = DiscoveryConfig()) -> np.ndarray:
  """The 0/1 mask (the prunable leaf's shape, float32) keeping exactly
  round(density · size) entries, chosen by `method` (a name of `methods.METHODS`).

  params / trajectory: one state, or the states of epochs 0..E (exactly one given);
  x (N, n) inputs and y targets (as the loss reads them: (N, O) 0/1 for the clause
  model) the saliency methods score on; probe_epoch: the epoch
  probe-time methods read (negative: from the end); seed: the random method's draw (the
  cycle's DISCOVERY stream of that seed, so a dense run's random mask is reproduced)."""
  if method not in methods.METHODS:
    raise ValueError(f"method={method!r}; allowed: {', '.join(methods.NAMES)}")
  if (params is None) == (trajectory is None):
    raise ValueError("give exactly one of params (one state) or trajectory= (epochs 0..E)")
  if not 0.0 < float(density) <= 1.0:
    raise ValueError(f"density={density!r}; allowed: the fraction kept, in (0, 1]")
  traj = (jax.tree.map(lambda a: jnp.asarray(a)[None], params) if trajectory is None
          else jax.tree.map(jnp.asarray, trajectory))
  if prunable not in traj:
    raise ValueError(f"prunable={prunable!r} is not a leaf of params; leaves: "
                     f"{', '.join(sorted(traj))}")
  needs_clauses = methods.METHODS[method].tasks == ("clause",)
  if needs_clauses and (clause_vars is None or clause_pols is None):
    raise ValueError(f"method {method!r} reads the task's clauses: give clause_vars and "
                     "clause_pols (Task.clause_vars, Task.clause_pols)")
  n_epochs = traj[prunable].shape[0]
  if not -n_epochs <= probe_epoch < n_epochs:
    raise ValueError(f"probe_epoch={probe_epoch}; allowed: -{n_epochs}..{n_epochs - 1} (the "
                     f"trajectory has epochs 0..{n_epochs - 1})")
  probe = probe_epoch % n_epochs
  key = jax.random.fold_in(jax.random.PRNGKey(seed), prng.DISCOVERY)   # the cycle's stream
  mask = _mask(method, traj, jnp.int32(probe), key, jnp.asarray(x),
               jnp.asarray(y), None if clause_vars is None else jnp.asarray(clause_vars),
               None if clause_pols is None else jnp.asarray(clause_pols),
               jnp.float32(density), hp, loss, prunable, tuple(scored), synflow)
  return np.asarray(mask)
