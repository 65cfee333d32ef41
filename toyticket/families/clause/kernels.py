"""Gradient paths of the one model (`model.loss`), chosen explicitly (`train.grad_impl`).

  path             gradient                                       C0
  autodiff         jax.value_and_grad(model.loss): THE REFERENCE    trains (gated per run)
  fused            hand-derived (`fused_loss_and_grad`)           trains (gated per run)
  fused_embedded   hand-derived on inputs embedded once per       frozen, shared by the
                   minibatch (`fused_loss_and_grad_embedded`)     runs of one data order

The fused paths are CPU speed-ups (layouts XLA:CPU runs 2–3× faster in the vmapped step;
docs/performance.md); each is tested equal to autodiff up to float rounding
(tests/test_model.py, tests/test_cycle.py). `train_path` picks one from the config's
`train.grad_impl` ("auto": fused on CPU, autodiff on accelerators), the backend, and
whether the runs of a data order share one frozen C0 — never from an array's shape.

`spd_inverse` (OBS's damped Hessian inverse) is pure XLA Gauss–Jordan on CPU and
jnp.linalg.inv elsewhere (see its docstring).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from toyticket.families.clause import model
from toyticket.families.clause.model import Params

PATHS = ("autodiff", "fused", "fused_embedded")


def train_path(grad_impl: str, backend: str, shared_frozen_c0: bool) -> str:
  """The gradient path for a batch of runs.

  grad_impl: names.GRAD_IMPLS ("auto" → "fused" on backend "cpu", else "autodiff").
  shared_frozen_c0: the runs of each data order share one C0 that never trains (the
    sparse cells of a dense run whose C0 family is frozen); the fused path then embeds
    each minibatch once per group ("fused_embedded")."""
  impl = ("fused" if backend == "cpu" else "autodiff") if grad_impl == "auto" else grad_impl
  if impl not in ("autodiff", "fused"):
    raise ValueError(f"train.grad_impl={grad_impl!r}; allowed: auto, autodiff, fused")
  return "fused_embedded" if impl == "fused" and shared_frozen_c0 else impl


def autodiff_loss_and_grad(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array):
  """(loss, ∂loss/∂params) of `model.loss` by reverse-mode autodiff: the reference."""
  return jax.value_and_grad(model.loss)(params, mask, x, y)


def small_matmul(a: jax.Array, b: jax.Array) -> jax.Array:
  """a @ b for a (..., I, K), b (..., K, J), as Σ_k a[..., :, k] ⊗ b[..., k, :] when K ≤ 64.

  Same product up to float rounding; XLA:CPU runs the unrolled form as one fused
  elementwise loop instead of one kernel call per tiny matrix (docs/performance.md).
  Larger K falls back to `@`."""
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
  `small_matmul`, one exp serves loss and σ (the layout XLA:CPU runs fastest,
  docs/performance.md)."""
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


def fused_loss_and_grad(params: Params, mask: jax.Array, x: jax.Array, y: jax.Array):
  """(loss, ∂loss/∂params) of `model.loss`, derived by hand; equal to
  `autodiff_loss_and_grad` up to float rounding (tests/test_model.py): `_layer_grads` with
  lin = C1, u = x, then
    ∂W1 = (∂C1 C0ᵀ) ⊙ M,  ∂C0 = (W1 ⊙ M)ᵀ ∂C1   (both unrolled `small_matmul`s).
  Shapes as `model.loss`; the gradient has params' tree and shapes."""
  w1m, c0 = params["W1"] * mask, params["C0"]
  value, d_c1, d_b1, d_w2, d_b2 = _layer_grads(small_matmul(w1m, c0), params["b1"],
                                               params["W2"], params["b2"], x, y)
  return value, {"C0": small_matmul(w1m.T, d_c1), "W1": small_matmul(d_c1, c0.T) * mask,
                 "b1": d_b1, "W2": d_w2, "b2": d_b2}


def fused_loss_and_grad_embedded(params: Params, mask: jax.Array, e: jax.Array,
                                 y: jax.Array):
  """(loss, ∂loss/∂params without C0) for a frozen C0, given the embedded inputs
  e = x C0ᵀ (B, d): `_layer_grads` with lin = W1 ⊙ M, u = e, so ∂W1 = (δ e) ⊙ M comes
  straight out of the one big product (no C1, ∂W1 or ∂C0 small products). Same function
  and gradient as `autodiff_loss_and_grad` up to float rounding (tests/test_model.py)."""
  value, d_w1m, d_b1, d_w2, d_b2 = _layer_grads(params["W1"] * mask, params["b1"],
                                                params["W2"], params["b2"], e, y)
  return value, {"W1": d_w1m * mask, "b1": d_b1, "W2": d_w2, "b2": d_b2}


def spd_inverse(a: jax.Array) -> jax.Array:
  """A⁻¹ of a symmetric positive-definite (n, n) A: `gauss_jordan_inverse` on the CPU
  backend, where jnp.linalg.inv lowers to a LAPACK getrf custom call that deadlocked
  XLA:CPU when two devices ran it at once (the sharded sweep with jax_num_cpu_devices=2;
  docs/performance.md); jnp.linalg.inv on other backends."""
  return gauss_jordan_inverse(a) if jax.default_backend() == "cpu" else jnp.linalg.inv(a)


def gauss_jordan_inverse(a: jax.Array) -> jax.Array:
  """A⁻¹ of an SPD (n, n) A by in-place Gauss–Jordan elimination (n rank-one updates, no
  pivoting, which SPD matrices do not need; n³ multiply-adds), pure XLA ops. Equal to
  jnp.linalg.inv up to float rounding (tests/test_model.py)."""
  idx = jnp.arange(a.shape[-1])

  def eliminate(k, m):
    pivot, col = m[k, k], m[:, k]
    row = m[k] / pivot
    m = (m - jnp.outer(col, row)).at[k].set(row)
    return m.at[:, k].set(jnp.where(idx == k, 1.0 / pivot, -col / pivot))

  return jax.lax.fori_loop(0, a.shape[-1], eliminate, a)
