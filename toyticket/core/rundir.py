"""A sweep's run directory: its paths, atomic files, chunk bookkeeping (numpy only).

Layout: <workdir>/<config name>/<run id>/ with run id = hash of the resolved config's
result-changing fields (`run_id`), holding

  config.json                      the config as it ran, plus "provenance"
  chunks/<chunk>.json              the chunk's rows, written LAST: a chunk is done iff it
                                   exists and every file below is intact
  trajectories/<chunk>.npz         per-run arrays ("dense/<key>", "cells/<key>", "masks")
  checkpoints/<chunk>/             orbax: dense trajectories, losses, masks, sparse finals
  metrics.json, metrics.csv, aggregate.csv, dense.csv, dense_oracle.csv, paired.csv,
  summary.txt
  figures/*.png

with <chunk> = f"{group id}-{hash of its dense runs}" (`chunk_id`): a chunk is named by its
content (another chunking, `max_cells_per_chunk`, is another run id: it can round
differently). `plan.json` lists the current plan's chunks in row order; readers
(`load_arrays`) follow it, so no chunk file beside them is ever read twice. Every file is
written to a temporary name and renamed, so
an interrupted sweep leaves only whole files, and a re-run skips the chunks that are done;
a chunk's rows carry the sha256 of themselves and of its arrays, and its checkpoint the
sha256 of every file, all verified before a chunk is reused.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile

import numpy as np

from toyticket.core import errors, usercode
from toyticket.core.files import (_file_digest, _json_digest, atomic_write, file_digests,
                                  read_json, save_npz, to_csv)
from toyticket.core.identity import provenance, run_id

SUBDIRS = ("chunks", "trajectories", "checkpoints", "figures")
TABLES = ("metrics.csv", "aggregate.csv", "dense.csv", "dense_oracle.csv", "paired.csv",
          "sae.csv")
OPTIONAL = ("dense_oracle.csv", "sae.csv")   # written only when they have rows (a TMS sweep
                                             # has no oracle-supported sites; SAEs are opt-in)


RunFileError = errors.RunFileError   # raised here; one line naming the file


class RunDirBusy(RuntimeError):
  """Another process holds the run directory's lock (one-line message)."""


_HELD: set = set()


