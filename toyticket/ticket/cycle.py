"""The ticket cycle, batched: dense → discovery → rewind → sparse → analysis (SPEC §3).

Every step is a pure function of (data, per-run inputs, mask). The run axes are vmap axes:
dense runs (embeddings × seeds) in `dense_in` (leading axis R), and the sparse cells of
each dense run in `cells`: one dict per method of `spec.methods`, in that order, arrays
(R, C_method); a dense run's cells train on its data order as one group. The cell axis of
every output is the concatenation of the methods' cells in that order (C = Σ C_method);
`grid.CellGrid` builds `cells` and labels the outputs from one list, so the two agree.
Every output leaf has the dense-run axis R leading ((R, C, ...) for per-cell outputs).

The task family (`FAMILIES`: the clause world or Toy Models of Superposition, chosen by
`CycleSpec.task_family`) decides how a network starts, what it minimises and what is read
from it; the cycle itself is the same for both.

`full_cycle_jit` runs the whole batch in ONE jit call; `sparse_cycle_jit` starts from given
dense trajectories (restored checkpoints). PRNG streams: `prng`.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import jax
import jax.numpy as jnp

from toyticket.families.clause import codes as codes_lib
from toyticket.discovery import impls as discovery
from toyticket.families.clause import kernels, metrics, model, sae
from toyticket.core import names, prng
from toyticket.families.tms import model as tms
from toyticket.ticket import train
from toyticket.discovery import methods as methods_lib
from toyticket.discovery.methods import METHODS

REWINDS = names.REWINDS


@dataclasses.dataclass(frozen=True)
class CycleSpec:
  """Static part of a batch (hashable; one compiled program per distinct spec)."""
  hidden: int
  n_out: int
  train: train.TrainConfig
  methods: tuple
  probe_epochs: tuple
  discovery: discovery.DiscoveryConfig = discovery.DiscoveryConfig()
  tau: float = 0.25
  readout_check: bool = True
  specificity: str = "none"   # codes.SPECIFICITY: clause-local (the paper's) or "row"
  rewind_epoch: int = 2       # the dense epoch a `fixed` rewind starts from
  imp_levels: int = 0         # iterative magnitude pruning levels (0: none)
  imp_prune: float = 0.2      # fraction of the REMAINING W1 pruned per IMP level
  score_examples: int = 1024
  c0_frozen: bool = False     # every run's C0 is frozen (sparse groups may embed once)
  sae: sae.SaeSpec = sae.SaeSpec(l1s=())   # SAEs on every network's activations (none: off)
  task_family: str = "clause"  # names.TASK_FAMILIES: which `FAMILIES` entry runs
  importance_decay: float = 0.7   # tms: feature importance I_i = decay^i


def stream(key, i):
  """The run's PRNG stream i (a `prng` constant) from its seed key."""
  return jax.random.fold_in(key, i)


def train_path(spec: CycleSpec, shared_frozen_c0: bool) -> str:
  """The gradient path (`kernels.train_path`) for this spec on the default backend; a
  family with its own loss trains by autodiff (the fast paths are the clause model's)."""
  if own_loss(spec) is not None:
    return "autodiff"
  return kernels.train_path(spec.train.grad_impl, jax.default_backend(), shared_frozen_c0)


def own_loss(spec: CycleSpec):
  """The family's own loss(params, mask, x, y), trained by autodiff; None for the clause
  world, whose `model.loss` has the switchable fast gradient paths."""
  own = FAMILIES[spec.task_family].loss
  return None if own is None else own(spec)


def loss_fn(spec: CycleSpec):
  """The family's loss(params, mask, x, y) (`model.loss` for the clause world)."""
  return own_loss(spec) or model.loss


def init_params(spec: CycleSpec, key, c0) -> model.Params:
  """θ of one network of the spec's family from key, around embedding c0."""
  return FAMILIES[spec.task_family].init(key, c0, spec.hidden, spec.n_out)


def init_dense(spec: CycleSpec, dense_in) -> model.Params:
  """θ0 for every dense run: (R, ...) params."""
  return jax.vmap(lambda k, c0: init_params(spec, stream(k, prng.INIT), c0))(
      dense_in["key"], dense_in["c0"])


