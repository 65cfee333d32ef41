"""The paper's claims as rules over saved sweep results (numpy only), and the report.

Each `Claim` names the sweep it reads and a measure: a function of that sweep's `Tables`
(rows, dense rows, oracle rows, per-run arrays) returning a `Finding` (our number with
its 95 % CI, n, the verdict). Verdicts come from three rules, written once here and
printed with every row of the report:

  DIRECTION   a paired difference (same dense run and seed) in the claimed direction:
              reproduced if its two-sided paired t test gives p < 0.05 in that direction,
              not reproduced if p < 0.05 in the opposite one, else inconclusive.
  NEAR        a paper number v with tolerance tol: reproduced if |mean − v| ≤ tol, not
              reproduced if the 95 % CI lies entirely outside [v − tol, v + tol], else
              inconclusive.
  MAJORITY    a family of paired comparisons (Holm-corrected): reproduced if significant
              wins outnumber significant losses, not reproduced if losses outnumber wins,
              else inconclusive.
  POSITIVE    a count that should exist: reproduced if the 95 % CI of its mean over runs
              lies above 0, not reproduced if it is 0 in every run, else inconclusive.
  PROPORTION  two rates pooled over runs (rare events): two-sided Fisher exact test;
              reproduced if p < 0.05 in the claimed direction, not reproduced if p < 0.05
              the other way, else inconclusive.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from toyticket import results, stats

ALPHA = 0.05
RULES = {
    "DIRECTION": "paired t test of the per-seed difference in the claimed direction: "
                 "reproduced if p < 0.05 that way, not reproduced if p < 0.05 the other "
                 "way, else inconclusive",
    "NEAR": "reproduced if |mean − paper| ≤ tol; not reproduced if the 95 % CI lies "
            "outside paper ± tol; else inconclusive",
    "MAJORITY": "Holm-corrected paired tests over a family of comparisons: reproduced if "
                "significant wins outnumber losses, not reproduced if losses outnumber "
                "wins, else inconclusive",
    "POSITIVE": "reproduced if the 95 % CI of the per-run mean lies above 0, not "
                "reproduced if the count is 0 in every run, else inconclusive",
    "PROPORTION": "rates pooled over runs, two-sided Fisher exact test: reproduced if "
                  "p < 0.05 in the claimed direction, not reproduced if p < 0.05 the other "
                  "way, else inconclusive",
}


@dataclasses.dataclass
class Tables:
  """One sweep's saved results (metrics.json and `rundir.load_arrays`)."""
  rows: list
  dense: list
  oracle: list = dataclasses.field(default_factory=list)
  arrays: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Finding:
  ours: str          # our number(s) as text, with the 95 % CI
  n: int             # runs (or pairs) behind it
  verdict: str       # reproduced / not reproduced / inconclusive
  rule: str          # a key of RULES


@dataclasses.dataclass
class Claim:
  cid: str
  figure: str
  text: str
  sweep: str                       # config name whose results it reads
  paper: str                       # the paper's number, or "—"
  measure: Callable[[Tables], Finding]


# ------------------------------------------------------------------------ helpers
def select(rows: list, **where) -> list:
  return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def _key(r: dict) -> tuple:
  return (r["group"], r["embedding"], r["seed"])


def _ok(r: dict) -> bool:
  return not results.is_diverged(r)


def values(rows: list, field: str) -> dict:
  """{(group, embedding, seed): value} over non-diverged rows with a value."""
  return {_key(r): r[field] for r in rows if _ok(r) and r.get(field) is not None}


def _ci(d: dict, p: int = 3) -> str:
  """"mean [lo, hi]" (95 % CI), or the mean alone when there is no CI."""
  if d["mean"] is None:
    return "no data"
  if d["ci95_lo"] is None:
    return f"{d['mean']:.{p}f} (n = {d['n']})"
  return f"{d['mean']:.{p}f} [{d['ci95_lo']:.{p}f}, {d['ci95_hi']:.{p}f}]"