@contextlib.contextmanager
def locked(path: str):
  """Holds an exclusive lock on <path>/.lock (fcntl.flock: released by the kernel when the
  process ends, even by SIGKILL, so a lock is never stale) for the duration; re-entrant
  within a process. Raises RunDirBusy at once if another process holds it. If the run
  ends with nothing written beside the lock, the lock and every directory this call
  created are removed again (a run refused after locking leaves nothing)."""
  import fcntl
  key = os.path.abspath(path)
  if key in _HELD:
    yield
    return
  made = _missing_dirs(key)
  os.makedirs(path, exist_ok=True)
  fd = os.open(os.path.join(path, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
      raise RunDirBusy(f"run directory busy: {path} is being computed by process {owner}; "
                       "wait for it to finish (its finished chunks are then reused)") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _HELD.add(key)
    try:
      yield
    finally:
      _HELD.discard(key)
  finally:
    os.close(fd)
    if made and os.listdir(key) == [".lock"]:     # nothing written: leave nothing behind
      os.remove(os.path.join(key, ".lock"))
      for d in made:                              # deepest first, only if still empty
        with contextlib.suppress(OSError):
          os.rmdir(d)


def _missing_dirs(path: str) -> list:
  """The directories of `path` (itself included) that do not exist yet, deepest first."""
  out = []
  while path and not os.path.exists(path):
    out.append(path)
    parent = os.path.dirname(path)
    if parent == path:
      break
    path = parent
  return out


class RunDir:
  """Paths and files of one run directory."""

  def __init__(self, path: str):
    self.path = path

  @staticmethod
  def path_for(workdir: str, cfg_dict: dict, user_code: dict | None = None) -> str:
    """<workdir>/<name>/<run id>; user_code: the run's content identity beyond the config
    and toyticket's code (`identity.run_id`; None: the source files the config names)."""
    return os.path.join(workdir, cfg_dict["name"], run_id(cfg_dict, user_code=user_code))

  @classmethod
  def create(cls, workdir: str, cfg_dict: dict, user_code: dict | None = None) -> "RunDir":
    """<workdir>/<name>/<run id>/ with its sub-folders and config.json: the config's
    fields plus "provenance" (`provenance()`, and `user_code`: the content identity in
    the run id)."""
    rd = cls(cls.path_for(workdir, cfg_dict, user_code))
    for sub in SUBDIRS:
      os.makedirs(os.path.join(rd.path, sub), exist_ok=True)
    user_code = usercode.source_digest(cfg_dict) if user_code is None else user_code
    prov, old = {**provenance(), "user_code": user_code}, None
    if os.path.exists(rd.file("config.json")):     # a resume: keep who made it
      made = read_json(rd.file("config.json"))
      old = made.get("provenance") if isinstance(made, dict) else None
      if not isinstance(old, dict):                # never overwrite who made it
        raise RunFileError(f"run file error: {rd.file('config.json')} is damaged (no "
                           "provenance); restore it, or move the run directory away")
    if isinstance(old, dict):
      resumed = list(old.get("resumed", [])) + [{k: prov[k] for k in (
          "git_commit", "git_dirty", "code_version", "command", "utc")}]
      prov = {**old, "resumed": resumed}
    atomic_write(rd.file("config.json"),
                 json.dumps({**cfg_dict, "provenance": prov}, indent=1))
    return rd

  def file(self, *parts: str) -> str:
    return os.path.join(self.path, *parts)

  @staticmethod
  def chunk_id(gid: str, dense_runs: list) -> str:
    """The chunk's name from its content: the group and its dense runs (everything else
    that changes a result is in the run id)."""
    key = json.dumps([gid, [list(r) for r in dense_runs]])
    return f"{gid}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

  def chunk_files(self, cid: str) -> dict:
    return {"rows": self.file("chunks", cid + ".json"),
            "arrays": self.file("trajectories", cid + ".npz"),
            "checkpoint": self.file("checkpoints", cid)}

  def chunk_done(self, cid: str, gid: str, dense_runs: list) -> dict | None:
    """The chunk's metadata if it finished, holds exactly the planned group and dense runs,
    and every file of it is intact: the rows match their sha256, the arrays file its
    sha256, the checkpoint every file digest in its checksum.json; None if it must be
    (re)computed."""
    f = self.chunk_files(cid)
    paths = [f["rows"], f["arrays"], os.path.join(f["checkpoint"], "state"),
             os.path.join(f["checkpoint"], "checksum.json")]
    if not all(os.path.exists(p) for p in paths):
      return None
    try:
      with open(f["rows"]) as fh:
        meta = json.load(fh)
      with open(os.path.join(f["checkpoint"], "checksum.json")) as fh:
        files = json.load(fh)["files"]
    except (OSError, ValueError, KeyError, TypeError):
      return None
    keys = {"group", "dense_runs", "cells", "dense", "oracle", "sha256"}
    if not isinstance(meta, dict) or not keys <= set(meta):
      return None
    sums = meta.pop("sha256")
    if (not isinstance(sums, dict) or sums.get("rows") != _json_digest(meta)
        or sums.get("arrays") != _file_digest(f["arrays"])
        or meta["group"] != gid or meta["dense_runs"] != [list(r) for r in dense_runs]):
      return None
    if file_digests(os.path.join(f["checkpoint"], "state")) != files:
      return None
    return meta

  def discard_chunk(self, cid: str) -> bool:
    """Removes a damaged chunk's rows file (its other files are overwritten); True if
    there was one."""
    rows = self.chunk_files(cid)["rows"]
    if os.path.exists(rows):
      os.remove(rows)
      return True
    return False

  def save_chunk(self, cid: str, arrays: dict, meta: dict, save_checkpoint) -> None:
    """Arrays, then the checkpoint (`save_checkpoint(path)`), then the rows: the rows file
    marks the chunk done, so it is written last."""
    f = self.chunk_files(cid)
    arrays_sha = save_npz(f["arrays"], arrays)
    save_checkpoint(f["checkpoint"])
    meta = json.loads(json.dumps(meta))           # as it will read back (tuples → lists)
    sums = {"rows": _json_digest(meta), "arrays": arrays_sha}
    atomic_write(f["rows"], json.dumps({**meta, "sha256": sums}))

  def write_plan(self, chunk_ids: list) -> None:
    """plan.json: the current plan's chunks in row order (what readers read)."""
    atomic_write(self.file("plan.json"), json.dumps({"chunks": list(chunk_ids)}))

  def write_rows(self, cfg_dict: dict, rows: list, dense_rows: list, oracle_rows: list,
                 sae_rows: list = (), tasks: dict | None = None) -> None:
    """What figures read, ahead of the statistics: tasks.json and metrics.json with empty
    "aggregate" and "paired" (`write_tables` then writes everything), so a sweep can start
    drawing while it computes them."""
    self._write_json(cfg_dict, rows, dense_rows, oracle_rows, [], [], sae_rows, tasks,
                     indent=None)       # no indent: json's C encoder, ~2.5× faster

  def _write_json(self, cfg_dict, rows, dense_rows, oracle_rows, agg, paired, sae_rows,
                  tasks, indent) -> None:
    """tasks.json and metrics.json (everything)."""
    atomic_write(self.file("tasks.json"), json.dumps(tasks or {}))
    atomic_write(self.file("metrics.json"), json.dumps(
        {"config": cfg_dict, "runs": rows, "dense": dense_rows, "oracle": oracle_rows,
         "aggregate": agg, "paired": paired, "sae": list(sae_rows)}, indent=indent))

  def write_tables(self, cfg_dict: dict, rows: list, dense_rows: list, oracle_rows: list,
                   agg: list, paired: list, sae_rows: list = (), tasks: dict | None = None
                   ) -> None:
    """metrics.json (everything), one CSV per table (TABLES order; the OPTIONAL ones only
    when they have rows) and tasks.json: per model group, its task's tables (the clause
    world's clauses; `Task.tables`), so readers never regenerate a task."""
    self._write_json(cfg_dict, rows, dense_rows, oracle_rows, agg, paired, sae_rows, tasks,
                     indent=1)
    for name, table in zip(TABLES, (rows, agg, dense_rows, oracle_rows, paired, sae_rows)):
      if table or name not in OPTIONAL:
        atomic_write(self.file(name), to_csv(table))


def plan_chunks(run_dir: str) -> list:
  """The chunk names of the run's current plan in row order (`plan.json`): distinct names
  of chunks that are there, or RunFileError (one line naming the file)."""
  path = os.path.join(run_dir, "plan.json")
  plan = read_json(path)
  names = plan.get("chunks") if isinstance(plan, dict) else None
  if (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
      or len(set(names)) != len(names)):
    raise RunFileError(f"run file error: {path} is damaged (not a list of distinct chunk "
                       "names)")
  missing = [n for n in names if not os.path.isfile(os.path.join(run_dir, "chunks",
                                                                  n + ".json"))]
  if missing:
    raise RunFileError(f"run file error: {path} names chunk {missing[0]!r}, which is not "
                       "in chunks/")
  return names


def verified_chunks(run_dir: str) -> list:
  """[(name, rows)] of every chunk of the plan in order, each chunk's rows checked against
  the sha256 stored with them (RunFileError naming the file if edited or damaged); rows
  is the chunk file without its "sha256" entry (group, dense_runs, cells, dense, ...)."""
  out = []
  for name in plan_chunks(run_dir):
    path = os.path.join(run_dir, "chunks", name + ".json")
    meta = read_json(path)
    sums = meta.pop("sha256", None) if isinstance(meta, dict) else None
    if not isinstance(sums, dict) or sums.get("rows") != _json_digest(meta):
      raise RunFileError(f"run file error: {path} does not match its sha256 (edited or "
                         "damaged)")
    out.append((name, {**meta, "sha256": sums}))
  return out


def load_arrays(run_dir: str) -> dict:
  """Per-run arrays of every chunk of the current plan ({"cells/<key>", "dense/<key>",
  "masks"}), concatenated in the order of the rows (`plan_chunks`), each file checked
  against the sha256 its chunk's rows hold (`verified_chunks`). Groups of different
  shapes (e.g. two H) give object arrays with one entry per run."""
  parts: dict = {}
  for name, meta in verified_chunks(run_dir):
    path = os.path.join(run_dir, "trajectories", name + ".npz")
    if not os.path.isfile(path) or _file_digest(path) != meta["sha256"].get("arrays"):
      raise RunFileError(f"run file error: {path} is missing or does not match the sha256 "
                         f"in chunks/{name}.json")
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
    else:
      out[k] = np.empty(sum(len(a) for a in v), object)
      out[k][:] = [x for a in v for x in a]
  return out
