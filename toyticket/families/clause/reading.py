"""The clause world's reading half (`toyticket.reading.family.FamilyReading`): config
checks, result rows, the summary and the report page's section. Plain Python (numpy): no
JAX, so a config is checked and a run read without loading it.
"""
from __future__ import annotations

import html
import math

import numpy as np


from toyticket.core import readings
from toyticket.core.checks import as_tuple, choice
from toyticket.core.errors import ConfigError
from toyticket.core.names import TEMPLATE_NAMES as T_NAMES
from toyticket.discovery import methods
from toyticket.families.clause import schema
from toyticket.families.clause import figures as _figures  # noqa: F401  (registers them)
from toyticket.families.clause import heatmaps as _heatmaps  # noqa: F401
from toyticket.families.clause import sae_figures as _sae_figures  # noqa: F401
from toyticket.reading import plots, results



_num = results.text_num   # a summary number (p decimals, "  nan" for None)


def chunk_rows(dense_labels: list[dict], cell_labels: list[dict], densities: tuple,
               out: dict) -> tuple[list, list, list]:
  """Per-cell rows, per-dense-run rows and per-(dense run, density) oracle rows (plain
  JSON-able dicts) of one chunk of the clause world: labels, then the columns the readings
  declare (`schema`, `core.readings.row`).

  dense_labels[i] labels dense run i of the chunk (`grid.ModelGroup.dense_labels`);
  cell_labels[j] labels flat cell j, with "dense_pos" naming its dense run's position in
  the block (`grid.ModelGroup.cell_labels`); out: `execute.execute`'s outputs ("dense" a
  `schema.DenseReadings` of (R, ...) numpy arrays, "cells" a `schema.CellReadings` of
  (R·C, ...)); densities: the oracle densities."""
  d, c = out["dense"], out["cells"]
  dense_rows, oracle_rows = [], []
  for i, lab in enumerate(dense_labels):
    row = {**lab, **readings.row(d, "dense", (i,), T_NAMES)}
    dense_rows.append(row)
    oracle_rows += [{**lab, "density": rho, **readings.row(d, "oracle", (i, p), T_NAMES, row)}
                    for p, rho in enumerate(densities)]
  rows = []
  for j, lab in enumerate(cell_labels):
    row = {k: v for k, v in lab.items() if k != "dense_pos"}
    row.update(readings.row(c, "cells", (j,), T_NAMES, dense_rows[lab["dense_pos"]],
                            after_scalars=readings.mark_diverged))
    rows.append(row)
  return rows, dense_rows, oracle_rows


def sae_rows(dense_labels: list[dict], cell_labels: list[dict], l1s: tuple,
             out: dict) -> list[dict]:
  """Per (network, L1 coefficient), the network being a dense-final run ("ticket" =
  "dense") or a sparse ticket ("sparse", labelled like its metrics.csv row): the SAEs'
  reconstruction (fvu, mse), L0, dead latents, and per template the exact codes matched
  (mean and sd over SAE seeds, ddof 1), matched by every seed ("stable"), matched by
  random directions (mean over draws, the floor) and found by the code reader ("codes").
  "diverged": the network diverged or an SAE's reconstruction is not finite (then its
  numbers are None and every reader leaves the row out, `results.is_diverged`).
  [] when the sweep trains no SAEs."""
  if not l1s or out["dense"].sae_fvu is None:
    return []
  nets = [({**lab, "ticket": "dense"}, out["dense"], i) for i, lab in enumerate(dense_labels)]
  nets += [({**{k: v for k, v in lab.items() if k != "dense_pos"}, "ticket": "sparse"},
            out["cells"], j) for j, lab in enumerate(cell_labels)]
  rows = []
  for lab, d, i in nets:
    for p, l1 in enumerate(l1s):
      finite = bool(np.all(np.isfinite(d.sae_fvu[i, p])) and np.all(np.isfinite(d.sae_mse[i, p])))
      row = {**lab, "sae_l1": float(l1), "sae_seeds": int(d.sae_fvu.shape[-1]),
             "diverged_epoch": int(d.diverged_epoch[i]),
             "diverged": bool(d.diverged_epoch[i] >= 0 or not finite)}
      numbers = {f"sae_{key}": results.num(np.mean(getattr(d, f"sae_{key}")[i, p]))
                 for key in ("fvu", "mse", "l0", "dead")}
      for t, name in enumerate(T_NAMES):
        m = d.sae_matched[i, p, :, t].astype(float)
        numbers[f"sae_matched_{name}"] = results.num(m.mean())
        numbers[f"sae_matched_{name}_sd"] = results.num(m.std(ddof=1)) if m.size > 1 else None
        numbers[f"sae_stable_{name}"] = int(d.sae_stable[i, p, t])
        numbers[f"sae_random_{name}"] = results.num(np.mean(d.sae_random[i, :, t]))
        numbers[f"sae_codes_{name}"] = int(d.sae_codes[i, t])
      # a diverged SAE matches nothing real: same columns, no numbers, left out
      row.update(numbers if finite else dict.fromkeys(numbers))
      rows.append(row)
  return rows


