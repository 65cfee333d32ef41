"""Precursors in early feature space (paper figs 3–5, 8–10, 16, 17, 21, 22): same-site vs
family recall, near-code fraction over sparse retraining, site classes, survival vs row load,
initial distance to final templates, target-aware trajectories, support growth 75%→50%.

  python -m experiments.sweep --config=configs/precursors.py
  python -m experiments.sweep --config=configs/precursors.py:replicate    # claims 6-9

`:replicate` (`make replicate`, once per data seed and code reading): the oracle ticket
at density 0.25 on Hadamard, 48 seeds (× 3 data seeds = 144 dense runs and tickets).
"""
from toyticket.run.config import base_config


def get_config(arg: str = ""):
  c = base_config()
  c.name = "precursors"
  c.embeddings = ("hadamard", "random_fixed", "learned")
  c.methods = ("oracle", "obs", "random", "static")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe",)
  c.figures = ("recall", "near_code", "site_classes", "survival", "init_distance",
               "class_trajectories", "support_growth", "code_overlap")
  if arg not in ("", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: replicate")
  if arg == "replicate":   # only the cells replication.CLAIMS read; seeds by power
    c.embeddings, c.methods, c.densities = ("hadamard",), ("oracle",), (0.25,)
    c.seeds, c.figures = tuple(range(48)), ("recall", "survival")
  return c
