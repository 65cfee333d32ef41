import numpy as np
import pytest

from toyticket.families.clause import task


def test_deterministic_and_seeded():
  a = task.make_task(3, n=10, m=5, k=3, n_train=64, n_test=32)
  b = task.make_task(3, n=10, m=5, k=3, n_train=64, n_test=32)
  c = task.make_task(4, n=10, m=5, k=3, n_train=64, n_test=32)
  np.testing.assert_array_equal(a.x_train, b.x_train)
  np.testing.assert_array_equal(a.clause_vars, b.clause_vars)
  assert not np.array_equal(a.x_train, c.x_train)


def test_clauses_distinct_vars_and_labels():
  t = task.make_task(0, n=12, m=6, k=4, target="clauses", polarity="random", n_train=2000)
  for row in t.clause_vars:
    assert len(set(row.tolist())) == 4
  sat = task.clause_values(t.x_train, t.clause_vars, t.clause_pols)
  np.testing.assert_array_equal(t.y_train, sat.astype(np.float32))
  assert t.y_train.shape == (2000, 6) and t.n_out == 6
  # Balanced sampling plants a clause in about half the rows, so positives are common.
  assert t.y_train.any(1).mean() > 0.5


def test_dnf_is_or_of_clauses():
  t = task.make_task(1, n=8, m=3, k=2, n_train=500)
  sat = task.clause_values(t.x_train, t.clause_vars, t.clause_pols)
  np.testing.assert_array_equal(t.y_train[:, 0], sat.any(1).astype(np.float32))


def test_clauses_are_distinct_and_unrepeated_draws_unchanged():
  """Data seed 2 drew a repeated variable set at m = 16 before (issue 29); now each set is
  drawn again until new. Seeds without a repeat draw exactly what they drew before."""
  from toyticket.families.clause import task
  t = task.make_task(2, n=16, m=16, k=4, n_train=16, n_test=16)
  assert len({tuple(v) for v in t.clause_vars.tolist()}) == 16
  t0 = task.make_task(0, n=16, m=8, k=4, n_train=16, n_test=16)
  # the default task's clauses, as drawn before distinctness was enforced
  assert t0.clause_vars.tolist() == [[4, 7, 8, 11], [0, 2, 10, 12], [8, 9, 10, 12],
                                     [0, 6, 9, 10], [2, 9, 10, 12], [1, 4, 7, 15],
                                     [0, 1, 10, 14], [5, 7, 8, 10]]
  with pytest.raises(ValueError):
    task.make_clauses(np.random.default_rng(0), 5, 6, 4, "positive")   # C(5, 4) = 5 < 6
