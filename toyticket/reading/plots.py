"""Figures from a finished sweep's saved results (rows, per-run arrays, config.json).

Every figure in FIGURES takes a `Results` and returns the paths it wrote under
<run dir>/figures; most are one call of `bars` or `lines` on the result rows, the rest read
per-run arrays (`rundir.load_arrays`). No JAX and no checkpoints: everything a figure
needs is saved by the sweep. Figures are drawn with matplotlib's object API
(`matplotlib.figure.Figure`), so importing this module selects no backend and leaves
pyplot (and a notebook's backend) alone.
"""
from __future__ import annotations

import dataclasses
import os

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from toyticket.discovery import methods
from toyticket.core import names
from toyticket.reading import results
from toyticket.core import stats
from toyticket.discovery.methods import METHODS, ROW_METHODS
from toyticket.core.names import CLASSES, TEMPLATE_NAMES, TMS_REPRESENTED_MIN


@dataclasses.dataclass
class Results:
  """rows: per sparse run; dense_rows: per dense run; arrays: {"cells/...", "dense/...",
  "masks"} concatenated in row order; run_dir; config: the run's config.json as a dict;
  oracle_rows: per (dense run, density), the dense run's oracle-supported site classes;
  sae_rows: per (network, SAE L1 coefficient), `results.sae_rows`."""
  rows: list
  dense_rows: list
  arrays: dict
  run_dir: str
  config: object
  oracle_rows: list = dataclasses.field(default_factory=list)
  sae_rows: list = dataclasses.field(default_factory=list)
  tasks: dict = dataclasses.field(default_factory=dict)   # tasks.json: {group: tables}


def _uniq(rows, key):
  return list(dict.fromkeys(r[key] for r in rows))


def _sel(rows, **kw):
  return [r for r in rows if all(r[k] == v for k, v in kw.items())]


def _values(rows, field):
  """The finite values of `field` over the rows that did not diverge."""
  v = np.array([np.nan if r.get(field) is None or results.is_diverged(r) else r[field]
                for r in rows], float)
  return v[np.isfinite(v)]


def _stat(rows, field):
  """(mean, 95 % CI half-width) over the rows that did not diverge and have a value
  (`stats.describe`; half-width 0 for a single value)."""
  d = stats.describe(_values(rows, field))
  return (np.nan if d["mean"] is None else d["mean"], d["ci95"] or 0.0)


def _nanmean0(a):
  """Mean over axis 0 ignoring NaN; NaN (no warning) where a column has no value."""
  a = np.asarray(a, float)
  n = np.sum(~np.isnan(a), 0)
  return np.where(n > 0, np.nansum(a, 0) / np.maximum(n, 1), np.nan)


def _save(fig, res, name, footer: str = ""):
  """Writes <run dir>/figures/<name>.png and .svg; returns [png path]. A figure wider
  than MAX_WIDTH_PX at DPI is scaled down to it; `footer` (one line) is written along the
  bottom edge, below every panel."""
  w, h = fig.get_size_inches()
  if w * DPI > MAX_WIDTH_PX:
    fig.set_size_inches(MAX_WIDTH_PX / DPI, h * MAX_WIDTH_PX / (w * DPI))
    w, h = fig.get_size_inches()
  bottom = 0.0
  if footer:
    fig.text(0.1 / w, 0.08 / h, footer, fontsize=8, va="bottom")
    bottom = 0.3 / h
  fig.tight_layout(rect=(0, bottom, 1, 1))
  path = os.path.join(res.run_dir, "figures", name + ".png")
  fig.savefig(path, dpi=DPI)
  fig.savefig(path[:-4] + ".svg")
  return [path]


def _grid(n_rows, n_cols, w=4.0, h=3.0):
  fig = Figure(figsize=(w * n_cols, h * n_rows))
  return fig, fig.subplots(n_rows, n_cols, squeeze=False)


# Method groups the paper compares, as tick-label colours: weight space read before the
# dense end, weight space read at the dense end (post-training references), feature space.
GROUP_COLORS = {"weight space, early": ("C0", "blue"),
                "weight space, dense end": ("C3", "red"),
                "feature space": ("C2", "green"), "random": ("0.4", "grey")}


def method_group(name: str) -> str:
  m = ROW_METHODS.get(name)
  if m is None or name == "random":
    return "random"
  if m.space == "feature":
    return "feature space"
  return "weight space, dense end" if m.post_training else "weight space, early"
DPI = 100
MAX_WIDTH_PX = 2400


def _order(rows, x, y):
  """x values; methods sorted by the mean of y over all rows (best first)."""
  xs = _uniq(rows, x)
  if x != "method":
    return xs
  return sorted(xs, key=lambda m: -np.nan_to_num(_stat(_sel(rows, method=m), y)[0], nan=-1e9))


