"""Bring your own model: any flax module, on your own data, as a task family of the cycle
(`toyticket.ticket.family.Family`), batched over seeds exactly like the built-in families.

The config's `user` section names your code (`toyticket.core.usercode`):
  user.module  "pkg.mod:make" or "file.py:make": make(hidden: int, n_out: int) → a flax
               `nn.Module` mapping x (B, n_in) to outputs (B, n_out); only a "params"
               collection (no BatchNorm statistics). model.hidden is passed as `hidden`.
  user.data    "pkg.mod:data" or "file.py:data": data(seed: int, n_train: int, n_test: int)
               → a mapping with x_train (n_train, n_in), y_train, x_test (n_test, n_in),
               y_test (numpy or JAX arrays; y (N, n_out) for bce / mse, (N,) integer labels
               for softmax_ce); seed is the config's data_seed.
  user.loss    model.LOSSES: bce, softmax_ce or mse.
  user.prunable  regex over the module's parameter paths ("Dense_0/kernel"): the weights
               masks select (ranked globally, `model.PACKED`); density is the fraction of
               THEM kept.
  user.scored  regex: other leaves GraSP differentiates with them (Synaptic-Flow's GraSP
               scores every prunable layer; '' for the prunable ones only).
  user.frozen  regex: leaves that never train ('' for none).

Every network starts from `module.init(key, x_train[:1])` with its run's INIT stream (the
`fresh` rewind: its FRESH stream); training, discovery (the weight-space methods whose
`methods.Method.tasks` include "flax"), IMP, rewinds and readings are the generic cycle's.
"""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from toyticket.core import usercode
from toyticket.core.errors import ConfigError
from toyticket.families.flaxmodel import model
from toyticket.families.flaxmodel.schema import CellReadings, DenseReadings
from toyticket.discovery import base as discovery
from toyticket.families.clause import metrics
from toyticket.ticket import train
from toyticket.ticket.family import register_readings
from toyticket.ticket.train import Step

register_readings(DenseReadings, CellReadings)

TASK_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


@dataclasses.dataclass(frozen=True)
class FlaxOptions:
  """The family's static part of the cycle (hashable): the config's `user` section and the
  input width."""
  module: str
  loss: str
  prunable: str
  scored: str
  frozen: str
  n_in: int
  code: tuple = ()     # ((field, sha256 of its source file), ...): the user's code version


@dataclasses.dataclass(frozen=True, eq=False)
class FlaxTask:
  """The user's data (numpy): x_* (N, n_in), y_* (N, n_out) or (N,) labels."""
  n: int
  n_out: int
  loss: str
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray

  def tables(self) -> dict:
    return {}

  def floors(self) -> dict:
    """The best constant prediction's test accuracy (classification) and test loss:
    bce: per output the majority label, loss mean_o H(p_o); softmax_ce: the majority
    class, loss the entropy of the class frequencies; mse: the mean, loss mean_o Var(y_o)."""
    y = self.y_test.astype(np.float64)
    ent = lambda p: -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0), 0)
    if self.loss == "bce":
      p = y.reshape(len(y), -1).mean(0)
      return {"floor_acc": float(np.maximum(p, 1 - p).mean()),
              "floor_loss": float(np.mean(ent(np.stack([p, 1 - p]))))}
    if self.loss == "softmax_ce":
      freq = np.bincount(self.y_test.astype(np.int64), minlength=self.n_out) / len(y)
      return {"floor_acc": float(freq.max()), "floor_loss": float(ent(freq))}
    return {"floor_loss": float(y.reshape(len(y), -1).var(0).mean())}


