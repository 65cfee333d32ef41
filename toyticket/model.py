"""The toy model as pure functions over a params dict (SPEC §2).

  e = C0 x,  h = relu(W1 e + b1),  logits = W2 h + b2,   loss = sigmoid BCE.
We evaluate it as h = relu(C1 x + b1) with C1 = (W1 ⊙ M) C0 ∈ R^{H×n}, which is the same
function, cheaper (one H×d×n product per step instead of one per example) and exposes the
feature-space weights C1 directly. Shapes: C0 (d,n), W1 (H,d), b1 (H,), W2 (O,H), b2 (O,).
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


def loss(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
  """Mean sigmoid binary cross-entropy over examples and outputs (nats).

  Computed on flattened arrays: XLA:CPU runs the transcendental chain ~7x slower on
  (runs, B, 1)-shaped operands than on (runs, B·O) ones (measured in experiments/bench)."""
  return optax.sigmoid_binary_cross_entropy(apply(params, mask, x).reshape(-1),
                                            y.reshape(-1)).mean()


def small_matmul(a: jax.Array, b: jax.Array) -> jax.Array:
  """a @ b for a (..., I, K), b (..., K, J), as Σ_k a[..., :, k] ⊗ b[..., k, :] when K ≤ 64.

  Same product; XLA:CPU runs the unrolled form as one fused elementwise loop, where a
  batched dot of many tiny matrices pays a kernel call per matrix (measured in
  docs/performance.md). Larger K falls back to `@`."""
  if a.shape[-1] > 64:
    return a @ b
  return sum(a[..., :, k, None] * b[..., None, k, :] for k in range(a.shape[-1]))


def _layer_grads(lin: jax.Array, b1: jax.Array, w2: jax.Array, b2: jax.Array, u: jax.Array,
                 y: jax.Array):
  """(loss, ∂lin, ∂b1, ∂W2, ∂b2) of the mean BCE of z = W2 relu(lin uᵀ + b1) + b2, by hand.
  lin (H, K), u (B, K) the inputs as lin sees them, y (B, O). With pre = lin uᵀ + b1 (H, B),
  h = relu(pre), z (O, B), loss = mean(max(z,0) − y z + log(1 + e^−|z|)), g = (σ(z) − yᵀ)/(B·O):
    ∂W2 = g hᵀ,  ∂b2 = Σ_b g,  δ = (W2ᵀ g) ⊙ [pre > 0],  ∂b1 = Σ_b δ,  ∂lin = δ u.
  Activations are kept as (H, B), batch minor; z and ∂W2 are dots, W2ᵀg an unrolled
  `small_matmul`, one exp serves loss and σ (each choice measured fastest in the whole
  vmapped step on CPU, see docs/performance.md)."""
  b, o = y.shape
  pre = lin @ u.T + b1[:, None]                                 # (H, B)
  h = jax.nn.relu(pre)
  z = (w2 @ h + b2[:, None]).reshape(-1)                        # (O·B,)
  yt = y.T.reshape(-1)
  t = jnp.exp(-jnp.abs(z))
  value = (jnp.maximum(z, 0.0) - yt * z + jnp.log1p(t)).mean()
  sig = jnp.where(z >= 0, 1.0, t) / (1.0 + t)
  g = ((sig - yt) / (b * o)).reshape(o, b)
  delta = jnp.where(pre > 0, small_matmul(w2.T, g), 0.0)
  return value, delta @ u, delta.sum(1), (h @ g.T).T, g.sum(1)


def loss_and_grad(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array):
  """(loss, ∂loss/∂params) of `loss`, derived by hand; equal to jax.value_and_grad(loss)
  up to float rounding (tests/test_model.py): `_layer_grads` with lin = C1, u = x, then
    ∂W1 = (∂C1 C0ᵀ) ⊙ M,  ∂C0 = (W1 ⊙ M)ᵀ ∂C1   (both unrolled `small_matmul`s).
  ~2× faster than autodiff's layout in the vmapped step (docs/performance.md)."""
  w1m, c0 = params["W1"] * mask, params["C0"]
  value, d_c1, d_b1, d_w2, d_b2 = _layer_grads(small_matmul(w1m, c0), params["b1"],
                                               params["W2"], params["b2"], x, y)
  return value, {"C0": small_matmul(w1m.T, d_c1), "W1": small_matmul(d_c1, c0.T) * mask,
                 "b1": d_b1, "W2": d_w2, "b2": d_b2}


def loss_and_grad_embedded(params: Params, mask: jax.Array, e: jax.Array, y: jax.Array):
  """(loss, ∂loss/∂params without C0) for a frozen C0, given the embedded inputs
  e = x C0ᵀ (B, d): `_layer_grads` with lin = W1 ⊙ M, u = e, so ∂W1 = (δ e) ⊙ M comes
  straight out of the one big product (no C1, ∂W1 or ∂C0 small products). Same function
  and gradient as `loss_and_grad` up to float rounding (tests/test_model.py)."""
  value, d_w1m, d_b1, d_w2, d_b2 = _layer_grads(params["W1"] * mask, params["b1"],
                                                params["W2"], params["b2"], e, y)
  return value, {"W1": d_w1m * mask, "b1": d_b1, "W2": d_w2, "b2": d_b2}


def accuracy(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
  """Fraction of (example, output) pairs with sign(logit) matching the 0/1 label; NaN if
  any logit is non-finite (a diverged run has no accuracy, rather than reading its NaN
  logits as negative predictions)."""
  logits = apply(params, mask, x)
  acc = ((logits > 0) == (y > 0.5)).mean()
  return jnp.where(jnp.all(jnp.isfinite(logits)), acc, jnp.nan)