def direction(a: dict, b: dict, higher: bool = True, label: str = "") -> Finding:
  """DIRECTION rule on per-run values a, b (dicts keyed alike): is a − b > 0 (higher) or
  < 0 (not higher)?"""
  keys = sorted(set(a) & set(b))
  res = stats.paired([a[k] for k in keys], [b[k] for k in keys])
  if res["p"] is None:
    verdict = "inconclusive"
  elif res["p"] < ALPHA and (res["mean_diff"] > 0) == higher:
    verdict = "reproduced"
  elif res["p"] < ALPHA:
    verdict = "not reproduced"
  else:
    verdict = "inconclusive"
  d = {"mean": res["mean_diff"], "ci95_lo": res["ci95_lo"], "ci95_hi": res["ci95_hi"],
       "n": res["n"]}
  p = "" if res["p"] is None else f", p = {res['p']:.2g}"
  if not res["n"]:
    return Finding(f"{label}no run has a value (e.g. no exact codes to follow)", 0, verdict,
                   "DIRECTION")
  return Finding(f"{label}Δ = {_ci(d)}{p}", res["n"], verdict, "DIRECTION")


def near(vals, paper: float, tol: float, label: str = "") -> Finding:
  """NEAR rule on values against the paper's number."""
  d = stats.describe(list(vals))
  if d["mean"] is None:
    verdict = "inconclusive"
  elif abs(d["mean"] - paper) <= tol:
    verdict = "reproduced"
  elif d["ci95"] is not None and (d["ci95_hi"] < paper - tol or d["ci95_lo"] > paper + tol):
    verdict = "not reproduced"
  else:
    verdict = "inconclusive"
  return Finding(f"{label}{_ci(d)}", d["n"], verdict, "NEAR")


def majority(pairs: list[tuple[dict, dict]], label: str = "") -> Finding:
  """MAJORITY rule over (a, b) per-run value dicts, each compared a − b > 0."""
  tests = []
  for a, b in pairs:
    keys = sorted(set(a) & set(b))
    tests.append(stats.paired([a[k] for k in keys], [b[k] for k in keys]))
  adj = stats.holm([t["p"] for t in tests])
  wins = sum(p is not None and p < ALPHA and t["mean_diff"] > 0 for t, p in zip(tests, adj))
  losses = sum(p is not None and p < ALPHA and t["mean_diff"] < 0 for t, p in zip(tests, adj))
  verdict = ("reproduced" if wins > losses else "not reproduced" if losses > wins
             else "inconclusive")
  n = min((t["n"] for t in tests), default=0)
  return Finding(f"{label}{wins} significant wins, {losses} losses of {len(tests)} "
                 "comparisons", n, verdict, "MAJORITY")


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
                 n1 + n2, verdict, "PROPORTION")


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


def _family_over_site(t: Tables) -> Finding:
  cells = _cell(t, "oracle")
  return direction(values(cells, "family_recall_4P"), values(cells, "same_site_recall_4P"),
                   True, "family − same-site recall (4P): ")


def _near_code_precursors(t: Tables) -> Finding:
  cells = _cell(t, "oracle")
  return direction(values(cells, "near_codes_start_4P"), values(cells, "near_rest_start_4P"),
                   True, "near-code fraction, eventual codes − rest (4P): ")


def _close_but_lost(t: Tables) -> Finding:
  rows = [r for r in select(_first_m(t.oracle), density=RHO) if _ok(r)]
  d = stats.describe([r["close_but_lost_4P"] + r["close_but_lost_3N1P"] for r in rows])
  verdict = ("reproduced" if d["ci95_lo"] is not None and d["ci95_lo"] > 0 else
             "not reproduced" if d["mean"] == 0 else "inconclusive")
  return Finding(f"close-but-lost sites per dense run: {_ci(d, 2)}", d["n"], verdict,
                 "POSITIVE")


def _survival_load(t: Tables) -> Finding:
  dens = sorted({r["density"] for r in t.oracle})
  return proportion(*survival_by_load(t.arrays, dens.index(RHO)),
                    label="survived, row load < 3 vs ≥ 3: ")


def _obs_expansion(t: Tables) -> Finding:
  big = max(r["hidden"] for r in t.rows)
  return direction(values(select(t.rows, hidden=big, method="obs", rewind="probe"),
                          "sparse_acc"),
                   values(select(t.rows, hidden=big, method="random", rewind="probe"),
                          "sparse_acc"), True, "OBS − random (32×16, ρ = 0.5): ")