def _arrays(field, ref, out, n_train, n_test, loss) -> dict:
  """The data function's result checked and as float32 / int32 numpy; ConfigError."""
  try:
    arrs = {k: np.asarray(out[k]) for k in TASK_ARRAYS}
  except (KeyError, TypeError) as e:
    raise ConfigError(field, ref, f"a data function returning a mapping of "
                      f"{', '.join(TASK_ARRAYS)} (missing {e})") from None
  for k, a in arrs.items():
    if a.dtype.kind not in "biuf":
      raise ConfigError(field, ref, f"a data function whose {k} is numeric (it has dtype "
                        f"{a.dtype})")
  want = {"x_train": n_train, "y_train": n_train, "x_test": n_test, "y_test": n_test}
  for k, n in want.items():
    a = arrs[k]
    if a.ndim < 1 or a.shape[0] != n:
      raise ConfigError(field, ref, f"a data function whose {k} has {n} rows (task.n_"
                        f"{k.split('_')[1]}); it has shape {a.shape}")
  if arrs["x_train"].ndim != 2 or arrs["x_test"].shape[1:] != arrs["x_train"].shape[1:]:
    raise ConfigError(field, ref, "x_train and x_test of shape (N, n_in), one n_in")
  if loss == "softmax_ce":
    for k in ("y_train", "y_test"):
      a = arrs[k]
      if a.ndim != 1 or not np.all(np.equal(np.mod(a, 1), 0)) or a.min() < 0:
        raise ConfigError(field, ref, f"{k} of shape (N,) holding class labels 0, 1, ... "
                          "with user.loss='softmax_ce'")
      arrs[k] = a.astype(np.int32)
  else:
    for k in ("y_train", "y_test"):
      if arrs[k].ndim == 1:
        arrs[k] = arrs[k][:, None]
    if arrs["y_train"].shape[1:] != arrs["y_test"].shape[1:] or arrs["y_train"].ndim != 2:
      raise ConfigError(field, ref, "y_train and y_test of shape (N, n_out), one n_out")
    if loss == "bce" and any(np.any((arrs[k] < 0) | (arrs[k] > 1)) for k in ("y_train", "y_test")):
      raise ConfigError(field, ref, "y_train and y_test in [0, 1] with user.loss='bce' "
                        "(targets of a sigmoid cross-entropy)")
  for k in TASK_ARRAYS:
    if arrs[k].dtype != np.int32:
      arrs[k] = arrs[k].astype(np.float32)
    if not np.all(np.isfinite(arrs[k])):
      raise ConfigError(field, ref, f"a data function whose {k} is finite")
  return arrs


def make_task(cfg) -> FlaxTask:
  """The user's data function called with (data_seed, n_train, n_test), checked."""
  u, t = cfg.user, cfg.task
  fn = usercode.resolve("user.data", u.data)
  try:
    out = fn(cfg.data_seed, t.n_train, t.n_test)
  except Exception as e:  # the user's data function failed
    raise ConfigError("user.data", u.data, f"a data function that runs "
                      f"({type(e).__name__}: {(str(e).splitlines() or [''])[0]})") from None
  a = _arrays("user.data", u.data, out, t.n_train, t.n_test, u.loss)
  n_out = (int(max(a["y_train"].max(), a["y_test"].max())) + 1 if u.loss == "softmax_ce"
           else a["y_train"].shape[1])
  return FlaxTask(a["x_train"].shape[1], n_out, u.loss, **a)


