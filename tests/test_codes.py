"""Code extraction on hand-built weights where every answer is known by hand."""
import jax.numpy as jnp
import numpy as np

from toyticket.families.clause import codes
from toyticket.ticket import embeddings

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
  c = codes.codes_of(params(), jnp.ones((3, 8)), VARS, POLS, specificity="row")
  assert int(c.delta[2, 0, 0]) == 1 and bool(c.near[2, 0, 0]) and not bool(c.exact[2, 0, 0])
  u = np.array([1, 1, 1, 0.1])
  np.testing.assert_allclose(c.dist[2, 0, 0], 1 - u.sum() / (np.linalg.norm(u) * 2), rtol=1e-5)
  np.testing.assert_allclose(c.margin[2, 0, 0], 0.1, rtol=1e-5)       # min(u)/s_h, s_h = 1
  np.testing.assert_allclose(c.margin[1, 1, 1], 0.5, rtol=1e-5)       # min(1,1,1,2)/2
  np.testing.assert_allclose(c.dist[0, 0, 0], 0.0, atol=1e-6)
  assert int(c.delta[0, 0, 1]) == 3                                   # ++++ vs best 3N1P
  assert int(c.delta[0, 1, 0]) == 8          # zero vector: 4 mismatches + 4 `+` off-clause
  local = codes.codes_of(params(), jnp.ones((3, 8)), VARS, POLS, specificity="none")
  assert int(local.delta[0, 1, 0]) == 4                               # clause-local reading
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


# ------------------------------------------------------------------------ specificity
VARS3 = jnp.array([[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 4, 5]], jnp.int32)
POLS3 = jnp.ones((3, 4), jnp.float32)


def net(w1, w2=None, b1=None):
  w1 = jnp.asarray(w1, jnp.float32)
  h = w1.shape[0]
  return {"C0": embeddings.make_c0("identity", 8, 8, None), "W1": jnp.asarray(w1, jnp.float32),
          "b1": jnp.zeros(h) if b1 is None else jnp.asarray(b1, jnp.float32),
          "W2": jnp.ones((1, h)) if w2 is None else jnp.asarray(w2, jnp.float32),
          "b2": jnp.zeros(1)}


def test_all_positive_row_is_no_specific_code():
  """An all-+ row matches 4P on every clause it covers (3 here) in the clause-local reading,
  and is a specific code of none: δ = the 4 `+` outside each clause's variables."""
  p = net([[1.0] * 8])
  loose = codes.codes_of(p, jnp.ones((1, 8)), VARS3, POLS3, specificity="none")
  strict = codes.codes_of(p, jnp.ones((1, 8)), VARS3, POLS3, specificity="row")
  np.testing.assert_array_equal(loose.exact[0, :, 0], [True, True, True])
  assert int(codes.max_row_codes(loose)) == 3 and int(codes.max_row_codes(strict)) == 0
  np.testing.assert_array_equal(strict.exact, np.zeros((1, 3, 2), bool))
  np.testing.assert_array_equal(strict.delta[0, :, 0], [4, 4, 4])
  assert not bool(strict.near.any())


def test_row_positive_exactly_on_the_clause_is_a_specific_and_detector():
  """+ on vars(c0) only, negatives elsewhere, negative bias: a 4P code of clause 0 alone
  (clause 2 shares two of its variables but has two negative entries)."""
  p = net([[1, 1, 1, 1, -0.5, -0.5, -0.1, 0.0]], b1=[-3.0])
  c = codes.codes_of(p, jnp.ones((1, 8)), VARS3, POLS3, specificity="row")
  exact = {tuple(map(int, s)) for s in np.argwhere(np.asarray(c.exact))}
  assert exact == {(0, 0, 0)}
  assert int(c.delta[0, 2, 0]) == 4    # clause 2: two − on its variables, two + outside
  one_stray = net([[1, 1, 1, 1, 0.5, -0.5, -0.1, 0.0]])   # one + outside: near, not exact
  c = codes.codes_of(one_stray, jnp.ones((1, 8)), VARS3, POLS3, specificity="row")
  assert int(c.delta[0, 0, 0]) == 1 and bool(c.near[0, 0, 0]) and not bool(c.exact[0, 0, 0])


