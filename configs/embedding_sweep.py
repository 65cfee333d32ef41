"""Main job: Hadamard, RandomFixed, Learned × methods × densities × rewind (probe, fresh).

  python -m experiments.sweep --config=configs/embedding_sweep.py
  python -m experiments.sweep --config=configs/embedding_sweep.py:full   # paper scale, GPU
  python -m experiments.sweep --config=configs/embedding_sweep.py --config.quick=True
  python -m experiments.sweep --config=configs/embedding_sweep.py:replicate  # claims 17-18

`:replicate` (`make replicate`, once per data seed): the three embeddings, density 0.25,
probe and fresh rewinds, the oracle, random, the feature-space rules with the
state-adaptive one and the six weight-space baselines of the claims, 32 seeds (× 3 data
seeds = 96 per embedding).
"""
from toyticket.run.config import base_config
from toyticket.discovery.methods import for_task


def get_config(arg: str = ""):
  c = base_config()
  c.name = "embedding_sweep"
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.methods = for_task("clause")
  c.figures = ("methods", "recall", "near_code")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe", "fresh")
  c.seeds = (0, 1, 2, 3)
  if arg not in ("", "full", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: full, replicate")
  if arg == "full":
    c.seeds = tuple(range(32))
    c.train.epochs = 50
  if arg == "replicate":   # only the cells replication.CLAIMS read
    c.methods = ("oracle", "random", "static", "dynamic", "combined", "static_adaptive",
                 "init_magnitude", "checkpoint_magnitude", "snip", "grasp", "synflow",
                 "earlybird")
    c.densities, c.seeds = (0.25,), tuple(range(32))
  return c
