"""The clause world (SPEC §1): n Boolean variables, m conjunctive clauses of width k.

Data come from a *data seed* only, so every model seed and model size sees the same task.
Balanced sampling: with probability 1/2 one uniformly chosen clause is planted (its
literals satisfied); every other variable is Bernoulli(1/2).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from toyticket.core import prng

TARGETS = ("dnf", "clauses")
POLARITIES = ("positive", "random")


@dataclasses.dataclass(frozen=True)
class Task:
  """A clause set and its finite train/test data (numpy, float32 inputs in {0,1}).

  clause_vars: (m, k) int32 variable indices, distinct within a clause.
  clause_pols: (m, k) float32 literal polarity, +1 (x_j = 1) or -1 (x_j = 0).
  decoy_vars, decoy_pols: (m, k) a null control: clauses of the same number and width
    drawn from the data seed's decoy stream, none with a real clause's variable set; they
    are not in the data, so codes read on them give a floor (`make_decoys`).
  x_*: (N, n) float32; y_*: (N, n_out) float32 with n_out = 1 (dnf) or m (clauses).
  """
  n: int
  m: int
  k: int
  target: str
  clause_vars: np.ndarray
  clause_pols: np.ndarray
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray
  decoy_vars: np.ndarray
  decoy_pols: np.ndarray

  def tables(self) -> dict:
    """What a reader needs of this task without regenerating it (saved in tasks.json):
    the clause and decoy tables as nested lists."""
    return {k: np.asarray(getattr(self, k)).tolist()
            for k in ("clause_vars", "clause_pols", "decoy_vars", "decoy_pols")}

  @property
  def floor_acc(self) -> float:
    """Test accuracy of the best constant classifier: per output the majority label's
    frequency in y_test, averaged over outputs (the chance floor of `model.accuracy`)."""
    p = self.y_test.mean(0)
    return float(np.maximum(p, 1.0 - p).mean())

  @property
  def n_out(self) -> int:
    return 1 if self.target == "dnf" else self.m


def make_clauses(rng: np.random.Generator, n: int, m: int, k: int, polarity: str):
  """Returns (vars (m,k) int32, pols (m,k) float32): k distinct variables per clause and m
  distinct variable sets (a repeated set is drawn again, so a repeated clause cannot count
  its codes twice; a draw without repeats is unchanged). Needs m ≤ C(n, k) (`config`)."""
  if m > math.comb(n, k):
    raise ValueError(f"m={m} distinct clauses of {k} of {n} variables do not exist")
  seen: set = set()
  rows = []
  while len(rows) < m:
    v = np.sort(rng.choice(n, size=k, replace=False))
    if tuple(v.tolist()) not in seen:
      seen.add(tuple(v.tolist()))
      rows.append(v)
  vars_ = np.stack(rows)
  if polarity == "positive":
    pols = np.ones((m, k), np.float32)
  else:
    pols = rng.choice(np.array([-1.0, 1.0], np.float32), size=(m, k))
  return vars_.astype(np.int32), pols.astype(np.float32)


def make_decoys(data_seed: int, n: int, m: int, k: int, polarity: str, real_vars: np.ndarray):
  """(vars (m,k) int32, pols (m,k) float32): m decoy clauses from the stream
  default_rng((data_seed, 1)) (the task's own stream is untouched), each variable set
  distinct from every real clause's and from the other decoys' while C(n, k) allows;
  where it does not, decoys may repeat each other but never a real set if any other exists."""
  rng = np.random.default_rng((data_seed, prng.DECOYS))
  real = {tuple(v) for v in np.sort(real_vars, 1).tolist()}
  n_sets = math.comb(n, k)
  out: list[tuple] = []
  for _ in range(1000 * m):
    if len(out) == m:
      break
    v = tuple(np.sort(rng.choice(n, size=k, replace=False)).tolist())
    if (v in real and len(real) < n_sets) or (v in out and len(real | set(out)) < n_sets):
      continue
    out.append(v)
  vars_ = np.array(out, np.int32).reshape(m, k)
  if polarity == "positive":
    pols = np.ones((m, k), np.float32)
  else:
    pols = rng.choice(np.array([-1.0, 1.0], np.float32), size=(m, k))
  return vars_, pols.astype(np.float32)


def clause_values(x: np.ndarray, vars_: np.ndarray, pols: np.ndarray) -> np.ndarray:
  """(N, m) bool: clause c is satisfied by row x iff x[vars[c]] == (pols[c] > 0)."""
  return np.all(x[:, vars_] == (pols > 0)[None], axis=-1)


def sample_inputs(rng: np.random.Generator, count: int, n: int, vars_: np.ndarray,
                  pols: np.ndarray) -> np.ndarray:
  """(count, n) float32 balanced inputs: half of the rows plant one random clause."""
  x = rng.integers(0, 2, size=(count, n)).astype(np.float32)
  plant = rng.random(count) < 0.5
  which = rng.integers(0, vars_.shape[0], size=count)
  rows = np.nonzero(plant)[0]
  x[rows[:, None], vars_[which[rows]]] = (pols[which[rows]] > 0).astype(np.float32)
  return x


def make_task(data_seed: int, n: int = 16, m: int = 8, k: int = 4, target: str = "dnf",
              polarity: str = "positive", n_train: int = 8192, n_test: int = 4096) -> Task:
  """Deterministic task from data_seed (numpy PCG64): clauses, train set, test set."""
  rng = np.random.default_rng(data_seed)
  vars_, pols = make_clauses(rng, n, m, k, polarity)

  def labelled(count):
    x = sample_inputs(rng, count, n, vars_, pols)
    sat = clause_values(x, vars_, pols)
    y = sat.any(axis=1, keepdims=True) if target == "dnf" else sat
    return x, y.astype(np.float32)

  x_tr, y_tr = labelled(n_train)
  x_te, y_te = labelled(n_test)
  return Task(n, m, k, target, vars_, pols, x_tr, y_tr, x_te, y_te,
              *make_decoys(data_seed, n, m, k, polarity, vars_))
