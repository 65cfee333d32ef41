"""The verdict rules the replication report decides claims by (numpy and scipy only).

Each `Claim` names the sweep it reads and a measure: a function of that sweep's `Tables`
(rows, dense rows, oracle rows, per-run arrays) returning a `Finding` (our number with
its 95 % CI, n, the verdict). Verdicts come from the rules below, written once here and
printed with every row of the report:

  DIRECTION   a paired difference (same dense run and seed) in the claimed direction:
              reproduced if its two-sided paired t test gives p < 0.05 in that direction
              AND the mean difference has that sign on every data seed (so no verdict is
              one clause set's accident), not reproduced if p < 0.05 in the opposite one
              (with the same consistency), else inconclusive.
  NEAR        a paper number v with tolerance tol (an equivalence test, TOST): reproduced
              if the 90 % CI of the mean lies inside [v − tol, v + tol], not reproduced if
              the 95 % CI lies entirely outside it, else inconclusive.
  MAJORITY    a family of k paired comparisons (Holm-corrected): reproduced if more than
              k/2 are significant wins, not reproduced if more than k/2 are significant
              losses, else inconclusive.
  POSITIVE    a count that should exist: reproduced if the percentile-bootstrap 95 % CI of
              its mean over runs lies above 0, not reproduced if it is 0 in every run,
              else inconclusive.
  NONINFERIOR a paired difference that should not be worse than −margin in any setting
              (e.g. embedding): reproduced if every setting's 95 % CI lies above −margin,
              not reproduced if some setting's CI lies entirely below −margin, else
              inconclusive.

Every finding also states the smallest effect its n could detect at 80 % power
(`stats.detectable`, at the α its test uses); an inconclusive row whose detectable effect
exceeds the bar of its unit (`BARS`: 0.01 accuracy, 0.5 codes per network) is marked
underpowered. Code claims are decided under the paper's clause-local reading and, beside
it, under the row-specific reading and τ = 0.15 (`replicate.READINGS`); the totals count
the paper's reading.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from toyticket.core import stats
from toyticket.reading import results

ALPHA = 0.05
RULES = {
    "DIRECTION": "paired t test of the per-run difference in the claimed direction: "
                 "reproduced if p < 0.05 that way and the mean difference has that sign on "
                 "every data seed, not reproduced if likewise the other way, else "
                 "inconclusive",
    "NEAR": "equivalence (TOST): reproduced if the 90 % CI of the mean lies inside "
            "paper ± tol; not reproduced if the 95 % CI lies outside paper ± tol; else "
            "inconclusive",
    "MAJORITY": "Holm-corrected paired tests over a family of k comparisons: reproduced if "
                "more than k/2 are significant wins, not reproduced if more than k/2 are "
                "significant losses, else inconclusive",
    "POSITIVE": "reproduced if the percentile-bootstrap 95 % CI of the per-run mean lies "
                "above 0, not reproduced if the count is 0 in every run, else inconclusive",
    "NONINFERIOR": "reproduced if the paired difference's 95 % CI lies above −margin "
                   "(0.01 accuracy) in every setting, not reproduced if it lies entirely "
                   "below −margin in some setting, else inconclusive",
    "PROPORTION": "rates pooled over runs, two-sided Fisher exact test: reproduced if "
                  "p < 0.05 in the claimed direction, not reproduced if p < 0.05 the other "
                  "way, else inconclusive",
    "AT CHANCE": "a code claim needing a template whose dense-final exact count does not "
                 "exceed both its θ0 chance level and its decoy floor (paired 95 % CIs "
                 "above 0) is inconclusive, flagged, with the rule's own verdict shown",
}


@dataclasses.dataclass
class Tables:
  """One sweep's saved results (metrics.json and `rundir.load_arrays`)."""
  rows: list
  dense: list
  oracle: list = dataclasses.field(default_factory=list)
  arrays: dict = dataclasses.field(default_factory=dict)


# The effect a row must be able to detect (80 % power) for "inconclusive" to mean
# something, per unit of its measure.
BARS = {"accuracy": 0.01, "codes": 0.5}
MARGIN = 0.01       # NONINFERIOR: accuracy a competitive method may lose


@dataclasses.dataclass
class Finding:
  ours: str          # our number(s) as text, with the 95 % CI
  n: int             # runs (or pairs) behind it
  verdict: str       # reproduced / not reproduced / inconclusive
  rule: str          # a key of RULES
  detectable: float | None = None   # smallest effect n detects at 80 % power (unit below)
  unit: str = ""                     # "accuracy", "codes", "rate", ...
  note: str = ""                     # e.g. a template at or below its chance level

  @property
  def underpowered(self) -> bool:
    """Inconclusive although n cannot detect the unit's bar (`BARS`)."""
    bar = BARS.get(self.unit)
    return (self.verdict == "inconclusive" and bar is not None and
            (self.detectable is None or self.detectable > bar))


