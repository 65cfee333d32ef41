"""The clause world's weight and feature heat maps (paper figs 1, 13, 16, 17): W1 and C1
of chosen runs with their exact 4P / 3N1P sites boxed, registered with `plots.figure`.
"""
from __future__ import annotations

import numpy as np

from toyticket.core.names import TEMPLATE_NAMES
from toyticket.reading import plots, results


def _dense_index(res, row) -> int:
  """Index into dense_rows (and the dense arrays) of a cell row's dense run."""
  return next(i for i, d in enumerate(res.dense_rows)
              if (d["group"], d["embedding"], d["seed"]) ==
              (row["group"], row["embedding"], row["seed"]))


def _exact_boxes(ax, exact, clause_vars):
  """Boxes on a C1 heat map at every exact site's variables (green 4P, red 3N1P)."""
  from matplotlib.patches import Rectangle
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
  d, c = res.dense, res.cells
  first = res.rows[cell_indices[0]]
  di = _dense_index(res, first)
  cv = _clause_vars(res, first)
  panels = [("dense θ0", d.w1_ends[di][0], d.c1_ends[di][0],
             d.exact_ends[di][0]),
            ("dense final", d.w1_ends[di][1], d.c1_ends[di][1],
             d.exact_ends[di][1])]
  shown = set()
  for j in cell_indices:
    r, mask = res.rows[j], res.arrays["masks"][j]
    dj = _dense_index(res, r)
    if (dj, r["method"], r["density"]) not in shown:   # the same mask for every rewind
      shown.add((dj, r["method"], r["density"]))
      w1 = d.w1_ends[dj][1] * mask
      panels.append((f"masked, no retrain ({r['method']})", w1, w1 @ d.c0_final[dj],
                     c.masked_exact[j]))
    panels.append((f"sparse final {r['method']} ρ={r['density']} {r['rewind']}",
                   c.sparse_w1[j], c.sparse_c1[j],
                   c.sparse_exact[j]))
  fig, axes = plots.grid(2, len(panels), w=2.9, h=3.0)
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
  return plots.save(fig, res, name)


@plots.figure("ticket_cycle")
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
  from matplotlib.patches import Rectangle
  lim = max(float(np.abs(c1).max()), 1e-12)
  ax.imshow(c1, cmap="RdBu_r", vmin=-lim, vmax=lim)
  for h, c, t in np.argwhere(near):
    for v in clause_vars[c]:
      ax.add_patch(Rectangle((v - 0.5 + 0.08 * t, h - 0.5 + 0.08 * t), 1 - 0.16 * t,
                                 1 - 0.16 * t, fill=False, lw=0.8, ec="g" if t == 0 else "r"))
  ax.set_title(f"{title}\nnear-code: {int(near[..., 0].sum())} 4P, "
               f"{int(near[..., 1].sum())} 3N1P", fontsize=8)
  ax.set_xlabel("variable")


@plots.figure("feature_support")
def feature_support_figure(res):
  """Fig 2: the ticket support changes the feature-space initial condition. C1 at θ0 of
  the dense network beside C1 of the masked rewind point of each method (the
  representative run's dense run, lowest density, first rewind), with the near-code sites
  (δ ≤ 1) boxed."""
  first = results.representative(res.rows) or res.rows[0]
  rho = min(plots.uniq(res.rows, "density"))
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
  fig, axes = plots.grid(1, 1 + len(picks), w=3.2, h=3.3)
  _c1_panel(axes[0, 0], res.dense.c1_init[di], res.dense.near_init[di],
            cv, f"dense θ0 ({first['embedding']}, seed {first['seed']})")
  for k, j in enumerate(picks):
    r = res.rows[j]
    _c1_panel(axes[0, k + 1], res.cells.rewind_c1[j],
              res.cells.rewind_near[j], cv,
              f"{r['method']} mask at {r['rewind']} rewind, ρ={rho}")
  axes[0, 0].set_ylabel("hidden row h")
  return plots.save(fig, res, "feature_support")


@plots.figure("code_overlap")
def code_overlap_figure(res):
  """Fig 7: code-overlap diagnostics per method. Bars: fractions of the dense-final exact
  codes kept at the same site / moved to another row / lost in the sparse final (mean
  over runs with ≥ 1 dense code); black dots: fraction of sparse-final codes that are
  dense-final codes (same site). One panel per density (columns) and template (rows),
  first rewind mode."""
  rw = res.rows[0]["rewind"]
  dens, methods = plots.uniq(res.rows, "density"), plots.uniq(res.rows, "method")
  fig, axes = plots.grid(len(TEMPLATE_NAMES), len(dens), w=max(4.0, 0.3 * len(methods) + 1.5))
  colors = {"kept": "C2", "moved": "C1", "lost": "C3"}
  for j, rho in enumerate(dens):
    for t, tname in enumerate(TEMPLATE_NAMES):
      ax = axes[t, j]
      bottom = np.zeros(len(methods))
      for fate, col in colors.items():
        v = np.array([plots.stat(plots.sel(res.rows, method=m, density=rho, rewind=rw),
                            f"code_{fate}_{tname}")[0] for m in methods])
        ax.bar(range(len(methods)), np.nan_to_num(v), bottom=bottom, color=col, label=fate)
        bottom += np.nan_to_num(v)
      ov = [plots.stat(plots.sel(res.rows, method=m, density=rho, rewind=rw), f"code_overlap_{tname}")[0]
            for m in methods]
      ax.plot(range(len(methods)), ov, "ko", ms=4, label="sparse codes in dense final")
      ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
      ax.set_ylim(0, 1.05)
      ax.set_title(f"{tname} dense-final codes, ρ={rho}, {rw} rewind", fontsize=8)
  plots.legend_outside(fig, axes)
  return plots.save(fig, res, "code_overlap")


HEATMAP_METHODS = ("oracle", "static", "dynamic", "combined", "snip", "obs")


@plots.figure("heatmaps")
def heatmaps_figure(res):
  """Fig 13: sparse final W1 and C1 of several detectors (first seed, lowest density)."""
  rho = min(plots.uniq(res.rows, "density"))
  picks, seen = [], set()
  for i, r in enumerate(res.rows):
    if (r["seed"] == res.rows[0]["seed"] and r["density"] == rho and r["method"] not in seen
        and r["embedding"] == res.rows[0]["embedding"] and len(seen) < 3 and
        r["method"] in HEATMAP_METHODS):
      seen.add(r["method"])
      picks.append(i)
  return heatmap_panels(res, picks, "heatmaps")
