"""The hand-derived gradient against autodiff, on tiny hand-built weights."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toyticket.families.clause import kernels, model


def tiny(o=1):
  """H = 3, d = 2, n = 2, B = 4: a dead unit (pre < 0 everywhere), a masked weight, C0 ≠ I."""
  params = {"C0": jnp.array([[1.0, 0.5], [-0.5, 1.0]]),
            "W1": jnp.array([[1.0, -2.0], [0.5, 0.5], [-3.0, -3.0]]),
            "b1": jnp.array([0.1, -0.2, -1.0]),
            "W2": jnp.arange(1.0, 1.0 + 3 * o).reshape(o, 3) * jnp.array([[1.0, -1.0, 2.0]]),
            "b2": jnp.full((o,), 0.3)}
  mask = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
  x = jnp.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
  y = jnp.stack([jnp.array([0.0, 1.0, 1.0, 0.0])] * o, 1)
  return params, mask, x, y


@pytest.mark.parametrize("o", [1, 2])
def test_hand_gradient_equals_autodiff(o):
  params, mask, x, y = tiny(o)
  v_ref, g_ref = jax.value_and_grad(model.loss)(params, mask, x, y)
  v, g = kernels.fused_loss_and_grad(params, mask, x, y)
  np.testing.assert_allclose(v, v_ref, rtol=1e-6)
  chex.assert_trees_all_close(g, g_ref, rtol=1e-5, atol=1e-7)
  assert float(g["W1"][0, 1]) == 0.0                # masked weight: no gradient
  assert np.all(np.asarray(g["W1"][2]) == 0.0)      # dead unit: no gradient into its row


@pytest.mark.parametrize("o", [1, 2])
def test_embedded_gradient_equals_autodiff_with_c0_frozen(o):
  """Frozen C0: inputs embedded once (e = x C0ᵀ); same loss and W1/b1/W2/b2 gradients."""
  params, mask, x, y = tiny(o)
  v_ref, g_ref = jax.value_and_grad(model.loss)(params, mask, x, y)
  v, g = kernels.fused_loss_and_grad_embedded(params, mask, x @ params["C0"].T, y)
  np.testing.assert_allclose(v, v_ref, rtol=1e-6)
  assert set(g) == set(params) - {"C0"}
  chex.assert_trees_all_close(g, {k: g_ref[k] for k in g}, rtol=1e-5, atol=1e-7)
  assert float(g["W1"][0, 1]) == 0.0 and np.all(np.asarray(g["W1"][2]) == 0.0)


def test_hand_gradient_by_hand():
  """One example, one unit, C0 = I: ∂W1 = (σ(z) − y)·W2·x, computed on paper."""
  params = {"C0": jnp.eye(2), "W1": jnp.array([[1.0, 1.0]]), "b1": jnp.zeros(1),
            "W2": jnp.array([[2.0]]), "b2": jnp.zeros(1)}
  x, y = jnp.array([[1.0, 0.0]]), jnp.array([[1.0]])
  v, g = kernels.fused_loss_and_grad(params, jnp.ones((1, 2)), x, y)
  s = 1 / (1 + np.exp(-2.0))                        # z = W2 · relu(1) = 2
  np.testing.assert_allclose(v, -np.log(s), rtol=1e-6)
  np.testing.assert_allclose(g["W1"], [[(s - 1) * 2.0, 0.0]], rtol=1e-6)
  np.testing.assert_allclose(g["W2"], [[(s - 1) * 1.0]], rtol=1e-6)
  np.testing.assert_allclose(g["b2"], [s - 1], rtol=1e-6)


def test_small_matmul_equals_matmul():
  a = jax.random.normal(jax.random.PRNGKey(0), (5, 3, 7))
  b = jax.random.normal(jax.random.PRNGKey(1), (5, 7, 4))
  np.testing.assert_allclose(kernels.small_matmul(a, b), a @ b, rtol=1e-5, atol=1e-6)
  big = jax.random.normal(jax.random.PRNGKey(2), (2, 65))
  np.testing.assert_allclose(kernels.small_matmul(big, big.T), big @ big.T, rtol=1e-5)


def test_train_path_is_chosen_by_config_and_backend_never_by_shape():
  assert kernels.train_path("auto", "cpu", False) == "fused"
  assert kernels.train_path("auto", "cpu", True) == "fused_embedded"
  assert kernels.train_path("auto", "gpu", True) == "autodiff"
  assert kernels.train_path("autodiff", "cpu", True) == "autodiff"
  assert kernels.train_path("fused", "gpu", False) == "fused"
  with pytest.raises(ValueError, match="grad_impl"):
    kernels.train_path("bogus", "cpu", False)
