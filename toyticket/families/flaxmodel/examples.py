"""Example user code for the "flax" family (`configs/byo_flax.py`): what a researcher
writes to bring a model and a task. Any module and data function with these signatures
works; name them in the config as "package.module:name" or "path/to/file.py:name".

  clause_mlp / clause_data  the built-in clause model written as a flax module, on the
                            clause world (n = 16, m = 8 clauses of k = 4): the same
                            function as `toyticket.families.clause.model` (its parameter
                            layout too), so the two paths can be compared
                            (tests/test_flax_family.py).
  mlp / quadrants           a two-hidden-layer MLP (flax `nn.Dense`) on a 4-class task:
                            x ~ N(0, I_12), class = 2·[u·x > 0] + [v·x > 0] for two fixed
                            random directions u, v.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class ClauseMLP(nn.Module):
  """logits = W2 relu(((W1 ⊙ M) C0) x + b1) + b2: the clause model (`clause.model.apply`),
  params C0 (d, n), W1 (hidden, d), b1, W2 (n_out, hidden), b2 with its initialisers
  (C0 ~ N(0, 1/d) like a learned embedding; the mask is applied to W1 by the cycle)."""
  hidden: int
  n_out: int
  d: int = 16

  @nn.compact
  def __call__(self, x):
    n = x.shape[-1]
    normal = lambda scale: (lambda key, shape: jax.random.normal(key, shape) * scale)
    c0 = self.param("C0", normal(1.0 / np.sqrt(self.d)), (self.d, n))
    w1 = self.param("W1", normal(np.sqrt(2.0 / self.d)), (self.hidden, self.d))
    b1 = self.param("b1", nn.initializers.zeros, (self.hidden,))
    w2 = self.param("W2", normal(np.sqrt(1.0 / self.hidden)), (self.n_out, self.hidden))
    b2 = self.param("b2", nn.initializers.zeros, (self.n_out,))
    c1 = w1 @ c0
    h = jax.nn.relu(x @ c1.T + b1)
    return h @ w2.T + b2


def clause_mlp(hidden: int, n_out: int) -> nn.Module:
  return ClauseMLP(hidden, n_out)


def clause_data(seed: int, n_train: int, n_test: int) -> dict:
  """The clause world of the default config (n = 16, m = 8, k = 4, DNF, positive)."""
  from toyticket.families.clause import task
  tk = task.make_task(seed, 16, 8, 4, "dnf", "positive", n_train, n_test)
  return {k: getattr(tk, k) for k in ("x_train", "y_train", "x_test", "y_test")}


class MLP(nn.Module):
  """Two hidden layers of `hidden` units (relu), then n_out logits."""
  hidden: int
  n_out: int

  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Dense(self.hidden)(x))
    x = nn.relu(nn.Dense(self.hidden)(x))
    return nn.Dense(self.n_out)(x)


def mlp(hidden: int, n_out: int) -> nn.Module:
  return MLP(hidden, n_out)


def quadrants(seed: int, n_train: int, n_test: int) -> dict:
  """4 classes from the signs of two fixed random projections of x ~ N(0, I_12)."""
  rng = np.random.default_rng((seed, 7))
  u, v = rng.standard_normal((2, 12))

  def draw(n):
    x = rng.standard_normal((n, 12)).astype(np.float32)
    return x, (2 * (x @ u > 0) + (x @ v > 0)).astype(np.int32)

  (xa, ya), (xb, yb) = draw(n_train), draw(n_test)
  return {"x_train": xa, "y_train": ya, "x_test": xb, "y_test": yb}
