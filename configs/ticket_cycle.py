"""The representative ticket cycle (paper figs 1–2) in the paper's regime: m = 8 clauses
(dense accuracy ≈ 0.977), density 0.25 (75 % sparsity) with 0.5 beside it, 8 seeds; the
figures follow the seed whose masked-no-retrain accuracy is the median
(`results.representative`), not seed 0. Dense, oracle mask, masked-no-retrain, rewind,
sparse; W1 and C1 heat maps with exact 4P/3N1P boxes.

  python -m experiments.sweep --config=configs/ticket_cycle.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "ticket_cycle"
  c.embeddings = ("hadamard",)
  c.seeds = tuple(range(8))
  c.methods = ("oracle", "random", "init_magnitude")
  c.densities = (0.25, 0.5)
  c.rewinds = ("init", "probe")
  c.figures = ("ticket_cycle", "feature_support", "methods")
  return c
