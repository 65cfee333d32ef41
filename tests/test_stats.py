"""Statistics on hand-computed tables: CIs, the paired t test, Holm, paired comparisons."""
import math

import numpy as np
import pytest

from toyticket.reading import results
from toyticket.core import stats


def test_describe_hand_computed():
  s = stats.describe([1.0, 2.0, 3.0, None, float("nan")])       # None/NaN dropped
  assert s["n"] == 3 and s["mean"] == 2.0 and s["sd"] == pytest.approx(1.0)   # ddof 1
  half = 4.302653 / math.sqrt(3)                                # t_{0.975, 2} · 1 / √3
  assert s["ci95"] == pytest.approx(half, rel=1e-6) and s["ci95_lo"] == pytest.approx(2 - half)
  assert stats.describe([5.0])["sd"] is None and stats.describe([])["mean"] is None


def test_student_t_p_values_match_tables():
  assert stats.t_two_sided_p(2.228, 10) == pytest.approx(0.05, abs=2e-4)   # t_{.975,10}
  assert stats.t_two_sided_p(12.706, 1) == pytest.approx(0.05, abs=2e-4)
  assert stats.t_two_sided_p(0.0, 5) == pytest.approx(1.0)
  assert stats.t_two_sided_p(1.0, 1) == pytest.approx(0.5)                   # Cauchy


def test_paired_t_test_hand_computed():
  """d = (1, 2, 2, 3): mean 2, sd √(2/3), t = 2 / (sd/2) = 4.899, df 3."""
  r = stats.paired([2, 4, 5, 7], [1, 2, 3, 4])
  assert r["n"] == 4 and r["mean_diff"] == 2.0
  assert r["sd_diff"] == pytest.approx(math.sqrt(2 / 3))
  assert r["t"] == pytest.approx(4.898979, rel=1e-6)
  assert r["p"] == pytest.approx(0.01628, abs=1e-4)
  same = stats.paired([1, 2], [1, 2])
  assert same["t"] == 0 and same["p"] == 1.0
  shifted = stats.paired([2, 3], [1, 2])                        # constant difference
  assert shifted["t"] == math.inf and shifted["p"] == 0.0
  assert stats.paired([1, None, 3], [0, 5, 1])["n"] == 2        # a missing pair is dropped


def test_holm_hand_computed():
  assert stats.holm([0.01, 0.04, 0.03, None, 0.005]) == pytest.approx(
      [0.03, 0.06, 0.06, None, 0.02])


def test_paired_rows_pair_by_seed_and_correct_per_family():
  def row(method, seed, acc, diverged=False):
    return {"group": "g", "embedding": "h", "density": 0.25, "rewind": "probe",
            "probe_epoch": 2, "method": method, "seed": seed, "sparse_acc": acc,
            "diverged": diverged}
  rows = ([row("random", s, 0.80 + 0.01 * s) for s in range(4)] +
          [row("static", s, 0.90 + 0.01 * s + 0.001 * (s % 2)) for s in range(4)] +
          [row("snip", s, 0.80 + 0.01 * s + (0.002 if s % 2 else -0.002)) for s in range(4)] +
          [row("init_magnitude", s, 0.85 + 0.01 * s, diverged=(s == 3)) for s in range(4)])
  out = results.paired_rows(rows, metrics=("sparse_acc",))
  by = {(r["method"], r["baseline"]): r for r in out}
  assert set(by) == {("static", "random"), ("snip", "random"), ("init_magnitude", "random"),
                     ("static", "init_magnitude")}           # feature-space vs weight-space
  st = by[("static", "random")]
  assert st["n"] == 4 and st["mean_diff"] == pytest.approx(0.1005) and st["verdict"] == "higher"
  assert by[("snip", "random")]["verdict"] == "n.s."          # differences ±0.002, mean 0
  assert by[("static", "init_magnitude")]["n"] == 3           # the diverged seed drops out
  family = [r for r in out if r["baseline"] == "random"]     # Holm over the 3 methods
  raw = sorted(r["p"] for r in family)
  assert min(r["p_holm"] for r in family) == pytest.approx(min(1.0, 3 * raw[0]))


def test_rewinds_pair_with_the_fresh_init_of_the_same_mask():
  def row(method, rewind, seed, v):
    return {"group": "g", "embedding": "h", "density": 0.25, "rewind": rewind,
            "probe_epoch": 2, "method": method, "seed": seed, "sparse_loss": v,
            "diverged": False}
  rows = ([row("oracle", "probe", s, 1.0 + s) for s in range(3)] +
          [row("oracle", "fresh", s, 2.0 + s + 0.1 * (s == 1)) for s in range(3)] +
          [row("random", "probe", s, 5.0) for s in range(2)])   # no fresh cells: no pair
  out = [r for r in results.paired_rows(rows, metrics=("sparse_loss",))
         if r["baseline"] == "fresh rewind"]
  assert [(r["method"], r["rewind"]) for r in out] == [("oracle", "probe")]
  # differences −1, −1.1, −1: mean −1.0333, n 3; one method: p_holm = p
  assert out[0]["n"] == 3 and out[0]["mean_diff"] == pytest.approx(-3.1 / 3, abs=1e-6)
  assert out[0]["p_holm"] == out[0]["p"] and out[0]["verdict"] == "lower"