def train_batch(spec: CycleSpec, start, masks, dense_in, data, path: str):
  """`train.train` vmapped over dense runs: the C runs of dense run r (leaves (R, C, ...),
  masks (R, C, H, d)) share its data order (stream SHUFFLE) and C0-trainable flag; `path`
  is the gradient path (`kernels.PATHS`). Returns traj (R, C, E+1, ...), losses (R, C, E)."""
  def one(p, m, key, c0_trainable):
    return train.train(p, m, c0_trainable, stream(key, prng.SHUFFLE), data["x_train"],
                       data["y_train"], spec.train, path, own_loss(spec))
  return jax.vmap(one)(start, masks, dense_in["key"], dense_in["c0_trainable"])


def dense_phase(spec: CycleSpec, dense_in, data):
  """Dense training of all dense runs: traj (R, E+1, ...), losses (R, E). Each dense run is
  a group of one, so the fused path never embeds once per group here."""
  p0 = jax.tree.map(lambda a: a[:, None], init_dense(spec, dense_in))
  traj, losses = train_batch(spec, p0, jnp.ones_like(p0["W1"]), dense_in, data,
                             train_path(spec, shared_frozen_c0=False))
  return jax.tree.map(lambda a: a[:, 0], traj), losses[:, 0]


def _context(spec, traj, key, probe_epoch, data):
  n = spec.score_examples
  return discovery.Context(traj, probe_epoch, stream(key, prng.DISCOVERY), data["x_train"][:n],
                           data["y_train"][:n], data.get("clause_vars"),
                           data.get("clause_pols"), spec.discovery, loss=loss_fn(spec))


def discover(spec: CycleSpec, traj, dense_in, cells, data):
  """Masks for every cell, method by method (static loop; dense runs and their cells
  vmapped inside). A method's `prepare` runs once per probe epoch if it reads the probe
  epoch (`Method.needs_probe`), else once. Returns masks (R, C, H, d), w1_post
  (R, C, H, d) and detect_epoch (R, C), the C cells of a dense run in the order of `cells`
  (method-major)."""
  masks, posts, epochs = [], [], []
  for name, cell in zip(spec.methods, cells):
    impl = discovery.IMPLS[name]
    probes = jnp.asarray(spec.probe_epochs if METHODS[name].needs_probe
                         else spec.probe_epochs[:1], jnp.int32)

    adaptive = METHODS[name].scores_at == "start"

    def per_run(tr, key, probe_index, density, rewind):
      aux = jax.vmap(lambda pe: impl.prepare(_context(spec, tr, key, pe, data)))(probes)
      pick = lambda i: jnp.minimum(i, probes.shape[0] - 1)   # one entry: index 0

      def select(i, rho, rw):
        ctx = _context(spec, tr, key, probes[pick(i)], data)
        if adaptive:    # reads the cell's own start point (final: dense-final W1)
          ctx = ctx._replace(start=rewind_params(spec, tr, key, rw, i, discovery.final_w1(ctx)),
                             start_epoch=rewind_epoch(spec, tr, rw, i))
        return impl.select(jax.tree.map(lambda v: v[pick(i)], aux), ctx, rho)

      return jax.vmap(select)(probe_index, density, rewind)

    m, w, e = jax.vmap(per_run)(traj, dense_in["key"], cell["probe_index"], cell["density"],
                                cell["rewind"])
    masks.append(m)
    posts.append(w)
    epochs.append(e)
  return (jnp.concatenate(masks, 1), jnp.concatenate(posts, 1),
          jnp.concatenate(epochs, 1))


def rewind_params(spec: CycleSpec, tr, key, rewind, probe_index, w1_post):
  """Start point of one sparse run of the dense run with trajectory tr and seed key, by
  rewind code (names.REWINDS): θ0 (init), θ at the cell's probe epoch (probe), a fresh draw
  with the same C0 (fresh), the dense end with the method's W1 (final, post-training
  reference), or θ at spec.rewind_epoch whatever the probe epoch (fixed; paper fig 26)."""
  p_init = discovery.at(tr, 0)
  p_probe = discovery.at(tr, jnp.asarray(spec.probe_epochs)[probe_index])
  p_fresh = init_params(spec, stream(key, prng.FRESH), p_init["C0"])
  p_final = {**discovery.at(tr, -1), "W1": w1_post}
  p_fixed = discovery.at(tr, spec.rewind_epoch)
  options = [p_init, p_probe, p_fresh, p_final, p_fixed]
  return jax.tree.map(lambda *xs: jnp.select([rewind == i for i in range(len(xs))],
                                             list(xs)), *options)


