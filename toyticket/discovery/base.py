"""Ticket discovery's shared parts: the config, what a method reads (`Context`), exact
top-k masks, and the implementation pair (`Impl`). Every method turns dense information
into a W1 mask at a density.

`density` is always the fraction of W1 KEPT, an array (never baked into the trace), so
densities × seeds vmap into one program. What a method IS (its name, space, family,
whether it reads the probe epoch) is `methods.METHODS[name]`; how it computes is
`IMPLS[name]`, two pure functions:

  prepare(ctx) -> aux                  once per (dense run, probe epoch): scores, Hessians
  select(aux, ctx, density) -> (mask, w1_post)
                                       mask (H, d) 0/1 at exact density; w1_post is the W1
                                       a `final` (post-training) rewind starts from: the
                                       dense-final W1, or OBS's weight-corrected one.

Exact density: k = clip(round(density · H·d), 1, H·d) entries kept, ranks from a stable
sort (ties go to the lower flat index; NaN scores rank last). Iterative methods select
within their previous mask, so masks are nested and pruned weights are never revived.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import flax.struct
import jax
import jax.numpy as jnp

from toyticket.families.clause import model


@dataclasses.dataclass(frozen=True)
class DiscoveryConfig:
  """Static hyperparameters of the methods (hashable)."""
  obs_damping: float = 1e-2        # λ in H + λ·mean(diag H)·I
  synflow_iters: int = 100         # SynFlow pruning rounds, density_t = ρ^(t/T)
  earlybird_eps: float = 0.1       # mask distance threshold (fraction of W1 entries)
  earlybird_window: int = 5        # Early-Bird's mask queue length (the authors' epoch_keep)
  grasp_temperature: float = 200.0  # GraSP divides the network output by T (Wang et al.)
  combined_weight: float = 1.0     # combined = z(static) + w · z(dynamic)
  coords_per_site: int = 4         # site-greedy: coordinates each site claims
  orth_penalty: float = 0.5        # orthogonalized: weight of interference with other sites
  tau: float = 0.25                # sign-category threshold used by feature-space scores
  specificity: str = "none"        # code reading used by feature-space scores (codes.py)


@flax.struct.dataclass
class Context:
  """What a method may read for one dense run (a typed pytree: `flax.struct`; `replace`
  gives a copy with fields changed).

  traj: dense params stacked over epochs 0..E.  probe_epoch: the probe epoch e (int).
  start, start_epoch: set only for state-adaptive methods (`Method.scores_at` "start").
  key: PRNG key.  x, y: scoring examples (first `score_examples` of the train set).
  clause_vars (m, k), clause_pols (m, k): None for a task without clauses (TMS).
  hp: the methods' static hyperparameters; loss: the task family's loss
  (`Family.loss`), which OBS, SNIP and GraSP differentiate; prunable: the family's masked
  leaf (`Family.prunable`), the one every weight-space method scores; scored: the leaves a
  whole-network method (GraSP) differentiates together (`Family.scored`); synflow:
  scores(params, mask) → SynFlow's |∂R/∂w ⊙ w| of the prunable leaf (`Family.synflow`;
  None: the clause model's chain, like the other defaults here); all static.
  """
  traj: model.Params
  probe_epoch: jax.Array
  key: jax.Array
  x: jax.Array
  y: jax.Array
  clause_vars: jax.Array
  clause_pols: jax.Array
  hp: DiscoveryConfig = flax.struct.field(pytree_node=False)
  start: model.Params | None = None     # state-adaptive methods: the cell's start point
  start_epoch: jax.Array | None = None  # ... and the dense epoch it is (0 for fresh)
  loss: Callable = flax.struct.field(pytree_node=False, default=model.loss)
  prunable: str = flax.struct.field(pytree_node=False, default="W1")   # the masked leaf
  scored: tuple = flax.struct.field(pytree_node=False, default=("W1", "W2"))   # GraSP's
  synflow: Callable | None = flax.struct.field(pytree_node=False, default=None)   # SynFlow's


def at(traj: model.Params, epoch) -> model.Params:
  return jax.tree.map(lambda a: a[epoch], traj)


# ----------------------------------------------------------------------------- top-k
def keep_count(density: jax.Array, size: int) -> jax.Array:
  """k = clip(round(ρ · size), 1, size), int32."""
  return jnp.clip(jnp.round(density * size), 1, size).astype(jnp.int32)


def topk_mask(score: jax.Array, density: jax.Array, tiebreak: jax.Array | None = None,
              within: jax.Array | None = None) -> jax.Array:
  """0/1 mask (score's shape) keeping exactly keep_count(density) entries.

  Order: entries inside `within` first (nesting), then higher score, then higher
  tiebreak, then lower flat index. NaN scores rank as −inf.
  """
  flat = jnp.nan_to_num(score.ravel(), nan=-jnp.inf, posinf=jnp.finfo(jnp.float32).max)
  keys = [-flat]
  if tiebreak is not None:
    keys.insert(0, -jnp.nan_to_num(tiebreak.ravel(), nan=-jnp.inf))
  if within is not None:
    keys.append(-within.ravel())
  order = jnp.lexsort(tuple(keys)) if len(keys) > 1 else jnp.argsort(keys[0], stable=True)
  ranks = jnp.zeros_like(order).at[order].set(jnp.arange(flat.size, dtype=order.dtype))
  return (ranks < keep_count(density, flat.size)).reshape(score.shape).astype(jnp.float32)


# ------------------------------------------------------------------- weight-space scores

class Impl(NamedTuple):
  """How a method (`methods.METHODS[name]`) computes: prepare(ctx) -> aux once per (dense
  run, probe epoch); select(aux, ctx, density) -> (mask (H, d), w1_post (H, d),
  detect_epoch int32): the dense epoch whose state decided the mask (`EPOCH`), −1 when
  Early-Bird never fired and fell back to the dense-final mask."""
  prepare: Callable
  select: Callable


def final_w1(ctx):
  return at(ctx.traj, -1)[ctx.prunable]


EPOCH = {"init": lambda ctx: jnp.int32(0),
         "probe": lambda ctx: jnp.asarray(ctx.probe_epoch, jnp.int32),
         "final": lambda ctx: jnp.int32(ctx.traj[ctx.prunable].shape[0] - 1)}


def score_method(score_fn: Callable, reads: str) -> Impl:
  """A one-shot method: keep the top-ρ fraction of score_fn(ctx) (H, d); `reads` ("init",
  "probe", "final") is the dense epoch it reads, its detect_epoch."""
  return Impl(lambda ctx: score_fn(ctx),
              lambda aux, ctx, rho: (topk_mask(aux, rho), final_w1(ctx), EPOCH[reads](ctx)))


NAMED: dict[str, Impl] = {}   # method name → Impl, filled by `implements` where each is written


def implements(name: str, reads: str | None = None, prepare: Callable | None = None):
  """Registers the decorated function as the implementation of method `name` (declared,
  with its JAX-free properties, in `methods.METHODS`): with `reads` the function is a
  score ctx → (H, d) kept top-ρ (`score_method`); otherwise it is select(aux, ctx, ρ)
  with `prepare` (default: no aux). A name is implemented once; `impls.IMPLS` is derived
  from this registry and the declarations, both directions checked at import."""
  def register(fn):
    if name in NAMED:
      raise KeyError(f"discovery method {name!r} is implemented twice")
    NAMED[name] = (score_method(fn, reads) if reads is not None
                   else Impl(prepare or (lambda ctx: None), fn))
    return fn
  return register
