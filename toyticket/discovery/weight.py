"""Weight-space discovery methods: saliencies (SNIP, GraSP, OBS and iterative OBS),
SynFlow, Early-Bird's mask stability, TMS's feature columns; each as (prepare, select)
parts or the score it ranks (`base.score_method`). Shapes: W1 (H, d); scores like W1."""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from toyticket.families.clause import kernels, model
from toyticket.discovery.base import EPOCH, at, final_w1, implements, keep_count, topk_mask


# ------------------------------------------------------ controls and magnitudes
@implements("random", reads="init")
def random_scores(ctx):
  """Uniform scores from the run's DISCOVERY stream: a random mask at exact density."""
  return jax.random.uniform(ctx.key, final_w1(ctx).shape)


@implements("init_magnitude", reads="init")
def init_magnitude(ctx):
  """|W| at θ0."""
  return jnp.abs(at(ctx.traj, 0)[ctx.prunable])


@implements("checkpoint_magnitude", reads="probe")
def checkpoint_magnitude(ctx):
  """|W| at the probe epoch."""
  return jnp.abs(at(ctx.traj, ctx.probe_epoch)[ctx.prunable])


@implements("oracle", reads="final")
def oracle_magnitude(ctx):
  """|W| at the dense end (the one-shot oracle, a post-training reference)."""
  return jnp.abs(final_w1(ctx))


def w1_loss(w1: jax.Array, params: model.Params, x, y, loss=model.loss,
            leaf: str = "W1") -> jax.Array:
  """Training loss `loss` (the task family's) as a function of the masked leaf alone
  (`leaf`, W1 for the clause model; dense mask)."""
  return loss({**params, leaf: w1}, jnp.ones_like(w1), x, y)


def w1_grad(params, x, y, loss=model.loss, leaf: str = "W1"):
  return jax.grad(w1_loss)(params[leaf], params, x, y, loss, leaf)


def w1_hessian(params, x, y, loss=model.loss, leaf: str = "W1") -> jax.Array:
  """(H·d, H·d) Hessian of the loss over the flattened masked leaf (exact; it is small)."""
  shape = params[leaf].shape
  f = lambda w: w1_loss(w.reshape(shape), params, x, y, loss, leaf)
  return jax.hessian(f)(params[leaf].ravel())


def damped_inverse(hess: jax.Array, damping: float) -> jax.Array:
  """(H + λ·mean(diag H)·I)^{-1}, λ = damping; H is a loss Hessian over W1 (PSD: the
  network is piecewise linear in W1), so for λ > 0 the damped matrix is SPD."""
  lam = damping * jnp.maximum(jnp.mean(jnp.diag(hess)), 1e-8)
  return kernels.spd_inverse(hess + lam * jnp.eye(hess.shape[0], dtype=hess.dtype))


def obs_saliency(w1: jax.Array, hinv: jax.Array) -> jax.Array:
  """OBS saliency w_q² / (2 [H⁻¹]_qq), shape of w1."""
  return (w1.ravel() ** 2 / (2.0 * jnp.diag(hinv))).reshape(w1.shape)


def hvp_w1(params, x, y, v: jax.Array, loss=model.loss, leaf: str = "W1") -> jax.Array:
  """H v for the loss Hessian over the masked leaf (forward-over-reverse)."""
  g = lambda w: jax.grad(w1_loss)(w, params, x, y, loss, leaf)
  return jax.jvp(g, (params[leaf],), (v,))[1]


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



@implements("snip", reads="init")
def _snip(ctx):
  p = at(ctx.traj, 0)
  return jnp.abs(w1_grad(p, ctx.x, ctx.y, ctx.loss, ctx.prunable) * p[ctx.prunable])


# Weight matrices of the clause model that a whole-network method (GraSP) prunes: W1 and W2
# (the embedding C0 and the biases are not); a family states its own (`Family.scored`).
PRUNABLE = ("W1", "W2")


def grasp_scores(params: model.Params, x, y, loss=model.loss, temperature: float = 200.0,
                 prunable: tuple = PRUNABLE, leaf: str = "W1") -> dict:
  """GraSP (Wang et al., 2020) as Synaptic-Flow's `GraSP.score` computes it.

  L_T(θ) = loss with the network output divided by T = `temperature` (their T = 200);
  g = ∇L_T over ALL prunable weights θ = (W1, W2, ...), held fixed; z = gᵀ∇L_T; the score
  of weight q is θ_q · ∂z/∂θ_q = θ_q (H g)_q with H the Hessian of L_T over every prunable
  weight, so W1's score carries the cross-layer term H₁₂ g₂. Higher scores are KEPT
  (Synaptic-Flow keeps the top θ ⊙ Hg; Wang et al. remove the top −θ ⊙ Hg: the same
  ranking). Their normalisation by |Σ scores| is a positive constant and is dropped.
  Returns {name: score (shape of params[name])} for the prunable leaves present; `leaf` is
  the masked one (the loss's mask has its shape)."""
  names = tuple(k for k in prunable if k in params)
  ones = jnp.ones_like(params[leaf])
  f = lambda w: loss({**params, **w}, ones, x, y, temperature=temperature)
  w = {k: params[k] for k in names}
  g = jax.lax.stop_gradient(jax.grad(f)(w))
  hg = jax.jvp(jax.grad(f), (w,), (g,))[1]
  return {k: w[k] * hg[k] for k in names}


