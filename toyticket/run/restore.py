"""Restoring the dense runs of a finished sweep (`restore_from`), so a new sweep with the
same task, model and training skips dense training and only reruns discovery onward."""
from __future__ import annotations

import json
import os

import ml_collections
import numpy as np

from toyticket.core import identity, usercode
from toyticket.run import checkpoints
from toyticket.run.config import ConfigError
from toyticket.run.grid import ModelGroup
from toyticket.core.files import read_json

MUST_MATCH = ("data_seed", "task", "model", "train", "user")   # fields that decide a dense run


def load(src: str, cfg: ml_collections.ConfigDict, user_code: dict | None = None) -> dict:
  """{(group id, embedding, seed): {"dense_traj", "dense_losses"}} from run dir `src`.

  Raises CheckpointError (one line) if src is not a run dir or a file of it is damaged,
  ConfigError if a MUST_MATCH field differs from cfg."""
  cfg_path = os.path.join(src, "config.json")
  if not os.path.isfile(cfg_path):
    raise checkpoints.CheckpointError(f"checkpoint error: restore_from={src!r} is not a run "
                                      "directory (no config.json)")
  src_cfg = read_json(cfg_path, checkpoints.CheckpointError)
  plain = lambda v: json.loads(json.dumps(v.to_dict() if hasattr(v, "to_dict") else v))
  for field in MUST_MATCH:
    if not isinstance(src_cfg, dict) or field not in src_cfg:
      raise checkpoints.CheckpointError(f"checkpoint error: {cfg_path} is damaged (no "
                                        f"field {field!r})")
    if plain(src_cfg[field]) != plain(cfg[field]):
      name, ours, theirs = _first_difference(field, plain(cfg[field]), plain(src_cfg[field]))
      raise ConfigError(name, ours, f"the restored run's value {theirs!r}")
  prov = src_cfg.get("provenance")
  src_version = prov.get("code_version", "unknown") if isinstance(prov, dict) else "unknown"
  src_user = prov.get("user_code") if isinstance(prov, dict) else None
  if os.path.basename(os.path.normpath(src)) not in {   # as this or an older toyticket named it
      identity.run_id(src_cfg, str(src_version), src_user, not_hashed)
      for not_hashed in (identity.NOT_HASHED, identity.NOT_HASHED_BEFORE_2026_12_06)}:
    raise checkpoints.CheckpointError(   # an edited config.json would relabel its runs
        f"checkpoint error: {cfg_path} does not hash to its run id "
        f"{os.path.basename(os.path.normpath(src))!r} (edited, or the directory renamed)")
  if src_version != identity.code_version() and not cfg.get("restore_any_version", False):
    raise ConfigError("restore_from", src, f"a run made by this code version "
                      f"{identity.code_version()} (it was made by {src_version}; set "
                      "--config.restore_any_version=True to restore it anyway)")
  ours = usercode.source_digest(cfg.to_dict()) if user_code is None else user_code
  code = lambda d: {k: v for k, v in (d or {}).items() if k != identity.PLACEMENT}
  if code(src_user) != code(ours) and not cfg.get("restore_any_version", False):
    raise ConfigError("restore_from", src, "a run made with the same user code (its model or "
                      "data file has changed since; set --config.restore_any_version=True "
                      "to restore it anyway)")
  table = {}
  chunk_dir = os.path.join(src, "chunks")
  for name in sorted(os.listdir(chunk_dir)) if os.path.isdir(chunk_dir) else []:
    if not name.endswith(".json"):
      continue
    path = os.path.join(chunk_dir, name)
    meta = read_json(path, checkpoints.CheckpointError)
    if not isinstance(meta, dict) or not {"group", "dense_runs"} <= set(meta):
      raise checkpoints.CheckpointError(f"checkpoint error: {path} is damaged")
    ck = checkpoints.restore(os.path.join(src, "checkpoints", name[:-5]))
    for i, (emb, seed) in enumerate(meta["dense_runs"]):
      table[(meta["group"], emb, seed)] = {
          "dense_traj": {k: v[i] for k, v in ck["dense_traj"].items()},
          "dense_losses": ck["dense_losses"][i]}
  return table


def _first_difference(name: str, ours, theirs) -> tuple:
  """(dotted field, our value, their value) of the first leaf where two config values
  differ, so the error names `train.lr`, not two whole `train` dicts."""
  if isinstance(ours, dict) and isinstance(theirs, dict):
    for k in sorted(set(ours) | set(theirs)):
      if ours.get(k, "(missing)") != theirs.get(k, "(missing)"):
        return _first_difference(f"{name}.{k}", ours.get(k, "(missing)"),
                                 theirs.get(k, "(missing)"))
  return name, ours, theirs


def check_complete(table: dict, plan: list) -> None:
  """CheckpointError naming the first dense run of `plan` that `table` lacks (checked
  before anything is written)."""
  for g, block in plan:
    missing = [g.dense[r] for r in block if (g.gid, *g.dense[r]) not in table]
    if missing:
      raise checkpoints.CheckpointError(
          f"checkpoint error: restore_from has no dense run {missing[0]} in {g.gid}")


def pick(table: dict | None, g: ModelGroup, block: list[int]) -> dict | None:
  """The restored dense runs of `block`, stacked ((R, ...) leaves), or None."""
  if table is None:
    return None
  runs = [table[(g.gid, *g.dense[r])] for r in block]
  return {"dense_traj": {k: np.stack([r["dense_traj"][k] for r in runs])
                         for k in runs[0]["dense_traj"]},
          "dense_losses": np.stack([r["dense_losses"] for r in runs])}
