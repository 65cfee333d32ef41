"""toyticket: batched lottery-ticket cycles in toy combinatorial-interpretability models.

Packages are layers, each importing only its own layer or lower ones (README "Layout"):
  core        plain Python: errors, names, PRNG table, host, the task-family registry,
              run identity, files, run directories, statistics
  reading     saved results only, no JAX: aggregation, figures, report, replication
  families    one package per task family (clause world, TMS, your own flax module): a computing half
              (`family.FAMILY`) and a JAX-free half (`reading.READING`) with its figures
  discovery   what a method is (typed registry) and how it computes (`impls.IMPLS`)
  ticket      the generic batched cycle: dense → discovery → rewind → sparse → readings
  run         orchestration: config, grid, one chunk, devices, processes, the sweep loop
"""
__version__ = "0.1.0"

# The public API, imported on first use (so `import toyticket` loads no JAX):
#   toyticket.Run.load(run_dir)          a finished run: rows, typed readings, aggregate
#   toyticket.load(path) / load_dense    result tables as pandas DataFrames
#   toyticket.load_network(run_dir, cell=j | dense=i, epoch=None)   one network's params,
#                                        mask, row and config
#   toyticket.prune(method, params, density, ...)   one network's mask by a named method
#   toyticket.prune_module(method, module, params, density, x, y, prunable="kernel")
#                                        the same for a flax module's params (its nesting)
_API = {"Run": "toyticket.reading.run", "load": "toyticket.reading.run",
        "load_dense": "toyticket.reading.run", "load_network": "toyticket.run.networks",
        "Network": "toyticket.run.networks", "prune": "toyticket.discovery.prune",
        "prune_module": "toyticket.families.flaxmodel.prune"}


def __getattr__(name):
  if name in _API:
    import importlib
    return getattr(importlib.import_module(_API[name]), name)
  raise AttributeError(f"module 'toyticket' has no attribute {name!r}")


def __dir__():
  return sorted(list(globals()) + list(_API))
