"""Independent numpy (float64) reference for three pruning baselines, ported from their
authors' code. No jax and nothing from `toyticket.discovery`: the point is a second,
hand-written derivation to test toyticket against (tests/test_baseline_reference.py).

The toy model (toyticket/model.py): params C0 (d,n) frozen, W1 (H,d), b1 (H,), W2 (O,H),
b2 (O,); mask M (H,d) on W1.  C1 = (W1*M) @ C0 (H,n);  a = x @ C1.T + b1;  h = relu(a);
z = h @ W2.T + b2 (B,O);  loss = mean over all B*O entries of the sigmoid BCE of z/T,
  l(u) = max(u,0) - y u + log(1 + exp(-|u|)),  dl/du = sigmoid(u) - y,  d2l/du2 = s(1-s).

Sources read (GitHub):
  * ganguli-lab/Synaptic-Flow  Pruners/pruners.py   class GraSP, Pruner._global_mask
  * alecwangcq/GraSP           pruner/GraSP.py      def GraSP
  * GATECH-EIC/Early-Bird-Tickets  main.py          class EarlyBird + the epoch loop
  * facebookresearch/open_lth  pruning/sparse_global.py  Strategy.prune
"""
from __future__ import annotations

import math

import numpy as np

# ----------------------------------------------------------------------------------------
# The model, forward and hand-written backprop
# ----------------------------------------------------------------------------------------

NAMES = ("C0", "W1", "b1", "W2", "b2")


def _f64(params):
  return {k: np.asarray(params[k], np.float64) for k in NAMES}


def _sigmoid(u):
  return 0.5 * (1.0 + np.tanh(0.5 * u))          # overflow-free logistic


def _forward(p, mask, x):
  w1m = p["W1"] * mask
  c1 = w1m @ p["C0"]                              # (H, n)
  a = x @ c1.T + p["b1"]                          # (B, H) pre-activations
  h = np.maximum(a, 0.0)
  z = h @ p["W2"].T + p["b2"]                     # (B, O) logits
  return w1m, c1, a, h, z


def forward_and_grads(params, x, y, temperature=1.0, mask=None):
  """(loss, grads) of L = mean_{b,o} l(z_bo / T), grads for every param (and "M").

  Backprop written out by hand; relu'(0) is taken as 0 (as jax.nn.relu's gradient)."""
  p = _f64(params)
  x = np.asarray(x, np.float64)
  y = np.asarray(y, np.float64).reshape(x.shape[0], -1)
  mask = np.ones_like(p["W1"]) if mask is None else np.asarray(mask, np.float64)
  T = float(temperature)
  w1m, c1, a, h, z = _forward(p, mask, x)
  u = z / T
  loss = float(np.mean(np.maximum(u, 0.0) - y * u + np.log1p(np.exp(-np.abs(u)))))
  dz = (_sigmoid(u) - y) / (u.size * T)           # dL/dz (B, O)
  g_w2 = dz.T @ h                                 # (O, H)
  g_b2 = dz.sum(0)
  da = (dz @ p["W2"]) * (a > 0)                   # dL/da (B, H)
  g_b1 = da.sum(0)
  g_c1 = da.T @ x                                 # dL/dC1 (H, n)
  g_w1m = g_c1 @ p["C0"].T                        # dL/d(W1*M) (H, d)
  grads = {"W1": g_w1m * mask, "M": g_w1m * p["W1"], "W2": g_w2, "b1": g_b1, "b2": g_b2,
           "C0": w1m.T @ g_c1}
  return loss, grads


def hvp_analytic(params, x, y, v, temperature=1.0, mask=None):
  """Exact H v for the directions v = {"W1": .., "W2": ..} (others 0): forward-mode
  derivative of the hand-written backprop above (relu'' = 0 off the kinks). Used only to
  check the finite-difference H g in `grasp_scores`; returns {"W1": .., "W2": ..}."""
  p = _f64(params)
  x = np.asarray(x, np.float64)
  y = np.asarray(y, np.float64).reshape(x.shape[0], -1)
  mask = np.ones_like(p["W1"]) if mask is None else np.asarray(mask, np.float64)
  v1 = np.asarray(v.get("W1", np.zeros_like(p["W1"])), np.float64)
  v2 = np.asarray(v.get("W2", np.zeros_like(p["W2"])), np.float64)
  T = float(temperature)
  _, _, a, h, z = _forward(p, mask, x)
  act = (a > 0).astype(np.float64)
  u = z / T
  s = _sigmoid(u)
  dz = (s - y) / (u.size * T)
  # tangents
  t_a = x @ ((v1 * mask) @ p["C0"]).T
  t_h = act * t_a
  t_z = t_h @ p["W2"].T + h @ v2.T
  t_dz = s * (1.0 - s) * (t_z / T) / (u.size * T)
  t_gw2 = t_dz.T @ h + dz.T @ t_h
  t_da = (t_dz @ p["W2"] + dz @ v2) * act
  t_gw1 = ((t_da.T @ x) @ p["C0"].T) * mask
  return {"W1": t_gw1, "W2": t_gw2}


