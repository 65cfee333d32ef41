"""Bring your own model: lottery tickets of any flax module on your own data
(`toyticket.families.flaxmodel.family`). Here a two-hidden-layer MLP (flax nn.Dense) on a
4-class task (`toyticket.families.flaxmodel.examples`); point `user.module` and
`user.data` at your own code ("pkg.mod:name" or "path/to/file.py:name"). Every Dense
kernel is prunable (one global ranking); the weight-space methods, IMP, the rewinds and
the paired statistics run batched over 8 seeds exactly as for the built-in families.

  python -m experiments.sweep --config=configs/byo_flax.py
  python -m experiments.sweep --config=configs/byo_flax.py --config.quick=True   # smoke test
  python -m experiments.sweep --config=configs/byo_flax.py \\
      --config.user.module=my_models.py:make --config.user.data=my_data.py:load
"""
from toyticket.run.config import base_config


def get_config():
  c = base_config()
  c.name = "byo_flax"
  c.task.family = "flax"
  c.task.n_train, c.task.n_test = 4096, 2048
  c.user = dict(module="toyticket.families.flaxmodel.examples:mlp",
                data="toyticket.families.flaxmodel.examples:quadrants",
                loss="softmax_ce", prunable="kernel", scored="", frozen="")
  c.model.hidden = 32
  c.embeddings = ("identity",)
  c.train = dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=128, epochs=20,
                 grad_impl="autodiff", layout="per_dense_run")
  c.probe_epochs = (2,)
  c.methods = ("random", "init_magnitude", "checkpoint_magnitude", "oracle", "snip", "grasp",
               "synflow", "earlybird", "obs")
  c.densities = (0.05, 0.2)
  c.rewinds = ("probe", "fresh")
  c.imp = dict(levels=3, prune_fraction=0.5)
  c.seeds = tuple(range(8))
  c.figures = ("flax_methods",)
  return c
