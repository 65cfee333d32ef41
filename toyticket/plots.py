"""Figures from result rows (matplotlib, Agg backend). Each figure is one function in
FIGURES taking (rows, dense_rows, out_dir) and returning the paths it wrote."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from toyticket.codes import TEMPLATE_NAMES  # noqa: E402


def _mean_sd(rows, field):
  v = np.array([np.nan if r[field] is None else r[field] for r in rows], float)
  v = v[~np.isnan(v)]
  return (v.mean(), v.std()) if v.size else (np.nan, np.nan)


def _select(rows, **kw):
  return [r for r in rows if all(r[k] == v for k, v in kw.items())]


def _uniq(rows, key):
  return list(dict.fromkeys(r[key] for r in rows))


def methods_figure(rows, dense_rows, out_dir):
  """Per (embedding, rewind): sparse accuracy and exact 4P/3N1P counts by method and
  density, mean ± sd over seeds; the θ0 chance count is drawn as a hollow marker."""
  paths = []
  for rewind in _uniq(rows, "rewind"):
    embs, methods, dens = _uniq(rows, "embedding"), _uniq(rows, "method"), _uniq(rows, "density")
    fig, axes = plt.subplots(3, len(embs), figsize=(4.2 * len(embs), 9), squeeze=False)
    width = 0.8 / len(dens)
    x = np.arange(len(methods))
    for j, emb in enumerate(embs):
      for panel, field in enumerate(("sparse_acc", *[f"sparse_{t}" for t in TEMPLATE_NAMES])):
        ax = axes[panel, j]
        for i, rho in enumerate(dens):
          ms = [_mean_sd(_select(rows, embedding=emb, method=m, density=rho, rewind=rewind),
                         field) for m in methods]
          ax.bar(x + i * width, [m for m, _ in ms], width, yerr=[s for _, s in ms],
                 label=f"density {rho}", capsize=2)
          if panel:
            ch = [_mean_sd(_select(rows, embedding=emb, method=m, density=rho, rewind=rewind),
                           field.replace("sparse", "chance"))[0] for m in methods]
            ax.plot(x + i * width, ch, "o", mfc="none", mec="k", ms=4,
                    label="θ0 chance" if i == 0 else None)
        ax.set_xticks(x + width * (len(dens) - 1) / 2, methods, rotation=45, ha="right",
                      fontsize=7)
        ax.set_ylabel(field.replace("_", " ") + (" (exact codes)" if panel else ""))
        if panel == 0:
          ax.set_title(f"{emb} · rewind {rewind}")
          lo = np.nanmin([r["sparse_acc"] or np.nan for r in _select(rows, embedding=emb)])
          ax.set_ylim(max(0.0, lo - 0.05), 1.0)
        if j == 0 and panel < 2:
          ax.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(out_dir, f"methods_{rewind}.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)
  return paths


FIGURES = {"methods": methods_figure}


def make_figures(names, rows, dense_rows, out_dir):
  paths = []
  for name in names:
    paths += FIGURES[name](rows, dense_rows, out_dir)
  return paths
