"""Orbax checkpoints of batched runs, written atomically, restored with clear errors.

A chunk's checkpoint holds its dense trajectories (every epoch, so any rewind point and any
trajectory-based discovery method can be recomputed), dense losses, the sparse masks and
the sparse-final params, all with the run axis leading.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time

import jax
import numpy as np
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """An unreadable, missing or mismatched checkpoint (one-line message)."""


def checksum(tree) -> str:
  """sha256 over every leaf's path, dtype, shape and bytes, in pytree order."""
  h = hashlib.sha256()
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    a = np.ascontiguousarray(np.asarray(leaf))
    h.update(f"{jax.tree_util.keystr(path)}|{a.dtype.str}|{a.shape}".encode())
    h.update(a.tobytes())
  return h.hexdigest()


def save(path: str, tree) -> None:
  """Writes `tree` to `path` via a temporary sibling directory and one rename, with a
  checksum of its content (checksum.json) that `restore` verifies."""
  path = os.path.abspath(path)
  tmp = path + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  tree = jax.tree.map(np.asarray, tree)
  try:
    with ocp.StandardCheckpointer() as ckptr:
      ckptr.save(os.path.join(tmp, "state"), tree)
      ckptr.wait_until_finished()
    with open(os.path.join(tmp, "checksum.json"), "w") as f:
      json.dump({"sha256": checksum(tree)}, f)
  except BaseException:       # disk full, interrupt: leave no half-written sibling
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  shutil.rmtree(path, ignore_errors=True)
  os.replace(tmp, path)


@contextlib.contextmanager
def _stderr_silenced():
  """Points file descriptor 2 at /dev/null for the duration (for noisy library threads)."""
  saved = os.dup(2)
  with open(os.devnull, "w") as null:
    os.dup2(null.fileno(), 2)
    try:
      yield
    finally:
      os.dup2(saved, 2)
      os.close(saved)


def restore(path: str):
  """The pytree saved at `path` (numpy arrays). Raises CheckpointError if unreadable."""
  path = os.path.abspath(path)
  if not os.path.isdir(os.path.join(path, "state")):
    raise CheckpointError(f"checkpoint error: no checkpoint at {path}")
  ckptr = ocp.StandardCheckpointer()
  error = None
  with _stderr_silenced():
    try:
      tree = ckptr.restore(os.path.join(path, "state"))
    except Exception as e:  # orbax/tensorstore raise many types; report one line
      error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
      time.sleep(0.3)       # orbax's worker threads print tracebacks after a failed read
  if error is not None:
    raise CheckpointError(f"checkpoint error: cannot read {path}: {error[:160]}")
  ckptr.close()
  tree = jax.tree.map(np.asarray, tree)
  try:
    with open(os.path.join(path, "checksum.json")) as f:
      want = json.load(f)["sha256"]
  except (OSError, ValueError, KeyError, TypeError):
    raise CheckpointError(f"checkpoint error: {path} has no readable checksum.json "
                          "(damaged, or written by an older version)") from None
  if checksum(tree) != want:
    raise CheckpointError(f"checkpoint error: {path} is damaged (content does not match "
                          "its checksum)")
  return tree
