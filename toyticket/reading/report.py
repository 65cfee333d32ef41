"""A run directory's figures, full summary and report page (index.html), from its saved
results only (no JAX): `build(run_dir)`, also `python -m experiments.report <run dir>`."""
from __future__ import annotations

import html
import json
import os

from toyticket.core import files
from toyticket.core import families, host
from toyticket.reading import plots
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


def load(run_dir: str) -> tuple[dict, plots.Results]:
  """(config.json as a dict, plots.Results) of a finished run directory."""
  cfg_path, m_path = (os.path.join(run_dir, f) for f in ("config.json", "metrics.json"))
  cfg, m = files.read_json(cfg_path), files.read_json(m_path)
  if not isinstance(cfg, dict):
    raise rundir.RunFileError(f"run file error: {cfg_path} is damaged (not a config object)")
  if not isinstance(m, dict) or not all(isinstance(m.get(k), list) for k in ("runs", "dense")):
    raise rundir.RunFileError(f"run file error: {m_path} is damaged (no lists of runs and "
                              "dense runs)")
  chunks = [meta for _, meta in rundir.verified_chunks(run_dir)]
  for key, table in (("runs", "cells"), ("dense", "dense")):
    if m[key] != [r for meta in chunks for r in meta.get(table, [])]:
      raise rundir.RunFileError(f"run file error: {m_path} disagrees with the checksummed "
                                f"rows of chunks/ ({key}; edited?): re-run the sweep to "
                                "rewrite it")
  tasks = files.read_json(os.path.join(run_dir, "tasks.json"))
  if not isinstance(tasks, dict):
    raise rundir.RunFileError(f"run file error: {run_dir}/tasks.json is damaged (not an "
                              "object of task tables)")
  return cfg, plots.Results(m["runs"], m["dense"], rundir.load_arrays(run_dir), run_dir, cfg,
                            m.get("oracle", []), m.get("sae", []), tasks)


REPLICATION_MD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                              "docs", "replication.md")


def _replication_href(run_dir: str) -> str:
  """docs/replication.md relative to the run directory (the page is opened from disk)."""
  return os.path.relpath(REPLICATION_MD, os.path.abspath(run_dir))


def page(cfg: dict, res: plots.Results, figures: dict) -> str:
  """The report page: config, provenance, best methods, figures with captions, CSVs."""
  prov = cfg.get("provenance", {})
  config = {k: v for k, v in cfg.items() if k != "provenance"}
  figs = []
  for name, paths in figures.items():
    for p in paths:
      rel = os.path.relpath(p, res.run_dir)
      figs.append(f"<figure><a href='{rel[:-4]}.svg'><img src='{rel}' alt='{name}'></a>"
                  f"<figcaption><b>{os.path.basename(p)}</b>: "
                  f"{html.escape(CAPTIONS[name])}</figcaption></figure>")
  csvs = "".join(f"<li><a href='{f}'>{f}</a>: {d}</li>" for f, d in CSVS
                 if os.path.exists(os.path.join(res.run_dir, f)))
  rep_line, best = families.reading(config.get("task", {}).get("family", "clause")
                                    ).page_section(res.rows, res.dense_rows)
  return f"""<!doctype html>
<html><head><meta charset="utf-8">
<title>toyticket: {html.escape(config.get('name', ''))}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}}
table{{border-collapse:collapse;margin:1em 0;font-size:90%}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}} tr.ref{{color:#777}}
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
readings, detectable effects, the paper's numbers): <a href='{html.escape(_replication_href(res.run_dir))}'>the
replication report (docs/replication.md)</a>, regenerated by <code>make replicate</code>.</p>
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


def _draw(run_dir: str, name: str) -> list[str]:
  """One named figure of a run directory (a worker process's task in `build`)."""
  return plots.make_figures([name], load(run_dir)[1])


def _ignore_interrupts() -> None:
  """A figure worker leaves Ctrl-C (sent to the whole process group) to its parent, which
  stops in one line; the worker then ends with the pool."""
  import signal
  signal.signal(signal.SIGINT, signal.SIG_IGN)


def build(run_dir: str, workers: int = 0) -> list[str]:
  """Figures (the config's `figures`; earlier figure files are removed first), summary.txt
  (full table) and index.html of a finished run directory. Returns the PNG paths.

  workers: processes drawing figures in parallel (0: one per available core, at most one
  per figure; 1: all in this process). Workers are spawned, not forked, so a caller that
  has started JAX's threads is safe; the files are the same either way."""
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
  workers = min(workers or host.available_cores(), len(names))
  if workers > 1:
    import concurrent.futures
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_interrupts) as pool:
      drawn = list(pool.map(_draw, [run_dir] * len(names), names))
  else:
    drawn = [plots.make_figures([name], res) for name in names]
  figures = dict(zip(names, drawn))
  files.atomic_write(os.path.join(run_dir, "summary.txt"),
                      fam.summary(res.rows, res.dense_rows) + "\n")
  files.atomic_write(os.path.join(run_dir, "index.html"), page(cfg, res, figures))
  return [p for paths in figures.values() for p in paths]
