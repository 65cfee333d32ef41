"""A user's flax module as the cycle's network: its parameters as the cycle's params dict,
its loss, accuracy and SynFlow objective, all pure functions.

Params of one network (a flat dict, what the cycle trains, masks and checkpoints):
  "prunable": (1, N) float32, the module's selected leaves (`Layout.prunable`, paths
    matched by the `user.prunable` regex) raveled and concatenated in path order: the
    ONE leaf every mask selects (N = Σ their sizes), so every weight-space method ranks
    all selected weights globally, as SNIP, GraSP, SynFlow and open_lth's IMP do;
  "<path>": every other leaf of the module's "params" collection by its '/'-joined path
    (e.g. "Dense_1/bias"), unchanged.
`unpack(params, mask)` rebuilds the module's nested params with the mask applied; the
module then runs as written (`module.apply({"params": tree}, x)`).

Losses (`LOSSES`), with z = module output / T (T = temperature; 1 for training, GraSP's 200):
  bce:        mean over (b, o) of sigmoid binary cross-entropy, y (N, O) in {0, 1}
  softmax_ce: mean over b of softmax cross-entropy, y (N,) integer class labels
  mse:        mean over (b, o) of (z − y)², y (N, O)
"""
from __future__ import annotations

import dataclasses
import functools
import re

import flax.traverse_util
import jax
import jax.numpy as jnp
import optax

from toyticket.families.flaxmodel.schema import LOSSES  # noqa: F401  (plain Python there)

PACKED = "prunable"     # the key of the packed prunable leaf in the params dict


@dataclasses.dataclass(frozen=True)
class Layout:
  """Where a module's leaves go: `prunable` ((path, shape), ...) packed in this order into
  params[PACKED]; `rest` the other leaves' paths; `scored` the params keys GraSP
  differentiates together (PACKED and the other leaves `user.scored` matches); `frozen`
  the leaves `user.frozen` matches (their gradient is 0: they never train)."""
  prunable: tuple
  rest: tuple
  scored: tuple
  frozen: tuple

  @property
  def size(self) -> int:
    return sum(_prod(s) for _, s in self.prunable)


def _prod(shape) -> int:
  out = 1
  for v in shape:
    out *= int(v)
  return out


def flat(tree) -> dict:
  """The module's nested params as {"a/b": leaf}, paths sorted."""
  f = flax.traverse_util.flatten_dict(tree, sep="/")
  return {k: f[k] for k in sorted(f)}


def layout(shapes: dict, prunable: str, scored: str, frozen: str) -> Layout:
  """The Layout of a module whose flat leaves have `shapes` ({path: shape}); the three
  regexes are matched with re.search on each path. ValueError (one line) if `prunable`
  matches no leaf, or a path is PACKED."""
  if PACKED in shapes:
    raise ValueError(f"the module has a parameter named {PACKED!r}, which toyticket uses "
                     "for the packed prunable weights; rename it")
  pick = lambda rx: tuple(p for p in sorted(shapes) if rx and re.search(rx, p))
  sel = pick(prunable)
  if not sel:
    raise ValueError(f"a regular expression matching some of the module's parameters: "
                     f"{', '.join(shapes)}")
  rest = tuple(p for p in sorted(shapes) if p not in sel)
  scored_rest = tuple(p for p in pick(scored) if p in rest)
  return Layout(tuple((p, tuple(shapes[p])) for p in sel), rest, (PACKED,) + scored_rest,
                pick(frozen))


def pack(tree: dict, lay: Layout) -> dict:
  """The cycle's params of one network from the module's nested params."""
  f = flat(tree)
  packed = jnp.concatenate([jnp.ravel(f[p]) for p, _ in lay.prunable])[None]
  return {PACKED: packed, **{p: f[p] for p in lay.rest}}


def unpack(params: dict, mask: jax.Array, lay: Layout) -> dict:
  """The module's nested params with params[PACKED] ⊙ mask put back in place; frozen
  leaves behind stop_gradient."""
  w = (params[PACKED] * mask)[0]
  out, at = {}, 0
  for p, shape in lay.prunable:
    n = _prod(shape)
    out[p] = w[at:at + n].reshape(shape)
    at += n
  for p in lay.rest:
    out[p] = params[p]
  for p in lay.frozen:
    out[p] = jax.lax.stop_gradient(out[p])
  return flax.traverse_util.unflatten_dict(out, sep="/")