def summary(rows: list[dict], dense_rows: list[dict], top: int | None = None, agg=None,
            dense_agg=None) -> str:
  """Text table: per group × embedding, the dense runs (accuracy mean ± 95 % CI half-width
  beside the task's constant-classifier floor); then per group × embedding × method ×
  density × rewind, over the non-diverged seeds: masked-no-retrain and sparse accuracy
  (mean ± 95 % CI half-width), exact codes with their θ0 chance level and decoy floor,
  recalls; `n` runs averaged and `div` diverged runs left out. top: keep, per setting
  (group, embedding, density, rewind, probe epoch), only the `top` methods by mean sparse
  accuracy plus the references (random, oracle), best first. agg, dense_agg: the rows'
  aggregates if already computed (`Run.aggregate`, `Run.dense_aggregate`)."""
  lines = []
  for d in dense_agg or results.aggregate(dense_rows, results.DENSE_KEYS):
    lines.append(f"{d['group']} {d['embedding']:<13} dense acc {_num(d['dense_acc_mean'])} ± "
                 f"{_num(d['dense_acc_ci95'])} (floor {_num(d['floor_acc_mean'])})  dense 4P "
                 f"{_num(d['dense_4P_mean'], 1)} 3N1P {_num(d['dense_3N1P_mean'], 1)}  (θ0: 4P "
                 f"{_num(d['init_4P_mean'], 1)} 3N1P {_num(d['init_3N1P_mean'], 1)}; decoy 4P "
                 f"{_num(d['decoy_dense_4P_mean'], 1)})  n={d['n']}" +
                 results.diverged_note(d))
  head = (f"{'group':<8} {'embedding':<13} {'method':<20} {'dens':>5} {'rewind':<6} "
          f"{'floor':>5} {'masked':>6} {'sparse acc':>13} {'4P':>5} {'(θ0)':>5} {'3N1P':>5} "
          f"{'(θ0)':>5} {'dec4P':>5} {'ssr4P':>6} {'fam4P':>6} {'n':>3} {'div':>3}")
  rep = results.representative(rows)
  if rep is not None:
    lines.append(f"representative run ({rep['group']} {rep['embedding']}, seed {rep['seed']}: "
                 f"median masked-no-retrain accuracy of {rep['method']} at density "
                 f"{rep['density']}): dense {_num(rep['dense_acc'])} → masked "
                 f"{_num(rep['masked_acc'])} → sparse ({rep['rewind']} rewind) "
                 f"{_num(rep['sparse_acc'])}; floor {_num(rep['floor_acc'])}")
  lines += ["", "± is the 95 % CI half-width over seeds; floor = constant-classifier "
            "accuracy; (θ0) = codes of the mask at θ0 (chance level)", head, "-" * len(head)]
  agg = agg or results.aggregate(rows)
  if top is not None:
    setting = lambda a: tuple(a[k] for k in results.KEYS if k != "method")
    best: dict = {}
    for a in sorted(agg, key=lambda a: -(a["sparse_acc_mean"] or -1.0)):
      best.setdefault(setting(a), []).append(a)
    agg = [a for group in best.values() for i, a in enumerate(group)
           if i < top or a["method"] in results.REFERENCES]
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


def _num3(v) -> str:
  """v to 3 decimals, "—" when missing (e.g. every dense run diverged)."""
  return "—" if v is None else f"{v:.3f}"


