"""Ticket discovery: every method turns dense information into a W1 mask at a density.

`density` is always the fraction of W1 KEPT, an array (never baked into the trace), so
densities × seeds vmap into one program. What a method IS (its name, space, family,
whether it reads the probe epoch) is `methods.METHODS[name]`; how it computes is
`IMPLS[name]`, two pure functions:

  prepare(ctx) -> aux                  once per (dense run, probe epoch): scores, Hessians
  select(aux, ctx, density) -> (mask, w1_post)
                                       mask (H, d) 0/1 at exact density; w1_post is the W1
                                       a `final` (post-training) rewind starts from: the
                                       dense-final W1, or OBS's weight-corrected one.

Exact density: k = clip(round(density · H·d), 1, H·d) entries kept, ranks from a stable
sort (ties go to the lower flat index; NaN scores rank last). Iterative methods select
within their previous mask, so masks are nested and pruned weights are never revived.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from toyticket.families.clause import codes as codes_lib
from toyticket.families.clause import kernels, model
from toyticket.discovery.methods import METHODS



@dataclasses.dataclass(frozen=True)
class DiscoveryConfig:
  """Static hyperparameters of the methods (hashable)."""
  obs_damping: float = 1e-2        # λ in H + λ·mean(diag H)·I
  synflow_iters: int = 100         # SynFlow pruning rounds, density_t = ρ^(t/T)
  earlybird_eps: float = 0.1       # mask distance threshold (fraction of W1 entries)
  earlybird_window: int = 5        # Early-Bird's mask queue length (the authors' epoch_keep)
  grasp_temperature: float = 200.0  # GraSP divides the network output by T (Wang et al.)
  combined_weight: float = 1.0     # combined = z(static) + w · z(dynamic)
  coords_per_site: int = 4         # site-greedy: coordinates each site claims
  orth_penalty: float = 0.5        # orthogonalized: weight of interference with other sites
  tau: float = 0.25                # sign-category threshold used by feature-space scores
  specificity: str = "none"        # code reading used by feature-space scores (codes.py)


class Context(NamedTuple):
  """What a method may read for one dense run.

  traj: dense params stacked over epochs 0..E.  probe_epoch: the probe epoch e (int).
  start, start_epoch: set only for state-adaptive methods (`Method.scores_at` "start").
  key: PRNG key.  x, y: scoring examples (first `score_examples` of the train set).
  clause_vars (m, k), clause_pols (m, k): None for a task without clauses (TMS).
  loss: the task family's loss (`cycle.FAMILIES`), which OBS, SNIP and GraSP differentiate.
  """
  traj: model.Params
  probe_epoch: jax.Array
  key: jax.Array
  x: jax.Array
  y: jax.Array
  clause_vars: jax.Array
  clause_pols: jax.Array
  hp: DiscoveryConfig
  start: model.Params | None = None     # state-adaptive methods: the cell's start point
  start_epoch: jax.Array | None = None  # ... and the dense epoch it is (0 for fresh)
  loss: Callable = model.loss          # the task family's loss(params, mask, x, y)


def at(traj: model.Params, epoch) -> model.Params:
  return jax.tree.map(lambda a: a[epoch], traj)


# ----------------------------------------------------------------------------- top-k
def keep_count(density: jax.Array, size: int) -> jax.Array:
  """k = clip(round(ρ · size), 1, size), int32."""
  return jnp.clip(jnp.round(density * size), 1, size).astype(jnp.int32)


def topk_mask(score: jax.Array, density: jax.Array, tiebreak: jax.Array | None = None,
              within: jax.Array | None = None) -> jax.Array:
  """0/1 mask (score's shape) keeping exactly keep_count(density) entries.

  Order: entries inside `within` first (nesting), then higher score, then higher
  tiebreak, then lower flat index. NaN scores rank as −inf.
  """
  flat = jnp.nan_to_num(score.ravel(), nan=-jnp.inf, posinf=jnp.finfo(jnp.float32).max)
  keys = [-flat]
  if tiebreak is not None:
    keys.insert(0, -jnp.nan_to_num(tiebreak.ravel(), nan=-jnp.inf))
  if within is not None:
    keys.append(-within.ravel())
  order = jnp.lexsort(tuple(keys)) if len(keys) > 1 else jnp.argsort(keys[0], stable=True)
  ranks = jnp.zeros_like(order).at[order].set(jnp.arange(flat.size, dtype=order.dtype))
  return (ranks < keep_count(density, flat.size)).reshape(score.shape).astype(jnp.float32)


# ------------------------------------------------------------------- weight-space scores
def w1_loss(w1: jax.Array, params: model.Params, x, y, loss=model.loss) -> jax.Array:
  """Training loss `loss` (the task family's) as a function of W1 alone (dense mask)."""
  return loss({**params, "W1": w1}, jnp.ones_like(w1), x, y)


def w1_grad(params, x, y, loss=model.loss):
  return jax.grad(w1_loss)(params["W1"], params, x, y, loss)


def w1_hessian(params, x, y, loss=model.loss) -> jax.Array:
  """(H·d, H·d) Hessian of the loss over flattened W1 (exact; W1 is small here)."""
  shape = params["W1"].shape
  f = lambda w: w1_loss(w.reshape(shape), params, x, y, loss)
  return jax.hessian(f)(params["W1"].ravel())


def damped_inverse(hess: jax.Array, damping: float) -> jax.Array:
  """(H + λ·mean(diag H)·I)^{-1}, λ = damping; H is a loss Hessian over W1 (PSD: the
  network is piecewise linear in W1), so for λ > 0 the damped matrix is SPD."""
  lam = damping * jnp.maximum(jnp.mean(jnp.diag(hess)), 1e-8)
  return kernels.spd_inverse(hess + lam * jnp.eye(hess.shape[0], dtype=hess.dtype))


def obs_saliency(w1: jax.Array, hinv: jax.Array) -> jax.Array:
  """OBS saliency w_q² / (2 [H⁻¹]_qq), shape of w1."""
  return (w1.ravel() ** 2 / (2.0 * jnp.diag(hinv))).reshape(w1.shape)


def hvp_w1(params, x, y, v: jax.Array, loss=model.loss) -> jax.Array:
  """H v for the loss Hessian over W1 (forward-over-reverse)."""
  g = lambda w: jax.grad(w1_loss)(w, params, x, y, loss)
  return jax.jvp(g, (params["W1"],), (v,))[1]


def synflow_scores(layers: list[jax.Array]) -> tuple[list[jax.Array], jax.Array]:
  """SynFlow scores |∂R/∂θ ⊙ θ| for a linear chain layers[-1] @ ... @ layers[0].

  R = 1ᵀ |L_last| ⋯ |L_0| 1 (all-ones input, biases dropped). Each layer is divided by its
  max |entry| first: R scales by a positive constant, so rankings are unchanged and the
  product cannot overflow float32. Returns (scores per layer, R of the normalised chain).
  """
  absl = [jnp.abs(l) / jnp.maximum(jnp.max(jnp.abs(l)), 1e-30) for l in layers]

  def r_fn(ls):
    v = jnp.ones((ls[0].shape[1],), jnp.float32)
    for l in ls:
      v = l @ v
    return v.sum()

  r, grads = jax.value_and_grad(r_fn)(absl)
  return [g * a for g, a in zip(grads, absl)], r


def clause_couplings(c0: jax.Array, clause_vars, clause_pols) -> jax.Array:
  """a (m, 1+k, d): a[c,r,j] = Σ_i C0[j, vars(c)_i] pol(c)_i t_r,i / √k over all templates.

  Coordinate W1[h, j] adds W1[h, j] · a[c, r, j] to the alignment u[h, c] · t_r / √k.
  """
  kp, n1p = codes_lib.templates(clause_vars.shape[1])
  t = jnp.concatenate([kp, n1p]) / jnp.sqrt(clause_vars.shape[1])   # (R, k)
  g = c0[:, clause_vars] * clause_pols[None]                        # (d, m, k)
  return jnp.einsum("dmk,rk->mrd", g, t)


# ----------------------------------------------------------- feature-space site scores
def site_geometry(params: model.Params, ctx: Context, target=None):
  """Distance d (H, m) of every site to a template, and that template t (H, m, k) in ±1.

  target: None → each site's nearest template (`codes.nearest`, so the 3N1P rotation is
  the one codes.py reports); or (type (H, m), rotation (H, m)) → that fixed template.
  Returns (d, t, (type, rotation))."""
  h, d = params["W1"].shape
  rot = None if target is None else target[1]
  c = codes_lib.codes_of(params, jnp.ones((h, d)), ctx.clause_vars, ctx.clause_pols,
                         ctx.hp.tau, readout_check=False, specificity=ctx.hp.specificity,
                         rotation=rot)
  kind, t, dist = codes_lib.nearest(c, ctx.clause_vars.shape[1])
  if target is not None:
    kind = target[0]
    t = jnp.where(kind[..., None] == 0, 1.0, 2.0 * jax.nn.one_hot(rot, t.shape[-1]) - 1.0)
    dist = jnp.take_along_axis(c.dist, kind[..., None], -1)[..., 0]
  return dist, t, (kind, c.rotation)


def zscore(a: jax.Array) -> jax.Array:
  return (a - a.mean()) / jnp.maximum(a.std(), 1e-12)


def site_scores(kind: str, ctx: Context):
  """Site scores (H, m) and target templates (H, m, k) at the probe epoch.

  Each site's target is its nearest template at the probe epoch e (`site_geometry`);
  d_e and d_0 are distances to that same target at epoch e and at θ0.
  static = −d_e; dynamic = d_0 − d_e; combined = z(static) + w · z(dynamic).
  """
  d_e, t, target = site_geometry(at(ctx.traj, ctx.probe_epoch), ctx)
  d_0, _, _ = site_geometry(at(ctx.traj, 0), ctx, target)
  if kind == "static":
    s = -d_e
  elif kind == "dynamic":
    s = d_0 - d_e
  else:
    s = zscore(-d_e) + ctx.hp.combined_weight * zscore(d_0 - d_e)
  return s, t


def coordinate_contributions(params: model.Params, t: jax.Array, ctx: Context) -> jax.Array:
  """contrib (H, m, d): W1[h, j] · Σ_i C0[j, vars(c)_i] pol(c)_i t[h,c,i] / √k."""
  g = params["C0"][:, ctx.clause_vars] * ctx.clause_pols[None]       # (d, m, k)
  a = jnp.einsum("dmk,hmk->hmd", g, t) / jnp.sqrt(t.shape[-1])
  return params["W1"][:, None, :] * a


# ------------------------------------------------------------------------ translations
def translate_greedy(s, contrib, w1, density, ctx):
  """Site-greedy: sites in descending score each claim their `coords_per_site` most
  positively contributing coordinates; a coordinate ranks by its best claiming site
  (then by its contribution); unclaimed coordinates fill the budget by |W1|."""
  q = ctx.hp.coords_per_site
  kth = -jnp.sort(-contrib, axis=-1)[..., q - 1:q]                  # (H, m, 1)
  claims = (contrib >= kth) & (contrib > 0)
  prio = jnp.where(claims, s[..., None], -jnp.inf).max(1)           # (H, d)
  best = jnp.where(claims, contrib, -jnp.inf).max(1)
  tie = jnp.where(jnp.isfinite(prio), best, jnp.abs(w1) - 1e9)
  return topk_mask(prio, density, tiebreak=tie)


def site_weights(s: jax.Array) -> jax.Array:
  """Non-negative site weights relu(z(s)) (H, m)."""
  return jax.nn.relu(zscore(s))


def translate_row(s, contrib, w1, density, ctx):
  """Row aggregation: score[h, j] = Σ_c relu(z(s))[h, c] · |contrib[h, c, j]|, so rows
  holding many strong sites get more of the budget."""
  return topk_mask(jnp.einsum("hm,hmd->hd", site_weights(s), jnp.abs(contrib)), density,
                   tiebreak=jnp.abs(w1))


def translate_orth(s, contrib, w1, density, ctx):
  """Orthogonalized: score = max_c w_c·contrib_c − λ·Σ_{c'≠c} w_c'·|contrib_c'|: a coordinate
  is worth keeping if it drives its best site without feeding the row's other sites."""
  wc = site_weights(s)[..., None] * contrib
  best_c = jnp.argmax(wc, axis=1)                                   # (H, d)
  best = jnp.take_along_axis(wc, best_c[:, None], 1)[:, 0]
  interf = jnp.abs(wc).sum(1) - jnp.abs(best)
  return topk_mask(best - ctx.hp.orth_penalty * interf, density, tiebreak=jnp.abs(w1))


def translate_signed(s, contrib, w1, density, ctx):
  """Joint signed: score[h, j] = Σ_c relu(z(s))[h, c] · contrib[h, c, j] (signed), keeping
  coordinates that push the row's weighted sites towards their templates jointly."""
  return topk_mask(jnp.einsum("hm,hmd->hd", site_weights(s), contrib), density,
                   tiebreak=jnp.abs(w1))


def translate_omp(s, contrib, w1, density, ctx, c0=None, t=None):
  """Joint OMP-style (matching pursuit, no refit): each row's target in feature space is
  T_h = Σ_c relu(z(s))[h,c] · scatter(t[h,c] ⊙ pol(c) at vars(c)) ∈ R^n; atoms are the rows
  C0[j] ∈ R^n. Repeat k times: pick the unselected (h, j) maximising |⟨r_h, C0[j]⟩|/‖C0[j]‖,
  subtract its projection from r_h."""
  hdim, d = w1.shape
  n = c0.shape[1]
  w = site_weights(s)
  lit = t * ctx.clause_pols[None]                                   # (H, m, k)
  tgt = jnp.zeros((hdim, n)).at[:, ctx.clause_vars].add(w[..., None] * lit)
  norms = jnp.maximum(jnp.linalg.norm(c0, axis=1), 1e-12)           # (d,)
  k = keep_count(density, hdim * d)

  def body(_, carry):
    r, sel = carry
    corr = (r @ c0.T) / norms                                       # (H, d)
    pick = jnp.argmax(jnp.where(sel > 0, -jnp.inf, jnp.abs(corr)).ravel())
    h, j = pick // d, pick % d
    r = r.at[h].add(-corr[h, j] / norms[j] * c0[j])
    return r, sel.at[h, j].set(1.0)

  _, sel = jax.lax.fori_loop(0, k, body, (tgt, jnp.zeros((hdim, d))))
  return sel


TRANSLATE = {"greedy": translate_greedy, "row": translate_row, "orth": translate_orth,
             "signed": translate_signed, "omp": translate_omp}


# ------------------------------------------------------------------------ the registry
class Impl(NamedTuple):
  """How a method (`methods.METHODS[name]`) computes: prepare(ctx) -> aux once per (dense
  run, probe epoch); select(aux, ctx, density) -> (mask (H, d), w1_post (H, d),
  detect_epoch int32): the dense epoch whose state decided the mask (`EPOCH`), −1 when
  Early-Bird never fired and fell back to the dense-final mask."""
  prepare: Callable
  select: Callable


def final_w1(ctx):
  return at(ctx.traj, -1)["W1"]


EPOCH = {"init": lambda ctx: jnp.int32(0),
         "probe": lambda ctx: jnp.asarray(ctx.probe_epoch, jnp.int32),
         "final": lambda ctx: jnp.int32(ctx.traj["W1"].shape[0] - 1)}


def score_method(score_fn: Callable, reads: str) -> Impl:
  """A one-shot method: keep the top-ρ fraction of score_fn(ctx) (H, d); `reads` ("init",
  "probe", "final") is the dense epoch it reads, its detect_epoch."""
  return Impl(lambda ctx: score_fn(ctx),
              lambda aux, ctx, rho: (topk_mask(aux, rho), final_w1(ctx), EPOCH[reads](ctx)))


def _snip(ctx):
  p = at(ctx.traj, 0)
  return jnp.abs(w1_grad(p, ctx.x, ctx.y, ctx.loss) * p["W1"])


# Weight matrices of the built-in families that a whole-network method (GraSP) prunes: the
# clause model's W1 and W2 (the embedding C0 and the biases are not pruned), TMS's W1 alone.
PRUNABLE = ("W1", "W2")


def grasp_scores(params: model.Params, x, y, loss=model.loss, temperature: float = 200.0,
                 prunable: tuple = PRUNABLE) -> dict:
  """GraSP (Wang et al., 2020) as Synaptic-Flow's `GraSP.score` computes it.

  L_T(θ) = loss with the network output divided by T = `temperature` (their T = 200);
  g = ∇L_T over ALL prunable weights θ = (W1, W2, ...), held fixed; z = gᵀ∇L_T; the score
  of weight q is θ_q · ∂z/∂θ_q = θ_q (H g)_q with H the Hessian of L_T over every prunable
  weight, so W1's score carries the cross-layer term H₁₂ g₂. Higher scores are KEPT
  (Synaptic-Flow keeps the top θ ⊙ Hg; Wang et al. remove the top −θ ⊙ Hg: the same
  ranking). Their normalisation by |Σ scores| is a positive constant and is dropped.
  Returns {name: score (shape of params[name])} for the prunable leaves present."""
  names = tuple(k for k in prunable if k in params)
  ones = jnp.ones_like(params["W1"])
  f = lambda w: loss({**params, **w}, ones, x, y, temperature=temperature)
  w = {k: params[k] for k in names}
  g = jax.lax.stop_gradient(jax.grad(f)(w))
  hg = jax.jvp(jax.grad(f), (w,), (g,))[1]
  return {k: w[k] * hg[k] for k in names}


def _grasp(ctx):
  return grasp_scores(at(ctx.traj, 0), ctx.x, ctx.y, ctx.loss, ctx.hp.grasp_temperature)["W1"]


def _grasp_w1(ctx):
  """`grasp_w1`, the cheaper variant of earlier versions: T = 1 and the W1 block of the
  Hessian only, score W1 ⊙ H₁₁ g₁ (kept beside `grasp`; not the authors' computation)."""
  p = at(ctx.traj, 0)
  return p["W1"] * hvp_w1(p, ctx.x, ctx.y, w1_grad(p, ctx.x, ctx.y, ctx.loss), ctx.loss)


def _obs(ctx):
  p = at(ctx.traj, -1)
  return obs_saliency(p["W1"], damped_inverse(w1_hessian(p, ctx.x, ctx.y, ctx.loss),
                                              ctx.hp.obs_damping))


def _kappa(ctx, use_grad: bool):
  p = at(ctx.traj, ctx.probe_epoch)
  a = clause_couplings(p["C0"], ctx.clause_vars, ctx.clause_pols)   # (m, R, d)
  w = -w1_grad(p, ctx.x, ctx.y) if use_grad else p["W1"]
  return jnp.max(w[:, None, None, :] * a[None], axis=(1, 2))


def _obs_iterative_prepare(ctx):
  p = at(ctx.traj, -1)
  return damped_inverse(w1_hessian(p, ctx.x, ctx.y, ctx.loss), ctx.hp.obs_damping)


def _obs_iterative_select(hinv, ctx, rho):
  """Removes weights one at a time (least w²/2[H⁻¹]qq first), applying the OBS correction
  δw = −(w_q/[H⁻¹]_qq) H⁻¹e_q and the rank-one downdate of H⁻¹ after each removal."""
  w1 = final_w1(ctx)
  n = w1.size
  n_remove = n - keep_count(rho, n)

  def body(_, carry):
    w, hi, alive = carry
    diag = jnp.diag(hi)
    sal = jnp.where(alive > 0, w ** 2 / (2 * jnp.maximum(diag, 1e-30)), jnp.inf)
    q = jnp.argmin(sal)
    w = w - (w[q] / hi[q, q]) * hi[:, q]
    hi = hi - jnp.outer(hi[:, q], hi[q, :]) / hi[q, q]
    alive = alive.at[q].set(0.0)
    return w * alive, hi, alive

  w, _, alive = jax.lax.fori_loop(0, n_remove, body, (w1.ravel(), hinv, jnp.ones(n)))
  return alive.reshape(w1.shape), w.reshape(w1.shape), EPOCH["final"](ctx)


def _synflow_select(_, ctx, rho):
  """SynFlow (Tanaka et al., 2020) under the W1-only budget: T rounds, round t keeping the
  top ρ^(t/T) of W1 by |∂R/∂W1 ⊙ W1|, R = 1ᵀ|W2||W1 ⊙ M||C0|1, nested.

  Degenerate here: ∂R/∂|W1|[h,j] = (1ᵀ|W2|)_h · (|C0|1)_j does not depend on W1 or on the
  mask M, so every round ranks the same fixed score |W1[h,j]| a_h b_j and the iteration
  equals one-shot pruning by that readout- and embedding-weighted init magnitude (tested).
  `synflow_joint` restores the interaction between layers."""
  p = at(ctx.traj, 0)
  t_max = ctx.hp.synflow_iters

  def body(t, mask):
    (_, s_w1, _), _ = synflow_scores([p["C0"], p["W1"] * mask, p["W2"]])
    return topk_mask(s_w1, rho ** ((t + 1) / t_max), within=mask)

  return (jax.lax.fori_loop(0, t_max, body, jnp.ones_like(p["W1"])), final_w1(ctx),
          EPOCH["init"](ctx))


def _synflow_joint_select(_, ctx, rho):
  """SynFlow with W1 and W2 pruned jointly, as the original prunes every layer: round t
  keeps the top ρ^(t/T) of all W1 ∪ W2 entries by one global ranking of |∂R/∂θ ⊙ θ|, with
  R read through both masks, so pruning W2 changes W1's scores and vice versa. The W1
  budget is then met exactly: the W1 mask keeps keep_count(ρ) entries of W1, those of the
  joint mask first (by score), nested; if the joint mask holds fewer, the pruned W1 entries
  fill the rest by the SynFlow score they would have if restored (W1 unmasked, W2 at its
  joint mask), lower flat index on exact ties — not by flat index alone. Only the W1 mask
  is returned: sparse training keeps the W1-only budget (W2 trains dense)."""
  p = at(ctx.traj, 0)
  t_max = ctx.hp.synflow_iters
  n1 = p["W1"].size

  def scores(m1, m2):
    (_, s1, s2), _ = synflow_scores([p["C0"], p["W1"] * m1, p["W2"] * m2])
    return s1, s2

  def body(t, masks):
    m1, m2 = masks
    s1, s2 = scores(m1, m2)
    joint = topk_mask(jnp.concatenate([s1.ravel(), s2.ravel()]), rho ** ((t + 1) / t_max),
                      within=jnp.concatenate([m1.ravel(), m2.ravel()]))
    return joint[:n1].reshape(m1.shape), joint[n1:].reshape(m2.shape)

  m1, m2 = jax.lax.fori_loop(0, t_max, body, (jnp.ones_like(p["W1"]), jnp.ones_like(p["W2"])))
  s1, _ = scores(m1, m2)
  # W1 entries the joint ranking pruned score 0 through m1; they fill the budget in the
  # order of the score each would have if restored (the chain with W1 unmasked, W2 at m2).
  restored, _ = scores(jnp.ones_like(m1), m2)
  return topk_mask(s1, rho, tiebreak=restored, within=m1), final_w1(ctx), EPOCH["init"](ctx)


def earlybird_epoch(masks: jax.Array, eps: float, window: int) -> jax.Array:
  """Early-Bird's stopping rule as its authors' code runs it (You et al., 2020;
  GATECH-EIC/Early-Bird-Tickets, `EarlyBird.early_bird_emerge`), on masks (E+1, ...) of
  dense epochs 0..E.

  The authors call `early_bird_emerge` at the start of every epoch, before training it, so
  the first mask put in the FIFO of `window` (their epoch_keep = 5) masks is θ0's. Once the
  FIFO is full, the NEWEST mask m_e is compared with EACH older mask in it: the mask
  distance δ(m_e, m_{e−i}) = fraction of entries that differ (normalised Hamming), i = 1 ..
  window − 1, and the ticket is drawn at the first e ≥ window − 1 with every δ ≤ eps (they
  refuse on δ > 0.1). Returns e, or −1 if no epoch qualifies (int32)."""
  flat = masks.reshape(masks.shape[0], -1).astype(jnp.float32)
  size = flat.shape[1]
  ones = flat.sum(1)
  differ = ones[:, None] + ones[None, :] - 2.0 * flat @ flat.T           # (E+1, E+1) counts
  epochs = jnp.arange(masks.shape[0])
  lags = jnp.arange(1, window)
  older = jnp.clip(epochs[:, None] - lags[None, :], 0, masks.shape[0] - 1)
  close = jnp.take_along_axis(differ, older, 1) <= eps * size
  ok = close.all(1) & (epochs >= window - 1)
  return jnp.where(ok.any(), epochs[jnp.argmax(ok)], -1).astype(jnp.int32)


def earlybird_epoch_consecutive(masks: jax.Array, eps: float, window: int) -> jax.Array:
  """The `earlybird_consecutive` variant of earlier versions (not the authors' rule):
  δ_e = fraction of entries where m_e and m_{e−1} differ; the first epoch e ≥ window whose
  last window − 1 CONSECUTIVE distances δ_{e−window+2}, ..., δ_e are all < eps; θ0 never
  enters. Returns e, or −1 if no epoch qualifies (int32)."""
  dist = jnp.abs(masks[1:] - masks[:-1]).reshape(masks.shape[0] - 1, -1).mean(1)  # δ_1..δ_E
  lag = window - 1
  epochs = jnp.arange(1, masks.shape[0])
  ok = jnp.stack([jnp.roll(dist, i) < eps for i in range(lag)]).all(0) & (epochs >= window)
  return jnp.where(ok.any(), epochs[jnp.argmax(ok)], -1).astype(jnp.int32)


def earlybird_select(rule: Callable) -> Callable:
  """select() of an Early-Bird method with stopping rule `rule` (`earlybird_epoch` or
  `earlybird_epoch_consecutive`): magnitude masks m_e (|W1| top-ρ) at every dense epoch;
  the ticket is m_e at the firing epoch e, or the dense-final mask m_E if it never fires
  (detect_epoch −1 then)."""
  def select(_, ctx, rho):
    masks = jax.vmap(lambda w: topk_mask(jnp.abs(w), rho))(ctx.traj["W1"])  # (E+1, H, d)
    e = rule(masks, ctx.hp.earlybird_eps, ctx.hp.earlybird_window)
    return masks[jnp.where(e >= 0, e, masks.shape[0] - 1)], final_w1(ctx), e
  return select


def feature_columns(w1: jax.Array, density: jax.Array) -> jax.Array:
  """TMS's feature-space rule (`methods.METHODS["feature_columns"]`): sites are features,
  the columns W1[:, i]; features are ranked by their norm ‖W1[:, i]‖ and kept whole in
  that order, entries within a column by |W1| (so the budget's last column is kept in
  part). Returns a 0/1 mask of w1's shape at exact density (`topk_mask`)."""
  norms = jnp.broadcast_to(jnp.linalg.norm(w1, axis=0)[None], w1.shape)
  return topk_mask(norms, density, tiebreak=jnp.abs(w1))


def adaptive_impl(translation: str) -> Impl:
  """State-adaptive static rule: sites scored by −d at the cell's own start point
  ctx.start (its nearest template there), translated to W1 entries of that point."""
  def select(_, ctx, rho):
    p = ctx.start
    d, t, _ = site_geometry(p, ctx)
    extra = {"c0": p["C0"], "t": t} if translation == "omp" else {}
    mask = TRANSLATE[translation](-d, coordinate_contributions(p, t, ctx), p["W1"], rho,
                                  ctx, **extra)
    return mask, final_w1(ctx), jnp.asarray(ctx.start_epoch, jnp.int32)

  return Impl(lambda ctx: None, select)


def feature_impl(kind: str, translation: str) -> Impl:
  """Site score `kind` (methods.SITE_SCORES) at the probe epoch, translated to W1 entries."""
  def prepare(ctx):
    s, t = site_scores(kind, ctx)
    p = at(ctx.traj, ctx.probe_epoch)
    return s, t, coordinate_contributions(p, t, ctx)

  def select(aux, ctx, rho):
    s, t, contrib = aux
    p = at(ctx.traj, ctx.probe_epoch)
    extra = {"c0": p["C0"], "t": t} if translation == "omp" else {}
    return (TRANSLATE[translation](s, contrib, p["W1"], rho, ctx, **extra), final_w1(ctx),
            EPOCH["probe"](ctx))

  return Impl(prepare, select)


# every weight-space method, and feature-space rules that are not (site score,
# translation) pairs (TMS's feature_columns)
_NAMED_IMPLS: dict[str, Impl] = {
    "random": score_method(lambda ctx: jax.random.uniform(ctx.key, final_w1(ctx).shape),
                           "init"),
    "init_magnitude": score_method(lambda ctx: jnp.abs(at(ctx.traj, 0)["W1"]), "init"),
    "checkpoint_magnitude": score_method(
        lambda ctx: jnp.abs(at(ctx.traj, ctx.probe_epoch)["W1"]), "probe"),
    "oracle": score_method(lambda ctx: jnp.abs(final_w1(ctx)), "final"),
    "obs": score_method(_obs, "final"),
    "obs_iterative": Impl(_obs_iterative_prepare, _obs_iterative_select),
    "snip": score_method(_snip, "init"),
    "grasp": score_method(_grasp, "init"),
    "grasp_w1": score_method(_grasp_w1, "init"),
    "synflow": Impl(lambda ctx: None, _synflow_select),
    "synflow_joint": Impl(lambda ctx: None, _synflow_joint_select),
    "earlybird": Impl(lambda ctx: None, earlybird_select(earlybird_epoch)),
    "earlybird_consecutive": Impl(lambda ctx: None,
                                  earlybird_select(earlybird_epoch_consecutive)),
    "w1_kappa": score_method(lambda ctx: _kappa(ctx, False), "probe"),
    "w1_grad_kappa": score_method(lambda ctx: _kappa(ctx, True), "probe"),
    "feature_columns": Impl(lambda ctx: None, lambda _, ctx, rho: (
        feature_columns(at(ctx.traj, ctx.probe_epoch)["W1"], rho), final_w1(ctx),
        EPOCH["probe"](ctx))),
}


def _impl(m) -> Impl:
  if m.name in _NAMED_IMPLS:
    return _NAMED_IMPLS[m.name]
  if m.scores_at == "start":
    return adaptive_impl(m.translation)
  return feature_impl(m.site_score, m.translation)


IMPLS: dict[str, Impl] = {name: _impl(m) for name, m in METHODS.items()}
