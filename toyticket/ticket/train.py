"""Training as one pure function: epochs and steps in `lax.scan`, optimiser from optax.

`train` trains the C runs that share one data order (C = 1: a single run); batching many
orders is `jax.vmap(train, ...)` (see cycle.train_batch). What a step differentiates is
the task family's (`Step`: its gradient path, its masked leaf), so nothing here knows a
model. The mask is applied in the forward pass (W ⊙ M on the prunable leaf), masked
entries are zeroed at the start and after every update, so a pruned weight is exactly 0
and is never revived.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from toyticket.core import names

OPTIMIZERS = names.OPTIMIZERS


@dataclasses.dataclass(frozen=True)
class TrainConfig:
  """Static schedule: hashable, so it can be a jit static argument."""
  optimizer: str = "sgd"
  lr: float = 0.05
  momentum: float = 0.9
  batch_size: int = 128
  epochs: int = 30
  grad_impl: str = "auto"     # names.GRAD_IMPLS; kernels.train_path resolves it
  layout: str = "per_dense_run"   # names.LAYOUTS; cycle.by_layout


def make_optimizer(tc: TrainConfig) -> optax.GradientTransformation:
  if tc.optimizer == "sgd":
    return optax.sgd(tc.lr, momentum=tc.momentum or None)
  if tc.optimizer == "adam":
    return optax.adam(tc.lr)
  raise ValueError(f"train.optimizer={tc.optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")


def _mix32(v: jax.Array) -> jax.Array:
  """A 32-bit integer hash (murmur3 finaliser), elementwise on uint32."""
  v = v ^ (v >> 16)
  v = v * jnp.uint32(0x85EBCA6B)
  v = v ^ (v >> 13)
  v = v * jnp.uint32(0xC2B2AE35)
  return v ^ (v >> 16)


def shuffled_indices(key: jax.Array, positions: jax.Array, n: int, rounds: int = 4):
  """perm(positions) for a keyed pseudo-random permutation perm of [0, n).

  A Feistel network (halves of ⌈b/2⌉ and ⌊b/2⌋ bits, widths swapping each round, `rounds`
  even) is a bijection of [0, 2^b) with 2^b the smallest power of two ≥ n; cycle-walking
  (re-applying it while the value is ≥ n, < 2 times on average) restricts it to [0, n).
  Elementwise and O(len(positions)), no sort (docs/performance.md). This permutation
  DEFINES the data order of every run on every backend (it is not a switchable fast
  path: another shuffle would change every result)."""
  bits = max(1, (n - 1).bit_length())
  round_keys = jax.random.bits(key, (rounds,), jnp.uint32)

  def feistel(v):
    wl, wr = bits - bits // 2, bits // 2
    left, right = v >> wr, v & jnp.uint32((1 << wr) - 1)
    for i in range(rounds):
      left, right = right, left ^ (_mix32(right ^ round_keys[i]) & jnp.uint32((1 << wl) - 1))
      wl, wr = wr, wl
    return (left << wr) | right

  v = feistel(positions.astype(jnp.uint32))
  v = jax.lax.while_loop(lambda v: jnp.any(v >= n),
                         lambda v: jnp.where(v >= n, feistel(v), v), v)
  return v.astype(jnp.int32)


def epoch_batches(key: jax.Array, epoch: jax.Array, n_examples: int, batch_size: int):
  """(steps, B) int32 example indices of one epoch: a fresh permutation per epoch (the
  last N mod B examples of the permuted order are dropped)."""
  steps = n_examples // batch_size
  pos = jnp.arange(steps * batch_size, dtype=jnp.uint32).reshape(steps, batch_size)
  return shuffled_indices(jax.random.fold_in(key, epoch), pos, n_examples)


class Step(NamedTuple):
  """How a family's networks take one optimiser step (the family builds it; `Family.step`).

  grad: (params, mask, inputs, y) → (loss, ∂loss/∂params) for ONE run (vmapped over the C
    runs here); its params are every leaf but `frozen` when `embed` is given.
  prunable: the masked leaf (W ⊙ M in the forward pass, zeroed after every update).
  gated: the leaf whose gradient is multiplied by the run's c0_trainable (0/1), or "".
  embed: None, or (x_batch, frozen_params) → the inputs `grad` sees, computed ONCE per
    minibatch for the C runs of a data order that share the `frozen` leaves (which are
    then held out of the optimiser and broadcast back into the trajectory)."""
  grad: Callable
  prunable: str = "W1"
  gated: str = "C0"
  embed: Callable | None = None
  frozen: tuple = ()


def progress_epochs(epochs: int) -> tuple:
  """The epochs (0-based) whose start is reported with progress on: a quarter, half,
  three quarters and all of the phase begun (epoch e + 1 of E)."""
  return tuple(sorted({max(1, round(epochs * q / 4)) - 1 for q in (1, 2, 3, 4)}))


def train(params0: dict, masks: jax.Array, c0_trainable: jax.Array,
          shuffle_key: jax.Array, x: jax.Array, y: jax.Array, tc: TrainConfig, step: Step,
          report: Callable | None = None):
  """Trains C runs that see the same minibatches (one data order) for tc.epochs epochs.

  Sharing the order lets every step gather x[idx] once and run the C runs' products as one
  wide matmul (C·H columns) instead of C tiny ones. A single run is C = 1. Runs stay
  independent: each has its own params, mask, optimiser state and gradient.
  Args: params0 pytree with leading axis C, masks (C, H, d) 0/1 on `step.prunable`,
    c0_trainable scalar 0/1 (gates `step.gated`'s gradient; ignored with `step.embed`),
    shuffle_key, x (N, n), y (N, O), tc static schedule, step static (`Step`: the
    family's gradient path, e.g. the clause model's `kernels.PATHS`); report: None, or a
    host function called with the epoch number e at the start of the epochs
    `progress_epochs` names (`jax.debug.callback` under a `lax.cond`; `progress`), which
    changes nothing computed.
  Returns: (traj, losses): traj is params stacked over epochs 0..E, leaves (C, E+1, ...),
    epoch 0 = the start point with the mask applied; losses (C, E) mean minibatch loss
    (nats).
  """
  opt = make_optimizer(tc)
  x, y = jnp.asarray(x), jnp.asarray(y)
  leaf = step.prunable
  params0 = {**params0, leaf: params0[leaf] * masks}
  embedded = step.embed is not None
  if embedded:
    shared = {k: params0[k][0] for k in step.frozen}
    inputs = lambda idx: step.embed(x[idx], shared)
    trained = {k: v for k, v in params0.items() if k not in step.frozen}
  else:
    inputs = lambda idx: x[idx]
    trained = params0
  grad_fn = jax.vmap(step.grad, in_axes=(0, 0, None, None))

  def one_step(carry, idx):
    params, opt_state = carry
    loss, g = grad_fn(params, masks, inputs(idx), y[idx])
    if not embedded and step.gated:
      g = {**g, step.gated: g[step.gated] * c0_trainable}
    updates, opt_state = opt.update(g, opt_state, params)
    params = optax.apply_updates(params, updates)
    params = {**params, leaf: params[leaf] * masks}
    return (params, opt_state), loss

  marks = jnp.asarray(progress_epochs(tc.epochs), jnp.int32)

  def epoch(carry, e):
    if report is not None:            # only at the epochs a reader is told about
      jax.lax.cond(jnp.any(e == marks), lambda: jax.debug.callback(report, e), lambda: None)
    batches = epoch_batches(shuffle_key, e, x.shape[0], tc.batch_size)
    carry, step_losses = jax.lax.scan(one_step, carry, batches)
    return carry, (carry[0], step_losses.mean(0))

  (_, _), (traj, losses) = jax.lax.scan(epoch, (trained, opt.init(trained)),
                                        jnp.arange(tc.epochs))
  if embedded:
    traj = {**traj, **{k: jnp.broadcast_to(params0[k][None], (tc.epochs,) + params0[k].shape)
                       for k in step.frozen}}
  traj = jax.tree.map(lambda a, b: jnp.concatenate([a[:, None], jnp.swapaxes(b, 0, 1)], 1),
                      params0, traj)
  return traj, losses.T


def diverged_epoch(traj: dict, losses: jax.Array) -> jax.Array:
  """First epoch (1..E) whose loss or params are non-finite, or -1 if none (int32)."""
  finite_p = jnp.stack([jnp.all(jnp.isfinite(a), axis=tuple(range(1, a.ndim)))
                        for a in jax.tree.leaves(traj)]).all(0)[1:]
  bad = ~(finite_p & jnp.isfinite(losses))
  return jnp.where(bad.any(), jnp.argmax(bad) + 1, -1).astype(jnp.int32)
