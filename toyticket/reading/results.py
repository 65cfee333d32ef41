"""Result rows, statistics over seeds and the text summary (numpy only, no JAX).

A chunk's outputs become plain JSON-able rows: one per sparse cell (`chunk_rows`' first
list, metrics.csv), one per dense run (dense.csv) and one per (dense run, density) with
the dense run's oracle-supported site classes (dense_oracle.csv). `aggregate` reduces rows
over seeds (aggregate.csv) and `paired_rows` compares methods with baselines seed by seed
(paired.csv); `summary` is the table printed after a sweep.
"""
from __future__ import annotations

import math

import numpy as np

from toyticket.core import stats
from toyticket.discovery.methods import METHODS, ROW_METHODS
from toyticket.core.names import CLASSES, TEMPLATE_NAMES as T_NAMES

def _f(x):
  x = float(x)
  return None if np.isnan(x) else round(x, 6)


def chunk_rows(dense_labels: list[dict], cell_labels: list[dict], densities: tuple,
               out: dict, family: str = "clause") -> tuple[list, list, list]:
  """Per-cell rows, per-dense-run rows and per-(dense run, density) oracle rows (plain
  JSON-able dicts) of one chunk; for a TMS chunk (family "tms") `tms_rows` and no oracle
  rows.

  dense_labels[i] labels dense run i of the chunk (`grid.ModelGroup.dense_labels`);
  cell_labels[j] labels flat cell j, with "dense_pos" naming its dense run's position in
  the block (`grid.ModelGroup.cell_labels`); out: `execute.execute`'s outputs (numpy,
  "dense" leaves (R, ...), "cells" leaves (R·C, ...)); densities: the oracle densities."""
  if family == "tms":
    return (*tms_rows(dense_labels, cell_labels, out), [])
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
                "detect_epoch": int(c["detect_epoch"][j]),
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


TMS_CELL_FIELDS = ("realised_density", "sparse_loss", "masked_loss", "rewind_loss",
                   "sparse_dim_mean", "same_feature_recall", "gram_similarity",
                   "jaccard_mask_oracle")
TMS_CELL_COUNTS = ("sparse_represented", "sparse_superposed", "chance_represented",
                   "chance_superposed",
                   "masked_represented", "new_features", "cut_features", "pruned_nonzero",
                   "collapsed_rows", "detect_epoch", "diverged_epoch")


def tms_rows(dense_labels: list[dict], cell_labels: list[dict], out: dict) -> tuple[list, list]:
  """Per-cell and per-dense-run rows of a TMS chunk (`tms.dense_readings`,
  `tms.cell_readings`). Dense: test loss at θ0 and the end, represented and superposed
  feature counts and mean feature dimensionality (over represented features) at θ0 and the
  end. Cell: the same for the sparse final, with the chance level (the mask at θ0,
  `chance_represented`, `chance_superposed`), the mask on the dense final without
  retraining, same-feature recall and Gram similarity with the dense final; `diverged` as
  for clause rows."""
  d, c = out["dense"], out["cells"]
  dense_rows = []
  for i, lab in enumerate(dense_labels):
    dense_rows.append({
        **lab, "dense_loss": _f(d["test_loss"][i, -1]), "init_loss": _f(d["test_loss"][i, 0]),
        "diverged_epoch": int(d["diverged_epoch"][i]),
        "dense_represented": int(d["represented"][i, -1]),
        "init_represented": int(d["represented"][i, 0]),
        "dense_superposed": int(d["superposed"][i, -1]),
        "init_superposed": int(d["superposed"][i, 0]),
        "feature_dimensionality_dense": _f(d["dim_mean"][i, -1]),
        "feature_dimensionality_init": _f(d["dim_mean"][i, 0])})
  rows = []
  for j, lab in enumerate(cell_labels):
    dr = dense_rows[lab["dense_pos"]]
    row = {k: v for k, v in lab.items() if k != "dense_pos"}
    row.update({k: dr[k] for k in ("dense_loss", "dense_represented", "dense_superposed",
                                   "feature_dimensionality_dense")})
    row.update({k: _f(c[k][j]) for k in TMS_CELL_FIELDS})
    row.update({k: int(c[k][j]) for k in TMS_CELL_COUNTS})
    row["feature_dimensionality_sparse"] = row.pop("sparse_dim_mean")
    row["dense_diverged_epoch"] = dr["diverged_epoch"]
    row["diverged"] = bool(row["diverged_epoch"] >= 0 or row["dense_diverged_epoch"] >= 0)
    rows.append(row)
  return rows, dense_rows


