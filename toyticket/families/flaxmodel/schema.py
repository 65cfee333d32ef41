"""The "flax" family's typed readings (`toyticket.core.readings`): per dense run and per
sparse cell of a user's model, with the dense.csv and metrics.csv columns they fill. Plain
Python; `family` registers them as JAX pytrees and fills them.

Per run, after the run axes: E epochs. Losses are the user's loss (`model.LOSSES`) on the
test set; accuracies are NaN for an mse loss (`model.accuracy`).
"""
from __future__ import annotations

import dataclasses

from toyticket.core.readings import Col, reading

D = "dense"
LOSSES = ("bce", "softmax_ce", "mse")   # how outputs meet targets (`model.loss`)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DenseReadings:
  """Per dense run (leading axis R)."""
  test_acc: object = reading(Col("dense_acc", (-1,), table=D), Col("init_acc", (0,), table=D),
                             doc="Test accuracy per epoch (E+1,).")
  test_loss: object = reading(Col("dense_loss", (-1,), table=D), Col("init_loss", (0,), table=D),
                              doc="Test loss per epoch (E+1,).")
  diverged_epoch: object = reading(Col("diverged_epoch", kind="int", table=D),
                                   doc="First epoch with a non-finite loss or weight, −1 if none.")
  loss: object = reading(doc="Training loss per epoch (E,).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CellReadings:
  """Per sparse cell (leading axes R, C in the cycle)."""
  realised_density: object = reading(
      *(Col(c, dense=c) for c in ("dense_acc", "dense_loss")), Col("realised_density"),
      doc="Mask mean: the fraction of the prunable weights kept.")
  sparse_acc: object = reading(Col("sparse_acc"), doc="Test accuracy of the sparse final.")
  sparse_loss: object = reading(Col("sparse_loss"), doc="Test loss of the sparse final.")
  masked_acc: object = reading(Col("masked_acc"), doc="Test accuracy of the mask on the dense "
                               "final, no retraining.")
  masked_loss: object = reading(Col("masked_loss"), doc="Test loss of the mask on the dense "
                                "final, no retraining.")
  rewind_acc: object = reading(Col("rewind_acc"), doc="Test accuracy at the masked rewind point.")
  rewind_loss: object = reading(Col("rewind_loss"), doc="Test loss at the masked rewind point.")
  chance_acc: object = reading(Col("chance_acc"), doc="Test accuracy of the mask on θ0, "
                               "untrained (the chance level).")
  jaccard_mask_oracle: object = reading(Col("jaccard_mask_oracle"),
                                        doc="Jaccard of the mask with the one-shot oracle's.")
  pruned_nonzero: object = reading(Col("pruned_nonzero", kind="int"),
                                   doc="Pruned weights that are nonzero (0: never revived).")
  detect_epoch: object = reading(Col("detect_epoch", kind="int"), default=None,
                                 doc="The dense epoch the mask was read at (the cycle's).")
  diverged_epoch: object = reading(Col("diverged_epoch", kind="int"),
                                   Col("dense_diverged_epoch", dense="diverged_epoch"),
                                   doc="First sparse epoch with a non-finite loss, −1 if none.")
  loss: object = reading(doc="Sparse training loss per epoch (E,).")
