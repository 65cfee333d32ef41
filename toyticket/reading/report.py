"""A run directory's figures, full summary and report page (index.html), from its saved
results only (no JAX): `build(run_dir)`, also `python -m experiments.report <run dir>`."""
from __future__ import annotations

import html
import json
import os

from toyticket.core import files
from toyticket.core import families, host
from toyticket.reading import claims, decide, plots, results
from toyticket.reading import workers as workers_lib
from toyticket.reading.run import Run
from toyticket.core import rundir

# What each figure shows and which paper figure it corresponds to (the figure function's
# docstring, first paragraph).
CAPTIONS = {name: " ".join((fn.__doc__ or "").split("\n\n")[0].split())
            for name, fn in plots.all_figures().items()}
CSVS = (("metrics.csv", "one row per sparse run"),
        ("aggregate.csv", "per setting and method, over seeds: n, mean, sd, 95 % CI"),
        ("paired.csv", "paired comparisons with random, oracle and init magnitude, and of "
         "each rewind with the fresh init of the same mask, Holm"),
        ("dense.csv", "one row per dense run"),
        ("dense_oracle.csv", "per dense run and density: oracle-supported site classes"),
        ("sae.csv", "per network (dense run or ticket) and SAE L1 coefficient: "
         "reconstruction, L0, matched codes"),
        ("summary.txt", "the full summary table"), ("config.json", "config and provenance"))


def load(run_dir: str) -> tuple[dict, Run]:
  """(config.json as a dict, the checked `Run`) of a finished run directory."""
  run = Run.load(run_dir)
  return run.config, run


REPLICATION_MD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "docs", "replication.md")


def _replication_link(run_dir: str) -> str:
  """A link to docs/replication.md (in a clone), else its name (an installed package
  ships no docs)."""
  if not os.path.isfile(REPLICATION_MD):
    return "the replication report (docs/replication.md in the toyticket repository)"
  return (f"<a href='{html.escape(_replication_href(run_dir))}'>the replication report "
          "(docs/replication.md)</a>")


def _replication_href(run_dir: str) -> str:
  """docs/replication.md relative to the run directory (the page is opened from disk)."""
  return os.path.relpath(REPLICATION_MD, os.path.abspath(run_dir))


def sections(cfg: dict, res: Run) -> dict:
  """The page's computed parts (`page`): the representative-run line and best methods
  (the family's `page_section`), the paired-significance tables of its first paired
  metric, and the paper's claims evaluated on this run."""
  fam = families.reading(cfg.get("task", {}).get("family", "clause"))
  rep_line, best = fam.page_section(res.rows, res.dense_rows, res.aggregate,
                                    res.dense_aggregate)
  metric = fam.paired_metrics[0]
  return {"rep_line": rep_line, "best": best, "metric": metric,
          "paired": decide.significance_html(results.paired_rows(res.rows, (metric,)), metric),
          "on_claims": decide.claims_html(res, claims.CLAIMS)}


