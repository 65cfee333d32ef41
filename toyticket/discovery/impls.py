"""The discovery methods' implementations by name (`IMPLS`): every name of
`methods.METHODS` maps to its (prepare, select) pair (`base.Impl`), built from the weight-
space methods (`weight`), the feature-space scores (`sites`) and their translations
(`translate`). See `base` for the contract (exact density, nested masks)."""
from __future__ import annotations

import jax.numpy as jnp

from toyticket.discovery.methods import METHODS
from toyticket.discovery.base import (EPOCH, NAMED, Context, DiscoveryConfig, Impl,  # noqa: F401
                                     at, final_w1, keep_count, score_method, topk_mask)
from toyticket.discovery.sites import (clause_couplings, coordinate_contributions,  # noqa: F401
                                      site_geometry, site_scores, zscore)
from toyticket.discovery.translate import TRANSLATE
from toyticket.discovery.weight import (damped_inverse, earlybird_epoch,  # noqa: F401
                                       earlybird_epoch_consecutive, earlybird_select,
                                       feature_columns, grasp_scores, hvp_w1, obs_saliency,
                                       synflow_scores, w1_grad, w1_hessian, w1_loss)

# The names callers and tests reach through this module (the registry's own parts).
__all__ = ["IMPLS", "adaptive_impl", "feature_impl", "Context", "DiscoveryConfig", "Impl",
           "at", "final_w1", "keep_count", "score_method", "topk_mask", "clause_couplings",
           "coordinate_contributions", "site_geometry", "site_scores", "zscore", "TRANSLATE",
           "damped_inverse", "earlybird_epoch", "earlybird_epoch_consecutive",
           "earlybird_select", "feature_columns", "grasp_scores", "hvp_w1", "obs_saliency",
           "synflow_scores", "w1_grad", "w1_hessian", "w1_loss"]


def adaptive_impl(translation: str) -> Impl:
  """State-adaptive static rule: sites scored by −d at the cell's own start point
  ctx.start (its nearest template there), translated to W1 entries of that point."""
  def select(_, ctx, rho):
    p = ctx.start
    d, t, _ = site_geometry(p, ctx)
    extra = {"c0": p["C0"], "t": t} if translation == "omp" else {}
    mask = TRANSLATE[translation](-d, coordinate_contributions(p, t, ctx), p["W1"], rho,
                                  ctx, **extra)
    return mask, final_w1(ctx), jnp.asarray(ctx.start_epoch, jnp.int32)

  return Impl(lambda ctx: None, select)


def feature_impl(kind: str, translation: str) -> Impl:
  """Site score `kind` (methods.SITE_SCORES) at the probe epoch, translated to W1 entries."""
  def prepare(ctx):
    s, t = site_scores(kind, ctx)
    p = at(ctx.traj, ctx.probe_epoch)
    return s, t, coordinate_contributions(p, t, ctx)

  def select(aux, ctx, rho):
    s, t, contrib = aux
    p = at(ctx.traj, ctx.probe_epoch)
    extra = {"c0": p["C0"], "t": t} if translation == "omp" else {}
    return (TRANSLATE[translation](s, contrib, p["W1"], rho, ctx, **extra), final_w1(ctx),
            EPOCH["probe"](ctx))

  return Impl(prepare, select)


def _impl(m) -> Impl:
  """A declared method's implementation: the one registered under its name where it is
  written (`base.implements`), or the feature-space pair its site score and translation
  name (a weight-space method without one fails at import)."""
  if m.name in NAMED:
    return NAMED[m.name]
  if m.space == "weight":
    raise KeyError(f"method {m.name!r} is declared in methods.METHODS but no module "
                   "registers an implementation (`base.implements`)")
  if m.scores_at == "start":
    return adaptive_impl(m.translation)
  return feature_impl(m.site_score, m.translation)


_undeclared = set(NAMED) - set(METHODS)
if _undeclared:        # an implementation must be declared (its properties) to be run
  raise KeyError(f"discovery.impls implements undeclared methods {sorted(_undeclared)}")
IMPLS: dict[str, Impl] = {name: _impl(m) for name, m in METHODS.items()}   # derived
