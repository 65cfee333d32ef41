"""The "flax" family's reading half (`toyticket.reading.family.FamilyReading`): config
checks, result rows, the summary and the report page's section. Plain Python (numpy): no
JAX, and the user's code is not imported (only its source files are found and hashed).
"""
from __future__ import annotations

import html
import re

from toyticket.core import readings, usercode
from toyticket.core.checks import as_tuple, choice
from toyticket.core.errors import ConfigError
from toyticket.discovery import methods
from toyticket.families.flaxmodel import schema
from toyticket.families.flaxmodel import figures as _figures  # noqa: F401  (registers them)
from toyticket.reading import plots, results

LOSSES = schema.LOSSES
_num = results.text_num


def check_user(c) -> None:
  """The `user` section without importing the user's code: the model and data references
  well formed and their source files present, the loss one of LOSSES, the selectors valid
  regular expressions (the prunable one non-empty)."""
  u = c.user
  for field in usercode.FIELDS:
    usercode.source_file(field, u[field.split(".")[1]])
  if u.loss not in LOSSES:
    raise ConfigError("user.loss", u.loss, ", ".join(LOSSES))
  for key in ("prunable", "scored", "frozen"):
    v = u[key]
    if not isinstance(v, str) or (key == "prunable" and not v):
      raise ConfigError(f"user.{key}", v, "a regular expression over parameter paths "
                        "such as 'Dense_0/kernel'" + (" (non-empty)" if key == "prunable"
                                                      else " ('' for none)"))
    try:
      re.compile(v)
    except re.error as e:
      raise ConfigError(f"user.{key}", v, f"a valid regular expression ({e})") from None


def summary_flax(rows: list[dict], dense_rows: list[dict], agg=None, dense_agg=None) -> str:
  """Text table: per group the dense runs (test accuracy and loss ± 95 % CI half-width
  beside the constant floor); then per method × density × rewind × probe epoch over
  non-diverged seeds: masked-no-retrain, sparse (± CI) and θ0-chance accuracy, sparse loss,
  Jaccard with the oracle's mask, n and diverged runs."""
  lines = []
  for d in dense_agg or results.aggregate(dense_rows, results.DENSE_KEYS):
    lines.append(f"{d['group']:<12} dense acc {_num(d.get('dense_acc_mean'))} ± "
                 f"{_num(d.get('dense_acc_ci95'))} (floor {_num(d.get('floor_acc_mean'))})  "
                 f"loss {_num(d['dense_loss_mean'], 4)} ± {_num(d['dense_loss_ci95'], 4)} "
                 f"(floor {_num(d['floor_loss_mean'], 4)})  n={d['n']}" +
                 results.diverged_note(d))
  head = (f"{'group':<12} {'method':<22} {'dens':>6} {'rewind':<6} {'pe':>3} {'masked':>6} "
          f"{'sparse acc':>13} {'(θ0)':>6} {'sparse loss':>11} {'jacc':>5} {'n':>3} "
          f"{'div':>3}")
  lines += ["", "± is the 95 % CI half-width over seeds; (θ0) = the mask on the untrained θ0 "
            "(chance level); jacc = Jaccard of the mask with the dense-final magnitude "
            "oracle's", head, "-" * len(head)]
  for a in agg or results.aggregate(rows):
    lines.append(
        f"{a['group']:<12} {a['method']:<22} {a['density']:>6} {a['rewind']:<6} "
        f"{a['probe_epoch']:>3} {_num(a.get('masked_acc_mean')):>6} "
        f"{_num(a.get('sparse_acc_mean'))}±{_num(a.get('sparse_acc_ci95'))} "
        f"{_num(a.get('chance_acc_mean')):>6} {_num(a['sparse_loss_mean'], 4):>11} "
        f"{_num(a['jaccard_mask_oracle_mean'], 2):>5} {a['n']:>3} {a['n_diverged']:>3}")
  return "\n".join(lines)


class FlaxReading:
  name = "flax"
  paired_metrics = ("sparse_acc", "sparse_loss")
  figures = plots.family_figures("toyticket.families.flaxmodel")
  dense_readings, cell_readings = schema.DenseReadings, schema.CellReadings

  def validate(self, c) -> None:
    """Its methods (weight-space rules that read only the prunable weights and the loss),
    figures, the identity embedding, no SAEs, and the `user` section (`check_user`)."""
    choice("methods", c.methods, methods.for_task("flax"))
    choice("figures", c.figures, self.figures)
    if as_tuple(c.embeddings) != ("identity",):
      raise ConfigError("embeddings", c.embeddings, "('identity',) with task.family='flax' "
                        "(your module embeds its inputs itself)")
    if as_tuple(c.sae.l1):
      raise ConfigError("sae.l1", c.sae.l1, "() with task.family='flax' (SAEs read clause "
                        "codes)")
    check_user(c)

  def prunable_size(self, c, hidden: int) -> None:
    """Known once the model is built (`grid.groups` checks the densities then)."""
    return None

  def chunk_rows(self, dense_labels, cell_labels, densities, out, options) -> dict:
    cells, dense = readings.dense_and_cell_rows(dense_labels, cell_labels, out)
    return {"cells": cells, "dense": dense, "oracle": [], "sae": []}

  def summary(self, rows, dense_rows, top=None, agg=None, dense_agg=None) -> str:
    return summary_flax(rows, dense_rows, agg, dense_agg)

  def page_section(self, rows, dense_rows, agg=None, dense_agg=None) -> str:
    return "", f"<pre>{html.escape(summary_flax(rows, dense_rows, agg, dense_agg))}</pre>"


READING = FlaxReading()