def page(cfg: dict, res: Run, figures: dict, parts: dict | None = None) -> str:
  """The report page: config, provenance, best methods, figures with captions, CSVs.
  parts: `sections(cfg, res)` when the caller computed them already."""
  parts = sections(cfg, res) if parts is None else parts
  rep_line, best, metric, paired, on_claims = (
      parts[k] for k in ("rep_line", "best", "metric", "paired", "on_claims"))
  prov = cfg.get("provenance", {})
  config = {k: v for k, v in cfg.items() if k != "provenance"}
  figs = []
  for name, paths in figures.items():
    for p in paths:
      rel = os.path.relpath(p, res.run_dir)
      link = rel[:-4] + ".svg" if os.path.exists(p[:-4] + ".svg") else rel
      figs.append(f"<figure><a href='{link}'><img src='{rel}' alt='{name}'></a>"
                  f"<figcaption><b>{os.path.basename(p)}</b>: "
                  f"{html.escape(CAPTIONS[name])}</figcaption></figure>")
  csvs = "".join(f"<li><a href='{f}'>{f}</a>: {d}</li>" for f, d in CSVS
                 if os.path.exists(os.path.join(res.run_dir, f)))
  return f"""<!doctype html>
<html><head><meta charset="utf-8">
<title>toyticket: {html.escape(config.get('name', ''))}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}}
table{{border-collapse:collapse;margin:1em 0;font-size:90%}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}} tr.ref{{color:#777}}
td.sig{{font-weight:bold;background:#eef6ee}} .warn{{color:#a40}} summary{{margin:.3em 0}}
figure{{margin:2em 0}} img{{max-width:100%;border:1px solid #eee}}
pre{{background:#f6f6f6;padding:1em;overflow:auto;font-size:80%}}</style></head><body>
<h1>toyticket run: {html.escape(config.get('name', ''))}</h1>
<p>{len(res.rows)} sparse runs from {len(res.dense_rows)} dense runs. Run directory
<code>{html.escape(os.path.basename(os.path.abspath(res.run_dir)))}</code>; code
<code>{html.escape(str(prov.get('git_commit', 'unknown')))}</code>
{'(with uncommitted changes)' if prov.get('git_dirty') else ''}; device
{html.escape(str(prov.get('device', {}).get('kind')))} ×{prov.get('device', {}).get('count')};
JAX {html.escape(str(prov.get('versions', {}).get('jax')))}; command
<code>{html.escape(str(prov.get('command', '')))}</code>; {html.escape(str(prov.get('utc', '')))}.</p>
{rep_line}
<p>How the paper's claims fare, each decided by a stated rule on enough paired runs (both code
readings, detectable effects, the paper's numbers): {_replication_link(res.run_dir)},
regenerated by <code>make replicate</code>.</p>
<h2>Which differences are real</h2>
<p>Per setting, each method's paired difference in <code>{html.escape(metric)}</code> from random
and from the oracle (same dense run and seed), mean [95 % CI], Holm-corrected p over the
setting's methods; ▲ / ▼ significant (bold). Open a setting for its table. All metrics:
<a href='paired.csv'>paired.csv</a>.</p>
{paired}
{'<h2>The paper' + "'" + 's claims on this run</h2><p>Evaluated on this run alone by the rules of the replication report (which runs them with enough seeds); the paper' + "'" + 's number beside ours.</p>' + on_claims if on_claims else ''}
<h2>Best methods per setting</h2>
<p>Mean over seeds ± 95 % CI half-width; top 3 methods by sparse accuracy (TMS: every method,
by test loss) per setting, then the references (grey: random and oracle). Full tables below.</p>
{best}
<h2>Figures</h2>
{''.join(figs) or '<p>No figures configured.</p>'}
<h2>Tables</h2><ul>{csvs}</ul>
<h2>Config</h2><pre>{html.escape(json.dumps(config, indent=1))}</pre>
<h2>Provenance</h2><pre>{html.escape(json.dumps(prov, indent=1))}</pre>
</body></html>
"""


def _draw(run_dir: str, name: str, svg: bool = False) -> list[str]:
  """One named figure of a run directory (a worker process's task in `build`)."""
  return plots.make_figures([name], load(run_dir)[1], svg)


def _ignore_interrupts() -> None:
  """A figure worker leaves Ctrl-C (sent to the whole process group) to its parent, which
  stops in one line; the worker then ends with the pool."""
  import signal
  signal.signal(signal.SIGINT, signal.SIG_IGN)


BIG_RUN = 500   # rows from which drawing in parallel pays for SPAWNING the workers