@dataclasses.dataclass
class Claim:
  cid: str
  figure: str
  text: str
  sweep: str                       # config name whose results it reads
  paper: str                       # the paper's number, or "—"
  measure: Callable[[Tables], Finding]
  codes: bool = False              # reads a code reading: decided under every reading


# ------------------------------------------------------------------------ helpers
def select(rows: list, **where) -> list:
  return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def run_key(r: dict) -> tuple:
  """A dense run: (data seed, group, embedding, seed); pooled sweeps tag their rows with
  "data_seed" (`replicate.pool`)."""
  return (r.get("data_seed", 0), r["group"], r["embedding"], r["seed"])


class NoData(Exception):
  """A claim's cells are not in the sweep (e.g. a density or width it did not run): the
  claim is inconclusive. Any other exception in a claim is a bug and propagates."""


def need(items, what: str):
  """items if there are any, else NoData naming `what`."""
  items = list(items)
  if not items:
    raise NoData(what)
  return items


def usable(r: dict) -> bool:
  return not results.is_diverged(r)


def values(rows: list, field: str) -> dict:
  """{(data seed, group, embedding, seed): value} over non-diverged rows with a value.
  KeyError if no row has the field at all (a misspelt or renamed reading fails loudly
  instead of reading as "no run has a value")."""
  if rows and not any(field in r for r in rows):
    raise KeyError(field)
  return {run_key(r): r[field] for r in rows if usable(r) and r.get(field) is not None}


def all_settings(verdicts: list) -> str:
  """One verdict of several settings' verdicts: not reproduced if any setting is, reproduced
  if every setting is (and there is one), else inconclusive."""
  if "not reproduced" in verdicts:
    return "not reproduced"
  if verdicts and all(v == "reproduced" for v in verdicts):
    return "reproduced"
  return "inconclusive"


def diff_ci_text(res: dict, p: int = 3) -> str:
  """"mean [lo, hi]" of a `stats.paired` result's mean difference."""
  return ci_text({"mean": res["mean_diff"], "ci95_lo": res["ci95_lo"], "ci95_hi": res["ci95_hi"],
              "n": res["n"]}, p)


def ci_text(d: dict, p: int = 3) -> str:
  """"mean [lo, hi]" (95 % CI), or the mean alone when there is no CI."""
  if d["mean"] is None:
    return "no data"
  if d["ci95_lo"] is None:
    return f"{d['mean']:.{p}f} (n = {d['n']})"
  return f"{d['mean']:.{p}f} [{d['ci95_lo']:.{p}f}, {d['ci95_hi']:.{p}f}]"


def direction(a: dict, b: dict, higher: bool = True, label: str = "",
              unit: str = "accuracy") -> Finding:
  """DIRECTION rule on per-run values a, b (dicts keyed alike): is a − b > 0 (higher) or
  < 0 (not higher)?"""
  keys = sorted(set(a) & set(b))
  res = stats.paired([a[k] for k in keys], [b[k] for k in keys])
  per_seed = {}
  for ds in sorted({k[0] for k in keys}):
    sub = [k for k in keys if k[0] == ds]
    per_seed[ds] = stats.paired([a[k] for k in sub], [b[k] for k in sub])["mean_diff"]
  sign = None if res["mean_diff"] is None else res["mean_diff"] > 0
  consistent = all(v is not None and (v > 0) == sign for v in per_seed.values())
  note = ""
  if len(per_seed) > 1:
    note = "per data seed Δ: " + ", ".join(
        f"{ds}: {'—' if v is None else f'{v:+.3f}'}" for ds, v in per_seed.items())
  if res["p"] is None or res["p"] >= ALPHA:
    verdict = "inconclusive"
  elif not consistent:
    verdict, note = "inconclusive", note + " (signs differ between data seeds)"
  elif (res["mean_diff"] > 0) == higher:
    verdict = "reproduced"
  else:
    verdict = "not reproduced"
  p = "" if res["p"] is None else f", p = {res['p']:.2g}"
  if not res["n"]:
    return Finding(f"{label}no run has a value (e.g. no exact codes to follow)", 0, verdict,
                   "DIRECTION", None, unit)
  return Finding(f"{label}Δ = {diff_ci_text(res)}{p}", res["n"], verdict, "DIRECTION",
                 stats.detectable(res["sd_diff"], res["n"]), unit, note)


