"""The ticket cycle, batched: dense → discovery → rewind → sparse → analysis (SPEC §3).

Every step is a pure function of (data, per-run inputs, mask). The run axes are vmap axes:
dense runs (embeddings × seeds) in `dense_in` (leading axis R), and the sparse cells of
each dense run in `cells`: one dict per method of `spec.methods`, in that order, arrays
(R, C_method); a dense run's cells train on its data order as one group. The cell axis of
every output is the concatenation of the methods' cells in that order (C = Σ C_method);
`grid.CellGrid` builds `cells` and labels the outputs from one list, so the two agree.
Every output leaf has the dense-run axis R leading ((R, C, ...) for per-cell outputs).

The task family (`toyticket.ticket.family.Family`, looked up by `CycleSpec.family` in the
registry `toyticket.core.families`) decides how a network starts, what it minimises, which
leaf the masks select (`Family.prunable`) and what is read from it; the cycle itself is
the same for every family and never tests one's name.

`full_cycle_jit` runs the whole batch in ONE jit call; `sparse_cycle_jit` starts from given
dense trajectories (restored checkpoints). PRNG streams: `prng`.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Hashable

import jax
import jax.numpy as jnp

from toyticket.core import families, identity, names, prng
from toyticket.discovery import impls as discovery
from toyticket.discovery import methods as methods_lib
from toyticket.discovery.methods import METHODS
from toyticket.ticket import progress, train

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
  rewind_epoch: int = 2       # the dense epoch a `fixed` rewind starts from
  imp_levels: int = 0         # iterative magnitude pruning levels (0: none)
  imp_prune: float = 0.2      # fraction of the REMAINING W1 pruned per IMP level
  score_examples: int = 1024
  c0_frozen: bool = False     # every run's C0 is frozen (sparse groups may embed once)
  family: str = "clause"      # names.TASK_FAMILIES: the task family (`family_of`)
  options: Hashable = None    # that family's static options (`Family.options`)
  progress: bool = False      # report epochs from inside the program (`progress`)


def family_of(spec: CycleSpec):
  """The spec's task family (`toyticket.ticket.family.Family`)."""
  return families.compute(spec.family)


def stream(key, i):
  """The run's PRNG stream i (a `prng` constant) from its seed key."""
  return jax.random.fold_in(key, i)


def train_path(spec: CycleSpec, shared_frozen_c0: bool) -> str:
  """The family's gradient path (`Family.train_path`) for this spec on the default
  backend."""
  return family_of(spec).train_path(spec, shared_frozen_c0)


def loss_fn(spec: CycleSpec):
  """The family's loss(params, mask, x, y) (what saliency methods differentiate)."""
  return family_of(spec).loss(spec)


def init_params(spec: CycleSpec, key, c0) -> dict:
  """θ of one network of the spec's family from key, around embedding c0."""
  return family_of(spec).init(spec, key, c0)


def init_dense(spec: CycleSpec, dense_in) -> dict:
  """θ0 for every dense run: (R, ...) params."""
  return jax.vmap(lambda k, c0: init_params(spec, stream(k, prng.INIT), c0))(
      dense_in["key"], dense_in["c0"])


def train_batch(spec: CycleSpec, start, masks, dense_in, data, path: str,
                phase: str = "sparse"):
  """`train.train` over dense runs: the C runs of dense run r (leaves (R, C, ...), masks
  (R, C, H, d)) share its data order (stream SHUFFLE) and C0-trainable flag; `path` is the
  family's gradient path (`Family.train_path`); `phase` names it to the progress reporter
  (`spec.progress`). Returns traj (R, C, E+1, ...), losses (R, C, E). The R dense runs are
  vmapped (with layout "per_dense_run", R = 1: `by_layout`)."""
  step = family_of(spec).step(spec, path)
  report = functools.partial(progress.epoch, phase) if spec.progress else None

  def one(p, m, key, c0_trainable):
    return train.train(p, m, c0_trainable, stream(key, prng.SHUFFLE), data["x_train"],
                       data["y_train"], spec.train, step, report)
  args = (start, masks, dense_in["key"], dense_in["c0_trainable"])
  return jax.vmap(one)(*args)


