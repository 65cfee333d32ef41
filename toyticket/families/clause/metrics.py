"""Feature-space ticket metrics (SPEC §4), for ONE run; vmap over runs.

Inputs are `codes.Codes` readings (boolean site arrays shaped (H, m, T), T = 2 template
types). Ratios whose denominator is 0 are NaN (aggregate with nanmean, or pool counts).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from toyticket.core import names
from toyticket.families.clause.codes import Codes

DIST_BINS = np.asarray(names.DIST_EDGES, np.float32)   # distance 1 − cos ∈ [0, 2], 10 bins
LOAD_BINS = names.LOAD_BINS                            # row load 0..7 and ≥ 8


def ratio(num, den):
  return jnp.where(den > 0, num / jnp.maximum(den, 1), jnp.nan)


def same_site_recall(dense: jax.Array, sparse: jax.Array) -> jax.Array:
  """(T,) fraction of dense-final exact sites (h, c, t) that are exact in the sparse final."""
  return ratio((dense & sparse).sum((0, 1)), dense.sum((0, 1)))


def family_recall(dense: jax.Array, sparse: jax.Array) -> jax.Array:
  """(T,) fraction of dense-final families (c, t) present on ANY row of the sparse final."""
  fd, fs = dense.any(0), sparse.any(0)
  return ratio((fd & fs).sum(0), fd.sum(0))


def jaccard(a: jax.Array, b: jax.Array) -> jax.Array:
  """|a ∧ b| / |a ∨ b| over all entries (NaN if both empty)."""
  a, b = a > 0, b > 0
  return ratio((a & b).sum(), (a | b).sum())


def near_fraction(near_traj: jax.Array, final_exact: jax.Array):
  """Near-code fraction over training, (E+1, T) each: among sites that end exact, and
  among the rest. near_traj (E+1, H, m, T) bool, final_exact (H, m, T) bool."""
  codes_ = (near_traj & final_exact).sum((1, 2))
  rest = (near_traj & ~final_exact).sum((1, 2))
  return ratio(codes_, final_exact.sum((0, 1))), ratio(rest, (~final_exact).sum((0, 1)))


def site_classes(near0: jax.Array, exact_end: jax.Array) -> jax.Array:
  """(3, H, m, T) bool: stable (near at θ0 & exact at end), recruited (not near at θ0 &
  exact at end), close-but-lost (near at θ0 & not exact at end)."""
  return jnp.stack([near0 & exact_end, ~near0 & exact_end, near0 & ~exact_end])


def class_trajectories(classes: jax.Array, dist: jax.Array, margin: jax.Array):
  """Mean continuous distance and signed margin over epochs per site class.

  classes (3, H, m, T), dist/margin (E+1, H, m, T) -> two (E+1, 3, T) arrays (NaN where a
  class is empty)."""
  cnt = classes.sum((1, 2))                                           # (3, T)
  mean = lambda v: ratio(jnp.einsum("chmt,ehmt->ect", classes, v), cnt[None])
  return mean(dist), mean(margin)


def histogram(values: jax.Array, select: jax.Array, edges: jax.Array) -> jax.Array:
  """Counts of values[select] in bins [e_i, e_{i+1}) (last bin closed), (len(edges)-1,)."""
  idx = jnp.clip(jnp.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
  return jnp.zeros(len(edges) - 1, jnp.int32).at[idx.ravel()].add(select.ravel())


def survival(supported: jax.Array, survived: jax.Array, row_load: jax.Array,
             dist0: jax.Array) -> jax.Array:
  """Survival of supported sites as a joint function of row load and initial distance.

  supported, survived (H, m, T) bool; row_load (H,) (clipped to LOAD_BINS − 1); dist0
  (H, m, T) continuous distance 1 − cos, binned by DIST_BINS. Returns int32 counts
  (2, LOAD_BINS, len(DIST_BINS) − 1): [supported, supported ∧ survived]; the marginals are
  its sums over an axis."""
  nb = len(DIST_BINS) - 1
  load = jnp.minimum(jnp.broadcast_to(row_load[:, None, None], supported.shape), LOAD_BINS - 1)
  dbin = jnp.clip(jnp.searchsorted(DIST_BINS, dist0, side="right") - 1, 0, nb - 1)
  flat = (load * nb + dbin).ravel()
  return jnp.stack([jnp.zeros(LOAD_BINS * nb, jnp.int32).at[flat].add(s.ravel())
                    for s in (supported, supported & survived)]).reshape(2, LOAD_BINS, nb)


def code_fates(dense: jax.Array, sparse: jax.Array):
  """Where the dense-final exact codes went (paper fig 7), per template type.

  dense, sparse (H, m, T) bool exact sites. Returns (fates (3, T): fractions of dense-final
  codes kept at the same site / moved to another row (family present elsewhere, not at the
  same site) / lost (family absent); they sum to 1, NaN if no dense code), and
  overlap (T,): fraction of sparse-final codes that are dense-final codes at the same site)."""
  kept = dense & sparse
  family = sparse.any(0, keepdims=True)
  moved = dense & ~sparse & family
  lost = dense & ~family
  n = dense.sum((0, 1))
  fates = jnp.stack([ratio(a.sum((0, 1)), n) for a in (kept, moved, lost)])
  return fates, ratio(kept.sum((0, 1)), sparse.sum((0, 1)))


def initial_distance_hist(final_exact: jax.Array, dist0: jax.Array) -> jax.Array:
  """(T, bins) histogram of the rewind-point distance of sites that end as exact codes,
  to the template type they end as."""
  return jnp.stack([histogram(dist0[..., t], final_exact[..., t], DIST_BINS)
                    for t in range(final_exact.shape[-1])])


def cell_metrics(dense_final: Codes, dense_init_near: jax.Array, rewind: Codes,
                 sparse_final: Codes, sparse_near_traj: jax.Array, oracle_rewind: Codes,
                 mask: jax.Array, oracle_mask: jax.Array) -> dict:
  """Every per-run metric of a sparse run against its dense run (SPEC §4 list).

  rewind: codes of the masked rewind point; oracle_rewind: the same for the oracle mask at
  this density; sparse_near_traj (E+1, H, m, T). The sparse-run support is the mask's:
  a site is supported when the masked rewind point puts it near-code, and survives when it
  is exact in the SPARSE final (`sparse_survival`; the dense-run, oracle-supported version
  is `cycle.analyse_dense`'s `oracle_survival`)."""
  supported = rewind.near
  near_codes, near_rest = near_fraction(sparse_near_traj, sparse_final.exact)
  fates, overlap = code_fates(dense_final.exact, sparse_final.exact)
  return {
      "same_site_recall": same_site_recall(dense_final.exact, sparse_final.exact),
      "family_recall": family_recall(dense_final.exact, sparse_final.exact),
      "code_fates": fates,
      "code_overlap": overlap,
      "near_frac_codes": near_codes,
      "near_frac_rest": near_rest,
      "supported": supported.sum((0, 1)),
      "supported_but_lost": (supported & ~sparse_final.exact).sum((0, 1)),
      "jaccard_mask_oracle": jaccard(mask, oracle_mask),
      "jaccard_sites_oracle": jaccard(supported, oracle_rewind.near),
      "jaccard_codes_dense": jaccard(sparse_final.exact, dense_final.exact),
      "sparse_survival": survival(supported, sparse_final.exact, rewind.row_load, rewind.dist),
      "init_dist_hist": initial_distance_hist(sparse_final.exact, rewind.dist),
      "stable_kept": (dense_init_near & dense_final.exact & sparse_final.exact).sum((0, 1)),
  }
