"""The representative ticket cycle (paper figs 1–2) in the paper's regime: m = 8 clauses
(dense accuracy ≈ 0.977), density 0.25 (75 % sparsity) with 0.5 beside it, 8 seeds; the
figures follow the seed whose masked-no-retrain accuracy is the median
(`results.representative`), not seed 0. Dense, oracle mask, masked-no-retrain, rewind,
sparse; W1 and C1 heat maps with exact 4P/3N1P boxes.

  python -m experiments.sweep --config=configs/ticket_cycle.py
  python -m experiments.sweep --config=configs/ticket_cycle.py:replicate   # claims 1-5

`:replicate` (`make replicate`, once per data seed): oracle and random at density 0.25,
rewound to θ0 and the probe epoch, 48 seeds (× 3 data seeds = 144 paired runs: the
oracle − random accuracy difference has sd ≈ 0.04, so 0.01 is detectable at 80 % power).
"""
from toyticket.run.config import base_config


def get_config(arg: str = ""):
  c = base_config()
  c.name = "ticket_cycle"
  c.embeddings = ("hadamard",)
  c.seeds = tuple(range(8))
  c.methods = ("oracle", "random", "init_magnitude")
  c.densities = (0.25, 0.5)
  c.rewinds = ("init", "probe")
  c.figures = ("ticket_cycle", "feature_support", "methods")
  if arg not in ("", "replicate"):
    raise ValueError(f"unknown argument {arg!r}; allowed: replicate")
  if arg == "replicate":   # only the cells replication.CLAIMS read; seeds by power
    c.methods, c.densities, c.seeds = ("oracle", "random"), (0.25,), tuple(range(48))
    c.figures = ("methods",)
  return c
