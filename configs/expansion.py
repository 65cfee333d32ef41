"""Sparse expansion at a fixed W1 budget (paper fig 6): 16×16 dense vs 32×16 at density 0.5
with a random mask, an OBS ticket (rewound), the dense 32×16 reference and post-training OBS
(iterative OBS with weight correction, retrained from the dense end: rewind `final`).

  python -m experiments.sweep --config=configs/expansion.py
  python -m experiments.sweep --config=configs/expansion.py:replicate     # claims 10-11

`:replicate` (`make replicate`, once per data seed): random and OBS masks, probe rewind,
16 seeds (× 3 data seeds = 48; the differences have sd ≈ 0.012: 0.005 detectable).
"""
from toyticket.run.config import base_config


def get_config(arg: str = ""):
  c = base_config()
  c.name = "expansion"
  c.embeddings = ("hadamard",)
  with c.ignore_type():
    c.model.hidden = (16, 32)
  c.methods = ("random", "obs", "obs_iterative")
  c.densities = (0.5,)
  c.rewinds = ("probe", "final")
  c.figures = ("expansion",)
  if arg not in ("", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: replicate")
  if arg == "replicate":   # only the cells replication.CLAIMS read; seeds by power
    c.methods, c.rewinds, c.seeds = ("random", "obs"), ("probe",), tuple(range(16))
  return c
