import numpy as np

from toyticket import task


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