def sae_rows(dense_labels: list[dict], cell_labels: list[dict], l1s: tuple,
             out: dict) -> list[dict]:
  """Per (network, L1 coefficient), the network being a dense-final run ("ticket" =
  "dense") or a sparse ticket ("sparse", labelled like its metrics.csv row): the SAEs'
  reconstruction (fvu, mse), L0, dead latents, and per template the exact codes matched
  (mean and sd over SAE seeds, ddof 1), matched by every seed ("stable"), matched by
  random directions (mean over draws, the floor) and found by the code reader ("codes").
  [] when the sweep trains no SAEs."""
  if not l1s or "sae_fvu" not in out["dense"]:
    return []
  nets = [({**lab, "ticket": "dense"}, out["dense"], i) for i, lab in enumerate(dense_labels)]
  nets += [({**{k: v for k, v in lab.items() if k != "dense_pos"}, "ticket": "sparse"},
            out["cells"], j) for j, lab in enumerate(cell_labels)]
  rows = []
  for lab, d, i in nets:
    for p, l1 in enumerate(l1s):
      row = {**lab, "sae_l1": float(l1), "sae_seeds": int(d["sae_fvu"].shape[-1]),
             "diverged_epoch": int(d["diverged_epoch"][i])}
      for key in ("fvu", "mse", "l0", "dead"):
        row[f"sae_{key}"] = _f(np.mean(d[f"sae_{key}"][i, p]))
      for t, name in enumerate(T_NAMES):
        m = d["sae_matched"][i, p, :, t].astype(float)
        row[f"sae_matched_{name}"] = _f(m.mean())
        row[f"sae_matched_{name}_sd"] = _f(m.std(ddof=1)) if m.size > 1 else None
        row[f"sae_stable_{name}"] = int(d["sae_stable"][i, p, t])
        row[f"sae_random_{name}"] = _f(np.mean(d["sae_random"][i, :, t]))
        row[f"sae_codes_{name}"] = int(d["sae_codes"][i, t])
      rows.append(row)
  return rows


KEYS = ("group", "embedding", "method", "density", "rewind", "probe_epoch", "level")
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
  out = []
  for key, rs in buckets.items():
    agg = dict(zip(keys, key))
    ok_rows = [r for r in rs if not is_diverged(r)]
    agg.update(n_seeds=len(rs), n_diverged=len(rs) - len(ok_rows), n=len(ok_rows))
    fields = [f for f, v in rs[0].items() if not (
        f in keys or f in ("seed", "hidden", "m", "diverged") or isinstance(v, str))]
    for f in fields:
      s = stats.describe([r[f] for r in ok_rows])
      agg.update({f"{f}_{k}": _f(s[k]) if s[k] is not None else None for k in STAT_FIELDS})
    agg.update(_boot_columns(ok_rows, fields))
    out.append(agg)
  return out


def _boot_columns(rows: list[dict], fields: list) -> dict:
  """{f_boot_lo, f_boot_hi}: percentile-bootstrap 95 % CI of each field's mean over rows,
  inside the range of its values (a count's never below 0, a rate's never above 1); the
  fields without a missing value share one vectorised call, the others one call each;
  None with fewer than 2 values."""
  out = {}
  full = [f for f in fields
          if all(r[f] is not None and math.isfinite(r[f]) for r in rows)]
  if len(rows) > 1 and full:
    lo, hi = stats.bootstrap_cis([[float(r[f]) for r in rows] for f in full])
    for f, a, b in zip(full, lo, hi):
      out[f"{f}_boot_lo"], out[f"{f}_boot_hi"] = _f(a), _f(b)
  for f in fields:
    if f"{f}_boot_lo" not in out:
      a, b = stats.bootstrap_ci([r[f] for r in rows])
      out[f"{f}_boot_lo"] = None if a is None else _f(a)
      out[f"{f}_boot_hi"] = None if b is None else _f(b)
  return out


PAIR_KEYS = ("group", "embedding", "density", "rewind", "probe_epoch")
PAIR_METRICS = ("sparse_acc", "sparse_4P", "sparse_3N1P")
TMS_PAIR_METRICS = ("sparse_loss", "sparse_represented", "same_feature_recall",
                    "gram_similarity")
PAIRED = {"clause": PAIR_METRICS, "tms": TMS_PAIR_METRICS}   # per task family
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


def _num(v, p=3) -> str:
  """A summary-table number with p decimals, "  nan" for None."""
  return "  nan" if v is None else f"{v:.{p}f}"


def _diverged_note(agg: dict) -> str:
  """The summary's note on an aggregate row's diverged runs ("" if none)."""
  return (f"  DIVERGED: {agg['n_diverged']} of {agg['n_seeds']} (left out)"
          if agg["n_diverged"] else "")


