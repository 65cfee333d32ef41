"""The clause world's SAE figure (sparse autoencoders on every network's activations vs
the code reader), registered with `plots.figure`."""
from __future__ import annotations

import numpy as np

from toyticket.core.names import TEMPLATE_NAMES
from toyticket.reading import plots, results


@plots.figure("sae")
def sae_figure(res):
  """Issue 22: do SAEs on the dense-final hidden activations recover the exact clause
  codes? Per template, codes some SAE latent matches (activation correlation ≥ 0.5 with
  the clause indicator and decoder atom along the code's row), codes matched by every SAE
  seed, the random-direction floor, and the code reader's count, against the L1
  coefficient, for the dense-final networks and (squares) the oracle tickets; below,
  fraction of variance unexplained and L0 of the dense runs' SAEs. Mean with 95 % CI over
  runs (each the mean over its SAE seeds)."""
  ticket = lambda r: r.get("ticket", "dense")     # rows written before tickets had SAEs
  rows = [r for r in res.sae_rows if not results.is_diverged(r) and ticket(r) == "dense"]
  tickets = [r for r in res.sae_rows if not results.is_diverged(r) and ticket(r) == "sparse"
             and r["method"] == "oracle"]
  if not rows:
    return []
  groups = len(plots.uniq(rows, "group")) > 1
  col_of = lambda r: f"{r['group']} · {r['embedding']}" if groups else r["embedding"]
  cols = list(dict.fromkeys(col_of(r) for r in rows))
  l1s = sorted(plots.uniq(rows, "sae_l1"))
  series = [("sae_matched_{}", "SAE: matched", "-"),
            ("sae_stable_{}", "matched by every SAE seed", "--"),
            ("sae_random_{}", "random directions (floor)", ":"),
            ("sae_codes_{}", "code reader: exact codes", "-.")]
  panels = [(t, series) for t in TEMPLATE_NAMES] + [(None, "sae_fvu"), (None, "sae_l0")]
  fig, axes = plots.grid(len(panels), len(cols))
  for j, col in enumerate(cols):
    cr = [r for r in rows if col_of(r) == col]
    for i, (t, what) in enumerate(panels):
      ax = axes[i, j]
      fields = ([(f.format(t), lab, ls) for f, lab, ls in what] if t else
                [(what, what.replace("sae_", "").replace("fvu", "fraction of variance "
                                                          "unexplained"), "-")])
      ct = [r for r in tickets if col_of(r) == col]
      if t and ct:         # the same SAE reading of the oracle tickets (all densities)
        fields = fields + [(f"sae_matched_{t}", "SAE on the oracle ticket: matched", "-"),
                           (f"sae_codes_{t}", "code reader on the oracle ticket", "-.")]
      for k, (field, lab, ls) in enumerate(fields):
        src = ct if "ticket" in lab else cr
        st = np.array([plots.stat([r for r in src if r["sae_l1"] == l1], field) for l1 in l1s])
        ax.errorbar(l1s, st[:, 0], st[:, 1], ls=ls, marker="o" if k < 4 else "s", ms=3,
                    capsize=2, color=f"C{k}", label=lab)
      if min(l1s) > 0:
        ax.set_xscale("log")
      else:
        ax.set_xscale("symlog", linthresh=min([v for v in l1s if v > 0] or [1e-3]))
      ax.set_xlabel("SAE L1 coefficient")
      ax.set_ylabel(f"exact {t} codes" if t else fields[0][1])
      if i == 0:
        ax.set_title(col)
  plots.legend_outside(fig, axes)
  return plots.save(fig, res, "sae")