# ----------------------------------------------------------------------------------------
# GraSP
# ----------------------------------------------------------------------------------------

def grasp_scores(params, x, y, temperature=200.0, prunable=("W1", "W2"), fd_eps=1e-4,
                 mask=None):
  """GraSP scores θ ⊙ (H g) as Synaptic-Flow's `GraSP.score` computes them.

  Port (Synaptic-Flow Pruners/pruners.py, class GraSP, itself "based on" alecwangcq/GraSP
  pruner/GraSP.py):
    1. g = stopped (create_graph=False) gradient of L(model(x)/T) w.r.t. ALL prunable
       weights (temp = 200: the temperature divides the logits inside the loss, in both
       passes);
    2. z = Σ_p g_p · ∇_p L(model(x)/T) (gradient WITH graph), z.backward();
    3. score_p = p.grad * p.data = θ_p ⊙ ∂z/∂θ_p = θ_p ⊙ (H g)_p, where H is the Hessian
       of L/T-loss over the prunable weights (the rows of H for p, all prunable columns);
    4. divide every score by |Σ all scores| + 1e-10 (a positive factor, rank-irrelevant;
       NOT done here).
  H g is computed here by central finite differences of the hand-written gradient along
  g (all prunable blocks moved together): Hg = |g| (∇L(θ+εĝ) − ∇L(θ−εĝ)) / 2ε, ĝ = g/|g|.

  Sign convention / which entries are KEPT — the two codes rank identically:
    * Synaptic-Flow keeps the HIGHEST θ⊙Hg: `_global_mask` zeroes `score <= kthvalue(k)`,
      k = int((1 − density)·N), i.e. prunes the k lowest and keeps the rest.
    * Wang et al. score −θ⊙Hg ("-theta_q Hg") and REMOVE the highest: they take
      `topk(all_scores, num_params_to_rm)` and keep `score <= threshold[-1]`, i.e. keep
      the LOWEST −θ⊙Hg = the highest θ⊙Hg. Same ranking. (Wang's `<=` keeps the
      threshold element itself, so it removes num_params_to_rm − 1: see `wang_keep_mask`.)

  Returns {name: θ⊙Hg} for name in `prunable`, unnormalised, float64."""
  p = _f64(params)
  _, g = forward_and_grads(p, x, y, temperature, mask)
  g = {k: g[k] for k in prunable}
  gnorm = math.sqrt(sum(float(np.sum(v * v)) for v in g.values()))
  if gnorm == 0.0:
    return {k: np.zeros_like(p[k]) for k in prunable}

  def shifted(sign):
    q = dict(p)
    for k in prunable:
      q[k] = p[k] + sign * fd_eps * g[k] / gnorm
    return forward_and_grads(q, x, y, temperature, mask)[1]

  gp, gm = shifted(+1.0), shifted(-1.0)
  return {k: p[k] * (gp[k] - gm[k]) * (gnorm / (2.0 * fd_eps)) for k in prunable}


def synflow_global_keep(scores, density):
  """Synaptic-Flow `Pruner._global_mask` (scope='global'): its `sparsity` argument is the
  fraction KEPT (10**-compression); k = int((1 − density)·N) lowest scores (kthvalue,
  `score <= threshold`) are zeroed. Returns {name: 0/1 mask}."""
  flat = np.concatenate([np.ravel(v) for v in scores.values()])
  k = int((1.0 - density) * flat.size)
  if k < 1:
    return {n: np.ones_like(v) for n, v in scores.items()}
  thr = np.sort(flat)[k - 1]                      # torch.kthvalue is 1-based
  return {n: np.where(v <= thr, 0.0, 1.0) for n, v in scores.items()}


def wang_keep_mask(theta_hg, ratio):
  """alecwangcq/GraSP `GraSP(...)` mask step on scores −θ⊙Hg (pass θ⊙Hg; the sign flip
  is done here). ratio = fraction to prune; num_params_to_rm = int(N·ratio); threshold =
  the num_params_to_rm-th largest normalised −θHg; keep `score <= threshold` (so the
  threshold element is kept: num_params_to_rm − 1 are removed when there are no ties)."""
  grads = {n: -v for n, v in theta_hg.items()}
  flat = np.concatenate([np.ravel(v) for v in grads.values()])
  norm = abs(flat.sum()) + 1e-10
  flat = flat / norm
  n_rm = int(flat.size * ratio)
  acceptable = np.sort(flat)[::-1][:n_rm][-1]
  return {n: ((v / norm) <= acceptable).astype(np.float64) for n, v in grads.items()}


# ----------------------------------------------------------------------------------------
# Early-Bird
# ----------------------------------------------------------------------------------------

