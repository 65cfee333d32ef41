"""Rewind modes (paper fig 23): probe checkpoint vs θ0 vs fresh random init, for the oracle
and the feature-space and weight-space detectors.

  python -m experiments.sweep --config=configs/rewind_modes.py
  python -m experiments.sweep --config=configs/rewind_modes.py:replicate  # claims 14-15

`:replicate` (`make replicate`, once per data seed): oracle, random, static and
static_adaptive at density 0.25, probe and fresh rewinds, 128 seeds (× 3 data seeds =
384: the difference of the oracle's advantage between rewinds has sd ≈ 0.07, so 0.01 is
detectable at 80 % power).
"""
from toyticket.run.config import base_config


def get_config(arg: str = ""):
  c = base_config()
  c.name = "rewind_modes"
  c.embeddings = ("hadamard",)
  c.methods = ("oracle", "init_magnitude", "random", "static", "dynamic", "combined",
               "static_adaptive")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe", "init", "fresh")
  c.figures = ("rewind_modes",)
  if arg not in ("", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: replicate")
  if arg == "replicate":   # only the cells replication.CLAIMS read; seeds by power
    c.methods = ("oracle", "random", "static", "static_adaptive")
    c.densities, c.rewinds, c.seeds = (0.25,), ("probe", "fresh"), tuple(range(128))
  return c
