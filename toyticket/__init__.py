"""toyticket: batched lottery-ticket cycles in toy combinatorial-interpretability models.

Packages are layers, each importing only its own layer or lower ones (README "Layout"):
  core        plain Python: errors, names, PRNG table, host, the task-family registry,
              run identity, files, run directories, statistics
  reading     saved results only, no JAX: aggregation, figures, report, replication
  families    one package per task family (clause world, TMS): a computing half
              (`family.FAMILY`) and a JAX-free half (`reading.READING`) with its figures
  discovery   what a method is (typed registry) and how it computes (`impls.IMPLS`)
  ticket      the generic batched cycle: dense → discovery → rewind → sparse → readings
  run         orchestration: config, grid, one chunk, devices, processes, the sweep loop
"""
__version__ = "0.1.0"
