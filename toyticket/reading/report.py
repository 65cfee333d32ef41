"""A run directory's figures, full summary and report page (index.html), from its saved
results only (no JAX): `build(run_dir)`, also `python -m experiments.report <run dir>`."""
from __future__ import annotations

import html
import json
import os

from toyticket.core import host
from toyticket.reading import plots, results
from toyticket.core import rundir

# What each figure shows and which paper figure it corresponds to (the figure function's
# docstring, first paragraph).
CAPTIONS = {name: " ".join((fn.__doc__ or "").split("\n\n")[0].split())
            for name, fn in plots.FIGURES.items()}
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
  cfg, m = rundir.read_json(cfg_path), rundir.read_json(m_path)
  if not isinstance(cfg, dict):
    raise rundir.RunFileError(f"run file error: {cfg_path} is damaged (not a config object)")
  if not isinstance(m, dict) or not all(isinstance(m.get(k), list) for k in ("runs", "dense")):
    raise rundir.RunFileError(f"run file error: {m_path} is damaged (no lists of runs and "
                              "dense runs)")
  tasks = rundir.read_json(os.path.join(run_dir, "tasks.json"))
  if not isinstance(tasks, dict):
    raise rundir.RunFileError(f"run file error: {run_dir}/tasks.json is damaged (not an "
                              "object of task tables)")
  return cfg, plots.Results(m["runs"], m["dense"], rundir.load_arrays(run_dir), run_dir, cfg,
                            m.get("oracle", []), m.get("sae", []), tasks)


def _num3(v) -> str:
  """v to 3 decimals, "—" when missing (e.g. every dense run diverged)."""
  return "—" if v is None else f"{v:.3f}"


def _best_table(rows: list, dense_rows: list, top: int = 3) -> str:
  """HTML: per setting, the dense accuracy and floor, then the top methods by mean sparse
  accuracy and the references, each with its 95 % CI."""
  fmt = lambda a, f: ("—" if a[f"{f}_mean"] is None else f"{a[f'{f}_mean']:.3f}" +
                      (f" ± {a[f'{f}_ci95']:.3f}" if a[f"{f}_ci95"] is not None else ""))
  out = ["<table><tr><th>group</th><th>embedding</th><th>dense accuracy</th>"
         "<th>floor</th><th>n</th></tr>"]
  for d in results.aggregate(dense_rows, ("group", "embedding")):
    out.append(f"<tr><td>{d['group']}</td><td>{d['embedding']}</td>"
               f"<td>{fmt(d, 'dense_acc')}</td><td>{_num3(d['floor_acc_mean'])}</td>"
               f"<td>{d['n']}</td></tr>")
  out.append("</table><table><tr><th>group</th><th>embedding</th><th>density</th>"
             "<th>rewind</th><th>probe epoch</th><th>method</th><th>sparse accuracy</th>"
             "<th>masked, no retrain</th><th>exact 4P (θ0 chance)</th><th>n</th></tr>")
  best: dict = {}
  for a in sorted(results.aggregate(rows), key=lambda a: -(a["sparse_acc_mean"] or -1.0)):
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
  family = config.get("task", {}).get("family", "clause")
  rep = results.representative(res.rows) if family == "clause" else None
  best = (_best_table(res.rows, res.dense_rows) if family == "clause" else
          f"<pre>{html.escape(results.summary(res.rows, res.dense_rows, family=family))}</pre>")
  rep_line = ("" if rep is None else
              f"<p>Representative run ({html.escape(rep['embedding'])}, seed {rep['seed']}: "
              f"median masked-no-retrain accuracy of {html.escape(rep['method'])} at density "
              f"{rep['density']}): dense {rep['dense_acc']:.3f} → masked "
              f"{rep['masked_acc']:.3f} → sparse {rep['sparse_acc']:.3f} (floor "
              f"{rep['floor_acc']:.3f}).</p>")
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


def build(run_dir: str, workers: int = 0) -> list[str]:
  """Figures (the config's `figures`; earlier figure files are removed first), summary.txt
  (full table) and index.html of a finished run directory. Returns the PNG paths.

  workers: processes drawing figures in parallel (0: one per available core, at most one
  per figure; 1: all in this process). Workers are spawned, not forked, so a caller that
  has started JAX's threads is safe; the files are the same either way."""
  cfg, res = load(run_dir)
  fig_dir = os.path.join(run_dir, "figures")
  for f in os.listdir(fig_dir) if os.path.isdir(fig_dir) else []:
    if f.endswith((".png", ".svg")):       # drawn by an earlier build: redraw all
      os.remove(os.path.join(fig_dir, f))
  names = list(cfg.get("figures", ()))
  workers = min(workers or host.available_cores(), len(names))
  if workers > 1:
    import concurrent.futures
    import multiprocessing
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn")) as pool:
      drawn = list(pool.map(_draw, [run_dir] * len(names), names))
  else:
    drawn = [plots.make_figures([name], res) for name in names]
  figures = dict(zip(names, drawn))
  rundir.atomic_write(os.path.join(run_dir, "summary.txt"),
                      results.summary(res.rows, res.dense_rows,
                                      family=cfg.get("task", {}).get("family", "clause")) + "\n")
  rundir.atomic_write(os.path.join(run_dir, "index.html"), page(cfg, res, figures))
  return [p for paths in figures.values() for p in paths]
