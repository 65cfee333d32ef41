"""Statistics over seeds (numpy and scipy.stats): summaries with 95 % CIs, paired tests,
Holm, Fisher's exact test, bootstrap CIs and the detectable effect of a test.

Conventions: sd has ddof 1; the 95 % CI of a mean is mean ± t_{0.975, n−1} · sd / √n
(`scipy.stats.t`); a paired comparison of a method with a baseline uses the per-seed
differences over the SAME dense run and seed (same data order, same θ0), with a two-sided
one-sample t test of the differences; p values of a family of comparisons are
Holm-corrected. Counts and rates also get a percentile bootstrap CI of the mean
(`bootstrap_ci`), which cannot leave the range of the data. `detectable` is the smallest
true effect a two-sided test at α = 0.05 finds with 80 % power at the observed sd and n.
"""
from __future__ import annotations

import functools
import math

import numpy as np

ALPHA, POWER = 0.05, 0.8
BOOTSTRAP_RESAMPLES = 2000


def _sps():
  """scipy.stats, imported on first use (0.5 s): a config check or a plain-Python
  import of this module does not pay for it."""
  from scipy import stats
  return stats


@functools.lru_cache(maxsize=4096)
def t_quantile(q: float, df: int) -> float:
  """The q quantile of Student's t with df degrees of freedom (cached: a report asks for
  the same few thousands of times)."""
  return float(_sps().t.ppf(q, df))


def t975(df: int) -> float:
  """The two-sided 95 % Student t quantile t_{0.975, df}."""
  return t_quantile(0.975, df)


def describe(values) -> dict:
  """{n, mean, sd, ci95 (half-width), ci95_lo, ci95_hi} of the finite values (None where
  undefined: no values for the mean, fewer than 2 for sd and CI)."""
  v = np.asarray([x for x in values if x is not None], float)
  v = v[np.isfinite(v)]
  out = dict(n=int(v.size), mean=None, sd=None, ci95=None, ci95_lo=None, ci95_hi=None)
  if v.size:
    out["mean"] = float(v.mean())
  if v.size > 1:
    sd = float(v.std(ddof=1))
    half = t975(v.size - 1) * sd / math.sqrt(v.size)
    out.update(sd=sd, ci95=half, ci95_lo=out["mean"] - half, ci95_hi=out["mean"] + half)
  return out


def t_two_sided_p(t: float, df: int) -> float:
  """P(|T| ≥ |t|) for Student's T with df degrees of freedom."""
  if not math.isfinite(t):
    return 0.0
  return float(2.0 * _sps().t.sf(abs(t), df))


def paired(a, b) -> dict:
  """Paired comparison of a with b (same seeds, same order; None/NaN pairs dropped):
  {n, mean_diff, sd_diff, ci95_lo, ci95_hi, t, p} of d = a − b, two-sided t test of
  mean(d) = 0. With sd_diff = 0: t = ±inf and p = 0 if mean_diff ≠ 0, else t = 0, p = 1."""
  pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
  d = np.asarray([x - y for x, y in pairs], float)
  d = d[np.isfinite(d)]
  s = describe(d)
  out = dict(n=s["n"], mean_diff=s["mean"], sd_diff=s["sd"], ci95_lo=s["ci95_lo"],
             ci95_hi=s["ci95_hi"], t=None, p=None)
  if d.size > 1:
    if s["sd"] > 0:
      t = s["mean"] / (s["sd"] / math.sqrt(d.size))
    else:
      t = 0.0 if s["mean"] == 0 else math.copysign(math.inf, s["mean"])
    out.update(t=t, p=1.0 if t == 0 else t_two_sided_p(t, d.size - 1))
  return out


