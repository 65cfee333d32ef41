"""The paper's claims as rules over saved sweep results (numpy only), and the report.

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

from toyticket.reading import results
from toyticket.core import stats

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


def _key(r: dict) -> tuple:
  """A dense run: (data seed, group, embedding, seed); pooled sweeps tag their rows with
  "data_seed" (`replicate.pool`)."""
  return (r.get("data_seed", 0), r["group"], r["embedding"], r["seed"])


def _ok(r: dict) -> bool:
  return not results.is_diverged(r)


def values(rows: list, field: str) -> dict:
  """{(data seed, group, embedding, seed): value} over non-diverged rows with a value.
  KeyError if no row has the field at all (a misspelt or renamed reading fails loudly
  instead of reading as "no run has a value")."""
  if rows and not any(field in r for r in rows):
    raise KeyError(field)
  return {_key(r): r[field] for r in rows if _ok(r) and r.get(field) is not None}


def all_settings(verdicts: list) -> str:
  """One verdict of several settings' verdicts: not reproduced if any setting is, reproduced
  if every setting is (and there is one), else inconclusive."""
  if "not reproduced" in verdicts:
    return "not reproduced"
  if verdicts and all(v == "reproduced" for v in verdicts):
    return "reproduced"
  return "inconclusive"


def _diff_ci(res: dict, p: int = 3) -> str:
  """"mean [lo, hi]" of a `stats.paired` result's mean difference."""
  return _ci({"mean": res["mean_diff"], "ci95_lo": res["ci95_lo"], "ci95_hi": res["ci95_hi"],
              "n": res["n"]}, p)