def apply(module, lay: Layout, params: dict, mask: jax.Array, x: jax.Array) -> jax.Array:
  """The module's outputs for x (B, n_in) with the mask applied."""
  return module.apply({"params": unpack(params, mask, lay)}, x)


def loss(module, lay: Layout, kind: str, params, mask, x, y, temperature: float = 1.0):
  """Mean loss `kind` (LOSSES) of the outputs / temperature against y, a scalar (nats for
  the cross-entropies)."""
  z = apply(module, lay, params, mask, x)
  if kind == "bce":
    return optax.sigmoid_binary_cross_entropy(z.reshape(-1) / temperature,
                                              y.reshape(-1)).mean()
  if kind == "softmax_ce":
    return optax.softmax_cross_entropy_with_integer_labels(
        z / temperature, y.astype(jnp.int32)).mean()
  return jnp.mean((z / temperature - y) ** 2)


def accuracy(module, lay: Layout, kind: str, params, mask, x, y):
  """bce: fraction of (example, output) pairs with sign(z) matching the 0/1 label;
  softmax_ce: fraction of examples whose argmax is the label; mse: NaN (no accuracy).
  NaN if any output is non-finite (a diverged run has no accuracy)."""
  z = apply(module, lay, params, mask, x)
  if kind == "bce":
    acc = ((z > 0) == (y > 0.5)).mean()
  elif kind == "softmax_ce":
    acc = (jnp.argmax(z, -1) == y.astype(jnp.int32)).mean()
  else:
    return jnp.float32(jnp.nan)
  return jnp.where(jnp.all(jnp.isfinite(z)), acc, jnp.nan)


def synflow_scores(module, lay: Layout, n_in: int, params, mask) -> jax.Array:
  """SynFlow scores of the packed prunable weights as Synaptic-Flow's `SynFlow.score`
  computes them (Tanaka et al., 2020): every parameter replaced by its absolute value
  (biases too), the input a single all-ones example, R = Σ outputs, score
  |∂R/∂w ⊙ w| with the mask applied in the forward pass (pruned weights score 0).
  float32, as their code (its float64 line is commented out). Shape (1, N)."""
  absp = jax.tree.map(jnp.abs, params)
  ones = jnp.ones((1, n_in), jnp.float32)
  r = lambda w: jnp.sum(apply(module, lay, {**absp, PACKED: w}, mask, ones))
  w = absp[PACKED]
  return jnp.abs(jax.grad(r)(w) * w * mask)


def output_shape(module, lay: Layout, n_in: int) -> tuple:
  """The shape of the module's outputs for a batch of 2 inputs (jax.eval_shape)."""
  params = {PACKED: jax.ShapeDtypeStruct((1, lay.size), jnp.float32)}
  rest = jax.eval_shape(lambda k: flat(module.init(k, jnp.zeros((1, n_in)))["params"]),
                        jax.random.PRNGKey(0))
  params.update({p: rest[p] for p in lay.rest})
  return tuple(jax.eval_shape(lambda p: apply(module, lay, p, jnp.ones_like(p[PACKED]),
                                              jnp.zeros((2, n_in))), params).shape)


def program_digest(module, n_in: int) -> str:
  """sha256 of the module's init and apply as lowered StableHLO (no source locations): what
  it computes, however its code is spread over files (an edited helper module it imports
  changes it; an edited comment does not)."""
  import hashlib
  x1, x2 = jnp.zeros((1, n_in), jnp.float32), jnp.zeros((2, n_in), jnp.float32)
  variables = jax.eval_shape(module.init, jax.random.PRNGKey(0), x1)
  text = (jax.jit(module.init).lower(jax.random.PRNGKey(0), x1).as_text()
          + jax.jit(module.apply).lower(variables, x2).as_text())
  return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def shapes_of(module, n_in: int, example_dtype: str = "float32") -> dict:
  """{path: shape} of the module's "params" collection (traced with jax.eval_shape: no
  arrays are made). ValueError if it declares other collections (batch statistics and
  other mutable state are not supported: a ticket's network is a pure function of its
  params)."""
  variables = jax.eval_shape(module.init, jax.random.PRNGKey(0),
                             jnp.zeros((1, n_in), example_dtype))
  other = sorted(k for k in variables if k != "params")
  if other:
    raise ValueError(f"the module declares variable collections {other} besides 'params' "
                     "(e.g. BatchNorm statistics); only 'params' is supported")
  return {p: tuple(v.shape) for p, v in flat(variables.get("params", {})).items()}
