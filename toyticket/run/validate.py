"""Config validation (before anything runs): every field's type, range and allowed values,
no two labels of one computation, and what the task family can run (its reading half's
`validate`). Plain Python: importing this module pulls in neither JAX nor matplotlib."""
from __future__ import annotations

import math

import ml_collections

from toyticket.core import families, names
from toyticket.core.checks import as_tuple, choice as _choice
from toyticket.core.errors import ConfigError
from toyticket.discovery import methods
from toyticket.families.clause import task


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _ints(field, values, lo, hi=None, what=None):
  """Every value an int in [lo, hi]."""
  for v in as_tuple(values):
    if not _is_int(v) or v < lo or (hi is not None and v > hi):
      rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
      raise ConfigError(field, v, what or f"integers {rng}")


# The cycle computes in float32: a number outside its normal range would become 0 or inf
# there (e.g. discovery.grasp_temperature=1e-300 divides by 0) and yield NaN scores.
FLOAT32_TINY, FLOAT32_MAX = 1.1754944e-38, 3.4028235e38


def _nums(field, values, ok, allowed):
  for v in as_tuple(values):
    if not _is_num(v) or not ok(v):
      raise ConfigError(field, v, allowed)
    if v != 0 and not FLOAT32_TINY <= abs(v) <= FLOAT32_MAX:
      raise ConfigError(field, v, f"{allowed}, within float32's normal range "
                        f"({FLOAT32_TINY:.3g} ≤ |value| ≤ {FLOAT32_MAX:.3g})")


SEQUENCES = ("seeds", "embeddings", "methods", "densities", "rewinds", "probe_epochs",
             "figures", "model.hidden", "task.m", "task.sparsity")
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _get(c, dotted):
  for k in dotted.split("."):
    c = c[k]
  return c


def distinct_counts(c: ml_collections.ConfigDict, sizes: dict) -> None:
  """No two labels may describe the same computation: per hidden width H, with `sizes[H]`
  prunable weights (H·d of W1 for the built-in families), every density keeps its own
  count k = round(ρ·size) ≥ 1 (a density below 0.5/size would be clipped to one weight and
  mislabelled; two densities with one k would be two labels of one mask), and every IMP
  level keeps fewer weights than the one before. A size of None (known only once the
  family builds its model: `grid.groups` checks again) is skipped."""
  for h in as_tuple(c.model.hidden):
    size = sizes.get(h)
    if size is None:
      continue
    ks = {}
    for rho in as_tuple(c.densities):
      if rho * size < 0.5:
        raise ConfigError("densities", rho, f"densities ≥ 0.5/size = {0.5 / size:.3g} "
                          f"(H = {h}: {size} prunable weights; smaller ones keep one weight)")
      k = min(size, max(1, round(rho * size)))
      if k in ks:
        raise ConfigError("densities", c.densities, f"densities that keep distinct counts "
                          f"of the prunable weights ({ks[k]} and {rho} both keep {k} of "
                          f"{size} at H = {h})")
      ks[k] = rho
    if c.imp.levels:
      counts = (size,) + methods.imp_keep_counts(size, c.imp.prune_fraction, c.imp.levels)
      same = next((lvl for lvl in range(1, len(counts)) if counts[lvl] == counts[lvl - 1]),
                  None)
      if same is not None:
        raise ConfigError("imp.levels", c.imp.levels, f"at most {same - 1} levels at "
                          f"prune_fraction {c.imp.prune_fraction} with {size} prunable "
                          f"weights at H = {h} (level "
                          f"{same} would keep the same {counts[same]} weights)")


