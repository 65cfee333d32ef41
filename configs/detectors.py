"""Detector-derived tickets (paper figs 11–13, 18): every weight-space baseline and the
feature-space detectors under matched training; Jaccard-with-oracle vs gain scatter.

  python -m experiments.sweep --config=configs/detectors.py
"""
from toyticket.config import base_config
from toyticket.methods import for_task


def get_config():
  c = base_config()
  c.name = "detectors"
  c.embeddings = ("hadamard",)
  with c.ignore_type():          # clause counts 8 and 16, as the paper's figures
    c.task.m = (8, 16)
  c.methods = for_task("clause")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe",)
  c.figures = ("methods", "heatmaps", "jaccard_gain")
  return c
