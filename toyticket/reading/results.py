"""Statistics over result rows, and loading them (numpy only, no JAX).

A family's reading half (`FamilyReading.chunk_rows`) turns a chunk's outputs into plain
JSON-able rows: one per sparse cell (metrics.csv), one per dense run (dense.csv), and
whatever else it reads. `aggregate` reduces rows over seeds (aggregate.csv) and
`paired_rows` compares methods with baselines seed by seed (paired.csv), for every family;
`num`, `text_num` and `diverged_note` format the families' rows and summaries.
"""
from __future__ import annotations

import math

import numpy as np

from toyticket.core import stats
from toyticket.discovery.methods import ROW_METHODS


def num(x):
  """x as a JSON-able float rounded to 6 decimals, None for NaN (a row field)."""
  x = float(x)
  return None if math.isnan(x) else round(x, 6)


KEYS = ("group", "embedding", "method", "density", "rewind", "probe_epoch", "level")
DENSE_KEYS = ("group", "embedding")     # what dense rows are aggregated by
STAT_FIELDS = ("mean", "sd", "ci95", "ci95_lo", "ci95_hi")


def is_diverged(r: dict) -> bool:
  """A cell row's `diverged` flag; for dense and oracle rows, diverged_epoch ≥ 0. The one
  test every table, figure and claim uses to leave diverged runs out."""
  return bool(r["diverged"]) if "diverged" in r else r.get("diverged_epoch", -1) >= 0


def aggregate(rows: list[dict], keys=KEYS) -> list[dict]:
  """Per (keys) cell, over seeds: n_seeds (all runs), n_diverged, n (runs averaged: not
  diverged), and for every numeric field f: f_mean, f_sd (ddof 1), f_ci95 (half-width
  t_{0.975, n−1} · sd / √n) and f_ci95_lo / f_ci95_hi, over the non-diverged runs whose
  value is not None (`stats.describe`), and f_boot_lo / f_boot_hi, the percentile
  bootstrap CI that stays inside the values' range (`_boot_columns`)."""
  buckets: dict = {}
  for r in rows:
    buckets.setdefault(tuple(r.get(k) for k in keys), []).append(r)
  out, boot = [], _Boot()
  for key, rs in buckets.items():
    agg = dict(zip(keys, key))
    ok_rows = [r for r in rs if not is_diverged(r)]
    agg.update(n_seeds=len(rs), n_diverged=len(rs) - len(ok_rows), n=len(ok_rows))
    fields = [f for f, v in rs[0].items() if not (
        f in keys or f in ("seed", "hidden", "m", "diverged") or isinstance(v, str))]
    for f in fields:
      s = stats.describe([r[f] for r in ok_rows])
      agg.update({f"{f}_{k}": num(s[k]) if s[k] is not None else None for k in STAT_FIELDS})
    _boot_columns(agg, ok_rows, fields, boot)
    out.append(agg)
  boot.fill()
  return out


class _Boot:
  """Bootstrap CIs requested cell by cell and computed at the end, one `stats.bootstrap_cis`
  call per sample size n: the same numbers as one call per cell (the draws depend only on
  n and the seed), without a scipy call per cell."""

  def __init__(self):
    self.by_n: dict = {}

  def ask(self, agg: dict, field: str, values: list) -> None:
    self.by_n.setdefault(len(values), []).append((agg, field, values))

  def fill(self) -> None:
    for n, asks in self.by_n.items():
      lo, hi = stats.bootstrap_cis([v for _, _, v in asks])
      for (agg, f, _), a, b in zip(asks, lo, hi):
        agg[f"{f}_boot_lo"], agg[f"{f}_boot_hi"] = num(a), num(b)


def _boot_columns(agg: dict, rows: list[dict], fields: list, boot: _Boot) -> None:
  """Adds {f_boot_lo, f_boot_hi} to agg: the percentile-bootstrap 95 % CI of each field's
  mean over rows, inside the range of its values (a count's never below 0, a rate's never
  above 1), over its finite values; the fields without a missing value first (column
  order), then the others; None with fewer than 2 values. The numbers are filled by
  `boot.fill`."""
  finite = lambda f: [float(r[f]) for r in rows if r[f] is not None and math.isfinite(r[f])]
  full = [f for f in fields if all(r[f] is not None and math.isfinite(r[f]) for r in rows)]
  order = ([f for f in full] if len(rows) > 1 else []) + [f for f in fields
                                                         if f not in full or len(rows) < 2]
  for f in order:
    agg[f"{f}_boot_lo"] = agg[f"{f}_boot_hi"] = None
    v = finite(f)
    if len(v) > 1:
      boot.ask(agg, f, v)


PAIR_KEYS = ("group", "embedding", "density", "rewind", "probe_epoch")
PAIR_METRICS = ("sparse_acc", "sparse_4P", "sparse_3N1P")
ALPHA = 0.05


def baselines_of(method: str, present: set) -> list[str]:
  """The baselines a method is compared with, among the methods present: random (is the
  mask better than a random one), oracle (the dense-final ticket), and for feature-space
  methods init_magnitude (the weight-space rule reading the same θ0 information)."""
  feature = ROW_METHODS[method].space == "feature"
  want = ["random", "oracle"] + (["init_magnitude"] if feature else [])
  return [b for b in want if b in present and b != method]


