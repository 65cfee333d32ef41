"""Feature-space codes at row–clause sites (SPEC §4), as jitted array ops.

A site is (row h, clause c). Its clause-local vector is u[h,c] = C1[h, vars(c)] ⊙ pol(c)
∈ R^k, gathered for all H×m sites at once. Sign categories are relative to the row scale
s_h = max_j |C1[h, j]|: cat = +1 if u > τ s_h, −1 if u < −τ s_h, else 0.
Template types (axis T = 2): 0 = kP (all +1, an AND detector), 1 = (k−1)N1P (one +1 and
k−1 −1, k rotations; an inhibitor). Everything here is for ONE network; vmap over runs
and checkpoints.

Specificity (`specificity`, SPEC §4): "none" (the default) is the paper's clause-local
reading: a site is read on vars(c) alone (the seed paper's "clause-local feature-space
computation" at "row–clause locations"; a row may hold codes of several clauses, as the
polysemantic neurons of the framework it builds on do). "row" is our stricter extension,
reported beside it: a site's pattern is the whole row, not just vars(c): the template on vars(c) and no `+` category anywhere else on the
row, since a `+` coupling elsewhere makes the row fire on inputs that are not the clause.
δ then counts the template mismatches on vars(c) PLUS the row's `+` entries outside
vars(c) (so exact ⇔ δ = 0 and near-code ⇔ δ ≤ 1 keep their meaning), and at most one kP
code per row is possible (distinct clauses have distinct variable sets). "none" is the
clause-local reading of earlier versions (template on vars(c) only), kept to reproduce
old results. The continuous distance and the margin are clause-local in both readings.

One rotation per site: the (k−1)N1P rotation of a site is the lexicographic argmin of
(mismatches on vars(c), 1 − cos(u, t_r)), lowest index on exact ties. δ, d and the margin
of the (k−1)N1P type are all read at that rotation, and discovery's feature-space targets
use it too (`nearest`).
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from toyticket.families.clause import model
from toyticket.core import names

TEMPLATE_NAMES = names.TEMPLATE_NAMES  # for k = 4; generally kP and (k-1)N1P
SPECIFICITY = names.SPECIFICITY


def templates(k: int) -> tuple[jax.Array, jax.Array]:
  """(kp (1, k), n1p (k, k)): kP = all +1; rotation p of (k−1)N1P has its +1 at p."""
  kp = jnp.ones((1, k), jnp.float32)
  n1p = 2.0 * jnp.eye(k, dtype=jnp.float32) - 1.0
  return kp, n1p


class Codes(NamedTuple):
  """Per-site code readings; arrays are (H, m, T) unless stated.

  exact: δ = 0 and the readout sign agrees.
  delta: combinatorial distance: # positions of vars(c) with cat ≠ template (at the site's
    rotation), plus, with specificity "row", # `+` categories on row h outside vars(c).
  dist: continuous distance 1 − cos(u, t) at the site's rotation, in [0, 2].
  margin: signed margin min_i(t_i u_i) / s_h at the site's rotation.
  near: delta ≤ 1.   rotation: (H, m) int, the + position of the site's 3N1P rotation.
  row_load: (H,) number of (clause, template) sites on the row that are near-code.
  """
  exact: jax.Array
  delta: jax.Array
  dist: jax.Array
  margin: jax.Array
  near: jax.Array
  rotation: jax.Array
  row_load: jax.Array


def site_vectors(c1: jax.Array, clause_vars: jax.Array, clause_pols: jax.Array) -> jax.Array:
  """u (H, m, k) = C1[:, vars] ⊙ pols: one gather over all sites."""
  return c1[:, clause_vars] * clause_pols[None]


def categories(u: jax.Array, row_scale: jax.Array, tau: float) -> jax.Array:
  """Sign category in {−1, 0, +1} of each entry relative to τ·s_h; u (H, ...) with the
  row on the leading axis, row_scale (H,)."""
  thr = tau * row_scale.reshape(-1, *([1] * (u.ndim - 1)))
  return jnp.where(u > thr, 1.0, jnp.where(u < -thr, -1.0, 0.0))


def stray_plus(c1: jax.Array, clause_vars: jax.Array, tau: float) -> jax.Array:
  """(H, m) number of `+` categories of row h (raw C1 sign) outside vars(c)."""
  plus = categories(c1, jnp.max(jnp.abs(c1), axis=1), tau) > 0          # (H, n)
  return plus.sum(1)[:, None] - plus[:, clause_vars].sum(-1)


def _readout_sign(w2: jax.Array, n_clauses: int) -> jax.Array:
  """(H, m) readout weight used for site (h, c): W2[0, h] (dnf) or W2[c, h] (clauses)."""
  if w2.shape[0] == 1:
    return jnp.broadcast_to(w2[0][:, None], (w2.shape[1], n_clauses))
  return w2.T


def extract(c1: jax.Array, w2: jax.Array, clause_vars: jax.Array, clause_pols: jax.Array,
            tau: float = 0.25, readout_check: bool = True, specificity: str = "none",
            rotation: jax.Array | None = None) -> Codes:
  """Reads every site's code from feature weights C1 (H, n) and readout W2 (O, H).

  rotation: (H, m) fixed 3N1P rotations (e.g. a run's final ones, to track a fixed target
  over epochs); None picks each site's own (module docstring)."""
  k = clause_vars.shape[1]
  u = site_vectors(c1, clause_vars, clause_pols)                     # (H, m, k)
  scale = jnp.max(jnp.abs(c1), axis=1)                               # (H,)
  cat = categories(u, scale, tau)
  kp, n1p = templates(k)
  # Mismatch counts and geometry against each template rotation: (H, m, R).
  mis_p = jnp.sum(cat[..., None, :] != kp, -1)
  mis_n = jnp.sum(cat[..., None, :] != n1p, -1)
  unit = u / jnp.maximum(jnp.linalg.norm(u, axis=-1, keepdims=True), 1e-12)
  cos_p = unit @ (kp / jnp.sqrt(k)).T
  cos_n = unit @ (n1p / jnp.sqrt(k)).T
  safe = jnp.maximum(scale, 1e-12)[:, None, None]
  marg_p = jnp.min(u[..., None, :] * kp, -1) / safe
  marg_n = jnp.min(u[..., None, :] * n1p, -1) / safe
  if rotation is None:   # lexicographic (mismatches, 1 − cos): (1 − cos)/3 < 1
    rotation = jnp.argmin(mis_n + (1.0 - cos_n) / 3.0, -1)
  pick = lambda a: jnp.take_along_axis(a, rotation[..., None], -1)[..., 0]
  delta = jnp.stack([mis_p[..., 0], pick(mis_n)], -1)
  if specificity == "row":
    delta = delta + stray_plus(c1, clause_vars, tau)[..., None]
  elif specificity != "none":
    raise ValueError(f"specificity={specificity!r}; allowed: {', '.join(SPECIFICITY)}")
  dist = jnp.stack([1.0 - cos_p[..., 0], 1.0 - pick(cos_n)], -1)
  margin = jnp.stack([marg_p[..., 0], pick(marg_n)], -1)
  sign_ok = jnp.ones(delta.shape, bool)
  if readout_check:
    r = _readout_sign(w2, clause_vars.shape[0])
    sign_ok = jnp.stack([r > 0, r < 0], -1)
  exact = (delta == 0) & sign_ok
  near = delta <= 1
  return Codes(exact, delta, dist, margin, near, rotation, near.sum((1, 2)))