def rewind_epoch(spec: CycleSpec, tr, rewind, probe_index):
  """The dense epoch of a rewind point (int32): 0 for init and fresh (a fresh draw is
  an epoch-0 state), the probe epoch, E (final), or spec.rewind_epoch (fixed)."""
  e_max = tr["W1"].shape[0] - 1
  epochs = jnp.asarray([0, 0, 0, e_max, spec.rewind_epoch], jnp.int32)
  epochs = epochs.at[1].set(jnp.asarray(spec.probe_epochs, jnp.int32)[probe_index])
  return epochs[rewind]


CELL_OUTPUTS = ("cells", "sparse_final", "masks")   # outputs with a cell axis (R, C, ...)


def imp_phase(spec: CycleSpec, traj, dense_in, imp, data):
  """Iterative magnitude pruning (Frankle & Carbin), all runs batched, levels in one
  `lax.scan`. imp: {"rewind", "probe_index"} (R, K): the K IMP runs of each dense run.

  Level ℓ = 1..L keeps the top n_ℓ = n_{ℓ−1} − ceil(p · n_{ℓ−1}) entries of W1 (open_lth's
  count rule, `methods.imp_keep_counts`) by |W1| of the previous level's sparse final
  (level 1: the dense final, so its mask is the one-shot oracle's), ranked inside
  the previous mask (masks nested, exact density, pruned weights never revived), rewinds
  to the run's rewind point and retrains. Returns per-cell readings, sparse-final params
  and masks with leading (R, K·L), the L levels of IMP run k consecutive."""
  r, k = imp["rewind"].shape
  w1_end = jnp.broadcast_to(traj["W1"][:, -1][:, None], (r, k) + traj["W1"].shape[2:])
  start = jax.vmap(lambda tr, key, rw, p: jax.vmap(
      lambda rw, p: rewind_params(spec, tr, key, rw, p, tr["W1"][-1]))(rw, p))(
          traj, dense_in["key"], imp["rewind"], imp["probe_index"])
  path = train_path(spec, shared_frozen_c0=spec.c0_frozen)
  topk = jax.vmap(jax.vmap(lambda w, m, rho: discovery.topk_mask(jnp.abs(w), rho, within=m),
                           in_axes=(0, 0, None)), in_axes=(0, 0, None))

  def level(carry, rho):
    prev_mask, w1 = carry
    mask = topk(w1, prev_mask, rho)
    straj, slosses = train_batch(spec, start, mask, dense_in, data, path)
    cells = FAMILIES[spec.task_family].analyse_cells(spec, traj, start, mask,
                                                     jnp.full((r, k), rho), straj, slosses, data)
    final = jax.tree.map(lambda v: v[:, :, -1], straj)
    cells["detect_epoch"] = jnp.full((r, k), traj["W1"].shape[1] - 1, jnp.int32)
    return (mask, final["W1"]), (cells, final, mask)

  n_w1 = traj["W1"].shape[-2] * traj["W1"].shape[-1]
  rhos = jnp.asarray([k / n_w1 for k in methods_lib.imp_keep_counts(
      n_w1, spec.imp_prune, spec.imp_levels)], jnp.float32)
  _, out = jax.lax.scan(level, (jnp.ones_like(w1_end), w1_end), rhos)
  # (L, R, K, ...) → (R, K·L, ...): level fastest
  return jax.tree.map(lambda v: jnp.moveaxis(v, 0, 2).reshape(r, k * len(rhos),
                                                               *v.shape[3:]), out)