def bars(res, name, x, series, ys, panel="embedding", chance=False, **where):
  """Horizontal bars of the mean over seeds with its 95 % CI and one dot per seed: one row
  of panels per y field, one column per value of `panel`; a bar per x value (methods
  sorted by the first y field, best on top, tick labels coloured by `method_group`: blue
  weight space read early, red weight space at the dense end, green feature space, grey
  random) and series value. For methods, the random and oracle means are marked by
  vertical lines."""
  rows = _sel(res.rows, **where)
  if not rows:
    return []
  if "group" not in (panel, x, series) and len(_uniq(rows, "group")) > 1:
    rows = [{**r, "group·" + panel: f"{r['group']} · {r[panel]}"} for r in rows]
    panel = "group·" + panel            # one column per model group and panel value
  cols, ss = _uniq(rows, panel), _uniq(rows, series)
  xs = _order(rows, x, ys[0])
  h = 0.8 / len(ss)
  pos = np.arange(len(xs))[::-1]                  # first (best) on top
  fig, axes = _grid(len(ys), len(cols), w=max(4.8, 6.4 / len(cols)),
                    h=0.17 * len(xs) * len(ss) ** 0.5 + 1.2)
  for j, col in enumerate(cols):
    for i, y in enumerate(ys):
      ax = axes[i, j]
      for k, s in enumerate(ss):
        cells = [_sel(rows, **{panel: col, x: xv, series: s}) for xv in xs]
        st = [_stat(c, y) for c in cells]
        yk = pos - k * h
        ax.barh(yk, [m for m, _ in st], h, xerr=[e for _, e in st], capsize=2,
                label=f"{series} {s}", color=f"C{k}", alpha=0.75)
        dots = [(v, np.full(v.size, yi)) for yi, c in zip(yk, cells)   # one dot per seed
                for v in (_values(c, y),)]
        if dots:                                      # one artist for all of them
          ax.plot(np.concatenate([d[0] for d in dots]), np.concatenate([d[1] for d in dots]),
                  ".", color="k", ms=2, alpha=0.5)
        if chance and y.startswith("sparse_"):
          ch = [_stat(c, y.replace("sparse_", "chance_"))[0] for c in cells]
          ax.plot(ch, yk, "o", mfc="none", mec="k", ms=4,
                  label="θ0 chance" if k == 0 else None)
      if x == "method":
        for ref, ls in (("random", ":"), ("oracle", "--")):
          m = _stat(_sel(rows, **{panel: col, x: ref}), y)[0]
          if np.isfinite(m):
            ax.axvline(m, color="k", ls=ls, lw=0.8, label=f"{ref} (all series)")
      ax.set_yticks(pos - h * (len(ss) - 1) / 2, [str(v) for v in xs])
      if j > 0:               # same order in every column: names on the first one only
        ax.tick_params(labelleft=False)
      elif x == "method":
        for lab, m in zip(ax.get_yticklabels(), xs):
          lab.set_color(GROUP_COLORS[method_group(m)][0])
      ax.set_xlabel(y.replace("_", " "))
      if y.endswith("acc") and not y.startswith("d_"):
        vals = [r[y] for r in rows if r[y] is not None and np.isfinite(r[y])]
        if vals:                # none when every run diverged: keep the default limits
          ax.set_xlim(max(0.0, min(vals) - 0.05), 1.0)
      if i == 0:
        ax.set_title(f"{panel} {col}")
      if i == 0 and j == 0:
        ax.legend(fontsize=8, loc="best")
  key = "method names: " + "; ".join(f"{word}, {g}" for g, (_, word) in GROUP_COLORS.items())
  return _save(fig, res, name, footer=key if x == "method" else "")


def lines(res, name, x, series, ys, panel="embedding", **where):
  """Mean over seeds with its 95 % CI against a numeric x, one line per series value, and
  one faint dot per seed."""
  rows = _sel(res.rows, **where)
  if not rows:
    return []
  cols, ss = _uniq(rows, panel), _uniq(rows, series)
  fig, axes = _grid(len(ys), len(cols))
  for j, col in enumerate(cols):
    for i, y in enumerate(ys):
      ax = axes[i, j]
      for s in ss:
        rs = _sel(rows, **{panel: col, series: s})
        xs = sorted(set(r[x] for r in rs))
        st = np.array([_stat(_sel(rs, **{x: xv}), y) for xv in xs])
        line = ax.errorbar(xs, st[:, 0], st[:, 1], marker="o", ms=3, capsize=2, label=str(s))
        dots = [(np.full(v.size, xv, float), v) for xv in xs
                for v in (_values(_sel(rs, **{x: xv}), y),)]
        if dots:
          ax.plot(np.concatenate([d[0] for d in dots]), np.concatenate([d[1] for d in dots]),
                  ".", color=line[0].get_color(), ms=2, alpha=0.4)
      ax.set_xlabel(x)
      ax.set_ylabel(y.replace("_", " "))
      if i == 0:
        ax.set_title(f"{panel} {col}", fontsize=9)
      if i == 0 and j == 0:
        ax.legend(fontsize=8)
  return _save(fig, res, name)


def _pooled(res, key, **where):
  """Sum over the cells matching `where` of the per-cell array cells/<key>."""
  idx = [i for i, r in enumerate(res.rows) if all(r[k] == v for k, v in where.items())]
  return res.arrays["cells/" + key][idx]


