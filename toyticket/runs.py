"""From a config to results on disk: the run grid, chunks, resume, restore, result rows.

Layout of one sweep: <workdir>/<config name>/<run id>/ with run id = hash of the resolved
config, holding config.json, chunks/<chunk>.json (rows, written last: a chunk is done iff it
exists), trajectories/<chunk>.npz, checkpoints/<chunk>/ (orbax), metrics.json, metrics.csv,
aggregate.csv, dense.csv, summary.txt and figures/*.png. Every file is written to a temporary
name and renamed, so an interrupted sweep leaves only whole files, and a re-run skips the
chunks that are done.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import itertools
import json
import os
import time
import zipfile
from typing import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from toyticket import checkpoints, codes, cycle, discovery, embeddings, sharding, task, train
from toyticket.config import ConfigError, as_tuple

T_NAMES = codes.TEMPLATE_NAMES


class RunFileError(RuntimeError):
  """An unreadable or damaged file of a run directory (one-line message naming it)."""


# ------------------------------------------------------------------------------ grid
@dataclasses.dataclass
class Group:
  """All runs sharing one static shape (model.hidden, task.m): one compiled program."""
  gid: str
  d: int                 # embedding width (model.d)
  task: task.Task
  spec: cycle.CycleSpec
  dense: list            # [(embedding, seed)]
  densities: tuple       # the config's densities (dense-run oracle analysis, per density)
  cell_grid: list        # [(method, density, rewind, probe_pos)] per dense run, method-major


def groups(c: ml_collections.ConfigDict) -> list[Group]:
  out = []
  for hidden, m in itertools.product(as_tuple(c.model.hidden), as_tuple(c.task.m)):
    t = c.task
    tk = task.make_task(c.data_seed, t.n, m, t.k, t.target, t.polarity, t.n_train, t.n_test)
    disc = {k: v for k, v in c.discovery.to_dict().items() if k != "score_examples"}
    spec = cycle.CycleSpec(
        hidden=hidden, n_out=tk.n_out, train=train.TrainConfig(**c.train.to_dict()),
        methods=as_tuple(c.methods), probe_epochs=as_tuple(c.probe_epochs),
        discovery=discovery.DiscoveryConfig(**disc, tau=c.codes.tau,
                                            specificity=c.codes.specificity),
        tau=c.codes.tau, readout_check=c.codes.readout_check,
        specificity=c.codes.specificity,
        score_examples=min(c.discovery.score_examples, t.n_train),
        c0_frozen=not any(embeddings.TRAINABLE[f] for f in as_tuple(c.embeddings)))
    dense = list(itertools.product(as_tuple(c.embeddings), as_tuple(c.seeds)))
    grid = list(itertools.product(as_tuple(c.methods), as_tuple(c.densities),
                                  as_tuple(c.rewinds), range(len(as_tuple(c.probe_epochs)))))
    out.append(Group(f"H{hidden}-m{m}", c.model.d, tk, spec, dense,
                     as_tuple(c.densities), grid))
  return out


def chunks(g: Group, max_cells: int) -> list[list[int]]:
  """Dense-run index blocks; each block's sparse cells number at most max_cells."""
  per = max(1, max_cells // max(1, len(g.cell_grid)))
  idx = list(range(len(g.dense)))
  return [idx[i:i + per] for i in range(0, len(idx), per)]


def task_arrays(tk: task.Task) -> dict:
  return {k: jnp.asarray(getattr(tk, k)) for k in
          ("x_train", "y_train", "x_test", "y_test", "clause_vars", "clause_pols",
           "decoy_vars", "decoy_pols")}


def dense_inputs(dense: list, d: int, n: int, densities: tuple) -> dict:
  """Per dense run: seed key, C0 (family from the key's stream 2), C0-trainable flag, a
  learning-rate multiplier (1; tests use it to make single runs diverge) and the densities
  (P,) at which its oracle-supported site classes are read."""
  keys = [jax.random.PRNGKey(s) for _, s in dense]
  c0 = [embeddings.make_c0(f, d, n, jax.random.fold_in(k, 2)) for (f, _), k in zip(dense, keys)]
  return {"key": jnp.stack(keys), "c0": jnp.stack(c0),
          "c0_trainable": jnp.array([float(embeddings.TRAINABLE[f]) for f, _ in dense]),
          "lr_scale": jnp.ones(len(dense), jnp.float32),
          "densities": jnp.tile(jnp.asarray(densities, jnp.float32), (len(dense), 1))}


def cell_inputs(g: Group, n_dense: int) -> tuple:
  """Per method (static order): density, rewind code and probe position of each of its
  cells, arrays (n_dense, C_method): the same grid for every dense run."""
  out = []
  for meth in g.spec.methods:
    rows = [(rho, cycle.REWINDS.index(rw), p) for (mm, rho, rw, p) in g.cell_grid if mm == meth]
    rho, rw, p = (np.array(v) for v in zip(*rows))
    tile = lambda v, dt: jnp.asarray(np.tile(v, (n_dense, 1)), dt)
    out.append({"density": tile(rho, jnp.float32), "rewind": tile(rw, jnp.int32),
                "probe": tile(p, jnp.int32)})
  return tuple(out)


def cell_labels(g: Group, dense_block: list[int]) -> list[dict]:
  """Labels of the cells in output order: dense run, then `cell_grid` (method-major, the
  order in which cycle concatenates the per-method `cell_inputs`)."""
  return [{"group": g.gid, "hidden": g.spec.hidden, "m": g.task.m,
           "embedding": g.dense[r][0], "seed": g.dense[r][1], "method": meth,
           "density": rho, "rewind": rw, "probe_epoch": g.spec.probe_epochs[p],
           "dense_index": r}
          for r in dense_block for (meth, rho, rw, p) in g.cell_grid]


# ------------------------------------------------------------------------- execution
def execute(g: Group, dense_block: list[int], restored: dict | None = None,
            shard: bool = True):
  """Runs one chunk; returns the cycle's outputs as numpy (run axis leading).

  restored: {"dense_traj", "dense_losses"} for these dense runs: skip dense training.
  shard: split the run axes over all devices (no effect with one device)."""
  dense_in = dense_inputs([g.dense[r] for r in dense_block], g.d, g.task.n, g.densities)
  cells = cell_inputs(g, len(dense_block))
  data = task_arrays(g.task)
  shard = shard and jax.device_count() > 1
  unpad = lambda out: out
  if shard:
    dense_in, cells, unpad = sharding.shard_runs(dense_in, cells)
  if restored is None:
    fn, jitted, args = cycle.full_cycle, cycle.cycle, (dense_in, cells, data)
  else:
    fn, jitted = cycle.sparse_cycle, cycle.sparse_cycle_jit
    args = (*sharding.pad_like(restored["dense_traj"], restored["dense_losses"],
                               dense_in["key"].shape[0]), dense_in, cells, data)
  if shard:   # each device runs its own runs; `data` is replicated
    out = sharding.per_device_static(fn, g.spec, len(args), n_replicated=1)(*args)
  else:
    out = jitted(g.spec, *args)
  return unpad(sharding.to_host(out))


# ------------------------------------------------------------------------------ rows
def _f(x):
  x = float(x)
  return None if np.isnan(x) else round(x, 6)


def chunk_rows(g: Group, dense_block: list[int], out: dict) -> tuple[list, list, list]:
  """Per-cell rows, per-dense-run rows and per-(dense run, density) oracle rows (plain
  JSON-able dicts)."""
  d, c = out["dense"], out["cells"]
  dense_rows, oracle_rows = [], []
  for i, r in enumerate(dense_block):
    emb, seed = g.dense[r]
    row = {"group": g.gid, "hidden": g.spec.hidden, "m": g.task.m, "embedding": emb,
           "seed": seed, "dense_acc": _f(d["acc"][i, -1]),
           "dense_acc_init": _f(d["acc"][i, 0]), "diverged_epoch": int(d["diverged_epoch"][i]),
           "max_row_codes_init": int(d["max_row_codes"][i, 0]),
           "max_row_codes_dense": int(d["max_row_codes"][i, 1])}
    for t, name in enumerate(T_NAMES):
      row[f"dense_{name}"] = int(d["code_counts"][i, -1, t])
      row[f"init_{name}"] = int(d["code_counts"][i, 0, t])
      row[f"dense_near_{name}"] = int(d["near_counts"][i, 1, t])
      row[f"init_near_{name}"] = int(d["near_counts"][i, 0, t])
      row[f"decoy_dense_{name}"] = int(d["decoy_codes"][i, 1, t])
      row[f"decoy_init_{name}"] = int(d["decoy_codes"][i, 0, t])
      row[f"decoy_dense_near_{name}"] = int(d["decoy_near"][i, 1, t])
    dense_rows.append(row)
    for p, rho in enumerate(g.densities):
      orow = {"group": g.gid, "hidden": g.spec.hidden, "m": g.task.m, "embedding": emb,
              "seed": seed, "density": rho,
              "diverged_epoch": row["diverged_epoch"]}
      for t, name in enumerate(T_NAMES):
        orow[f"oracle_supported_{name}"] = int(d["oracle_supported"][i, p, t])
        for k, cls in enumerate(CLASSES):
          orow[f"{cls}_{name}"] = int(d["oracle_class_counts"][i, p, k, t])
      oracle_rows.append(orow)
  by_dense = dict(zip(dense_block, dense_rows))
  rows = []
  for j, lab in enumerate(cell_labels(g, dense_block)):
    dr = by_dense[lab["dense_index"]]
    row = {k: v for k, v in lab.items() if k != "dense_index"}
    row.update({"dense_acc": dr["dense_acc"], "masked_acc": _f(c["masked_acc"][j]),
                "sparse_acc": _f(c["sparse_acc"][j]), "rewind_acc": _f(c["rewind_acc"][j]),
                "realised_density": _f(c["realised_density"][j]),
                "jaccard_mask_oracle": _f(c["jaccard_mask_oracle"][j]),
                "jaccard_sites_oracle": _f(c["jaccard_sites_oracle"][j]),
                "jaccard_codes_dense": _f(c["jaccard_codes_dense"][j]),
                "max_row_codes": int(c["max_row_codes"][j]),
                "dense_max_row_codes": dr["max_row_codes_dense"],
                "pruned_nonzero": int(c["pruned_nonzero"][j]),
                "collapsed_rows": int(c["collapsed_rows"][j]),
                "dense_diverged_epoch": dr["diverged_epoch"],
                "diverged_epoch": int(c["diverged_epoch"][j])})
    row["diverged"] = bool(row["diverged_epoch"] >= 0 or row["dense_diverged_epoch"] >= 0)
    for t, name in enumerate(T_NAMES):
      row[f"dense_{name}"] = dr[f"dense_{name}"]
      for key in ("sparse_codes", "chance_codes", "masked_codes", "supported",
                  "supported_but_lost", "stable_kept", "sparse_near", "decoy_sparse_codes",
                  "decoy_sparse_near", "decoy_chance_codes"):
        row[f"{key.replace('_codes', '')}_{name}"] = int(c[key][j, t])
      row[f"decoy_dense_{name}"] = dr[f"decoy_dense_{name}"]
      for key in ("same_site_recall", "family_recall", "code_overlap"):
        row[f"{key}_{name}"] = _f(c[key][j, t])
      for k, fate in enumerate(("kept", "moved", "lost")):
        row[f"code_{fate}_{name}"] = _f(c["code_fates"][j, k, t])
      row[f"near_codes_start_{name}"] = _f(c["near_frac_codes"][j, 0, t])
      row[f"near_rest_start_{name}"] = _f(c["near_frac_rest"][j, 0, t])
    rows.append(row)
  return rows, dense_rows, oracle_rows


CLASSES = ("stable", "recruited", "close_but_lost")
KEYS = ("group", "embedding", "method", "density", "rewind", "probe_epoch")
# Two-sided 95 % Student t quantiles t_{0.975, df}, df = 1..30 (normal beyond).
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
  return T975[df - 1] if df <= len(T975) else 1.960


def aggregate(rows: list[dict], keys=KEYS) -> list[dict]:
  """Per (keys) cell, over seeds: n_seeds (all runs), n_diverged, n (runs averaged: not
  diverged), and for every numeric field its mean, sd (ddof 1) and the half-width of its
  95 % CI (t_{0.975, n−1} · sd / √n) over the non-diverged runs whose value is not NaN.
  A row is diverged when its `diverged` field is true (dense rows: diverged_epoch ≥ 0)."""
  buckets: dict = {}
  for r in rows:
    buckets.setdefault(tuple(r.get(k) for k in keys), []).append(r)
  out = []
  for key, rs in buckets.items():
    agg = dict(zip(keys, key))
    bad = [bool(r["diverged"]) if "diverged" in r else r.get("diverged_epoch", -1) >= 0
           for r in rs]
    ok_rows = [r for r, b in zip(rs, bad) if not b]
    agg.update(n_seeds=len(rs), n_diverged=sum(bad), n=len(ok_rows))
    for f, v in rs[0].items():
      if f in keys or f in ("seed", "hidden", "m", "diverged") or isinstance(v, str):
        continue
      vals = np.array([np.nan if r[f] is None else float(r[f]) for r in ok_rows])
      ok = vals[~np.isnan(vals)]
      agg[f"{f}_mean"] = _f(ok.mean()) if ok.size else None
      agg[f"{f}_sd"] = _f(ok.std(ddof=1)) if ok.size > 1 else None
      agg[f"{f}_ci95"] = (_f(t975(ok.size - 1) * ok.std(ddof=1) / np.sqrt(ok.size))
                          if ok.size > 1 else None)
    out.append(agg)
  return out


# ----------------------------------------------------------------------------- files
def atomic_write(path: str, data: bytes | str) -> None:
  """Writes via a temporary sibling unique to this process, then one rename; on any
  failure (disk full, interrupt) the temporary file is removed."""
  tmp = f"{path}.{os.getpid()}.tmp"
  try:
    with open(tmp, "wb") as f:
      f.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise


def to_csv(rows: list[dict]) -> str:
  buf = io.StringIO()
  fields = list(dict.fromkeys(k for r in rows for k in r))
  w = csv.DictWriter(buf, fieldnames=fields)
  w.writeheader()
  w.writerows(rows)
  return buf.getvalue()


def save_npz(path: str, tree: dict) -> None:
  flat = {"/".join(str(getattr(k, "key", k)) for k in kp): np.asarray(v)
          for kp, v in jax.tree_util.tree_flatten_with_path(tree)[0]}
  buf = io.BytesIO()
  np.savez_compressed(buf, **flat)
  atomic_write(path, buf.getvalue())


def run_id(c: ml_collections.ConfigDict) -> str:
  return hashlib.sha256(json.dumps(c.to_dict(), sort_keys=True, default=str).encode()
                        ).hexdigest()[:12]


def _read_json(path: str, error=RunFileError):
  """JSON content of path, or `error` (one line naming the file) if unreadable."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise error(f"run file error: cannot read {path}: "
                f"{getattr(e, 'strerror', None) or str(e).splitlines()[0]}") from None


def load_restored(src: str, c: ml_collections.ConfigDict) -> dict:
  """{(group, embedding, seed): {"dense_traj", "dense_losses"}} from a finished run dir."""
  cfg_path = os.path.join(src, "config.json")
  if not os.path.isfile(cfg_path):
    raise checkpoints.CheckpointError(f"checkpoint error: restore_from={src!r} is not a run "
                                      "directory (no config.json)")
  src_cfg = _read_json(cfg_path, checkpoints.CheckpointError)
  plain = lambda v: json.loads(json.dumps(v.to_dict() if hasattr(v, "to_dict") else v))
  for field in ("data_seed", "task", "model", "train"):
    if not isinstance(src_cfg, dict) or field not in src_cfg:
      raise checkpoints.CheckpointError(f"checkpoint error: {cfg_path} is damaged (no "
                                        f"field {field!r})")
    if plain(src_cfg[field]) != plain(c[field]):
      raise ConfigError(field, plain(c[field]), f"the restored run's value {src_cfg[field]!r}")
  table = {}
  chunk_dir = os.path.join(src, "chunks")
  for name in sorted(os.listdir(chunk_dir)) if os.path.isdir(chunk_dir) else []:
    if not name.endswith(".json"):
      continue
    path = os.path.join(chunk_dir, name)
    meta = _read_json(path, checkpoints.CheckpointError)
    if not isinstance(meta, dict) or not {"group", "dense_runs"} <= set(meta):
      raise checkpoints.CheckpointError(f"checkpoint error: {path} is damaged")
    ck = checkpoints.restore(os.path.join(src, "checkpoints", name[:-5]))
    for i, (emb, seed) in enumerate(meta["dense_runs"]):
      table[(meta["group"], emb, seed)] = {
          "dense_traj": jax.tree.map(lambda v: v[i], ck["dense_traj"]),
          "dense_losses": ck["dense_losses"][i]}
  return table


def _chunk_done(run_dir: str, cid: str) -> dict | None:
  """The chunk's metadata if it finished and every file of it is intact (rows JSON,
  trajectories zip, checkpoint folder); None if it must be (re)computed."""
  paths = [os.path.join(run_dir, *p) for p in (("chunks", cid + ".json"),
                                               ("trajectories", cid + ".npz"),
                                               ("checkpoints", cid, "state"),
                                               ("checkpoints", cid, "checksum.json"))]
  if not all(os.path.exists(p) for p in paths):
    return None
  try:
    with open(paths[0]) as f:
      meta = json.load(f)
    with zipfile.ZipFile(paths[1]) as z:
      if z.testzip() is not None:
        return None
  except (OSError, ValueError, zipfile.BadZipFile):
    return None
  ok = isinstance(meta, dict) and {"group", "dense_runs", "cells", "dense", "oracle"} <= set(meta)
  return meta if ok else None


def run_sweep(c: ml_collections.ConfigDict, workdir: str,
              log: Callable[[str], None] = print) -> tuple[str, list, list, list]:
  """Runs (or resumes) a validated config. Returns (run dir, cell rows, dense rows, oracle
  rows: one per dense run and density, the dense run's oracle-supported site classes).

  A chunk counts as done only when its rows, trajectories and checkpoint are all intact;
  a damaged or partly deleted chunk is recomputed (and said so)."""
  restored = load_restored(c.restore_from, c) if c.restore_from else None
  gs = groups(c)
  plan = [(g, blk) for g in gs for blk in chunks(g, c.max_cells_per_chunk)]
  if restored is not None:     # every dense run must be there before anything is written
    for g, blk in plan:
      missing = [g.dense[r] for r in blk if (g.gid, *g.dense[r]) not in restored]
      if missing:
        raise checkpoints.CheckpointError(
            f"checkpoint error: restore_from has no dense run {missing[0]} in {g.gid}")
  for g in gs:
    if len(g.cell_grid) > c.max_cells_per_chunk:
      log(f"note: one dense run of {g.gid} has {len(g.cell_grid)} sparse cells > "
          f"max_cells_per_chunk={c.max_cells_per_chunk}; a dense run's cells are never split, "
          "so its chunks hold one dense run each")
  run_dir = os.path.join(workdir, c.name, run_id(c))
  for sub in ("chunks", "trajectories", "checkpoints", "figures"):
    os.makedirs(os.path.join(run_dir, sub), exist_ok=True)
  atomic_write(os.path.join(run_dir, "config.json"), json.dumps(c.to_dict(), indent=1))
  rows, dense_rows, oracle_rows = [], [], []
  for n, (g, blk) in enumerate(plan):
    cid = f"{n:04d}-{g.gid}"      # plan order first, so sorted files follow the rows
    done = os.path.join(run_dir, "chunks", cid + ".json")
    meta = _chunk_done(run_dir, cid)
    if meta is None:
      if os.path.exists(done):
        log(f"chunk {cid}: files damaged or missing; recomputing it")
        os.remove(done)
      t0 = time.time()
      rest = None
      if restored is not None:
        picked = [restored[(g.gid, *g.dense[r])] for r in blk]
        rest = jax.tree.map(lambda *v: np.stack(v), *picked)
      out = execute(g, blk, rest)
      r_rows, d_rows, o_rows = chunk_rows(g, blk, out)
      save_npz(os.path.join(run_dir, "trajectories", cid + ".npz"),
               {"dense": out["dense"], "cells": out["cells"], "masks": out["masks"]})
      checkpoints.save(os.path.join(run_dir, "checkpoints", cid),
                       {"dense_traj": out["dense_traj"],
                        "dense_losses": out["dense"]["loss"], "masks": out["masks"],
                        "sparse_final": out["sparse_final"]})
      meta = {"group": g.gid, "dense_runs": [g.dense[r] for r in blk], "cells": r_rows,
              "dense": d_rows, "oracle": o_rows}
      atomic_write(done, json.dumps(meta))
      log(f"[{n + 1}/{len(plan)}] chunk {cid}: {len(blk)} dense + {len(r_rows)} sparse runs "
          f"in {time.time() - t0:.1f}s")
    rows += meta["cells"]
    dense_rows += meta["dense"]
    oracle_rows += meta["oracle"]
  agg = aggregate(rows)
  atomic_write(os.path.join(run_dir, "metrics.json"), json.dumps(
      {"config": c.to_dict(), "runs": rows, "dense": dense_rows, "oracle": oracle_rows,
       "aggregate": agg}, indent=1))
  atomic_write(os.path.join(run_dir, "metrics.csv"), to_csv(rows))
  atomic_write(os.path.join(run_dir, "aggregate.csv"), to_csv(agg))
  atomic_write(os.path.join(run_dir, "dense.csv"), to_csv(dense_rows))
  atomic_write(os.path.join(run_dir, "dense_oracle.csv"), to_csv(oracle_rows))
  return run_dir, rows, dense_rows, oracle_rows


def load_arrays(run_dir: str) -> dict:
  """Per-run arrays of every chunk ({"cells/<key>", "dense/<key>", "masks"}), concatenated
  in the order of the rows that run_sweep returns."""
  parts: dict = {}
  for name in sorted(os.listdir(os.path.join(run_dir, "chunks"))):
    if name.endswith(".json"):
      path = os.path.join(run_dir, "trajectories", name[:-5] + ".npz")
      try:
        with np.load(path) as z:
          for k in z.files:
            parts.setdefault(k, []).append(z[k])
      except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise RunFileError(f"run file error: cannot read {path}: {e}") from None
  out = {}
  for k, v in parts.items():
    if len({a.shape[1:] for a in v}) == 1:
      out[k] = np.concatenate(v)
    else:                         # groups of different shapes (e.g. H): one entry per run
      out[k] = np.empty(sum(len(a) for a in v), object)
      out[k][:] = [x for a in v for x in a]
  return out


def summary(rows: list[dict], dense_rows: list[dict]) -> str:
  """Text table: per group × embedding × method × density × rewind, mean ± sd (ddof 1)
  over the non-diverged seeds; `n` runs averaged and `div` diverged runs left out."""
  fmt = lambda v, p=3: "  nan" if v is None else f"{v:.{p}f}"
  lines = []
  for d in aggregate(dense_rows, ("group", "embedding")):
    lines.append(f"{d['group']} {d['embedding']:<13} dense acc {fmt(d['dense_acc_mean'])} ± "
                 f"{fmt(d['dense_acc_sd'])}  dense 4P {fmt(d['dense_4P_mean'], 1)} 3N1P "
                 f"{fmt(d['dense_3N1P_mean'], 1)}  (θ0: 4P {fmt(d['init_4P_mean'], 1)} 3N1P "
                 f"{fmt(d['init_3N1P_mean'], 1)}; decoy 4P {fmt(d['decoy_dense_4P_mean'], 1)})"
                 f"  n={d['n']}" + (f"  DIVERGED: {d['n_diverged']} of {d['n_seeds']} (left "
                                    "out)" if d["n_diverged"] else ""))
  head = (f"{'group':<8} {'embedding':<13} {'method':<20} {'dens':>5} {'rewind':<6} "
          f"{'masked':>6} {'sparse acc':>13} {'4P':>5} {'(θ0)':>5} {'3N1P':>5} {'(θ0)':>5} "
          f"{'dec4P':>5} {'ssr4P':>6} {'fam4P':>6} {'n':>3} {'div':>3}")
  lines += ["", head, "-" * len(head)]
  for a in aggregate(rows):
    lines.append(
        f"{a['group']:<8} {a['embedding']:<13} {a['method']:<20} {a['density']:>5} "
        f"{a['rewind']:<6} {fmt(a['masked_acc_mean']):>6} "
        f"{fmt(a['sparse_acc_mean'])}±{fmt(a['sparse_acc_sd'])} {fmt(a['sparse_4P_mean'], 1):>5} "
        f"{fmt(a['chance_4P_mean'], 1):>5} {fmt(a['sparse_3N1P_mean'], 1):>5} "
        f"{fmt(a['chance_3N1P_mean'], 1):>5} {fmt(a['decoy_sparse_4P_mean'], 1):>5} "
        f"{fmt(a['same_site_recall_4P_mean'], 2):>6} "
        f"{fmt(a['family_recall_4P_mean'], 2):>6} {a['n']:>3} {a['n_diverged']:>3}")
  return "\n".join(lines)
