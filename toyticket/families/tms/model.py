"""Toy Models of Superposition (Elhage et al. 2022) as pure functions: data, model, loss and
the feature-geometry measures; the "tms" task family of the ticket cycle (`cycle.FAMILIES`).

Data: n features, x_i = 0 with probability S (the sparsity), else x_i ~ U[0, 1],
independently; a finite train and test set from the data seed (`make_task`), like the
clause world's. Importance I_i = decay^i.
Model (m < n hidden dims), with the ticket mask M on W: params "W" (m, n), the family's
masked leaf (`family.TmsFamily.prunable`, which every weight-space discovery method reads),
"C0" the identity (n, n) (TMS features ARE the inputs, so the feature-space weights
C1 = (W ⊙ M) C0 are W itself; C0 never trains), "b" the output bias (n,):
  h = C1 x ∈ R^m,   x̂ = relu(C1ᵀ h + b) ∈ R^n.
Loss: mean over examples of Σ_i I_i (y_i − x̂_i)², target y = x  (`loss`).

Feature geometry of W (columns W_i ∈ R^m are the features' directions):
  norm ‖W_i‖; represented iff ‖W_i‖ ≥ REPRESENTED_MIN = 1/√2 (gain ‖W_i‖² ≥ 1/2; at
  Xavier init ‖W_i‖ ≈ √(2m/(n+m)), so report the θ0 count beside every count);
  dimensionality D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)²  (Ŵ_i = W_i/‖W_i‖; 0 if W_i = 0):
    1 for a feature with a dimension of its own, 1/2 for each of an antipodal pair, 1/3
    for a triangle, …;
  superposed iff represented and Σ_{j≠i} (Ŵ_i · W_j)² ≥ SUPERPOSED_MIN · ‖W_i‖².
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from toyticket.discovery import impls as discovery
from toyticket.families.clause import metrics
from toyticket.core import names
from toyticket.families.tms.schema import CellReadings, DenseReadings
from toyticket.ticket import train
from toyticket.ticket.family import register_readings

register_readings(DenseReadings, CellReadings)

# ‖W_i‖ from which feature i counts as represented: its gain ‖W_i‖² (how much of x_i
# returns along W_i) is at least 1/2
REPRESENTED_MIN = names.TMS_REPRESENTED_MIN
SUPERPOSED_MIN = 0.1    # interference, relative to ‖W_i‖², from which i is superposed


def importance(n: int, decay: float) -> jax.Array:
  """I_i = decay^i, shape (n,)."""
  return decay ** jnp.arange(n, dtype=jnp.float32)


@dataclasses.dataclass(frozen=True)
class TmsTask:
  """A TMS data set (numpy float32): x_* (N, n) inputs at feature sparsity S; the targets
  y_* are the inputs themselves (an autoencoder)."""
  n: int
  sparsity: float
  x_train: np.ndarray
  y_train: np.ndarray
  x_test: np.ndarray
  y_test: np.ndarray

  def tables(self) -> dict:
    """What a reader needs of this task (tasks.json): nothing beyond the config."""
    return {}

  @property
  def n_out(self) -> int:
    return self.n

  def floor_loss(self, decay: float) -> float:
    """Test loss of the best constant reconstruction x̂ = mean(x_test) (what a model with
    W = 0 and b at the means reaches): Σ_i I_i Var(x_i), the chance floor of `loss`."""
    imp = decay ** np.arange(self.n, dtype=np.float64)
    return float(np.sum(imp * self.x_test.astype(np.float64).var(0)))


def make_task(data_seed: int, n: int, sparsity: float, n_train: int, n_test: int) -> TmsTask:
  """Deterministic TMS data from data_seed (numpy PCG64, stream (data_seed, 2, S·10⁶)):
  x_i = 0 with probability `sparsity`, else U[0, 1]."""
  rng = np.random.default_rng((data_seed, 2, int(round(sparsity * 1e6))))

  def draw(count):
    v = rng.random((count, n), dtype=np.float32)
    return np.where(rng.random((count, n)) < sparsity, 0.0, v).astype(np.float32)

  x_tr, x_te = draw(n_train), draw(n_test)
  return TmsTask(n, float(sparsity), x_tr, x_tr, x_te, x_te)


def init_params(key: jax.Array, c0: jax.Array, hidden: int, n_out: int = 0) -> dict:
  """W ~ N(0, 2/(n + m)) (Xavier normal, as in the TMS notebooks), b = 0; C0 is passed
  in (the identity). The signature is `model.init_params`'s (n_out is unused: n_out = n)."""
  n = c0.shape[1]
  w = jax.random.normal(key, (hidden, c0.shape[0]), jnp.float32) * jnp.sqrt(2.0 / (n + hidden))
  return {"C0": c0, "W": w, "b": jnp.zeros((n,), jnp.float32)}