def summary_tms(rows: list[dict], dense_rows: list[dict]) -> str:
  """Text table of a TMS sweep: per group (hidden width, sparsity S), the dense runs (test
  loss ± 95 % CI half-width beside the constant floor, represented and superposed features,
  mean feature dimensionality); then per method × density × rewind over non-diverged seeds:
  masked-no-retrain and sparse loss, represented features with their θ0 chance level,
  superposed, mean dimensionality, same-feature recall and Gram similarity."""
  lines = []
  for d in aggregate(dense_rows, ("group", "embedding")):
    lines.append(f"{d['group']:<10} dense loss {_num(d['dense_loss_mean'], 4)} ± "
                 f"{_num(d['dense_loss_ci95'], 4)} (floor {_num(d['floor_loss_mean'], 4)})  "
                 f"represented {_num(d['dense_represented_mean'], 1)} (θ0 "
                 f"{_num(d['init_represented_mean'], 1)})  superposed "
                 f"{_num(d['dense_superposed_mean'], 1)} (θ0 "
                 f"{_num(d['init_superposed_mean'], 1)})  dimensionality "
                 f"{_num(d['feature_dimensionality_dense_mean'], 2)}  n={d['n']}" +
                 _diverged_note(d))
  head = (f"{'group':<10} {'method':<20} {'dens':>5} {'rewind':<6} {'masked':>7} "
          f"{'sparse loss':>15} {'repr':>5} {'(θ0)':>5} {'sup':>5} {'(θ0)':>5} {'dim':>5} "
          f"{'recall':>6} {'gram':>5} {'n':>3} {'div':>3}")
  lines += ["", "± is the 95 % CI half-width over seeds; loss = importance-weighted test MSE; "
            "repr = represented features (‖W_i‖² ≥ 1/2), (θ0) = the mask at θ0 (chance level); "
            "recall = same-feature recall vs the dense run", head, "-" * len(head)]
  for a in aggregate(rows):
    lines.append(
        f"{a['group']:<10} {a['method']:<20} {a['density']:>5} {a['rewind']:<6} "
        f"{_num(a['masked_loss_mean'], 4):>7} {_num(a['sparse_loss_mean'], 4)}±"
        f"{_num(a['sparse_loss_ci95'], 4)} {_num(a['sparse_represented_mean'], 1):>5} "
        f"{_num(a['chance_represented_mean'], 1):>5} "
        f"{_num(a['sparse_superposed_mean'], 1):>5} "
        f"{_num(a['chance_superposed_mean'], 1):>5} "
        f"{_num(a['feature_dimensionality_sparse_mean'], 2):>5} "
        f"{_num(a['same_feature_recall_mean'], 2):>6} {_num(a['gram_similarity_mean'], 2):>5} "
        f"{a['n']:>3} {a['n_diverged']:>3}")
  return "\n".join(lines)