def sparse_cycle(spec: CycleSpec, traj, dense_losses, dense_in, cells, data):
  """Discovery, rewind, sparse retraining and the analysis, given dense trajectories
  traj (R, E+1, ...) and losses (R, E). cells: one dict per method of spec.methods and,
  when spec.imp_levels > 0, a last dict of IMP inputs (`imp_phase`), whose K·L cells
  follow the one-shot cells on the cell axis.

  Returns {"dense": per-dense-run readings (R, ...), "dense_traj": traj, "cells": per-cell
  readings (R, C, ...), "sparse_final": sparse-final params (R, C, ...), "masks":
  (R, C, H, d)}. The sparse groups train on the fused path's once-embedded inputs when
  every C0 is frozen (`spec.c0_frozen`)."""
  imp = cells[len(spec.methods)] if spec.imp_levels else None
  cells = cells[:len(spec.methods)]
  masks, posts, detect_epoch = discover(spec, traj, dense_in, cells, data)
  cat = lambda k: jnp.concatenate([c[k] for c in cells], 1)
  rewind, probe_index, density = cat("rewind"), cat("probe_index"), cat("density")
  start = jax.vmap(lambda tr, key, rw, p, w: jax.vmap(
      lambda rw, p, w: rewind_params(spec, tr, key, rw, p, w))(rw, p, w))(
          traj, dense_in["key"], rewind, probe_index, posts)
  straj, slosses = train_batch(spec, start, masks, dense_in, data,
                               train_path(spec, shared_frozen_c0=spec.c0_frozen))
  fam = FAMILIES[spec.task_family]
  per_cell = ({**fam.analyse_cells(spec, traj, start, masks, density, straj, slosses, data),
               "detect_epoch": detect_epoch},
              jax.tree.map(lambda v: v[:, :, -1], straj), masks)
  if imp is not None:
    per_cell = jax.tree.map(lambda a, b: jnp.concatenate([a, b], 1), per_cell,
                            imp_phase(spec, traj, dense_in, imp, data))
  dense = fam.analyse_dense(spec, traj, dense_losses, dense_in["densities"], data)
  if spec.sae.l1s:      # SAEs on every dense-final network and every sparse ticket
    final = jax.tree.map(lambda v: v[:, -1], traj)
    dense.update(jax.vmap(lambda p, key: sae_readings(spec, p, jnp.ones_like(p["W1"]), key,
                                                      data))(final, dense_in["key"]))
    per_cell[0].update(jax.vmap(lambda ps, ms, key: jax.vmap(
        lambda p, m: sae_readings(spec, p, m, key, data))(ps, ms))(
            per_cell[1], per_cell[2], dense_in["key"]))
  return {"dense": dense, "cells": per_cell[0], "dense_traj": traj, "sparse_final": per_cell[1],
          "masks": per_cell[2]}


def _codes(spec, data, decoy=False):
  """codes_of for this spec, on the task's clauses or (decoy=True) its decoy clauses."""
  pre = "decoy" if decoy else "clause"
  return functools.partial(codes_lib.codes_of, clause_vars=data[f"{pre}_vars"],
                           clause_pols=data[f"{pre}_pols"], tau=spec.tau,
                           readout_check=spec.readout_check, specificity=spec.specificity)


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
  codes_of, decoys_of = _codes(spec, data), _codes(spec, data, decoy=True)

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

    return {"acc": acc, "loss": ls, "diverged_epoch": train.diverged_epoch(tr, ls),
            "code_counts": cs.exact.sum((1, 2)),
            "max_row_codes": jnp.stack([codes_lib.max_row_codes(c) for c in (first, final)]),
            "decoy_codes": jnp.stack([codes_lib.counts(c) for c in (decoy_0, decoy_end)]),
            "decoy_near": jnp.stack([codes_lib.near_counts(c) for c in (decoy_0, decoy_end)]),
            "near_counts": jnp.stack([codes_lib.near_counts(c) for c in (first, final)]),
            "c1_init": model.feature_weights(d_0, ones), "near_init": cs.near[0],
            # for heat maps (plots read saved arrays only): θ0 and dense-final W1, C1,
            # exact sites (2, H, m, T), and the dense-final C0
            "w1_ends": jnp.stack([d_0["W1"], d_end["W1"]]),
            "c1_ends": jnp.stack([model.feature_weights(p, ones) for p in (d_0, d_end)]),
            "exact_ends": jnp.stack([first.exact, final.exact]), "c0_final": d_end["C0"],
            **jax.vmap(per_density)(dens)}

  return jax.vmap(one)(traj, losses, densities)


