"""Translation ablations (paper figs 19–20): site scores × translations from ranked sites to
a W1 mask; change in accuracy and exact codes relative to site-greedy.

  python -m experiments.sweep --config=configs/translation.py
"""
from toyticket.run.config import base_config


def get_config():
  c = base_config()
  c.name = "translation"
  c.embeddings = ("hadamard", "random_fixed")
  c.methods = tuple(f"{s}{t}" for s in ("static", "dynamic", "combined")
                    for t in ("", "-row", "-orth", "-signed", "-omp"))
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe",)
  c.figures = ("translation",)
  return c