def summary(rows: list[dict], dense_rows: list[dict], top: int | None = None,
            family: str = "clause") -> str:
  """Text table: per group × embedding, the dense runs (accuracy mean ± 95 % CI half-width
  beside the task's constant-classifier floor); then per group × embedding × method ×
  density × rewind, over the non-diverged seeds: masked-no-retrain and sparse accuracy
  (mean ± 95 % CI half-width), exact codes with their θ0 chance level and decoy floor,
  recalls; `n` runs averaged and `div` diverged runs left out. top: keep, per setting
  (group, embedding, density, rewind, probe epoch), only the `top` methods by mean sparse
  accuracy plus the references (random, oracle), best first. family "tms": `summary_tms`."""
  if family == "tms":
    return summary_tms(rows, dense_rows)
  lines = []
  for d in aggregate(dense_rows, ("group", "embedding")):
    lines.append(f"{d['group']} {d['embedding']:<13} dense acc {_num(d['dense_acc_mean'])} ± "
                 f"{_num(d['dense_acc_ci95'])} (floor {_num(d['floor_acc_mean'])})  dense 4P "
                 f"{_num(d['dense_4P_mean'], 1)} 3N1P {_num(d['dense_3N1P_mean'], 1)}  (θ0: 4P "
                 f"{_num(d['init_4P_mean'], 1)} 3N1P {_num(d['init_3N1P_mean'], 1)}; decoy 4P "
                 f"{_num(d['decoy_dense_4P_mean'], 1)})  n={d['n']}" +
                 _diverged_note(d))
  head = (f"{'group':<8} {'embedding':<13} {'method':<20} {'dens':>5} {'rewind':<6} "
          f"{'floor':>5} {'masked':>6} {'sparse acc':>13} {'4P':>5} {'(θ0)':>5} {'3N1P':>5} "
          f"{'(θ0)':>5} {'dec4P':>5} {'ssr4P':>6} {'fam4P':>6} {'n':>3} {'div':>3}")
  rep = representative(rows)
  if rep is not None:
    lines.append(f"representative run ({rep['group']} {rep['embedding']}, seed {rep['seed']}: "
                 f"median masked-no-retrain accuracy of {rep['method']} at density "
                 f"{rep['density']}): dense {_num(rep['dense_acc'])} → masked "
                 f"{_num(rep['masked_acc'])} → sparse ({rep['rewind']} rewind) "
                 f"{_num(rep['sparse_acc'])}; floor {_num(rep['floor_acc'])}")
  lines += ["", "± is the 95 % CI half-width over seeds; floor = constant-classifier "
            "accuracy; (θ0) = codes of the mask at θ0 (chance level)", head, "-" * len(head)]
  agg = aggregate(rows)
  if top is not None:
    setting = lambda a: tuple(a[k] for k in KEYS if k != "method")
    best: dict = {}
    for a in sorted(agg, key=lambda a: -(a["sparse_acc_mean"] or -1.0)):
      best.setdefault(setting(a), []).append(a)
    agg = [a for group in best.values() for i, a in enumerate(group)
           if i < top or a["method"] in REFERENCES]
    lines[-3:-3] = [f"(top {top} methods per setting by sparse accuracy, plus random and "
                    "oracle; the full table is in summary.txt)"]
  for a in agg:
    lines.append(
        f"{a['group']:<8} {a['embedding']:<13} {a['method']:<20} {a['density']:>5} "
        f"{a['rewind']:<6} {_num(a['floor_acc_mean']):>5} {_num(a['masked_acc_mean']):>6} "
        f"{_num(a['sparse_acc_mean'])}±{_num(a['sparse_acc_ci95'])} "
        f"{_num(a['sparse_4P_mean'], 1):>5} "
        f"{_num(a['chance_4P_mean'], 1):>5} {_num(a['sparse_3N1P_mean'], 1):>5} "
        f"{_num(a['chance_3N1P_mean'], 1):>5} {_num(a['decoy_sparse_4P_mean'], 1):>5} "
        f"{_num(a['same_site_recall_4P_mean'], 2):>6} "
        f"{_num(a['family_recall_4P_mean'], 2):>6} {a['n']:>3} {a['n_diverged']:>3}")
  return "\n".join(lines)


# ------------------------------------------------------------------------ loading
def run_dirs(path: str) -> list[str]:
  """The finished run directories at `path`: itself if it holds a metrics.json, else every
  <path>/<name>/<run id>/ (a workdir) that does, sorted."""
  import glob
  import os
  if os.path.isfile(os.path.join(path, "metrics.json")):
    return [path]
  return sorted(os.path.dirname(p) for p in glob.glob(os.path.join(path, "*", "*",
                                                                   "metrics.json")))


def _config_columns(cfg: dict) -> dict:
  """Config fields flattened to "a.b" columns (tuples as text), provenance left out."""
  out = {}
  for k, v in cfg.items():
    if k == "provenance":
      continue
    if isinstance(v, dict):
      out.update({f"{k}.{kk}": vv for kk, vv in _config_columns(v).items()})
    else:
      out[k] = str(tuple(v)) if isinstance(v, (list, tuple)) else v
  return out


def _load_table(path: str, key: str):
  import os

  import pandas as pd

  from toyticket.core import rundir
  frames = []
  for d in run_dirs(path):
    m = rundir.read_json(os.path.join(d, "metrics.json"))   # RunFileError names the file
    df = pd.DataFrame(m[key])
    cols = {f"config.{k}": v for k, v in _config_columns(m["config"]).items()}
    df = df.assign(run_dir=d, run_id=os.path.basename(d), **cols)
    frames.append(df)
  if not frames:
    raise FileNotFoundError(f"no finished run (metrics.json) at {path}")
  return pd.concat(frames, ignore_index=True)


def load(path: str):
  """pandas DataFrame of the cell rows (metrics.csv's columns) of a run directory, or of
  every run under a workdir concatenated, with columns run_dir, run_id and the config's
  fields as "config.<field>" (nested fields "config.task.m"; tuples as text)."""
  return _load_table(path, "runs")


def load_dense(path: str):
  """As `load`, for the dense-run rows (dense.csv)."""
  return _load_table(path, "dense")


def load_arrays(path: str) -> dict:
  """Per-run arrays of one run directory (`rundir.load_arrays`), in row order."""
  from toyticket.core import rundir
  return rundir.load_arrays(path)