def test_specific_inhibitor_and_its_rotation():
  """− − − + on clause 1 and nothing positive elsewhere: a 3N1P code, rotation 3; the same
  row with an extra + elsewhere is not specific."""
  p = net([[0, 0, -0.1, 0, -1, -1, -1, 2]], w2=[[-1.0]])
  c = codes.codes_of(p, jnp.ones((1, 8)), VARS3, POLS3, specificity="row")
  assert {tuple(map(int, s)) for s in np.argwhere(np.asarray(c.exact))} == {(0, 1, 1)}
  assert int(c.rotation[0, 1]) == 3
  stray = net([[1.5, 0, 0, 0, -1, -1, -1, 2]], w2=[[-1.0]])
  c = codes.codes_of(stray, jnp.ones((1, 8)), VARS3, POLS3, specificity="row")
  assert not bool(c.exact[0, 1, 1]) and int(c.delta[0, 1, 1]) == 1
  assert bool(codes.codes_of(stray, jnp.ones((1, 8)), VARS3, POLS3,
                             specificity="none").exact[0, 1, 1])


def test_one_rotation_for_delta_distance_and_margin():
  """u = (0.3, 0.9, −1, −1): categories (+, +, −, −) tie rotations 0 and 1 on mismatches
  (δ = 1 each); cos breaks the tie towards rotation 1, and d and the margin are read there."""
  p = net([[0.3, 0.9, -1, -1, 0, 0, 0, 0]], w2=[[-1.0]])
  c = codes.codes_of(p, jnp.ones((1, 8)), VARS3[:1], POLS3[:1])
  assert int(c.rotation[0, 0]) == 1 and int(c.delta[0, 0, 1]) == 1
  u, t1 = np.array([0.3, 0.9, -1, -1]), np.array([-1, 1, -1, -1])
  np.testing.assert_allclose(c.dist[0, 0, 1], 1 - u @ t1 / (np.linalg.norm(u) * 2), rtol=1e-5)
  np.testing.assert_allclose(c.margin[0, 0, 1], -0.3, rtol=1e-5)     # min(t1·u)/s, s = 1
  kind, t, d = codes.nearest(c, 4)
  assert int(kind[0, 0]) == 1
  np.testing.assert_array_equal(t[0, 0], t1)
  fixed = codes.codes_of(p, jnp.ones((1, 8)), VARS3[:1], POLS3[:1], rotation=jnp.zeros((1, 1), int))
  t0 = np.array([1, -1, -1, -1])
  np.testing.assert_allclose(fixed.dist[0, 0, 1], 1 - u @ t0 / (np.linalg.norm(u) * 2), rtol=1e-5)


def test_decoy_clauses_are_a_null_read_with_the_same_machinery():
  from toyticket.families.clause import task
  t = task.make_task(0, n=8, m=3, k=4, n_train=16, n_test=16)
  again = task.make_task(0, n=8, m=3, k=4, n_train=16, n_test=16)
  np.testing.assert_array_equal(t.decoy_vars, again.decoy_vars)
  real = {tuple(v) for v in t.clause_vars.tolist()}
  decoys = [tuple(v) for v in t.decoy_vars.tolist()]
  assert t.decoy_vars.shape == (3, 4) and not real & set(decoys) and len(set(decoys)) == 3
  # A hand-built network: row 0 detects real clause 0, row 1 detects decoy 1, row 2 is all +.
  w1 = np.full((3, 8), -0.5, np.float32)
  w1[0, t.clause_vars[0]] = 1.0
  w1[1, t.decoy_vars[1]] = 1.0
  w1[2] = 1.0
  p = net(w1)
  ones = jnp.ones((3, 8))
  real_c = codes.codes_of(p, ones, jnp.asarray(t.clause_vars), jnp.asarray(t.clause_pols),
                          specificity="row")
  decoy_c = codes.codes_of(p, ones, jnp.asarray(t.decoy_vars), jnp.asarray(t.decoy_pols),
                           specificity="row")
  assert {tuple(map(int, s)) for s in np.argwhere(np.asarray(real_c.exact))} == {(0, 0, 0)}
  assert {tuple(map(int, s)) for s in np.argwhere(np.asarray(decoy_c.exact))} == {(1, 1, 0)}
  np.testing.assert_array_equal(codes.counts(decoy_c), [1, 0])
  # Clause-local (the default): the all-+ row 2 is a 4P code of every clause, real or decoy,
  # so the decoy floor rises by exactly as much as the real count.
  local = codes.codes_of(p, ones, jnp.asarray(t.clause_vars), jnp.asarray(t.clause_pols))
  local_decoy = codes.codes_of(p, ones, jnp.asarray(t.decoy_vars), jnp.asarray(t.decoy_pols))
  np.testing.assert_array_equal(local.exact[2, :, 0], [True] * 3)
  np.testing.assert_array_equal(local_decoy.exact[2, :, 0], [True] * 3)