@functools.lru_cache(maxsize=None)
def network(options: FlaxOptions, hidden: int, n_out: int):
  """(module, Layout) of the user's model at this width: make(hidden=, n_out=), its
  parameter shapes (`model.shapes_of`) and the leaves the regexes select. ConfigError
  (one line) for a factory that fails or returns no flax module, a module that does not
  initialise, or a selector that matches nothing."""
  import flax.linen as nn
  ref = options.module
  make = usercode.resolve("user.module", ref)
  try:
    module = make(hidden=hidden, n_out=n_out)
  except Exception as e:  # the user's factory failed
    raise ConfigError("user.module", ref, f"a factory make(hidden, n_out) that runs "
                      f"({type(e).__name__}: {(str(e).splitlines() or [''])[0]})") from None
  if not isinstance(module, nn.Module):
    raise ConfigError("user.module", ref, f"a factory returning a flax.linen.Module (got "
                      f"{type(module).__name__})")
  try:
    shapes = model.shapes_of(module, options.n_in)
  except Exception as e:  # the module does not trace on (1, n_in) inputs
    raise ConfigError("user.module", ref, f"a module that initialises on inputs (1, "
                      f"{options.n_in}) ({type(e).__name__}: "
                      f"{(str(e).splitlines() or [''])[0][:200]})") from None
  if model.PACKED in shapes:
    raise ConfigError("user.module", ref, f"a module without a parameter named "
                      f"{model.PACKED!r} (toyticket's name for the packed prunable weights)")
  try:
    lay = model.layout(shapes, options.prunable, options.scored, options.frozen)
  except ValueError as e:
    raise ConfigError("user.prunable", options.prunable, str(e)) from None
  out = model.output_shape(module, lay, options.n_in)
  if out != (2, n_out):
    raise ConfigError("user.module", ref, f"a module whose outputs for x (B, {options.n_in}) "
                      f"are (B, n_out) = (B, {n_out}) as the data's targets need (it gives "
                      f"{out} for B = 2)")
  return module, lay


def content_digests(cfg, tk: FlaxTask, options: FlaxOptions) -> tuple:
  """((name, sha256), ...) of everything a flax run computes from besides the config and
  toyticket's code: the named source files (`usercode.source_digest`), the module's init
  and apply as lowered programs at every configured width (`model.program_digest`: code
  in files the named one imports counts) and the data arrays' bytes (data a data function
  reads from disk counts). In the run id, the exported-program key and the jit key."""
  import hashlib
  from toyticket.core.checks import as_tuple
  out = dict(usercode.source_digest(cfg.to_dict()))
  h = hashlib.sha256()
  for k in TASK_ARRAYS:
    a = np.ascontiguousarray(getattr(tk, k))
    h.update(f"{k}|{a.dtype.str}|{a.shape}".encode())
    h.update(a.tobytes())
  out["data arrays"] = h.hexdigest()[:16]
  out["model program"] = hashlib.sha256("".join(
      model.program_digest(network(options, hidden, tk.n_out)[0], tk.n)
      for hidden in as_tuple(cfg.model.hidden)).encode()).hexdigest()[:16]
  return tuple(sorted(out.items()))


def analyse_dense(spec, traj, losses, densities, data):
  """Per dense run (R, ...): test loss and accuracy per epoch (E+1,)."""
  fam = FAMILY

  def one(tr, ls):
    ones = jnp.ones_like(tr[model.PACKED][0])
    ev = lambda f: jax.vmap(lambda p: f(spec, p, ones, data["x_test"], data["y_test"]))(tr)
    return DenseReadings(loss=ls, test_loss=ev(fam.test_loss), test_acc=ev(fam.accuracy),
                         diverged_epoch=train.diverged_epoch(tr, ls))
  return jax.vmap(one)(traj, losses)


def analyse_cells(spec, traj, start, masks, density, straj, slosses, data):
  """Per sparse cell (R, C, ...): test loss and accuracy of the sparse final, of the mask
  on the dense final without retraining, at the masked rewind point and of the mask on
  θ0 untrained (the chance level); Jaccard with the one-shot oracle's mask; pruned weights
  that are nonzero (0: never revived); sparse loss per epoch."""
  fam, at = FAMILY, discovery.at
  x, y = data["x_test"], data["y_test"]

  def cell(tr, st, m, rho, s_tr, s_ls):
    d_end, s_end = at(tr, -1), at(s_tr, -1)
    ls = lambda p: fam.test_loss(spec, p, m, x, y)
    acc = lambda p: fam.accuracy(spec, p, m, x, y)
    oracle = discovery.topk_mask(jnp.abs(d_end[model.PACKED]), rho)
    return CellReadings(
        realised_density=m.mean(), loss=s_ls,
        sparse_loss=ls(s_end), masked_loss=ls(d_end), rewind_loss=ls(st),
        sparse_acc=acc(s_end), masked_acc=acc(d_end), rewind_acc=acc(st),
        chance_acc=acc(at(tr, 0)), jaccard_mask_oracle=metrics.jaccard(m, oracle),
        pruned_nonzero=jnp.sum((m == 0) & (s_end[model.PACKED] != 0)),
        diverged_epoch=train.diverged_epoch(s_tr, s_ls))

  per_run = lambda tr, *a: jax.vmap(lambda *b: cell(tr, *b))(*a)
  return jax.vmap(per_run)(traj, start, masks, density, straj, slosses)


