"""Main job: Hadamard, RandomFixed, Learned × methods × densities × rewind (probe, fresh).

  python -m experiments.sweep --config=configs/embedding_sweep.py
  python -m experiments.sweep --config=configs/embedding_sweep.py:full   # paper scale, GPU
  python -m experiments.sweep --config=configs/embedding_sweep.py --config.quick=True
"""
from toyticket.config import base_config
from toyticket.methods import for_task


def get_config(arg: str = ""):
  c = base_config()
  c.name = "embedding_sweep"
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.methods = for_task("clause")
  c.figures = ("methods", "recall", "near_code")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe", "fresh")
  c.seeds = (0, 1, 2, 3)
  if arg not in ("", "full"):
    raise ValueError(f"unknown argument {arg!r}; allowed: full")
  if arg == "full":
    c.seeds = tuple(range(32))
    c.train.epochs = 50
  return c
