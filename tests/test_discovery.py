"""Mask methods: exact density, ties, nesting, and each score against a hand computation."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toyticket.discovery import impls as D
from toyticket.discovery import sites, weight
from toyticket.families.clause import kernels, model
from toyticket.ticket import embeddings
from toyticket.discovery import methods

jax.config.update("jax_enable_x64", False)


def test_topk_exact_density_and_index_ties():
  score = jnp.array([[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, 1.0]])
  m = D.topk_mask(score, jnp.float32(0.5))                 # keep 4 of 8
  np.testing.assert_array_equal(m, [[1, 1, 1, 0], [1, 0, 0, 0]])
  for rho in (0.125, 0.25, 0.375, 1.0):
    assert float(D.topk_mask(score, jnp.float32(rho)).sum()) == rho * 8


class TopkNanLastTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_topk_nan_last_and_within_is_nested(self):
    topk_mask = self.variant(D.topk_mask)         # density traced under jit
    score = jnp.array([jnp.nan, 3.0, -jnp.inf, 1.0, 2.0, -jnp.inf])
    np.testing.assert_array_equal(topk_mask(score, jnp.float32(0.5)), [0, 1, 0, 1, 1, 0])
    within = jnp.array([1.0, 0, 1, 0, 0, 1])
    # Every entry inside `within` ranks first, even with −inf/NaN scores: no revival.
    np.testing.assert_array_equal(topk_mask(score, jnp.float32(0.5), within=within), within)
    # Inside `within` all scores are −inf (NaN counts as −inf): ties go to the lower index.
    np.testing.assert_array_equal(topk_mask(score, jnp.float32(2 / 6), within=within),
                                  [1, 0, 1, 0, 0, 0])


def tiny_params(seed=0, d=4, n=4, h=3):
  k = jax.random.PRNGKey(seed)
  return model.init_params(k, embeddings.make_c0("random_fixed", d, n, jax.random.fold_in(k, 9)),
                           h, 1)


def tiny_data(n=4, count=32):
  x = jax.random.bernoulli(jax.random.PRNGKey(1), 0.5, (count, n)).astype(jnp.float32)
  return x, (x[:, :1] * x[:, 1:2])


def fd_grad(f, w, eps=1e-3):
  g = np.zeros(w.size)
  for i in range(w.size):
    e = np.zeros(w.size, np.float32)
    e[i] = eps
    e = e.reshape(w.shape)
    g[i] = (f(w + e) - f(w - e)) / (2 * eps)
  return g.reshape(w.shape)


def test_snip_matches_finite_differences():
  p, (x, y) = tiny_params(), tiny_data()
  g = fd_grad(lambda w: float(D.w1_loss(w, p, x, y)), np.asarray(p["W1"]))
  np.testing.assert_allclose(D.w1_grad(p, x, y), g, atol=2e-3)
  ctx = D.Context({k: v[None] for k, v in p.items()}, 0, None, x, y, None, None,
                  D.DiscoveryConfig())
  np.testing.assert_allclose(weight._snip(ctx), np.abs(g * p["W1"]), atol=2e-3)


def test_grasp_hg_matches_finite_differences():
  p, (x, y) = tiny_params(), tiny_data()
  g = D.w1_grad(p, x, y)
  # Hg ≈ (∇L(w + εg) − ∇L(w − εg)) / 2ε
  eps = 1e-2
  grad_at = lambda w: D.w1_grad({**p, "W1": w}, x, y)
  fd = (grad_at(p["W1"] + eps * g) - grad_at(p["W1"] - eps * g)) / (2 * eps)
  np.testing.assert_allclose(D.hvp_w1(p, x, y, g), fd, atol=1e-3, rtol=1e-2)
  ctx = D.Context({k: v[None] for k, v in p.items()}, 0, None, x, y, None, None,
                  D.DiscoveryConfig())
  np.testing.assert_allclose(weight._grasp_w1(ctx), p["W1"] * fd, atol=1e-3, rtol=1e-2)


def test_grasp_whole_network_hg_at_temperature_by_finite_differences():
  """grasp: W1's score is W1 ⊙ (H g)_W1 with g and H over (W1, W2) of the loss at T:
  (∇_W1 L_T(θ + εg) − ∇_W1 L_T(θ − εg)) / 2ε, g = ∇_(W1,W2) L_T, by central differences."""
  p, (x, y) = tiny_params(), tiny_data()
  for temp in (1.0, 200.0):
    lt = lambda q: model.loss(q, jnp.ones_like(q["W1"]), x, y, temperature=temp)
    g = jax.grad(lt)({"W1": p["W1"], "W2": p["W2"]} | {k: v for k, v in p.items()
                                                      if k not in ("W1", "W2")})
    eps = 1e-2 / float(jnp.sqrt(sum(jnp.sum(g[k] ** 2) for k in ("W1", "W2"))))
    at = lambda s: jax.grad(lt)({**p, "W1": p["W1"] + s * g["W1"], "W2": p["W2"] + s * g["W2"]})["W1"]
    fd = (at(eps) - at(-eps)) / (2 * eps)
    score = D.grasp_scores(p, x, y, temperature=temp)
    np.testing.assert_allclose(score["W1"] / jnp.abs(score["W1"]).max(),
                               p["W1"] * fd / jnp.abs(p["W1"] * fd).max(), atol=2e-3)
    assert set(score) == {"W1", "W2"}
  # the W2 block changes W1's ranking: the whole-network score differs from grasp_w1's
  ctx = D.Context({k: v[None] for k, v in p.items()}, 0, None, x, y, None, None,
                  D.DiscoveryConfig())
  assert not np.allclose(weight._grasp(ctx) / jnp.abs(weight._grasp(ctx)).max(),
                         weight._grasp_w1(ctx) / jnp.abs(weight._grasp_w1(ctx)).max(), atol=1e-2)


class ObsSaliencyTest(chex.TestCase):

  @chex.variants(with_jit=True, without_jit=True)
  def test_obs_saliency_and_damped_inverse_by_hand(self):
    hess = jnp.array([[2.0, 1.0], [1.0, 2.0]])
    hinv = D.damped_inverse(hess, 0.0)
    np.testing.assert_allclose(hinv, np.linalg.inv(np.array([[2.0, 1], [1, 2]])), rtol=1e-6)
    # diag of the inverse is 2/3: saliency w²/(2·2/3) = 0.75 w²
    np.testing.assert_allclose(self.variant(D.obs_saliency)(jnp.array([[1.0, 2.0]]), hinv),
                               [[0.75, 3.0]], rtol=1e-5)
    damped = D.damped_inverse(hess, 0.5)                    # λ = 0.5 · mean(diag) = 1
    np.testing.assert_allclose(damped, np.linalg.inv(np.array([[3.0, 1], [1, 3]])), rtol=1e-6)


def test_spd_inverse_matches_lapack_inverse():
  x = jax.random.normal(jax.random.PRNGKey(0), (80, 40))
  a = x.T @ x / 80 + 0.05 * jnp.eye(40)
  np.testing.assert_allclose(kernels.gauss_jordan_inverse(a),
                             np.linalg.inv(np.asarray(a, np.float64)), rtol=1e-3, atol=1e-4)
  np.testing.assert_allclose(kernels.gauss_jordan_inverse(a) @ a, np.eye(40), atol=1e-4)


def test_hessian_is_symmetric_and_matches_hvp():
  p, (x, y) = tiny_params(), tiny_data()
  hess = D.w1_hessian(p, x, y)
  np.testing.assert_allclose(hess, hess.T, atol=1e-5)
  v = jax.random.normal(jax.random.PRNGKey(3), p["W1"].shape)
  np.testing.assert_allclose(hess @ v.ravel(), D.hvp_w1(p, x, y, v).ravel(), atol=1e-5)


def test_synflow_conservation_two_layer():
  w1 = jax.random.normal(jax.random.PRNGKey(0), (5, 3))
  w2 = jax.random.normal(jax.random.PRNGKey(1), (2, 5))
  (s1, s2), r = D.synflow_scores([w1, w2])
  np.testing.assert_allclose(s1.sum(), r, rtol=1e-5)
  np.testing.assert_allclose(s2.sum(), r, rtol=1e-5)
  # Per-neuron conservation: the score entering hidden unit h equals the score leaving it.
  np.testing.assert_allclose(s1.sum(1), s2.sum(0), rtol=1e-5)


def test_synflow_no_overflow_with_huge_weights():
  (s,), r = D.synflow_scores([jnp.full((4, 4), 1e30)])
  assert np.isfinite(r) and np.all(np.isfinite(s))


def traj_of(p, epochs=3):
  return jax.tree.map(lambda a: jnp.stack([a] * (epochs + 1)), p)


def ctx_for(p, probe=0, x=None, y=None, vars_=None, pols=None, **hp):
  if x is None:
    x, y = tiny_data(p["C0"].shape[1])
  return D.Context(traj_of(p), probe, jax.random.PRNGKey(0), x, y, vars_, pols,
                   D.DiscoveryConfig(**hp))


@pytest.mark.parametrize("name", ["obs_iterative", "synflow", "earlybird"])
def test_iterative_methods_exact_density_and_nested(name):
  p = tiny_params(d=4, n=4, h=4)
  ctx = ctx_for(p, synflow_iters=6)
  meth = D.IMPLS[name]
  aux = meth.prepare(ctx)
  masks = [meth.select(aux, ctx, jnp.float32(rho))[0] for rho in (0.75, 0.5, 0.25)]
  for rho, m in zip((0.75, 0.5, 0.25), masks):
    assert float(m.sum()) == rho * 16
  if name == "obs_iterative":   # one removal order, so lower densities are nested
    assert np.all(masks[1] <= masks[0]) and np.all(masks[2] <= masks[1])


def test_obs_iterative_corrects_weights_and_zeroes_pruned():
  p = tiny_params(d=4, n=4, h=4)
  ctx = ctx_for(p)
  meth = D.IMPLS["obs_iterative"]
  mask, w, _ = meth.select(meth.prepare(ctx), ctx, jnp.float32(0.5))
  assert np.all(np.asarray(w)[np.asarray(mask) == 0] == 0)
  kept = np.asarray(mask) > 0
  assert not np.allclose(np.asarray(w)[kept], np.asarray(p["W1"])[kept])  # corrected


def test_earlybird_consecutive_rule_on_hand_built_masks():
  """earlybird_consecutive: δ_e = fraction of entries changed from epoch e−1; fire at the
  first e ≥ window whose last window−1 distances are all < eps."""
  m = lambda *bits: jnp.array(bits, jnp.float32)
  masks = jnp.stack([m(1, 1, 0, 0), m(1, 0, 1, 0), m(1, 0, 1, 0), m(1, 0, 0, 1),
                     m(1, 0, 0, 1), m(1, 0, 0, 1), m(0, 1, 0, 1)])
  rule = D.earlybird_epoch_consecutive
  # δ_1..δ_6 = 0.5, 0, 0.5, 0, 0, 0.5
  assert int(rule(masks, 0.1, 2)) == 2        # e ≥ 2 with δ_e < 0.1: e = 2
  assert int(rule(masks, 0.1, 3)) == 5        # δ_4, δ_5 both 0
  assert int(rule(masks, 0.1, 4)) == -1       # never 3 stable steps in a row
  assert int(rule(masks, 0.6, 4)) == 4        # every δ < 0.6: first e ≥ 4


def test_earlybird_authors_queue_rule_on_hand_built_masks():
  """earlybird (the authors' queue): FIFO of `window` masks from θ0 on; fire at the first
  e ≥ window − 1 where the newest mask is within eps of EACH older one (δ ≤ eps)."""
  m = lambda *bits: jnp.array(bits, jnp.float32)
  masks = jnp.stack([m(1, 1, 0, 0), m(1, 0, 1, 0), m(1, 0, 1, 0), m(1, 0, 0, 1),
                     m(1, 0, 0, 1), m(1, 0, 0, 1), m(0, 1, 0, 1)])
  assert int(D.earlybird_epoch(masks, 0.1, 2)) == 2       # m_2 = m_1
  assert int(D.earlybird_epoch(masks, 0.1, 3)) == 5       # m_5 = m_4 = m_3
  assert int(D.earlybird_epoch(masks, 0.6, 4)) == 3       # θ0 is in the queue: e = 3 fires
  assert int(D.earlybird_epoch(masks, 0.5, 4)) == 3       # δ ≤ eps fires (their `> eps` refuses)
  assert int(D.earlybird_epoch(masks, 0.49, 4)) == -1
  # A slow drift (one entry of 10 moves per epoch): every consecutive δ = 0.2 passes a
  # 0.25 threshold, but the newest mask is 0.4+ from the oldest ones in the queue.
  drift = jnp.stack([jnp.roll(jnp.array([1.0] * 5 + [0.0] * 5), e) for e in range(8)])
  assert int(D.earlybird_epoch_consecutive(drift, 0.25, 5)) == 5
  assert int(D.earlybird_epoch(drift, 0.25, 5)) == -1


def test_earlybird_select_returns_firing_epoch_or_falls_back():
  p = tiny_params(d=4, n=4, h=4)
  w_early = jnp.arange(16.0).reshape(4, 4)
  w_late = w_early[::-1]
  seq = [w_late, w_late, w_early, w_early, w_early, w_early, w_late]  # stable 2..5
  traj = {**traj_of(p, 6), "W1": jnp.stack(seq)}
  ctx = D.Context(traj, 0, None, None, None, None, None,
                  D.DiscoveryConfig(earlybird_eps=0.1, earlybird_window=3))
  mask, _, epoch = D.IMPLS["earlybird"].select(None, ctx, jnp.float32(0.5))
  assert int(epoch) == 4                                    # δ_3 = δ_4 = 0
  np.testing.assert_array_equal(mask, D.topk_mask(w_early, jnp.float32(0.5)))
  ctx = ctx.replace(hp=D.DiscoveryConfig(earlybird_eps=0.1, earlybird_window=6))
  mask, _, epoch = D.IMPLS["earlybird"].select(None, ctx, jnp.float32(0.5))
  assert int(epoch) == -1                                   # never fires: dense-final mask
  np.testing.assert_array_equal(mask, D.topk_mask(w_late, jnp.float32(0.5)))


# ----------------------------------------------------------------- translations
VARS = jnp.array([[0, 1], [2, 3]], jnp.int32)
POLS = jnp.ones((2, 2), jnp.float32)


def translation_setup():
  """C0 = I (d = n = 4), k = 2. Row 0 is a perfect 2P detector of clause 0 (W1 = 1 on vars
  0, 1); row 1 is noise. Every translation should keep W1[0, 0] and W1[0, 1] first."""
  c0 = jnp.eye(4)
  w1 = jnp.array([[1.0, 1.0, 0.05, -0.05], [0.3, -0.2, 0.1, 0.2]])
  p = {"C0": c0, "W1": w1, "b1": jnp.zeros(2), "W2": jnp.ones((1, 2)), "b2": jnp.zeros(1)}
  return p


@pytest.mark.parametrize("translation", methods.TRANSLATIONS)
def test_translation_keeps_the_detector_coordinates(translation):
  p = translation_setup()
  ctx = ctx_for(p, x=jnp.zeros((4, 4)), y=jnp.zeros((4, 1)), vars_=VARS, pols=POLS,
                coords_per_site=2)
  meth = D.feature_impl("static", translation)
  mask, _, _ = meth.select(meth.prepare(ctx), ctx, jnp.float32(0.25))   # 2 of 8 kept
  np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [0, 0, 0, 0]])


def test_site_scores_static_dynamic():
  p = translation_setup()
  ctx = ctx_for(p, x=jnp.zeros((4, 4)), y=jnp.zeros((4, 1)), vars_=VARS, pols=POLS)
  s, t = D.site_scores("static", ctx)
  np.testing.assert_allclose(s[0, 0], 0.0, atol=1e-6)          # exact 2P: distance 0
  np.testing.assert_array_equal(t[0, 0], [1, 1])
  s_dyn, _ = D.site_scores("dynamic", ctx)                      # no motion: d0 − de = 0
  np.testing.assert_allclose(s_dyn, 0.0, atol=1e-6)


def test_kappa_by_hand():
  p = translation_setup()
  ctx = ctx_for(p, vars_=VARS, pols=POLS)
  a = D.clause_couplings(p["C0"], VARS, POLS)                  # (m, 1+k, d)
  # clause 0, 2P template t=(1,1)/√2: a[0,0] = (1,1,0,0)/√2
  np.testing.assert_allclose(a[0, 0], np.array([1, 1, 0, 0]) / np.sqrt(2), rtol=1e-6)
  score = sites._kappa(ctx, use_grad=False)
  np.testing.assert_allclose(score[0, 0], 1 / np.sqrt(2), rtol=1e-5)


def test_feature_space_target_uses_the_codes_rotation():
  """Discovery's target template is codes.py's rotation (δ tie broken by cos), not an
  independent argmin: u = (0.3, 0.9, −1, −1) ties rotations 0 and 1 on δ; both pick 1."""
  from toyticket.families.clause import codes
  c0 = jnp.eye(4)
  p = {"C0": c0, "W1": jnp.array([[0.3, 0.9, -1.0, -1.0]]), "b1": jnp.zeros(1),
       "W2": -jnp.ones((1, 1)), "b2": jnp.zeros(1)}
  vars_, pols = jnp.array([[0, 1, 2, 3]], jnp.int32), jnp.ones((1, 4))
  ctx = ctx_for(p, x=jnp.zeros((4, 4)), y=jnp.zeros((4, 1)), vars_=vars_, pols=pols)
  dist, t, (kind, rot) = D.site_geometry(p, ctx)
  c = codes.codes_of(p, jnp.ones((1, 4)), vars_, pols)
  assert int(rot[0, 0]) == int(c.rotation[0, 0]) == 1 and int(kind[0, 0]) == 1
  np.testing.assert_array_equal(t[0, 0], [-1, 1, -1, -1])
  np.testing.assert_allclose(dist[0, 0], c.dist[0, 0, 1])


def test_synflow_under_w1_budget_equals_one_shot_and_joint_variant_differs():
  """∂R/∂|W1|[h,j] = (1ᵀ|W2|)_h (|C0|1)_j is mask-independent, so iterative SynFlow over W1
  alone equals one-shot top-ρ of |W1[h,j]| a_h b_j; pruning W1 ∪ W2 jointly does not."""
  k = jax.random.split(jax.random.PRNGKey(0), 3)
  p = {"C0": jax.random.normal(k[0], (6, 5)), "W1": jax.random.normal(k[1], (4, 6)),
       "W2": jax.random.normal(k[2], (1, 4)), "b1": jnp.zeros(4), "b2": jnp.zeros(1)}
  ctx = D.Context(jax.tree.map(lambda a: a[None], p), 0, None, None, None, None, None,
                  D.DiscoveryConfig(synflow_iters=10))
  rho = jnp.float32(0.25)
  iterative, _, _ = D.IMPLS["synflow"].select(None, ctx, rho)
  a, b = jnp.abs(p["W2"]).sum(0), jnp.abs(p["C0"]).sum(1)
  np.testing.assert_array_equal(iterative, D.topk_mask(jnp.abs(p["W1"]) * a[:, None] * b, rho))
  joint, _, _ = D.IMPLS["synflow_joint"].select(None, ctx, rho)
  assert float(joint.sum()) == 6.0                          # the W1 budget, exactly
  assert not np.array_equal(joint, iterative)


def test_synflow_joint_fills_its_w1_budget_by_restored_score_not_flat_index():
  """When the joint W1 ∪ W2 ranking keeps fewer W1 entries than the W1 budget, the pruned
  W1 entries that fill it are those with the highest SynFlow score if restored
  (|W1[h,j]| · (1ᵀ|W2 ⊙ m2|)_h (|C0|1)_j), not the lowest flat indices."""
  k = jax.random.split(jax.random.PRNGKey(3), 2)
  w1 = jnp.abs(jax.random.normal(k[0], (4, 6))) * 0.01 + 0.001
  w1 = w1.at[3, 5].set(0.05)                # a late flat index with the largest restored score
  p = {"C0": jnp.eye(6), "W1": w1, "W2": jnp.full((1, 4), 50.0), "b1": jnp.zeros(4),
       "b2": jnp.zeros(1)}
  ctx = D.Context(jax.tree.map(lambda a: a[None], p), 0, None, None, None, None, None,
                  D.DiscoveryConfig(synflow_iters=1))
  rho = jnp.float32(0.25)                   # 6 of 24 W1 entries; the joint top-7 of 28
  mask, _, _ = D.IMPLS["synflow_joint"].select(None, ctx, rho)
  assert float(mask.sum()) == 6.0
  restored = w1 * 200.0                     # (1ᵀ|W2|)_h = 50 for every h, (|C0|1)_j = 1
  expected = D.topk_mask(restored, rho)
  np.testing.assert_array_equal(mask, expected)
  assert float(mask[3, 5]) == 1.0 and float(mask[0, 0]) == float(expected[0, 0])
