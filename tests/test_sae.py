"""SAEs: training reduces the loss and recovers a planted sparse dictionary; batched SAEs
equal SAEs trained one at a time; code indicators and matching on hand-built cases."""
import chex
import jax
import jax.numpy as jnp
import numpy as np

from toyticket.families.clause import sae


def planted(key, n=2048, d=8, atoms=6, active=0.15):
  """h = s D with D (atoms, d) unit rows (orthogonal: the first 6 of a random orthogonal
  basis of R^8) and sparse non-negative codes s."""
  k1, k2, k3 = jax.random.split(key, 3)
  q, _ = jnp.linalg.qr(jax.random.normal(k1, (d, d)))
  dic = q[:atoms]
  s = jax.random.uniform(k2, (n, atoms)) * (jax.random.uniform(k3, (n, atoms)) < active)
  return s @ dic, dic


def test_sae_reduces_loss_and_recovers_planted_atoms():
  h, dic = planted(jax.random.PRNGKey(0))
  p, losses = jax.jit(sae.train, static_argnums=(3, 4, 5))(jax.random.PRNGKey(1), h, 1e-3,
                                                            24, 1500, 1e-2)
  assert float(losses[-1]) < 0.2 * float(losses[0])
  cos = np.abs(np.asarray(dic @ p["W_dec"]))              # (atoms, L), atoms unit-norm
  assert cos.max(1).min() > 0.9, cos.max(1)
  st = sae.stats(p, h)
  assert float(st["fvu"]) < 0.1 and float(st["l0"]) > 0


def test_batched_saes_equal_saes_one_at_a_time():
  hs = jnp.stack([planted(jax.random.PRNGKey(s), n=256)[0] for s in range(3)])
  keys = jax.random.split(jax.random.PRNGKey(7), 3)
  l1s = jnp.array([1e-3, 3e-3, 1e-2])
  fn = lambda k, h, l1: sae.train(k, h, l1, 12, 50, 1e-2)
  batched = jax.jit(jax.vmap(fn))(keys, hs, l1s)
  for i in range(3):
    alone = jax.jit(fn)(keys[i], hs[i], l1s[i])
    chex.assert_trees_all_close(jax.tree.map(lambda b: b[i], batched), alone,
                                rtol=2e-5, atol=2e-6)


def test_code_indicators_on_hand_built_inputs():
  # one clause over variables (0, 1, 2, 3) with polarities (+, +, −, +)
  cv, cp = jnp.array([[0, 1, 2, 3]]), jnp.array([[1, 1, -1, 1]])
  x = jnp.array([[1, 1, 0, 1],      # all literals true → 4P
                 [1, 0, 1, 0],      # literal 0 true only → 3N1P rotation 0
                 [0, 0, 1, 1],      # literal 3 true only → rotation 3
                 [1, 1, 1, 1]], jnp.float32)
  ind = np.asarray(sae.code_indicators(x, cv, cp, 4))     # (N, m, T, k)
  assert ind.shape == (4, 1, 2, 4)
  np.testing.assert_array_equal(ind[:, 0, 0, 0], [1, 0, 0, 0])
  np.testing.assert_array_equal(ind[:, 0, 1], [[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1],
                                               [0, 0, 0, 0]])


def test_matching_needs_both_activation_and_direction():
  # 2 hidden rows, 1 clause; row 0 holds an exact 4P code. Latent 0 fires exactly on the
  # clause and its atom is e_0: a match. Latent 1 fires on it too but points along e_1.
  ind = jnp.array([1, 0, 1, 0, 0], jnp.float32)
  indicators = jnp.zeros((5, 1, 2, 4)).at[:, 0, 0, :].set(ind[:, None])
  exact = jnp.zeros((2, 1, 2), bool).at[0, 0, 0].set(True)
  rotation = jnp.zeros((2, 1), jnp.int32)
  f = jnp.stack([ind * 2.0, ind], 1)
  atoms = jnp.eye(2)
  np.testing.assert_array_equal(sae.matched_codes(f, atoms, exact, rotation, indicators),
                                [1, 0])
  np.testing.assert_array_equal(   # atoms swapped: latent 1 (also firing) now along e_0
      sae.matched_codes(f, atoms[:, ::-1], exact, rotation, indicators), [1, 0])
  np.testing.assert_array_equal(   # only latent 1, along e_1: fires right, wrong direction
      sae.matched_codes(f[:, 1:], atoms[:, 1:], exact, rotation, indicators), [0, 0])
  np.testing.assert_array_equal(
      sae.matched_codes(jnp.zeros_like(f), atoms, exact, rotation, indicators), [0, 0])
