"""The TMS family's typed readings (`toyticket.core.readings`): per dense run and per sparse
cell, with the dense.csv and metrics.csv columns they fill. Plain Python; `model`
registers them as JAX pytrees and fills them (`dense_readings`, `cell_readings`).

Per run, after the run axes: E epochs, n features, m hidden dimensions. Losses are the
importance-weighted test MSE; "represented" and "superposed" are feature counts.
"""
from __future__ import annotations

import dataclasses

from toyticket.core.readings import Col, reading

D = "dense"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DenseReadings:
  """Per dense TMS run (leading axis R)."""
  test_loss: object = reading(Col("dense_loss", (-1,), table=D), Col("init_loss", (0,), table=D),
                              doc="Test loss per epoch (E+1,).")
  diverged_epoch: object = reading(Col("diverged_epoch", kind="int", table=D),
                                   doc="First epoch with a non-finite loss, −1 if none.")
  represented: object = reading(Col("dense_represented", (-1,), "int", D),
                                Col("init_represented", (0,), "int", D),
                                doc="Represented features per epoch (E+1,).")
  superposed: object = reading(Col("dense_superposed", (-1,), "int", D),
                               Col("init_superposed", (0,), "int", D),
                               doc="Superposed features per epoch (E+1,).")
  dim_mean: object = reading(Col("feature_dimensionality_dense", (-1,), table=D),
                             Col("feature_dimensionality_init", (0,), table=D),
                             doc="Mean dimensionality of represented features (E+1,).")
  loss: object = reading(doc="Training loss per epoch (E,).")
  norms_ends: object = reading(doc="Feature norms at θ0 and the end (2, n).")
  dim_ends: object = reading(doc="Feature dimensionalities at θ0 and the end (2, n).")
  w_ends: object = reading(doc="C1 = (W ⊙ M) C0 at θ0 and the end (2, m, n).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CellReadings:
  """Per sparse TMS cell (leading axes R, C in the cycle)."""
  realised_density: object = reading(
      *(Col(c, dense=c) for c in ("dense_loss", "dense_represented", "dense_superposed",
                                  "feature_dimensionality_dense")),
      Col("realised_density"), doc="Mask mean.")
  sparse_loss: object = reading(Col("sparse_loss"), doc="Test loss of the sparse final.")
  masked_loss: object = reading(Col("masked_loss"),
                                doc="Test loss of the mask on the dense final, no retraining.")
  rewind_loss: object = reading(Col("rewind_loss"), doc="Test loss at the masked rewind point.")
  same_feature_recall: object = reading(Col("same_feature_recall"),
                                        doc="Dense-final represented features the sparse "
                                        "final still represents.")
  gram_similarity: object = reading(Col("gram_similarity"),
                                    doc="Cosine of the dense and sparse Gram matrices.")
  jaccard_mask_oracle: object = reading(Col("jaccard_mask_oracle"),
                                        doc="Jaccard of the mask with the oracle's.")
  sparse_represented: object = reading(Col("sparse_represented", kind="int"),
                                       doc="Represented features of the sparse final.")
  sparse_superposed: object = reading(Col("sparse_superposed", kind="int"),
                                      doc="Superposed features of the sparse final.")
  chance_represented: object = reading(Col("chance_represented", kind="int"),
                                       doc="Represented features of the mask at θ0.")
  chance_superposed: object = reading(Col("chance_superposed", kind="int"),
                                      doc="Superposed features of the mask at θ0.")
  masked_represented: object = reading(Col("masked_represented", kind="int"),
                                       doc="Represented features of the masked dense final.")
  new_features: object = reading(Col("new_features", kind="int"),
                                 doc="Represented by the sparse final, not the dense final.")
  cut_features: object = reading(Col("cut_features", kind="int"),
                                 doc="Features the mask cuts off entirely.")
  pruned_nonzero: object = reading(Col("pruned_nonzero", kind="int"),
                                   doc="Pruned W entries that are nonzero (0: never revived).")
  collapsed_rows: object = reading(Col("collapsed_rows", kind="int"),
                                   doc="Hidden rows with no kept weight.")
  detect_epoch: object = reading(Col("detect_epoch", kind="int"), default=None,
                                 doc="The dense epoch the mask was read at (the cycle's).")
  diverged_epoch: object = reading(Col("diverged_epoch", kind="int"),
                                   doc="First sparse epoch with a non-finite loss, −1 if none.")
  sparse_dim_mean: object = reading(Col("feature_dimensionality_sparse"),
                                    Col("dense_diverged_epoch", dense="diverged_epoch"),
                                    doc="Mean dimensionality of the sparse final's "
                                    "represented features.")
  loss: object = reading(doc="Sparse training loss per epoch (E,).")
  sparse_norms: object = reading(doc="Sparse-final feature norms (n,).")
  sparse_dim: object = reading(doc="Sparse-final feature dimensionalities (n,).")
  sparse_w: object = reading(doc="Sparse-final C1 (m, n).")
  represented_traj: object = reading(doc="Represented features per sparse epoch (E+1,).")
