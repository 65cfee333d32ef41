"""The ticket cycle, batched: dense → discovery → rewind → sparse → analysis (SPEC §3).

Every step is a pure function of (data, per-run inputs, mask). The run axes are vmap axes:
dense runs (embeddings × seeds) in `dense_in`, sparse cells (dense run × method × density ×
rewind × probe epoch) in `cells`. `cycle` runs the whole batch in ONE jit call;
`sparse_cycle` starts from given dense trajectories (restored checkpoints).

Per-run PRNG streams, from the run's seed key: 0 init, 1 shuffle (shared by the sparse
runs of that seed), 3 fresh init, 4 discovery.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from toyticket import codes as codes_lib
from toyticket import discovery, metrics, model, train

REWINDS = ("init", "probe", "fresh", "final")


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
  score_examples: int = 1024


def stream(key, i):
  return jax.random.fold_in(key, i)


def init_dense(spec: CycleSpec, dense_in) -> model.Params:
  """θ0 for every dense run: (R, ...) params."""
  return jax.vmap(lambda k, c0: model.init_params(stream(k, 0), c0, spec.hidden,
                                                  spec.n_out))(dense_in["key"], dense_in["c0"])


def train_batch(spec: CycleSpec, start, masks, dense_in, dense_idx, data):
  """`train.train` vmapped over runs; run i takes its C0-trainable flag, shuffle stream and
  learning-rate multiplier from dense run dense_idx[i]. Returns traj, losses."""
  def one(p, m, r):
    return train.train(p, m, dense_in["c0_trainable"][r], stream(dense_in["key"][r], 1),
                       data["x_train"], data["y_train"], spec.train, dense_in["lr_scale"][r])
  return jax.vmap(one)(start, masks, dense_idx)


def dense_phase(spec: CycleSpec, dense_in, data):
  """Dense training of all dense runs: traj (R, E+1, ...), losses (R, E)."""
  p0 = init_dense(spec, dense_in)
  r = p0["W1"].shape[0]
  return train_batch(spec, p0, jnp.ones_like(p0["W1"]), dense_in, jnp.arange(r), data)


def _context(spec, traj, key, probe_epoch, data):
  n = spec.score_examples
  return discovery.Context(traj, probe_epoch, stream(key, 4), data["x_train"][:n],
                           data["y_train"][:n], data["clause_vars"], data["clause_pols"],
                           spec.discovery)


def discover(spec: CycleSpec, traj, dense_in, cells, data):
  """Masks for every cell, method by method (static loop; cells vmapped inside).

  Returns masks (C, H, d) and w1_post (C, H, d), cells in the order of `cells`."""
  probes = jnp.asarray(spec.probe_epochs, jnp.int32)
  masks, posts = [], []
  for name, cell in zip(spec.methods, cells):
    method = discovery.REGISTRY[name]
    prep = lambda tr, k, pe: method.prepare(_context(spec, tr, k, pe, data))
    aux = jax.vmap(lambda tr, k: jax.vmap(lambda pe: prep(tr, k, pe))(probes))(
        traj, dense_in["key"])

    def select(r, p, rho):
      a = jax.tree.map(lambda v: v[r, p], aux)
      tr = jax.tree.map(lambda v: v[r], traj)
      return method.select(a, _context(spec, tr, dense_in["key"][r], probes[p], data), rho)

    m, w = jax.vmap(select)(cell["dense"], cell["probe"], cell["density"])
    masks.append(m)
    posts.append(w)
  return jnp.concatenate(masks), jnp.concatenate(posts)


def rewind_params(spec: CycleSpec, traj, dense_in, dense_idx, rewind, probe, w1_post):
  """Start point of one sparse run: θ0 (init), θ_probe (probe), a fresh draw with the same
  C0 (fresh), or the dense end with the method's W1 (final, post-training reference)."""
  tr = jax.tree.map(lambda v: v[dense_idx], traj)
  key = dense_in["key"][dense_idx]
  p_init = discovery.at(tr, 0)
  p_probe = discovery.at(tr, jnp.asarray(spec.probe_epochs)[probe])
  p_fresh = model.init_params(stream(key, 3), p_init["C0"], spec.hidden, spec.n_out)
  p_final = {**discovery.at(tr, -1), "W1": w1_post}
  options = [p_init, p_probe, p_fresh, p_final]
  return jax.tree.map(lambda *xs: jnp.select([rewind == i for i in range(4)], list(xs)),
                      *options)


