"""The task-family protocol's JAX-free half: what the orchestration and the readers ask of a
family's `<package>.reading.READING` (found through `toyticket.core.families`). Its
computing half is `toyticket.ticket.family.Family`.
"""
from __future__ import annotations

from typing import Protocol


class FamilyReading(Protocol):
  name: str
  paired_metrics: tuple      # row columns compared method vs reference (`results.paired_rows`)
  figures: tuple             # the figure names this family draws (`plots.figure` registry)
  dense_readings: type       # its typed readings classes (`toyticket.core.readings`)
  cell_readings: type

  def validate(self, cfg) -> None:
    """Raises ConfigError (one line) for what this family cannot run (its methods,
    figures and task fields); plain Python, before anything is compiled."""

  def prunable_size(self, c, hidden: int) -> int | None:
    """The prunable weights of one network at this hidden width (what densities are
    fractions of), or None where only the computing half knows it (it builds the model;
    `grid.groups` checks the densities again then)."""

  def chunk_rows(self, dense_labels: list, cell_labels: list, densities: tuple, out: dict,
                 options) -> dict:
    """The rows of one computed chunk: {"cells": [...], "dense": [...], and any further
    tables the family writes ("oracle", "sae")}, plain JSON-able dicts; out["dense"] /
    out["cells"] are its typed readings of numpy arrays."""

  def summary(self, rows: list, dense_rows: list, top: int | None = None, agg=None,
              dense_agg=None) -> str:
    """The text summary of a run (summary.txt; the top methods per setting with `top`);
    agg, dense_agg: the rows' aggregates when already computed (`Run.aggregate`)."""

  def page_section(self, rows: list, dense_rows: list, agg=None, dense_agg=None
                   ) -> tuple[str, str]:
    """The report page's (representative-run paragraph, best-methods table), HTML."""
