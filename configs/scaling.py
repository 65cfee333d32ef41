"""Scaling with the data fixed across model sizes (paper figs 14–15): sparse accuracy and
exact-code counts vs hidden width H, clause count m and density.

  python -m experiments.sweep --config=configs/scaling.py
"""
from toyticket.run.config import base_config


def get_config():
  c = base_config()
  c.name = "scaling"
  c.embeddings = ("hadamard",)
  with c.ignore_type():
    c.model.hidden = (16, 32)
    c.task.m = (8, 16, 32)
  c.methods = ("oracle", "random", "static")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe",)
  c.figures = ("scaling",)
  return c
