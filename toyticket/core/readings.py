"""Typed readings: what a task family reads from its runs, declared once (plain Python).

A family declares its readings as frozen dataclasses (one per run kind: per dense run,
per sparse cell) whose fields are arrays with the run axes leading ((R, ...) dense,
(R, C, ...) cells inside the cycle; (rows, ...) once flattened or loaded). Each field
carries its metadata (`reading`): a docstring, whether it is saved to the run's npz, and
the table columns (`Col`) it fills. From the fields alone come

  * the npz keys, "<kind>/<field>" (`to_arrays`, `from_arrays`);
  * the rows of every table (`row`): a column is named, typed and indexed by its `Col`;
  * the figure inputs: a loaded run's readings are the same dataclass of numpy arrays, so a
    misspelt reading is an AttributeError (and, in the cycle, a TypeError at trace time:
    the dataclass has no such field), never a silent "no data".

The computing side registers each class as a JAX pytree (`jax.tree_util.register_dataclass`
in the family's JAX module); this module stays JAX-free so that reading a run needs no JAX.
A field left None (e.g. SAE readings of a sweep without SAEs) is an empty subtree: not
traced, not saved, not read.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass(frozen=True)
class Col:
  """One table column filled from a reading field.

  name: the column's name; "{t}" in it makes it a per-template column (one column per
    template name, indexing the field's LAST axis).
  at: index into the field's entry of one row, after the row's own indices (e.g. (-1,)
    the last epoch of an (E+1,) trajectory; (1,) the second of (2, T) start/end counts).
  kind: "float" (rounded to 6 decimals, None for NaN: `num`) or "int".
  table: the table the column belongs to (a family's tables, e.g. "dense", "oracle",
    "cells").
  dense: the dense row's column to copy instead (a cell row repeats its dense run's
    context, e.g. "dense_acc"); "{t}" is filled as in `name`.
  """
  name: str
  at: tuple = ()
  kind: str = "float"
  table: str = "cells"
  dense: str | None = None


def reading(*cols: Col, doc: str = "", saved: bool = True, default: Any = dataclasses.MISSING):
  """A readings field: its columns (`Col`, in column order), docstring, whether it goes
  to the run's npz; default None for optional readings (filled only by some sweeps)."""
  return dataclasses.field(default=default,
                           metadata={"cols": cols, "doc": doc, "saved": saved})


def num(x):
  """x as a JSON-able float rounded to 6 decimals, None for NaN (a row field)."""
  x = float(x)
  return None if math.isnan(x) else round(x, 6)


_KINDS = {"float": num, "int": int}


def fields(cls_or_obj) -> tuple:
  """The dataclass fields of a readings class (or instance), in declaration order."""
  return dataclasses.fields(cls_or_obj)


def columns(cls, table: str) -> tuple:
  """(field name, Col) of every column of `table`, in column order: the columns without
  "{t}" in field order, then, per template, the per-template columns in field order."""
  cols = [(f.name, c) for f in fields(cls) for c in f.metadata.get("cols", ())
          if c.table == table]
  return tuple(cols)


def row(obj, table: str, index: tuple, templates: tuple, dense_row: dict | None = None,
        after_scalars=None) -> dict:
  """The columns of `table` for one row of readings `obj` (numpy arrays): entry
  `index` (e.g. (i,) a dense run, (i, p) a dense run at density p, (j,) a flat cell) of
  each field, then the Col's `at`, then (per-template columns) the template index.
  `dense_row` supplies the `Col.dense` copies; `after_scalars(row)` may add derived
  columns between the scalar and the per-template columns."""
  out = {}
  cols = columns(type(obj), table)
  for templated in (False, True):
    if templated and after_scalars is not None:
      after_scalars(out)
    for t, tname in (enumerate(templates) if templated else [((), None)]):
      tix = (t,) if templated else ()
      for fname, c in cols:
        if ("{t}" in c.name) != templated:
          continue
        name = c.name.format(t=tname)
        if c.dense is not None:
          out[name] = dense_row[c.dense.format(t=tname)]
        else:
          out[name] = _KINDS[c.kind](getattr(obj, fname)[index + c.at + tix])
  return out


def mark_diverged(row: dict) -> None:
  """A cell row's "diverged" column: its sparse run or its dense run diverged (every
  reader leaves such rows out of the averages)."""
  row["diverged"] = bool(row["diverged_epoch"] >= 0 or row["dense_diverged_epoch"] >= 0)


def dense_and_cell_rows(dense_labels: list[dict], cell_labels: list[dict], out: dict
                        ) -> tuple[list, list]:
  """(cell rows, dense rows) of a chunk whose family writes only the "cells" and "dense"
  tables: each row its labels and `row`'s columns of out["cells"] / out["dense"]; a cell
  row also carries its dense run's `Col.dense` copies and "diverged" (`mark_diverged`)."""
  d, c = out["dense"], out["cells"]
  dense_rows = [{**lab, **row(d, "dense", (i,), ())} for i, lab in enumerate(dense_labels)]
  rows = []
  for j, lab in enumerate(cell_labels):
    r = {k: v for k, v in lab.items() if k != "dense_pos"}
    r.update(row(c, "cells", (j,), (), dense_rows[lab["dense_pos"]],
                 after_scalars=mark_diverged))
    rows.append(r)
  return rows, dense_rows


def to_arrays(obj, prefix: str) -> dict:
  """{"<prefix>/<field>": array} of the saved, present fields (the npz layout)."""
  return {f"{prefix}/{f.name}": getattr(obj, f.name) for f in fields(obj)
          if f.metadata.get("saved", True) and getattr(obj, f.name) is not None}


def from_arrays(cls, arrays: dict, prefix: str):
  """The readings `cls` of a loaded run from its arrays ("<prefix>/<field>" keys; a field
  the run did not save is None)."""
  return cls(**{f.name: arrays.get(f"{prefix}/{f.name}") for f in fields(cls)})


def describe(cls) -> str:
  """Markdown list of a readings class: field, saved, columns, docstring."""
  lines = []
  for f in fields(cls):
    cols = ", ".join(f"{c.table}.{c.name}" + ("" if c.dense is None else
                                              f" (= its dense row's {c.dense})")
                     for c in f.metadata.get("cols", ()))
    lines.append(f"- `{f.name}`{'' if f.metadata.get('saved', True) else ' (not saved)'}: "
                 f"{f.metadata.get('doc', '')}" + (f" Columns: {cols}." if cols else ""))
  return "\n".join(lines)
