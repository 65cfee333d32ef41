"""The sweep config: defaults, quick mode, and validation (before anything runs).

Field names follow SPEC §6. `density` is always the fraction of W1 kept.
"""
from __future__ import annotations

import math
import os

import ml_collections

from toyticket import codes, cycle, discovery, embeddings, plots, task, train


class ConfigError(ValueError):
  """A bad config value; str() is one line naming the field, the value and what is allowed."""

  def __init__(self, field: str, value, allowed: str):
    super().__init__(f"config error: {field}={value!r} is invalid; allowed: {allowed}")


def base_config() -> ml_collections.ConfigDict:
  """Defaults shared by every experiment config (each overrides what it needs)."""
  c = ml_collections.ConfigDict()
  c.name = "sweep"
  c.seeds = (0, 1, 2, 3)
  c.data_seed = 0
  c.task = dict(n=16, m=16, k=4, target="dnf", polarity="positive", n_train=8192,
                n_test=4096)
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.model = dict(d=16, hidden=16)
  c.train = dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=128, epochs=30)
  c.probe_epochs = (2,)
  c.methods = ("oracle", "init_magnitude", "random")
  c.densities = (0.5, 0.25)
  c.rewinds = ("probe", "fresh")
  c.codes = dict(tau=0.25, readout_check=True, specificity="row")
  c.discovery = dict(obs_damping=1e-2, synflow_iters=100, earlybird_eps=0.02,
                     earlybird_window=3, combined_weight=1.0, coords_per_site=4,
                     orth_penalty=0.5, score_examples=1024)
  c.quick = False
  c.max_cells_per_chunk = 2048   # sparse runs per jit call; more are split into chunks
  c.restore_from = ""            # a run dir: restore its dense checkpoints, skip dense
  c.figures = ("methods",)
  c.distributed = False          # call jax.distributed.initialize() (multi-host run axis)
  return c


def load_file(spec: str) -> ml_collections.ConfigDict:
  """get_config(arg) of a config file given as 'path.py' or 'path.py:arg'."""
  import importlib.util
  path, _, arg = spec.partition(":")
  mod_spec = importlib.util.spec_from_file_location("_toyticket_config", path)
  if mod_spec is None or not os.path.isfile(path):
    raise ConfigError("config", spec, "a path to a config file in configs/")
  mod = importlib.util.module_from_spec(mod_spec)
  mod_spec.loader.exec_module(mod)
  return mod.get_config(arg) if arg else mod.get_config()


def check_overrides(argv: list[str]) -> None:
  """Raises ConfigError for an override --config.a.b=... whose key the config lacks
  (config_flags would also refuse it, but with a traceback)."""
  spec = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
  if spec is None:
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
  """Quick mode (smoke tests): 2 epochs, small data, one or two seeds, cheap SynFlow."""
  if not c.quick:
    return c
  c = ml_collections.ConfigDict(c.to_dict())
  c.train.epochs = min(c.train.epochs, 3)
  c.task.n_train, c.task.n_test = 1024, 512
  c.seeds = as_tuple(c.seeds)[:2]
  with c.ignore_type():            # at most two model groups (one compile each)
    c.task.m = as_tuple(c.task.m)[:1] if len(as_tuple(c.model.hidden)) > 1 else c.task.m
  c.probe_epochs = tuple(min(e, c.train.epochs) for e in as_tuple(c.probe_epochs))
  c.discovery.synflow_iters = min(c.discovery.synflow_iters, 5)
  c.discovery.score_examples = min(c.discovery.score_examples, 256)
  return c


def _choice(field, values, allowed):
  for v in as_tuple(values):
    if v not in allowed:
      raise ConfigError(field, v, ", ".join(allowed))


def validate(c: ml_collections.ConfigDict) -> None:
  """Raises ConfigError on the first bad field."""
  t, mdl, tr = c.task, c.model, c.train
  _choice("embeddings", c.embeddings, embeddings.FAMILIES)
  _choice("methods", c.methods, discovery.METHODS)
  _choice("rewinds", c.rewinds, cycle.REWINDS)
  _choice("figures", c.figures, tuple(plots.FIGURES))
  _choice("codes.specificity", c.codes.specificity, codes.SPECIFICITY)
  _choice("task.target", t.target, task.TARGETS)
  _choice("task.polarity", t.polarity, task.POLARITIES)
  _choice("train.optimizer", tr.optimizer, train.OPTIMIZERS)
  if not as_tuple(c.seeds):
    raise ConfigError("seeds", c.seeds, "a non-empty int or tuple of ints")
  for rho in as_tuple(c.densities):
    if not (isinstance(rho, (int, float)) and 0 < rho <= 1):
      raise ConfigError("densities", rho, "numbers in (0, 1] (fraction of W1 kept)")
  for m in as_tuple(t.m):
    if m < 1:
      raise ConfigError("task.m", m, "integers >= 1")
  if t.n < 1:
    raise ConfigError("task.n", t.n, "integers >= 1")
  if not 1 <= t.k <= t.n:
    raise ConfigError("task.k", t.k, f"integers in [1, task.n={t.n}]")
  if "hadamard" in as_tuple(c.embeddings):
    if mdl.d < 1 or mdl.d & (mdl.d - 1):
      raise ConfigError("model.d", mdl.d, "a power of two (1, 2, 4, 8, 16, ...) with hadamard")
    if t.n > mdl.d:
      raise ConfigError("task.n", t.n, f"<= model.d={mdl.d} with hadamard")
  for h in as_tuple(mdl.hidden):
    if h < 1:
      raise ConfigError("model.hidden", h, "integers >= 1")
  if not (isinstance(tr.lr, (int, float)) and tr.lr > 0 and math.isfinite(tr.lr)):
    raise ConfigError("train.lr", tr.lr, "a finite number > 0")
  if tr.epochs < 1:
    raise ConfigError("train.epochs", tr.epochs, "integers >= 1")
  if not 1 <= tr.batch_size <= t.n_train:
    raise ConfigError("train.batch_size", tr.batch_size, f"integers in [1, task.n_train={t.n_train}]")
  for e in as_tuple(c.probe_epochs):
    if not 0 <= e <= tr.epochs:
      raise ConfigError("probe_epochs", e, f"epochs in [0, train.epochs={tr.epochs}]")
  if not 0 < c.codes.tau < 1:
    raise ConfigError("codes.tau", c.codes.tau, "numbers in (0, 1)")
  if c.max_cells_per_chunk < 1:
    raise ConfigError("max_cells_per_chunk", c.max_cells_per_chunk, "integers >= 1")
  if c.discovery.coords_per_site < 1 or c.discovery.coords_per_site > mdl.d:
    raise ConfigError("discovery.coords_per_site", c.discovery.coords_per_site,
                      f"integers in [1, model.d={mdl.d}]")
