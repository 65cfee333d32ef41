"""Orbax checkpoints of batched runs, written atomically, restored with clear errors.

A chunk's checkpoint holds its dense trajectories (every epoch, so any rewind point and any
trajectory-based discovery method can be recomputed), dense losses, the sparse masks and
the sparse-final params, all with the run axis leading.
"""
from __future__ import annotations

import os
import shutil

import jax
import numpy as np
import orbax.checkpoint as ocp


class CheckpointError(RuntimeError):
  """An unreadable, missing or mismatched checkpoint (one-line message)."""


def save(path: str, tree) -> None:
  """Writes `tree` to `path` via a temporary sibling directory and one rename."""
  path = os.path.abspath(path)
  tmp = path + ".tmp"
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with ocp.StandardCheckpointer() as ckptr:
    ckptr.save(os.path.join(tmp, "state"), jax.tree.map(np.asarray, tree))
    ckptr.wait_until_finished()
  shutil.rmtree(path, ignore_errors=True)
  os.replace(tmp, path)


def restore(path: str):
  """The pytree saved at `path` (numpy arrays). Raises CheckpointError if unreadable."""
  path = os.path.abspath(path)
  if not os.path.isdir(os.path.join(path, "state")):
    raise CheckpointError(f"checkpoint error: no checkpoint at {path}")
  try:
    with ocp.StandardCheckpointer() as ckptr:
      tree = ckptr.restore(os.path.join(path, "state"))
  except Exception as e:  # orbax/tensorstore raise many types; report one line
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise CheckpointError(f"checkpoint error: cannot read {path}: {first[:200]}") from None
  return jax.tree.map(np.asarray, tree)
