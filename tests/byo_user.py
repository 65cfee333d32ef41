"""User code for the "flax" family's tests, named by file path in their configs
("tests/byo_user.py:name"), as a researcher's own module would be."""
from __future__ import annotations

import flax.linen as nn
import numpy as np

from toyticket.families.clause import task
from toyticket.families.flaxmodel.examples import ClauseMLP


def clause_mlp(hidden: int, n_out: int) -> nn.Module:
  """The clause model (d = 8) as a flax module."""
  return ClauseMLP(hidden, n_out, d=8)


def tiny_clause(seed: int, n_train: int, n_test: int) -> dict:
  """The tiny test config's clause world (n = 8, m = 4, k = 4)."""
  tk = task.make_task(seed, 8, 4, 4, "dnf", "positive", n_train, n_test)
  return {k: getattr(tk, k) for k in ("x_train", "y_train", "x_test", "y_test")}


class Tower(nn.Module):
  """Not the clause model: Dense → LayerNorm → tanh → Dense → n_out outputs."""
  hidden: int
  n_out: int

  @nn.compact
  def __call__(self, x):
    h = nn.Dense(self.hidden, name="inp")(x)
    h = nn.tanh(nn.LayerNorm(name="norm")(h))
    return nn.Dense(self.n_out, name="out")(h)


def tower(hidden: int, n_out: int) -> nn.Module:
  return Tower(hidden, n_out)


def waves(seed: int, n_train: int, n_test: int) -> dict:
  """Regression: x ~ U[−1, 1]^6, y = (sin(π u·x), cos(π v·x)) for fixed random u, v."""
  rng = np.random.default_rng((seed, 11))
  u, v = rng.standard_normal((2, 6)) / np.sqrt(6)

  def draw(n):
    x = rng.uniform(-1, 1, (n, 6)).astype(np.float32)
    return x, np.stack([np.sin(np.pi * x @ u), np.cos(np.pi * x @ v)], 1).astype(np.float32)

  (xa, ya), (xb, yb) = draw(n_train), draw(n_test)
  return {"x_train": xa, "y_train": ya, "x_test": xb, "y_test": yb}


def strings(seed: int, n_train: int, n_test: int) -> dict:
  """Not numbers."""
  d = waves(seed, n_train, n_test)
  return {**d, "x_train": d["x_train"].astype(str)}


def narrow(hidden: int, n_out: int) -> nn.Module:
  """One output whatever n_out is."""
  return Tower(hidden, 1)