class FlaxFamily:
  name = "flax"
  prunable = model.PACKED   # the packed selected leaves (1, N)

  def tasks(self, cfg) -> list:
    """One task: the user's data ("user")."""
    return [("user", make_task(cfg))]

  def options(self, cfg, tk) -> FlaxOptions:
    """The `user` section, the input width and the user's code and data version
    (`content_digests`)."""
    u = cfg.user
    opts = FlaxOptions(u.module, u.loss, u.prunable, u.scored, u.frozen, tk.n)
    return dataclasses.replace(opts, code=content_digests(cfg, tk, opts))

  def identity(self, spec) -> dict:
    """What the run's results depend on beyond the config and toyticket's code: the user's
    source files, the lowered model and the data's bytes (`content_digests`)."""
    return dict(spec.options.code)

  def scored(self, spec) -> tuple:
    """The packed prunable weights and the leaves `user.scored` matches (GraSP's)."""
    return network(spec.options, spec.hidden, spec.n_out)[1].scored

  def task_arrays(self, tk) -> dict:
    return {k: jnp.asarray(getattr(tk, k)) for k in TASK_ARRAYS}

  def dense_labels(self, tk, options) -> tuple[dict, dict]:
    return {"n": tk.n}, {k: round(v, 6) for k, v in tk.floors().items()}

  def init(self, spec, key, c0) -> dict:
    """θ0 = the module's own initialisers (`module.init(key, x)`), packed; c0 unused."""
    module, lay = network(spec.options, spec.hidden, spec.n_out)
    tree = module.init(key, jnp.zeros((1, spec.options.n_in), jnp.float32))["params"]
    return model.pack(tree, lay)

  def train_path(self, spec, shared_frozen_c0: bool) -> str:
    return "autodiff"

  def step(self, spec, path: str) -> Step:
    return Step(jax.value_and_grad(self.loss(spec)), prunable=self.prunable, gated="")

  def loss(self, spec):
    module, lay = network(spec.options, spec.hidden, spec.n_out)
    return functools.partial(model.loss, module, lay, spec.options.loss)

  def test_loss(self, spec, params, mask, x, y):
    return self.loss(spec)(params, mask, x, y)

  def accuracy(self, spec, params, mask, x, y):
    module, lay = network(spec.options, spec.hidden, spec.n_out)
    return model.accuracy(module, lay, spec.options.loss, params, mask, x, y)

  def synflow(self, spec):
    """scores(params, mask) → (1, N) SynFlow scores (`model.synflow_scores`)."""
    module, lay = network(spec.options, spec.hidden, spec.n_out)
    return functools.partial(model.synflow_scores, module, lay, spec.options.n_in)

  def analyse_dense(self, spec, traj, losses, densities, data):
    return analyse_dense(spec, traj, losses, densities, data)

  def analyse_cells(self, spec, traj, start, masks, density, straj, slosses, data):
    return analyse_cells(spec, traj, start, masks, density, straj, slosses, data)

  def network_readings(self, spec, dense, cells, dense_final, cells_final, masks, keys, data):
    return dense, cells


FAMILY = FlaxFamily()
