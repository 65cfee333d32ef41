"""The clause world's readings of the batched cycle: what is read from every dense run,
every sparse cell and (with SAEs) every final network (SPEC §4, §5).

Inputs and outputs lead with the run axes: dense (R, ...), cells (R, C, ...). `spec` is the
cycle's `CycleSpec`; its `options` are this family's `ClauseOptions` (τ, readout check,
specificity, SAEs).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from toyticket.core import prng
from toyticket.discovery import impls as discovery
from toyticket.families.clause import codes as codes_lib
from toyticket.families.clause import metrics, model, sae
from toyticket.families.clause.schema import CellReadings, DenseReadings
from toyticket.ticket import train
from toyticket.ticket.family import register_readings

register_readings(DenseReadings, CellReadings)


def codes_fn(spec, data, decoy=False):
  """codes_of for this spec, on the task's clauses or (decoy=True) its decoy clauses."""
  pre = "decoy" if decoy else "clause"
  return functools.partial(codes_lib.codes_of, clause_vars=data[f"{pre}_vars"],
                           clause_pols=data[f"{pre}_pols"], tau=spec.options.tau,
                           readout_check=spec.options.readout_check, specificity=spec.options.specificity)


def analyse_dense(spec, traj, losses, densities, data):
  """Per dense run: test accuracy and code counts per epoch, decoy counts, and for each
  density ρ in `densities` (R, P) the oracle-supported site classes of the DENSE run.

  Oracle support (paper figs 4, 5, 21): the dense-final magnitude mask at ρ applied at θ0
  puts the site near-code. Classes over the dense run: stable (supported, exact in the
  dense final), recruited (not supported, exact in the dense final), close-but-lost
  (supported, not exact in the dense final). Survival = exact in the dense final, counted
  by (oracle-masked row load at θ0, initial distance) (`metrics.survival`). Class
  trajectories track every site's distance and margin over dense training to its FINAL
  target (the template type of the class entry, the site's dense-final 3N1P rotation)."""
  codes_of, decoys_of = codes_fn(spec, data), codes_fn(spec, data, decoy=True)

  def one(tr, ls, dens):
    ones = jnp.ones_like(tr["W1"][0])
    d_0, d_end = discovery.at(tr, 0), discovery.at(tr, -1)
    acc = jax.vmap(lambda p: model.accuracy(p, ones, data["x_test"], data["y_test"]))(tr)
    cs = jax.vmap(lambda p: codes_of(p, ones))(tr)
    first, final = (jax.tree.map(lambda v: v[e], cs) for e in (0, -1))
    fixed = jax.vmap(lambda p: codes_of(p, ones, rotation=final.rotation))(tr)
    decoy_0, decoy_end = decoys_of(d_0, ones), decoys_of(d_end, ones)

    def per_density(rho):
      sup = codes_of(d_0, discovery.topk_mask(jnp.abs(d_end["W1"]), rho))
      classes = metrics.site_classes(sup.near, final.exact)
      dist_cls, margin_cls = metrics.class_trajectories(classes, fixed.dist, fixed.margin)
      return {"oracle_supported": sup.near.sum((0, 1)),
              "oracle_class_counts": classes.sum((1, 2)),
              "oracle_class_dist": dist_cls, "oracle_class_margin": margin_cls,
              "oracle_survival": metrics.survival(sup.near, final.exact, sup.row_load,
                                                  sup.dist)}

    return DenseReadings(
        acc=acc, loss=ls, diverged_epoch=train.diverged_epoch(tr, ls),
        code_counts=cs.exact.sum((1, 2)),
        max_row_codes=jnp.stack([codes_lib.max_row_codes(c) for c in (first, final)]),
        decoy_codes=jnp.stack([codes_lib.counts(c) for c in (decoy_0, decoy_end)]),
        decoy_near=jnp.stack([codes_lib.near_counts(c) for c in (decoy_0, decoy_end)]),
        near_counts=jnp.stack([codes_lib.near_counts(c) for c in (first, final)]),
        c1_init=model.feature_weights(d_0, ones), near_init=cs.near[0],
        # for heat maps (plots read saved arrays only): θ0 and dense-final W1, C1,
        # exact sites (2, H, m, T), and the dense-final C0
        w1_ends=jnp.stack([d_0["W1"], d_end["W1"]]),
        c1_ends=jnp.stack([model.feature_weights(p, ones) for p in (d_0, d_end)]),
        exact_ends=jnp.stack([first.exact, final.exact]), c0_final=d_end["C0"],
        **jax.vmap(per_density)(dens))

  return jax.vmap(one)(traj, losses, densities)


