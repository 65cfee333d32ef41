"""Orbax checkpoints of batched runs, written atomically, restored with clear errors.

A chunk's checkpoint holds its dense trajectories (every epoch, so any rewind point and any
trajectory-based discovery method can be recomputed), dense losses, the sparse masks and
the sparse-final params, all with the run axis leading.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp

from toyticket.core import files
from toyticket.core.errors import CheckpointError  # noqa: F401  (raised here; one-line message)


def _checkpointer() -> ocp.StandardCheckpointer:
  """An orbax checkpointer for this process alone: checkpoints hold host (numpy) arrays and
  are written by process 0 only, so no barrier with other processes is wanted."""
  me = jax.process_index()
  return ocp.StandardCheckpointer(multiprocessing_options=ocp.options.MultiprocessingOptions(
      primary_host=me, active_processes={me}))


def checksum(tree) -> str:
  """sha256 over every leaf's path, dtype, shape and bytes, in pytree order."""
  h = hashlib.sha256()
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    a = np.ascontiguousarray(np.asarray(leaf))
    h.update(f"{jax.tree_util.keystr(path)}|{a.dtype.str}|{a.shape}".encode())
    h.update(a.tobytes())
  return h.hexdigest()


file_digests = files.file_digests   # {path relative to root: sha256} of every file


def save(path: str, tree) -> None:
  """Writes `tree` to `path` via a temporary sibling directory and one rename, with
  checksum.json: the sha256 of every file orbax wrote ("files", checked BEFORE orbax reads
  them, so a damaged file never reaches orbax's reader threads) and of the content
  ("sha256", checked after reading). A failed write (a full disk: orbax raises its own
  error types) leaves nothing and raises OSError or CheckpointError naming `path`."""
  path = os.path.abspath(path)
  tmp = path + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tree = jax.tree.map(np.asarray, tree)
  try:
    with _checkpointer() as ckptr:
      ckptr.save(os.path.join(tmp, "state"), tree)
      ckptr.wait_until_finished()
    with open(os.path.join(tmp, "checksum.json"), "w") as f:
      json.dump({"sha256": checksum(tree),
                 "files": file_digests(os.path.join(tmp, "state"))}, f)
  except BaseException as e:    # disk full, interrupt: leave no half-written sibling
    shutil.rmtree(tmp, ignore_errors=True)
    if isinstance(e, OSError) and not e.filename:
      raise OSError(e.errno, e.strerror or str(e), path) from None
    if isinstance(e, Exception) and not isinstance(e, OSError):   # orbax / tensorstore
      raise CheckpointError(f"checkpoint error: cannot write {path}: "
                            f"{(str(e).splitlines() or [type(e).__name__])[0][:160]}") from None
    raise
  shutil.rmtree(path, ignore_errors=True)
  os.replace(tmp, path)


def restore(path: str):
  """The pytree saved at `path` (numpy arrays). Raises CheckpointError (one line) if it is
  missing, has no readable checksum.json, a file differs from its recorded digest, orbax
  cannot read it, or the content differs from its checksum."""
  path = os.path.abspath(path)
  state = os.path.join(path, "state")
  if not os.path.isdir(state):
    raise CheckpointError(f"checkpoint error: no checkpoint at {path}")
  try:
    with open(os.path.join(path, "checksum.json")) as f:
      sums = json.load(f)
    want, files = sums["sha256"], sums["files"]
  except (OSError, ValueError, KeyError, TypeError):
    raise CheckpointError(f"checkpoint error: {path} has no readable checksum.json "
                          "(damaged, or written by an older version)") from None
  if file_digests(state) != files:
    raise CheckpointError(f"checkpoint error: {path} is damaged (its files do not match "
                          "checksum.json)")
  try:
    with _checkpointer() as ckptr:
      tree = ckptr.restore(state)
  except Exception as e:  # orbax/tensorstore raise many types; report one line
    error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise CheckpointError(f"checkpoint error: cannot read {path}: {error[:160]}") from None
  tree = jax.tree.map(np.asarray, tree)
  if checksum(tree) != want:
    raise CheckpointError(f"checkpoint error: {path} is damaged (content does not match "
                          "its checksum)")
  return tree
