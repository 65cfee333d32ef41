"""toyticket's GraSP, Early-Bird and IMP-count rules against an independent numpy port of
their authors' code (tests/reference_baselines.py), and that reference against finite
differences and hand computations."""
import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import reference_baselines as R  # noqa: E402

try:                                   # chex is optional (not always in the venv)
  import chex
  _assert_close = chex.assert_trees_all_close
except ImportError:                    # pragma: no cover
  chex = None
  _assert_close = np.testing.assert_allclose

jax.config.update("jax_enable_x64", False)

D_IN, N_IN, HID, OUT, N_EX = 4, 4, 3, 1, 32


def tiny_net(seed=5):
  """Fixed tiny net (d=n=4, H=3, O=1), 32 Bernoulli(0.5) inputs, y = x0 AND x1. Params
  are float32-representable so toyticket (float32) and the reference (float64) see the
  same numbers. Seed 5: every hidden unit is active on some examples (no dead-unit ties
  at score 0) and the normalised GraSP scores are ≥ 3e-3 apart."""
  rng = np.random.default_rng(seed)
  p = {"C0": rng.normal(size=(D_IN, N_IN)),
       "W1": rng.normal(size=(HID, D_IN)) * np.sqrt(2.0 / D_IN),
       "b1": np.zeros(HID),
       "W2": rng.normal(size=(OUT, HID)) * np.sqrt(1.0 / HID),
       "b2": np.zeros(OUT)}
  p = {k: v.astype(np.float32) for k, v in p.items()}
  x = (rng.random((N_EX, N_IN)) < 0.5).astype(np.float32)
  y = (x[:, :1] * x[:, 1:2]).astype(np.float32)
  return p, x, y


def _ranks(a):
  return np.argsort(np.argsort(np.ravel(a), kind="stable"), kind="stable")


def _spearman(a, b):
  ra, rb = _ranks(a).astype(float), _ranks(b).astype(float)
  return float(np.corrcoef(ra, rb)[0, 1])


def _normalised(a):
  a = np.asarray(a, np.float64)
  return a / np.abs(a).sum()


# ----------------------------------------------------------------------------------------
# The reference, checked on its own
# ----------------------------------------------------------------------------------------

def _loss_only(p, x, y, T, mask=None):
  return R.forward_and_grads(p, x, y, T, mask)[0]


