"""Translations of feature-space site scores (H, m, T) into a W1 mask (H, d) at a density:
site-greedy, row, orthogonalized, signed and OMP (`TRANSLATE`)."""
from __future__ import annotations


import jax
import jax.numpy as jnp

from toyticket.discovery.base import keep_count, topk_mask
from toyticket.discovery.sites import zscore


def translate_greedy(s, contrib, w1, density, ctx):
  """Site-greedy: sites in descending score each claim their `coords_per_site` most
  positively contributing coordinates; a coordinate ranks by its best claiming site
  (then by its contribution); unclaimed coordinates fill the budget by |W1|."""
  q = ctx.hp.coords_per_site
  kth = -jnp.sort(-contrib, axis=-1)[..., q - 1:q]                  # (H, m, 1)
  claims = (contrib >= kth) & (contrib > 0)
  prio = jnp.where(claims, s[..., None], -jnp.inf).max(1)           # (H, d)
  best = jnp.where(claims, contrib, -jnp.inf).max(1)
  tie = jnp.where(jnp.isfinite(prio), best, jnp.abs(w1) - 1e9)
  return topk_mask(prio, density, tiebreak=tie)


def site_weights(s: jax.Array) -> jax.Array:
  """Non-negative site weights relu(z(s)) (H, m)."""
  return jax.nn.relu(zscore(s))


def translate_row(s, contrib, w1, density, ctx):
  """Row aggregation: score[h, j] = Σ_c relu(z(s))[h, c] · |contrib[h, c, j]|, so rows
  holding many strong sites get more of the budget."""
  return topk_mask(jnp.einsum("hm,hmd->hd", site_weights(s), jnp.abs(contrib)), density,
                   tiebreak=jnp.abs(w1))


def translate_orth(s, contrib, w1, density, ctx):
  """Orthogonalized: score = max_c w_c·contrib_c − λ·Σ_{c'≠c} w_c'·|contrib_c'|: a coordinate
  is worth keeping if it drives its best site without feeding the row's other sites."""
  wc = site_weights(s)[..., None] * contrib
  best_c = jnp.argmax(wc, axis=1)                                   # (H, d)
  best = jnp.take_along_axis(wc, best_c[:, None], 1)[:, 0]
  interf = jnp.abs(wc).sum(1) - jnp.abs(best)
  return topk_mask(best - ctx.hp.orth_penalty * interf, density, tiebreak=jnp.abs(w1))


def translate_signed(s, contrib, w1, density, ctx):
  """Joint signed: score[h, j] = Σ_c relu(z(s))[h, c] · contrib[h, c, j] (signed), keeping
  coordinates that push the row's weighted sites towards their templates jointly."""
  return topk_mask(jnp.einsum("hm,hmd->hd", site_weights(s), contrib), density,
                   tiebreak=jnp.abs(w1))


def translate_omp(s, contrib, w1, density, ctx, c0=None, t=None):
  """Joint OMP-style (matching pursuit, no refit): each row's target in feature space is
  T_h = Σ_c relu(z(s))[h,c] · scatter(t[h,c] ⊙ pol(c) at vars(c)) ∈ R^n; atoms are the rows
  C0[j] ∈ R^n. Repeat k times: pick the unselected (h, j) maximising |⟨r_h, C0[j]⟩|/‖C0[j]‖,
  subtract its projection from r_h."""
  hdim, d = w1.shape
  n = c0.shape[1]
  w = site_weights(s)
  lit = t * ctx.clause_pols[None]                                   # (H, m, k)
  tgt = jnp.zeros((hdim, n)).at[:, ctx.clause_vars].add(w[..., None] * lit)
  norms = jnp.maximum(jnp.linalg.norm(c0, axis=1), 1e-12)           # (d,)
  k = keep_count(density, hdim * d)

  def body(_, carry):
    r, sel = carry
    corr = (r @ c0.T) / norms                                       # (H, d)
    pick = jnp.argmax(jnp.where(sel > 0, -jnp.inf, jnp.abs(corr)).ravel())
    h, j = pick // d, pick % d
    r = r.at[h].add(-corr[h, j] / norms[j] * c0[j])
    return r, sel.at[h, j].set(1.0)

  _, sel = jax.lax.fori_loop(0, k, body, (tgt, jnp.zeros((hdim, d))))
  return sel


TRANSLATE = {"greedy": translate_greedy, "row": translate_row, "orth": translate_orth,
             "signed": translate_signed, "omp": translate_omp}


# ------------------------------------------------------------------------ the registry
