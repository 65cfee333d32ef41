"""Figures from a finished sweep's saved results (rows, per-run arrays, config.json): the
shared drawing helpers and the figure registry.

A figure is a function of a `Results` that returns the paths it wrote under
<run dir>/figures, registered where it is drawn with `@figure(name)` (the task families'
`figures` modules: `families/clause/figures.py`, `heatmaps.py`, `families/tms/figures.py`);
most are one call of `bars` or `lines` on the result rows, the rest read per-run arrays
(`rundir.load_arrays`). No JAX and no checkpoints: everything a figure
needs is saved by the sweep. Figures are drawn with matplotlib's object API
(`matplotlib.figure.Figure`), so importing this module selects no backend and leaves
pyplot (and a notebook's backend) alone.
"""
from __future__ import annotations

import os

import numpy as np

from toyticket.core import families, stats
from toyticket.discovery.methods import ROW_METHODS
from toyticket.reading import results
from toyticket.reading.run import Run


Results = Run   # what every figure reads (`run.Run`)


def uniq(rows, key):
  return list(dict.fromkeys(r[key] for r in rows))


def sel(rows, **kw):
  return [r for r in rows if all(r[k] == v for k, v in kw.items())]


def values(rows, field):
  """The finite values of `field` over the rows that did not diverge."""
  v = np.array([np.nan if r.get(field) is None or results.is_diverged(r) else r[field]
                for r in rows], float)
  return v[np.isfinite(v)]


def stat(rows, field):
  """(mean, 95 % CI half-width) over the rows that did not diverge and have a value
  (`stats.describe`; half-width 0 for a single value)."""
  d = stats.describe(values(rows, field))
  return (np.nan if d["mean"] is None else d["mean"], d["ci95"] or 0.0)


def interval(rows, field):
  """(mean, lower error, upper error) over the rows that did not diverge: the percentile
  bootstrap 95 % CI of the mean (`stats.bootstrap_interval`), which stays inside the data's
  range (a count's never below 0, an accuracy's never above 1); errors 0 for one value."""
  m, lo, hi = stats.bootstrap_interval(values(rows, field))
  return m, (m - lo if np.isfinite(m) else 0.0), (hi - m if np.isfinite(m) else 0.0)


def nanmean0(a):
  """Mean over axis 0 ignoring NaN; NaN (no warning) where a column has no value."""
  a = np.asarray(a, float)
  n = np.sum(~np.isnan(a), 0)
  return np.where(n > 0, np.nansum(a, 0) / np.maximum(n, 1), np.nan)


def save(fig, res, name, footer: str = "", margins: dict | None = None):
  """Writes <run dir>/figures/<name>.png (and .svg when `make_figures` asks); returns
  [png path]. A figure wider
  than MAX_WIDTH_PX at DPI is scaled down to it; `footer` (one line) is written along the
  bottom edge, below every panel. margins: `subplots_adjust` arguments in INCHES (left,
  right, bottom, top, wspace, hspace) computed by the caller, instead of tight_layout
  (which measures every text twice: a third of a bar figure's drawing time)."""
  w, h = fig.get_size_inches()
  if w * DPI > MAX_WIDTH_PX:
    fig.set_size_inches(MAX_WIDTH_PX / DPI, h * MAX_WIDTH_PX / (w * DPI))
    w, h = fig.get_size_inches()
  bottom = 0.0
  if footer:
    fig.text(0.1 / w, 0.08 / h, footer, fontsize=8, va="bottom")
    bottom = 0.3 / h
  if margins is None:
    fig.tight_layout(rect=(0, bottom, 1, 1))
  else:
    n_rows, n_cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    left, right = margins["left"] / w, 1 - margins["right"] / w
    low, top = bottom + margins["bottom"] / h, 1 - margins["top"] / h
    cell_w, cell_h = (right - left) * w / n_cols, (top - low) * h / n_rows
    fig.subplots_adjust(left=left, right=right, bottom=low, top=top,
                        wspace=margins["wspace"] / max(cell_w - margins["wspace"], 1e-3),
                        hspace=margins["hspace"] / max(cell_h - margins["hspace"], 1e-3))
  path = os.path.join(res.run_dir, "figures", name + ".png")
  fig.savefig(path, dpi=DPI, pil_kwargs={"compress_level": 1})   # fast zlib; ~1.5× the bytes
  if _SVG[0]:
    fig.savefig(path[:-4] + ".svg")
  return [path]