def validate(c: ml_collections.ConfigDict) -> None:
  """Raises ConfigError on the first bad field. Call it on the config as given AND on the
  one that will run (after `apply_quick`), so every check also sees the values used."""
  t, mdl, tr, disc = c.task, c.model, c.train, c.discovery
  if not isinstance(c.name, str) or not c.name or c.name[0] == "." or set(c.name) - NAME_CHARS:
    raise ConfigError("name", c.name, "a non-empty name of letters, digits, _ . - "
                      "(not starting with '.'; it names a folder under --workdir)")
  for field in SEQUENCES:
    vals = as_tuple(_get(c, field))
    if not vals:
      raise ConfigError(field, _get(c, field), "a non-empty value or tuple")
    dup = next((v for i, v in enumerate(vals) if v in vals[:i]), None)
    if len(set(vals)) != len(vals):
      raise ConfigError(field, _get(c, field), f"distinct values ({dup!r} repeats; a repeat "
                        "would relabel cells or inflate n)")
  _choice("task.family", t.family, names.TASK_FAMILIES)
  _choice("embeddings", c.embeddings, names.FAMILIES)
  _choice("methods", c.methods, methods.NAMES)
  families.reading(t.family).validate(c)     # what this task family can run
  _choice("rewinds", c.rewinds, names.REWINDS)
  _choice("codes.specificity", c.codes.specificity, names.SPECIFICITY)
  _choice("task.target", t.target, task.TARGETS)
  _choice("task.polarity", t.polarity, task.POLARITIES)
  _choice("train.optimizer", tr.optimizer, names.OPTIMIZERS)
  _choice("train.grad_impl", tr.grad_impl, names.GRAD_IMPLS)
  _choice("train.layout", tr.layout, names.LAYOUTS)
  for flag in ("quick", "codes.readout_check", "distributed", "restore_any_version",
               "progress"):
    if not isinstance(_get(c, flag), bool):
      raise ConfigError(flag, _get(c, flag), "True or False")
  _ints("seeds", c.seeds, 0, 2**32 - 1)
  _ints("data_seed", c.data_seed, 0, 2**32 - 1)
  _nums("densities", c.densities, lambda v: 0 < v <= 1, "numbers in (0, 1] (fraction of W1 kept)")
  _ints("task.m", t.m, 1)
  _ints("task.n", t.n, 1)
  _ints("task.k", t.k, 1, t.n, f"integers in [1, task.n={t.n}]")
  _ints("task.n_train", t.n_train, 1)
  _ints("task.n_test", t.n_test, 1)
  _ints("model.d", mdl.d, 1)
  if "hadamard" in as_tuple(c.embeddings):
    if mdl.d & (mdl.d - 1):
      raise ConfigError("model.d", mdl.d, "a power of two (1, 2, 4, 8, 16, ...) with hadamard")
    if t.n > mdl.d:
      raise ConfigError("task.n", t.n, f"<= model.d={mdl.d} with hadamard")
  _ints("model.hidden", mdl.hidden, 1)
  _nums("train.lr", tr.lr, lambda v: v > 0, "a finite number > 0")
  _nums("train.momentum", tr.momentum, lambda v: 0 <= v < 1, "a number in [0, 1)")
  _ints("train.epochs", tr.epochs, 1)
  _ints("train.batch_size", tr.batch_size, 1, t.n_train,
        f"integers in [1, task.n_train={t.n_train}]")
  _ints("probe_epochs", c.probe_epochs, 0, tr.epochs, f"epochs in [0, train.epochs={tr.epochs}]")
  _ints("rewind_epoch", c.rewind_epoch, 0, tr.epochs, f"an epoch in [0, train.epochs={tr.epochs}]")
  _ints("imp.levels", c.imp.levels, 0, 30)
  _nums("imp.prune_fraction", c.imp.prune_fraction, lambda v: 0 < v < 1, "a number in (0, 1)")
  fam = families.reading(t.family)
  distinct_counts(c, {h: fam.prunable_size(c, h) for h in as_tuple(c.model.hidden)})
  if c.imp.levels and not set(as_tuple(c.rewinds)) & {"init", "probe", "fixed"}:
    raise ConfigError("rewinds", c.rewinds, "at least one of init, probe, fixed when "
                      "imp.levels > 0 (IMP rewinds each level to one of them)")
  _nums("codes.tau", c.codes.tau, lambda v: 0 < v < 1, "numbers in (0, 1)")
  _ints("max_cells_per_chunk", c.max_cells_per_chunk, 1)
  _nums("discovery.obs_damping", disc.obs_damping, lambda v: v > 0, "a finite number > 0")
  _ints("discovery.synflow_iters", disc.synflow_iters, 1)
  _nums("discovery.earlybird_eps", disc.earlybird_eps, lambda v: 0 < v <= 1,
        "a number in (0, 1] (fraction of W1 entries)")
  _ints("discovery.earlybird_window", disc.earlybird_window, 2, max(2, tr.epochs),
        f"integers in [2, max(2, train.epochs={tr.epochs})]")
  _nums("discovery.grasp_temperature", disc.grasp_temperature, lambda v: v > 0,
        "a finite number > 0 (GraSP divides the network output by it; Wang et al.: 200)")
  _nums("discovery.combined_weight", disc.combined_weight, lambda v: True, "a finite number")
  _nums("discovery.orth_penalty", disc.orth_penalty, lambda v: v >= 0, "a finite number >= 0")
  _ints("discovery.score_examples", disc.score_examples, 1)
  _ints("discovery.coords_per_site", disc.coords_per_site, 1, mdl.d,
        f"integers in [1, model.d={mdl.d}]")
  sae = c.sae
  _nums("sae.l1", sae.l1, lambda v: v >= 0, "numbers >= 0 (a tuple; empty: no SAEs)")
  if len(set(as_tuple(sae.l1))) != len(as_tuple(sae.l1)):
    raise ConfigError("sae.l1", sae.l1, "distinct values")
  _ints("sae.latents", sae.latents, 1)
  _ints("sae.seeds", sae.seeds, 1, 64)
  _ints("sae.steps", sae.steps, 1)
  _nums("sae.lr", sae.lr, lambda v: v > 0, "a finite number > 0")
  _ints("sae.examples", sae.examples, 2)
  if "sae" in as_tuple(c.figures) and not as_tuple(sae.l1):
    raise ConfigError("figures", c.figures, "'sae' only with sae.l1 set")
  _nums("task.sparsity", t.sparsity, lambda v: 0 <= v < 1,
        "numbers in [0, 1) (the probability a TMS feature is 0)")
  _nums("task.importance_decay", t.importance_decay, lambda v: 0 < v <= 1, "a number in (0, 1]")
  if not isinstance(c.restore_from, str):
    raise ConfigError("restore_from", c.restore_from, "a run directory path or ''")