def test_fisher_exact_hand_computed():
  # [[3, 1], [1, 3]]: tables with a = 0..4 have probabilities (1, 16, 36, 16, 1) / 70
  assert stats.fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70)
  assert stats.fisher_exact(4, 0, 0, 4) == pytest.approx(2 / 70)
  assert stats.fisher_exact(2, 2, 2, 2) == pytest.approx(1.0)


def test_t_quantiles_past_30_df_are_not_normal():
  assert stats.t975(31) == pytest.approx(2.0395, abs=1e-4)     # n = 32: not 1.960
  assert stats.t975(2) == pytest.approx(4.302653, abs=1e-6)
  assert stats.t975(10 ** 6) == pytest.approx(1.959966, abs=1e-5)


def test_bootstrap_ci_stays_in_range_and_covers_the_mean():
  counts = [0, 0, 0, 1, 0, 2, 0, 0]
  lo, hi = stats.bootstrap_ci(counts)
  assert 0.0 <= lo <= 0.375 <= hi <= 2.0                       # t CI: 0.375 ± 0.59 < 0
  assert stats.describe(counts)["ci95_lo"] < 0
  assert stats.bootstrap_ci([1, 1, 1]) == (1.0, 1.0) and stats.bootstrap_ci([3]) == (None, None)
  assert stats.bootstrap_ci(counts) == (lo, hi)                # seeded: reproducible


def test_detectable_effect_matches_power_by_simulation_and_scales():
  """At the detectable effect the paired t test rejects in 80 % of simulated samples."""
  rng = np.random.default_rng(0)
  n, sd = 12, 1.0
  eff = stats.detectable(sd, n)
  x = rng.normal(eff, sd, size=(20000, n))
  t = x.mean(1) / (x.std(1, ddof=1) / math.sqrt(n))
  assert np.mean(np.abs(t) > stats.t975(n - 1)) == pytest.approx(0.8, abs=0.01)
  # large n: ≈ (z_.975 + z_.8) sd / √n = 2.8016 sd / √n
  assert stats.detectable(2.0, 400) == pytest.approx(2.8016 * 2 / 20, rel=5e-3)
  assert stats.detectable(0.0, 5) == 0.0 and stats.detectable(1.0, 1) is None


def test_vectorised_bootstrap_equals_one_call_per_row():
  rng = np.random.default_rng(3)
  m = rng.integers(0, 4, size=(3, 9)).astype(float)
  m[2] = 2.0                                                    # a constant row
  lo, hi = stats.bootstrap_cis(m)
  for i in range(2):
    assert (lo[i], hi[i]) == pytest.approx(stats.bootstrap_ci(m[i]))
  assert lo[2] == hi[2] == 2.0
  assert np.all(lo >= m.min(1)) and np.all(hi <= m.max(1))


def test_bootstrap_cis_bit_identical_to_scipy_bootstrap():
  from scipy import stats as sps
  rng = np.random.default_rng(5)
  m = np.concatenate([rng.normal(size=(3, 7)), rng.integers(0, 3, size=(2, 7))]).astype(float)
  lo, hi = stats.bootstrap_cis(m, seed=11, resamples=999)
  for i, row in enumerate(m):
    ci = sps.bootstrap((row,), np.mean, axis=-1, vectorized=True, method="percentile",
                       n_resamples=999, rng=np.random.default_rng(11)).confidence_interval
    assert (lo[i], hi[i]) == (ci.low, ci.high)          # exactly, not approximately


def test_linear_quantiles_equal_scipy_quantile_exactly():
  from scipy import stats as sps
  y = np.random.default_rng(2).normal(size=(4, 101))
  y[1, :50] = 0.25                                          # ties
  ps = np.asarray([0.0, 0.025, 0.5, 0.975, 1.0])
  got = stats.linear_quantiles(y, ps)
  want = np.asarray(sps.quantile(y, ps, axis=-1))
  for i in range(len(ps)):
    np.testing.assert_array_equal(got[i], want[..., i])


def test_detectable_rate_difference_is_finite_for_rare_events():
  assert stats.detectable_rate_difference(10, 10, 0.0) is None
  small = stats.detectable_rate_difference(17, 266, 1 / 283)
  assert 0.04 < small < 0.2
  assert stats.detectable_rate_difference(4000, 4000, 0.5) == pytest.approx(
      2.8016 * math.sqrt(0.25 * 2 / 4000), rel=0.01)
