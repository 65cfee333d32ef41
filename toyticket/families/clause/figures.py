"""The clause world's figures drawn from result rows (paper figs 2–12, 14–26): bars and
lines over methods, densities, rewinds and probe epochs, registered with `plots.figure`.
"""
from __future__ import annotations

import numpy as np

from toyticket.core import names
from toyticket.core.names import CLASSES, TEMPLATE_NAMES
from toyticket.discovery import methods
from toyticket.discovery.methods import ROW_METHODS
from toyticket.reading import plots, results


@plots.figure("methods")
def methods_figure(res):
  """Figs 11, 12, 24, 25: sparse accuracy and exact codes by method (θ0 chance hollow)."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return sum((plots.bars(res, f"methods_{rw}_{rho}", "method", "density", ys, chance=True,
                   rewind=rw, density=rho)
              for rw in plots.uniq(res.rows, "rewind") for rho in plots.uniq(res.rows, "density")), [])


@plots.figure("recall")
def recall_figure(res):
  """Figs 3 (left), 17: same-site vs family recall of dense-final codes, per template."""
  ys = [f"{k}_recall_{t}" for t in TEMPLATE_NAMES for k in ("same_site", "family")]
  return sum((plots.bars(res, f"recall_{rho}", "method", "density", ys, density=rho)
              for rho in plots.uniq(res.rows, "density")), [])


@plots.figure("near_code")
def near_code_figure(res):
  """Figs 3 (right), 16: near-code fraction over sparse retraining, eventual codes (solid)
  vs the rest (dashed), per density (rows) and template (columns)."""
  dens, methods = plots.uniq(res.rows, "density"), plots.uniq(res.rows, "method")[:6]
  fig, axes = plots.grid(len(dens), len(TEMPLATE_NAMES))
  for i, rho in enumerate(dens):
    for t, tname in enumerate(TEMPLATE_NAMES):
      ax = axes[i, t]
      for k, m in enumerate(methods):
        col = f"C{k}"
        for key, ls in (("near_frac_codes", "-"), ("near_frac_rest", "--")):
          a = plots.pooled(res, key, density=rho, method=m)[..., t]
          ax.plot(plots.nanmean0(a), ls, color=col, label=m if ls == "-" else None)
      ax.set_title(f"density {rho} · {tname}", fontsize=9)
      ax.set_xlabel("sparse epoch")
      ax.set_ylabel("near-code fraction")
  for ls, what in (("-", "solid: sites that end as codes"), ("--", "dashed: every other site")):
    axes[0, 0].plot([], [], ls, color="k", label=what)      # the line styles, explained
  plots.legend_outside(fig, axes)
  return plots.save(fig, res, "near_code")


@plots.figure("site_classes")
def site_classes_figure(res):
  """Fig 4: the dense run's oracle-supported site classes (stable, recruited, close-but-
  lost) per embedding and density (mean and 95 % CI over seeds), and the sparse runs' supported
  and supported-but-lost sites per method."""
  embs, dens = plots.uniq(res.oracle_rows, "embedding"), plots.uniq(res.oracle_rows, "density")
  fig, axes = plots.grid(len(dens), len(TEMPLATE_NAMES))
  for i, rho in enumerate(dens):
    for t, tname in enumerate(TEMPLATE_NAMES):
      ax = axes[i, t]
      for k, cls in enumerate(CLASSES):
        st = [plots.stat(plots.sel(res.oracle_rows, embedding=e, density=rho), f"{cls}_{tname}")
              for e in embs]
        ax.bar(np.arange(len(embs)) + 0.27 * k, [m for m, _ in st], 0.27,
               yerr=[s for _, s in st], label=cls.replace("_", "-"), capsize=2)
      ax.set_xticks(np.arange(len(embs)) + 0.27, embs)
      ax.set_ylabel(f"{tname} sites (dense run)")
      ax.set_title(f"oracle support at θ0, density {rho}", fontsize=9)
  plots.legend_outside(fig, axes)
  return (plots.save(fig, res, "site_classes") +
          plots.bars(res, "supported_but_lost", "method", "density",
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


@plots.figure("survival")
def survival_figure(res):
  """Fig 5: survival as a joint function of initial distance and row load. Left: the dense
  run's oracle-supported sites (oracle mask at θ0), surviving = exact in the DENSE final,
  one panel per density. Right: each method's sparse runs (supported = near at the masked
  rewind point, surviving = exact in the sparse final). Colour = survival rate, numbers =
  supported sites pooled over runs and template types."""
  dens = list(res.config["densities"])
  methods = plots.uniq(res.rows, "method")
  dense = res.dense.oracle_survival
  n_left = len(dens) if dense is not None else 0
  fig, axes = plots.grid(1, n_left + len(methods), w=3.4, h=3.0)
  im = None
  for p, rho in enumerate(dens[:n_left]):
    a = np.stack(list(dense))[:, p].sum(0)               # (2, L, D) pooled over runs
    im = _survival_panel(axes[0, p], a, f"dense, oracle-supported, ρ={rho}")
  for k, m in enumerate(methods):
    a = plots.pooled(res, "sparse_survival", method=m).sum(0)
    im = _survival_panel(axes[0, n_left + k], a, f"sparse {m}")
  if im is not None:
    fig.colorbar(im, ax=axes[0, -1], label="survival rate")
  return plots.save(fig, res, "survival")


@plots.figure("init_distance")
def init_distance_figure(res):
  """Figs 9, 10: rewind-point distance of sites that end as exact codes, to the template
  they end as (normalised histograms), per method."""
  fig, axes = plots.grid(1, len(TEMPLATE_NAMES))
  edges = np.asarray(names.DIST_EDGES)
  for k, m in enumerate(plots.uniq(res.rows, "method")):
    h = plots.pooled(res, "init_dist_hist", method=m).sum(0)
    for t, tname in enumerate(TEMPLATE_NAMES):
      axes[0, t].plot(0.5 * (edges[1:] + edges[:-1]), h[t] / max(h[t].sum(), 1), "o-", ms=3,
                      label=m)
      axes[0, t].set_title(f"final {tname} codes")
      axes[0, t].set_xlabel("distance 1 − cos at the rewind point")
  plots.legend_outside(fig, axes)
  return plots.save(fig, res, "init_distance")


@plots.figure("class_trajectories")
def class_trajectories_figure(res):
  """Fig 21: distance and signed margin over dense training, to each site's FINAL target
  template (fixed over epochs), by oracle-supported site class at the lowest density."""
  fig, axes = plots.grid(2, len(TEMPLATE_NAMES))
  dens = list(res.config["densities"])
  p = int(np.argmin(dens))
  for r, key in enumerate(("oracle_class_dist", "oracle_class_margin")):
    a = np.stack(list(getattr(res.dense, key)))[:, p]   # (R, E+1, 3, T)
    for t, tname in enumerate(TEMPLATE_NAMES):
      for k, cls in enumerate(CLASSES):
        axes[r, t].plot(plots.nanmean0(a[:, :, k, t]), label=cls.replace("_", "-"))
      axes[r, t].set_title(f"{tname}, oracle support at ρ={min(dens)}",
                           fontsize=9)
      axes[r, t].set_xlabel("dense epoch")
      axes[r, t].set_ylabel(key.replace("oracle_class_", "") + " to final target")
  plots.legend_outside(fig, axes)
  return plots.save(fig, res, "class_trajectories")


@plots.figure("support_growth")
def support_growth_figure(res):
  """Figs 8, 22: supported sites and exact codes vs density, per method."""
  return plots.lines(res, "support_growth", "density", "method",
               [f"supported_{t}" for t in TEMPLATE_NAMES] + ["sparse_4P"])


@plots.figure("jaccard_gain")
def jaccard_gain_figure(res):
  """Fig 18: per (embedding, density), each method vs init magnitude: Δ Jaccard with the
  oracle mask (x) against Δ sparse accuracy and Δ exact 4P (y)."""
  agg = results.aggregate(res.rows)
  fig, axes = plots.grid(1, 2)
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
  return plots.save(fig, res, "jaccard_gain")


@plots.figure("expansion")
def expansion_figure(res):
  """Fig 6: dense 16×16, dense 32×16, and 32×16 at density 0.5 (random mask, OBS ticket,
  post-training OBS), test accuracy, mean and 95 % CI over seeds."""
  bars_ = []
  for d in plots.uniq(res.dense_rows, "group"):
    bars_.append((f"dense {d}", plots.stat(plots.sel(res.dense_rows, group=d), "dense_acc")))
  for g in plots.uniq(res.rows, "group"):
    for m, rw, label in (("random", "probe", "random mask"), ("obs", "probe", "OBS ticket"),
                         ("obs_iterative", "final", "post-training OBS")):
      rs = plots.sel(res.rows, group=g, method=m, rewind=rw)
      if rs:
        bars_.append((f"{label} {g} ρ={rs[0]['density']}", plots.stat(rs, "sparse_acc")))
  from matplotlib.figure import Figure
  fig = Figure(figsize=(8, 4))
  ax = fig.subplots()
  ax.bar(range(len(bars_)), [m for _, (m, _) in bars_], yerr=[s for _, (_, s) in bars_],
         capsize=3)
  ax.set_xticks(range(len(bars_)), [b for b, _ in bars_], rotation=30, ha="right", fontsize=8)
  lo = min(m for _, (m, _) in bars_ if np.isfinite(m))
  ax.set_ylim(max(0.0, lo - 0.05), 1.0)
  ax.set_ylabel("test accuracy")
  return plots.save(fig, res, "expansion")


@plots.figure("scaling")
def scaling_figure(res):
  """Figs 14, 15: sparse accuracy and exact codes per model group (H, m), per density."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return plots.bars(res, "scaling", "group", "method", ys, panel="density")


