"""Iterative magnitude pruning (the classic lottery-ticket procedure; issue 20): L = 6
levels pruning 20 % of the remaining W1 each (densities 0.8, 0.64, 0.512, 0.41, 0.328,
0.262), rewinding every level to the probe epoch and to θ0, beside the one-shot oracle and
random masks at the same densities. Hadamard, m = 8, 4 seeds.

  python -m experiments.sweep --config=configs/imp.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "imp"
  c.embeddings = ("hadamard",)
  c.imp.levels = 6
  c.imp.prune_fraction = 0.2
  c.methods = ("oracle", "random")
  c.densities = tuple(round(0.8 ** lvl, 6) for lvl in range(1, 7))
  c.rewinds = ("probe", "init")
  c.figures = ("imp",)
  return c