def sae_readings(spec, p, mask, key, data):
  """SAEs on ONE network's hidden activations h = relu(C1 x + b1) over the first
  `spec.options.sae.examples` training inputs (params p, mask (H, d), seed key): one SAE per L1
  coefficient (P) and SAE seed (S), all vmapped, and the random-direction floor (one draw
  per SAE seed). Returns "sae_fvu", "sae_mse", "sae_l0", "sae_dead" (P, S); "sae_matched"
  (P, S, T) exact codes of this network matched (`sae.matched_sites`); "sae_stable" (P, T)
  codes matched by every seed's SAE; "sae_random" (S, T) codes matched by random
  directions; "sae_codes" (T,) exact codes the code reader finds."""
  s, k = spec.options.sae, data["clause_vars"].shape[1]
  x = data["x_train"][:s.examples]
  indicators = sae.code_indicators(x, data["clause_vars"], data["clause_pols"], k)
  h = jax.nn.relu(x @ model.feature_weights(p, mask).T + p["b1"])
  cs = codes_fn(spec, data)(p, mask)
  sites = lambda f, atoms: sae.matched_sites(f, atoms, cs.exact, cs.rotation, indicators)

  def fit(l1, key):
    q, _ = sae.train(key, h, l1, s.latents, s.steps, s.lr)
    return {**sae.stats(q, h), "sites": sites(sae.encode(q, h), q["W_dec"])}

  keys = jax.random.split(jax.random.fold_in(key, prng.SAE), s.seeds)
  fits = jax.vmap(lambda l1: jax.vmap(lambda kk: fit(l1, kk))(keys))(
      jnp.asarray(s.l1s, jnp.float32))                                  # (P, S, ...)
  floor_keys = jax.random.split(jax.random.fold_in(key, prng.SAE_FLOOR), s.seeds)
  dirs = jax.vmap(lambda kk: sae.random_directions(kk, h.shape[1], s.latents))(floor_keys)
  rand = jax.vmap(lambda d: sites(jax.nn.relu(h @ d), d).sum((0, 1)))(dirs)
  return {"sae_fvu": fits["fvu"], "sae_mse": fits["mse"], "sae_l0": fits["l0"],
          "sae_dead": fits["dead"], "sae_matched": fits["sites"].sum((2, 3)),
          "sae_stable": jnp.all(fits["sites"], 1).sum((1, 2)), "sae_random": rand,
          "sae_codes": cs.exact.sum((0, 1))}


def analyse_cells(spec, traj, start, masks, density, straj, slosses, data):
  """Per sparse cell: accuracies, code counts (with the θ0 chance level and the decoy
  floor) and metrics. Inputs and outputs have leading axes (R, C); dense-run codes are
  computed once per r."""
  codes_of, decoys_of = codes_fn(spec, data), codes_fn(spec, data, decoy=True)
  acc = lambda p, m: model.accuracy(p, m, data["x_test"], data["y_test"])

  def per_run(tr, run_starts, run_masks, run_densities, run_trajs, run_losses):
    ones = jnp.ones_like(run_masks[0])
    d_end, d_0 = discovery.at(tr, -1), discovery.at(tr, 0)
    dense_final, dense_init_near = codes_of(d_end, ones), codes_of(d_0, ones).near

    def one(p_start, mask, rho, st, sl):
      s_end = discovery.at(st, -1)
      oracle = discovery.topk_mask(jnp.abs(d_end["W1"]), rho)
      sparse_traj = jax.vmap(lambda p: codes_of(p, mask))(st)
      sparse_final = jax.tree.map(lambda v: v[-1], sparse_traj)
      rewind = codes_of(p_start, mask)
      decoy_end = decoys_of(s_end, mask)
      masked = codes_of(d_end, mask)
      out = metrics.cell_metrics(dense_final, dense_init_near, rewind, sparse_final,
                                 sparse_traj.near, codes_of(p_start, oracle), mask, oracle)
      return CellReadings(
          **out,
          realised_density=mask.mean(),
          masked_acc=acc(d_end, mask),
          sparse_acc=acc(s_end, mask),
          rewind_acc=acc(p_start, mask),
          sparse_codes=codes_lib.counts(sparse_final),
          sparse_near=codes_lib.near_counts(sparse_final),
          chance_codes=codes_lib.counts(codes_of(d_0, mask)),
          masked_codes=codes_lib.counts(masked),
          masked_exact=masked.exact,           # heat maps: masked, no retraining
          sparse_w1=s_end["W1"] * mask, sparse_c1=model.feature_weights(s_end, mask),
          sparse_exact=sparse_final.exact,
          max_row_codes=codes_lib.max_row_codes(sparse_final),
          decoy_sparse_codes=codes_lib.counts(decoy_end),
          decoy_sparse_near=codes_lib.near_counts(decoy_end),
          decoy_chance_codes=codes_lib.counts(decoys_of(d_0, mask)),
          rewind_c1=model.feature_weights(p_start, mask),
          rewind_near=rewind.near,
          code_counts_traj=sparse_traj.exact.sum((1, 2)),
          loss=sl,
          diverged_epoch=train.diverged_epoch(st, sl),
          pruned_nonzero=jnp.sum((mask == 0) & (s_end["W1"] != 0)),
          collapsed_rows=jnp.sum(mask.sum(1) == 0))

    return jax.vmap(one)(run_starts, run_masks, run_densities, run_trajs, run_losses)

  return jax.vmap(per_run)(traj, start, masks, density, straj, slosses)
