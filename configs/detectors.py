"""Detector-derived tickets (paper figs 11–13, 18): every weight-space baseline and the
feature-space detectors under matched training; Jaccard-with-oracle vs gain scatter.

  python -m experiments.sweep --config=configs/detectors.py
  python -m experiments.sweep --config=configs/detectors.py:replicate     # claims 12-13

`:replicate` (`make replicate`, once per data seed and code reading): m = 8, density 0.25,
the three feature-space rules, the six weight-space baselines of the claims and the
consecutive-pairs Early-Bird variant, 48 seeds (× 3 data seeds = 144).
"""
from toyticket.run.config import base_config
from toyticket.discovery.methods import for_task


def get_config(arg: str = ""):
  c = base_config()
  c.name = "detectors"
  c.embeddings = ("hadamard",)
  with c.ignore_type():          # clause counts 8 and 16, as the paper's figures
    c.task.m = (8, 16)
  c.methods = for_task("clause")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe",)
  c.figures = ("methods", "heatmaps", "jaccard_gain")
  if arg not in ("", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: replicate")
  if arg == "replicate":   # only the cells replication.CLAIMS read; seeds by power
    with c.ignore_type():
      c.task.m = 8
    c.methods = ("static", "dynamic", "combined", "init_magnitude", "checkpoint_magnitude",
                 "snip", "grasp", "synflow", "earlybird", "earlybird_consecutive")
    c.densities, c.seeds, c.figures = (0.25,), tuple(range(48)), ("methods",)
  return c
