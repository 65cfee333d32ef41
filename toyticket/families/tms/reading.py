"""The TMS family's reading half (`toyticket.reading.family.FamilyReading`): config
checks, result rows, the summary and the report page's section. Plain Python (numpy): no
JAX.
"""
from __future__ import annotations

import html


from toyticket.core import readings
from toyticket.core.checks import as_tuple, choice
from toyticket.core.errors import ConfigError
from toyticket.discovery import methods
from toyticket.families.tms import schema
from toyticket.families.tms import figures as _figures  # noqa: F401  (registers them)
from toyticket.reading import plots, results



_num = results.text_num   # a summary number (p decimals, "  nan" for None)


def tms_rows(dense_labels: list[dict], cell_labels: list[dict], out: dict) -> tuple[list, list]:
  """Per-cell and per-dense-run rows of a TMS chunk (`tms.dense_readings`,
  `tms.cell_readings`). Dense: test loss at θ0 and the end, represented and superposed
  feature counts and mean feature dimensionality (over represented features) at θ0 and the
  end. Cell: the same for the sparse final, with the chance level (the mask at θ0,
  `chance_represented`, `chance_superposed`), the mask on the dense final without
  retraining, same-feature recall and Gram similarity with the dense final; `diverged` as
  for clause rows."""
  return readings.dense_and_cell_rows(dense_labels, cell_labels, out)


def summary_tms(rows: list[dict], dense_rows: list[dict], agg=None, dense_agg=None) -> str:
  """Text table of a TMS sweep: per group (hidden width, sparsity S), the dense runs (test
  loss ± 95 % CI half-width beside the constant floor, represented and superposed features,
  mean feature dimensionality); then per method × density × rewind over non-diverged seeds:
  masked-no-retrain and sparse loss, represented features with their θ0 chance level,
  superposed, mean dimensionality, same-feature recall and Gram similarity."""
  lines = []
  for d in dense_agg or results.aggregate(dense_rows, results.DENSE_KEYS):
    lines.append(f"{d['group']:<10} dense loss {_num(d['dense_loss_mean'], 4)} ± "
                 f"{_num(d['dense_loss_ci95'], 4)} (floor {_num(d['floor_loss_mean'], 4)})  "
                 f"represented {_num(d['dense_represented_mean'], 1)} (θ0 "
                 f"{_num(d['init_represented_mean'], 1)})  superposed "
                 f"{_num(d['dense_superposed_mean'], 1)} (θ0 "
                 f"{_num(d['init_superposed_mean'], 1)})  dimensionality "
                 f"{_num(d['feature_dimensionality_dense_mean'], 2)}  n={d['n']}" +
                 results.diverged_note(d))
  head = (f"{'group':<10} {'method':<20} {'dens':>5} {'rewind':<6} {'masked':>7} "
          f"{'sparse loss':>15} {'repr':>5} {'(θ0)':>5} {'sup':>5} {'(θ0)':>5} {'dim':>5} "
          f"{'recall':>6} {'gram':>5} {'n':>3} {'div':>3}")
  lines += ["", "± is the 95 % CI half-width over seeds; loss = importance-weighted test MSE; "
            "repr = represented features (‖W_i‖² ≥ 1/2), (θ0) = the mask at θ0 (chance level); "
            "recall = same-feature recall vs the dense run", head, "-" * len(head)]
  for a in agg or results.aggregate(rows):
    lines.append(
        f"{a['group']:<10} {a['method']:<20} {a['density']:>5} {a['rewind']:<6} "
        f"{_num(a['masked_loss_mean'], 4):>7} {_num(a['sparse_loss_mean'], 4)}±"
        f"{_num(a['sparse_loss_ci95'], 4)} {_num(a['sparse_represented_mean'], 1):>5} "
        f"{_num(a['chance_represented_mean'], 1):>5} "
        f"{_num(a['sparse_superposed_mean'], 1):>5} "
        f"{_num(a['chance_superposed_mean'], 1):>5} "
        f"{_num(a['feature_dimensionality_sparse_mean'], 2):>5} "
        f"{_num(a['same_feature_recall_mean'], 2):>6} {_num(a['gram_similarity_mean'], 2):>5} "
        f"{a['n']:>3} {a['n_diverged']:>3}")
  return "\n".join(lines)


class TmsReading:
  name = "tms"
  paired_metrics = ("sparse_loss", "sparse_represented", "same_feature_recall",
                    "gram_similarity")
  figures = plots.family_figures("toyticket.families.tms")
  dense_readings, cell_readings = schema.DenseReadings, schema.CellReadings

  def validate(self, c) -> None:
    """Its methods, embedding, widths, figures, and no SAEs (they read clause codes)."""
    choice("methods", c.methods, methods.for_task("tms"))
    choice("figures", c.figures, self.figures)
    if as_tuple(c.embeddings) != ("identity",):
      raise ConfigError("embeddings", c.embeddings, "('identity',) with task.family='tms' "
                        "(TMS features are the inputs)")
    if c.model.d != c.task.n:
      raise ConfigError("model.d", c.model.d, f"task.n={c.task.n} with task.family='tms'")
    if as_tuple(c.sae.l1):
      raise ConfigError("sae.l1", c.sae.l1, "() with task.family='tms' (SAEs read clause "
                        "codes)")

  def prunable_size(self, c, hidden: int) -> int:
    """The masked leaf's entries at this width: H·d."""
    return hidden * c.model.d

  def chunk_rows(self, dense_labels, cell_labels, densities, out, options) -> dict:
    cells, dense = tms_rows(dense_labels, cell_labels, out)
    return {"cells": cells, "dense": dense, "oracle": [], "sae": []}

  def summary(self, rows, dense_rows, top=None, agg=None, dense_agg=None) -> str:
    return summary_tms(rows, dense_rows, agg, dense_agg)

  def page_section(self, rows, dense_rows, agg=None, dense_agg=None) -> str:
    return "", f"<pre>{html.escape(summary_tms(rows, dense_rows, agg, dense_agg))}</pre>"


READING = TmsReading()
