"""One finished run directory as one object, loaded once and checked (numpy only).

`Run.load(path)` reads config.json, the rows (metrics.json, checked against the
checksummed rows of every chunk of plan.json), the per-run arrays (each npz checked
against its sha256), and tasks.json (the task tables figures need); the aggregate over
seeds is computed once, on first use. Every reader uses it: the report page and figures
(`report`, `plots`), `make replicate` (`run.replicate.tables_of`), the pandas loaders
(`load`, `load_dense`: pandas) and the notebook. A damaged or edited file stops with RunFileError (one
line naming the file).
"""
from __future__ import annotations

import dataclasses
import functools
import os

from toyticket.core import families, files, readings, rundir
from toyticket.core.errors import RunFileError
from toyticket.reading import results


@dataclasses.dataclass
class Run:
  """rows: per sparse run (metrics.csv); dense_rows: per dense run (dense.csv); arrays:
  {"cells/...", "dense/...", "masks"} concatenated in row order (`rundir.load_arrays`);
  run_dir; config: config.json as a dict; oracle_rows: per (dense run, density), the dense
  run's oracle-supported site classes; sae_rows: per (network, SAE L1 coefficient);
  tasks: tasks.json, {group: the task's tables}."""
  rows: list
  dense_rows: list
  arrays: dict
  run_dir: str
  config: dict
  oracle_rows: list = dataclasses.field(default_factory=list)
  sae_rows: list = dataclasses.field(default_factory=list)
  tasks: dict = dataclasses.field(default_factory=dict)

  @classmethod
  def load(cls, run_dir: str, arrays: bool = True) -> "Run":
    """The run at run_dir, every file checked (module docstring); arrays=False skips the
    per-run arrays (tables only)."""
    cfg_path, m_path = (os.path.join(run_dir, f) for f in ("config.json", "metrics.json"))
    cfg, m = files.read_json(cfg_path), files.read_json(m_path)
    if not isinstance(cfg, dict):
      raise RunFileError(f"run file error: {cfg_path} is damaged (not a config object)")
    if not isinstance(m, dict) or not all(isinstance(m.get(k), list) for k in ("runs", "dense")):
      raise RunFileError(f"run file error: {m_path} is damaged (no lists of runs and dense "
                         "runs)")
    chunks = [meta for _, meta in rundir.verified_chunks(run_dir)]
    for key, table in (("runs", "cells"), ("dense", "dense")):
      if m[key] != [r for meta in chunks for r in meta.get(table, [])]:
        raise RunFileError(f"run file error: {m_path} disagrees with the checksummed rows "
                           f"of chunks/ ({key}; edited?): re-run the sweep to rewrite it")
    tasks = files.read_json(os.path.join(run_dir, "tasks.json"))
    if not isinstance(tasks, dict):
      raise RunFileError(f"run file error: {run_dir}/tasks.json is damaged (not an object "
                         "of task tables)")
    return cls(m["runs"], m["dense"], rundir.load_arrays(run_dir) if arrays else {},
               run_dir, cfg, m.get("oracle", []), m.get("sae", []), tasks)

  @property
  def family(self) -> str:
    """The run's task family (`core.families`)."""
    return self.config.get("task", {}).get("family", "clause")

  @functools.cached_property
  def dense(self):
    """The family's typed dense readings (`FamilyReading.dense_readings`) of every dense run,
    numpy arrays in dense-row order; a reading the run did not save is None."""
    return readings.from_arrays(families.reading(self.family).dense_readings, self.arrays,
                                "dense")

  @functools.cached_property
  def cells(self):
    """The family's typed cell readings, numpy arrays in row order (as `dense`)."""
    return readings.from_arrays(families.reading(self.family).cell_readings, self.arrays,
                                "cells")

  @functools.cached_property
  def aggregate(self) -> list:
    """`results.aggregate` of the cell rows, computed once."""
    return results.aggregate(self.rows)

  @functools.cached_property
  def dense_aggregate(self) -> list:
    """`results.aggregate` of the dense rows by (group, embedding), computed once."""
    return results.aggregate(self.dense_rows, results.DENSE_KEYS)

  def frame(self, table: str = "runs"):
    """pandas DataFrame of one table ("runs", "dense", "oracle", "sae") with columns
    run_dir, run_id and the config's fields as "config.<field>"."""
    import pandas as pd
    rows = {"runs": self.rows, "dense": self.dense_rows, "oracle": self.oracle_rows,
            "sae": self.sae_rows}[table]
    cols = {f"config.{k}": v for k, v in results.config_columns(self.config).items()}
    return pd.DataFrame(rows).assign(run_dir=self.run_dir,
                                     run_id=os.path.basename(self.run_dir), **cols)


def run_dirs(path: str) -> list[str]:
  """The finished run directories at `path`: itself if it holds a metrics.json, else every
  <path>/<name>/<run id>/ (a workdir) that does, sorted."""
  import glob
  import os
  if os.path.isfile(os.path.join(path, "metrics.json")):
    return [path]
  return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(path, "*", "*",
                                                                   "metrics.json")))


def _load_table(path: str, key: str):
  """One table of every finished run at `path` (`run.Run.frame`), concatenated."""
  import pandas as pd
  frames = [Run.load(d, arrays=False).frame(key) for d in run_dirs(path)]
  if not frames:
    raise FileNotFoundError(f"no finished run (metrics.json) at {path}")
  return pd.concat(frames, ignore_index=True)


def load(path: str):
  """pandas DataFrame of the cell rows (metrics.csv's columns) of a run directory, or of
  every run under a workdir concatenated, with columns run_dir, run_id and the config's
  fields as "config.<field>" (nested fields "config.task.m"; tuples as text)."""
  return _load_table(path, "runs")


def load_dense(path: str):
  """As `load`, for the dense-run rows (dense.csv)."""
  return _load_table(path, "dense")


def load_arrays(path: str) -> dict:
  """Per-run arrays of one run directory (`rundir.load_arrays`), in row order."""
  return rundir.load_arrays(path)
