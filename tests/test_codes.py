"""Code extraction on hand-built weights where every answer is known by hand."""
import jax.numpy as jnp
import numpy as np

from toyticket import codes, embeddings

VARS = jnp.array([[0, 1, 2, 3], [4, 5, 6, 7]], jnp.int32)
POLS = jnp.ones((2, 4), jnp.float32)
# C0 = identity, so C1 = W1. Row 0: a 4P detector of clause 0. Row 1: a 3N1P inhibitor of
# clause 1 with its + at position 3. Row 2: a near-4P on clause 0 (one entry below τ·s).
W1 = jnp.array([[1, 1, 1, 1, 0, 0, 0, 0],
                [0, 0, 0, 0, -1, -1, -1, 2],
                [1, 1, 1, 0.1, 0, 0, 0, 0]], jnp.float32)
W2 = jnp.array([[1.0, -1.0, 1.0]])


def params(w2=W2):
  return {"C0": embeddings.make_c0("identity", 8, 8, None), "W1": W1,
          "b1": jnp.zeros(3), "W2": w2, "b2": jnp.zeros(1)}


def test_exact_sites():
  c = codes.codes_of(params(), jnp.ones((3, 8)), VARS, POLS)
  exact = {tuple(map(int, s)) for s in np.argwhere(np.asarray(c.exact))}
  assert exact == {(0, 0, 0), (1, 1, 1)}
  assert int(c.rotation[1, 1]) == 3
  np.testing.assert_array_equal(codes.counts(c), [1, 1])


def test_readout_sign_is_checked_and_switchable():
  flipped = params(jnp.array([[-1.0, -1.0, 1.0]]))
  c = codes.codes_of(flipped, jnp.ones((3, 8)), VARS, POLS)
  assert not bool(c.exact[0, 0, 0]) and bool(c.exact[1, 1, 1])
  c = codes.codes_of(flipped, jnp.ones((3, 8)), VARS, POLS, readout_check=False)
  assert bool(c.exact[0, 0, 0])


def test_distances_by_hand():
  c = codes.codes_of(params(), jnp.ones((3, 8)), VARS, POLS)
  assert int(c.delta[2, 0, 0]) == 1 and bool(c.near[2, 0, 0]) and not bool(c.exact[2, 0, 0])
  u = np.array([1, 1, 1, 0.1])
  np.testing.assert_allclose(c.dist[2, 0, 0], 1 - u.sum() / (np.linalg.norm(u) * 2), rtol=1e-5)
  np.testing.assert_allclose(c.margin[2, 0, 0], 0.1, rtol=1e-5)       # min(u)/s_h, s_h = 1
  np.testing.assert_allclose(c.margin[1, 1, 1], 0.5, rtol=1e-5)       # min(1,1,1,2)/2
  np.testing.assert_allclose(c.dist[0, 0, 0], 0.0, atol=1e-6)
  assert int(c.delta[0, 0, 1]) == 3                                   # ++++ vs best 3N1P
  assert int(c.delta[0, 1, 0]) == 4                                   # zero vector: all 0
  np.testing.assert_array_equal(c.row_load, [1, 1, 1])


def test_mask_changes_codes_and_vmaps_over_runs():
  mask = jnp.ones((3, 8)).at[0, 3].set(0.0)     # breaks row 0's 4P: one entry becomes 0
  c = codes.codes_of(params(), mask, VARS, POLS)
  assert not bool(c.exact[0, 0, 0]) and int(c.delta[0, 0, 0]) == 1
  import jax
  stacked = jax.vmap(lambda m: codes.counts(codes.codes_of(params(), m, VARS, POLS)))(
      jnp.stack([jnp.ones((3, 8)), mask]))
  np.testing.assert_array_equal(stacked, [[1, 1], [0, 1]])


def test_hadamard_c0():
  c0 = embeddings.make_c0("hadamard", 8, 6, None)
  np.testing.assert_allclose(c0.T @ c0, np.eye(6), atol=1e-6)
