"""Result rows, statistics over seeds and the text summary (numpy only, no JAX).

A chunk's outputs become plain JSON-able rows: one per sparse cell (`chunk_rows`' first
list, metrics.csv), one per dense run (dense.csv) and one per (dense run, density) with
the dense run's oracle-supported site classes (dense_oracle.csv). `aggregate` reduces rows
over seeds (aggregate.csv); `summary` is the table printed after a sweep.
"""
from __future__ import annotations

import numpy as np

from toyticket.names import CLASSES, TEMPLATE_NAMES as T_NAMES

def _f(x):
  x = float(x)
  return None if np.isnan(x) else round(x, 6)


def chunk_rows(dense_labels: list[dict], cell_labels: list[dict], densities: tuple,
               out: dict) -> tuple[list, list, list]:
  """Per-cell rows, per-dense-run rows and per-(dense run, density) oracle rows (plain
  JSON-able dicts) of one chunk.

  dense_labels[i] labels dense run i of the chunk (`grid.ModelGroup.dense_labels`);
  cell_labels[j] labels flat cell j, with "dense_pos" naming its dense run's position in
  the block (`grid.ModelGroup.cell_labels`); out: `execute.execute`'s outputs (numpy,
  "dense" leaves (R, ...), "cells" leaves (R·C, ...)); densities: the oracle densities."""
  d, c = out["dense"], out["cells"]
  dense_rows, oracle_rows = [], []
  for i, lab in enumerate(dense_labels):
    row = {**lab, "dense_acc": _f(d["acc"][i, -1]),
           "dense_acc_init": _f(d["acc"][i, 0]), "diverged_epoch": int(d["diverged_epoch"][i]),
           "max_row_codes_init": int(d["max_row_codes"][i, 0]),
           "max_row_codes_dense": int(d["max_row_codes"][i, 1])}
    for t, name in enumerate(T_NAMES):
      row[f"dense_{name}"] = int(d["code_counts"][i, -1, t])
      row[f"init_{name}"] = int(d["code_counts"][i, 0, t])
      row[f"dense_near_{name}"] = int(d["near_counts"][i, 1, t])
      row[f"init_near_{name}"] = int(d["near_counts"][i, 0, t])
      row[f"decoy_dense_{name}"] = int(d["decoy_codes"][i, 1, t])
      row[f"decoy_init_{name}"] = int(d["decoy_codes"][i, 0, t])
      row[f"decoy_dense_near_{name}"] = int(d["decoy_near"][i, 1, t])
    dense_rows.append(row)
    for p, rho in enumerate(densities):
      orow = {**lab, "density": rho, "diverged_epoch": row["diverged_epoch"]}
      for t, name in enumerate(T_NAMES):
        orow[f"oracle_supported_{name}"] = int(d["oracle_supported"][i, p, t])
        for k, cls in enumerate(CLASSES):
          orow[f"{cls}_{name}"] = int(d["oracle_class_counts"][i, p, k, t])
      oracle_rows.append(orow)
  rows = []
  for j, lab in enumerate(cell_labels):
    dr = dense_rows[lab["dense_pos"]]
    row = {k: v for k, v in lab.items() if k != "dense_pos"}
    row.update({"dense_acc": dr["dense_acc"], "masked_acc": _f(c["masked_acc"][j]),
                "sparse_acc": _f(c["sparse_acc"][j]), "rewind_acc": _f(c["rewind_acc"][j]),
                "realised_density": _f(c["realised_density"][j]),
                "jaccard_mask_oracle": _f(c["jaccard_mask_oracle"][j]),
                "jaccard_sites_oracle": _f(c["jaccard_sites_oracle"][j]),
                "jaccard_codes_dense": _f(c["jaccard_codes_dense"][j]),
                "max_row_codes": int(c["max_row_codes"][j]),
                "dense_max_row_codes": dr["max_row_codes_dense"],
                "pruned_nonzero": int(c["pruned_nonzero"][j]),
                "collapsed_rows": int(c["collapsed_rows"][j]),
                "dense_diverged_epoch": dr["diverged_epoch"],
                "diverged_epoch": int(c["diverged_epoch"][j])})
    row["diverged"] = bool(row["diverged_epoch"] >= 0 or row["dense_diverged_epoch"] >= 0)
    for t, name in enumerate(T_NAMES):
      row[f"dense_{name}"] = dr[f"dense_{name}"]
      for key in ("sparse_codes", "chance_codes", "masked_codes", "supported",
                  "supported_but_lost", "stable_kept", "sparse_near", "decoy_sparse_codes",
                  "decoy_sparse_near", "decoy_chance_codes"):
        row[f"{key.replace('_codes', '')}_{name}"] = int(c[key][j, t])
      row[f"decoy_dense_{name}"] = dr[f"decoy_dense_{name}"]
      for key in ("same_site_recall", "family_recall", "code_overlap"):
        row[f"{key}_{name}"] = _f(c[key][j, t])
      for k, fate in enumerate(("kept", "moved", "lost")):
        row[f"code_{fate}_{name}"] = _f(c["code_fates"][j, k, t])
      row[f"near_codes_start_{name}"] = _f(c["near_frac_codes"][j, 0, t])
      row[f"near_rest_start_{name}"] = _f(c["near_frac_rest"][j, 0, t])
    rows.append(row)
  return rows, dense_rows, oracle_rows


