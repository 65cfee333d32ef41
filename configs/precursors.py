"""Precursors in early feature space (paper figs 3–5, 8–10, 16, 17, 21, 22): same-site vs
family recall, near-code fraction over sparse retraining, site classes, survival vs row load,
initial distance to final templates, target-aware trajectories, support growth 75%→50%.

  python -m experiments.sweep --config=configs/precursors.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "precursors"
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.methods = ("oracle", "obs", "random", "static")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe",)
  c.figures = ("recall", "near_code", "site_classes", "survival", "init_distance",
               "class_trajectories", "support_growth", "code_overlap")
  return c