def feature_weights(params: dict, mask: jax.Array) -> jax.Array:
  """C1 = (W ⊙ M) C0, shape (m, n): feature i's direction in the hidden space is C1[:, i]."""
  return (params["W"] * mask) @ params["C0"]


def apply(params: dict, mask: jax.Array, x: jax.Array) -> jax.Array:
  """Reconstructions x̂ (B, n) of x (B, n): relu((x C1ᵀ) C1 + b), C1 = (W ⊙ M) C0."""
  c1 = feature_weights(params, mask)
  return jax.nn.relu((x @ c1.T) @ c1 + params["b"])


def loss(params: dict, mask: jax.Array, x: jax.Array, y: jax.Array,
         imp: jax.Array, temperature: float = 1.0) -> jax.Array:
  """Importance-weighted squared error: mean_b Σ_i I_i (y_bi − x̂_bi / T)², a scalar; y = x,
  T = `temperature` (1 for training; GraSP divides the network output by its T as
  Synaptic-Flow does for any loss)."""
  return jnp.mean(jnp.sum(imp * (y - apply(params, mask, x) / temperature) ** 2, -1))


def feature_norms(w: jax.Array) -> jax.Array:
  """‖W_i‖ per feature, (n,), for W (m, n)."""
  return jnp.linalg.norm(w, axis=0)


def _overlap(w: jax.Array) -> tuple[jax.Array, jax.Array]:
  """(‖W_i‖, Σ_j (Ŵ_i · W_j)² with j = i included), each (n,)."""
  norms = feature_norms(w)
  unit = w / jnp.maximum(norms, 1e-12)
  return norms, jnp.sum((unit.T @ w) ** 2, -1)


def feature_dimensionality(w: jax.Array) -> jax.Array:
  """D_i = ‖W_i‖² / Σ_j (Ŵ_i · W_j)², (n,); 0 for a zero column."""
  norms, overlap = _overlap(w)
  return jnp.where(norms > 1e-6, norms ** 2 / jnp.maximum(overlap, 1e-12), 0.0)


def represented(w: jax.Array) -> jax.Array:
  """(n,) bool: ‖W_i‖ ≥ REPRESENTED_MIN."""
  return feature_norms(w) >= REPRESENTED_MIN


def superposed(w: jax.Array) -> jax.Array:
  """(n,) bool: represented and Σ_{j≠i} (Ŵ_i · W_j)² ≥ SUPERPOSED_MIN ‖W_i‖²."""
  norms, overlap = _overlap(w)
  return represented(w) & (overlap - norms ** 2 >= SUPERPOSED_MIN * norms ** 2)


def same_feature_recall(w_dense: jax.Array, w_sparse: jax.Array) -> jax.Array:
  """Of the features the dense run represents, the fraction the sparse run represents too
  (NaN if the dense run represents none): the TMS analogue of same-site recall."""
  dense, sparse = represented(w_dense), represented(w_sparse)
  return metrics.ratio(jnp.sum(dense & sparse), jnp.sum(dense))


def gram_similarity(w_a: jax.Array, w_b: jax.Array) -> jax.Array:
  """Cosine similarity of the Gram matrices W_aᵀW_a and W_bᵀW_b (n, n), flattened: 1 when
  the two place the features in the same geometry (norms and pairwise angles) up to a
  rotation of the hidden space, which no rewound run is bound to keep; NaN if either is 0."""
  ga, gb = (w.T @ w for w in (w_a, w_b))
  den = jnp.linalg.norm(ga) * jnp.linalg.norm(gb)
  return jnp.where(den > 0, jnp.sum(ga * gb) / jnp.maximum(den, 1e-30), jnp.nan)


# ------------------------------------------------------- readings of the ticket cycle
def loss_of(params: dict, mask: jax.Array, x: jax.Array, y: jax.Array,
            decay: float, temperature: float = 1.0) -> jax.Array:
  """`loss` with importance decay^i: the family loss the cycle trains and scores with."""
  return loss(params, mask, x, y, importance(x.shape[-1], decay), temperature)


