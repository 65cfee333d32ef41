"""Sparse autoencoders (Cunningham et al. 2023) on a network's hidden activations, as pure
functions, and how many of the network's exact clause codes an SAE latent matches.

SAE on activations h ∈ R^H (rows of a (N, H) array):
  f = relu((h − b_dec) W_encᵀ + b_enc) ∈ R^L,   ĥ = f W_decᵀ + b_dec,
  loss = mean_n ‖h − ĥ‖² / H  +  l1 · mean_n Σ_l |f_l|,
with W_enc (L, H), W_dec (H, L) whose columns (atoms) are renormalised to unit length after
every step, so the L1 term cannot be dodged by shrinking f and growing W_dec. Adam on
full-batch gradients, `steps` steps in one lax.scan. Everything is for ONE SAE; vmap over
runs, L1 coefficients and SAE seeds (`train` is written so that vmapping it equals a loop,
tests/test_sae.py).

Code matching. A code of the network is an exact site (row r, clause c, template t,
rotation p) read by `codes`. Its indicator on an input x is 1 iff every literal of clause c
has the template's sign: all true for kP, literal p true and the rest false for (k−1)N1P.
A latent l MATCHES the code when
  corr(f_l(x), indicator(x)) ≥ CORR_MIN over the inputs (activation criterion), and
  |W_dec[r, l]| ≥ COS_MIN (its unit atom points along the code's hidden row r).
The random floor replaces the SAE's latents by L random unit directions d_l in R^H read as
f_l = relu(h · d_l), with d_l's own row coordinate for the direction test.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

@dataclasses.dataclass(frozen=True)
class SaeSpec:
  """SAEs of a sweep (static): one per network (dense-final run or sparse ticket), L1
  coefficient and SAE seed."""
  l1s: tuple            # L1 coefficients (empty: no SAEs)
  latents: int = 32     # dictionary size L
  seeds: int = 2        # SAE seeds per (network, L1)
  steps: int = 1000     # full-batch Adam steps
  lr: float = 1e-2
  examples: int = 2048  # training inputs whose activations the SAE reads


CORR_MIN = 0.5    # activation correlation with the clause indicator
COS_MIN = 0.5     # |cos| between the decoder atom and the code's hidden row e_r


def init(key: jax.Array, d: int, n_latents: int) -> dict:
  """W_enc = W_decᵀ with unit-norm random atoms, biases 0. Shapes as in the module doc."""
  w = jax.random.normal(key, (d, n_latents), jnp.float32)
  w = w / jnp.linalg.norm(w, axis=0, keepdims=True)
  return {"W_enc": w.T, "b_enc": jnp.zeros((n_latents,), jnp.float32), "W_dec": w,
          "b_dec": jnp.zeros((d,), jnp.float32)}


def encode(p: dict, h: jax.Array) -> jax.Array:
  """Latent activations f (N, L) of activations h (N, H)."""
  return jax.nn.relu((h - p["b_dec"]) @ p["W_enc"].T + p["b_enc"])


def decode(p: dict, f: jax.Array) -> jax.Array:
  """Reconstruction ĥ (N, H) of latents f (N, L)."""
  return f @ p["W_dec"].T + p["b_dec"]


def loss(p: dict, h: jax.Array, l1: jax.Array) -> jax.Array:
  """mean_n ‖h − ĥ‖²/H + l1 · mean_n ‖f‖₁ (scalar)."""
  f = encode(p, h)
  return jnp.mean((decode(p, f) - h) ** 2) + l1 * jnp.mean(jnp.sum(jnp.abs(f), -1))


def _unit_atoms(p: dict) -> dict:
  w = p["W_dec"]
  return {**p, "W_dec": w / jnp.maximum(jnp.linalg.norm(w, axis=0, keepdims=True), 1e-8)}


def train(key: jax.Array, h: jax.Array, l1: jax.Array, n_latents: int, steps: int,
          lr: float) -> tuple[dict, jax.Array]:
  """One SAE on activations h (N, H): (params, loss per step (steps,)). b_dec starts at the
  mean of h (as in Cunningham et al.'s setup, so the atoms model deviations)."""
  p = init(key, h.shape[1], n_latents)
  p["b_dec"] = h.mean(0)
  opt = optax.adam(lr)

  def step(carry, _):
    p, s = carry
    value, g = jax.value_and_grad(loss)(p, h, l1)
    upd, s = opt.update(g, s, p)
    return (_unit_atoms(optax.apply_updates(p, upd)), s), value

  (p, _), losses = jax.lax.scan(step, (p, opt.init(p)), None, length=steps)
  return p, losses


def stats(p: dict, h: jax.Array) -> dict:
  """Scalars of a trained SAE on h (N, H): "fvu" (fraction of variance unexplained,
  ‖h − ĥ‖² / ‖h − mean h‖²), "mse", "l0" (mean active latents per input), "dead" (latents
  never active on h)."""
  f = encode(p, h)
  err = jnp.sum((decode(p, f) - h) ** 2)
  var = jnp.maximum(jnp.sum((h - h.mean(0)) ** 2), 1e-12)
  return {"fvu": err / var, "mse": err / h.size, "l0": jnp.mean(jnp.sum(f > 0, -1)),
          "dead": jnp.sum(jnp.all(f <= 0, 0))}


def _corr(a: jax.Array, b: jax.Array) -> jax.Array:
  """Pearson correlation of every column of a (N, L) with every column of b (N, K):
  (L, K); 0 where either column is constant."""
  a = a - a.mean(0)
  b = b - b.mean(0)
  num = a.T @ b
  den = jnp.sqrt(jnp.sum(a * a, 0))[:, None] * jnp.sqrt(jnp.sum(b * b, 0))[None, :]
  return jnp.where(den > 1e-12, num / jnp.maximum(den, 1e-12), 0.0)


def code_indicators(x: jax.Array, clause_vars: jax.Array, clause_pols: jax.Array,
                    k: int) -> jax.Array:
  """Indicators (N, m, T, k) of every (clause, template, rotation) on inputs x (N, n) in
  {0, 1}: template 0 (kP, rotation axis repeated) = all literals true; template 1
  ((k−1)N1P) rotation p = literal p true and the others false. A literal is x_v if its
  polarity is +1, else 1 − x_v."""
  lit = x[:, clause_vars]                                   # (N, m, k)
  lit = jnp.where(clause_pols > 0, lit, 1.0 - lit)
  kp = jnp.all(lit > 0.5, -1)                               # (N, m)
  eye = jnp.eye(k, dtype=bool)
  n1p = jnp.all((lit[:, :, None, :] > 0.5) == eye, -1)      # (N, m, k)
  return jnp.stack([jnp.broadcast_to(kp[..., None], n1p.shape), n1p], 2).astype(
      jnp.float32)


def matched_codes(f: jax.Array, atoms: jax.Array, exact: jax.Array, rotation: jax.Array,
                  indicators: jax.Array) -> jax.Array:
  """Per template (T,): how many exact codes some latent matches (`matched_sites`)."""
  return jnp.sum(matched_sites(f, atoms, exact, rotation, indicators), (0, 1))


def matched_sites(f: jax.Array, atoms: jax.Array, exact: jax.Array, rotation: jax.Array,
                  indicators: jax.Array) -> jax.Array:
  """(H, m, T) bool: the exact codes some latent matches (module doc).

  f (N, L) latent activations; atoms (H, L) unit decoder atoms; exact (H, m, T) bool and
  rotation (H, m) from `codes.read`; indicators (N, m, T, k) from `code_indicators`."""
  n, m, t, k = indicators.shape
  corr = _corr(f, indicators.reshape(n, -1)).reshape(-1, m, t, k)      # (L, m, T, k)
  rot = jnp.stack([jnp.zeros_like(rotation), rotation], -1)            # (H, m, T)
  corr_site = jnp.take_along_axis(corr[:, None], rot[None, ..., None], -1)[..., 0]  # (L,H,m,T)
  aligned = jnp.abs(atoms).T[:, :, None, None] >= COS_MIN              # (L, H, 1, 1)
  hit = jnp.any((corr_site >= CORR_MIN) & aligned, 0)                  # (H, m, T)
  return hit & exact


def random_directions(key: jax.Array, d: int, n: int) -> jax.Array:
  """n random unit directions in R^d as columns (d, n): the floor's 'atoms'."""
  w = jax.random.normal(key, (d, n), jnp.float32)
  return w / jnp.linalg.norm(w, axis=0, keepdims=True)
