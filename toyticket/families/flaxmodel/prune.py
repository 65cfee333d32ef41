"""`prune_module`: one flax network's mask by a named weight-space method, outside the
batched cycle: the same implementations the "flax" family runs (`discovery.prune.prune`
on the packed prunable weights, `model.PACKED`), returned in the module's own nesting.

  params = module.init(key, x[:1])["params"]
  mask = prune_module("snip", module, params, 0.2, x, y, loss="softmax_ce")
  mask["Dense_0"]["kernel"]          # 0/1, the kernel's shape; 20 % of ALL kernels kept
"""
from __future__ import annotations

import functools

import flax.traverse_util
import jax
import jax.numpy as jnp
import numpy as np

from toyticket.discovery import methods
from toyticket.discovery.base import DiscoveryConfig
from toyticket.discovery.prune import prune
from toyticket.families.flaxmodel import model


def prune_module(method: str, module, params: dict | None, density: float, x, y, *,
                 trajectory: dict | None = None, prunable: str = "kernel", scored: str = "",
                 loss: str = "bce", probe_epoch: int = -1, seed: int = 0,
                 hp: DiscoveryConfig = DiscoveryConfig()) -> dict:
  """{nested path: 0/1 float32 mask} for the leaves of `params` (the module's "params"
  collection) that the regex `prunable` selects, keeping exactly round(density · N) of
  their N weights by ONE global ranking of `method` (a name of `methods.for_task("flax")`).

  trajectory: the params of epochs 0..E (each leaf (E+1, ...)) for methods that read the
  probe epoch, Early-Bird's queue or the dense end (give it instead of params); scored:
  regex of further leaves GraSP differentiates with the prunable ones; loss: one of
  `model.LOSSES`, on x (N, n_in) and y; seed: the random method's draw."""
  allowed = methods.for_task("flax")
  if method not in allowed:
    raise ValueError(f"method={method!r}; allowed: {', '.join(allowed)}")
  if loss not in model.LOSSES:
    raise ValueError(f"loss={loss!r}; allowed: {', '.join(model.LOSSES)}")
  if (params is None) == (trajectory is None):
    raise ValueError("give exactly one of params (one state) or trajectory= (epochs 0..E)")
  one = params if params is not None else jax.tree.map(lambda a: a[0], trajectory)
  lay = model.layout({p: np.shape(v) for p, v in model.flat(one).items()}, prunable, scored, "")
  x = jnp.asarray(x)
  kw = dict(loss=functools.partial(model.loss, module, lay, loss), prunable=model.PACKED,
            scored=lay.scored, synflow=functools.partial(model.synflow_scores, module, lay,
                                                         x.shape[-1]),
            probe_epoch=probe_epoch, seed=seed, hp=hp)
  if params is not None:
    mask = prune(method, model.pack(params, lay), density, x, y, **kw)
  else:
    mask = prune(method, None, density, x, y, trajectory=jax.vmap(
        lambda p: model.pack(p, lay))(trajectory), **kw)
  flat_mask, at = {}, 0
  for p, shape in lay.prunable:
    n = int(np.prod(shape))
    flat_mask[p] = np.asarray(mask[0, at:at + n]).reshape(shape)
    at += n
  return flax.traverse_util.unflatten_dict(flat_mask, sep="/")