def grid(n_rows, n_cols, w=4.0, h=3.0):
  from matplotlib.figure import Figure   # here, not at import: a config check stays fast
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


def order(rows, x, y, by_x: dict | None = None):
  """x values; methods sorted by the mean of y over `rows` (best first: a panel's own
  rows, so every panel is ranked by what it shows; the highest first, the lowest for a
  loss). by_x: `rows` already grouped by x value (`group_by`)."""
  xs = uniq(rows, x)
  if x != "method":
    return xs
  by_x = group_by(rows, x) if by_x is None else by_x
  sign = 1.0 if y.endswith("loss") else -1.0
  return sorted(xs, key=lambda m: sign * np.nan_to_num(stat(by_x[m], y)[0],
                                                       nan=-sign * 1e9))


def group_by(rows, *keys) -> dict:
  """{value of keys (a tuple for several): the rows that have it}, in first-seen order:
  one pass, where `sel` per value would scan every row each time."""
  out: dict = {}
  for r in rows:
    k = r[keys[0]] if len(keys) == 1 else tuple(r[key] for key in keys)
    out.setdefault(k, []).append(r)
  return out


def legend_outside(fig, axes, **kw):
  """One legend for the figure, right of the top-right panel, outside every panel's data
  (the handles of the first panel that has labels)."""
  for ax in axes.flat:
    handles, labels = ax.get_legend_handles_labels()
    if handles:
      axes[0, -1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                         borderaxespad=0.0, fontsize=8, **kw)
      return