def sae_readings(spec: CycleSpec, p, mask, key, data):
  """SAEs on ONE network's hidden activations h = relu(C1 x + b1) over the first
  `spec.sae.examples` training inputs (params p, mask (H, d), seed key): one SAE per L1
  coefficient (P) and SAE seed (S), all vmapped, and the random-direction floor (one draw
  per SAE seed). Returns "sae_fvu", "sae_mse", "sae_l0", "sae_dead" (P, S); "sae_matched"
  (P, S, T) exact codes of this network matched (`sae.matched_sites`); "sae_stable" (P, T)
  codes matched by every seed's SAE; "sae_random" (S, T) codes matched by random
  directions; "sae_codes" (T,) exact codes the code reader finds."""
  s, k = spec.sae, data["clause_vars"].shape[1]
  x = data["x_train"][:s.examples]
  indicators = sae.code_indicators(x, data["clause_vars"], data["clause_pols"], k)
  h = jax.nn.relu(x @ model.feature_weights(p, mask).T + p["b1"])
  cs = _codes(spec, data)(p, mask)
  sites = lambda f, atoms: sae.matched_sites(f, atoms, cs.exact, cs.rotation, indicators)

  def fit(l1, key):
    q, _ = sae.train(key, h, l1, s.latents, s.steps, s.lr)
    return {**sae.stats(q, h), "sites": sites(sae.encode(q, h), q["W_dec"])}

  keys = jax.random.split(stream(key, prng.SAE), s.seeds)
  fits = jax.vmap(lambda l1: jax.vmap(lambda kk: fit(l1, kk))(keys))(
      jnp.asarray(s.l1s, jnp.float32))                                  # (P, S, ...)
  floor_keys = jax.random.split(stream(key, prng.SAE_FLOOR), s.seeds)
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
  codes_of, decoys_of = _codes(spec, data), _codes(spec, data, decoy=True)
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
      out.update({
          "realised_density": mask.mean(),
          "masked_acc": acc(d_end, mask),
          "sparse_acc": acc(s_end, mask),
          "rewind_acc": acc(p_start, mask),
          "sparse_codes": codes_lib.counts(sparse_final),
          "sparse_near": codes_lib.near_counts(sparse_final),
          "chance_codes": codes_lib.counts(codes_of(d_0, mask)),
          "masked_codes": codes_lib.counts(masked),
          "masked_exact": masked.exact,           # heat maps: masked, no retraining
          "sparse_w1": s_end["W1"] * mask, "sparse_c1": model.feature_weights(s_end, mask),
          "sparse_exact": sparse_final.exact,
          "max_row_codes": codes_lib.max_row_codes(sparse_final),
          "decoy_sparse_codes": codes_lib.counts(decoy_end),
          "decoy_sparse_near": codes_lib.near_counts(decoy_end),
          "decoy_chance_codes": codes_lib.counts(decoys_of(d_0, mask)),
          "rewind_c1": model.feature_weights(p_start, mask),
          "rewind_near": rewind.near,
          "code_counts_traj": sparse_traj.exact.sum((1, 2)),
          "loss": sl,
          "diverged_epoch": train.diverged_epoch(st, sl),
          "pruned_nonzero": jnp.sum((mask == 0) & (s_end["W1"] != 0)),
          "collapsed_rows": jnp.sum(mask.sum(1) == 0),
      })
      return out

    return jax.vmap(one)(run_starts, run_masks, run_densities, run_trajs, run_losses)

  return jax.vmap(per_run)(traj, start, masks, density, straj, slosses)


def analyse_dense_tms(spec, traj, losses, densities, data):
  """Per TMS dense run (`tms.dense_readings`), vmapped; `densities` is not read (TMS has
  no oracle-supported sites)."""
  return jax.vmap(lambda tr, ls: tms.dense_readings(tr, ls, data, spec.importance_decay))(
      traj, losses)


def analyse_cells_tms(spec, traj, start, masks, density, straj, slosses, data):
  """Per TMS sparse cell (`tms.cell_readings`); inputs and outputs lead with (R, C)."""
  def per_run(tr, *cell_args):
    return jax.vmap(lambda *a: tms.cell_readings(tr, *a, data, spec.importance_decay))(
        *cell_args)
  return jax.vmap(per_run)(traj, start, masks, density, straj, slosses)


@dataclasses.dataclass(frozen=True)
class Family:
  """A task family of the cycle (names.TASK_FAMILIES): init(key, c0, hidden, n_out) → θ;
  loss(spec) → loss(params, mask, x, y), or None for `model.loss` with its fast gradient
  paths; analyse_dense / analyse_cells: the readings (`analyse_dense`, `analyse_cells`)."""
  init: Callable
  loss: Callable | None
  analyse_dense: Callable
  analyse_cells: Callable


FAMILIES = {
    "clause": Family(model.init_params, None, analyse_dense, analyse_cells),
    "tms": Family(tms.init_params,
                  lambda spec: functools.partial(tms.loss_of, decay=spec.importance_decay),
                  analyse_dense_tms, analyse_cells_tms),
}


def full_cycle(spec: CycleSpec, dense_in, cells, data):
  """The whole batch: dense training, then `sparse_cycle`."""
  traj, losses = dense_phase(spec, dense_in, data)
  return sparse_cycle(spec, traj, losses, dense_in, cells, data)


full_cycle_jit = jax.jit(full_cycle, static_argnums=0)   # the whole batch in ONE jit call
sparse_cycle_jit = jax.jit(sparse_cycle, static_argnums=0)