def _ci(d: dict, p: int = 3) -> str:
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
  return Finding(f"{label}Δ = {_diff_ci(res)}{p}", res["n"], verdict, "DIRECTION",
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
  return Finding(f"{label}{_ci(d)}", d["n"], verdict, "NEAR",
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
    parts.append(f"{name} Δ = {_diff_ci(res)}")
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


def survival_rates_by_load(t: "Tables", density: float, split: int = 3) -> tuple:
  """Per non-diverged dense run (first clause count): the survival rate of its
  oracle-supported sites at row load < split and at ≥ split (pooled over templates and
  initial distances), from dense/oracle_survival (R, P, 2, L, D) (rows of the array follow
  t.dense); runs without supported sites on a side have no rate there. Returns
  ({key: low rate}, {key: high rate})."""
  arr = t.arrays["dense/oracle_survival"]
  dens = list(dict.fromkeys(r["density"] for r in t.oracle))   # the config's order
  p = dens.index(density)
  m = min(r["m"] for r in t.dense)
  low, high = {}, {}
  for r, a in zip(t.dense, arr):
    if r["m"] != m or not _ok(r):
      continue
    s = np.asarray(a)[p].sum(-1)                                   # (2, L)
    for side, out in ((slice(None, split), low), (slice(split, None), high)):
      sup = s[0, side].sum()
      if sup > 0:
        out[_key(r)] = float(s[1, side].sum() / sup)
  return low, high


def survival_by_load(arrays: dict, density_index: int, split: int = 3) -> tuple:
  """Oracle-supported sites and survivors pooled over dense runs, templates and initial
  distances, for row load < split and ≥ split, from dense/oracle_survival
  (R, P, 2, L, D): (survived_low, supported_low, survived_high, supported_high)."""
  s = np.stack(list(arrays["dense/oracle_survival"]))[:, density_index].sum((0, -1))  # (2, L)
  return (int(s[1, :split].sum()), int(s[0, :split].sum()), int(s[1, split:].sum()),
          int(s[0, split:].sum()))


# ------------------------------------------------------------------------- claims
RHO = 0.25          # the paper's main setting (75 % sparsity)
WEIGHT_BASELINES = ("init_magnitude", "checkpoint_magnitude", "snip", "grasp", "synflow",
                    "earlybird")
FEATURE_RULES = ("static", "dynamic", "combined")


def _first_m(rows: list) -> list:
  """The rows of the smallest clause count (configs that sweep m: the paper's m = 8)."""
  m = min(r["m"] for r in rows)
  return [r for r in rows if r["m"] == m]


def _cell(t: Tables, method: str, rewind: str = "probe", density: float = RHO, **kw):
  return select(_first_m(t.rows), method=method, rewind=rewind, density=density, **kw)


def _dense_acc(t: Tables) -> Finding:
  return near(values(t.dense, "dense_acc").values(), 0.978, 0.01)


def _masked_drop(t: Tables) -> Finding:
  cells = _cell(t, "oracle", rewind="init")
  return direction(values(cells, "dense_acc"), values(cells, "masked_acc"), True,
                   "dense − masked: ")


def _masked_level(t: Tables) -> Finding:
  return near(values(_cell(t, "oracle", rewind="init"), "masked_acc").values(), 0.725, 0.03)


def _ticket_beats_random(t: Tables) -> Finding:
  return direction(values(_cell(t, "oracle"), "sparse_acc"),
                   values(_cell(t, "random"), "sparse_acc"), True, "oracle − random: ")


def _ticket_matches_dense(t: Tables) -> Finding:
  cells = _cell(t, "oracle")
  return near((r["sparse_acc"] - r["dense_acc"] for r in cells if _ok(r)), 0.0, 0.01,
              "sparse − dense: ")


# ------------------------------------------------------------- code counts vs chance
def template_excess(t: Tables, template: str) -> dict:
  """A template's exact codes per dense-final network beside its floors (first clause
  count), over the non-diverged dense runs: count, θ0 chance (the same reading at θ0),
  decoy count (the same network read on decoy clauses), the paired excess over each, and
  `above`: both excesses have a 95 % CI above 0."""
  rows = [r for r in _first_m(t.dense) if _ok(r)]
  col = lambda f: [r[f"{f}_{template}"] for r in rows]
  dense, init, decoy = col("dense"), col("init"), col("decoy_dense")
  over_init, over_decoy = stats.paired(dense, init), stats.paired(dense, decoy)
  above = all(x["ci95_lo"] is not None and x["ci95_lo"] > 0 for x in (over_init, over_decoy))
  return {"n": len(rows), "count": stats.describe(dense), "count_boot": stats.bootstrap_ci(dense),
          "chance": stats.describe(init), "chance_boot": stats.bootstrap_ci(init),
          "decoy": stats.describe(decoy), "decoy_boot": stats.bootstrap_ci(decoy),
          "over_chance": over_init, "excess": over_decoy, "above": above}


def _at_chance_note(t: Tables, templates) -> str:
  low = [tp for tp in templates if not template_excess(t, tp)["above"]]
  return (f"{', '.join(low)} at or below its θ0 chance or decoy floor in the dense runs: "
          "not a verdict" if low else "")


def _code_claim(f: Finding, t: Tables, templates=("4P",)) -> Finding:
  """A code claim's finding, made inconclusive (and flagged) when a template it reads
  sits at or below its chance level or decoy floor."""
  note = _at_chance_note(t, templates)
  if note:
    prior = f"; {f.note}" if f.note else ""
    return dataclasses.replace(f, verdict="inconclusive",
                               note=f"{note} (the rule alone: {f.verdict}){prior}")
  return f


def _family_over_site(t: Tables) -> Finding:
  cells = _cell(t, "oracle")
  return _code_claim(direction(values(cells, "family_recall_4P"),
                               values(cells, "same_site_recall_4P"), True,
                               "family − same-site recall (4P): ", "rate"), t)


def _near_code_precursors(t: Tables) -> Finding:
  cells = _cell(t, "oracle")
  return _code_claim(direction(values(cells, "near_codes_start_4P"),
                               values(cells, "near_rest_start_4P"), True,
                               "near-code fraction, eventual codes − rest (4P): ", "rate"), t)


def _close_but_lost(t: Tables) -> Finding:
  """Close-but-lost sites per dense run, summed over the templates whose exact codes sit
  above their chance level and decoy floor (the others are named in the note)."""
  kept = [tp for tp in ("4P", "3N1P") if template_excess(t, tp)["above"]]
  note = _at_chance_note(t, ("4P", "3N1P"))
  rows = [r for r in select(_first_m(t.oracle), density=RHO) if _ok(r)]
  v = [sum(r[f"close_but_lost_{tp}"] for tp in kept) for r in rows]
  d = stats.describe(v)
  lo, hi = stats.bootstrap_ci(v)
  if not kept:
    return Finding("no template above chance", d["n"], "inconclusive", "POSITIVE", None,
                   "codes", note)
  verdict = ("reproduced" if lo is not None and lo > 0 else
             "not reproduced" if d["mean"] == 0 else "inconclusive")
  ci = "" if lo is None else f" [{lo:.2f}, {hi:.2f}] (bootstrap)"
  return Finding(f"close-but-lost sites ({' + '.join(kept)}) per dense run: "
                 f"{d['mean']:.2f}{ci}", d["n"], verdict, "POSITIVE",
                 stats.detectable(d["sd"], d["n"]), "codes", note)


def _survival_load(t: Tables) -> Finding:
  low, high = survival_rates_by_load(t, RHO)
  return _code_claim(direction(low, high, True, "survival rate per dense run, row load "
                               "< 3 − ≥ 3: ", "rate"), t, ("4P", "3N1P"))


def _obs_expansion(t: Tables) -> Finding:
  big = max(r["hidden"] for r in t.rows)
  return direction(values(select(t.rows, hidden=big, method="obs", rewind="probe"),
                          "sparse_acc"),
                   values(select(t.rows, hidden=big, method="random", rewind="probe"),
                          "sparse_acc"), True, "OBS − random (32×16, ρ = 0.5): ")


def _random_expansion(t: Tables) -> Finding:
  big, small = max(r["hidden"] for r in t.rows), min(r["hidden"] for r in t.rows)
  strip = lambda v: {(k[0],) + k[2:]: x for k, x in v.items()}     # drop the group
  sparse = strip(values(select(t.rows, hidden=big, method="random", rewind="probe"),
                        "sparse_acc"))
  dense = strip(values(select(t.dense, hidden=small), "dense_acc"))
  return direction(sparse, dense, True, "random 32×16 sparse − dense 16×16 (paired by data "
                   "seed, embedding and seed across the two widths): ")


def _feature_vs_weight(metric: str) -> Callable[[Tables], Finding]:
  unit = "codes" if metric.endswith("4P") else "accuracy"

  def measure(t: Tables) -> Finding:
    pairs = [(values(_cell(t, f), metric), values(_cell(t, w), metric))
             for f in FEATURE_RULES for w in WEIGHT_BASELINES]
    f = majority(pairs, f"{metric}, feature rules vs weight baselines: ", unit)
    return _code_claim(f, t) if unit == "codes" else f
  return measure


def _gap(t: Tables, method: str, rewind: str, base: str = "random", **kw) -> dict:
  a, b = (values(_cell(t, m, rewind, **kw), "sparse_acc") for m in (method, base))
  return {k: a[k] - b[k] for k in set(a) & set(b)}


def _fresh_gap(t: Tables) -> Finding:
  return direction(_gap(t, "oracle", "probe"), _gap(t, "oracle", "fresh"), True,
                   "(oracle − random) at probe − at fresh: ")


def _adaptive_fresh(t: Tables) -> Finding:
  return direction(values(_cell(t, "static_adaptive", "fresh"), "sparse_acc"),
                   values(_cell(t, "static", "fresh"), "sparse_acc"), True,
                   "static_adaptive − static (fresh rewind): ")


def _checkpoint_later(t: Tables) -> Finding:
  rows = _cell(t, "checkpoint_magnitude", "fixed")
  epochs = sorted({r["probe_epoch"] for r in rows})
  return direction(values(select(rows, probe_epoch=epochs[-1]), "sparse_acc"),
                   values(select(rows, probe_epoch=epochs[0]), "sparse_acc"), True,
                   f"detection at epoch {epochs[-1]} − at {epochs[0]} (rewind fixed): ")


def _family_mean(t: Tables, methods_: tuple, rewind: str, embedding: str) -> dict:
  """Per dense run, the mean sparse accuracy over `methods_` (runs having all of them)."""
  per = [values(_cell(t, m, rewind, embedding=embedding), "sparse_acc") for m in methods_]
  keys = set.intersection(*(set(v) for v in per)) if per else set()
  return {k: float(np.mean([v[k] for v in per])) for k in keys}


def _embeddings(t: Tables) -> list:
  return sorted({r["embedding"] for r in t.rows})


def _detectors_across_embeddings(t: Tables) -> Finding:
  return noninferior({e: (_family_mean(t, FEATURE_RULES, "probe", e),
                          _family_mean(t, WEIGHT_BASELINES, "probe", e))
                      for e in _embeddings(t)},
                     "feature rules − weight baselines (mean per run, probe rewind): ")


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


def _adaptive_more_competitive(t: Tables) -> Finding:
  """Per embedding: (static_adaptive − oracle) under fresh init minus the same gap under
  the probe rewind; reproduced if it is positive in every embedding."""
  return every({e: direction(_gap(t, "static_adaptive", "fresh", "oracle", embedding=e),
                             _gap(t, "static_adaptive", "probe", "oracle", embedding=e))
                for e in _embeddings(t)},
               "(static_adaptive − oracle) at fresh − at probe, per embedding: ")


CLAIMS = (
    Claim("1", "1", "The representative dense run reaches 0.978 test accuracy",
          "ticket_cycle", "0.978", _dense_acc),
    Claim("2", "1", "Masking the dense-final network at 75 % sparsity without retraining "
          "drops its accuracy", "ticket_cycle", "0.978 → 0.725", _masked_drop),
    Claim("3", "1", "... to about 0.725", "ticket_cycle", "0.725", _masked_level),
    Claim("4", "abstract", "The rewound dense-final ticket beats a random mask of the same "
          "density", "ticket_cycle", "—", _ticket_beats_random),
    Claim("5", "abstract", "The rewound ticket matches the dense model (within 0.01)",
          "ticket_cycle", "—", _ticket_matches_dense),
    Claim("6", "3, 17", "Family recall exceeds same-site recall: retraining re-expresses a "
          "code family on another row", "precursors", "—", _family_over_site, codes=True),
    Claim("7", "3, 16", "Locations that become sparse-final codes are near-code at the "
          "rewind point more often than the rest", "precursors", "—", _near_code_precursors,
          codes=True),
    Claim("8", "4", "Dense training rejects some oracle-supported locations "
          "(close-but-lost sites exist)", "precursors", "—", _close_but_lost, codes=True),
    Claim("9", "5", "Survival of oracle-supported locations falls with row load",
          "precursors", "—", _survival_load, codes=True),
    Claim("10", "6", "At 50 % of a 32×16 W1, the OBS ticket beats a random mask",
          "expansion", "—", _obs_expansion),
    Claim("11", "6", "A random 32×16 expansion at 50 % beats the dense 16×16 baseline",
          "expansion", "—", _random_expansion),
    Claim("12", "11, 12", "Feature-space probes outperform weight-based discovery in "
          "accuracy", "detectors", "—", _feature_vs_weight("sparse_acc")),
    Claim("13", "11, 12", "Feature-space probes outperform weight-based discovery in exact "
          "4P code recovery", "detectors", "—", _feature_vs_weight("sparse_4P"), codes=True),
    Claim("14", "23", "Under fresh-random init the dense-final oracle loses (part of) its "
          "advantage over random", "rewind_modes", "—", _fresh_gap),
    Claim("15", "25", "Under fresh init a state-adaptive feature rule beats the same rule "
          "scored at the dense probe", "rewind_modes", "—", _adaptive_fresh),
    Claim("16", "26", "Checkpoint magnitude becomes a better ticket later in dense training",
          "probe_epochs", "—", _checkpoint_later),
    Claim("17", "24", "Feature-space detectors remain competitive with weight-space "
          "discovery across embeddings (Hadamard, RandomFixed, Learned)", "embedding_sweep",
          "—", _detectors_across_embeddings),
    Claim("18", "25", "Under fresh-random sparse init, state-adaptive feature rules become "
          "more competitive (with the oracle) across embeddings", "embedding_sweep", "—",
          _adaptive_more_competitive),
)


def evaluate(claims, tables: dict) -> list[tuple[Claim, Finding]]:
  """Each claim's finding on tables[claim.sweep] (inconclusive if that sweep is absent or
  has none of the cells the claim reads)."""
  out = []
  for c in claims:
    t = tables.get(c.sweep)
    if t is None:
      out.append((c, Finding(f"no data (sweep {c.sweep} not run)", 0, "inconclusive", "—")))
      continue
    try:
      f = c.measure(t)
    except (KeyError, ValueError, IndexError) as e:   # cells or fields the claim reads
      f = Finding("no data", 0, "inconclusive", "—",
                  note=f"{type(e).__name__}: {str(e)[:120]}")
    out.append((c, f))
  return out


def _det(f: Finding) -> str:
  if f.detectable is None:
    return "—"
  unit = {"accuracy": " acc", "codes": " codes/net", "rate": ""}.get(f.unit, "")
  return f"{f.detectable:.3g}{unit}" + (" ⚠ underpowered" if f.underpowered else "")


def _cell_text(f: Finding) -> str:
  note = f" ({f.note})" if f.note else ""
  return f"{f.ours}; n = {f.n}; **{f.verdict}**{note}"


def render(findings: list, header: str, extra: str = "", readings: dict | None = None) -> str:
  """The report as Markdown: header, the claims table, the rules, extra sections.

  findings: (claim, finding) under the paper's reading, which decides the totals;
  readings: {reading label: findings} of the other code readings, shown for code claims
  in the last column (row-specific reading, τ = 0.15)."""
  readings = readings or {}
  other = {label: dict((c.cid, f) for c, f in fs) for label, fs in readings.items()}
  lines = [header, "", "| # | claim | fig. | ours, paper's reading (95 % CI) | paper | n | "
           "detectable at 80 % power | verdict | other code readings |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  for c, f in findings:
    note = f" — {f.note}" if f.note else ""
    alt = ("<br>".join(f"*{label}*: {_cell_text(o[c.cid])}" for label, o in other.items()
                       if c.cid in o) or "—") if c.codes else "— (no code reading)"
    lines.append(f"| {c.cid} | {c.text} | {c.figure} | {f.ours}{note} | {c.paper} | {f.n} | "
                 f"{_det(f)} | **{f.verdict}** ({f.rule}) | {alt} |")
  counts = {v: sum(f.verdict == v for _, f in findings)
            for v in ("reproduced", "not reproduced", "inconclusive")}
  lines += ["", "Totals (paper's reading): " + ", ".join(f"{v}: {n}" for v, n in counts.items())]
  for label, fs in readings.items():
    codes = [(c, f) for c, f in fs if c.codes]
    lines.append(f"Code claims under *{label}*: " + ", ".join(
        f"{v}: {sum(f.verdict == v for _, f in codes)}"
        for v in ("reproduced", "not reproduced", "inconclusive")))
  under = [c.cid for c, f in findings if f.underpowered]
  if under:
    lines.append(f"Underpowered inconclusive rows (detectable effect above the bar "
                 f"{BARS}): {', '.join(under)}.")
  lines += ["", "Rules (decided by `toyticket/replication.py`, nothing typed by hand):", ""]
  lines += [f"- **{k}**: {v}." for k, v in RULES.items()]
  lines.append(f"- **detectable at 80 % power**: the smallest true effect the row's test "
               f"finds with 80 % power at its observed sd and n (noncentral t; rates: "
               f"normal approximation); an inconclusive row above the bar of its unit "
               f"({', '.join(f'{u} {b}' for u, b in BARS.items())}) is marked underpowered.")
  return "\n".join(lines + ["", extra]).rstrip() + "\n"


def _mean_boot(d: dict, ci: tuple) -> str:
  """"mean [lo, hi]" of a `stats.describe` result with its bootstrap CI (2 decimals)."""
  if d["mean"] is None:
    return "no data"
  return f"{d['mean']:.2f}" + ("" if ci[0] is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def code_count_table(tables_by_reading: dict, sweep: str = "precursors") -> str:
  """Markdown: per reading and template, exact codes per dense-final network beside its θ0
  chance level and decoy count (means with percentile-bootstrap CIs), and the
  decoy-corrected excess (count − decoy count, same run, same reading; paired t CI)."""
  out = ["| reading | template | dense-final codes / net | θ0 chance | decoy | excess over "
         "decoy (95 % CI) | excess over θ0 | flag |",
         "| --- | --- | --- | --- | --- | --- | --- | --- |"]
  for label, tables in tables_by_reading.items():
    t = tables.get(sweep)
    if t is None:
      continue
    for tp in ("4P", "3N1P"):
      e = template_excess(t, tp)
      boot = lambda k: _mean_boot(e[k], e[k + "_boot"])
      flag = "above chance" if e["above"] else "**at or below chance: not a verdict**"
      out.append(f"| {label} | {tp} | {boot('count')} | {boot('chance')} | {boot('decoy')} | "
                 f"{_diff_ci(e['excess'], 2)} | {_diff_ci(e['over_chance'], 2)} | {flag} |")
  return "\n".join(out)
