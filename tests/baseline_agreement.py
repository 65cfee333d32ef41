"""Agreement of toyticket's baselines with the independent reference ports, on trained nets.

  python tests/baseline_agreement.py            # 3 dense runs of the default regime

Trains three dense networks of the paper's regime (Hadamard, m = 8, H = 16, the default
30-epoch schedule; seeds 0, 1, 2) with toyticket's cycle, then compares, per network:
GraSP (`grasp`, at θ0 and at the dense end) and `grasp_w1` with `reference_baselines`
(Spearman rank correlation of the W1 scores, Jaccard of the density-0.25 masks), and the
Early-Bird firing epoch and ticket of `earlybird` with the port of the authors' class.
Prints one table; a check, not a test (tests/test_baseline_reference.py is the test).
"""
from __future__ import annotations

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats as sps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_baselines as R  # noqa: E402

from toyticket.run import config, execute, grid
from toyticket.ticket import cycle
from toyticket.discovery import impls as D  # noqa: E402

RHO = 0.25


def _jaccard(a, b) -> float:
  a, b = np.asarray(a) > 0, np.asarray(b) > 0
  return float((a & b).sum() / max((a | b).sum(), 1))


def _keep(score, rho=RHO):
  return np.asarray(D.topk_mask(jnp.asarray(score, jnp.float32), jnp.float32(rho)))


def main() -> None:
  cfg = config.base_config()
  cfg.embeddings, cfg.seeds, cfg.methods = ("hadamard",), (0, 1, 2), ("oracle",)
  config.validate(cfg)
  g = grid.groups(cfg)[0]
  dense_in, _, data = execute.inputs(g, list(range(len(g.dense))))
  traj, _ = jax.jit(cycle.dense_phase, static_argnums=0)(g.spec, dense_in, data)
  n = cfg.discovery.score_examples
  x, y = np.asarray(data["x_train"][:n]), np.asarray(data["y_train"][:n])
  print("| run | state | method | Spearman (W1 scores) vs the finite-difference port | "
        "Jaccard (ρ = 0.25 masks) |")
  print("| --- | --- | --- | --- | --- |")
  for r in range(len(g.dense)):
    tr = jax.tree.map(lambda a: a[r], traj)
    for state, e in (("θ0", 0), ("dense end", -1)):
      p = jax.tree.map(lambda a: a[e], tr)
      q = {k: np.asarray(v) for k, v in p.items()}
      g = R.forward_and_grads(q, x, y, 200.0)[1]
      authors = q["W1"] * R.hvp_analytic(q, x, y, {k: g[k] for k in ("W1", "W2")}, 200.0)["W1"]
      old = D.grasp_scores(p, jnp.asarray(x), jnp.asarray(y), temperature=1.0,
                           prunable=("W1",))["W1"]
      print(f"| {r} | {state} | grasp_w1 (old) vs the authors' GraSP | "
            f"{sps.spearmanr(np.asarray(old).ravel(), authors.ravel()).statistic:.4f} | "
            f"{_jaccard(_keep(old), _keep(authors)):.3f} |")
      for name, temp, prunable in (("grasp", 200.0, ("W1", "W2")), ("grasp_w1", 1.0, ("W1",))):
        ours = (D.grasp_scores(p, jnp.asarray(x), jnp.asarray(y), temperature=temp,
                               prunable=prunable)["W1"])
        ref = R.grasp_scores({k: np.asarray(v) for k, v in p.items()}, x, y,
                             temperature=temp, prunable=prunable)["W1"]
        # the exact Hessian-vector product of the hand-written backprop (no kinks crossed)
        q = {k: np.asarray(v) for k, v in p.items()}
        g = R.forward_and_grads(q, x, y, temp)[1]
        hv = R.hvp_analytic(q, x, y, {k: g[k] for k in prunable}, temp)
        exact = q["W1"] * hv["W1"]
        rho_s = sps.spearmanr(np.asarray(ours).ravel(), ref.ravel()).statistic
        rho_x = sps.spearmanr(np.asarray(ours).ravel(), exact.ravel()).statistic
        print(f"| {r} | {state} | {name} | {rho_s:.4f} (exact Hv: {rho_x:.4f}) | "
              f"{_jaccard(_keep(ours), _keep(ref)):.3f} "
              f"(exact Hv: {_jaccard(_keep(ours), _keep(exact)):.3f}) |")
    masks = np.asarray(jax.vmap(lambda w: D.topk_mask(jnp.abs(w), jnp.float32(RHO)))(tr["W1"]))
    ours_e = int(D.earlybird_epoch(jnp.asarray(masks), 0.1, 5))
    ref_e = R.earlybird_epoch(masks, 0.1, 5)
    old_e = int(D.earlybird_epoch_consecutive(jnp.asarray(masks), 0.1, 5))
    pick = lambda e: masks[e if e >= 0 else -1]
    print(f"| {r} | dense traj | earlybird | firing epoch ours {ours_e}, authors' {ref_e} "
          f"(consecutive rule {old_e}) | ticket Jaccard ours vs authors' "
          f"{_jaccard(pick(ours_e), pick(ref_e)):.3f}; consecutive vs authors' "
          f"{_jaccard(pick(old_e), pick(ref_e)):.3f} |")


if __name__ == "__main__":
  main()
