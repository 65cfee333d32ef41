"""The sweep config: defaults, quick mode, and validation (before anything runs).

Field names follow SPEC §6. `density` is always the fraction of W1 kept. Allowed values
come from `names` and `methods` (plain Python): importing this module pulls in neither
JAX nor matplotlib.
"""
from __future__ import annotations

import math
import os

import ml_collections

from toyticket.discovery import methods
from toyticket.core import errors, families, names
from toyticket.families.clause import task


ConfigError = errors.ConfigError   # raised here; one line


def base_config() -> ml_collections.ConfigDict:
  """Defaults shared by every experiment config (each overrides what it needs)."""
  c = ml_collections.ConfigDict()
  c.name = "sweep"
  c.seeds = (0, 1, 2, 3)
  c.data_seed = 0
  # m = 8 (SPEC §1): dense accuracy 0.977 ± 0.004 over 8 seeds with this schedule, the
  # paper's regime (0.978); m = 16 reaches 0.939 in 30 epochs (0.965 in 100).
  # family "tms" (Toy Models of Superposition): n features, model.hidden the hidden dims,
  # model.d = n with the identity embedding; one model group per feature sparsity S
  # (probability a feature is 0), importance I_i = importance_decay^i; m, k, target and
  # polarity are the clause world's
  c.task = dict(family="clause", n=16, m=8, k=4, target="dnf", polarity="positive",
                n_train=8192, n_test=4096, sparsity=(0.9,), importance_decay=0.7)
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.model = dict(d=16, hidden=16)
  c.train = dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=128, epochs=30,
                 grad_impl="auto")   # auto: fused on CPU, autodiff elsewhere (kernels.py)
  c.probe_epochs = (2,)
  c.methods = ("oracle", "init_magnitude", "random")
  c.densities = (0.25, 0.5)       # 0.25 (75 % sparsity) is the paper's main setting
  c.rewinds = ("probe", "fresh")
  c.rewind_epoch = 2             # the dense epoch a `fixed` rewind starts from
  # iterative magnitude pruning: levels (0: off), fraction of the remaining W1 pruned per
  # level; each level rewinds to every configured init / probe / fixed rewind point
  c.imp = dict(levels=0, prune_fraction=0.2)
  # specificity "none": the paper's clause-local reading (template on vars(c) only);
  # "row" is our stricter row-specific extension (codes.py), reported beside it
  c.codes = dict(tau=0.25, readout_check=True, specificity="none")
  c.discovery = dict(obs_damping=1e-2, synflow_iters=100, earlybird_eps=0.1,
                     earlybird_window=5, combined_weight=1.0, coords_per_site=4,
                     orth_penalty=0.5, score_examples=1024, grasp_temperature=200.0)
  # SAEs (Cunningham et al.) on the hidden activations of every dense-final run and every
  # sparse ticket: one per L1 coefficient and SAE seed (l1 empty: none); rows in sae.csv
  c.sae = dict(l1=(), latents=32, seeds=2, steps=1000, lr=1e-2, examples=2048)
  c.quick = False
  c.max_cells_per_chunk = 2048   # sparse runs per jit call; more are split into chunks
  c.restore_from = ""            # a run dir: restore its dense checkpoints, skip dense
  c.restore_any_version = False  # allow restore_from a run made by another code version
  c.figures = ("methods",)
  c.distributed = False          # call jax.distributed.initialize() (multi-host run axis)
  return c


# The configs shipped with toyticket (configs/ beside the package).
CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "configs")


def load_file(spec: str) -> ml_collections.ConfigDict:
  """get_config(arg) of a config file given as 'path.py' or 'path.py:arg'; ConfigError
  (one line) if the file is missing, does not import, has no get_config, or refuses arg."""
  import importlib.util
  path, _, arg = spec.partition(":")
  mod_spec = importlib.util.spec_from_file_location("_toyticket_config", path)
  if mod_spec is None or not os.path.isfile(path):
    raise ConfigError("config", spec, "a path to a config file in configs/")
  mod = importlib.util.module_from_spec(mod_spec)
  try:
    mod_spec.loader.exec_module(mod)
  except Exception as e:  # a syntax or import error in the user's file
    raise ConfigError("config", spec, f"a config file that imports ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''})") from None
  if not callable(getattr(mod, "get_config", None)):
    raise ConfigError("config", spec, "a config file defining get_config()")
  try:
    cfg = mod.get_config(arg) if arg else mod.get_config()
  except (TypeError, ValueError) as e:
    raise ConfigError("config", spec, f"an argument its get_config accepts ({e})") from None
  except Exception as e:  # the user's get_config failed some other way
    raise ConfigError("config", spec, f"a get_config() that runs ({type(e).__name__}: "
                      f"{str(e).splitlines()[0] if str(e) else ''})") from None
  if not isinstance(cfg, ml_collections.ConfigDict):
    raise ConfigError("config", spec, "a get_config() that returns an ml_collections.ConfigDict")
  check_keys(cfg)
  return cfg


