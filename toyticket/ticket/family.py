"""The task-family protocol: what the generic cycle and the orchestration ask of a family.

A family's computing half (`<package>.family.FAMILY`, found through
`toyticket.core.families`) implements this; its JAX-free half (rows, summary, figures) is
`toyticket.reading.family.FamilyReading`. Shapes: R dense runs, C sparse cells per dense
run, E epochs; params are a dict pytree whose `prunable` leaf (H, d) is what masks
select; `c0` (d, n) is the embedding a network starts around.
"""
from __future__ import annotations

import pickle
from typing import Any, Callable, Hashable, Protocol

import jax

from toyticket.ticket.train import Step


def register_readings(*classes) -> None:
  """Registers a family's readings classes (`toyticket.core.readings`: plain frozen
  dataclasses, every field an array or None) as JAX pytrees, once, and for `jax.export`'s
  serialisation (the exported-program cache, `run.aot`; auxiliary data pickled)."""
  for cls in classes:
    if not getattr(cls, "_pytree", False):
      jax.tree_util.register_dataclass(cls)
      jax.export.register_pytree_node_serialization(
          cls, serialized_name=f"{cls.__module__}.{cls.__qualname__}",
          serialize_auxdata=pickle.dumps, deserialize_auxdata=pickle.loads)
      cls._pytree = True


class Family(Protocol):
  name: str
  prunable: str   # the masked leaf of params, 2-D: what every weight-space method scores

  def scored(self, spec) -> tuple:
    """The leaves a whole-network saliency (GraSP) differentiates together."""

  def synflow(self, spec) -> Callable | None:
    """scores(params, mask) → SynFlow's |∂R/∂w ⊙ w| of the prunable leaf, or None where
    the family has no SynFlow objective (its methods then exclude "synflow")."""

  def validate(self, cfg) -> None:
    """Raises config.ConfigError (one line) for what this family cannot run."""

  def tasks(self, cfg) -> list[tuple[str, Any]]:
    """(group-id suffix, task) per task of a validated config; a task has `n`, `n_out`
    and `tables()` (what readers need of it, saved in tasks.json)."""

  def options(self, cfg, task) -> Hashable:
    """The family's static part of the cycle (`CycleSpec.options`), hashable."""

  def task_arrays(self, task) -> dict:
    """The task's device arrays the cycle reads ("x_train", "y_train", "x_test", "y_test"
    and whatever its readings need)."""

  def dense_labels(self, task, options) -> tuple[dict, dict]:
    """Row labels every dense run of this task carries: (its size, its floor_* labels);
    a row holds the size after the hidden width and the floors after the seed."""

  def identity(self, spec) -> dict:
    """{name: digest} of what results depend on beyond the config and toyticket's code
    (a user's model and data; {} for the built-in families): hashed into the run id and
    recorded in the provenance (`run.sweep`)."""

  def init(self, spec, key, c0) -> dict:
    """θ of one network around embedding c0 (None for a family whose params have no
    "C0"); the prunable leaf's size is read from it (`grid.prunable_size`)."""

  def train_path(self, spec, shared_frozen_c0: bool) -> str:
    """The gradient path (a name) for a batch of runs on the default backend."""

  def step(self, spec, path: str) -> Step:
    """The training step of that path (`train.Step`)."""

  def loss(self, spec) -> Callable:
    """loss(params, mask, x, y, temperature=1.0): what saliency methods differentiate."""

  def analyse_dense(self, spec, traj, losses, densities, data):
    """Per-dense-run readings (R, ...): the family's typed dense readings
    (`toyticket.core.readings`, registered with `register_readings`) from trajectories
    (R, E+1, ...), losses (R, E) and the densities (R, P) at which dense-run readings are
    taken. Its `loss` field is the dense losses (checkpointed) and `diverged_epoch` (R,)."""

  def analyse_cells(self, spec, traj, start, masks, density, straj, slosses, data):
    """Per-cell typed readings (R, C, ...) of sparse runs; their `detect_epoch` field is
    left None for the cycle to fill."""

  def network_readings(self, spec, dense, cells, dense_final, cells_final, masks, keys, data):
    """The dense (R, ...) and cell (R, C, ...) readings with the readings of every final
    network added (e.g. SAEs); returned unchanged if the family has none."""
