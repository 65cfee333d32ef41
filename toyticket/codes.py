"""Feature-space codes at row–clause sites (SPEC §4), as jitted array ops.

A site is (row h, clause c). Its clause-local vector is u[h,c] = C1[h, vars(c)] ⊙ pol(c)
∈ R^k, gathered for all H×m sites at once. Sign categories are relative to the row scale
s_h = max_j |C1[h, j]|: cat = +1 if u > τ s_h, −1 if u < −τ s_h, else 0.
Template types (axis T = 2): 0 = kP (all +1, an AND detector), 1 = (k−1)N1P (one +1 and
k−1 −1, k rotations; an inhibitor). Everything here is for ONE network; vmap over runs
and checkpoints.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from toyticket import model

TEMPLATE_NAMES = ("4P", "3N1P")  # names for k = 4; generally kP and (k-1)N1P


def templates(k: int) -> tuple[jax.Array, jax.Array]:
  """(kp (1, k), n1p (k, k)): kP = all +1; rotation p of (k−1)N1P has its +1 at p."""
  kp = jnp.ones((1, k), jnp.float32)
  n1p = 2.0 * jnp.eye(k, dtype=jnp.float32) - 1.0
  return kp, n1p


class Codes(NamedTuple):
  """Per-site code readings; arrays are (H, m, T) unless stated.

  exact: cat(u) equals the template (best rotation) and the readout sign agrees.
  delta: combinatorial distance, # positions with cat ≠ template, min over rotations.
  dist: continuous distance 1 − cos(u, t), min over rotations.
  margin: signed margin max over rotations of min_i(t_i u_i) / s_h.
  near: delta ≤ 1.   rotation: (H, m) int, the + position of the best 3N1P rotation.
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
  """(H, m, k) in {−1, 0, +1}: sign category of each entry relative to τ·s_h."""
  thr = tau * row_scale[:, None, None]
  return jnp.where(u > thr, 1.0, jnp.where(u < -thr, -1.0, 0.0))


def _readout_sign(w2: jax.Array, n_clauses: int) -> jax.Array:
  """(H, m) readout weight used for site (h, c): W2[0, h] (dnf) or W2[c, h] (clauses)."""
  if w2.shape[0] == 1:
    return jnp.broadcast_to(w2[0][:, None], (w2.shape[1], n_clauses))
  return w2.T


def extract(c1: jax.Array, w2: jax.Array, clause_vars: jax.Array, clause_pols: jax.Array,
            tau: float = 0.25, readout_check: bool = True) -> Codes:
  """Reads every site's code from feature weights C1 (H, n) and readout W2 (O, H)."""
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
  rot = jnp.argmin(mis_n, -1)
  delta = jnp.stack([mis_p.min(-1), mis_n.min(-1)], -1)
  dist = jnp.stack([1.0 - cos_p.max(-1), 1.0 - cos_n.max(-1)], -1)
  margin = jnp.stack([marg_p.max(-1), marg_n.max(-1)], -1)
  sign_ok = jnp.ones(delta.shape, bool)
  if readout_check:
    r = _readout_sign(w2, clause_vars.shape[0])
    sign_ok = jnp.stack([r > 0, r < 0], -1)
  exact = (delta == 0) & sign_ok
  near = delta <= 1
  return Codes(exact, delta, dist, margin, near, rot, near.sum((1, 2)))


def codes_of(params: model.Params, mask: jax.Array, clause_vars, clause_pols,
             tau: float = 0.25, readout_check: bool = True) -> Codes:
  """Codes of a network given as params and W1 mask."""
  return extract(model.feature_weights(params, mask), params["W2"], clause_vars,
                 clause_pols, tau, readout_check)


def counts(codes: Codes) -> jax.Array:
  """(T,) int32 number of exact sites per template type (4P, 3N1P)."""
  return codes.exact.sum((0, 1)).astype(jnp.int32)
