"""Fixed or learned input embeddings C0 ∈ R^{d×n} (SPEC §2), shared by every task family
(a family's `init` starts its network around the run's C0; `execute.dense_inputs` draws it).

Every family returns the same (d, n) array shape, so runs with different embeddings share
one compiled program: whether C0 trains is a per-run 0/1 flag that gates its gradient.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from toyticket.core import names

FAMILIES = names.FAMILIES
TRAINABLE = names.TRAINABLE


def sylvester(d: int) -> np.ndarray:
  """(d, d) ±1 Sylvester-Hadamard matrix; d must be a power of two."""
  if d < 1 or d & (d - 1):
    raise ValueError(f"model.d={d}: hadamard needs d a power of two (1, 2, 4, 8, 16, ...)")
  h = np.ones((1, 1), np.float32)
  while h.shape[0] < d:
    h = np.block([[h, h], [h, -h]])
  return h


def make_c0(family: str, d: int, n: int, key: jax.Array) -> jax.Array:
  """(d, n) float32 embedding.

  hadamard: first n columns of the Sylvester matrix scaled 1/√d (orthonormal columns).
  random_fixed, learned: N(0, 1/d) from `key` (learned is only the initial value).
  identity: eye(d, n), so feature space equals weight space (control).
  """
  if family == "hadamard":
    if n > d:
      raise ValueError(f"task.n={n} > model.d={d}: hadamard needs n <= d")
    return jnp.asarray(sylvester(d)[:, :n] / np.sqrt(d), jnp.float32)
  if family in ("random_fixed", "learned"):
    return jax.random.normal(key, (d, n), jnp.float32) / jnp.sqrt(d)
  if family == "identity":
    return jnp.eye(d, n, dtype=jnp.float32)
  raise ValueError(f"embeddings: unknown family {family!r}; allowed: {', '.join(FAMILIES)}")
