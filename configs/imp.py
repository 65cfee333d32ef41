"""Iterative magnitude pruning (the classic lottery-ticket procedure; issue 20): L = 6
levels pruning ceil(20 %) of the remaining W1 each (open_lth's count rule: 204, 163, 130,
104, 83, 66 of 256 entries), rewinding every level to the probe epoch and to θ0, beside the one-shot oracle and
random masks at the same densities. Hadamard, m = 8, 4 seeds.

  python -m experiments.sweep --config=configs/imp.py
"""
from toyticket.run.config import base_config
from toyticket.discovery.methods import imp_densities


def get_config():
  c = base_config()
  c.name = "imp"
  c.embeddings = ("hadamard",)
  c.imp.levels = 6
  c.imp.prune_fraction = 0.2
  c.methods = ("oracle", "random")
  # the one-shot cells at exactly the IMP levels' sizes (H·d = 16·16)
  c.densities = imp_densities(16 * 16, c.imp.prune_fraction, c.imp.levels)
  c.rewinds = ("probe", "init")
  c.figures = ("imp",)
  return c