def sparse_cycle(spec: CycleSpec, traj, dense_losses, dense_in, cells, data):
  """Discovery, rewind, sparse retraining and the analysis, given dense trajectories."""
  masks, posts = discover(spec, traj, dense_in, cells, data)
  cat = lambda k: jnp.concatenate([c[k] for c in cells])
  dense_idx, rewind, probe, density = cat("dense"), cat("rewind"), cat("probe"), cat("density")
  start = jax.vmap(lambda r, rw, p, w: rewind_params(spec, traj, dense_in, r, rw, p, w))(
      dense_idx, rewind, probe, posts)
  straj, slosses = train_batch(spec, start, masks, dense_in, dense_idx, data)
  return {"dense": analyse_dense(spec, traj, dense_losses, data),
          "cells": analyse_cells(spec, traj, start, masks, density, dense_idx, straj,
                                 slosses, data),
          "dense_traj": traj, "sparse_final": jax.tree.map(lambda v: v[:, -1], straj),
          "masks": masks}


def _codes(spec, data):
  return functools.partial(codes_lib.codes_of, clause_vars=data["clause_vars"],
                           clause_pols=data["clause_pols"], tau=spec.tau,
                           readout_check=spec.readout_check)


def analyse_dense(spec, traj, losses, data):
  """Per dense run: test accuracy and code counts per epoch, site classes, trajectories."""
  codes_of = _codes(spec, data)

  def one(tr, ls):
    ones = jnp.ones_like(tr["W1"][0])
    acc = jax.vmap(lambda p: model.accuracy(p, ones, data["x_test"], data["y_test"]))(tr)
    cs = jax.vmap(lambda p: codes_of(p, ones))(tr)
    classes = metrics.site_classes(cs.near[0], cs.exact[-1])
    dist_cls, margin_cls = metrics.class_trajectories(classes, cs.dist, cs.margin)
    return {"acc": acc, "loss": ls, "diverged_epoch": train.diverged_epoch(tr, ls),
            "code_counts": cs.exact.sum((1, 2)), "class_counts": classes.sum((1, 2)),
            "class_dist": dist_cls, "class_margin": margin_cls}

  return jax.vmap(one)(traj, losses)


def analyse_cells(spec, traj, start, masks, density, dense_idx, straj, slosses, data):
  """Per sparse cell: accuracies, code counts (with the θ0 chance level) and metrics."""
  codes_of = _codes(spec, data)
  acc = lambda p, m: model.accuracy(p, m, data["x_test"], data["y_test"])

  def one(r, p_start, mask, rho, st, sl):
    tr = jax.tree.map(lambda v: v[r], traj)
    ones = jnp.ones_like(mask)
    d_end, d_0 = discovery.at(tr, -1), discovery.at(tr, 0)
    s_end = discovery.at(st, -1)
    oracle = discovery.topk_mask(jnp.abs(d_end["W1"]), rho)
    dense_final = codes_of(d_end, ones)
    sparse_traj = jax.vmap(lambda p: codes_of(p, mask))(st)
    sparse_final = jax.tree.map(lambda v: v[-1], sparse_traj)
    out = metrics.cell_metrics(dense_final, codes_of(d_0, ones).near, codes_of(p_start, mask),
                               sparse_final, sparse_traj.near, codes_of(p_start, oracle),
                               mask, oracle)
    out.update({
        "realised_density": mask.mean(),
        "masked_acc": acc(d_end, mask),
        "sparse_acc": acc(s_end, mask),
        "rewind_acc": acc(p_start, mask),
        "sparse_codes": codes_lib.counts(sparse_final),
        "chance_codes": codes_lib.counts(codes_of(d_0, mask)),
        "masked_codes": codes_lib.counts(codes_of(d_end, mask)),
        "code_counts_traj": sparse_traj.exact.sum((1, 2)),
        "loss": sl,
        "diverged_epoch": train.diverged_epoch(st, sl),
        "pruned_nonzero": jnp.sum((mask == 0) & (s_end["W1"] != 0)),
        "collapsed_rows": jnp.sum(mask.sum(1) == 0),
    })
    return out

  return jax.vmap(one)(dense_idx, start, masks, density, straj, slosses)


@functools.partial(jax.jit, static_argnums=0)
def cycle(spec: CycleSpec, dense_in, cells, data):
  """The whole batch in one jit call: dense training, then `sparse_cycle`."""
  traj, losses = dense_phase(spec, dense_in, data)
  return sparse_cycle(spec, traj, losses, dense_in, cells, data)


sparse_cycle_jit = jax.jit(sparse_cycle, static_argnums=0)