def bars(res, name, x, series, ys, panel="embedding", chance=False, **where):
  """Horizontal bars of the mean over seeds with its 95 % bootstrap CI (inside the data's
  range, `interval`) and one dot per seed: one row of panels per y field, one column per
  value of `panel`; a bar per x value and series value, methods sorted best first WITHIN
  each panel by that panel's y (each panel names its own methods; tick labels coloured by
  `method_group`: blue weight space read early, red weight space at the dense end, green
  feature space, grey random). For methods, the random and oracle means are marked by
  vertical lines (dotted, dashed). The legend sits outside the panels, at the right."""
  rows = sel(res.rows, **where)
  if not rows:
    return []
  if "group" not in (panel, x, series) and len(uniq(rows, "group")) > 1:
    rows = [{**r, "group·" + panel: f"{r['group']} · {r[panel]}"} for r in rows]
    panel = "group·" + panel            # one column per model group and panel value
  cols, ss = uniq(rows, panel), uniq(rows, series)
  n_x = len(uniq(rows, x))
  h = 0.8 / len(ss)
  fig, axes = grid(len(ys), len(cols), w=max(4.8, 6.4 / len(cols)),
                   h=0.17 * n_x * len(ss) ** 0.5 + 1.2)
  by_panel = group_by(rows, panel)
  for j, col in enumerate(cols):
    here = by_panel[col]
    by_x, by_cell = group_by(here, x), group_by(here, x, series)
    for i, y in enumerate(ys):
      ax = axes[i, j]
      xs = order(here, x, y, by_x)
      pos = np.arange(len(xs))[::-1]                  # first (best) on top
      for k, s in enumerate(ss):
        cells = [by_cell.get((xv, s), []) for xv in xs]
        st = np.array([interval(c, y) for c in cells]).reshape(-1, 3)
        yk = pos - k * h
        _hbars(ax, yk, st, h, color=f"C{k}", label=f"{series} {s}")
        dots = [(v, np.full(v.size, yi)) for yi, c in zip(yk, cells)   # one dot per seed
                for v in (values(c, y),)]
        if dots:                                      # one artist for all of them
          ax.plot(np.concatenate([d[0] for d in dots]), np.concatenate([d[1] for d in dots]),
                  "o", color="k", mfc="k", mec="w", mew=0.4, ms=3.5, alpha=0.85,
                  label="one run (seed)" if k == 0 else None)
        if chance and y.startswith("sparse_") and y.replace("sparse_", "chance_") in rows[0]:
          ch = [stat(c, y.replace("sparse_", "chance_"))[0] for c in cells]
          ax.plot(ch, yk, "o", mfc="none", mec="k", ms=5,
                  label="θ0 chance (the mask at init)" if k == 0 else None)
      if x == "method":
        for ref, ls in (("random", ":"), ("oracle", "--")):
          m = stat(by_x.get(ref, []), y)[0]
          if np.isfinite(m):
            ax.axvline(m, color="k", ls=ls, lw=0.8, label=f"{ref} mean (all series)")
      _row_labels(ax, pos - h * (len(ss) - 1) / 2, [str(v) for v in xs],
                  [GROUP_COLORS[method_group(m)][0] if x == "method" else "k" for m in xs])
      ax.set_xlabel(y.replace("_", " "))
      if y.endswith("acc") and not y.startswith("d_"):
        vals = [r[y] for r in rows if r[y] is not None and np.isfinite(r[y])]
        if vals:                # none when every run diverged: keep the default limits
          ax.set_xlim(max(0.0, min(vals) - 0.05), 1.0)
      if i == 0:
        ax.set_title(f"{panel} {col}")
  legend_outside(fig, axes)
  key = "method names: " + "; ".join(f"{word}, {g}" for g, (_, word) in GROUP_COLORS.items())
  label_in = max(len(str(v)) for v in uniq(rows, x)) * 7 * 0.6 / 72 + 0.15   # 7-pt labels
  legend_in = 2.6                                   # the legend right of the last panel
  return save(fig, res, name, footer=key if x == "method" else "",
              margins={"left": label_in, "right": legend_in, "bottom": 0.45, "top": 0.3,
                       "wspace": label_in + 0.15, "hspace": 0.6})


def _row_labels(ax, y, labels, colors):
  """The bars' names left of the panel at data heights y, right-aligned, 7 pt: plain text
  artists (a tick per label builds five artists each, a third of a bar figure's time)."""
  ax.set_yticks([])
  trans = ax.get_yaxis_transform()              # x in axes units, y in data units
  for yv, lab, col in zip(y, labels, colors):
    ax.text(-0.01, yv, lab, transform=trans, ha="right", va="center", fontsize=7, color=col,
            clip_on=False)


def _hbars(ax, y, st, height, color, label):
  """Horizontal bars from 0 to st[:, 0] centred on y, with error bars from st[:, 0] −
  st[:, 1] to st[:, 0] + st[:, 2] (capped): ONE PolyCollection and ONE LineCollection
  (what `ax.barh(..., xerr=...)` draws as one artist per bar, several times slower)."""
  from matplotlib.collections import LineCollection, PolyCollection
  ok = np.isfinite(st[:, 0])
  m, lo, hi, yy = st[ok, 0], st[ok, 0] - st[ok, 1], st[ok, 0] + st[ok, 2], y[ok]
  b, t = yy - height / 2, yy + height / 2
  z = np.zeros_like(m)
  verts = np.stack([np.stack([z, b], 1), np.stack([m, b], 1), np.stack([m, t], 1),
                    np.stack([z, t], 1)], 1)
  ax.add_collection(PolyCollection(verts, facecolors=color, edgecolors="none", alpha=0.6))
  cap = height / 4
  segs = np.concatenate([np.stack([np.stack([lo, yy], 1), np.stack([hi, yy], 1)], 1),
                         np.stack([np.stack([lo, yy - cap], 1), np.stack([lo, yy + cap], 1)], 1),
                         np.stack([np.stack([hi, yy - cap], 1), np.stack([hi, yy + cap], 1)], 1)])
  ax.add_collection(LineCollection(segs, colors="k", linewidths=0.8))
  ax.plot([], [], "s", color=color, alpha=0.6, ms=7, label=label)   # legend entry
  if len(m):
    ax.update_datalim(np.concatenate([np.stack([np.minimum(z, lo), b], 1),
                                      np.stack([np.maximum(m, hi), t], 1)]))
    ax.autoscale_view()