@implements("grasp", reads="init")
def _grasp(ctx):
  return grasp_scores(at(ctx.traj, 0), ctx.x, ctx.y, ctx.loss, ctx.hp.grasp_temperature,
                      ctx.scored, ctx.prunable)[ctx.prunable]


@implements("grasp_w1", reads="init")
def _grasp_w1(ctx):
  """`grasp_w1`, the cheaper variant of earlier versions: T = 1 and the W1 block of the
  Hessian only, score W1 ⊙ H₁₁ g₁ (kept beside `grasp`; not the authors' computation)."""
  p, leaf = at(ctx.traj, 0), ctx.prunable
  return p[leaf] * hvp_w1(p, ctx.x, ctx.y, w1_grad(p, ctx.x, ctx.y, ctx.loss, leaf),
                          ctx.loss, leaf)


@implements("obs", reads="final")
def _obs(ctx):
  p = at(ctx.traj, -1)
  return obs_saliency(p[ctx.prunable], damped_inverse(
      w1_hessian(p, ctx.x, ctx.y, ctx.loss, ctx.prunable), ctx.hp.obs_damping))



def _obs_iterative_prepare(ctx):
  p = at(ctx.traj, -1)
  return damped_inverse(w1_hessian(p, ctx.x, ctx.y, ctx.loss, ctx.prunable),
                        ctx.hp.obs_damping)


@implements("obs_iterative", prepare=_obs_iterative_prepare)
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


def chain_synflow(params: model.Params, mask: jax.Array) -> jax.Array:
  """The clause model's SynFlow scores of W1 (`Family.synflow`): |∂R/∂W1 ⊙ W1| with
  R = 1ᵀ|W2||W1 ⊙ M||C0|1 (`synflow_scores` of the chain C0, W1 ⊙ M, W2), shape of W1."""
  (_, s_w1, _), _ = synflow_scores([params["C0"], params["W1"] * mask, params["W2"]])
  return s_w1


@implements("synflow")
def _synflow_select(_, ctx, rho):
  """SynFlow (Tanaka et al., 2020) under the prunable leaf's budget: T rounds, round t
  keeping the top ρ^(t/T) of the leaf by the family's scores |∂R/∂w ⊙ w| read through the
  current mask (`Context.synflow`), nested.

  The clause model (`chain_synflow`, R = 1ᵀ|W2||W1 ⊙ M||C0|1) is degenerate here: ∂R/∂|W1|[h,j] = (1ᵀ|W2|)_h · (|C0|1)_j does not depend on W1 or on the
  mask M, so every round ranks the same fixed score |W1[h,j]| a_h b_j and the iteration
  equals one-shot pruning by that readout- and embedding-weighted init magnitude (tested).
  `synflow_joint` restores the interaction between layers."""
  p = at(ctx.traj, 0)
  t_max = ctx.hp.synflow_iters
  scores = ctx.synflow or chain_synflow     # None: the clause model's, like Context's defaults

  def body(t, mask):
    return topk_mask(scores(p, mask), rho ** ((t + 1) / t_max), within=mask)

  return (jax.lax.fori_loop(0, t_max, body, jnp.ones_like(p[ctx.prunable])), final_w1(ctx),
          EPOCH["init"](ctx))


@implements("synflow_joint")
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
    masks = jax.vmap(lambda w: topk_mask(jnp.abs(w), rho))(ctx.traj[ctx.prunable])  # E+1
    e = rule(masks, ctx.hp.earlybird_eps, ctx.hp.earlybird_window)
    return masks[jnp.where(e >= 0, e, masks.shape[0] - 1)], final_w1(ctx), e
  return select


implements("earlybird")(earlybird_select(earlybird_epoch))
implements("earlybird_consecutive")(earlybird_select(earlybird_epoch_consecutive))


def feature_columns(w1: jax.Array, density: jax.Array) -> jax.Array:
  """TMS's feature-space rule (`methods.METHODS["feature_columns"]`): sites are features,
  the columns W1[:, i]; features are ranked by their norm ‖W1[:, i]‖ and kept whole in
  that order, entries within a column by |W1| (so the budget's last column is kept in
  part). Returns a 0/1 mask of w1's shape at exact density (`topk_mask`)."""
  norms = jnp.broadcast_to(jnp.linalg.norm(w1, axis=0)[None], w1.shape)
  return topk_mask(norms, density, tiebreak=jnp.abs(w1))


@implements("feature_columns")
def _feature_columns_select(_, ctx, rho):
  """`feature_columns` of W at the probe epoch."""
  return (feature_columns(at(ctx.traj, ctx.probe_epoch)[ctx.prunable], rho), final_w1(ctx),
          EPOCH["probe"](ctx))