def paired_rows(rows: list[dict], metrics=PAIR_METRICS) -> list[dict]:
  """Paired comparisons within each PAIR_KEYS cell: every method with its baselines
  (`baselines_of`), and (`REWIND_BASELINE`) every method's rewound cells with its
  fresh-init cells under the same mask (the lottery-ticket question: does the rewind point
  matter, or only the mask?), baseline "fresh rewind". Per seed, the two cells share the
  dense run and seed; diverged runs drop their pair. Per (cell, baseline, metric), the p
  values over methods are Holm-corrected (p_holm) and `verdict` is "higher" / "lower"
  (p_holm < ALPHA) or "n.s."."""
  val = lambda metric: lambda r: None if is_diverged(r) else r[metric]
  cells: dict = {}
  for r in rows:
    cells.setdefault(tuple(r[k] for k in PAIR_KEYS), {}).setdefault(r["method"], {})[
        r["seed"]] = r
  out = []
  for key, by_method in cells.items():
    present = set(by_method)
    for base in ("random", "oracle", "init_magnitude"):
      if base not in present:
        continue
      for metric in metrics:
        family = []
        for meth, runs in by_method.items():
          if base not in baselines_of(meth, present):
            continue
          seeds = [s for s in runs if s in by_method[base]]
          res = stats.paired([val(metric)(runs[s]) for s in seeds],
                             [val(metric)(by_method[base][s]) for s in seeds])
          family.append({**dict(zip(PAIR_KEYS, key)), "method": meth, "baseline": base,
                         "metric": metric, **res})
        out += _holm(family)
  fresh = {tuple(r[k] for k in PAIR_KEYS if k != "rewind") + (r["method"], r["seed"]): r
           for r in rows if r["rewind"] == REWIND_BASELINE}
  for key, by_method in cells.items():
    if key[PAIR_KEYS.index("rewind")] == REWIND_BASELINE:
      continue
    bare = tuple(v for k, v in zip(PAIR_KEYS, key) if k != "rewind")
    for metric in metrics:
      family = []
      for meth, runs in by_method.items():
        seeds = [s for s in runs if bare + (meth, s) in fresh]
        if not seeds:
          continue
        res = stats.paired([val(metric)(runs[s]) for s in seeds],
                           [val(metric)(fresh[bare + (meth, s)]) for s in seeds])
        family.append({**dict(zip(PAIR_KEYS, key)), "method": meth,
                       "baseline": f"{REWIND_BASELINE} rewind", "metric": metric, **res})
      out += _holm(family)
  return out


REWIND_BASELINE = "fresh"   # the rewind other rewinds are paired with (same mask, new init)


def _holm(family: list[dict]) -> list[dict]:
  """Holm-corrects a family of `stats.paired` rows in place: p_holm, verdict, rounding."""
  for row, ph in zip(family, stats.holm([f["p"] for f in family])):
    row["p_holm"] = ph
    row["verdict"] = ("n.s." if ph is None or ph >= ALPHA else
                      "higher" if row["mean_diff"] > 0 else "lower")
    for k in ("mean_diff", "sd_diff", "ci95_lo", "ci95_hi", "t", "p", "p_holm"):
      row[k] = None if row[k] is None else (round(row[k], 6) if math.isfinite(row[k])
                                            else row[k])
  return family


def representative(rows: list[dict]) -> dict | None:
  """The representative run (paper fig 1): in the first group and embedding, at the lowest
  density, the oracle's cells (else the first method's), the seed whose masked-no-retrain
  accuracy is the median over non-diverged seeds (the lower median for an even count;
  ties by seed). Returns that cell row (first rewind), or None if there is none."""
  if not rows:
    return None
  first = rows[0]
  rho = min(r["density"] for r in rows)
  meth = "oracle" if any(r["method"] == "oracle" for r in rows) else first["method"]
  rewind = next(r["rewind"] for r in rows if r["method"] == meth)
  cand = [r for r in rows if (r["group"], r["embedding"], r["method"], r["density"],
                              r["rewind"]) == (first["group"], first["embedding"], meth, rho,
                                               rewind)
          and not r["diverged"] and r["masked_acc"] is not None]
  if not cand:
    return None
  cand.sort(key=lambda r: (r["masked_acc"], r["seed"]))
  return cand[(len(cand) - 1) // 2]


REFERENCES = ("random", "oracle")


def text_num(v, p=3) -> str:
  """A summary-table number with p decimals, "  nan" for None."""
  return "  nan" if v is None else f"{v:.{p}f}"


def diverged_note(agg: dict) -> str:
  """The summary's note on an aggregate row's diverged runs ("" if none)."""
  return (f"  DIVERGED: {agg['n_diverged']} of {agg['n_seeds']} (left out)"
          if agg["n_diverged"] else "")


# ------------------------------------------------------------------------ loading
def config_columns(cfg: dict) -> dict:
  """Config fields flattened to "a.b" columns (tuples as text), provenance left out."""
  out = {}
  for k, v in cfg.items():
    if k == "provenance":
      continue
    if isinstance(v, dict):
      out.update({f"{k}.{kk}": vv for kk, vv in config_columns(v).items()})
    else:
      out[k] = str(tuple(v)) if isinstance(v, (list, tuple)) else v
  return out
