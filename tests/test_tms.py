"""TMS pieces on hand-built cases: model and loss, feature dimensionality, representation,
superposition, same-feature recall."""
import jax
import jax.numpy as jnp
import numpy as np

from toyticket import tms


def test_model_and_loss_on_a_hand_computed_case():
  # n = 2 features, m = 1 hidden dim: W = [[1, -1]], b = [0, 0.5]
  p = {"W": jnp.array([[1.0, -1.0]]), "b": jnp.array([0.0, 0.5])}
  ones = jnp.ones((1, 2))
  x = jnp.array([[1.0, 0.0], [0.5, 0.5]])
  # h = x1 − x2: (1, 0); x̂ = relu(Wᵀ h + b): (relu(1), relu(−1 + .5)) = (1, 0) and (0, .5)
  np.testing.assert_allclose(tms.apply(p, ones, x), [[1.0, 0.0], [0.0, 0.5]])
  imp = jnp.array([1.0, 0.5])
  # errors: (0, 0) and (.5, 0) → weighted sums 0 and 1·.25 → mean 0.125
  np.testing.assert_allclose(tms.loss(p, ones, x, imp), 0.125)
  # masking W's second entry: h = x1, x̂ = (relu(x1), relu(0 + .5))
  mask = jnp.array([[1.0, 0.0]])
  np.testing.assert_allclose(tms.apply(p, mask, x), [[1.0, 0.5], [0.5, 0.5]])
  np.testing.assert_allclose(tms.importance(3, 0.5), [1.0, 0.5, 0.25])


def test_sample_has_the_asked_sparsity():
  x = tms.sample(jax.random.PRNGKey(0), 20000, 4, 0.9)
  assert abs(float(jnp.mean(x == 0)) - 0.9) < 0.01 and float(x.max()) <= 1.0


def test_feature_dimensionality_on_hand_built_geometry():
  # orthogonal features: D = 1 each
  np.testing.assert_allclose(tms.feature_dimensionality(jnp.eye(3)), [1.0, 1.0, 1.0])
  # an antipodal pair in one dimension, plus a feature alone in the other: 1/2, 1/2, 1
  w = jnp.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
  np.testing.assert_allclose(tms.feature_dimensionality(w), [0.5, 0.5, 1.0], rtol=1e-6)
  # a triangle in 2-D: 2/3 each (each feature shares its 2 dims with two at 120°)
  ang = jnp.array([0.0, 2.0, 4.0]) * jnp.pi / 3
  tri = jnp.stack([jnp.cos(ang), jnp.sin(ang)])
  np.testing.assert_allclose(tms.feature_dimensionality(tri), [2 / 3] * 3, rtol=1e-5)
  # an unrepresented (zero) feature has D = 0
  np.testing.assert_allclose(tms.feature_dimensionality(jnp.zeros((2, 1))), [0.0])


def test_represented_superposed_and_recall():
  w = jnp.array([[1.0, -1.0, 0.0, 0.1], [0.0, 0.0, 1.0, 0.0]])
  np.testing.assert_array_equal(tms.represented(w), [True, True, True, False])
  np.testing.assert_array_equal(tms.superposed(w), [True, True, False, False])
  sparse = w.at[:, 1].set(0.0)               # the ticket drops feature 1
  np.testing.assert_allclose(tms.same_feature_recall(w, sparse), 2 / 3)
  assert np.isnan(tms.same_feature_recall(jnp.zeros((2, 4)), w))
