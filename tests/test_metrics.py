"""Each metric on tiny hand-built site arrays where the answer is known."""
import chex
import jax.numpy as jnp
import numpy as np

from toyticket.families.clause import metrics as M


def sites(*idx, shape=(3, 2, 2)):
  a = np.zeros(shape, bool)
  for i in idx:
    a[i] = True
  return jnp.asarray(a)


def test_moved_code_counts_for_family_not_same_site():
  dense = sites((0, 1, 0))
  moved = sites((2, 1, 0))            # same clause 1, same 4P template, other row
  np.testing.assert_array_equal(M.same_site_recall(dense, moved)[:1], [0.0])
  np.testing.assert_array_equal(M.family_recall(dense, moved)[:1], [1.0])
  kept = sites((0, 1, 0))
  np.testing.assert_array_equal(M.same_site_recall(dense, kept)[:1], [1.0])
  assert np.isnan(M.same_site_recall(dense, kept)[1])       # no dense 3N1P codes


def test_site_classes():
  near0 = sites((0, 0, 0), (1, 0, 0))
  exact_end = sites((0, 0, 0), (2, 1, 1))
  stable, recruited, lost = np.asarray(M.site_classes(near0, exact_end))
  assert stable[0, 0, 0] and stable.sum() == 1               # near at θ0, exact at end
  assert recruited[2, 1, 1] and recruited.sum() == 1         # far at θ0, exact at end
  assert lost[1, 0, 0] and lost.sum() == 1                   # near at θ0, not exact


class JaccardTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_jaccard(self):
    jaccard = self.variant(M.jaccard)
    a = jnp.array([1, 1, 0, 0])
    b = jnp.array([1, 0, 1, 0])
    np.testing.assert_allclose(jaccard(a, b), 1 / 3)
    assert np.isnan(jaccard(jnp.zeros(3), jnp.zeros(3)))


def test_near_fraction_over_training():
  final = sites((0, 0, 0))
  traj = jnp.stack([sites((1, 0, 0)), sites((0, 0, 0), (1, 0, 0))])   # 2 epochs
  codes_frac, rest_frac = M.near_fraction(traj, final)
  np.testing.assert_allclose(codes_frac[:, 0], [0.0, 1.0])
  np.testing.assert_allclose(rest_frac[:, 0], [1 / 5, 1 / 5])          # 5 non-code 4P sites


def test_survival_joint_in_row_load_and_distance():
  supported = sites((0, 0, 0), (0, 1, 0), (1, 0, 0))
  survived = sites((1, 0, 0), (2, 1, 1))          # (2, 1, 1) survives but was not supported
  load = jnp.array([2, 1, 0])
  dist0 = jnp.full((3, 2, 2), 0.05).at[1, 0, 0].set(0.55)
  table = np.asarray(M.survival(supported, survived, load, dist0))
  assert table.shape == (2, M.LOAD_BINS, len(M.DIST_BINS) - 1)
  expect = np.zeros_like(table)
  expect[0, 2, 0] = 2                  # row 0: load 2, two supported sites at d < 0.2
  expect[0, 1, 2] = expect[1, 1, 2] = 1  # row 1: load 1, d = 0.55 (bin 0.4–0.6), survived
  np.testing.assert_array_equal(table, expect)
  big = np.asarray(M.survival(supported, survived, jnp.array([20, 1, 0]), dist0))
  assert big[0, M.LOAD_BINS - 1, 0] == 2         # loads past the last bin are clipped into it


class CodeFatesTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_code_fates_kept_moved_lost_and_overlap(self):
    dense = sites((0, 0, 0), (1, 1, 0), (2, 0, 1))
    sparse = sites((0, 0, 0), (0, 1, 0), (1, 0, 0))  # (1,1,0) moved to row 0; (2,0,1) lost
    fates, overlap = (np.asarray(a) for a in self.variant(M.code_fates)(dense, sparse))
    np.testing.assert_allclose(fates[:, 0], [0.5, 0.5, 0.0])  # 4P: kept (0,0), moved (1,1)
    np.testing.assert_allclose(fates[:, 1], [0.0, 0.0, 1.0])  # 3N1P: its only code lost
    np.testing.assert_allclose(fates.sum(0), [1.0, 1.0])
    np.testing.assert_allclose(overlap[0], 1 / 3)             # 1 of 3 sparse 4P codes
    assert np.isnan(overlap[1])                               # no sparse 3N1P codes


def test_class_trajectories_and_initial_distance_hist():
  classes = jnp.stack([sites((0, 0, 0)), sites((1, 0, 0)), sites()])
  dist = jnp.stack([jnp.full((3, 2, 2), 1.0), jnp.full((3, 2, 2), 0.0).at[1, 0, 0].set(0.5)])
  d, _ = M.class_trajectories(classes, dist, dist)
  np.testing.assert_allclose(d[:, 0, 0], [1.0, 0.0])      # stable
  np.testing.assert_allclose(d[:, 1, 0], [1.0, 0.5])      # recruited
  assert np.all(np.isnan(d[:, 2, 0]))                     # empty class
  h = M.initial_distance_hist(sites((0, 0, 1)), jnp.full((3, 2, 2), 1.95))
  assert int(h[1, -1]) == 1 and int(h.sum()) == 1
