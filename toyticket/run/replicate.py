"""`python -m experiments.replicate`: run the sweeps the paper's claims need, evaluate every
claim (`claims.CLAIMS`) on their saved results, write docs/replication.md.

Each sweep runs its config's `:replicate` variant (only the cells the claims read, seeds
sized by a power calculation, stated in each config's docstring) once per data seed of
`DATA_SEEDS` (distinct clause sets, disjoint model seeds), and the runs are pooled. Sweeps
whose claims read codes run again under every reading of `READINGS` beyond the first (the
paper's clause-local reading): the row-specific reading and τ = 0.15.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
import subprocess
import time
from typing import Callable

import numpy as np

from toyticket.core import files, identity
from toyticket.run import config
from toyticket.reading import claims, replication, rules
from toyticket.reading.run import Run
from toyticket.core import stats
from toyticket.run import sweep as sweep_lib

SWEEPS = ("ticket_cycle", "precursors", "expansion", "detectors", "rewind_modes",
          "probe_epochs", "embedding_sweep")
DATA_SEEDS = (0, 1, 2)


@dataclasses.dataclass(frozen=True)
class Reading:
  """A code reading: its label in the report and the codes.* fields it sets."""
  label: str
  specificity: str
  tau: float


READINGS = (Reading("clause-local, τ = 0.25 (the paper's)", "none", 0.25),
            Reading("row-specific, τ = 0.25", "row", 0.25),
            Reading("clause-local, τ = 0.15", "none", 0.15),
            Reading("row-specific, τ = 0.15", "row", 0.15))
CODE_SWEEPS = tuple(sorted({c.sweep for c in claims.CLAIMS if c.codes}))


def tables_of(run_dir: str, data_seed: int = 0) -> rules.Tables:
  """A finished run dir's rows and per-run arrays (`Run.load`: every file checked), each
  row tagged with its data seed."""
  run = Run.load(run_dir)
  tag = lambda rows: [{**r, "data_seed": data_seed} for r in rows]
  return rules.Tables(tag(run.rows), tag(run.dense_rows), tag(run.oracle_rows), run.arrays)


def pool(tables: list) -> rules.Tables:
  """One Tables of several sweeps' (rows concatenated; per-run arrays concatenated along
  their run axis where every sweep has them)."""
  arrays = {}
  for k in set.intersection(*(set(t.arrays) for t in tables)):
    try:
      arrays[k] = np.concatenate([np.asarray(t.arrays[k]) for t in tables])
    except ValueError:     # shapes differ between sweeps: not poolable, left out
      pass
  return rules.Tables(sum((t.rows for t in tables), []),
                            sum((t.dense for t in tables), []),
                            sum((t.oracle for t in tables), []), arrays)


def sweep_config(name: str, data_seed_index: int, reading: Reading, quick: bool):
  """The validated config of sweep `name`'s `:replicate` variant for the i-th data seed
  (model seeds shifted by i · len(seeds), so no two pooled runs share a seed) under
  `reading`."""
  cfg = config.load_file(os.path.join(config.CONFIG_DIR, f"{name}.py:replicate"))
  cfg.quick = quick
  cfg.data_seed = DATA_SEEDS[data_seed_index]
  seeds = config.as_tuple(cfg.seeds)
  cfg.seeds = tuple(s + data_seed_index * len(seeds) for s in seeds)
  cfg.codes.specificity, cfg.codes.tau = reading.specificity, reading.tau
  config.validate(cfg)
  cfg = config.apply_quick(cfg)
  config.validate(cfg)
  return cfg


def _commit() -> str:
  try:
    return subprocess.run(["git", "-C", os.path.dirname(identity.PACKAGE_ROOT), "rev-parse",
                           "--short", "HEAD"], capture_output=True,
                          text=True, timeout=10).stdout.strip() or "unknown"
  except OSError:
    return "unknown"


def earlybird_section(t: rules.Tables | None) -> str:
  """Early-Bird's firing epochs (detect_epoch; −1 = never fired, fell back) of both rules:
  the authors' queue (`earlybird`, the one the figures use) and consecutive pairs
  (`earlybird_consecutive`)."""
  rows = [r for r in (t.rows if t else []) if r["method"] in ("earlybird",
                                                             "earlybird_consecutive")
          and r["rewind"] == "probe"]
  if not rows:
    return ""
  out = ["## Early-Bird firing epochs (detectors)", "",
         "| rule | clause count m | density | runs | fired | firing epoch: median [min, max] "
         "| epochs (count) |", "| --- | --- | --- | --- | --- | --- | --- |"]
  for meth in ("earlybird", "earlybird_consecutive"):
    for m in sorted({r["m"] for r in rows}):
      for rho in sorted({r["density"] for r in rows}):
        e = [r["detect_epoch"] for r in rows
             if (r["method"], r["m"], r["density"]) == (meth, m, rho)]
        fired = sorted(x for x in e if x >= 0)
        if not e:
          continue
        hist = ", ".join(f"{x} ({fired.count(x)})" for x in sorted(set(fired)))
        med = (f"{float(np.median(fired)):g} [{fired[0]}, {fired[-1]}]" if fired else "—")
        out.append(f"| {meth} | {m} | {rho} | {len(e)} | {len(fired)} | {med} | "
                   f"{hist or '—'} |")
  return "\n".join(out)


def ticket_cycle_section(t: rules.Tables | None) -> str:
  """The representative-regime numbers: dense, masked-no-retrain and sparse (probe
  rewind) accuracy of the oracle ticket per density, mean [95 % CI] over runs (floor:
  the constant classifier's accuracy, averaged over the data seeds)."""
  if not t:
    return ""
  out = ["## The ticket cycle in the paper's regime (ticket_cycle, oracle mask)", "",
         "| density | dense | masked, no retrain | sparse (probe rewind) | random mask, sparse "
         "| floor |", "| --- | --- | --- | --- | --- | --- |"]
  fmt = lambda v: rules.ci_text(stats.describe(list(v)))
  for rho in sorted({r["density"] for r in t.rows}):
    o = rules.select(t.rows, method="oracle", density=rho, rewind="probe")
    rnd = rules.select(t.rows, method="random", density=rho, rewind="probe")
    out.append(f"| {rho} | {fmt(rules.values(o, 'dense_acc').values())} | "
               f"{fmt(rules.values(o, 'masked_acc').values())} | "
               f"{fmt(rules.values(o, 'sparse_acc').values())} | "
               f"{fmt(rules.values(rnd, 'sparse_acc').values())} | "
               f"{np.mean([r['floor_acc'] for r in o]):.3f} |" if o else "— |")
  for ds in sorted({r.get("data_seed", 0) for r in t.dense}):
    dense = [r["dense_acc"] for r in t.dense if r.get("data_seed", 0) == ds
             and r["dense_acc"] is not None]
    floor = [r["floor_acc"] for r in t.rows if r.get("data_seed", 0) == ds]
    out.append(f"\nData seed {ds}: dense accuracy {rules.ci_text(stats.describe(dense))} "
               f"(floor {np.mean(floor):.3f})." if floor else "")
  out.append("\nPaper (representative run): dense 0.978 → masked 0.725 at density 0.25.")
  return "\n".join(out)


def _check_writable(out: str) -> None:
  """OSError naming `out` unless a report can be written there (a file, or a new file in
  a directory that exists or can be made)."""
  if os.path.isdir(out):
    raise IsADirectoryError(21, "is a directory, not a report file", out)
  parent = os.path.dirname(os.path.abspath(out))
  os.makedirs(parent, exist_ok=True)
  if not os.access(parent, os.W_OK):
    raise PermissionError(13, "cannot write here", out)


def run(workdir: str, out: str, quick: bool = False,
        log: Callable[[str], None] = print) -> str:
  """Runs (or resumes) every sweep in SWEEPS under workdir, for every data seed and (code
  sweeps) every reading, evaluates the claims and writes the report to `out`. Returns the
  report text. The run directory of each sweep's first data seed under the paper's reading
  gets its figures and report page; quick mode (a smoke test: two data seeds, two
  readings) writes tables only."""
  t0 = time.time()
  _check_writable(out)                # before any sweep runs, not after all of them
  data_seeds = range(2 if quick else len(DATA_SEEDS))
  readings = READINGS[:2] if quick else READINGS
  by_reading = {r.label: {} for r in readings}
  dirs = {}
  for name in SWEEPS:
    for reading in (readings if name in CODE_SWEEPS else readings[:1]):
      parts = []
      for i in data_seeds:
        cfg = sweep_config(name, i, reading, quick)
        t1 = time.time()
        # figures and the report page for the first data seed of the paper's reading;
        # the other runs add rows (quick mode: tables only)
        pages = not quick and i == 0 and reading == readings[0]
        sw = (sweep_lib.run(cfg, workdir, log=lambda s: None)[0] if pages else
              sweep_lib.run_sweep(cfg, workdir, log=lambda s: None))
        log(f"{name} [{reading.label}, data seed {cfg.data_seed}]: {len(sw.rows)} sparse "
            f"runs in {time.time() - t1:.0f}s ({sw.run_dir})")
        parts.append(tables_of(sw.run_dir, cfg.data_seed))
        dirs.setdefault(name, []).append(sw.run_dir)
      by_reading[reading.label][name] = pool(parts)
  primary = by_reading[readings[0].label]
  findings = replication.evaluate(claims.CLAIMS, primary)
  others = {r.label: replication.evaluate([c for c in claims.CLAIMS if c.codes],
                                          by_reading[r.label]) for r in readings[1:]}
  header = "\n".join([
      "# Replication of arXiv 2605.17704, claim by claim",
      "",
      "Generated by `python -m experiments.replicate` (`make replicate`)"
      + (" in QUICK mode (smoke test; not evidence)" if quick else "") +
      f" at commit {_commit()} on {datetime.date.today().isoformat()}; "
      f"{time.time() - t0:.0f} s wall for all sweeps. Do not edit: re-run to regenerate.",
      "",
      f"Every sweep is its config's `:replicate` variant, run on {len(data_seeds)} data "
      f"seeds ({', '.join(str(DATA_SEEDS[i]) for i in data_seeds)}: distinct clause sets, "
      "disjoint model seeds) and pooled; code claims are decided under the paper's "
      "clause-local reading (the totals) and again under the row-specific reading and "
      "τ = 0.15 (last column). Run directories: " +
      "; ".join(f"`{n}` → " + ", ".join(f"`{os.path.relpath(d, workdir)}`" for d in ds)
                for n, ds in dirs.items()) + ".",
      "Every number is a mean over runs with its 95 % CI (t, ddof 1; counts: percentile "
      "bootstrap where stated); Δ is a paired difference over the same dense run and seed; "
      "claims about the 75 % sparsity setting read density 0.25 and, where a config sweeps "
      "clause counts, m = 8. n counts runs pooled over the data seeds.",
  ])
  extra = "\n\n".join(s for s in (
      "## Exact codes per dense-final network, their chance level and decoy floor "
      "(precursors)\n\n" + replication.code_count_table(by_reading),
      ticket_cycle_section(primary.get("ticket_cycle")),
      earlybird_section(primary.get("detectors"))) if s)
  text = replication.render(findings, header, extra, others)
  os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
  files.atomic_write(out, text)
  files.atomic_write(os.path.join(workdir, "replication.json"), json.dumps(
      [{"claim": c.cid, "verdict": fd.verdict, "ours": fd.ours, "n": fd.n,
        "detectable": fd.detectable, "reading": label}
       for label, fs in {readings[0].label: findings, **others}.items() for c, fd in fs],
      indent=1, default=lambda v: np.asarray(v).tolist()))
  return text