@plots.figure("translation")
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
  sub = plots.Results(rows, res.dense_rows, {}, res.run_dir, res.config)
  return plots.bars(sub, "translation", "translation", "score",
              ["d_sparse_acc"] + [f"d_sparse_{t}" for t in TEMPLATE_NAMES], panel="density")


@plots.figure("rewind_modes")
def rewind_modes_figure(res):
  """Fig 23: accuracy and exact codes per method, one series per rewind mode."""
  ys = ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES]
  return sum((plots.bars(res, f"rewind_modes_{rho}", "method", "rewind", ys, density=rho)
              for rho in plots.uniq(res.rows, "density")), [])


@plots.figure("imp")
def imp_figure(res):
  """IMP (issue 20; the classic lottery-ticket procedure): sparse accuracy and exact codes
  against density along the IMP path (one point per level), beside the one-shot oracle and
  random masks at the same densities, mean with 95 % CI over seeds, one panel per
  rewind."""
  return plots.lines(res, "imp", "density", "method",
               ["sparse_acc"] + [f"sparse_{t}" for t in TEMPLATE_NAMES], panel="rewind")


@plots.figure("probe_epochs")
def probe_epochs_figure(res):
  """Fig 26: sparse accuracy and codes vs the dense epoch used for detection, one figure
  per rewind mode (`probe`: the rewind point moves with the detection epoch; `fixed`: the
  rewind point stays at rewind_epoch)."""
  return sum((plots.lines(res, f"probe_epochs_{rw}", "probe_epoch", "method",
                    ["sparse_acc", "sparse_4P"], panel="density", rewind=rw)
              for rw in plots.uniq(res.rows, "rewind")), [])