def _random_expansion(t: Tables) -> Finding:
  big, small = max(r["hidden"] for r in t.rows), min(r["hidden"] for r in t.rows)
  sparse = {k[1:]: v for k, v in values(select(t.rows, hidden=big, method="random",
                                                rewind="probe"), "sparse_acc").items()}
  dense = {k[1:]: v for k, v in values(select(t.dense, hidden=small), "dense_acc").items()}
  return direction(sparse, dense, True, "random 32×16 sparse − dense 16×16: ")


def _feature_vs_weight(metric: str) -> Callable[[Tables], Finding]:
  def measure(t: Tables) -> Finding:
    pairs = [(values(_cell(t, f), metric), values(_cell(t, w), metric))
             for f in FEATURE_RULES for w in WEIGHT_BASELINES]
    return majority(pairs, f"{metric}, feature rules vs weight baselines: ")
  return measure


def _fresh_gap(t: Tables) -> Finding:
  gap = {}
  for rw in ("probe", "fresh"):
    o, r = values(_cell(t, "oracle", rw), "sparse_acc"), values(_cell(t, "random", rw),
                                                                "sparse_acc")
    gap[rw] = {k: o[k] - r[k] for k in set(o) & set(r)}
  return direction(gap["probe"], gap["fresh"], True, "(oracle − random) at probe − at fresh: ")


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
          "code family on another row", "precursors", "—", _family_over_site),
    Claim("7", "3, 16", "Locations that become sparse-final codes are near-code at the "
          "rewind point more often than the rest", "precursors", "—", _near_code_precursors),
    Claim("8", "4", "Dense training rejects some oracle-supported locations "
          "(close-but-lost sites exist)", "precursors", "—", _close_but_lost),
    Claim("9", "5", "Survival of oracle-supported locations falls with row load",
          "precursors", "—", _survival_load),
    Claim("10", "6", "At 50 % of a 32×16 W1, the OBS ticket beats a random mask",
          "expansion", "—", _obs_expansion),
    Claim("11", "6", "A random 32×16 expansion at 50 % beats the dense 16×16 baseline",
          "expansion", "—", _random_expansion),
    Claim("12", "11, 12", "Feature-space probes outperform weight-based discovery in "
          "accuracy", "detectors", "—", _feature_vs_weight("sparse_acc")),
    Claim("13", "11, 12", "Feature-space probes outperform weight-based discovery in exact "
          "4P code recovery", "detectors", "—", _feature_vs_weight("sparse_4P")),
    Claim("14", "23", "Under fresh-random init the dense-final oracle loses (part of) its "
          "advantage over random", "rewind_modes", "—", _fresh_gap),
    Claim("15", "25", "Under fresh init a state-adaptive feature rule beats the same rule "
          "scored at the dense probe", "rewind_modes", "—", _adaptive_fresh),
    Claim("16", "26", "Checkpoint magnitude becomes a better ticket later in dense training",
          "probe_epochs", "—", _checkpoint_later),
)


def evaluate(claims, tables: dict) -> list[tuple[Claim, Finding]]:
  """Each claim's finding on tables[claim.sweep] (inconclusive if that sweep is absent or
  has none of the cells the claim reads)."""
  out = []
  for c in claims:
    t = tables.get(c.sweep)
    try:
      f = c.measure(t) if t is not None else None
    except (KeyError, ValueError, IndexError):
      f = None
    out.append((c, f or Finding("no data", 0, "inconclusive", "DIRECTION")))
  return out


def render(findings: list, header: str, extra: str = "") -> str:
  """The report as Markdown: header, the claims table, the rules, extra sections."""
  lines = [header, "", "| # | claim | fig. | ours (95 % CI) | paper | n | verdict |",
           "| --- | --- | --- | --- | --- | --- | --- |"]
  for c, f in findings:
    lines.append(f"| {c.cid} | {c.text} | {c.figure} | {f.ours} | {c.paper} | {f.n} | "
                 f"**{f.verdict}** ({f.rule}) |")
  counts = {v: sum(f.verdict == v for _, f in findings)
            for v in ("reproduced", "not reproduced", "inconclusive")}
  lines += ["", "Totals: " + ", ".join(f"{v}: {n}" for v, n in counts.items()), "",
            "Rules (decided by `toyticket/replication.py`, nothing typed by hand):", ""]
  lines += [f"- **{k}**: {v}." for k, v in RULES.items()]
  return "\n".join(lines + ["", extra]).rstrip() + "\n"
