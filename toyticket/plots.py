"""Figures (matplotlib, Agg) from a finished sweep. Every figure in FIGURES takes a Results
and an output folder and returns the paths it wrote; most are one call of `bars` or `lines`
on the result rows, the rest read per-run arrays (trajectories) or checkpoints."""
from __future__ import annotations

import dataclasses
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from toyticket.codes import TEMPLATE_NAMES  # noqa: E402

CLASSES = ("stable", "recruited", "close_but_lost")


@dataclasses.dataclass
class Results:
  """rows: per sparse run; dense_rows: per dense run; arrays: {"cells/...", "dense/...",
  "masks"} concatenated in row order; run_dir; config (ConfigDict); oracle_rows: per
  (dense run, density), the dense run's oracle-supported site classes."""
  rows: list
  dense_rows: list
  arrays: dict
  run_dir: str
  config: object
  oracle_rows: list = dataclasses.field(default_factory=list)


def _uniq(rows, key):
  return list(dict.fromkeys(r[key] for r in rows))


def _sel(rows, **kw):
  return [r for r in rows if all(r[k] == v for k, v in kw.items())]


def _stat(rows, field):
  """(mean, sd with ddof 1) over the rows that did not diverge and have a value."""
  v = np.array([np.nan if r.get(field) is None or r.get("diverged") else r[field]
                for r in rows], float)
  v = v[~np.isnan(v)]
  return (v.mean(), v.std(ddof=1) if v.size > 1 else 0.0) if v.size else (np.nan, np.nan)


def _save(fig, out_dir, name):
  fig.tight_layout()
  path = os.path.join(out_dir, name + ".png")
  fig.savefig(path, dpi=80)
  plt.close(fig)
  return [path]


def _grid(n_rows, n_cols, w=4.0, h=3.0):
  return plt.subplots(n_rows, n_cols, figsize=(w * n_cols, h * n_rows), squeeze=False)


def bars(res, name, x, series, ys, panel="embedding", chance=False, **where):
  """Grouped bars of mean ± sd over seeds: one row of panels per y field, one column per
  value of `panel`; bars at each x value, one per series value."""
  rows = _sel(res.rows, **where)
  if not rows:
    return []
  cols, xs, ss = _uniq(rows, panel), _uniq(rows, x), _uniq(rows, series)
  fig, axes = _grid(len(ys), len(cols), w=max(4.0, 0.45 * len(xs) * len(ss) ** 0.5 + 2))
  width = 0.8 / len(ss)
  pos = np.arange(len(xs))
  for j, col in enumerate(cols):
    for i, y in enumerate(ys):
      ax = axes[i, j]
      for k, s in enumerate(ss):
        st = [_stat(_sel(rows, **{panel: col, x: xv, series: s}), y) for xv in xs]
        ax.bar(pos + k * width, [m for m, _ in st], width, yerr=[e for _, e in st],
               capsize=2, label=f"{series} {s}")
        if chance and y.startswith("sparse_"):
          ch = [_stat(_sel(rows, **{panel: col, x: xv, series: s}),
                      y.replace("sparse_", "chance_"))[0] for xv in xs]
          ax.plot(pos + k * width, ch, "o", mfc="none", mec="k", ms=4,
                  label="θ0 chance" if k == 0 else None)
      ax.set_xticks(pos + width * (len(ss) - 1) / 2, [str(v) for v in xs], rotation=45,
                    ha="right", fontsize=7)
      ax.set_ylabel(y.replace("_", " "))
      if y.endswith("acc") and not y.startswith("d_"):
        lo = np.nanmin([r[y] if r[y] is not None else np.nan for r in rows])
        ax.set_ylim(max(0.0, lo - 0.05), 1.0)
      if i == 0:
        ax.set_title(f"{panel} {col}", fontsize=9)
      if i == 0 and j == 0:
        ax.legend(fontsize=6)
  return _save(fig, res.run_dir + "/figures", name)


def lines(res, name, x, series, ys, panel="embedding", **where):
  """Mean ± sd over seeds against a numeric x, one line per series value."""
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
        ax.errorbar(xs, st[:, 0], st[:, 1], marker="o", ms=3, capsize=2, label=str(s))
      ax.set_xlabel(x)
      ax.set_ylabel(y.replace("_", " "))
      if i == 0:
        ax.set_title(f"{panel} {col}", fontsize=9)
      if i == 0 and j == 0:
        ax.legend(fontsize=6)
  return _save(fig, res.run_dir + "/figures", name)


