import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Tests run tiny programs: compile with LLVM -O0 (halves compile time; every comparison in
# the suite is between runs made under the same flags). Subprocesses inherit it.
FAST_COMPILE = "--xla_backend_optimization_level=0"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + FAST_COMPILE).strip()

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402

from toyticket.run import config, grid  # noqa: E402


def tiny_config(**over):
  """A seconds-scale config: n=d=H=8, m=4, 3 epochs, 256 examples."""
  c = config.base_config()
  c.name = "tiny"
  c.seeds = (0, 1)
  c.task.n, c.task.m, c.task.n_train, c.task.n_test = 8, 4, 256, 128
  c.model.d, c.model.hidden = 8, 8
  c.train.epochs, c.train.batch_size, c.train.lr = 3, 32, 0.1
  c.probe_epochs = (1,)
  c.embeddings = ("hadamard", "learned")
  c.methods = ("oracle", "random")
  c.densities = (0.5, 0.25)
  c.rewinds = ("probe", "fresh")
  c.discovery.score_examples = 64
  c.discovery.synflow_iters = 4
  for k, v in over.items():
    c[k] = v
  return c


@pytest.fixture(scope="session")
def tiny():
  return tiny_config()


@pytest.fixture(scope="session")
def tiny_group(tiny):
  return grid.groups(tiny)[0]


@pytest.fixture(scope="session", autouse=True)
def _cli_server():
  """Starts this worker's CLI fork server (`zygote`) at its first test, so that its imports
  overlap the in-process tests before the first CLI run."""
  import zygote
  zygote.start()
  yield
