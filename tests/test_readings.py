"""Typed readings (`core.readings`): rows, npz keys and figure inputs derived from the fields;
a misspelt reading fails where it is written."""
import dataclasses

import chex
import jax
import numpy as np
import pytest

from toyticket.core import readings
from toyticket.families.clause import readings as _registers  # noqa: F401  (the pytrees)
from toyticket.families.clause import schema as clause
from toyticket.families.tms import schema as tms


def _filled(cls, n_rows=2):
  """Every field of cls as a distinct hand-made array: entry [i0, i1, ...] = 10000·field +
  the indices as decimal digits (e.g. [1, 2, 0] → 120), shaped by the field's columns: a
  row axis, a density axis (oracle columns), an `at` axis, a template axis."""
  out = {}
  for k, f in enumerate(readings.fields(cls)):
    cols = f.metadata["cols"]
    shape = (((2,) if any(c.table == "oracle" and c.dense is None for c in cols) else ()) +
             ((3,) if any(c.at for c in cols) else ()) +
             ((2,) if any("{t}" in c.name for c in cols) else ()))
    a = np.zeros((n_rows,) + shape)
    for idx in np.ndindex(a.shape):
      a[idx] = 10000 * k + sum(v * 10 ** (len(idx) - 1 - i) for i, v in enumerate(idx))
    out[f.name] = a
  return cls(**out)


def test_a_cell_row_takes_each_column_from_its_declared_entry():
  c = _filled(clause.CellReadings)
  k = {f.name: i for i, f in enumerate(readings.fields(clause.CellReadings))}
  dense_row = {"dense_acc": 0.5, "max_row_codes_dense": 7, "diverged_epoch": -1,
               "dense_4P": 11, "dense_3N1P": 12, "decoy_dense_4P": 13, "decoy_dense_3N1P": 14}
  row = readings.row(c, "cells", (1,), ("4P", "3N1P"), dense_row,
                     after_scalars=readings.mark_diverged)
  assert row["sparse_4P"] == 10000 * k["sparse_codes"] + 10          # [j=1, t=0]
  assert row["sparse_3N1P"] == 10000 * k["sparse_codes"] + 11        # [j=1, t=1]
  assert row["code_moved_3N1P"] == 10000 * k["code_fates"] + 111      # [j=1, at=1, t=1]
  assert row["near_codes_start_4P"] == 10000 * k["near_frac_codes"] + 100
  assert row["masked_acc"] == 10000 * k["masked_acc"] + 1
  assert row["dense_acc"] == 0.5 and row["dense_max_row_codes"] == 7   # copied from the dense run
  assert row["decoy_dense_3N1P"] == 14
  assert row["diverged"] is True                                     # diverged_epoch ≥ 0 here
  cols = list(row)
  # scalars, then "diverged", then per template; dense copies beside their neighbours
  assert cols[:3] == ["dense_acc", "masked_acc", "sparse_acc"]
  assert cols.index("diverged") == cols.index("diverged_epoch") + 1 == cols.index("dense_4P") - 1
  assert cols.index("decoy_dense_4P") == cols.index("decoy_chance_4P") + 1
  assert sum(c.endswith("_3N1P") for c in cols) == sum(c.endswith("_4P") for c in cols)
  assert "sparse_w1" not in row and "loss" not in row                # arrays, not columns


def test_dense_and_oracle_rows_and_tms_rows():
  d = _filled(clause.DenseReadings)
  k = {f.name: i for i, f in enumerate(readings.fields(clause.DenseReadings))}
  row = readings.row(d, "dense", (0,), ("4P", "3N1P"))
  assert row["dense_acc"] == 10000 * k["acc"] + 2 and row["dense_acc_init"] == 10000 * k["acc"]
  assert row["decoy_dense_near_3N1P"] == 10000 * k["decoy_near"] + 11
  o = readings.row(d, "oracle", (0, 1), ("4P",), row)   # dense run 0 at density 1
  assert o["diverged_epoch"] == row["diverged_epoch"]
  assert o["recruited_4P"] == 10000 * k["oracle_class_counts"] + 110   # [0, p=1, k=1, t=0]
  t = _filled(tms.CellReadings)
  dense = {"dense_loss": 1.0, "dense_represented": 2, "dense_superposed": 3,
           "feature_dimensionality_dense": 0.5, "diverged_epoch": -1}
  tr = readings.row(t, "cells", (0,), (), dense, after_scalars=readings.mark_diverged)
  assert list(tr)[:5] == ["dense_loss", "dense_represented", "dense_superposed",
                          "feature_dimensionality_dense", "realised_density"]
  assert list(tr)[-3:] == ["feature_dimensionality_sparse", "dense_diverged_epoch", "diverged"]


def test_a_misspelt_or_missing_reading_fails_at_construction():
  full = {f.name: np.zeros(1) for f in readings.fields(clause.CellReadings)}
  with pytest.raises(TypeError, match="sparse_acc_typo"):
    clause.CellReadings(**full, sparse_acc_typo=np.zeros(1))
  with pytest.raises(TypeError, match="sparse_acc"):
    clause.CellReadings(**{k: v for k, v in full.items() if k != "sparse_acc"})


def test_npz_keys_round_trip_and_optional_fields_are_absent():
  c = _filled(clause.CellReadings)
  c = dataclasses.replace(c, **dict.fromkeys(clause.SAE_FIELDS))   # a sweep without SAEs
  arrays = readings.to_arrays(c, "cells")
  assert "cells/sparse_codes" in arrays and not any("sae_" in a for a in arrays)
  back = readings.from_arrays(clause.CellReadings, arrays, "cells")
  chex.assert_trees_all_equal(back, c)       # the registered pytree compares field by field
  assert back.sae_fvu is None
  assert len(jax.tree.leaves(back)) == len(arrays)    # None fields are empty subtrees


def test_every_readings_field_is_documented():
  for cls in (clause.DenseReadings, clause.CellReadings, tms.DenseReadings, tms.CellReadings):
    for f in readings.fields(cls):
      assert f.metadata["doc"], f"{cls.__name__}.{f.name} has no docstring"
    assert readings.describe(cls).count("\n") == len(readings.fields(cls)) - 1


def test_the_readings_reference_is_current():
  import os
  from toyticket.reading import schema_doc
  path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                      "readings.md")
  assert open(path).read() == schema_doc.text(), (
      "docs/readings.md is stale: python -m toyticket.reading.schema_doc > docs/readings.md")
