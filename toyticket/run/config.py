"""The sweep config: defaults, loading a config file, quick mode; validation is
`validate` (re-exported here as `config.validate`).

Field names follow SPEC §6. `density` is always the fraction of W1 kept. Allowed values
come from `names` and `methods` (plain Python): importing this module pulls in neither
JAX nor matplotlib.
"""
from __future__ import annotations

import os

import ml_collections

from toyticket.core import errors
from toyticket.run import validate as validate_lib


ConfigError = errors.ConfigError   # raised here; one line
as_tuple, validate = validate_lib.as_tuple, validate_lib.validate   # the config's checks


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
  # family "flax" (bring your own model, toyticket.families.flaxmodel.family): user code
  # named "pkg.mod:name" or "file.py:name": module → make(hidden, n_out), a flax module;
  # data → data(seed, n_train, n_test), x_train / y_train / x_test / y_test; loss bce,
  # softmax_ce or mse; regexes over parameter paths: the weights masks select (prunable),
  # further leaves GraSP scores with them (scored), leaves that never train (frozen)
  c.user = dict(module="", data="", loss="bce", prunable="kernel", scored="", frozen="")
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.model = dict(d=16, hidden=16)
  # grad_impl auto: fused on CPU, autodiff elsewhere (kernels.py); layout: how a device
  # runs its dense runs' cycles — "per_dense_run" (one at a time: results independent of
  # the device count and chunking, fastest on CPU) or "batched" (all at once in one wide
  # program; its rounding depends on both, which its run id then hashes: cycle.by_layout)
  c.train = dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=128, epochs=30,
                 grad_impl="auto", layout="per_dense_run")
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
  c.progress = False             # epoch progress from inside the program (not cached)
  c.distributed = False          # call jax.distributed.initialize() (multi-host run axis)
  return c


# The configs shipped with toyticket (configs/ beside the package).
def _config_dir() -> str:
  """The configs: inside an installed package (toyticket/configs), else the repo's
  top-level configs/."""
  pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  inside = os.path.join(pkg, "configs")
  return inside if os.path.isdir(inside) else os.path.join(os.path.dirname(pkg), "configs")


CONFIG_DIR = _config_dir()


def resolve(path: str) -> str:
  """The config file `path` names: itself if it exists, else the file of that name in
  CONFIG_DIR (so 'ticket_cycle', 'ticket_cycle.py' and 'configs/ticket_cycle.py' work
  from any directory); `path` unchanged if neither exists."""
  if os.path.isfile(path):
    return path
  name = os.path.basename(path)
  found = os.path.join(CONFIG_DIR, name if name.endswith(".py") else name + ".py")
  return found if name and os.path.isfile(found) else path


def resolve_argv(argv: list[str]) -> list[str]:
  """argv with --config=NAME[:arg] (or "--config NAME[:arg]") rewritten to the config file's
  path (`resolve`), so ml_collections' config flag loads a config named without a path."""
  out, i = list(argv), 0
  while i < len(out):
    a = out[i]
    if a.startswith("--config="):
      path, sep, arg = a[len("--config="):].partition(":")
      out[i] = f"--config={resolve(path)}{sep}{arg}"
    elif a == "--config" and i + 1 < len(out):
      path, sep, arg = out[i + 1].partition(":")
      out[i + 1] = f"{resolve(path)}{sep}{arg}"
      i += 1
    i += 1
  return out


def load_file(spec: str) -> ml_collections.ConfigDict:
  """get_config(arg) of a config file given as 'path.py' or 'path.py:arg' (or a config's
  name, `resolve`); ConfigError (one line) if the file is missing, does not import, has no
  get_config, or refuses arg."""
  import importlib.util
  path, _, arg = spec.partition(":")
  path = resolve(path)
  mod_spec = importlib.util.spec_from_file_location("_toyticket_config", path)
  if mod_spec is None or not os.path.isfile(path):
    names = sorted(f[:-3] for f in os.listdir(CONFIG_DIR)
                   if f.endswith(".py") and not f.startswith("_")) if os.path.isdir(CONFIG_DIR) else []
    raise ConfigError("config", spec, "a config file's path, or a config's name: "
                      + ", ".join(names))
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