class Drawing:
  """Figures being drawn for a run directory (`start`); `finish` writes the page."""

  def __init__(self, cfg: dict, res: Run, names: list, svg: bool, pool=None):
    self.cfg, self.res, self.names, self.svg, self.pool = cfg, res, names, svg, pool
    self.jobs = None      # one future per name while a pool draws them

  def close(self) -> None:
    """Stops the workers (figures not yet drawn are dropped); idempotent."""
    if self.pool is not None:
      self.pool.shutdown(wait=True, cancel_futures=True)
      self.pool = None

  def finish(self, aggregate=None) -> list[str]:
    """summary.txt (full table) and index.html, their statistics computed while the
    workers draw; waits for the figures. Returns the PNG paths. aggregate: the cell rows'
    `results.aggregate` when the caller has it (a sweep just wrote it to aggregate.csv),
    so it is not computed twice."""
    res, cfg = self.res, self.cfg
    if aggregate is not None:
      res.aggregate = aggregate
    fam = families.reading(cfg.get("task", {}).get("family", "clause"))
    try:
      text = fam.summary(res.rows, res.dense_rows, agg=res.aggregate,
                         dense_agg=res.dense_aggregate) + "\n"
      parts = sections(cfg, res)               # still while the workers draw
      if self.jobs is None:
        drawn = [plots.make_figures([name], res, self.svg) for name in self.names]
      else:
        drawn = [job.result() for job in self.jobs]
    finally:
      self.close()
    figures = dict(zip(self.names, drawn))
    files.atomic_write(os.path.join(res.run_dir, "summary.txt"), text)
    files.atomic_write(os.path.join(res.run_dir, "index.html"),
                       page(cfg, res, figures, parts))
    return [p for paths in figures.values() for p in paths]


def start(run_dir: str, workers: int = 0, svg: bool = False) -> Drawing:
  """Checks the run's figure names, removes its earlier figure files and starts drawing
  the config's `figures` (from the saved rows: metrics.json, tasks.json, chunks) in
  worker processes; `Drawing.finish` then writes summary.txt and index.html. The caller may
  compute and write the statistics (aggregate.csv, paired.csv) meanwhile.

  workers: processes drawing figures (1: none, `Drawing.finish` draws them here; 0,
  the default: one per available core, at most one per figure — forked
  (`workers.start_method`): from this process where JAX is not loaded, e.g.
  `experiments.report`; from the fork server, with the reading side preloaded, in a
  sweep that started one (`workers.start`; JAX threads make forking the sweep unsafe);
  spawned where neither exists, and then only for a run of at least BIG_RUN rows: a
  spawned worker first spends ~3 s importing). The files are the same either way.
  svg: also write each figure as SVG (vector; slower)."""
  cfg, res = load(run_dir)
  names = cfg.get("figures", ())
  fam = families.reading(cfg.get("task", {}).get("family", "clause"))
  if not isinstance(names, list) or not all(n in fam.figures for n in names):
    raise rundir.RunFileError(         # checked before any earlier figure is removed
        f"run file error: {os.path.join(run_dir, 'config.json')} is damaged (figures "
        f"{names!r}; allowed: a list of {', '.join(fam.figures)})")
  fig_dir = os.path.join(run_dir, "figures")
  for f in os.listdir(fig_dir) if os.path.isdir(fig_dir) else []:
    if f.endswith((".png", ".svg")):       # drawn by an earlier build: redraw all
      os.remove(os.path.join(fig_dir, f))
  context, method = workers_lib.context()
  if not workers:
    workers = (host.available_cores() if method != "spawn" or len(res.rows) >= BIG_RUN
               else 1)
  workers = min(workers, len(names))
  if workers <= 1:
    return Drawing(cfg, res, names, svg)
  import concurrent.futures
  drawing = Drawing(cfg, res, names, svg, concurrent.futures.ProcessPoolExecutor(
      workers, mp_context=context, initializer=_ignore_interrupts))
  try:
    drawing.jobs = [drawing.pool.submit(_draw, run_dir, name, svg) for name in names]
  except BaseException:
    drawing.close()
    raise
  return drawing


def build(run_dir: str, workers: int = 0, svg: bool = False, aggregate=None) -> list[str]:
  """Figures (the config's `figures`; earlier figure files are removed first), summary.txt
  (full table) and index.html of a finished run directory: `start`, then
  `Drawing.finish`. Returns the PNG paths."""
  return start(run_dir, workers, svg).finish(aggregate)
