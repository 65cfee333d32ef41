"""Toy Models of Superposition (Elhage et al. 2022) as pure functions: data, model, loss and
the feature-geometry measures (issue 22, first part: the pieces a TMS task family of the
ticket cycle is built from).

Data: n features, x_i = 0 with probability S (the sparsity), else x_i ~ U[0, 1],
independently. Importance I_i = decay^i.
Model (m < n hidden dims), with the ticket mask M on W:
  h = (W ⊙ M) x ∈ R^m,   x̂ = relu((W ⊙ M)ᵀ h + b) ∈ R^n,   W (m, n), b (n,).
Loss: mean over examples of Σ_i I_i (x_i − x̂_i)²  (`loss`).

Feature geometry of W (columns W_i ∈ R^m are the features' directions):
  norm ‖W_i‖; represented iff ‖W_i‖ ≥ REPRESENTED_MIN;
  dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)²  (Ŵ_i = W_i/‖W_i‖; 0 if W_i = 0):
    1 for a feature with a dimension of its own, 1/2 for each of an antipodal pair, 1/3
    for a triangle, …;
  superposed iff represented and Σ_{j≠i} (Ŵ_i · W_j)² ≥ SUPERPOSED_MIN · ‖W_i‖².
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

REPRESENTED_MIN = 0.5   # ‖W_i‖ at or above which feature i counts as represented
SUPERPOSED_MIN = 0.1    # interference, relative to ‖W_i‖², from which i is superposed


def importance(n: int, decay: float) -> jax.Array:
  """I_i = decay^i, shape (n,)."""
  return decay ** jnp.arange(n, dtype=jnp.float32)


def sample(key: jax.Array, batch: int, n: int, sparsity: float) -> jax.Array:
  """(batch, n) inputs: each entry 0 with probability `sparsity`, else U[0, 1]."""
  k1, k2 = jax.random.split(key)
  values = jax.random.uniform(k1, (batch, n))
  return jnp.where(jax.random.uniform(k2, (batch, n)) < sparsity, 0.0, values)


def init_params(key: jax.Array, n: int, m: int) -> dict:
  """W ~ N(0, 2/(n + m)) (Xavier normal, as in the TMS notebooks), b = 0."""
  w = jax.random.normal(key, (m, n), jnp.float32) * jnp.sqrt(2.0 / (n + m))
  return {"W": w, "b": jnp.zeros((n,), jnp.float32)}


def apply(params: dict, mask: jax.Array, x: jax.Array) -> jax.Array:
  """Reconstructions x̂ (B, n) of x (B, n)."""
  w = params["W"] * mask
  return jax.nn.relu((x @ w.T) @ w + params["b"])


def loss(params: dict, mask: jax.Array, x: jax.Array, imp: jax.Array) -> jax.Array:
  """Importance-weighted squared error: mean_b Σ_i I_i (x_bi − x̂_bi)² (scalar)."""
  return jnp.mean(jnp.sum(imp * (x - apply(params, mask, x)) ** 2, -1))


def feature_norms(w: jax.Array) -> jax.Array:
  """‖W_i‖ per feature, (n,), for W (m, n)."""
  return jnp.linalg.norm(w, axis=0)


def feature_dimensionality(w: jax.Array) -> jax.Array:
  """D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², (n,); 0 for a zero column."""
  norms = feature_norms(w)
  unit = w / jnp.maximum(norms, 1e-12)
  overlap = jnp.sum((unit.T @ w) ** 2, -1)               # Σ_j (Ŵ_i · W_j)², j = i included
  return jnp.where(norms > 1e-6, norms ** 2 / jnp.maximum(overlap, 1e-12), 0.0)


def represented(w: jax.Array) -> jax.Array:
  """(n,) bool: ‖W_i‖ ≥ REPRESENTED_MIN."""
  return feature_norms(w) >= REPRESENTED_MIN


def superposed(w: jax.Array) -> jax.Array:
  """(n,) bool: represented and Σ_{j≠i} (Ŵ_i · W_j)² ≥ SUPERPOSED_MIN ‖W_i‖²."""
  norms = feature_norms(w)
  unit = w / jnp.maximum(norms, 1e-12)
  inter = jnp.sum((unit.T @ w) ** 2, -1) - norms ** 2
  return represented(w) & (inter >= SUPERPOSED_MIN * norms ** 2)


def same_feature_recall(w_dense: jax.Array, w_sparse: jax.Array) -> jax.Array:
  """Of the features the dense run represents, the fraction the sparse run represents too
  (NaN if the dense run represents none): the TMS analogue of same-site recall."""
  dense, sparse = represented(w_dense), represented(w_sparse)
  n = jnp.sum(dense)
  return jnp.where(n > 0, jnp.sum(dense & sparse) / jnp.maximum(n, 1), jnp.nan)