KEYS = ("group", "embedding", "method", "density", "rewind", "probe_epoch")
# Two-sided 95 % Student t quantiles t_{0.975, df}, df = 1..30 (normal beyond).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
  return T975[df - 1] if df <= len(T975) else 1.960


def aggregate(rows: list[dict], keys=KEYS) -> list[dict]:
  """Per (keys) cell, over seeds: n_seeds (all runs), n_diverged, n (runs averaged: not
  diverged), and for every numeric field its mean, sd (ddof 1) and the half-width of its
  95 % CI (t_{0.975, n−1} · sd / √n) over the non-diverged runs whose value is not NaN.
  A row is diverged when its `diverged` field is true (dense rows: diverged_epoch ≥ 0)."""
  buckets: dict = {}
  for r in rows:
    buckets.setdefault(tuple(r.get(k) for k in keys), []).append(r)
  out = []
  for key, rs in buckets.items():
    agg = dict(zip(keys, key))
    bad = [bool(r["diverged"]) if "diverged" in r else r.get("diverged_epoch", -1) >= 0
           for r in rs]
    ok_rows = [r for r, b in zip(rs, bad) if not b]
    agg.update(n_seeds=len(rs), n_diverged=sum(bad), n=len(ok_rows))
    for f, v in rs[0].items():
      if f in keys or f in ("seed", "hidden", "m", "diverged") or isinstance(v, str):
        continue
      vals = np.array([np.nan if r[f] is None else float(r[f]) for r in ok_rows])
      ok = vals[~np.isnan(vals)]
      agg[f"{f}_mean"] = _f(ok.mean()) if ok.size else None
      agg[f"{f}_sd"] = _f(ok.std(ddof=1)) if ok.size > 1 else None
      agg[f"{f}_ci95"] = (_f(t975(ok.size - 1) * ok.std(ddof=1) / np.sqrt(ok.size))
                          if ok.size > 1 else None)
    out.append(agg)
  return out


def summary(rows: list[dict], dense_rows: list[dict]) -> str:
  """Text table: per group × embedding × method × density × rewind, mean ± sd (ddof 1)
  over the non-diverged seeds; `n` runs averaged and `div` diverged runs left out."""
  fmt = lambda v, p=3: "  nan" if v is None else f"{v:.{p}f}"
  lines = []
  for d in aggregate(dense_rows, ("group", "embedding")):
    lines.append(f"{d['group']} {d['embedding']:<13} dense acc {fmt(d['dense_acc_mean'])} ± "
                 f"{fmt(d['dense_acc_sd'])}  dense 4P {fmt(d['dense_4P_mean'], 1)} 3N1P "
                 f"{fmt(d['dense_3N1P_mean'], 1)}  (θ0: 4P {fmt(d['init_4P_mean'], 1)} 3N1P "
                 f"{fmt(d['init_3N1P_mean'], 1)}; decoy 4P {fmt(d['decoy_dense_4P_mean'], 1)})"
                 f"  n={d['n']}" + (f"  DIVERGED: {d['n_diverged']} of {d['n_seeds']} (left "
                                    "out)" if d["n_diverged"] else ""))
  head = (f"{'group':<8} {'embedding':<13} {'method':<20} {'dens':>5} {'rewind':<6} "
          f"{'masked':>6} {'sparse acc':>13} {'4P':>5} {'(θ0)':>5} {'3N1P':>5} {'(θ0)':>5} "
          f"{'dec4P':>5} {'ssr4P':>6} {'fam4P':>6} {'n':>3} {'div':>3}")
  lines += ["", head, "-" * len(head)]
  for a in aggregate(rows):
    lines.append(
        f"{a['group']:<8} {a['embedding']:<13} {a['method']:<20} {a['density']:>5} "
        f"{a['rewind']:<6} {fmt(a['masked_acc_mean']):>6} "
        f"{fmt(a['sparse_acc_mean'])}±{fmt(a['sparse_acc_sd'])} {fmt(a['sparse_4P_mean'], 1):>5} "
        f"{fmt(a['chance_4P_mean'], 1):>5} {fmt(a['sparse_3N1P_mean'], 1):>5} "
        f"{fmt(a['chance_3N1P_mean'], 1):>5} {fmt(a['decoy_sparse_4P_mean'], 1):>5} "
        f"{fmt(a['same_site_recall_4P_mean'], 2):>6} "
        f"{fmt(a['family_recall_4P_mean'], 2):>6} {a['n']:>3} {a['n_diverged']:>3}")
  return "\n".join(lines)