def geometry(params: dict, mask: jax.Array) -> dict:
  """Feature geometry of one network: C1 = (W ⊙ M) C0 (m, n) and per feature its norm,
  dimensionality, represented and superposed flags (n,)."""
  c1 = feature_weights(params, mask)
  return {"c1": c1, "norms": feature_norms(c1), "dim": feature_dimensionality(c1),
          "represented": represented(c1), "superposed": superposed(c1)}


def mean_dimensionality(g: dict) -> jax.Array:
  """Mean D_i over the represented features (NaN if none is represented)."""
  return metrics.ratio(jnp.sum(g["dim"] * g["represented"]), jnp.sum(g["represented"]))


def dense_readings(traj: dict, losses: jax.Array, data: dict, decay: float) -> dict:
  """One dense TMS run, traj leaves (E+1, ...), losses (E,): per epoch the test loss,
  represented and superposed feature counts and mean dimensionality (E+1,); at θ0 and the
  dense end (2, ...): norms and dimensionality (n,) and W (m, n)."""
  ones = jnp.ones_like(traj["W"][0])
  test = jax.vmap(lambda p: loss_of(p, ones, data["x_test"], data["y_test"], decay))(traj)
  geo = jax.vmap(lambda p: geometry(p, ones))(traj)
  ends = jax.tree.map(lambda v: jnp.stack([v[0], v[-1]]), geo)
  return DenseReadings(
      loss=losses, test_loss=test, diverged_epoch=train.diverged_epoch(traj, losses),
      represented=geo["represented"].sum(-1), superposed=geo["superposed"].sum(-1),
      dim_mean=jax.vmap(mean_dimensionality)(geo),
      norms_ends=ends["norms"], dim_ends=ends["dim"], w_ends=ends["c1"])


def cell_readings(traj: dict, start: dict, mask: jax.Array, density: jax.Array,
                  straj: dict, slosses: jax.Array, data: dict, decay: float) -> dict:
  """One sparse TMS run of the dense run traj (E+1, ...): start point, mask (m, n), density,
  its trajectory straj (E+1, ...) and losses (E,). Test losses of the sparse final, the mask
  on the dense final without retraining ("masked") and on the start point ("rewind");
  represented / superposed counts and mean dimensionality of the sparse final, with the
  chance level (the mask at θ0, untrained) and the masked dense final; same-feature recall
  and Gram similarity against the dense final; Jaccard of the mask with the oracle's."""
  at = discovery.at
  d_end, s_end = at(traj, -1), at(straj, -1)
  test = lambda p: loss_of(p, mask, data["x_test"], data["y_test"], decay)
  ones = jnp.ones_like(mask)
  dense, sparse = geometry(d_end, ones), geometry(s_end, mask)
  chance, masked = geometry(at(traj, 0), mask), geometry(d_end, mask)
  oracle = discovery.topk_mask(jnp.abs(d_end["W"]), density)
  return CellReadings(
      realised_density=mask.mean(), loss=slosses,
      sparse_loss=test(s_end), masked_loss=test(d_end), rewind_loss=test(start),
      diverged_epoch=train.diverged_epoch(straj, slosses),
      pruned_nonzero=jnp.sum((mask == 0) & (s_end["W"] != 0)),
      collapsed_rows=jnp.sum(mask.sum(1) == 0),
      cut_features=jnp.sum((mask @ jnp.abs(d_end["C0"])).sum(0) == 0),
      sparse_represented=sparse["represented"].sum(),
      sparse_superposed=sparse["superposed"].sum(),
      sparse_dim_mean=mean_dimensionality(sparse),
      chance_represented=chance["represented"].sum(),
      chance_superposed=chance["superposed"].sum(),
      masked_represented=masked["represented"].sum(),
      new_features=jnp.sum(sparse["represented"] & ~dense["represented"]),
      same_feature_recall=same_feature_recall(dense["c1"], sparse["c1"]),
      gram_similarity=gram_similarity(dense["c1"], sparse["c1"]),
      jaccard_mask_oracle=metrics.jaccard(mask, oracle),
      sparse_norms=sparse["norms"], sparse_dim=sparse["dim"], sparse_w=sparse["c1"],
      represented_traj=jax.vmap(
          lambda p: represented(feature_weights(p, mask)).sum())(straj),
  )
