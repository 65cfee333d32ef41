"""The "flax" family's figure, registered with `plots.figure`."""
from __future__ import annotations

from toyticket.reading import plots


@plots.figure("flax_methods")
def methods_figure(res):
  """Your model's tickets by method, one figure per rewind (`methods_<rewind>.png`): test
  accuracy of the sparse final (θ0 chance hollow: the same mask on the untrained θ0) and
  its test loss, bars by method sorted best first within each panel, a bar per density,
  mean with its bootstrap 95 % CI and one dot per seed (an mse model: the loss alone)."""
  has_acc = any(r.get("sparse_acc") is not None for r in res.rows)
  ys = ["sparse_acc", "sparse_loss"] if has_acc else ["sparse_loss"]
  return sum((plots.bars(res, f"methods_{rw}", "method", "density", ys, chance=has_acc,
                         rewind=rw)
              for rw in plots.uniq(res.rows, "rewind")), [])
