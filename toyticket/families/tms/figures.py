"""The TMS family's figure (feature geometry of dense and sparse networks), registered
with `plots.figure`."""
from __future__ import annotations

import numpy as np

from toyticket.core.names import TMS_REPRESENTED_MIN
from toyticket.reading import plots, results


@plots.figure("tms")
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
  xs = sorted(plots.uniq(dense, "sparsity"))
  xv = [1.0 / (1.0 - s) for s in xs]
  cols = list(dict.fromkeys((r["density"], r["rewind"]) for r in rows))
  meths = plots.uniq(rows, "method")
  shown = "oracle" if "oracle" in meths else meths[0]     # tickets in the D_i panel
  panels = [("represented", "represented features"),
            ("feature_dimensionality", "mean feature dimensionality D"),
            ("superposed", "superposed features"), ("loss", "test loss"),
            ("recall", "recall (—) / Gram similarity (- -)"),
            ("per_feature", "feature dimensionality D_i")]
  fig, axes = plots.grid(len(panels), len(cols), h=2.6)
  stat = lambda rs, f: np.array([plots.stat([r for r in rs if r["sparsity"] == s], f) for s in xs])
  dim_ends, sparse_dim = res.dense.dim_ends, res.cells.sparse_dim
  norm_ends, sparse_norms = res.dense.norms_ends, res.cells.sparse_norms
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
  return plots.save(fig, res, "tms")
