"""The toy model as pure functions over a params dict (SPEC §2).

  e = C0 x,  h = relu(W1 e + b1),  logits = W2 h + b2,   loss = sigmoid BCE.
We evaluate it as h = relu(C1 x + b1) with C1 = (W1 ⊙ M) C0 ∈ R^{H×n}, which is the same
function, cheaper (one H×d×n product per step instead of one per example) and exposes the
feature-space weights C1 directly. Shapes: C0 (d,n), W1 (H,d), b1 (H,), W2 (O,H), b2 (O,).

This is the ONE model. Its gradient is `jax.value_and_grad(loss)` (the reference); the
hand-derived CPU fast paths in `kernels` are tested equal to it (tests/test_model.py).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

Params = dict


def init_params(key: jax.Array, c0: jax.Array, hidden: int, n_out: int) -> Params:
  """W1 ~ N(0, 2/d), W2 ~ N(0, 1/H), biases 0; C0 is passed in (its family decides it)."""
  d = c0.shape[0]
  k1, k2 = jax.random.split(key)
  return {
      "C0": c0,
      "W1": jax.random.normal(k1, (hidden, d), jnp.float32) * jnp.sqrt(2.0 / d),
      "b1": jnp.zeros((hidden,), jnp.float32),
      "W2": jax.random.normal(k2, (n_out, hidden), jnp.float32) * jnp.sqrt(1.0 / hidden),
      "b2": jnp.zeros((n_out,), jnp.float32),
  }


def feature_weights(params: Params, mask: jax.Array) -> jax.Array:
  """C1 = (W1 ⊙ M) C0, shape (H, n): coupling of hidden row h to input variable j."""
  return (params["W1"] * mask) @ params["C0"]


def apply(params: Params, mask: jax.Array, x: jax.Array) -> jax.Array:
  """Logits (B, O) for inputs x (B, n)."""
  c1 = feature_weights(params, mask)
  h = jax.nn.relu(x @ c1.T + params["b1"])
  return h @ params["W2"].T + params["b2"]


def loss(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array,
         temperature: float = 1.0) -> jax.Array:
  """Mean sigmoid binary cross-entropy over examples and outputs (nats), a scalar:
  mean over (b, o) of max(z, 0) − y z + log(1 + e^−|z|), z = apply(params, mask, x) / T
  with T = `temperature` (1 for training; GraSP scores at T = 200, `discovery.grasp_scores`).

  Read on flattened (B·O,) arrays, the layout XLA:CPU runs fastest (docs/performance.md)."""
  return optax.sigmoid_binary_cross_entropy(apply(params, mask, x).reshape(-1) / temperature,
                                            y.reshape(-1)).mean()


def accuracy(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
  """Fraction of (example, output) pairs with sign(logit) matching the 0/1 label; NaN if
  any logit is non-finite (a diverged run has no accuracy, rather than reading its NaN
  logits as negative predictions)."""
  logits = apply(params, mask, x)
  acc = ((logits > 0) == (y > 0.5)).mean()
  return jnp.where(jnp.all(jnp.isfinite(logits)), acc, jnp.nan)
