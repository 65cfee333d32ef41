"""Probe-epoch curves (paper fig 26): sparse accuracy as a function of the dense epoch
used for detection, for feature-space detectors and checkpoint magnitude.

  python -m experiments.sweep --config=configs/probe_epochs.py
  python -m experiments.sweep --config=configs/probe_epochs.py:replicate  # claim 16

`:replicate` (`make replicate`, once per data seed): checkpoint magnitude detected at
epochs 0 and 20, rewound to the fixed epoch 2, m = 8, density 0.25, 16 seeds (× 3 = 48).
"""
from toyticket.run.config import base_config


def get_config(arg: str = ""):
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
  if arg not in ("", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: replicate")
  if arg == "replicate":   # only the cells replication.CLAIMS read; seeds by power
    with c.ignore_type():
      c.task.m = 8
    c.probe_epochs, c.methods = (0, 20), ("checkpoint_magnitude",)
    c.densities, c.rewinds, c.seeds = (0.25,), ("fixed",), tuple(range(16))
  return c
