"""Rewind modes (paper fig 23): probe checkpoint vs θ0 vs fresh random init, for the oracle
and the feature-space and weight-space detectors.

  python -m experiments.sweep --config=configs/rewind_modes.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "rewind_modes"
  c.embeddings = ("hadamard",)
  c.methods = ("oracle", "init_magnitude", "random", "static", "dynamic", "combined",
               "static_adaptive")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe", "init", "fresh")
  c.figures = ("rewind_modes",)
  return c