class EarlyBird:
  """Direct port of GATECH-EIC/Early-Bird-Tickets main.py `class EarlyBird` (put /
  cal_dist / early_bird_emerge), with the mask passed in instead of computed from BN
  scales by `pruning()`. The authors hard-code `> 0.1`; here that constant is `eps`."""

  def __init__(self, eps=0.1, epoch_keep=5):
    self.eps = eps
    self.epoch_keep = epoch_keep
    self.masks = []
    self.dists = [1 for _ in range(1, self.epoch_keep)]

  def put(self, mask):
    if len(self.masks) < self.epoch_keep:
      self.masks.append(mask)
    else:
      self.masks.pop(0)
      self.masks.append(mask)

  def cal_dist(self):
    if len(self.masks) == self.epoch_keep:
      for i in range(len(self.masks) - 1):
        mask_i = self.masks[-1]
        mask_j = self.masks[i]
        # authors: 1 - float(torch.sum(mask_i==mask_j)) / mask_j.size(0) on 1-D masks;
        # our masks are flattened first so size(0) is the element count.
        self.dists[i] = 1 - float(np.sum(mask_i == mask_j)) / mask_j.shape[0]
      return True
    return False

  def early_bird_emerge(self, mask):
    self.put(np.ravel(np.asarray(mask)))
    flag = self.cal_dist()
    if flag:
      for i in range(len(self.dists)):
        if self.dists[i] > self.eps:
          return False
      return True
    return False


def earlybird_epoch(masks, eps=0.1, epoch_keep=5):
  """First index e into masks (E+1, ...) — masks[e] = the mask of the dense net after e
  epochs, masks[0] at θ0 — at which `early_bird_emerge` returns True, else -1.

  Driven as main.py drives it: `for epoch in range(start_epoch, epochs):
  early_bird.early_bird_emerge(model)` is called at the TOP of the epoch, BEFORE
  `train(epoch)`; so call number e sees the state after e epochs (call 0 sees θ0), and
  the queue is first full — the first possible True — at e = epoch_keep − 1 (= 4).
  The newest mask is compared with each of the epoch_keep − 1 OLDER masks in the queue
  (not consecutive pairs), distance = 1 − (#equal entries)/size, and it emerges when no
  distance is > eps (a distance equal to eps passes).
  (main.py's loop never calls it after the last train(epoch): with E training epochs it
  sees masks[0..E-1] only; here every entry passed in is seen, so pass masks[:-1] for
  that.)"""
  eb = EarlyBird(eps, epoch_keep)
  for e in range(len(masks)):
    if eb.early_bird_emerge(masks[e]):
      return e
  return -1


def earlybird_epoch_consecutive(masks, eps, window):
  """toyticket's older rule, as a loop: the first e >= window whose last window − 1
  consecutive distances δ_k = mean(masks[k] != masks[k−1]), k = e−window+2 .. e, are all
  < eps (strict); -1 if none."""
  masks = [np.ravel(np.asarray(m)) for m in masks]
  for e in range(window, len(masks)):
    ds = [float(np.mean(masks[k] != masks[k - 1])) for k in range(e - window + 2, e + 1)]
    if all(d < eps for d in ds):
      return e
  return -1


# ----------------------------------------------------------------------------------------
# open_lth IMP
# ----------------------------------------------------------------------------------------

def open_lth_imp_counts(n_weights, prune_fraction, levels):
  """Kept-weight counts at levels 1..L under open_lth's sparse_global NOMINAL rule:
  number pruned at a level = ceil(prune_fraction · remaining) (float64, np.ceil as
  open_lth). See `open_lth_imp_counts_literal` for what the code actually does."""
  remaining = int(n_weights)
  out = []
  for _ in range(levels):
    remaining -= int(np.ceil(prune_fraction * float(remaining)))
    out.append(remaining)
  return out


def open_lth_sparse_global_prune(abs_weights, current_mask, prune_fraction):
  """Literal port of open_lth pruning/sparse_global.py Strategy.prune on one flat tensor:
  threshold = sort(|w| of unpruned)[ceil(f·remaining)], keep |w| > threshold. Index k of
  the ascending sort is the (k+1)-th smallest, so with distinct magnitudes it prunes
  ceil(f·remaining) + 1 weights (and raises IndexError when that index is out of range)."""
  current_mask = np.asarray(current_mask)
  remaining = np.sum(current_mask)
  k = np.ceil(prune_fraction * remaining).astype(int)
  vec = abs_weights[current_mask == 1]
  threshold = np.sort(np.abs(vec))[k]
  return np.where(np.abs(abs_weights) > threshold, current_mask, np.zeros_like(current_mask))


def open_lth_imp_counts_literal(n_weights, prune_fraction, levels, seed=0):
  """Counts kept at levels 1..L when the literal `open_lth_sparse_global_prune` runs on
  distinct magnitudes (fixed, as at a rewind-free toy; the count doesn't depend on them)."""
  w = np.random.default_rng(seed).permutation(n_weights).astype(np.float64) + 1.0
  m = np.ones(n_weights)
  out = []
  for _ in range(levels):
    m = open_lth_sparse_global_prune(w, m, prune_fraction)
    out.append(int(m.sum()))
  return out
