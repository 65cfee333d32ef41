"""One call loads a run's network: its params at any saved epoch, its mask, its config and
its result row, without knowing the checkpoint layout.

  net = load_network(run_dir, cell=j)              # sparse run j (metrics.csv row j): its
                                                   # mask and sparse-final params
  net = load_network(run_dir, cell=j, epoch=0)     # the same mask on its dense run's θ0
  net = load_network(run_dir, dense=i, epoch=3)    # dense run i (dense.csv row i), epoch 3

Rows are numbered as in metrics.csv / dense.csv (`Run.rows`, `Run.dense_rows`). A chunk's
checkpoint holds every dense epoch of its dense runs, the masks and the sparse-final params
(`sweep.checkpoint_tree`), each checked against its checksum on reading.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from toyticket.core import files, rundir
from toyticket.run import checkpoints


@dataclasses.dataclass(frozen=True)
class Network:
  """params: {leaf: numpy array} of one network (the family's leaves, e.g. C0, W1, b1, W2,
  b2); mask: its 0/1 mask of the prunable leaf (None for a dense network); epoch: the dense
  epoch the params are from (None: the sparse final); row: its result row; config: the
  run's config.json (with provenance)."""
  params: dict
  mask: np.ndarray | None
  epoch: int | None
  row: dict
  config: dict


def _locate(run_dir: str, table: str, index: int) -> tuple[str, int, dict]:
  """(chunk name, index inside the chunk, row) of row `index` of table "cells" or "dense"."""
  chunks = rundir.verified_chunks(run_dir)
  total = sum(len(meta[table]) for _, meta in chunks)
  if (isinstance(index, bool) or not isinstance(index, (int, np.integer))
      or not -total <= index < total):
    raise IndexError(f"{'cell' if table == 'cells' else 'dense'}={index!r} is not a row of "
                     f"{run_dir} (it has {total}; rows are numbered from 0 as in its CSV)")
  index = int(index) % total
  for name, meta in chunks:
    if index < len(meta[table]):
      return name, index, meta[table][index]
    index -= len(meta[table])
  raise AssertionError("unreachable")


def load_network(run_dir: str, cell: int | None = None, dense: int | None = None,
                 epoch: int | None = None) -> Network:
  """The network of sparse run `cell` or dense run `dense` (exactly one given) of a finished
  run directory. epoch None: a sparse run's final params, a dense run's last epoch; an int:
  the dense run's params at that epoch (0 = θ0; negative counts from the end), with the
  cell's mask for a sparse run. Raises RunFileError / CheckpointError (one line) for a
  damaged run, IndexError / ValueError for a row or epoch the run does not have."""
  if (cell is None) == (dense is None):
    raise ValueError("give exactly one of cell= (a metrics.csv row) or dense= (a dense.csv row)")
  cfg = files.read_json(os.path.join(run_dir, "config.json"))
  name, j, row = _locate(run_dir, "cells" if cell is not None else "dense",
                         cell if cell is not None else dense)
  tree = checkpoints.restore(os.path.join(run_dir, "checkpoints", name))
  if cell is not None:
    dense_runs = [tuple(r) for r in rundir.read_json(
        os.path.join(run_dir, "chunks", name + ".json"))["dense_runs"]]
    i = dense_runs.index((row["embedding"], row["seed"]))
  else:
    i = j
  traj = {k: v[i] for k, v in tree["dense_traj"].items()}          # (E+1, ...) per leaf
  n_epochs = next(iter(traj.values())).shape[0]
  if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer))
                            or not -n_epochs <= epoch < n_epochs):
    raise ValueError(f"epoch={epoch} is not saved: the run has dense epochs 0..{n_epochs - 1}")
  mask = None if cell is None else np.asarray(tree["masks"][j])
  if cell is not None and epoch is None:
    params = {k: np.asarray(v[j]) for k, v in tree["sparse_final"].items()}
  else:
    e = n_epochs - 1 if epoch is None else epoch % n_epochs
    params = {k: np.asarray(v[e]) for k, v in traj.items()}
    epoch = e
  return Network(params, mask, epoch, row, cfg)
