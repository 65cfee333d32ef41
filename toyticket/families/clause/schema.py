"""The clause world's typed readings (`toyticket.core.readings`): what is read from every
dense run (`DenseReadings`) and every sparse cell (`CellReadings`), with the columns of
dense.csv, oracle.csv and metrics.csv they fill. Plain Python: the computing side
(`readings`) registers both as JAX pytrees and fills them; the reading side (`reading`,
the figures) reads a saved run back into them.

Shapes are per run, after the run axes ((R, ...) per dense run, (R, C, ...) per cell in the
cycle; one leading row axis once saved): E epochs, T = 2 templates (names.TEMPLATE_NAMES),
P oracle densities, K = 3 site classes (names.CLASSES), H hidden, d embedding width,
m clauses, L, B histogram bins. Counts are codes (row–clause sites) per network.
"""
from __future__ import annotations

import dataclasses

from toyticket.core.names import CLASSES
from toyticket.core.readings import Col, reading

D, O = "dense", "oracle"


def _ints(*names_at, table="cells"):
  return tuple(Col(n, at, "int", table) for n, at in names_at)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DenseReadings:
  """Per dense run (leading axis R)."""
  acc: object = reading(Col("dense_acc", (-1,), table=D), Col("dense_acc_init", (0,), table=D),
                        doc="Test accuracy per epoch (E+1,).")
  loss: object = reading(doc="Training loss per epoch (E,); restored runs skip dense training.")
  diverged_epoch: object = reading(Col("diverged_epoch", kind="int", table=D),
                                   Col("diverged_epoch", table=O, dense="diverged_epoch"),
                                   doc="First epoch with a non-finite loss or weight, −1 if none.")
  code_counts: object = reading(*_ints(("dense_{t}", (-1,)), ("init_{t}", (0,)), table=D),
                                doc="Exact codes per epoch (E+1, T).")
  max_row_codes: object = reading(*_ints(("max_row_codes_init", (0,)),
                                         ("max_row_codes_dense", (1,)), table=D),
                                  doc="Most exact codes in one hidden row at θ0 and the end (2,).")
  near_counts: object = reading(*_ints(("dense_near_{t}", (1,)), ("init_near_{t}", (0,)),
                                       table=D),
                                doc="Near codes at θ0 and the end (2, T).")
  decoy_codes: object = reading(*_ints(("decoy_dense_{t}", (1,)), ("decoy_init_{t}", (0,)),
                                       table=D),
                                doc="Exact codes of the decoy clauses at θ0 and the end (2, T).")
  decoy_near: object = reading(*_ints(("decoy_dense_near_{t}", (1,)), table=D),
                               doc="Near codes of the decoy clauses at θ0 and the end (2, T).")
  c1_init: object = reading(doc="C1 = (W1 ⊙ M) C0 at θ0 (H, n), for heat maps.")
  near_init: object = reading(doc="Near-code sites at θ0 (H, m, T), bool.")
  w1_ends: object = reading(doc="W1 at θ0 and the dense end (2, H, d).")
  c1_ends: object = reading(doc="C1 at θ0 and the dense end (2, H, n).")
  exact_ends: object = reading(doc="Exact sites at θ0 and the dense end (2, H, m, T), bool.")
  c0_final: object = reading(doc="The dense-final embedding C0 (d, n).")
  oracle_supported: object = reading(Col("oracle_supported_{t}", kind="int", table=O),
                                     doc="Per density, sites the oracle mask at θ0 puts "
                                     "near-code (P, T).")
  oracle_class_counts: object = reading(
      *(Col(f"{c}_{{t}}", (k,), "int", O) for k, c in enumerate(CLASSES)),
      doc="Per density, sites per class stable / recruited / close-but-lost (P, K, T).")
  oracle_class_dist: object = reading(doc="Per density, mean distance to the final target "
                                      "per epoch and class (P, E+1, K, T).")
  oracle_class_margin: object = reading(doc="As oracle_class_dist, the signed margin.")
  oracle_survival: object = reading(doc="Per density, survival counts by (row load, initial "
                                    "distance) bins (P, 2, L, B, T).")
  sae_fvu: object = reading(default=None, doc="SAE fraction of variance unexplained (P_l1, S).")
  sae_mse: object = reading(default=None, doc="SAE reconstruction MSE (P_l1, S).")
  sae_l0: object = reading(default=None, doc="SAE mean active latents (P_l1, S).")
  sae_dead: object = reading(default=None, doc="SAE dead latents (P_l1, S).")
  sae_matched: object = reading(default=None, doc="Exact codes an SAE matched (P_l1, S, T).")
  sae_stable: object = reading(default=None, doc="Codes matched by every SAE seed (P_l1, T).")
  sae_random: object = reading(default=None, doc="Codes random directions match (S, T).")
  sae_codes: object = reading(default=None, doc="Exact codes the code reader finds (T,).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CellReadings:
  """Per sparse cell (leading axes R, C in the cycle; one row axis once flattened)."""
  masked_acc: object = reading(Col("dense_acc", dense="dense_acc"), Col("masked_acc"),
                               doc="Test accuracy of the mask on the dense final, no retraining.")
  sparse_acc: object = reading(Col("sparse_acc"), doc="Test accuracy of the sparse final.")
  rewind_acc: object = reading(Col("rewind_acc"), doc="Test accuracy at the masked rewind point.")
  realised_density: object = reading(Col("realised_density"), doc="Mask mean.")
  jaccard_mask_oracle: object = reading(Col("jaccard_mask_oracle"),
                                        doc="Jaccard of the mask with the oracle's.")
  jaccard_sites_oracle: object = reading(Col("jaccard_sites_oracle"),
                                         doc="Jaccard of supported sites with the oracle's.")
  jaccard_codes_dense: object = reading(Col("jaccard_codes_dense"),
                                        doc="Jaccard of sparse-final with dense-final codes.")
  max_row_codes: object = reading(
      Col("max_row_codes", kind="int"),
      Col("dense_max_row_codes", dense="max_row_codes_dense"),
      doc="Most exact codes in one row of the sparse final.")
  pruned_nonzero: object = reading(Col("pruned_nonzero", kind="int"),
                                   doc="Pruned W1 entries that are nonzero (0: never revived).")
  collapsed_rows: object = reading(Col("collapsed_rows", kind="int"),
                                   doc="Hidden rows with no kept weight.")
  detect_epoch: object = reading(Col("detect_epoch", kind="int"),
                                 Col("dense_diverged_epoch", dense="diverged_epoch"),
                                 default=None, doc="The dense epoch the mask was read at "
                                 "(filled by the cycle).")
  diverged_epoch: object = reading(Col("diverged_epoch", kind="int"),
                                   doc="First sparse epoch with a non-finite loss, −1 if none.")
  sparse_codes: object = reading(Col("dense_{t}", dense="dense_{t}"),
                                 Col("sparse_{t}", kind="int"),
                                 doc="Exact codes of the sparse final (T,).")
  chance_codes: object = reading(Col("chance_{t}", kind="int"),
                                 doc="Exact codes of the mask at θ0 (T,): the chance level.")
  masked_codes: object = reading(Col("masked_{t}", kind="int"),
                                 doc="Exact codes of the mask on the dense final (T,).")
  supported: object = reading(Col("supported_{t}", kind="int"),
                              doc="Sites the masked rewind point puts near-code (T,).")
  supported_but_lost: object = reading(Col("supported_but_lost_{t}", kind="int"),
                                       doc="Supported sites not exact in the sparse final.")
  stable_kept: object = reading(Col("stable_kept_{t}", kind="int"),
                                doc="Sites near at θ0, exact in dense and sparse finals.")
  sparse_near: object = reading(Col("sparse_near_{t}", kind="int"),
                                doc="Near codes of the sparse final (T,).")
  decoy_sparse_codes: object = reading(Col("decoy_sparse_{t}", kind="int"),
                                       doc="Decoy exact codes of the sparse final: the floor.")
  decoy_sparse_near: object = reading(Col("decoy_sparse_near_{t}", kind="int"),
                                      doc="Decoy near codes of the sparse final.")
  decoy_chance_codes: object = reading(Col("decoy_chance_{t}", kind="int"),
                                       Col("decoy_dense_{t}", dense="decoy_dense_{t}"),
                                       doc="Decoy exact codes of the mask at θ0.")
  same_site_recall: object = reading(Col("same_site_recall_{t}"),
                                     doc="Dense-final codes exact at the same site (T,).")
  family_recall: object = reading(Col("family_recall_{t}"),
                                  doc="Dense-final codes exact in the same family (T,).")
  code_overlap: object = reading(Col("code_overlap_{t}"), doc="Code-set overlap (T,).")
  code_fates: object = reading(
      *(Col(f"code_{fate}_{{t}}", (k,)) for k, fate in enumerate(("kept", "moved", "lost"))),
      doc="Fractions of dense-final codes kept, moved, lost (3, T).")
  near_frac_codes: object = reading(Col("near_codes_start_{t}", (0,)),
                                    doc="Near fraction over sparse training, code sites (E+1, T).")
  near_frac_rest: object = reading(Col("near_rest_start_{t}", (0,)),
                                   doc="As near_frac_codes, the other sites.")
  sparse_survival: object = reading(doc="Survival counts by (row load, distance) (2, L, B, T).")
  init_dist_hist: object = reading(doc="Initial distances of sparse-final codes (B, T).")
  masked_exact: object = reading(doc="Exact sites of the mask on the dense final (H, m, T).")
  sparse_w1: object = reading(doc="Sparse-final W1 ⊙ M (H, d).")
  sparse_c1: object = reading(doc="Sparse-final C1 (H, n).")
  sparse_exact: object = reading(doc="Sparse-final exact sites (H, m, T).")
  rewind_c1: object = reading(doc="C1 at the masked rewind point (H, n).")
  rewind_near: object = reading(doc="Near sites at the masked rewind point (H, m, T).")
  code_counts_traj: object = reading(doc="Exact codes per sparse epoch (E+1, T).")
  loss: object = reading(doc="Sparse training loss per epoch (E,).")
  sae_fvu: object = reading(default=None, doc="As DenseReadings.sae_fvu, on the ticket.")
  sae_mse: object = reading(default=None, doc="As DenseReadings.sae_mse.")
  sae_l0: object = reading(default=None, doc="As DenseReadings.sae_l0.")
  sae_dead: object = reading(default=None, doc="As DenseReadings.sae_dead.")
  sae_matched: object = reading(default=None, doc="As DenseReadings.sae_matched.")
  sae_stable: object = reading(default=None, doc="As DenseReadings.sae_stable.")
  sae_random: object = reading(default=None, doc="As DenseReadings.sae_random.")
  sae_codes: object = reading(default=None, doc="As DenseReadings.sae_codes.")


SAE_FIELDS = tuple(f.name for f in dataclasses.fields(CellReadings) if f.name.startswith("sae_"))
