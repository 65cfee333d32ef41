"""Statistics over seeds (numpy only): summaries with 95 % CIs, paired tests, Holm.

Conventions: sd has ddof 1; the 95 % CI of a mean is mean ± t_{0.975, n−1} · sd / √n; a
paired comparison of a method with a baseline uses the per-seed differences over the SAME
dense run and seed (same data order, same θ0), with a two-sided one-sample t test of the
differences; p values of a family of comparisons are Holm-corrected.
"""
from __future__ import annotations

import math

import numpy as np

# Two-sided 95 % Student t quantiles t_{0.975, df}, df = 1..30 (normal beyond).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
  return T975[df - 1] if df <= len(T975) else 1.960


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


def _betacf(a: float, b: float, x: float) -> float:
  """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
  tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
  c, d = 1.0, 1.0 - qab * x / qap
  d = 1.0 / (d if abs(d) > tiny else tiny)
  h = d
  for m in range(1, 300):
    m2 = 2 * m
    for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
               -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
      d = 1.0 + aa * d
      d = 1.0 / (d if abs(d) > tiny else tiny)
      c = 1.0 + aa / c
      c = c if abs(c) > tiny else tiny
      h *= d * c
    if abs(d * c - 1.0) < 1e-15:
      break
  return h


def betainc(a: float, b: float, x: float) -> float:
  """Regularised incomplete beta I_x(a, b), x ∈ [0, 1]."""
  if x <= 0.0:
    return 0.0
  if x >= 1.0:
    return 1.0
  lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
  front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
  if x < (a + 1.0) / (a + b + 2.0):
    return front * _betacf(a, b, x) / a
  return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: int) -> float:
  """P(|T| ≥ |t|) for Student's T with df degrees of freedom."""
  if not math.isfinite(t):
    return 0.0
  return betainc(df / 2.0, 0.5, df / (df + t * t))


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
  columns: success, failure): the total hypergeometric probability of the tables with the
  same margins that are no more likely than the observed one."""
  n1, n2, k = a + b, c + d, a + c
  total = math.comb(n1 + n2, k)
  prob = lambda x: math.comb(n1, x) * math.comb(n2, k - x) / total
  p_obs = prob(a)
  lo, hi = max(0, k - n2), min(k, n1)
  return min(1.0, sum(prob(x) for x in range(lo, hi + 1) if prob(x) <= p_obs * (1 + 1e-7)))