def check_keys(cfg: ml_collections.ConfigDict, ref: ml_collections.ConfigDict | None = None,
               prefix: str = "") -> None:
  """A config file is validated like an override: every key must be one of `base_config`'s
  (a misspelt `c.densitys = ...` would otherwise be ignored while the default runs) and none
  may be missing. ConfigError (one line) naming the first offending key and the allowed
  ones."""
  ref = base_config() if ref is None else ref
  for key in cfg.keys():
    if key not in ref:
      raise ConfigError(prefix + key, "(unknown key)", ", ".join(sorted(ref.keys())))
    if isinstance(ref[key], ml_collections.ConfigDict):
      if not isinstance(cfg[key], ml_collections.ConfigDict):
        raise ConfigError(prefix + key, cfg[key], f"a dict of {', '.join(sorted(ref[key].keys()))}")
      check_keys(cfg[key], ref[key], prefix + key + ".")
  for key in ref.keys():
    if key not in cfg:
      raise ConfigError(prefix + key, "(missing)", "every key of base_config(); start a config "
                        "from toyticket.config.base_config()")


def check_overrides(argv: list[str]) -> None:
  """Raises ConfigError for an override --config.a.b=... whose key the config lacks
  (config_flags would also refuse it, but with a traceback)."""
  spec = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
  if spec is None:
    if "--config" not in argv:
      raise ConfigError("--config", "(missing)", "a config file: --config=configs/<name>.py")
    return
  cfg = load_file(spec)
  for a in argv:
    if not a.startswith("--config."):
      continue
    node, path = cfg, a[len("--config."):].split("=", 1)[0].split(".")
    for i, key in enumerate(path):
      if not isinstance(node, ml_collections.ConfigDict) or key not in node:
        keys = sorted(node.keys()) if isinstance(node, ml_collections.ConfigDict) else []
        raise ConfigError(".".join(path[:i + 1]), "(unknown key)",
                          ", ".join(keys) or "no sub-keys")
      node = node[key]


def as_tuple(v) -> tuple:
  return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def apply_quick(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Quick mode (smoke tests): 3 epochs, small data, one or two seeds, the first clause
  count and at most two widths (at most two compiled programs), cheap SynFlow, at most
  two SAE L1 coefficients and seeds of 50 steps."""
  if not c.quick:
    return c
  c = ml_collections.ConfigDict(c.to_dict())
  c.train.epochs = min(c.train.epochs, 3)
  c.task.n_train, c.task.n_test = min(c.task.n_train, 1024), min(c.task.n_test, 512)
  c.seeds = as_tuple(c.seeds)[:2]
  with c.ignore_type():            # at most two model groups (one compile each)
    c.task.m = as_tuple(c.task.m)[:1]
    c.task.sparsity = as_tuple(c.task.sparsity)[:2]
    c.model.hidden = as_tuple(c.model.hidden)[:2]
  c.probe_epochs = tuple(dict.fromkeys(min(e, c.train.epochs) for e in as_tuple(c.probe_epochs)))
  c.rewind_epoch = min(c.rewind_epoch, c.train.epochs)
  c.imp.levels = min(c.imp.levels, 2)
  c.discovery.synflow_iters = min(c.discovery.synflow_iters, 5)
  c.discovery.earlybird_window = min(c.discovery.earlybird_window, max(2, c.train.epochs))
  c.discovery.score_examples = min(c.discovery.score_examples, 256)
  c.sae.l1 = as_tuple(c.sae.l1)[:2]
  c.sae.seeds = min(c.sae.seeds, 2)
  c.sae.steps = min(c.sae.steps, 50)
  c.sae.examples = min(c.sae.examples, 512)
  return c


def _choice(field, values, allowed):
  for v in as_tuple(values):
    if v not in allowed:
      raise ConfigError(field, v, ", ".join(allowed))


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


def _distinct_counts(c: ml_collections.ConfigDict) -> None:
  """No two labels may describe the same computation: per hidden width H, every density
  keeps its own count k = round(ρ·H·d) ≥ 1 of W1 (a density below 0.5/(H·d) would be
  clipped to one weight and mislabelled; two densities with one k would be two labels of
  one mask), and every IMP level keeps fewer weights than the one before."""
  for h in as_tuple(c.model.hidden):
    size = h * c.model.d
    ks = {}
    for rho in as_tuple(c.densities):
      if rho * size < 0.5:
        raise ConfigError("densities", rho, f"densities ≥ 0.5/(H·d) = {0.5 / size:.3g} "
                          f"(H = {h}, d = {c.model.d}: smaller ones keep one weight)")
      k = min(size, max(1, round(rho * size)))
      if k in ks:
        raise ConfigError("densities", c.densities, f"densities that keep distinct counts "
                          f"of W1 ({ks[k]} and {rho} both keep {k} of {size} at H = {h})")
      ks[k] = rho
    if c.imp.levels:
      counts = (size,) + methods.imp_keep_counts(size, c.imp.prune_fraction, c.imp.levels)
      same = next((lvl for lvl in range(1, len(counts)) if counts[lvl] == counts[lvl - 1]),
                  None)
      if same is not None:
        raise ConfigError("imp.levels", c.imp.levels, f"at most {same - 1} levels at "
                          f"prune_fraction {c.imp.prune_fraction} with H·d = {size} (level "
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
  for flag in ("quick", "codes.readout_check", "distributed", "restore_any_version"):
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
  _distinct_counts(c)
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

