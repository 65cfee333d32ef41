"""toyticket: batched lottery-ticket cycles in toy combinatorial-interpretability models.

Layers (each imports only the ones above it; README "Layout"):
  vocabulary   names, prng, methods                      plain Python
  world        task (clause world, numpy), embeddings (C0 families)
  model        model (the one model), kernels (its CPU gradient paths), train
  analysis     codes (feature-space codes), metrics, discovery (mask methods)
  cycle        cycle (dense → mask → rewind → sparse, one jit), sharding
  orchestration grid (run grid, cell order), execute (one chunk), results (rows, stats,
               summary), rundir (files, paths), checkpoints, restore, sweep (the loop)
  reading      plots (saved results only, no JAX), config (defaults, validation)
"""
__version__ = "0.1.0"
