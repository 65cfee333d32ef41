"""One representative ticket cycle (paper figs 1–2): dense, oracle mask, masked-no-retrain,
rewind, sparse; W1 and C1 heat maps with exact 4P/3N1P boxes.

  python -m experiments.sweep --config=configs/ticket_cycle.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "ticket_cycle"
  c.embeddings = ("hadamard",)
  c.seeds = (0,)
  c.methods = ("oracle", "random")
  c.densities = (0.5,)
  c.rewinds = ("init", "probe")
  c.figures = ("ticket_cycle", "feature_support", "methods")
  return c
