"""A whole sweep from a validated config: chunks (skip-if-done), tables, figures, summary.

`run` is what `python -m experiments.sweep` calls; `run_sweep` is its computing part.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from typing import Callable

import jax
import ml_collections

from toyticket.core import identity, usercode
from toyticket.run import checkpoints, distributed, execute, grid, restore, sharding
from toyticket.ticket import cycle, progress, train
from toyticket.core import families, readings, rundir
from toyticket.reading import results


@dataclasses.dataclass
class Sweep:
  """A finished sweep: run directory and its rows (see `results.chunk_rows`)."""
  run_dir: str
  rows: list          # per sparse cell (metrics.csv)
  dense_rows: list    # per dense run (dense.csv)
  oracle_rows: list   # per (dense run, density) (dense_oracle.csv)
  sae_rows: list = dataclasses.field(default_factory=list)   # per (network, L1) (sae.csv)
  aggregate: list | None = None   # `results.aggregate(rows)` (aggregate.csv; process 0)


def run_sweep(cfg: ml_collections.ConfigDict, workdir: str,
              log: Callable[[str], None] = print) -> Sweep:
  """Runs (or resumes) a validated config and writes its tables.

  A chunk counts as done only when its rows, arrays and checkpoint are all intact; a
  damaged or partly deleted chunk is recomputed (and said so). The run directory is
  locked while it runs: a second sweep of the same config and workdir stops at once with
  RunDirBusy instead of computing the same chunks.

  With several processes (`distributed`), every process calls this and computes its
  share of each chunk; process 0 alone locks, decides what is done, writes and logs, and
  only its Sweep holds rows (the others' are empty)."""
  log = _main_log(log)
  plan, ident, path = _where(cfg, workdir)
  with _locked(path):
    return _run_chunks(cfg, workdir, ident, *_prepare(cfg, path, log, plan, ident), log)


def _where(cfg: ml_collections.ConfigDict, workdir: str) -> tuple[list, dict, str]:
  """(the plan, the run's content identity, its run directory). Every process checks that
  all hold the same config and code first. The identity is the user code and data the
  task families report (`Family.identity`: {} for the built-in families), with the source
  files a config names: hashed into the run id, so that an edited model, helper module or
  data file makes a new run. Nothing is written."""
  distributed.agree(identity.fingerprint(cfg.to_dict()))   # every process: same config, code
  plan = grid.plan(cfg)
  ident = dict(usercode.source_digest(cfg.to_dict()))
  for g in dict.fromkeys(g for g, _ in plan):
    ident.update(cycle.family_of(g.spec).identity(g.spec))
    ident.update(cycle.layout_identity(g.spec, jax.device_count(), cfg.max_cells_per_chunk))
  return plan, ident, rundir.RunDir.path_for(workdir, cfg.to_dict(), ident)


def _main_log(log: Callable[[str], None]) -> Callable[[str], None]:
  """`log` on process 0; a no-op on the others, so a multi-process run logs once."""
  return log if distributed.is_main() else (lambda _: None)


@contextlib.contextmanager
def _locked(path: str):
  """`rundir.locked` on process 0, the only writer; every process learns whether it got
  the lock, so that all stop together (RunDirBusy) when the run directory is busy."""
  with contextlib.ExitStack() as stack:
    error = ""
    if distributed.is_main():
      try:
        stack.enter_context(rundir.locked(path))
      except rundir.RunDirBusy as e:
        error = str(e)
    error = distributed.share(error)
    if error:
      raise rundir.RunDirBusy(error)
    yield


def _prepare(cfg: ml_collections.ConfigDict, path: str, log, plan: list,
             ident: dict) -> tuple[list, dict | None, dict]:
  """The plan, the restored dense runs and the memory the first chunk still to compute
  needs (`execute.memory_need`, {} if none is left); every check that can fail runs here,
  before anything is written, the memory check (ResourceError) included: that chunk's
  program is compiled here (or loaded from the cache), and run later without a second
  compile."""
  restored = restore.load(cfg.restore_from, cfg, ident) if cfg.restore_from else None
  if restored is not None:           # every dense run must be there before any write
    restore.check_complete(restored, plan)
  for g in dict.fromkeys(g for g, _ in plan):
    if len(g.grid) > cfg.max_cells_per_chunk:
      log(f"note: one dense run of {g.gid} has {len(g.grid)} sparse cells > "
          f"max_cells_per_chunk={cfg.max_cells_per_chunk}; a dense run's cells are never "
          "split, so its chunks hold one dense run each")
  return plan, restored, _first_need(plan, path, restored)


def _first_need(plan: list, path: str, restored: dict | None) -> dict:
  """`execute.memory_need` of the first chunk whose rows are not on disk at `path` (process
  0 decides which; every process compiles it), {} if every chunk's rows are there."""
  rd = rundir.RunDir(path)
  todo = [n for n, (g, block) in enumerate(plan) if not os.path.exists(
      rd.chunk_files(rd.chunk_id(g.gid, [g.dense[r] for r in block]))["rows"])]
  first = int(distributed.share(str(todo[0] if todo else -1)))
  if first < 0:
    return {}
  g, block = plan[first]
  return execute.memory_need(g, block, restore.pick(restored, g, block))


def _run_chunks(cfg, workdir, ident, plan, restored, need, log,
                rows_written: Callable[[str], None] | None = None) -> Sweep:
  """run_sweep's loop, under the run directory's lock. rows_written(run_dir), on process
  0, once the rows are on disk (`RunDir.write_rows`) and before the statistics are
  computed: `run` starts drawing figures there."""
  main = distributed.is_main()
  fam = families.reading(cfg.task.family)
  rd = (rundir.RunDir.create(workdir, cfg.to_dict(), ident) if main else
        rundir.RunDir(rundir.RunDir.path_for(workdir, cfg.to_dict(), ident)))
  log(plan_text(plan, cfg, rd.path, need))
  rows, dense_rows, oracle_rows, sae_rows = [], [], [], []
  t_start, times = time.time(), []
  cids = []
  for n, (g, block) in enumerate(plan):
    runs = [g.dense[r] for r in block]
    cid = rd.chunk_id(g.gid, runs)
    cids.append(cid)
    meta = rd.chunk_done(cid, g.gid, runs) if main else None
    if distributed.share("" if meta is None else "done") != "done":   # process 0 decides
      if main and rd.discard_chunk(cid):
        log(f"chunk {cid}: files damaged or missing; recomputing it")
      t0, c0 = time.time(), sharding.COMPILE_SECONDS[0]
      if cfg.progress and main:
        progress.set_sink(progress_sink(      # run_sharded splits over every device
            log, f"[{n + 1}/{len(plan)}]", cfg.train.epochs, execute.shard_count(),
            cycle.in_turn(g.spec, len(block), jax.device_count()), max(cfg.imp.levels, 1)))
      try:
        out = execute.execute(g, block, restore.pick(restored, g, block))
      finally:
        progress.set_sink(None)
      if not main:
        continue
      tables = fam.chunk_rows(g.dense_labels(block), g.cell_labels(block), g.densities, out,
                              g.spec.options)
      meta = {"group": g.gid, "dense_runs": [g.dense[r] for r in block], **tables}
      arrays = {**readings.to_arrays(out["dense"], "dense"),
                **readings.to_arrays(out["cells"], "cells"), "masks": out["masks"]}
      rd.save_chunk(cid, arrays, meta,
                    lambda path: checkpoints.save(path, checkpoint_tree(out)))
      compiling = sharding.COMPILE_SECONDS[0] - c0       # a new model group's program
      times.append(time.time() - t0 - compiling)
      log(chunk_line(n, len(plan), cid, len(block), len(tables["cells"]), times, compiling,
                     time.time() - t_start))
    if not main:
      continue
    rows += meta["cells"]
    dense_rows += meta["dense"]
    oracle_rows += meta["oracle"]
    sae_rows += meta.get("sae", [])
  agg = None
  if main:
    rd.write_plan(cids)
    tasks = {g.gid: g.task.tables() for g, _ in plan}
    if rows_written is not None:
      rd.write_rows(cfg.to_dict(), rows, dense_rows, oracle_rows, sae_rows, tasks)
      rows_written(rd.path)
    agg = results.aggregate(rows)
    rd.write_tables(cfg.to_dict(), rows, dense_rows, oracle_rows, agg,
                    results.paired_rows(rows, fam.paired_metrics), sae_rows, tasks)
  return Sweep(rd.path, rows, dense_rows, oracle_rows, sae_rows, agg)


def progress_sink(log: Callable[[str], None], prefix: str, epochs: int, devices: int = 1,
                  in_turn: int = 1, imp_levels: int = 1):
  """sink(phase, epoch) for `progress.set_sink`: a log line when a training phase
  ("dense", "sparse", "imp": each IMP level is a pass) reaches a quarter of its epochs,
  with the seconds since the chunk's program started (the first call). Each of this
  process's `devices` runs its shard of the program and reports every epoch: a line is
  written when the last of them reaches it. in_turn: dense runs each device runs one
  after another (layout "per_dense_run": its share of the chunk; "batched": 1), each
  repeating every phase (IMP: `imp_levels` passes per dense run)."""
  marks = {e + 1 for e in train.progress_epochs(epochs)}
  state = {"t0": None, "seen": {}}

  def sink(phase: str, e: int) -> None:
    now = time.time()
    state["t0"] = state["t0"] or now
    seen = state["seen"][phase, e] = state["seen"].get((phase, e), 0) + 1
    if seen % devices == 0 and e + 1 in marks:
      k = seen // devices - 1         # the pass, from 0
      per_run = imp_levels if phase == "imp" else 1
      where = [f"dense run {k // per_run + 1} of {in_turn} per device"] if in_turn > 1 else []
      where += [f"level {k % per_run + 1}"] if phase == "imp" else []
      label = f"{phase} ({', '.join(where)})" if where else phase
      log(f"  {prefix} {label}: epoch {e + 1}/{epochs} started "
          f"({now - state['t0']:.1f} s into the chunk)")
  return sink


def chunk_line(n: int, total: int, cid: str, n_dense: int, n_cells: int, times: list,
               compiling: float, elapsed: float) -> str:
  """The progress line of chunk n (0-based) of `total`: its compute time (compiling, when
  this chunk's model group compiled here, shown apart), the elapsed time, and an estimate
  for the chunks left from the mean compute time so far (compile time excluded)."""
  left = total - n - 1
  eta = (f"; about {sum(times) / len(times) * left:.0f} s of compute for the {left} chunks "
         "left" if left else "")
  comp = f" + {compiling:.1f}s compiling" if compiling >= 0.05 else ""
  return (f"[{n + 1}/{total}] chunk {cid}: {n_dense} dense + {n_cells} sparse runs in "
          f"{times[-1]:.1f}s{comp} (elapsed {elapsed:.0f} s{eta})")


def plan_text(plan: list, cfg: ml_collections.ConfigDict, run_dir: str,
              need: dict | None = None) -> str:
  """One line: groups, chunks, dense and sparse runs, run-steps (runs × epochs × steps per
  epoch), the memory a chunk needs (`sharding.memory_need`: host GiB; given `need`), and
  the run directory."""
  groups = list(dict.fromkeys(g for g, _ in plan))
  steps = cfg.train.epochs * (cfg.task.n_train // cfg.train.batch_size)
  dense = sum(len(b) for _, b in plan)
  sparse = sum(len(b) * len(g.grid) for g, b in plan)
  return (f"plan: {len(groups)} model group(s) ({', '.join(g.gid for g in groups)}), "
          f"{len(plan)} chunk(s), {dense} dense + {sparse} sparse runs, "
          f"{(dense + sparse) * steps:,} run-steps"
          + (f", ≈ {need['host'] / sharding.GIB:.2f} GiB per chunk" if need else "")
          + f"; results in {run_dir}")


def checkpoint_tree(out: dict) -> dict:
  """What a chunk's checkpoint holds: every dense epoch (so any rewind point and any
  trajectory-based method can be recomputed), dense losses, masks, sparse-final params."""
  return {"dense_traj": out["dense_traj"], "dense_losses": out["dense"].loss,
          "masks": out["masks"], "sparse_final": out["sparse_final"]}


def run(cfg: ml_collections.ConfigDict, workdir: str,
        log: Callable[[str], None] = print) -> tuple[Sweep, str, list]:
  """run_sweep, with the config's figures (from the saved rows: `report.start`) drawn in
  worker processes while the statistics are computed and written, then summary.txt (the
  full table) and index.html (the report page; `Drawing.finish`), written by process 0
  only. Returns (sweep, short summary, figure paths)."""
  log = _main_log(log)
  plan, ident, path = _where(cfg, workdir)
  drawing = []

  def rows_written(run_dir: str) -> None:     # figures draw while the statistics compute
    from toyticket.reading import report      # matplotlib etc.: only once figures are drawn
    drawing.append(report.start(run_dir))

  with _locked(path):
    try:
      sw = _run_chunks(cfg, workdir, ident, *_prepare(cfg, path, log, plan, ident), log,
                       rows_written)
      figs = drawing[0].finish(aggregate=sw.aggregate) if distributed.is_main() else []
    finally:
      for d in drawing:
        d.close()
  return sw, families.reading(cfg.task.family).summary(sw.rows, sw.dense_rows, top=3,
                                                      agg=sw.aggregate), figs
