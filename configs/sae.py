"""SAEs against combinatorial codes (issue 22): one sparse autoencoder (Cunningham et al.
2023; 32 latents for H = 16 hidden units, 3 SAE seeds) per dense run and L1 coefficient,
trained on the dense-final hidden activations, vmapped; how many of the run's exact 4P /
3N1P codes an SAE latent matches (activation correlation with the clause indicator ≥ 0.5
and decoder atom along the code's hidden row), against random directions and the code
reader's own count. Hadamard and learned embeddings, m = 8, 8 seeds (under the
row-specific reading a dense run holds about one exact code, at m = 8 and at m = 16 alike,
so seeds are what gives n; the clause-local default reads about four 4P); a small
oracle / random ticket grid rides along.

  python -m experiments.sweep --config=configs/sae.py      # 243 s on 2 CPU cores
"""
from toyticket.run.config import base_config


def get_config():
  c = base_config()
  c.name = "sae"
  c.embeddings = ("hadamard", "learned")
  c.methods = ("oracle", "random")
  c.seeds = tuple(range(8))
  c.densities = (0.25,)
  c.rewinds = ("probe",)
  c.sae.l1 = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
  c.sae.latents = 32
  c.sae.seeds = 3
  c.figures = ("sae",)
  return c