def best_table(rows: list, dense_rows: list, top: int = 3, agg=None, dense_agg=None) -> str:
  """HTML: per setting, the dense accuracy and floor, then the top methods by mean sparse
  accuracy and the references, each with its 95 % CI (agg, dense_agg: as `summary`)."""
  fmt = lambda a, f: ("—" if a[f"{f}_mean"] is None else f"{a[f'{f}_mean']:.3f}" +
                      (f" ± {a[f'{f}_ci95']:.3f}" if a[f"{f}_ci95"] is not None else ""))
  out = ["<table><tr><th>group</th><th>embedding</th><th>dense accuracy</th>"
         "<th>floor</th><th>n</th></tr>"]
  for d in dense_agg or results.aggregate(dense_rows, results.DENSE_KEYS):
    out.append(f"<tr><td>{d['group']}</td><td>{d['embedding']}</td>"
               f"<td>{fmt(d, 'dense_acc')}</td><td>{_num3(d['floor_acc_mean'])}</td>"
               f"<td>{d['n']}</td></tr>")
  out.append("</table><table><tr><th>group</th><th>embedding</th><th>density</th>"
             "<th>rewind</th><th>probe epoch</th><th>method</th><th>sparse accuracy</th>"
             "<th>masked, no retrain</th><th>exact 4P (θ0 chance)</th><th>n</th></tr>")
  best: dict = {}
  for a in sorted(agg or results.aggregate(rows), key=lambda a: -(a["sparse_acc_mean"] or -1.0)):
    best.setdefault(tuple(a[k] for k in results.KEYS if k != "method"), []).append(a)
  for _, group in sorted(best.items(), key=lambda kv: tuple(map(str, kv[0]))):
    for i, a in enumerate(group):
      if i < top or a["method"] in results.REFERENCES:
        ref = " class='ref'" if a["method"] in results.REFERENCES else ""
        chance = a["chance_4P_mean"]
        out.append(f"<tr{ref}><td>{a['group']}</td><td>{a['embedding']}</td>"
                   f"<td>{a['density']}</td><td>{a['rewind']}</td><td>{a['probe_epoch']}</td>"
                   f"<td>{html.escape(a['method'])}</td><td>{fmt(a, 'sparse_acc')}</td>"
                   f"<td>{fmt(a, 'masked_acc')}</td><td>{fmt(a, 'sparse_4P')} "
                   f"({'—' if chance is None else f'{chance:.1f}'})</td><td>{a['n']}</td></tr>")
  return "\n".join(out + ["</table>"])


class ClauseReading:
  name = "clause"
  paired_metrics = ("sparse_acc", "sparse_4P", "sparse_3N1P")
  figures = plots.family_figures("toyticket.families.clause")
  dense_readings, cell_readings = schema.DenseReadings, schema.CellReadings

  def validate(self, c) -> None:
    """Methods that apply to the clause world, its figures, at most C(n, k) clauses."""
    choice("methods", c.methods, methods.for_task("clause"))
    choice("figures", c.figures, self.figures)
    t = c.task
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (t.n, t.k))
    limit = math.comb(t.n, t.k) if ints and 1 <= t.k <= t.n else None   # else: task.k's
    for m in as_tuple(t.m):
      if limit is not None and isinstance(m, int) and m > limit:
        raise ConfigError("task.m", t.m, f"integers in [1, C(task.n, task.k) = {limit}] "
                          "(distinct clauses)")

  def prunable_size(self, c, hidden: int) -> int:
    """The masked leaf's entries at this width: H·d."""
    return hidden * c.model.d

  def chunk_rows(self, dense_labels, cell_labels, densities, out, options) -> dict:
    cells, dense, oracle = chunk_rows(dense_labels, cell_labels, densities, out)
    return {"cells": cells, "dense": dense, "oracle": oracle,
            "sae": sae_rows(dense_labels, cell_labels, options.sae.l1s, out)}

  def summary(self, rows, dense_rows, top=None, agg=None, dense_agg=None) -> str:
    return summary(rows, dense_rows, top, agg, dense_agg)

  def page_section(self, rows, dense_rows, agg=None, dense_agg=None) -> str:
    """The report page's section: the representative run and the best methods."""
    rep = results.representative(rows)
    rep_line = ("" if rep is None else
                f"<p>Representative run ({html.escape(rep['embedding'])}, seed {rep['seed']}: "
                f"median masked-no-retrain accuracy of {html.escape(rep['method'])} at density "
                f"{rep['density']}): dense {rep['dense_acc']:.3f} → masked "
                f"{rep['masked_acc']:.3f} → sparse {rep['sparse_acc']:.3f} (floor "
                f"{rep['floor_acc']:.3f}).</p>")
    return rep_line, best_table(rows, dense_rows, agg=agg, dense_agg=dense_agg)


READING = ClauseReading()