def holm(pvalues: list) -> list:
  """Holm–Bonferroni adjusted p values (same order; None stays None): the i-th smallest of
  k p values becomes max_{j ≤ i} min(1, (k − j + 1) p_(j))."""
  idx = [i for i, p in enumerate(pvalues) if p is not None]
  order = sorted(idx, key=lambda i: pvalues[i])
  out: list = [None] * len(pvalues)
  running, k = 0.0, len(order)
  for rank, i in enumerate(order):
    running = max(running, min(1.0, (k - rank) * pvalues[i]))
    out[i] = running
  return out


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
  """Two-sided Fisher exact test p value of the 2×2 table [[a, b], [c, d]] (rows: groups,
  columns: success, failure), `scipy.stats.fisher_exact`."""
  return float(_sps().fisher_exact([[a, b], [c, d]], alternative="two-sided").pvalue)


def bootstrap_ci(values, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES):
  """Percentile bootstrap 95 % CI (lo, hi) of the mean of the finite values
  (`scipy.stats.bootstrap`, fixed seed, so reports regenerate identically). It lies inside
  [min, max] of the data, so a count's CI never goes below 0 nor a rate's above 1.
  (None, None) with fewer than 2 values; (v, v) when every value is v."""
  v = np.asarray([x for x in values if x is not None], float)
  v = v[np.isfinite(v)]
  if v.size < 2:
    return None, None
  lo, hi = bootstrap_cis(v[None], seed, resamples)
  return float(lo[0]), float(hi[0])


@functools.lru_cache(maxsize=64)
def _resample_index(n: int, resamples: int, seed: int) -> np.ndarray:
  """The bootstrap's (resamples, n) index draws of a fresh default_rng(seed) (read-only)."""
  idx = np.random.default_rng(seed).integers(0, n, (resamples, n))
  idx.flags.writeable = False
  return idx


def bootstrap_interval(values, seed: int = 0, resamples: int = 2000):
  """(mean, lo, hi): the mean of the finite values and a plain-numpy percentile bootstrap
  95 % CI of it (one fixed resample table per n: fast enough for every bar of a figure;
  the tables' CIs are `bootstrap_ci`'s). lo, hi lie inside [min, max] of the data; with
  one value both are that value; (nan, nan, nan) with none."""
  v = np.asarray([x for x in values if x is not None], float)
  v = v[np.isfinite(v)]
  if not v.size:
    return math.nan, math.nan, math.nan
  if v.size == 1 or np.all(v == v[0]):
    return float(v.mean()), float(v[0]), float(v[0])
  means = v[_resample_index(v.size, resamples, seed)].mean(1)
  lo, hi = np.percentile(means, [2.5, 97.5])
  return float(v.mean()), float(lo), float(hi)


def bootstrap_cis(matrix, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES,
                  block: int = 256):
  """Row-wise percentile bootstrap 95 % CIs of the mean of matrix (F, n) (F fields of the
  same n runs, every value finite), the fields sharing resamples. Computes exactly what
  `scipy.stats.bootstrap((m,), np.mean, axis=-1, vectorized=True, method="percentile",
  n_resamples=resamples, rng=np.random.default_rng(seed))` computes — the same index draws
  (`rng.integers(0, n, (resamples, n))`), the same statistic and scipy's quantile formula
  (`linear_quantiles`), so the CIs are bit-identical (tested) — without scipy's per-call
  overhead, `block` rows at a time. Returns (lo (F,), hi (F,)); constant rows get
  (v, v)."""
  m = np.asarray(matrix, float)
  if m.ndim != 2 or m.shape[1] < 2 or not m.shape[0]:
    raise ValueError("bootstrap_cis needs a (fields, n ≥ 2) matrix")
  idx = _resample_index(m.shape[1], resamples, seed)
  alpha = np.asarray((1 - 0.95) / 2)              # scipy's float: (1 − level) / 2
  interval = np.stack((alpha, 1 - alpha), axis=-1)
  lo, hi = np.empty(m.shape[0]), np.empty(m.shape[0])
  for a in range(0, m.shape[0], block):
    theta = np.mean(m[a:a + block][..., idx], axis=-1)            # (rows, resamples)
    lo[a:a + block], hi[a:a + block] = linear_quantiles(theta, interval)
  const = np.all(m == m[:, :1], axis=1)
  return np.where(const, m[:, 0], lo), np.where(const, m[:, 0], hi)


