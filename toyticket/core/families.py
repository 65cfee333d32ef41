"""The task-family registry: one line per family, naming its package.

A family is a package under `toyticket/families/` (or anywhere importable) with two
modules: `family` (the computing half, JAX: a `FAMILY` implementing
`toyticket.ticket.family.Family`) and `reading` (the JAX-free half: a `READING`
implementing `toyticket.reading.family.FamilyReading`: its rows, summary, report section
and figures). The cycle, the orchestration and the reading side look a family up here by
the config's `task.family` and never test its name; adding a family touches its own
package and one line of PACKAGES. Plain Python: importing this module imports no family.
"""
from __future__ import annotations

import importlib

PACKAGES = {
    "clause": "toyticket.families.clause",   # the clause world (the paper's task)
    "tms": "toyticket.families.tms",         # Toy Models of Superposition
    "flax": "toyticket.families.flaxmodel",  # your own flax module on your own data
}


def compute(name: str):
  """The family's computing half (`<package>.family.FAMILY`); imports JAX."""
  return importlib.import_module(PACKAGES[name] + ".family").FAMILY


def reading(name: str):
  """The family's JAX-free half (`<package>.reading.READING`)."""
  return importlib.import_module(PACKAGES[name] + ".reading").READING
