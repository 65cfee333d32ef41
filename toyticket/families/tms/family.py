"""Toy Models of Superposition as a task family of the cycle
(`toyticket.ticket.family.Family`): `model`'s data, network, loss and readings."""
from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp

from toyticket.families.tms import model as tms
from toyticket.core.checks import as_tuple
from toyticket.ticket.train import Step


@dataclasses.dataclass(frozen=True)
class TmsOptions:
  """The TMS family's static part of the cycle (hashable)."""
  importance_decay: float = 0.7   # feature importance I_i = decay^i


TASK_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def analyse_dense_tms(spec, traj, losses, densities, data):
  """Per TMS dense run (`tms.dense_readings`), vmapped; `densities` is not read (TMS has
  no oracle-supported sites)."""
  return jax.vmap(lambda tr, ls: tms.dense_readings(tr, ls, data, spec.options.importance_decay))(
      traj, losses)


def analyse_cells_tms(spec, traj, start, masks, density, straj, slosses, data):
  """Per TMS sparse cell (`tms.cell_readings`); inputs and outputs lead with (R, C)."""
  def per_run(tr, *cell_args):
    return jax.vmap(lambda *a: tms.cell_readings(tr, *a, data, spec.options.importance_decay))(
        *cell_args)
  return jax.vmap(per_run)(traj, start, masks, density, straj, slosses)





class TmsFamily:
  name = "tms"
  prunable = "W"      # TMS's W (m, n)

  def scored(self, spec) -> tuple:
    """GraSP differentiates W, TMS's only weight matrix."""
    return ("W",)

  def synflow(self, spec):
    return None       # no SynFlow objective (methods.METHODS["synflow"].tasks)

  def tasks(self, cfg) -> list:
    """One task per task.sparsity ("S0.9")."""
    t = cfg.task
    return [(f"S{s}", tms.make_task(cfg.data_seed, t.n, s, t.n_train, t.n_test))
            for s in as_tuple(t.sparsity)]

  def options(self, cfg, tk) -> TmsOptions:
    return TmsOptions(cfg.task.importance_decay)

  def task_arrays(self, tk) -> dict:
    return {k: jnp.asarray(getattr(tk, k)) for k in TASK_ARRAYS}

  def dense_labels(self, tk, options) -> tuple[dict, dict]:
    """({n, sparsity S}, {floor_loss}): the best constant reconstruction's test loss."""
    return ({"n": tk.n, "sparsity": tk.sparsity},
            {"floor_loss": round(tk.floor_loss(options.importance_decay), 6)})

  def init(self, spec, key, c0) -> dict:
    return tms.init_params(key, c0, spec.hidden, spec.n_out)

  def train_path(self, spec, shared_frozen_c0: bool) -> str:
    return "autodiff"

  def step(self, spec, path: str) -> Step:
    return Step(jax.value_and_grad(self.loss(spec)), prunable=self.prunable)

  def loss(self, spec):
    return functools.partial(tms.loss_of, decay=spec.options.importance_decay)

  def identity(self, spec) -> dict:
    """Nothing beyond the config and toyticket's code (`core.identity.code_version`)."""
    return {}

  def analyse_dense(self, spec, traj, losses, densities, data):
    return analyse_dense_tms(spec, traj, losses, densities, data)

  def analyse_cells(self, spec, traj, start, masks, density, straj, slosses, data):
    return analyse_cells_tms(spec, traj, start, masks, density, straj, slosses, data)

  def network_readings(self, spec, dense, cells, dense_final, cells_final, masks, keys, data):
    return dense, cells


FAMILY = TmsFamily()