def codes_of(params: model.Params, mask: jax.Array, clause_vars, clause_pols,
             tau: float = 0.25, readout_check: bool = True, specificity: str = "none",
             rotation: jax.Array | None = None) -> Codes:
  """Codes of a network given as params and W1 mask."""
  return extract(model.feature_weights(params, mask), params["W2"], clause_vars,
                 clause_pols, tau, readout_check, specificity, rotation)


def nearest(codes: Codes, k: int) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Each site's nearest template: lexicographic argmin over types of (δ, d).

  Returns type (H, m) int (0 = kP, 1 = (k−1)N1P at the site's rotation), its ±1 template
  vector (H, m, k) and its continuous distance d (H, m)."""
  kind = jnp.argmin(codes.delta + codes.dist / 3.0, -1)
  kp, n1p = templates(k)
  t = jnp.where(kind[..., None] == 0, kp[0], n1p[codes.rotation])
  return kind, t, jnp.take_along_axis(codes.dist, kind[..., None], -1)[..., 0]


def counts(codes: Codes) -> jax.Array:
  """(T,) int32 number of exact sites per template type (4P, 3N1P)."""
  return codes.exact.sum((0, 1)).astype(jnp.int32)


def near_counts(codes: Codes) -> jax.Array:
  """(T,) int32 number of near-code sites (δ ≤ 1) per template type."""
  return codes.near.sum((0, 1)).astype(jnp.int32)


def max_row_codes(codes: Codes) -> jax.Array:
  """() int32: the most exact codes (any clause, any template) on one row."""
  return codes.exact.sum((1, 2)).max().astype(jnp.int32)