def dense_phase(spec: CycleSpec, dense_in, data):
  """Dense training of all dense runs: traj (R, E+1, ...), losses (R, E). Each dense run is
  a group of one, so the fused path never embeds once per group here."""
  p0 = jax.tree.map(lambda a: a[:, None], init_dense(spec, dense_in))
  traj, losses = train_batch(spec, p0, jnp.ones_like(p0[family_of(spec).prunable]), dense_in,
                             data,
                             train_path(spec, shared_frozen_c0=False), phase="dense")
  return jax.tree.map(lambda a: a[:, 0], traj), losses[:, 0]


def _context(spec, traj, key, probe_epoch, data):
  n, fam = spec.score_examples, family_of(spec)
  return discovery.Context(traj, probe_epoch, stream(key, prng.DISCOVERY), data["x_train"][:n],
                           data["y_train"][:n], data.get("clause_vars"),
                           data.get("clause_pols"), spec.discovery, loss=loss_fn(spec),
                           prunable=fam.prunable, scored=fam.scored(spec),
                           synflow=fam.synflow(spec))


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
          ctx = ctx.replace(start=rewind_params(spec, tr, key, rw, i, discovery.final_w1(ctx)),
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
  with the same C0 (fresh; a family without a "C0" leaf gets None), the dense end with the method's W1 (final, post-training
  reference), or θ at spec.rewind_epoch whatever the probe epoch (fixed; paper fig 26)."""
  p_init = discovery.at(tr, 0)
  p_probe = discovery.at(tr, jnp.asarray(spec.probe_epochs)[probe_index])
  p_fresh = init_params(spec, stream(key, prng.FRESH), p_init.get("C0"))
  p_final = {**discovery.at(tr, -1), family_of(spec).prunable: w1_post}
  p_fixed = discovery.at(tr, spec.rewind_epoch)
  options = [p_init, p_probe, p_fresh, p_final, p_fixed]
  return jax.tree.map(lambda *xs: jnp.select([rewind == i for i in range(len(xs))],
                                             list(xs)), *options)


def rewind_epoch(spec: CycleSpec, tr, rewind, probe_index):
  """The dense epoch of a rewind point (int32): 0 for init and fresh (a fresh draw is
  an epoch-0 state), the probe epoch, E (final), or spec.rewind_epoch (fixed)."""
  e_max = tr[family_of(spec).prunable].shape[0] - 1
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
  leaf = family_of(spec).prunable
  w1_end = jnp.broadcast_to(traj[leaf][:, -1][:, None], (r, k) + traj[leaf].shape[2:])
  start = jax.vmap(lambda tr, key, rw, p: jax.vmap(
      lambda rw, p: rewind_params(spec, tr, key, rw, p, tr[leaf][-1]))(rw, p))(
          traj, dense_in["key"], imp["rewind"], imp["probe_index"])
  path = train_path(spec, shared_frozen_c0=spec.c0_frozen)
  topk = jax.vmap(jax.vmap(lambda w, m, rho: discovery.topk_mask(jnp.abs(w), rho, within=m),
                           in_axes=(0, 0, None)), in_axes=(0, 0, None))

  def level(carry, rho):
    prev_mask, w1 = carry
    mask = topk(w1, prev_mask, rho)
    straj, slosses = train_batch(spec, start, mask, dense_in, data, path, phase="imp")
    cells = family_of(spec).analyse_cells(spec, traj, start, mask, jnp.full((r, k), rho),
                                          straj, slosses, data)
    final = jax.tree.map(lambda v: v[:, :, -1], straj)
    cells = dataclasses.replace(cells, detect_epoch=jnp.full((r, k), traj[leaf].shape[1] - 1,
                                                             jnp.int32))
    return (mask, final[leaf]), (cells, final, mask)

  n_w1 = traj[leaf].shape[-2] * traj[leaf].shape[-1]
  rhos = jnp.asarray([k / n_w1 for k in methods_lib.imp_keep_counts(
      n_w1, spec.imp_prune, spec.imp_levels)], jnp.float32)
  _, out = jax.lax.scan(level, (jnp.ones_like(w1_end), w1_end), rhos)
  # (L, R, K, ...) → (R, K·L, ...): level fastest
  return jax.tree.map(lambda v: jnp.moveaxis(v, 0, 2).reshape(r, k * len(rhos),
                                                               *v.shape[3:]), out)


def _sparse_cycle(spec: CycleSpec, traj, dense_losses, dense_in, cells, data):
  """`sparse_cycle` on every dense run at once: discovery, rewind, sparse retraining and
  the analysis, given dense trajectories traj (R, E+1, ...) and losses (R, E). cells:
  one dict per method of spec.methods and, when spec.imp_levels > 0, a last dict of IMP
  inputs (`imp_phase`), whose K·L cells follow the one-shot cells on the cell axis.

  Returns {"dense": the family's typed per-dense-run readings (R, ...), "dense_traj":
  traj, "cells": its typed per-cell readings (R, C, ...), "sparse_final": sparse-final params (R, C, ...), "masks":
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
  fam = family_of(spec)
  cell_readings = fam.analyse_cells(spec, traj, start, masks, density, straj, slosses, data)
  per_cell = (dataclasses.replace(cell_readings, detect_epoch=detect_epoch),
              jax.tree.map(lambda v: v[:, :, -1], straj), masks)
  if imp is not None:
    per_cell = jax.tree.map(lambda a, b: jnp.concatenate([a, b], 1), per_cell,
                            imp_phase(spec, traj, dense_in, imp, data))
  dense = fam.analyse_dense(spec, traj, dense_losses, dense_in["densities"], data)
  dense, cells = fam.network_readings(      # e.g. SAEs on every final network
      spec, dense, per_cell[0], jax.tree.map(lambda v: v[:, -1], traj), per_cell[1],
      per_cell[2], dense_in["key"], data)
  return {"dense": dense, "cells": cells, "dense_traj": traj, "sparse_final": per_cell[1],
          "masks": per_cell[2]}


def _full_cycle(spec: CycleSpec, dense_in, cells, data):
  """`full_cycle` on every dense run of the batch at once."""
  traj, losses = dense_phase(spec, dense_in, data)
  return _sparse_cycle(spec, traj, losses, dense_in, cells, data)


def by_layout(fn, spec: CycleSpec, *args):
  """fn(spec, *args) laid out as `spec.train.layout` (names.LAYOUTS) says; every argument
  but the last (the task's data, shared) has the dense-run axis R leading, and so has
  every output.

  "per_dense_run" (the default) runs fn on one dense run at a time (`lax.map` over R;
  inside, R = 1): the program XLA compiles, and so its float rounding, is the same
  however many dense runs a device or a chunk holds, so a run's results do not depend on
  the machine's core count (one XLA:CPU device per core), the process count or the
  chunking; and its working set (one dense run's C cells) fits the caches on XLA:CPU
  (docs/performance.md). "batched" vmaps fn over all R dense runs at once (one wide
  program: fewer, larger kernels, for accelerators): XLA's fusion and FMA-contraction
  choices, hence the last digits of every result, then depend on how many dense runs a
  device holds, so the run id hashes the device count and the chunking
  (`layout_identity`)."""
  if spec.train.layout == "batched":
    return fn(spec, *args)
  *split, data = args

  def one(xs):
    out = fn(spec, *jax.tree.map(lambda a: a[None], xs), data)
    return jax.tree.map(lambda a: a[0], out)
  return jax.lax.map(one, tuple(split))


def in_turn(spec: CycleSpec, dense_runs: int, devices: int) -> int:
  """How many dense runs each of `devices` runs one after another (`by_layout`) when a
  chunk of `dense_runs` is split over them: its share for "per_dense_run", 1 for
  "batched" (all at once)."""
  return -(-dense_runs // devices) if spec.train.layout != "batched" else 1


def layout_identity(spec: CycleSpec, devices: int, max_cells_per_chunk: int) -> dict:
  """What besides the config and the code a result depends on under `spec`'s layout
  (`by_layout`), for the run id: {} for "per_dense_run"; the global device count and the
  chunking for "batched"."""
  if spec.train.layout == "batched":
    return {identity.PLACEMENT: {"devices": devices, "max_cells_per_chunk": max_cells_per_chunk}}
  return {}


def full_cycle(spec: CycleSpec, dense_in, cells, data):
  """The whole batch: dense training (`dense_phase`), then `sparse_cycle`'s work, laid out
  by `by_layout`."""
  return by_layout(_full_cycle, spec, dense_in, cells, data)


def sparse_cycle(spec: CycleSpec, traj, dense_losses, dense_in, cells, data):
  """`_sparse_cycle` (discovery, rewind, sparse retraining, analysis from dense
  trajectories), laid out by `by_layout`."""
  return by_layout(_sparse_cycle, spec, traj, dense_losses, dense_in, cells, data)


full_cycle_jit = jax.jit(full_cycle, static_argnums=0)   # the whole batch in ONE jit call
sparse_cycle_jit = jax.jit(sparse_cycle, static_argnums=0)