@pytest.mark.parametrize("T", [1.0, 3.0])
def test_reference_grads_match_finite_differences(T):
  p, x, y = tiny_net()
  p = {k: v.astype(np.float64) + 0.05 for k, v in p.items()}   # non-zero biases too
  mask = (np.random.default_rng(1).random((HID, D_IN)) < 0.7).astype(np.float64)
  loss, g = R.forward_and_grads(p, x, y, T, mask)
  z = np.maximum(x @ ((p["W1"] * mask) @ p["C0"]).T + p["b1"], 0) @ p["W2"].T + p["b2"]
  u = z / T
  np.testing.assert_allclose(loss, np.mean(np.logaddexp(0, u) - y * u), rtol=1e-12)
  eps = 1e-6
  for name in R.NAMES + ("M",):
    base = mask if name == "M" else p[name]
    fd = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
      def at(delta):
        b = base.copy()
        b[idx] += delta
        if name == "M":
          return _loss_only(p, x, y, T, b)
        return _loss_only({**p, name: b}, x, y, T, mask)
      fd[idx] = (at(eps) - at(-eps)) / (2 * eps)
    np.testing.assert_allclose(g[name], fd, rtol=1e-6, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("T,prunable", [(200.0, ("W1", "W2")), (1.0, ("W1",)),
                                        (1.0, ("W1", "W2")), (7.0, ("W2",))])
def test_reference_grasp_fd_matches_analytic_hvp(T, prunable):
  p, x, y = tiny_net()
  _, g = R.forward_and_grads(p, x, y, T)
  hv = R.hvp_analytic(p, x, y, {k: g[k] for k in prunable}, T)
  s = R.grasp_scores(p, x, y, T, prunable)
  assert set(s) == set(prunable)
  for k in prunable:
    scale = np.abs(s[k]).max()
    np.testing.assert_allclose(s[k], p[k] * hv[k], rtol=0, atol=1e-7 * scale, err_msg=k)


def test_reference_analytic_hessian_is_symmetric():
  """Columns H e_i from hvp_analytic form a symmetric matrix (a check on the hand-written
  second-order pass that does not use finite differences)."""
  p, x, y = tiny_net()
  n1, n2 = HID * D_IN, OUT * HID
  cols = []
  for i in range(n1 + n2):
    e = np.zeros(n1 + n2)
    e[i] = 1.0
    hv = R.hvp_analytic(p, x, y, {"W1": e[:n1].reshape(HID, D_IN),
                                  "W2": e[n1:].reshape(OUT, HID)}, 3.0)
    cols.append(np.concatenate([hv["W1"].ravel(), hv["W2"].ravel()]))
  h = np.stack(cols, 1)
  np.testing.assert_allclose(h, h.T, atol=1e-14 * np.abs(h).max() * 100)
  assert np.abs(h[:n1, n1:]).max() > 0 and np.abs(h[:n1, :n1]).max() > 0


def test_reference_grasp_scalar_net_by_hand():
  """d=n=H=O=B=1, C0=1, x=1, biases 0, w1, w2 > 0: z = w1 w2, u = z/T, L = l(u).
  g = l'(u)/T (w2, w1); H = l''(u)/T² [[w2², w1w2], [w1w2, w1²]] + l'(u)/T [[0,1],[1,0]]."""
  w1, w2, T, yv = 0.7, 1.3, 2.5, 1.0
  p = {"C0": np.ones((1, 1)), "W1": np.full((1, 1), w1), "b1": np.zeros(1),
       "W2": np.full((1, 1), w2), "b2": np.zeros(1)}
  u = w1 * w2 / T
  s = 1 / (1 + math.exp(-u))
  l1, l2 = s - yv, s * (1 - s)
  g = np.array([l1 * w2 / T, l1 * w1 / T])
  hess = l2 / T**2 * np.array([[w2 * w2, w1 * w2], [w1 * w2, w1 * w1]]) \
      + l1 / T * np.array([[0.0, 1.0], [1.0, 0.0]])
  want = np.array([w1, w2]) * (hess @ g)
  got = R.grasp_scores(p, np.ones((1, 1)), np.full((1, 1), yv), T, ("W1", "W2"))
  np.testing.assert_allclose([got["W1"][0, 0], got["W2"][0, 0]], want, rtol=1e-7)
  # W1 block only: H11 g1.
  got = R.grasp_scores(p, np.ones((1, 1)), np.full((1, 1), yv), T, ("W1",))
  np.testing.assert_allclose(got["W1"][0, 0], w1 * hess[0, 0] * g[0], rtol=1e-7)


def test_reference_synflow_and_wang_keep_rules_rank_alike():
  """Synaptic-Flow keeps the highest θ⊙Hg; Wang et al. remove the highest −θ⊙Hg: the
  same ranking. Wang's `<= threshold[-1]` also keeps the threshold entry itself."""
  p, x, y = tiny_net()
  s = R.grasp_scores(p, x, y)
  flat = np.concatenate([v.ravel() for v in s.values()])
  for density in (0.2, 0.5, 0.8):
    sf = R.synflow_global_keep(s, density)
    wg = R.wang_keep_mask(s, 1 - density)
    sf_flat = np.concatenate([v.ravel() for v in sf.values()])
    wg_flat = np.concatenate([v.ravel() for v in wg.values()])
    n_keep = flat.size - int((1 - density) * flat.size)
    assert sf_flat.sum() == n_keep
    np.testing.assert_array_equal(sf_flat, np.isin(_ranks(flat), np.arange(
        flat.size - n_keep, flat.size)))                          # the n_keep highest
    assert np.all(wg_flat >= sf_flat)                             # Wang ⊇ SynFlow
    extra = np.flatnonzero(wg_flat > sf_flat)
    assert len(extra) == 1 and _ranks(flat)[extra[0]] == flat.size - n_keep - 1


def test_reference_earlybird_queue_rule_by_hand():
  z8 = np.zeros(8)
  def flip(m, *idx):
    m = m.copy()
    m[list(idx)] = 1 - m[list(idx)]
    return m
  # Constant masks: the queue (θ0 first) is full at call 4; consecutive rule fires at 5.
  const = np.stack([z8] * 8)
  assert R.earlybird_epoch(const, 0.1, 5) == 4
  assert R.earlybird_epoch_consecutive(const, 0.1, 5) == 5
  # Drift by one entry a step (δ = 1/8 = 0.125 each): consecutive δ < 0.2 every step,
  # but newest vs oldest in the queue is 4/8 apart.
  drift = [z8]
  for i in range(7):
    drift.append(flip(drift[-1], i))
  drift = np.stack(drift)
  assert R.earlybird_epoch_consecutive(drift, 0.2, 5) == 5
  assert R.earlybird_epoch(drift, 0.2, 5) == -1
  assert R.earlybird_epoch(drift, 0.5, 5) == 4                  # 4/8 = 0.5, not > 0.5
  # Boundary: distance exactly eps passes the authors' `> eps`, fails the strict `< eps`.
  edge = np.stack([z8, z8, z8, flip(z8, 0), z8, z8, z8])
  assert R.earlybird_epoch(edge, 0.125, 5) == 4
  assert R.earlybird_epoch(edge, 0.12, 5) == -1                # masks[3] never leaves
  assert R.earlybird_epoch_consecutive(edge, 0.125, 3) == 6
  # Oscillation A,B,A,B… around a midpoint C: every older mask is within eps of C, but
  # consecutive pairs are 2·eps apart.
  a, b, c = flip(z8, 0, 1), flip(z8, 2, 3), flip(z8, 0, 2)
  osc = np.stack([a, b, a, b, c, c])
  assert R.earlybird_epoch(osc, 0.25, 5) == 4
  assert R.earlybird_epoch_consecutive(osc, 0.25, 5) == -1


def test_reference_earlybird_edge_after_queue_leaves():
  """The edge case above: with eps=0.12 the flipped mask (index 3) must leave the 5-mask
  queue before it can fire, i.e. the first call whose queue is masks[4..8]."""
  z8 = np.zeros(8)
  f = z8.copy()
  f[0] = 1
  edge = np.stack([z8, z8, z8, f, z8, z8, z8, z8, z8])
  assert R.earlybird_epoch(edge, 0.12, 5) == 8
  assert R.earlybird_epoch(edge[:8], 0.12, 5) == -1


def test_reference_open_lth_counts():
  assert R.open_lth_imp_counts(256, 0.2, 6) == [204, 163, 130, 104, 83, 66]
  assert R.open_lth_imp_counts(100, 0.5, 5) == [50, 25, 12, 6, 3]
  assert R.open_lth_imp_counts(7, 0.3, 4) == [4, 2, 1, 0]
  # The literal code thresholds at sort(|w|)[k] and keeps |w| > it: one extra weight per
  # level goes (k + 1 of them), and it fails once k reaches the number left.
  assert R.open_lth_imp_counts_literal(256, 0.2, 3) == [203, 161, 127]
  assert R.open_lth_imp_counts_literal(100, 0.5, 3) == [49, 23, 10]
  with pytest.raises(IndexError):
    R.open_lth_imp_counts_literal(7, 0.3, 3)


# ----------------------------------------------------------------------------------------
# toyticket against the reference
# ----------------------------------------------------------------------------------------

def _ctx():
  from toyticket.discovery import impls as D
  p, x, y = tiny_net()
  ctx = D.Context({k: jnp.asarray(v)[None] for k, v in p.items()}, 0, jax.random.PRNGKey(0),
                  jnp.asarray(x), jnp.asarray(y), None, None, D.DiscoveryConfig())
  return D, ctx, p, x, y


def _assert_same_scores(got, want):
  got = np.asarray(got, np.float64)
  assert got.shape == want.shape == (HID, D_IN)
  _assert_close(_normalised(got), _normalised(want), rtol=1e-3, atol=1e-5)
  rho = _spearman(got, want)
  np.testing.assert_array_equal(_ranks(got), _ranks(want), err_msg=f"spearman {rho}")
  for k in range(1, want.size):
    assert set(np.argsort(-got.ravel())[:k]) == set(np.argsort(-want.ravel())[:k]), k


def test_toyticket_grasp_matches_synflow_grasp():
  """T = 200 and H g over all prunable weights (W1 and W2); the W1 block of θ⊙Hg."""
  D, ctx, p, x, y = _ctx()
  want = R.grasp_scores(p, x, y, temperature=200.0, prunable=("W1", "W2"))["W1"]
  _assert_same_scores(D.IMPLS["grasp"].prepare(ctx), want)


def test_toyticket_grasp_w1_matches_w1_block_variant():
  """The kept older variant: T = 1 and the W1 block only, θ1 ⊙ H11 g1."""
  D, ctx, p, x, y = _ctx()
  want = R.grasp_scores(p, x, y, temperature=1.0, prunable=("W1",))["W1"]
  _assert_same_scores(D.IMPLS["grasp_w1"].prepare(ctx), want)


def test_reference_grasp_variants_rank_differently():
  """The GraSP tests above discriminate on this net: the T=200 whole-network W1 ranking
  differs from T=1 (same blocks) and from the W1-block-only H11 g1 (either T)."""
  p, x, y = tiny_net()
  a = R.grasp_scores(p, x, y, 200.0, ("W1", "W2"))["W1"]
  for t, blocks in ((1.0, ("W1", "W2")), (200.0, ("W1",)), (1.0, ("W1",))):
    b = R.grasp_scores(p, x, y, t, blocks)["W1"]
    assert not np.array_equal(_ranks(a), _ranks(b)), (t, blocks)


def _hand_sequences():
  """(masks (E+1, 2, 4), eps) where the queue and consecutive-pairs rules disagree."""
  z = np.zeros(8)
  def flip(m, *idx):
    m = m.copy()
    m[list(idx)] = 1 - m[list(idx)]
    return m
  drift = [z]
  for i in range(7):
    drift.append(flip(drift[-1], i))
  a, b, c = flip(z, 0, 1), flip(z, 2, 3), flip(z, 0, 2)
  seqs = [(np.stack([z] * 8), 0.1), (np.stack(drift), 0.2), (np.stack(drift), 0.5),
          (np.stack([z, z, z, flip(z, 0), z, z, z]), 0.125),
          (np.stack([z, z, z, flip(z, 0), z, z, z, z, z]), 0.12),
          (np.stack([a, b, a, b, c, c]), 0.25)]
  return [(m.reshape(len(m), 2, 4).astype(np.float32), e) for m, e in seqs]


def _drifting_sequences(n_seq=12, epochs=20, shape=(8, 8)):
  """Masks that change less and less: epoch e flips ~Poisson(10·exp(−e/5)) entries."""
  out = []
  for s in range(n_seq):
    rng = np.random.default_rng(100 + s)
    m = (rng.random(shape) < 0.5).astype(np.float32)
    seq = [m]
    for e in range(1, epochs + 1):
      k = min(rng.poisson(10 * math.exp(-e / 5)), m.size)
      m = m.copy().ravel()
      idx = rng.choice(m.size, size=k, replace=False)
      m[idx] = 1 - m[idx]
      m = m.reshape(shape)
      seq.append(m)
    out.append(np.stack(seq))
  return out


def test_random_sequences_discriminate_the_two_rules():
  diffs = sum(R.earlybird_epoch(m, eps, w) != R.earlybird_epoch_consecutive(m, eps, w)
              for m in _drifting_sequences() for eps in (0.1, 0.2) for w in (3, 5))
  assert diffs >= 5


@pytest.mark.parametrize("rule", ["earlybird_epoch", "earlybird_epoch_consecutive"],
                         ids=["authors_queue_rule", "consecutive_matches_loop"])
@pytest.mark.parametrize("window", [3, 4, 5])
def test_toyticket_earlybird_rules_match_the_reference(rule, window):
  """Each Early-Bird rule of toyticket against the reference's function of the same name
  (the port of the authors' class; the loop of the consecutive-pairs variant)."""
  from toyticket.discovery import impls as D
  cases = list(_hand_sequences()) + [(m, e) for m in _drifting_sequences() for e in (0.1, 0.2)]
  for i, (masks, eps) in enumerate(cases):
    want = getattr(R, rule)(masks, eps, window)
    got = int(getattr(D, rule)(jnp.asarray(masks), eps, window))
    assert got == want, (rule, i, eps, window)


@pytest.mark.parametrize("n,f,levels", [(256, 0.2, 6), (100, 0.5, 5), (7, 0.3, 4)])
def test_toyticket_imp_counts_match_open_lth(n, f, levels):
  from toyticket.discovery import methods
  # open_lth's rule, except that toyticket keeps at least one weight (as every top-k of
  # discovery does); open_lth would prune the last one: (7, 0.3) → 4, 2, 1, 0.
  ref = tuple(max(1, k) for k in R.open_lth_imp_counts(n, f, levels))
  assert tuple(methods.imp_keep_counts(n, f, levels)) == ref