def near(vals, paper: float, tol: float, label: str = "", unit: str = "accuracy") -> Finding:
  """NEAR rule on values against the paper's number."""
  d = stats.describe(list(vals))
  half90 = (None if d["sd"] is None else
            stats.t_quantile(0.95, d["n"] - 1) * d["sd"] / np.sqrt(d["n"]))
  if d["mean"] is None or half90 is None:
    verdict = "inconclusive"
  elif paper - tol <= d["mean"] - half90 and d["mean"] + half90 <= paper + tol:
    verdict = "reproduced"            # the 90 % CI inside the band: equivalent (TOST)
  elif d["ci95_hi"] < paper - tol or d["ci95_lo"] > paper + tol:
    verdict = "not reproduced"
  else:
    verdict = "inconclusive"
  return Finding(f"{label}{ci_text(d)}", d["n"], verdict, "NEAR",
                 stats.detectable(d["sd"], d["n"]), unit)


def majority(pairs: list[tuple[dict, dict]], label: str = "",
             unit: str = "accuracy") -> Finding:
  """MAJORITY rule over (a, b) per-run value dicts, each compared a − b > 0."""
  tests = []
  for a, b in pairs:
    keys = sorted(set(a) & set(b))
    tests.append(stats.paired([a[k] for k in keys], [b[k] for k in keys]))
  adj = stats.holm([t["p"] for t in tests])
  wins = sum(p is not None and p < ALPHA and t["mean_diff"] > 0 for t, p in zip(tests, adj))
  losses = sum(p is not None and p < ALPHA and t["mean_diff"] < 0 for t, p in zip(tests, adj))
  k = len(tests)
  verdict = ("reproduced" if wins > k / 2 else "not reproduced" if losses > k / 2
             else "inconclusive")
  n = min((t["n"] for t in tests), default=0)
  # the least sensitive comparison's detectable effect at Holm's strictest level α/k
  det = [stats.detectable(t["sd_diff"], t["n"], ALPHA / max(k, 1)) for t in tests]
  det = max((x for x in det if x is not None), default=None)
  return Finding(f"{label}{wins} significant wins, {losses} losses of {len(tests)} "
                 "comparisons", n, verdict, "MAJORITY", det, unit)


def noninferior(settings: dict, label: str = "", margin: float = MARGIN,
                unit: str = "accuracy") -> Finding:
  """NONINFERIOR rule: settings {name: (a, b)} of per-run value dicts; is a − b > −margin
  in every setting (95 % CI above −margin)?"""
  parts, verdicts, ns, dets = [], [], [], []
  for name, (a, b) in settings.items():
    keys = sorted(set(a) & set(b))
    res = stats.paired([a[k] for k in keys], [b[k] for k in keys])
    if res["ci95_lo"] is None:
      verdicts.append("inconclusive")
      parts.append(f"{name}: no data")
      continue
    verdicts.append("reproduced" if res["ci95_lo"] > -margin else
                    "not reproduced" if res["ci95_hi"] < -margin else "inconclusive")
    parts.append(f"{name} Δ = {diff_ci_text(res)}")
    ns.append(res["n"])
    dets.append(stats.detectable(res["sd_diff"], res["n"]))
  verdict = all_settings(verdicts)
  det = max((x for x in dets if x is not None), default=None)
  return Finding(f"{label}{'; '.join(parts)} (margin −{margin})", min(ns, default=0),
                 verdict, "NONINFERIOR", det, unit)


def proportion(k1: int, n1: int, k2: int, n2: int, label: str = "") -> Finding:
  """PROPORTION rule: is k1/n1 > k2/n2 (pooled counts)?"""
  if not n1 or not n2:
    return Finding(f"{label}no data ({n1} and {n2} sites)", n1 + n2, "inconclusive",
                   "PROPORTION")
  p = stats.fisher_exact(k1, n1 - k1, k2, n2 - k2)
  r1, r2 = k1 / n1, k2 / n2
  verdict = ("inconclusive" if p >= ALPHA else "reproduced" if r1 > r2 else
             "not reproduced")
  return Finding(f"{label}{k1}/{n1} = {r1:.2f} vs {k2}/{n2} = {r2:.2f}, p = {p:.2g}",
                 n1 + n2, verdict, "PROPORTION",
                 stats.detectable_rate_difference(n1, n2, (k1 + k2) / (n1 + n2)), "rate")




def every(findings: dict, label: str = "") -> Finding:
  """One finding of several settings' (e.g. embeddings') DIRECTION findings: reproduced if
  every setting reproduces, not reproduced if any does not, else inconclusive."""
  verdicts = [f.verdict for f in findings.values()]
  verdict = all_settings(verdicts)
  det = max((f.detectable for f in findings.values() if f.detectable is not None),
            default=None)
  return Finding(label + "; ".join(f"{k}: {f.ours} ({f.verdict})" for k, f in findings.items()),
                 min((f.n for f in findings.values()), default=0), verdict, "DIRECTION",
                 det, "accuracy")
