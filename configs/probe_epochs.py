"""Probe-epoch curves (paper fig 26): sparse accuracy as a function of the dense epoch
used for detection, for feature-space detectors and checkpoint magnitude.

  python -m experiments.sweep --config=configs/probe_epochs.py
"""
from toyticket.config import base_config


def get_config():
  c = base_config()
  c.name = "probe_epochs"
  c.embeddings = ("hadamard",)
  with c.ignore_type():          # clause counts 8 and 16, as the paper's figures
    c.task.m = (8, 16)
  c.probe_epochs = (0, 1, 2, 5, 10, 20)
  c.methods = ("checkpoint_magnitude", "static", "dynamic", "combined")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe", "fixed")   # fixed: rewind to epoch rewind_epoch = 2 for every probe
  c.figures = ("probe_epochs",)
  return c
