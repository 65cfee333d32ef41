"""Feature-space site scores of the clause world: per (row h, clause c, template t) site,
its static distance to the template, dynamic gradient alignment, or both (`site_scores`),
and the coupling scores read through C0 (κ methods). Shapes: sites (H, m, T)."""
from __future__ import annotations


import jax
import jax.numpy as jnp

from toyticket.families.clause import codes as codes_lib
from toyticket.families.clause import model
from toyticket.discovery.base import Context, at, implements
from toyticket.discovery.weight import w1_grad


def clause_couplings(c0: jax.Array, clause_vars, clause_pols) -> jax.Array:
  """a (m, 1+k, d): a[c,r,j] = Σ_i C0[j, vars(c)_i] pol(c)_i t_r,i / √k over all templates.

  Coordinate W1[h, j] adds W1[h, j] · a[c, r, j] to the alignment u[h, c] · t_r / √k.
  """
  kp, n1p = codes_lib.templates(clause_vars.shape[1])
  t = jnp.concatenate([kp, n1p]) / jnp.sqrt(clause_vars.shape[1])   # (R, k)
  g = c0[:, clause_vars] * clause_pols[None]                        # (d, m, k)
  return jnp.einsum("dmk,rk->mrd", g, t)


# ----------------------------------------------------------- feature-space site scores
def site_geometry(params: model.Params, ctx: Context, target=None):
  """Distance d (H, m) of every site to a template, and that template t (H, m, k) in ±1.

  target: None → each site's nearest template (`codes.nearest`, so the 3N1P rotation is
  the one codes.py reports); or (type (H, m), rotation (H, m)) → that fixed template.
  Returns (d, t, (type, rotation))."""
  h, d = params["W1"].shape
  rot = None if target is None else target[1]
  c = codes_lib.codes_of(params, jnp.ones((h, d)), ctx.clause_vars, ctx.clause_pols,
                         ctx.hp.tau, readout_check=False, specificity=ctx.hp.specificity,
                         rotation=rot)
  kind, t, dist = codes_lib.nearest(c, ctx.clause_vars.shape[1])
  if target is not None:
    kind = target[0]
    t = jnp.where(kind[..., None] == 0, 1.0, 2.0 * jax.nn.one_hot(rot, t.shape[-1]) - 1.0)
    dist = jnp.take_along_axis(c.dist, kind[..., None], -1)[..., 0]
  return dist, t, (kind, c.rotation)


def zscore(a: jax.Array) -> jax.Array:
  return (a - a.mean()) / jnp.maximum(a.std(), 1e-12)


def site_scores(kind: str, ctx: Context):
  """Site scores (H, m) and target templates (H, m, k) at the probe epoch.

  Each site's target is its nearest template at the probe epoch e (`site_geometry`);
  d_e and d_0 are distances to that same target at epoch e and at θ0.
  static = −d_e; dynamic = d_0 − d_e; combined = z(static) + w · z(dynamic).
  """
  d_e, t, target = site_geometry(at(ctx.traj, ctx.probe_epoch), ctx)
  d_0, _, _ = site_geometry(at(ctx.traj, 0), ctx, target)
  if kind == "static":
    s = -d_e
  elif kind == "dynamic":
    s = d_0 - d_e
  else:
    s = zscore(-d_e) + ctx.hp.combined_weight * zscore(d_0 - d_e)
  return s, t


def coordinate_contributions(params: model.Params, t: jax.Array, ctx: Context) -> jax.Array:
  """contrib (H, m, d): W1[h, j] · Σ_i C0[j, vars(c)_i] pol(c)_i t[h,c,i] / √k."""
  g = params["C0"][:, ctx.clause_vars] * ctx.clause_pols[None]       # (d, m, k)
  a = jnp.einsum("dmk,hmk->hmd", g, t) / jnp.sqrt(t.shape[-1])
  return params["W1"][:, None, :] * a


# ------------------------------------------------------------------------ translations

def _kappa(ctx, use_grad: bool):
  p = at(ctx.traj, ctx.probe_epoch)
  a = clause_couplings(p["C0"], ctx.clause_vars, ctx.clause_pols)   # (m, R, d)
  w = -w1_grad(p, ctx.x, ctx.y) if use_grad else p["W1"]
  return jnp.max(w[:, None, None, :] * a[None], axis=(1, 2))


implements("w1_kappa", reads="probe")(lambda ctx: _kappa(ctx, False))
implements("w1_grad_kappa", reads="probe")(lambda ctx: _kappa(ctx, True))
