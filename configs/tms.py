"""Lottery tickets in Toy Models of Superposition (issue 22; Elhage et al. 2022): n = 20
features with importance 0.7^i squeezed into m = 5 hidden dimensions, h = W x,
x̂ = relu(Wᵀh + b), importance-weighted MSE, across the superposition transition in the
feature sparsity S. Dense runs, then tickets of the weight-space methods that apply
(random, init / checkpoint / dense-final magnitude, OBS, SNIP, GraSP) and TMS's
feature-space rule (feature_columns: keep whole features by their probe-epoch norm) at
densities 0.25 and 0.5 of W, rewound to the probe epoch (the ticket) or to a fresh init
with the same mask (the control); 8 seeds batched. Which features a
ticket represents, in how much superposition (feature dimensionality), and whether it keeps
the dense run's features (same-feature recall) and geometry (Gram similarity).

  python -m experiments.sweep --config=configs/tms.py
  python -m experiments.sweep --config=configs/tms.py --config.quick=True   # smoke test
"""
from toyticket.run.config import base_config


def get_config():
  c = base_config()
  c.name = "tms"
  c.task.family = "tms"
  c.task.n = 20
  c.task.sparsity = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)
  c.task.importance_decay = 0.7
  c.task.n_train, c.task.n_test = 8192, 4096
  c.model.d, c.model.hidden = 20, 5
  c.embeddings = ("identity",)
  c.train = dict(optimizer="adam", lr=1e-2, momentum=0.0, batch_size=256, epochs=60,
                 grad_impl="autodiff", layout="per_dense_run")
  c.probe_epochs = (2,)
  c.rewind_epoch = 2
  c.methods = ("random", "init_magnitude", "checkpoint_magnitude", "oracle", "obs", "snip",
               "grasp", "feature_columns")
  c.densities = (0.25, 0.5)
  c.rewinds = ("probe", "fresh")
  c.seeds = tuple(range(8))
  c.figures = ("tms",)
  return c