def _pooled(res, key, **where):
  """Sum over the cells matching `where` of the per-cell array cells/<key>."""
  idx = [i for i, r in enumerate(res.rows) if all(r[k] == v for k, v in where.items())]
  return res.arrays["cells/" + key][idx]


# ------------------------------------------------------------------------- figures
def methods_figure(res, out):
  """Figs 11, 12, 24, 25: sparse accuracy and exact codes by method (θ0 chance hollow)."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return sum((bars(res, f"methods_{rw}", "method", "density", ys, chance=True, rewind=rw)
              for rw in _uniq(res.rows, "rewind")), [])


def recall_figure(res, out):
  """Figs 3 (left), 17: same-site vs family recall of dense-final codes, per template."""
  ys = [f"{k}_recall_{t}" for t in TEMPLATE_NAMES for k in ("same_site", "family")]
  return bars(res, "recall", "method", "density", ys)


def near_code_figure(res, out):
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
          ax.plot(np.nanmean(a, 0), ls, color=col, label=m if ls == "-" else None)
      ax.set_title(f"density {rho} · {tname}", fontsize=9)
      ax.set_xlabel("sparse epoch")
      ax.set_ylabel("near-code fraction")
      if i == t == 0:
        ax.legend(fontsize=6)
  return _save(fig, res.run_dir + "/figures", "near_code")


def site_classes_figure(res, out):
  """Fig 4: the dense run's oracle-supported site classes (stable, recruited, close-but-
  lost) per embedding and density (mean ± sd over seeds), and the sparse runs' supported
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
      ax.legend(fontsize=7)
  return (_save(fig, res.run_dir + "/figures", "site_classes") +
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
      ax.text(b, l, str(int(n)), ha="center", va="center", fontsize=5, color="w")
  edges = metrics_dist_bins()
  ax.set_xticks(range(len(edges) - 1), [f"{e:.1f}" for e in edges[:-1]], fontsize=6)
  ax.set_xlabel("initial distance 1 − cos (bin start)")
  ax.set_ylabel("row load (≥ last)")
  ax.set_title(title, fontsize=8)
  return im


def metrics_dist_bins():
  return np.linspace(0.0, 2.0, 11)   # = metrics.DIST_BINS (plots do not import JAX)


def survival_figure(res, out):
  """Fig 5: survival as a joint function of initial distance and row load. Left: the dense
  run's oracle-supported sites (oracle mask at θ0), surviving = exact in the DENSE final,
  one panel per density. Right: each method's sparse runs (supported = near at the masked
  rewind point, surviving = exact in the sparse final). Colour = survival rate, numbers =
  supported sites pooled over runs and template types."""
  dens = list(res.config.densities) if res.config is not None else []
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
  return _save(fig, res.run_dir + "/figures", "survival")


def init_distance_figure(res, out):
  """Figs 9, 10: rewind-point distance of sites that end as exact codes, to the template
  they end as (normalised histograms), per method."""
  fig, axes = _grid(1, len(TEMPLATE_NAMES))
  edges = np.linspace(0, 2, 11)
  for k, m in enumerate(_uniq(res.rows, "method")):
    h = _pooled(res, "init_dist_hist", method=m).sum(0)
    for t, tname in enumerate(TEMPLATE_NAMES):
      axes[0, t].plot(0.5 * (edges[1:] + edges[:-1]), h[t] / max(h[t].sum(), 1), "o-", ms=3,
                      label=m)
      axes[0, t].set_title(f"final {tname} codes")
      axes[0, t].set_xlabel("distance 1 − cos at the rewind point")
  axes[0, 0].legend(fontsize=6)
  return _save(fig, res.run_dir + "/figures", "init_distance")


def class_trajectories_figure(res, out):
  """Fig 21: distance and signed margin over dense training, to each site's FINAL target
  template (fixed over epochs), by oracle-supported site class at the lowest density."""
  fig, axes = _grid(2, len(TEMPLATE_NAMES))
  p = int(np.argmin(res.config.densities)) if res.config is not None else 0
  for r, key in enumerate(("oracle_class_dist", "oracle_class_margin")):
    a = np.stack(list(res.arrays["dense/" + key]))[:, p]   # (R, E+1, 3, T)
    for t, tname in enumerate(TEMPLATE_NAMES):
      for k, cls in enumerate(CLASSES):
        with np.errstate(invalid="ignore"):
          axes[r, t].plot(np.nanmean(a[:, :, k, t], 0), label=cls.replace("_", "-"))
      axes[r, t].set_title(f"{tname}, oracle support at ρ={min(res.config.densities)}",
                           fontsize=9)
      axes[r, t].set_xlabel("dense epoch")
      axes[r, t].set_ylabel(key.replace("oracle_class_", "") + " to final target")
  axes[0, 0].legend(fontsize=7)
  return _save(fig, res.run_dir + "/figures", "class_trajectories")


def support_growth_figure(res, out):
  """Figs 8, 22: supported sites and exact codes vs density, per method."""
  return lines(res, "support_growth", "density", "method",
               [f"supported_{t}" for t in TEMPLATE_NAMES] + ["sparse_4P"])


def jaccard_gain_figure(res, out):
  """Fig 18: per (embedding, density), each method vs init magnitude: Δ Jaccard with the
  oracle mask (x) against Δ sparse accuracy and Δ exact 4P (y)."""
  from toyticket.runs import aggregate
  agg = aggregate(res.rows)
  fig, axes = _grid(1, 2)
  for a in agg:
    base = [b for b in agg if b["method"] == "init_magnitude" and all(
        b[k] == a[k] for k in ("group", "embedding", "density", "rewind", "probe_epoch"))]
    if not base or a["method"] in ("init_magnitude", "oracle"):
      continue
    dx = a["jaccard_mask_oracle_mean"] - base[0]["jaccard_mask_oracle_mean"]
    for ax, y in zip(axes[0], ("sparse_acc_mean", "sparse_4P_mean")):
      ax.plot(dx, a[y] - base[0][y], "o", ms=4,
              color="C0" if a["method"].split("-")[0] in ("static", "dynamic", "combined")
              else "C1")
      ax.set_xlabel("Δ Jaccard with oracle (vs init magnitude)")
      ax.set_ylabel("Δ " + y.replace("_mean", ""))
      ax.axhline(0, color="k", lw=0.5)
      ax.axvline(0, color="k", lw=0.5)
  axes[0, 0].set_title("blue: feature-space rules, orange: weight-space", fontsize=8)
  return _save(fig, res.run_dir + "/figures", "jaccard_gain")


def expansion_figure(res, out):
  """Fig 6: dense 16×16, dense 32×16, and 32×16 at density 0.5 (random mask, OBS ticket,
  post-training OBS), test accuracy mean ± sd over seeds."""
  bars_ = []
  for d in _uniq(res.dense_rows, "group"):
    bars_.append((f"dense {d}", _stat(_sel(res.dense_rows, group=d), "dense_acc")))
  for g in _uniq(res.rows, "group"):
    for m, rw, label in (("random", "probe", "random mask"), ("obs", "probe", "OBS ticket"),
                         ("obs_iterative", "final", "post-training OBS")):
      rs = _sel(res.rows, group=g, method=m, rewind=rw)
      if rs:
        bars_.append((f"{label} {g} ρ={rs[0]['density']}", _stat(rs, "sparse_acc")))
  fig, ax = plt.subplots(figsize=(8, 4))
  ax.bar(range(len(bars_)), [m for _, (m, _) in bars_], yerr=[s for _, (_, s) in bars_],
         capsize=3)
  ax.set_xticks(range(len(bars_)), [b for b, _ in bars_], rotation=30, ha="right", fontsize=7)
  lo = min(m for _, (m, _) in bars_ if np.isfinite(m))
  ax.set_ylim(max(0.0, lo - 0.05), 1.0)
  ax.set_ylabel("test accuracy")
  return _save(fig, res.run_dir + "/figures", "expansion")


def scaling_figure(res, out):
  """Figs 14, 15: sparse accuracy and exact codes per model group (H, m), per density."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return bars(res, "scaling", "group", "method", ys, panel="density")


def translation_figure(res, out):
  """Figs 19, 20: Δ accuracy and Δ exact codes of each translation vs site-greedy."""
  rows = []
  for r in res.rows:
    score, _, tr = r["method"].partition("-")
    base = [b for b in res.rows if b["method"] == score and all(
        b[k] == r[k] for k in ("group", "embedding", "seed", "density", "rewind",
                               "probe_epoch"))]
    if tr and base:
      rows.append({**r, "score": score, "translation": tr,
                   "d_sparse_acc": r["sparse_acc"] - base[0]["sparse_acc"],
                   **{f"d_sparse_{t}": r[f"sparse_{t}"] - base[0][f"sparse_{t}"]
                      for t in TEMPLATE_NAMES}})
  if not rows:
    return []
  sub = Results(rows, res.dense_rows, {}, res.run_dir, res.config)
  return bars(sub, "translation", "translation", "score",
              ["d_sparse_acc"] + [f"d_sparse_{t}" for t in TEMPLATE_NAMES], panel="density")


def rewind_modes_figure(res, out):
  """Fig 23: accuracy and exact codes per method, one series per rewind mode."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return sum((bars(res, f"rewind_modes_{rho}", "method", "rewind", ys, density=rho)
              for rho in _uniq(res.rows, "density")), [])