# ------------------------------------------------------------------------- figures
def methods_figure(res):
  """Figs 11, 12, 24, 25: sparse accuracy and exact codes by method (θ0 chance hollow)."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return sum((bars(res, f"methods_{rw}_{rho}", "method", "density", ys, chance=True,
                   rewind=rw, density=rho)
              for rw in _uniq(res.rows, "rewind") for rho in _uniq(res.rows, "density")), [])


def recall_figure(res):
  """Figs 3 (left), 17: same-site vs family recall of dense-final codes, per template."""
  ys = [f"{k}_recall_{t}" for t in TEMPLATE_NAMES for k in ("same_site", "family")]
  return sum((bars(res, f"recall_{rho}", "method", "density", ys, density=rho)
              for rho in _uniq(res.rows, "density")), [])


def near_code_figure(res):
  """Figs 3 (right), 16: near-code fraction over sparse retraining, eventual codes (solid)
  vs the rest (dashed), per density (rows) and template (columns)."""
  dens, methods = _uniq(res.rows, "density"), _uniq(res.rows, "method")[:6]
  fig, axes = _grid(len(dens), len(TEMPLATE_NAMES))
  for i, rho in enumerate(dens):
    for t, tname in enumerate(TEMPLATE_NAMES):
      ax = axes[i, t]
      for k, m in enumerate(methods):
        col = f"C{k}"
        for key, ls in (("near_frac_codes", "-"), ("near_frac_rest", "--")):
          a = _pooled(res, key, density=rho, method=m)[..., t]
          ax.plot(_nanmean0(a), ls, color=col, label=m if ls == "-" else None)
      ax.set_title(f"density {rho} · {tname}", fontsize=9)
      ax.set_xlabel("sparse epoch")
      ax.set_ylabel("near-code fraction")
      if i == t == 0:
        ax.legend(fontsize=8)
  return _save(fig, res, "near_code")


def site_classes_figure(res):
  """Fig 4: the dense run's oracle-supported site classes (stable, recruited, close-but-
  lost) per embedding and density (mean and 95 % CI over seeds), and the sparse runs' supported
  and supported-but-lost sites per method."""
  embs, dens = _uniq(res.oracle_rows, "embedding"), _uniq(res.oracle_rows, "density")
  fig, axes = _grid(len(dens), len(TEMPLATE_NAMES))
  for i, rho in enumerate(dens):
    for t, tname in enumerate(TEMPLATE_NAMES):
      ax = axes[i, t]
      for k, cls in enumerate(CLASSES):
        st = [_stat(_sel(res.oracle_rows, embedding=e, density=rho), f"{cls}_{tname}")
              for e in embs]
        ax.bar(np.arange(len(embs)) + 0.27 * k, [m for m, _ in st], 0.27,
               yerr=[s for _, s in st], label=cls.replace("_", "-"), capsize=2)
      ax.set_xticks(np.arange(len(embs)) + 0.27, embs)
      ax.set_ylabel(f"{tname} sites (dense run)")
      ax.set_title(f"oracle support at θ0, density {rho}", fontsize=9)
      ax.legend(fontsize=8)
  return (_save(fig, res, "site_classes") +
          bars(res, "supported_but_lost", "method", "density",
               [f"supported_{t}" for t in TEMPLATE_NAMES] +
               [f"supported_but_lost_{t}" for t in TEMPLATE_NAMES]))


def _survival_panel(ax, counts, title):
  """Survival rate heat map (row load × initial distance) of pooled counts (2, L, D),
  annotated with the number of supported sites; empty cells blank."""
  with np.errstate(invalid="ignore", divide="ignore"):
    rate = np.where(counts[0] > 0, counts[1] / counts[0], np.nan)
  im = ax.imshow(rate, origin="lower", aspect="auto", vmin=0, vmax=1, cmap="viridis")
  for (l, b), n in np.ndenumerate(counts[0]):
    if n:
      ax.text(b, l, str(int(n)), ha="center", va="center", fontsize=8, color="w")
  edges = names.DIST_EDGES
  ax.set_xticks(range(len(edges) - 1), [f"{e:.1f}" for e in edges[:-1]], fontsize=8)
  ax.set_xlabel("initial distance 1 − cos (bin start)")
  ax.set_ylabel("row load (≥ last)")
  ax.set_title(title, fontsize=8)
  return im


def survival_figure(res):
  """Fig 5: survival as a joint function of initial distance and row load. Left: the dense
  run's oracle-supported sites (oracle mask at θ0), surviving = exact in the DENSE final,
  one panel per density. Right: each method's sparse runs (supported = near at the masked
  rewind point, surviving = exact in the sparse final). Colour = survival rate, numbers =
  supported sites pooled over runs and template types."""
  dens = list(res.config["densities"])
  methods = _uniq(res.rows, "method")
  dense = res.arrays.get("dense/oracle_survival")
  n_left = len(dens) if dense is not None else 0
  fig, axes = _grid(1, n_left + len(methods), w=3.4, h=3.0)
  im = None
  for p, rho in enumerate(dens[:n_left]):
    a = np.stack(list(dense))[:, p].sum(0)               # (2, L, D) pooled over runs
    im = _survival_panel(axes[0, p], a, f"dense, oracle-supported, ρ={rho}")
  for k, m in enumerate(methods):
    a = _pooled(res, "sparse_survival", method=m).sum(0)
    im = _survival_panel(axes[0, n_left + k], a, f"sparse {m}")
  if im is not None:
    fig.colorbar(im, ax=axes[0, -1], label="survival rate")
  return _save(fig, res, "survival")


def init_distance_figure(res):
  """Figs 9, 10: rewind-point distance of sites that end as exact codes, to the template
  they end as (normalised histograms), per method."""
  fig, axes = _grid(1, len(TEMPLATE_NAMES))
  edges = np.asarray(names.DIST_EDGES)
  for k, m in enumerate(_uniq(res.rows, "method")):
    h = _pooled(res, "init_dist_hist", method=m).sum(0)
    for t, tname in enumerate(TEMPLATE_NAMES):
      axes[0, t].plot(0.5 * (edges[1:] + edges[:-1]), h[t] / max(h[t].sum(), 1), "o-", ms=3,
                      label=m)
      axes[0, t].set_title(f"final {tname} codes")
      axes[0, t].set_xlabel("distance 1 − cos at the rewind point")
  axes[0, 0].legend(fontsize=8)
  return _save(fig, res, "init_distance")


def class_trajectories_figure(res):
  """Fig 21: distance and signed margin over dense training, to each site's FINAL target
  template (fixed over epochs), by oracle-supported site class at the lowest density."""
  fig, axes = _grid(2, len(TEMPLATE_NAMES))
  dens = list(res.config["densities"])
  p = int(np.argmin(dens))
  for r, key in enumerate(("oracle_class_dist", "oracle_class_margin")):
    a = np.stack(list(res.arrays["dense/" + key]))[:, p]   # (R, E+1, 3, T)
    for t, tname in enumerate(TEMPLATE_NAMES):
      for k, cls in enumerate(CLASSES):
        axes[r, t].plot(_nanmean0(a[:, :, k, t]), label=cls.replace("_", "-"))
      axes[r, t].set_title(f"{tname}, oracle support at ρ={min(dens)}",
                           fontsize=9)
      axes[r, t].set_xlabel("dense epoch")
      axes[r, t].set_ylabel(key.replace("oracle_class_", "") + " to final target")
  axes[0, 0].legend(fontsize=8)
  return _save(fig, res, "class_trajectories")


def support_growth_figure(res):
  """Figs 8, 22: supported sites and exact codes vs density, per method."""
  return lines(res, "support_growth", "density", "method",
               [f"supported_{t}" for t in TEMPLATE_NAMES] + ["sparse_4P"])


def jaccard_gain_figure(res):
  """Fig 18: per (embedding, density), each method vs init magnitude: Δ Jaccard with the
  oracle mask (x) against Δ sparse accuracy and Δ exact 4P (y)."""
  agg = results.aggregate(res.rows)
  fig, axes = _grid(1, 2)
  for a in agg:
    base = [b for b in agg if b["method"] == "init_magnitude" and all(
        b[k] == a[k] for k in ("group", "embedding", "density", "rewind", "probe_epoch"))]
    if (not base or a["method"] == "init_magnitude" or
        ROW_METHODS[a["method"]].post_training):
      continue
    dx = a["jaccard_mask_oracle_mean"] - base[0]["jaccard_mask_oracle_mean"]
    for ax, y in zip(axes[0], ("sparse_acc_mean", "sparse_4P_mean")):
      ax.plot(dx, a[y] - base[0][y], "o", ms=4,
              color="C0" if ROW_METHODS[a["method"]].space == "feature" else "C1")
      ax.set_xlabel("Δ Jaccard with oracle (vs init magnitude)")
      ax.set_ylabel("Δ " + y.replace("_mean", ""))
      ax.axhline(0, color="k", lw=0.5)
      ax.axvline(0, color="k", lw=0.5)
  axes[0, 0].set_title("blue: feature-space rules, orange: weight-space (post-training "
                       "references left out)", fontsize=8)
  return _save(fig, res, "jaccard_gain")


def expansion_figure(res):
  """Fig 6: dense 16×16, dense 32×16, and 32×16 at density 0.5 (random mask, OBS ticket,
  post-training OBS), test accuracy, mean and 95 % CI over seeds."""
  bars_ = []
  for d in _uniq(res.dense_rows, "group"):
    bars_.append((f"dense {d}", _stat(_sel(res.dense_rows, group=d), "dense_acc")))
  for g in _uniq(res.rows, "group"):
    for m, rw, label in (("random", "probe", "random mask"), ("obs", "probe", "OBS ticket"),
                         ("obs_iterative", "final", "post-training OBS")):
      rs = _sel(res.rows, group=g, method=m, rewind=rw)
      if rs:
        bars_.append((f"{label} {g} ρ={rs[0]['density']}", _stat(rs, "sparse_acc")))
  fig = Figure(figsize=(8, 4))
  ax = fig.subplots()
  ax.bar(range(len(bars_)), [m for _, (m, _) in bars_], yerr=[s for _, (_, s) in bars_],
         capsize=3)
  ax.set_xticks(range(len(bars_)), [b for b, _ in bars_], rotation=30, ha="right", fontsize=8)
  lo = min(m for _, (m, _) in bars_ if np.isfinite(m))
  ax.set_ylim(max(0.0, lo - 0.05), 1.0)
  ax.set_ylabel("test accuracy")
  return _save(fig, res, "expansion")


def scaling_figure(res):
  """Figs 14, 15: sparse accuracy and exact codes per model group (H, m), per density."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return bars(res, "scaling", "group", "method", ys, panel="density")