def linear_quantiles(y, ps) -> list:
  """[quantile of each row of y (rows, N) at p for p in ps], by scipy.stats.quantile's
  default ('linear', Hyndman–Fan type 7) formula, float for float: with jg = p·N + (1 − p),
  j + 1 = ⌊jg⌋ and g = jg mod 1, q = (1 − g)·y₍ⱼ₎ + g·y₍ⱼ₊₁₎ over the row sorted, indices
  clipped to [0, N − 1]; y finite. The order statistics come from `np.sort`: numpy's
  vectorised sort reads them 3× faster than a 4-kth `np.partition` (N = 2,000 resample
  means, docs/performance.md), and they are the same values. Returns one (rows,) array
  per p."""
  y = np.asarray(y, float)
  n = y.shape[-1]
  ps = np.asarray(ps, float)
  jg = ps * n + (1 - ps)
  jp1 = jg // 1
  g = jg % 1
  j = np.clip(jp1 - 1, 0, n - 1).astype(np.int64)
  jp1 = np.clip(jp1, 0, n - 1).astype(np.int64)
  part = np.sort(y, axis=-1)
  return [(1 - g[i]) * part[..., j[i]] + g[i] * part[..., jp1[i]] for i in range(len(ps))]


def _t_power(ncp: float, df: int, alpha: float = ALPHA) -> float:
  tc = _sps().t.ppf(1 - alpha / 2, df)
  upper = float(np.nan_to_num(_sps().nct.sf(tc, df, ncp), nan=1.0))
  lower = float(np.nan_to_num(_sps().nct.cdf(-tc, df, ncp), nan=0.0))   # far tail: ≈ 0
  return upper + lower


def detectable(sd: float | None, n: int, alpha: float = ALPHA) -> float | None:
  """Smallest true mean (or mean difference) that a two-sided one-sample (or paired) t
  test at level alpha (0.05) detects with 80 % power, for n values of standard deviation
  sd: λ · sd / √n with λ solving power(noncentral t, df = n − 1, ncp λ) = 0.8 (None if
  n < 2 or sd is missing; 0 if sd = 0)."""
  if sd is None or n < 2 or not math.isfinite(sd):
    return None
  if sd == 0:
    return 0.0
  hi = 4.0
  while _t_power(hi, n - 1, alpha) < POWER:    # bracket the root (λ ≈ 2.8 for large n)
    hi *= 2.0
  from scipy import optimize
  lam = optimize.brentq(lambda ncp: _t_power(ncp, n - 1, alpha) - POWER, 0.0, hi)
  return float(lam * sd / math.sqrt(n))


def detectable_rate_difference(n1: int, n2: int, pooled: float) -> float | None:
  """Smallest difference of two rates (around the pooled rate p) that a two-sided test at
  α = 0.05 detects with 80 % power, by Cohen's arcsine effect size h = 2 asin √p1 −
  2 asin √p2 = (z_.975 + z_.8) √(1/n1 + 1/n2), read back as p1 − p2 with p1, p2 placed
  symmetrically in arcsine space around asin √p (stable for rare events, where the
  normal approximation's pooled variance vanishes); None without events or sites."""
  if not n1 or not n2 or not 0 < pooled < 1:
    return None
  z = _sps().norm.ppf(1 - ALPHA / 2) + _sps().norm.ppf(POWER)
  h = z * math.sqrt(1 / n1 + 1 / n2)
  c = math.asin(math.sqrt(pooled))
  lo, hi = max(c - h / 4, 0.0), min(c + h / 4, math.pi / 2)
  return float(math.sin(hi) ** 2 - math.sin(lo) ** 2)