def probe_epochs_figure(res, out):
  """Fig 26: sparse accuracy and codes vs the dense epoch used for detection."""
  return lines(res, "probe_epochs", "probe_epoch", "method", ["sparse_acc", "sparse_4P"],
               panel="density")


def heatmap_panels(res, cell_indices, name):
  """W1 and C1 heat maps with exact 4P (green) / 3N1P (red) boxes on C1 at each site."""
  from toyticket import checkpoints, codes, runs
  g = runs.groups(res.config)[0]
  import jax.numpy as jnp
  chunk = sorted(os.listdir(os.path.join(res.run_dir, "checkpoints")))[0]
  ck = checkpoints.restore(os.path.join(res.run_dir, "checkpoints", chunk))
  cell_indices = [j for j in cell_indices if j < ck["masks"].shape[0]]   # first chunk
  panels = []
  dense0 = {k: v[0] for k, v in ck["dense_traj"].items()}
  ones = np.ones_like(dense0["W1"][0])
  panels.append(("dense θ0", {k: v[0] for k, v in dense0.items()}, ones))
  panels.append(("dense final", {k: v[-1] for k, v in dense0.items()}, ones))
  shown = set()
  for j in cell_indices:
    r = res.rows[j]
    if (r["method"], r["density"]) not in shown:      # the mask is the same for every rewind
      shown.add((r["method"], r["density"]))
      panels.append((f"masked, no retrain ({r['method']})",
                     {k: v[-1] for k, v in dense0.items()}, ck["masks"][j]))
    panels.append((f"sparse final {r['method']} ρ={r['density']} {r['rewind']}",
                   {k: v[j] for k, v in ck["sparse_final"].items()}, ck["masks"][j]))
  fig, axes = _grid(2, len(panels), w=3.2, h=3.0)
  for i, (title, p, mask) in enumerate(panels):
    w1 = p["W1"] * mask
    c1 = w1 @ p["C0"]
    axes[0, i].imshow(w1, cmap="RdBu_r", vmin=-np.abs(w1).max(), vmax=np.abs(w1).max())
    axes[0, i].set_title(title, fontsize=7)
    axes[1, i].imshow(c1, cmap="RdBu_r", vmin=-np.abs(c1).max(), vmax=np.abs(c1).max())
    cs = codes.codes_of({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(mask),
                        jnp.asarray(g.task.clause_vars), jnp.asarray(g.task.clause_pols),
                        res.config.codes.tau, res.config.codes.readout_check,
                        res.config.codes.specificity)
    for h, c, t in np.argwhere(np.asarray(cs.exact)):
      for v in g.task.clause_vars[c]:
        axes[1, i].add_patch(plt.Rectangle((v - 0.5, h - 0.5), 1, 1, fill=False, lw=1.2,
                                           ec="g" if t == 0 else "r"))
    axes[1, i].set_title(f"C1: {int(cs.exact[..., 0].sum())} 4P, "
                         f"{int(cs.exact[..., 1].sum())} 3N1P", fontsize=7)
  axes[0, 0].set_ylabel("W1 (rows h × embedding dims)")
  axes[1, 0].set_ylabel("C1 (rows h × variables)")
  return _save(fig, res.run_dir + "/figures", name)


def ticket_cycle_figure(res, out):
  """Figs 1, 2: one run through dense, mask, masked-no-retrain and sparse retraining."""
  first = [i for i, r in enumerate(res.rows) if r["seed"] == res.rows[0]["seed"]
           and r["embedding"] == res.rows[0]["embedding"]]
  return heatmap_panels(res, first[:2], "ticket_cycle")


def _task_of(res, row):
  """The clause world of a result row (numpy only: task.make_task)."""
  from toyticket import task
  t = res.config.task
  return task.make_task(res.config.data_seed, t.n, row["m"], t.k, t.target, t.polarity,
                        t.n_train, t.n_test)


def _c1_panel(ax, c1, near, clause_vars, title):
  """C1 heat map with every near-code site's variables boxed (green 4P, red 3N1P)."""
  lim = max(float(np.abs(c1).max()), 1e-12)
  ax.imshow(c1, cmap="RdBu_r", vmin=-lim, vmax=lim)
  for h, c, t in np.argwhere(near):
    for v in clause_vars[c]:
      ax.add_patch(plt.Rectangle((v - 0.5 + 0.08 * t, h - 0.5 + 0.08 * t), 1 - 0.16 * t,
                                 1 - 0.16 * t, fill=False, lw=0.8, ec="g" if t == 0 else "r"))
  ax.set_title(f"{title}\nnear-code: {int(near[..., 0].sum())} 4P, "
               f"{int(near[..., 1].sum())} 3N1P", fontsize=7)
  ax.set_xlabel("variable")


def feature_support_figure(res, out):
  """Fig 2: the ticket support changes the feature-space initial condition. C1 at θ0 of
  the dense network beside C1 of the masked rewind point of each method (first dense run,
  lowest density, first rewind), with the near-code sites (δ ≤ 1) boxed."""
  first = res.rows[0]
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
  cv = _task_of(res, first).clause_vars
  fig, axes = _grid(1, 1 + len(picks), w=3.2, h=3.3)
  _c1_panel(axes[0, 0], res.arrays["dense/c1_init"][di], res.arrays["dense/near_init"][di],
            cv, f"dense θ0 ({first['embedding']}, seed {first['seed']})")
  for k, j in enumerate(picks):
    r = res.rows[j]
    _c1_panel(axes[0, k + 1], res.arrays["cells/rewind_c1"][j],
              res.arrays["cells/rewind_near"][j], cv,
              f"{r['method']} mask at {r['rewind']} rewind, ρ={rho}")
  axes[0, 0].set_ylabel("hidden row h")
  return _save(fig, res.run_dir + "/figures", "feature_support")


def code_overlap_figure(res, out):
  """Fig 7: code-overlap diagnostics per method. Bars: fractions of the dense-final exact
  codes kept at the same site / moved to another row / lost in the sparse final (mean
  over runs with ≥ 1 dense code); black dots: fraction of sparse-final codes that are
  dense-final codes (same site). One panel per density (columns) and template (rows),
  first rewind mode."""
  rw = res.rows[0]["rewind"]
  dens, methods = _uniq(res.rows, "density"), _uniq(res.rows, "method")
  fig, axes = _grid(len(TEMPLATE_NAMES), len(dens), w=max(4.0, 0.5 * len(methods) + 1.5))
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
      ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=7)
      ax.set_ylim(0, 1.05)
      ax.set_title(f"{tname} dense-final codes, ρ={rho}, {rw} rewind", fontsize=8)
      if t == j == 0:
        ax.legend(fontsize=6)
  return _save(fig, res.run_dir + "/figures", "code_overlap")


def heatmaps_figure(res, out):
  """Fig 13: sparse final W1 and C1 of several detectors (first seed, lowest density)."""
  rho = min(_uniq(res.rows, "density"))
  picks, seen = [], set()
  for i, r in enumerate(res.rows):
    if (r["seed"] == res.rows[0]["seed"] and r["density"] == rho and r["method"] not in seen
        and r["embedding"] == res.rows[0]["embedding"] and len(seen) < 4 and
        r["method"] in ("oracle", "static", "dynamic", "combined", "snip", "obs")):
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
    "code_overlap": code_overlap_figure,
}


def make_figures(names, res: Results):
  out = os.path.join(res.run_dir, "figures")
  return sum((FIGURES[n](res, out) for n in names), [])