def translation_figure(res):
  """Figs 19, 20: Δ accuracy and Δ exact codes of each translation vs site-greedy."""
  rows = []
  for r in res.rows:
    meth = ROW_METHODS[r["method"]]
    if meth.space != "feature" or meth.translation == "greedy":
      continue
    greedy = methods.feature_method(meth.site_score, "greedy", meth.scores_at).name
    base = [b for b in res.rows if b["method"] == greedy and all(
                b[k] == r[k] for k in ("group", "embedding", "seed", "density", "rewind",
                                       "probe_epoch"))]
    if base:
      rows.append({**r, "score": meth.site_score, "translation": meth.translation,
                   "d_sparse_acc": r["sparse_acc"] - base[0]["sparse_acc"],
                   **{f"d_sparse_{t}": r[f"sparse_{t}"] - base[0][f"sparse_{t}"]
                      for t in TEMPLATE_NAMES}})
  if not rows:
    return []
  sub = Results(rows, res.dense_rows, {}, res.run_dir, res.config)
  return bars(sub, "translation", "translation", "score",
              ["d_sparse_acc"] + [f"d_sparse_{t}" for t in TEMPLATE_NAMES], panel="density")


def rewind_modes_figure(res):
  """Fig 23: accuracy and exact codes per method, one series per rewind mode."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return sum((bars(res, f"rewind_modes_{rho}", "method", "rewind", ys, density=rho)
              for rho in _uniq(res.rows, "density")), [])


def imp_figure(res):
  """IMP (issue 20; the classic lottery-ticket procedure): sparse accuracy and exact codes
  against density along the IMP path (one point per level), beside the one-shot oracle and
  random masks at the same densities, mean with 95 % CI over seeds, one panel per
  rewind."""
  return lines(res, "imp", "density", "method",
               ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES], panel="rewind")


def sae_figure(res):
  """Issue 22: do SAEs on the dense-final hidden activations recover the exact clause
  codes? Per template, codes some SAE latent matches (activation correlation ≥ 0.5 with
  the clause indicator and decoder atom along the code's row), codes matched by every SAE
  seed, the random-direction floor, and the code reader's count, against the L1
  coefficient, for the dense-final networks and (squares) the oracle tickets; below,
  fraction of variance unexplained and L0 of the dense runs' SAEs. Mean with 95 % CI over
  runs (each the mean over its SAE seeds)."""
  ticket = lambda r: r.get("ticket", "dense")     # rows written before tickets had SAEs
  rows = [r for r in res.sae_rows if not results.is_diverged(r) and ticket(r) == "dense"]
  tickets = [r for r in res.sae_rows if not results.is_diverged(r) and ticket(r) == "sparse"
             and r["method"] == "oracle"]
  if not rows:
    return []
  groups = len(_uniq(rows, "group")) > 1
  col_of = lambda r: f"{r['group']} · {r['embedding']}" if groups else r["embedding"]
  cols = list(dict.fromkeys(col_of(r) for r in rows))
  l1s = sorted(_uniq(rows, "sae_l1"))
  series = [("sae_matched_{}", "SAE: matched", "-"),
            ("sae_stable_{}", "matched by every SAE seed", "--"),
            ("sae_random_{}", "random directions (floor)", ":"),
            ("sae_codes_{}", "code reader: exact codes", "-.")]
  panels = [(t, series) for t in TEMPLATE_NAMES] + [(None, "sae_fvu"), (None, "sae_l0")]
  fig, axes = _grid(len(panels), len(cols))
  for j, col in enumerate(cols):
    cr = [r for r in rows if col_of(r) == col]
    for i, (t, what) in enumerate(panels):
      ax = axes[i, j]
      fields = ([(f.format(t), lab, ls) for f, lab, ls in what] if t else
                [(what, what.replace("sae_", "").replace("fvu", "fraction of variance "
                                                          "unexplained"), "-")])
      ct = [r for r in tickets if col_of(r) == col]
      if t and ct:         # the same SAE reading of the oracle tickets (all densities)
        fields = fields + [(f"sae_matched_{t}", "SAE on the oracle ticket: matched", "-"),
                           (f"sae_codes_{t}", "code reader on the oracle ticket", "-.")]
      for k, (field, lab, ls) in enumerate(fields):
        src = ct if "ticket" in lab else cr
        st = np.array([_stat([r for r in src if r["sae_l1"] == l1], field) for l1 in l1s])
        ax.errorbar(l1s, st[:, 0], st[:, 1], ls=ls, marker="o" if k < 4 else "s", ms=3,
                    capsize=2, color=f"C{k}", label=lab)
      if min(l1s) > 0:
        ax.set_xscale("log")
      else:
        ax.set_xscale("symlog", linthresh=min([v for v in l1s if v > 0] or [1e-3]))
      ax.set_xlabel("SAE L1 coefficient")
      ax.set_ylabel(f"exact {t} codes" if t else fields[0][1])
      if i == 0:
        ax.set_title(col)
      if i == 0 and j == 0:
        ax.legend(fontsize=8)
  return _save(fig, res, "sae")


def tms_figure(res):
  """Issue 22, TMS phase figure: do tickets keep the dense run's superposition? Against the
  feature sparsity S (x: 1/(1 − S), log, as in the TMS paper), for the dense runs (black)
  and each method's tickets (one column per density and rewind): represented features
  (‖W_i‖² ≥ 1/2; dotted: the same mask at θ0, the chance level), mean feature
  dimensionality D over represented features, superposed features, test loss (dense grey
  dashed: the constant floor), same-feature recall (solid) and Gram similarity (dashed) with
  the dense run, and every represented feature's D_i (dense: black dots; the oracle's
  tickets, else the first method's: its colour). Mean with 95 % CI over seeds."""
  rows = [r for r in res.rows if not results.is_diverged(r)]
  dense = [r for r in res.dense_rows if not results.is_diverged(r)]
  if not rows or not dense:
    return []
  xs = sorted(_uniq(dense, "sparsity"))
  xv = [1.0 / (1.0 - s) for s in xs]
  cols = list(dict.fromkeys((r["density"], r["rewind"]) for r in rows))
  meths = _uniq(rows, "method")
  shown = "oracle" if "oracle" in meths else meths[0]     # tickets in the D_i panel
  panels = [("represented", "represented features"),
            ("feature_dimensionality", "mean feature dimensionality D"),
            ("superposed", "superposed features"), ("loss", "test loss"),
            ("recall", "recall (—) / Gram similarity (- -)"),
            ("per_feature", "feature dimensionality D_i")]
  fig, axes = _grid(len(panels), len(cols), h=2.6)
  stat = lambda rs, f: np.array([_stat([r for r in rs if r["sparsity"] == s], f) for s in xs])
  arr = lambda k: res.arrays.get(k)
  dim_ends, sparse_dim = arr("dense/dim_ends"), arr("cells/sparse_dim")
  norm_ends, sparse_norms = arr("dense/norms_ends"), arr("cells/sparse_norms")
  for j, (rho, rw) in enumerate(cols):
    cr = [r for r in rows if (r["density"], r["rewind"]) == (rho, rw)]
    for i, (key, label) in enumerate(panels):
      ax = axes[i, j]
      plot = lambda st, **kw: ax.errorbar(xv, st[:, 0], st[:, 1], capsize=2, ms=3, **kw)
      if key in ("represented", "feature_dimensionality", "superposed", "loss"):
        field = lambda who: (f"{key}_{who}" if key == "feature_dimensionality" else
                             f"{who}_{key}")
        plot(stat(dense, field("dense")), color="k", marker="o", label="dense")
        if key == "loss":
          plot(stat(dense, "floor_loss"), color="0.5", ls="--", label="constant floor")
        for k, m in enumerate(meths):
          mr = [r for r in cr if r["method"] == m]
          plot(stat(mr, field("sparse")), color=f"C{k}", marker="s", label=m)
          if key == "represented":     # chance level: means only, to keep the panel legible
            ax.plot(xv, stat(mr, "chance_represented")[:, 0], color=f"C{k}", ls=":", lw=0.8)
        if key == "loss":
          ax.set_yscale("log")
      elif key == "recall":
        for k, m in enumerate(meths):
          mr = [r for r in cr if r["method"] == m]
          plot(stat(mr, "same_feature_recall"), color=f"C{k}", marker="s", label=m)
          plot(stat(mr, "gram_similarity"), color=f"C{k}", ls="--", label=None)
        ax.set_ylim(-0.8, 1.05)           # room below the curves for the legend
        ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        if j == 0:
          ax.plot([], [], color="k", marker="o", ms=3, label="dense")
          ax.legend(fontsize=6, ncol=3, loc="lower center")
      elif dim_ends is not None and sparse_dim is not None:
        for s, x in zip(xs, xv):
          # D_i of the represented features (‖W_i‖ ≥ names.TMS_REPRESENTED_MIN) only
          ds = [np.asarray(dim_ends[n])[1][np.asarray(norm_ends[n])[1] >= TMS_REPRESENTED_MIN]
                for n, r in enumerate(res.dense_rows)
                if r["sparsity"] == s and not results.is_diverged(r)]
          ts = [np.asarray(sparse_dim[n])[np.asarray(sparse_norms[n]) >= TMS_REPRESENTED_MIN]
                for n, r in enumerate(res.rows)
                if r["sparsity"] == s and not results.is_diverged(r)
                and (r["density"], r["rewind"], r["method"]) == (rho, rw, shown)]
          for vals, dx, color in ((ds, 0.97, "k"), (ts, 1.03, f"C{meths.index(shown)}")):
            v = np.concatenate(vals) if vals else np.zeros(0)
            ax.plot(np.full(v.shape, x * dx), v, ".", color=color, ms=2, alpha=0.5)
        for level in (1.0, 0.5, 0.4, 1 / 3):
          ax.axhline(level, color="0.85", lw=0.5, zorder=0)
      ax.set_xscale("log")
      ax.set_xlabel("1 / (1 − S)")
      ax.set_ylabel(label)
      if i == 0:
        ax.set_title(f"density {rho}, {rw} rewind")
  return _save(fig, res, "tms")


def probe_epochs_figure(res):
  """Fig 26: sparse accuracy and codes vs the dense epoch used for detection, one figure
  per rewind mode (`probe`: the rewind point moves with the detection epoch; `fixed`: the
  rewind point stays at rewind_epoch)."""
  return sum((lines(res, f"probe_epochs_{rw}", "probe_epoch", "method",
                    ["sparse_acc", "sparse_4P"], panel="density", rewind=rw)
              for rw in _uniq(res.rows, "rewind")), [])


def _dense_index(res, row) -> int:
  """Index into dense_rows (and the dense arrays) of a cell row's dense run."""
  return next(i for i, d in enumerate(res.dense_rows)
              if (d["group"], d["embedding"], d["seed"]) ==
              (row["group"], row["embedding"], row["seed"]))


def _exact_boxes(ax, exact, clause_vars):
  """Boxes on a C1 heat map at every exact site's variables (green 4P, red 3N1P)."""
  for h, c, t in np.argwhere(exact):
    for v in clause_vars[c]:
      ax.add_patch(Rectangle((v - 0.5, h - 0.5), 1, 1, fill=False, lw=1.2,
                             ec="g" if t == 0 else "r"))


def heatmap_panels(res, cell_indices, name):
  """W1 and C1 heat maps with exact 4P (green) / 3N1P (red) boxes on C1 at each site: the
  dense θ0 and final of the first picked cell's dense run, then per picked cell its mask on
  the dense final (no retraining; once per method and density) and its sparse final. All
  from saved arrays; every cell is paired with its own dense run."""
  if not cell_indices:
    return []
  a = res.arrays
  first = res.rows[cell_indices[0]]
  di = _dense_index(res, first)
  cv = _clause_vars(res, first)
  panels = [("dense θ0", a["dense/w1_ends"][di][0], a["dense/c1_ends"][di][0],
             a["dense/exact_ends"][di][0]),
            ("dense final", a["dense/w1_ends"][di][1], a["dense/c1_ends"][di][1],
             a["dense/exact_ends"][di][1])]
  shown = set()
  for j in cell_indices:
    r, mask = res.rows[j], a["masks"][j]
    dj = _dense_index(res, r)
    if (dj, r["method"], r["density"]) not in shown:   # the same mask for every rewind
      shown.add((dj, r["method"], r["density"]))
      w1 = a["dense/w1_ends"][dj][1] * mask
      panels.append((f"masked, no retrain ({r['method']})", w1, w1 @ a["dense/c0_final"][dj],
                     a["cells/masked_exact"][j]))
    panels.append((f"sparse final {r['method']} ρ={r['density']} {r['rewind']}",
                   a["cells/sparse_w1"][j], a["cells/sparse_c1"][j],
                   a["cells/sparse_exact"][j]))
  fig, axes = _grid(2, len(panels), w=2.9, h=3.0)
  for i, (title, w1, c1, exact) in enumerate(panels):
    for ax, m in ((axes[0, i], w1), (axes[1, i], c1)):
      lim = max(float(np.abs(m).max()), 1e-12)
      ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[0, i].set_title(title, fontsize=8)
    _exact_boxes(axes[1, i], exact, cv)
    axes[1, i].set_title(f"C1: {int(exact[..., 0].sum())} 4P, "
                         f"{int(exact[..., 1].sum())} 3N1P", fontsize=8)
  axes[0, 0].set_ylabel("W1 (rows h × embedding dims)")
  axes[1, 0].set_ylabel("C1 (rows h × variables)")
  return _save(fig, res, name)


def ticket_cycle_figure(res):
  """Fig 1: the representative run (`results.representative`: median masked-no-retrain
  accuracy) through dense, mask, masked-no-retrain and sparse retraining, at the lowest
  density, one panel pair per rewind of its method."""
  rep = results.representative(res.rows)
  if rep is None:
    return []
  picks = [i for i, r in enumerate(res.rows) if all(
      r[k] == rep[k] for k in ("group", "embedding", "seed", "method", "density"))]
  return heatmap_panels(res, picks[:2], "ticket_cycle")


def _clause_vars(res, row) -> np.ndarray:
  """(m, k) clause variables of a result row's task, as saved with the run (tasks.json)."""
  return np.asarray(res.tasks[row["group"]]["clause_vars"])


def _c1_panel(ax, c1, near, clause_vars, title):
  """C1 heat map with every near-code site's variables boxed (green 4P, red 3N1P)."""
  lim = max(float(np.abs(c1).max()), 1e-12)
  ax.imshow(c1, cmap="RdBu_r", vmin=-lim, vmax=lim)
  for h, c, t in np.argwhere(near):
    for v in clause_vars[c]:
      ax.add_patch(Rectangle((v - 0.5 + 0.08 * t, h - 0.5 + 0.08 * t), 1 - 0.16 * t,
                                 1 - 0.16 * t, fill=False, lw=0.8, ec="g" if t == 0 else "r"))
  ax.set_title(f"{title}\nnear-code: {int(near[..., 0].sum())} 4P, "
               f"{int(near[..., 1].sum())} 3N1P", fontsize=8)
  ax.set_xlabel("variable")


def feature_support_figure(res):
  """Fig 2: the ticket support changes the feature-space initial condition. C1 at θ0 of
  the dense network beside C1 of the masked rewind point of each method (the
  representative run's dense run, lowest density, first rewind), with the near-code sites
  (δ ≤ 1) boxed."""
  first = results.representative(res.rows) or res.rows[0]
  rho = min(_uniq(res.rows, "density"))
  picks, seen = [], set()
  for i, r in enumerate(res.rows):
    if (r["seed"], r["embedding"], r["group"]) == (first["seed"], first["embedding"],
                                                   first["group"]) and r["density"] == rho \
        and r["rewind"] == first["rewind"] and r["method"] not in seen and len(seen) < 4:
      seen.add(r["method"])
      picks.append(i)
  di = next(i for i, d in enumerate(res.dense_rows)
            if (d["seed"], d["embedding"], d["group"]) == (first["seed"], first["embedding"],
                                                           first["group"]))
  cv = _clause_vars(res, first)
  fig, axes = _grid(1, 1 + len(picks), w=3.2, h=3.3)
  _c1_panel(axes[0, 0], res.arrays["dense/c1_init"][di], res.arrays["dense/near_init"][di],
            cv, f"dense θ0 ({first['embedding']}, seed {first['seed']})")
  for k, j in enumerate(picks):
    r = res.rows[j]
    _c1_panel(axes[0, k + 1], res.arrays["cells/rewind_c1"][j],
              res.arrays["cells/rewind_near"][j], cv,
              f"{r['method']} mask at {r['rewind']} rewind, ρ={rho}")
  axes[0, 0].set_ylabel("hidden row h")
  return _save(fig, res, "feature_support")


def code_overlap_figure(res):
  """Fig 7: code-overlap diagnostics per method. Bars: fractions of the dense-final exact
  codes kept at the same site / moved to another row / lost in the sparse final (mean
  over runs with ≥ 1 dense code); black dots: fraction of sparse-final codes that are
  dense-final codes (same site). One panel per density (columns) and template (rows),
  first rewind mode."""
  rw = res.rows[0]["rewind"]
  dens, methods = _uniq(res.rows, "density"), _uniq(res.rows, "method")
  fig, axes = _grid(len(TEMPLATE_NAMES), len(dens), w=max(4.0, 0.3 * len(methods) + 1.5))
  colors = {"kept": "C2", "moved": "C1", "lost": "C3"}
  for j, rho in enumerate(dens):
    for t, tname in enumerate(TEMPLATE_NAMES):
      ax = axes[t, j]
      bottom = np.zeros(len(methods))
      for fate, col in colors.items():
        v = np.array([_stat(_sel(res.rows, method=m, density=rho, rewind=rw),
                            f"code_{fate}_{tname}")[0] for m in methods])
        ax.bar(range(len(methods)), np.nan_to_num(v), bottom=bottom, color=col, label=fate)
        bottom += np.nan_to_num(v)
      ov = [_stat(_sel(res.rows, method=m, density=rho, rewind=rw), f"code_overlap_{tname}")[0]
            for m in methods]
      ax.plot(range(len(methods)), ov, "ko", ms=4, label="sparse codes in dense final")
      ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
      ax.set_ylim(0, 1.05)
      ax.set_title(f"{tname} dense-final codes, ρ={rho}, {rw} rewind", fontsize=8)
      if t == j == 0:
        ax.legend(fontsize=8)
  return _save(fig, res, "code_overlap")


HEATMAP_METHODS = ("oracle", "static", "dynamic", "combined", "snip", "obs")


def heatmaps_figure(res):
  """Fig 13: sparse final W1 and C1 of several detectors (first seed, lowest density)."""
  rho = min(_uniq(res.rows, "density"))
  picks, seen = [], set()
  for i, r in enumerate(res.rows):
    if (r["seed"] == res.rows[0]["seed"] and r["density"] == rho and r["method"] not in seen
        and r["embedding"] == res.rows[0]["embedding"] and len(seen) < 3 and
        r["method"] in HEATMAP_METHODS):
      seen.add(r["method"])
      picks.append(i)
  return heatmap_panels(res, picks, "heatmaps")


FIGURES = {
    "methods": methods_figure, "recall": recall_figure, "near_code": near_code_figure,
    "site_classes": site_classes_figure, "survival": survival_figure,
    "init_distance": init_distance_figure, "class_trajectories": class_trajectories_figure,
    "support_growth": support_growth_figure, "jaccard_gain": jaccard_gain_figure,
    "expansion": expansion_figure, "scaling": scaling_figure,
    "translation": translation_figure, "rewind_modes": rewind_modes_figure,
    "probe_epochs": probe_epochs_figure, "ticket_cycle": ticket_cycle_figure,
    "heatmaps": heatmaps_figure, "feature_support": feature_support_figure,
    "code_overlap": code_overlap_figure, "imp": imp_figure, "sae": sae_figure,
    "tms": tms_figure,
}


def make_figures(figure_names, res: Results) -> list[str]:
  """Draws the named figures (names.FIGURES) at 8-pt text; returns the PNG paths written
  (each has an SVG twin)."""
  os.makedirs(os.path.join(res.run_dir, "figures"), exist_ok=True)
  with matplotlib.rc_context({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
                              "xtick.labelsize": 8, "ytick.labelsize": 8,
                              "legend.fontsize": 8, "svg.fonttype": "none"}):
    return sum((FIGURES[n](res) for n in figure_names), [])
