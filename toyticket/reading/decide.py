"""What a run's report page decides for its reader (numpy only): per setting, every
method's paired difference from random and from the oracle with its 95 % CI and Holm p,
whether the setting's pairs could detect a difference that matters, and the paper's claims
evaluated on this run beside the paper's numbers.

Paired rows are `results.paired_rows` (same dense run and seed; Holm over the methods of
each (setting, baseline, metric)). "Detectable" is `stats.detectable`: the smallest true
mean difference a paired t test at α / k (k methods compared, Holm's strictest step) finds
with 80 % power, from the median sd of the setting's differences.
"""
from __future__ import annotations

import html
import statistics

from toyticket.core import stats
from toyticket.reading import results
from toyticket.reading.rules import NoData, Tables

# per metric: the difference a reader cares about (None: no stated bar), and +1 if higher
# is better (−1: lower, e.g. a loss); other metrics: no bar, higher better
MATTERS = {"sparse_acc": (0.01, 1), "sparse_loss": (None, -1)}
BASELINES = ("random", "oracle")


def _fmt(v, p=3) -> str:
  return "—" if v is None else f"{v:+.{p}f}"


def _cell(r: dict | None) -> str:
  """One comparison: Δ [CI], Holm p, marked ▲ / ▼ when significant."""
  if r is None or r["mean_diff"] is None:
    return "<td>—</td>"
  mark = {"higher": " ▲", "lower": " ▼"}.get(r["verdict"], "")
  cls = " class='sig'" if mark else ""
  p = "—" if r["p_holm"] is None else f"{r['p_holm']:.3g}"
  ci = "" if r["ci95_lo"] is None else f" [{_fmt(r['ci95_lo'])}, {_fmt(r['ci95_hi'])}]"
  return f"<td{cls}>{_fmt(r['mean_diff'])}{ci}; p<sub>Holm</sub> {p}{mark}</td>"


def settings(paired: list[dict], metric: str) -> dict:
  """{setting (results.PAIR_KEYS values): {method: {baseline: paired row}}} of `metric`."""
  out: dict = {}
  for r in paired:
    if r["metric"] == metric and r["baseline"] in BASELINES:
      key = tuple(r[k] for k in results.PAIR_KEYS)
      out.setdefault(key, {}).setdefault(r["method"], {})[r["baseline"]] = r
  return out


def detectable(by_method: dict, baseline: str = "random") -> tuple[int, float | None]:
  """(median n, smallest detectable Δ) of a setting's comparisons with `baseline`."""
  rows = [m[baseline] for m in by_method.values() if baseline in m and m[baseline]["n"]]
  sds = [r["sd_diff"] for r in rows if r["sd_diff"] is not None]
  if not rows or not sds:
    return 0, None
  n = int(statistics.median(r["n"] for r in rows))
  return n, stats.detectable(statistics.median(sds), n, stats.ALPHA / max(len(rows), 1))


def significance_html(paired: list[dict], metric: str) -> str:
  """Per setting, a collapsible table: methods by Δ vs random (best first by the metric's
  direction), Δ vs random and
  vs oracle with CI and Holm p; the summary line counts the significant ones and warns when
  the setting's n cannot detect MATTERS[metric]."""
  bar, sign = MATTERS.get(metric, (None, 1))
  out = []
  for key, by_method in sorted(settings(paired, metric).items(), key=lambda kv: str(kv[0])):
    n, det = detectable(by_method)
    sig = {b: sum(m.get(b, {}).get("verdict") in ("higher", "lower") for m in by_method.values())
           for b in BASELINES}
    label = ", ".join(f"{k} {v}" for k, v in zip(results.PAIR_KEYS, key))
    warn = ""
    if bar is not None and (det is None or det > bar):
      warn = (f" <span class='warn'>⚠ n = {n} pairs cannot detect a {bar} difference "
              f"(detectable at 80 % power: {'—' if det is None else f'{det:.3f}'}); run more "
              "seeds before reading a ranking</span>")
    elif det is not None:
      warn = f" (n = {n} pairs detect {det:.3f} at 80 % power)"
    delta = lambda m: (by_method[m].get("random") or {}).get("mean_diff")
    order = sorted(by_method, key=lambda m: (delta(m) is None, -sign * (delta(m) or 0.0)))
    body = "".join(f"<tr><td>{html.escape(m)}</td>{_cell(by_method[m].get('random'))}"
                   f"{_cell(by_method[m].get('oracle'))}</tr>" for m in order)
    out.append(f"<details><summary>{html.escape(label)}: {sig['random']} of "
               f"{sum('random' in m for m in by_method.values())} methods differ from random, "
               f"{sig['oracle']} from the oracle (Holm p &lt; {stats.ALPHA}){warn}</summary>"
               f"<table><tr><th>method</th><th>Δ {metric} vs random [95 % CI]</th>"
               f"<th>Δ vs oracle [95 % CI]</th></tr>{body}</table></details>")
  return "\n".join(out) or "<p>No paired comparisons (the run has no random or oracle cells).</p>"


def claims_html(run, claims) -> str:
  """The paper's claims that read this run's sweep (its config name), evaluated on this
  run alone: the claim, the paper's number, ours with n and the verdict of its rule."""
  mine = [c for c in claims if c.sweep == run.config.get("name")]
  if not mine:
    return ""
  t = Tables(run.rows, run.dense_rows, run.oracle_rows, run.arrays)
  rows = []
  for c in mine:
    try:
      f = c.measure(t)
      ours, n, verdict = f.ours, f.n, f.verdict + (" (underpowered)" if f.underpowered else "")
    except NoData as e:
      ours, n, verdict = f"no data in this run ({e})", 0, "—"
    rows.append(f"<tr><td>{c.cid}</td><td>{html.escape(c.text)}</td><td>{html.escape(c.paper)}"
                f"</td><td>{html.escape(ours)}</td><td>{n}</td><td>{html.escape(verdict)}</td></tr>")
  return ("<table><tr><th>claim</th><th>the paper says</th><th>paper</th><th>this run</th>"
          "<th>n</th><th>verdict</th></tr>" + "".join(rows) + "</table>")
