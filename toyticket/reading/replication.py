"""The replication report: the claims (`claims.CLAIMS`) evaluated on saved sweeps by the
rules of `rules`, rendered as markdown, with the code-count table (numpy only).
"""
from __future__ import annotations

from toyticket.reading.claims import template_excess
from toyticket.reading.rules import BARS, RULES, Claim, Finding, NoData, diff_ci_text

def evaluate(claims, tables: dict) -> list[tuple[Claim, Finding]]:
  """Each claim's finding on tables[claim.sweep] (inconclusive if that sweep is absent or
  has none of the cells the claim reads: `rules.NoData`; a misspelt field or any other
  error propagates)."""
  out = []
  for c in claims:
    t = tables.get(c.sweep)
    if t is None:
      out.append((c, Finding(f"no data (sweep {c.sweep} not run)", 0, "inconclusive", "—")))
      continue
    try:
      f = c.measure(t)
    except NoData as e:   # the cells the claim reads are not in the sweep
      f = Finding("no data", 0, "inconclusive", "—", note=f"no {str(e)[:120]}")
    out.append((c, f))
  return out


def _det(f: Finding) -> str:
  if f.detectable is None:
    return "—"
  unit = {"accuracy": " acc", "codes": " codes/net", "rate": ""}.get(f.unit, "")
  return f"{f.detectable:.3g}{unit}" + (" ⚠ underpowered" if f.underpowered else "")


def _cell_text(f: Finding) -> str:
  note = f" ({f.note})" if f.note else ""
  return f"{f.ours}; n = {f.n}; **{f.verdict}**{note}"


def render(findings: list, header: str, extra: str = "", readings: dict | None = None) -> str:
  """The report as Markdown: header, the claims table, the rules, extra sections.

  findings: (claim, finding) under the paper's reading, which decides the totals;
  readings: {reading label: findings} of the other code readings, shown for code claims
  in the last column (row-specific reading, τ = 0.15)."""
  readings = readings or {}
  other = {label: dict((c.cid, f) for c, f in fs) for label, fs in readings.items()}
  lines = [header, "", "| # | claim | fig. | ours, paper's reading (95 % CI) | paper | n | "
           "detectable at 80 % power | verdict | other code readings |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
  for c, f in findings:
    note = f" — {f.note}" if f.note else ""
    alt = ("<br>".join(f"*{label}*: {_cell_text(o[c.cid])}" for label, o in other.items()
                       if c.cid in o) or "—") if c.codes else "— (no code reading)"
    lines.append(f"| {c.cid} | {c.text} | {c.figure} | {f.ours}{note} | {c.paper} | {f.n} | "
                 f"{_det(f)} | **{f.verdict}** ({f.rule}) | {alt} |")
  counts = {v: sum(f.verdict == v for _, f in findings)
            for v in ("reproduced", "not reproduced", "inconclusive")}
  lines += ["", "Totals (paper's reading): " + ", ".join(f"{v}: {n}" for v, n in counts.items())]
  for label, fs in readings.items():
    codes = [(c, f) for c, f in fs if c.codes]
    lines.append(f"Code claims under *{label}*: " + ", ".join(
        f"{v}: {sum(f.verdict == v for _, f in codes)}"
        for v in ("reproduced", "not reproduced", "inconclusive")))
  under = [c.cid for c, f in findings if f.underpowered]
  if under:
    lines.append(f"Underpowered inconclusive rows (detectable effect above the bar "
                 f"{BARS}): {', '.join(under)}.")
  lines += ["", "Rules (decided by `toyticket/replication.py`, nothing typed by hand):", ""]
  lines += [f"- **{k}**: {v}." for k, v in RULES.items()]
  lines.append(f"- **detectable at 80 % power**: the smallest true effect the row's test "
               f"finds with 80 % power at its observed sd and n (noncentral t; rates: "
               f"normal approximation); an inconclusive row above the bar of its unit "
               f"({', '.join(f'{u} {b}' for u, b in BARS.items())}) is marked underpowered.")
  return "\n".join(lines + ["", extra]).rstrip() + "\n"


def _mean_boot(d: dict, ci: tuple) -> str:
  """"mean [lo, hi]" of a `stats.describe` result with its bootstrap CI (2 decimals)."""
  if d["mean"] is None:
    return "no data"
  return f"{d['mean']:.2f}" + ("" if ci[0] is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def code_count_table(tables_by_reading: dict, sweep: str = "precursors") -> str:
  """Markdown: per reading and template, exact codes per dense-final network beside its θ0
  chance level and decoy count (means with percentile-bootstrap CIs), and the
  decoy-corrected excess (count − decoy count, same run, same reading; paired t CI)."""
  out = ["| reading | template | dense-final codes / net | θ0 chance | decoy | excess over "
         "decoy (95 % CI) | excess over θ0 | flag |",
         "| --- | --- | --- | --- | --- | --- | --- | --- |"]
  for label, tables in tables_by_reading.items():
    t = tables.get(sweep)
    if t is None:
      continue
    for tp in ("4P", "3N1P"):
      e = template_excess(t, tp)
      boot = lambda k: _mean_boot(e[k], e[k + "_boot"])
      flag = "above chance" if e["above"] else "**at or below chance: not a verdict**"
      out.append(f"| {label} | {tp} | {boot('count')} | {boot('chance')} | {boot('decoy')} | "
                 f"{diff_ci_text(e['excess'], 2)} | {diff_ci_text(e['over_chance'], 2)} | {flag} |")
  return "\n".join(out)