def lines(res, name, x, series, ys, panel="embedding", **where):
  """Mean over seeds with its 95 % bootstrap CI (inside the data's range, `interval`)
  against a numeric x, one line per series value, and one dot per seed; the legend sits
  outside the panels."""
  rows = sel(res.rows, **where)
  if not rows:
    return []
  cols, ss = uniq(rows, panel), uniq(rows, series)
  fig, axes = grid(len(ys), len(cols))
  for j, col in enumerate(cols):
    for i, y in enumerate(ys):
      ax = axes[i, j]
      for s in ss:
        rs = sel(rows, **{panel: col, series: s})
        xs = sorted(set(r[x] for r in rs))
        st = np.array([interval(sel(rs, **{x: xv}), y) for xv in xs]).reshape(-1, 3)
        line = ax.errorbar(xs, st[:, 0], st[:, 1:].T, marker="o", ms=3, capsize=2,
                           label=str(s))
        dots = [(np.full(v.size, xv, float), v) for xv in xs
                for v in (values(sel(rs, **{x: xv}), y),)]
        if dots:
          ax.plot(np.concatenate([d[0] for d in dots]), np.concatenate([d[1] for d in dots]),
                  "o", color=line[0].get_color(), mec="w", mew=0.3, ms=3, alpha=0.7)
      ax.set_xlabel(x)
      ax.set_ylabel(y.replace("_", " "))
      if i == 0:
        ax.set_title(f"{panel} {col}", fontsize=9)
  legend_outside(fig, axes, title=series)
  return save(fig, res, name)


def pooled(res, key, **where):
  """The cells matching `where` of the typed cell reading `key` (`Run.cells`)."""
  idx = [i for i, r in enumerate(res.rows) if all(r[k] == v for k, v in where.items())]
  return getattr(res.cells, key)[idx]


# ------------------------------------------------------------------------- figures


FIGURES: dict = {}   # name → figure function, filled by `figure` where each is drawn


def figure(name: str):
  """Registers a figure function under `name` (a decorator); a name is registered once."""
  def register(fn):
    if name in FIGURES:
      raise ValueError(f"figure {name!r} is registered twice")
    FIGURES[name] = fn
    return fn
  return register


def family_figures(package: str) -> tuple:
  """The names of the figures registered by the modules of `package` (a task family's),
  in registration order."""
  return tuple(n for n, fn in FIGURES.items() if fn.__module__.startswith(package + "."))


def all_figures() -> dict:
  """FIGURES with every task family's figures registered (their reading halves import
  their figure modules)."""
  for name in families.PACKAGES:
    families.reading(name)
  return FIGURES


def make_figures(figure_names, res: Results, svg: bool = False) -> list[str]:
  """Draws the named figures (of `all_figures`) at 8-pt text; returns the PNG paths
  written (with svg=True each also gets an SVG twin: vector, about 40 % more drawing
  time)."""
  import matplotlib
  figs = all_figures()
  os.makedirs(os.path.join(res.run_dir, "figures"), exist_ok=True)
  _SVG[0] = svg
  try:
    with matplotlib.rc_context({"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8,
                                "xtick.labelsize": 8, "ytick.labelsize": 8,
                                "legend.fontsize": 8, "svg.fonttype": "none"}):
      return sum((figs[n](res) for n in figure_names), [])
  finally:
    _SVG[0] = False


_SVG = [False]   # whether `save` also writes an SVG (set by `make_figures`)
