"""The clause world as a task family of the cycle (`toyticket.ticket.family.Family`).

Networks are `model`'s (C0 → W1 ⊙ M → relu → W2), trained on the switchable gradient
paths of `kernels` (autodiff the reference; fused paths on CPU); readings are
`readings`' (codes, metrics, SAEs).
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from toyticket.families.clause import kernels, model, readings, sae, task
from toyticket.core.checks import as_tuple
from toyticket.discovery import weight
from toyticket.ticket.train import Step


@dataclasses.dataclass(frozen=True)
class ClauseOptions:
  """The clause family's static part of the cycle (hashable)."""
  tau: float = 0.25
  readout_check: bool = True
  specificity: str = "none"   # codes.SPECIFICITY: clause-local (the paper's) or "row"
  sae: sae.SaeSpec = sae.SaeSpec(l1s=())   # SAEs on every network's activations (none: off)


TASK_ARRAYS = ("x_train", "y_train", "x_test", "y_test", "clause_vars", "clause_pols",
               "decoy_vars", "decoy_pols")



class ClauseFamily:
  name = "clause"
  prunable = "W1"

  def scored(self, spec) -> tuple:
    """What GraSP differentiates together: W1 and W2 (C0 and biases are not pruned)."""
    return ("W1", "W2")

  def synflow(self, spec):
    return weight.chain_synflow

  def tasks(self, cfg) -> list:
    """One task per task.m ("m8")."""
    t = cfg.task
    return [(f"m{m}", task.make_task(cfg.data_seed, t.n, m, t.k, t.target, t.polarity,
                                     t.n_train, t.n_test)) for m in as_tuple(t.m)]

  def options(self, cfg, tk) -> ClauseOptions:
    s = cfg.sae
    return ClauseOptions(cfg.codes.tau, cfg.codes.readout_check, cfg.codes.specificity,
                         sae.SaeSpec(as_tuple(s.l1), s.latents, s.seeds, s.steps, s.lr,
                                     min(s.examples, cfg.task.n_train)))

  def task_arrays(self, tk) -> dict:
    return {k: jnp.asarray(getattr(tk, k)) for k in TASK_ARRAYS}

  def dense_labels(self, tk, options) -> tuple[dict, dict]:
    """({m}, {floor_acc}): the constant classifier's test accuracy (`Task.floor_acc`)."""
    return {"m": tk.m}, {"floor_acc": round(tk.floor_acc, 6)}

  def init(self, spec, key, c0) -> dict:
    return model.init_params(key, c0, spec.hidden, spec.n_out)

  def train_path(self, spec, shared_frozen_c0: bool) -> str:
    return kernels.train_path(spec.train.grad_impl, jax.default_backend(), shared_frozen_c0)

  def step(self, spec, path: str) -> Step:
    """kernels.PATHS: autodiff (the reference), fused, fused_embedded (inputs embedded
    once per minibatch for runs sharing one frozen C0)."""
    if path == "fused_embedded":
      return Step(kernels.fused_loss_and_grad_embedded,
                  embed=lambda xb, shared: kernels.small_matmul(xb, shared["C0"].T),
                  frozen=("C0",))
    grads = {"autodiff": kernels.autodiff_loss_and_grad, "fused": kernels.fused_loss_and_grad}
    return Step(grads[path])

  def loss(self, spec):
    return model.loss

  def identity(self, spec) -> dict:
    """Nothing beyond the config and toyticket's code (`core.identity.code_version`)."""
    return {}

  def analyse_dense(self, spec, traj, losses, densities, data):
    return readings.analyse_dense(spec, traj, losses, densities, data)

  def analyse_cells(self, spec, traj, start, masks, density, straj, slosses, data):
    return readings.analyse_cells(spec, traj, start, masks, density, straj, slosses, data)

  def network_readings(self, spec, dense, cells, dense_final, cells_final, masks, keys, data):
    """SAEs on every dense-final network and every sparse ticket (`readings.sae_readings`,
    the sae_* fields), when options.sae has L1 coefficients."""
    if not spec.options.sae.l1s:
      return dense, cells
    on_dense = jax.vmap(lambda p, key: readings.sae_readings(spec, p, jnp.ones_like(p["W1"]),
                                                          key, data))(dense_final, keys)
    on_cells = jax.vmap(lambda ps, ms, key: jax.vmap(
        lambda p, m: readings.sae_readings(spec, p, m, key, data))(ps, ms))(
            cells_final, masks, keys)
    return dataclasses.replace(dense, **on_dense), dataclasses.replace(cells, **on_cells)


FAMILY = ClauseFamily()
