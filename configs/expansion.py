"""Sparse expansion at a fixed W1 budget (paper fig 6): 16×16 dense vs 32×16 at density 0.5
with a random mask, an OBS ticket (rewound), the dense 32×16 reference and post-training OBS
(iterative OBS with weight correction, retrained from the dense end: rewind `final`).

  python -m experiments.sweep --config=configs/expansion.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "expansion"
  c.embeddings = ("hadamard",)
  with c.ignore_type():
    c.model.hidden = (16, 32)
  c.methods = ("random", "obs", "obs_iterative")
  c.densities = (0.5,)
  c.rewinds = ("probe", "final")
  c.figures = ("expansion",)
  return c
