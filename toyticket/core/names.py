"""The named choices that config validation, the library and the figures agree on.

Plain Python only (no JAX, no matplotlib), so `config` and `plots` can import it without
pulling in either. Every implementing module checks, in the tests, that it implements
exactly these names (tests/test_layout.py).
"""
from __future__ import annotations

from toyticket.core import families

REWINDS = ("init", "probe", "fresh", "final", "fixed")   # cycle.rewind_params, code order
TEMPLATE_NAMES = ("4P", "3N1P")                 # codes.templates for k = 4: kP, (k−1)N1P
SPECIFICITY = ("none", "row")   # codes.extract: clause-local (the paper's), row-specific
OPTIMIZERS = ("sgd", "adam")                    # train.make_optimizer
GRAD_IMPLS = ("auto", "autodiff", "fused")      # kernels.resolve
LAYOUTS = ("batched", "per_dense_run")          # cycle.by_layout: a device's dense runs
FAMILIES = ("hadamard", "random_fixed", "learned", "identity")   # embeddings.make_c0
TRAINABLE = {"hadamard": False, "random_fixed": False, "learned": True, "identity": False}
TASK_FAMILIES = tuple(families.PACKAGES)        # the task families' registry
TMS_REPRESENTED_MIN = 0.5 ** 0.5   # tms.represented: ‖W_i‖ from which a feature counts
CLASSES = ("stable", "recruited", "close_but_lost")   # metrics.site_classes, in this order

# Survival tables (metrics.survival): row load 0..LOAD_BINS−2 and ≥ LOAD_BINS−1; initial
# distance 1 − cos ∈ [0, 2] in 10 equal bins with these edges.
LOAD_BINS = 9
DIST_EDGES = tuple(round(0.2 * i, 1) for i in range(11))
