"""TMS on hand-built cases (model and loss, feature dimensionality, representation,
superposition, same-feature recall, Gram similarity, the feature_columns rule) and as a
task family of the cycle (batched == one at a time, readings == direct computations, the
saliency methods differentiate the TMS loss, clause-only choices refused)."""
import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from toyticket.run import checkpoints, config, execute, grid
from toyticket.discovery import impls as discovery
from toyticket.families.tms import model as tms


def test_model_and_loss_on_a_hand_computed_case():
  # n = 2 features, m = 1 hidden dim: W = [[1, -1]], b = [0, 0.5]
  p = {"C0": jnp.eye(2), "W": jnp.array([[1.0, -1.0]]), "b": jnp.array([0.0, 0.5])}
  ones = jnp.ones((1, 2))
  x = jnp.array([[1.0, 0.0], [0.5, 0.5]])
  # h = x1 − x2: (1, 0); x̂ = relu(Wᵀ h + b): (relu(1), relu(−1 + .5)) = (1, 0) and (0, .5)
  np.testing.assert_allclose(tms.apply(p, ones, x), [[1.0, 0.0], [0.0, 0.5]])
  imp = jnp.array([1.0, 0.5])
  # errors: (0, 0) and (.5, 0) → weighted sums 0 and 1·.25 → mean 0.125
  np.testing.assert_allclose(tms.loss(p, ones, x, x, imp), 0.125)
  # masking W's second entry: h = x1, x̂ = (relu(x1), relu(0 + .5))
  mask = jnp.array([[1.0, 0.0]])
  np.testing.assert_allclose(tms.apply(p, mask, x), [[1.0, 0.5], [0.5, 0.5]])
  np.testing.assert_allclose(tms.importance(3, 0.5), [1.0, 0.5, 0.25])


def test_task_has_the_asked_sparsity_and_is_deterministic():
  tk = tms.make_task(0, 4, 0.9, 20000, 100)
  assert abs(float(np.mean(tk.x_train == 0)) - 0.9) < 0.01 and float(tk.x_train.max()) <= 1.0
  assert tk.y_train is tk.x_train and tk.n_out == 4
  np.testing.assert_array_equal(tms.make_task(0, 4, 0.9, 20000, 100).x_test, tk.x_test)
  assert not np.array_equal(tms.make_task(0, 4, 0.5, 20000, 100).x_test, tk.x_test)
  # floor: Σ I_i Var(x_i); U[0,1] w.p. 0.1: Var = 0.1/3 − 0.05² = 0.030833
  big = tms.make_task(1, 2, 0.9, 10, 200000)
  np.testing.assert_allclose(big.floor_loss(0.5), 1.5 * 0.030833, rtol=0.02)


def test_feature_dimensionality_on_hand_built_geometry():
  # orthogonal features: D = 1 each
  np.testing.assert_allclose(tms.feature_dimensionality(jnp.eye(3)), [1.0, 1.0, 1.0])
  # an antipodal pair in one dimension, plus a feature alone in the other: 1/2, 1/2, 1
  w = jnp.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
  np.testing.assert_allclose(tms.feature_dimensionality(w), [0.5, 0.5, 1.0], rtol=1e-6)
  # a triangle in 2-D: 2/3 each (each feature shares its 2 dims with two at 120°)
  ang = jnp.array([0.0, 2.0, 4.0]) * jnp.pi / 3
  tri = jnp.stack([jnp.cos(ang), jnp.sin(ang)])
  np.testing.assert_allclose(tms.feature_dimensionality(tri), [2 / 3] * 3, rtol=1e-5)
  # an unrepresented (zero) feature has D = 0
  np.testing.assert_allclose(tms.feature_dimensionality(jnp.zeros((2, 1))), [0.0])


def test_represented_superposed_and_recall():
  w = jnp.array([[1.0, -1.0, 0.0, 0.1], [0.0, 0.0, 1.0, 0.0]])
  np.testing.assert_array_equal(tms.represented(w), [True, True, True, False])
  np.testing.assert_array_equal(tms.superposed(w), [True, True, False, False])
  sparse = w.at[:, 1].set(0.0)               # the ticket drops feature 1
  np.testing.assert_allclose(tms.same_feature_recall(w, sparse), 2 / 3)
  assert np.isnan(tms.same_feature_recall(jnp.zeros((2, 4)), w))


# ------------------------------------------------------- TMS as a task family of the cycle

def tms_config(**over):
  """A seconds-scale TMS config: n = 6 features in 2 dims, 3 epochs, 256 examples."""
  c = config.base_config()
  c.name = "tms_tiny"
  c.task.family, c.task.n, c.task.sparsity = "tms", 6, (0.8,)
  c.task.n_train, c.task.n_test = 256, 128
  c.model.d, c.model.hidden = 6, 2
  c.embeddings = ("identity",)
  c.train = dict(optimizer="adam", lr=0.03, momentum=0.0, batch_size=32, epochs=3,
                 grad_impl="autodiff", layout="per_dense_run")
  c.seeds, c.probe_epochs = (0, 1, 2), (1,)
  c.methods = ("oracle", "snip", "feature_columns", "random")
  c.densities, c.rewinds = (0.5,), ("probe", "fresh")
  c.discovery.score_examples, c.discovery.earlybird_window = 64, 2
  c.figures = ("tms",)
  for k, v in over.items():
    setattr(c, k, v)
  config.validate(c)
  return c


@pytest.fixture(scope="module")
def tms_run():
  g = grid.groups(tms_config())[0]
  block = list(range(len(g.dense)))
  return g, block, execute.execute(g, block)


def test_tms_cycle_batched_equals_one_at_a_time(tms_run):
  g, block, batched = tms_run
  strip = lambda labs: [{k: v for k, v in lab.items() if k != "dense_pos"} for lab in labs]
  labels = strip(g.cell_labels(block))
  pick = lambda out, c: {k: out["sparse_final"][k][c] for k in ("W", "b", "C0")}
  for r in (0, 2):
    alone = execute.execute(g, [r])
    for j, lab in enumerate(strip(g.cell_labels([r]))):
      i = labels.index(lab)
      chex.assert_trees_all_close(pick(batched, i), pick(alone, j), rtol=1e-7, atol=1e-5)
      np.testing.assert_allclose(batched["cells"].sparse_loss[i],
                                 alone["cells"].sparse_loss[j], rtol=1e-5)


def test_tms_cycle_readings_equal_direct_computations(tms_run):
  """Masks exact and never revived, C0 the frozen identity, and the cell and dense readings
  equal the same quantities computed here from the returned params."""
  g, block, out = tms_run
  labels = g.cell_labels(block)
  _, _, data = execute.inputs(g, block)
  # execute's layout: dense-run axis R leading, per-cell outputs flattened to (R·C, ...)
  chex.assert_tree_shape_prefix((out["dense"], out["dense_traj"]), (len(block),))
  chex.assert_tree_shape_prefix((out["cells"], out["sparse_final"], out["masks"]),
                                (len(block) * len(g.grid),))
  decay = g.spec.options.importance_decay
  dense_final = jax.tree.map(lambda v: v[:, -1], out["dense_traj"])
  for j, lab in enumerate(labels):
    mask, r = out["masks"][j], lab["dense_pos"]
    p = jax.tree.map(lambda v: v[j], out["sparse_final"])
    d = jax.tree.map(lambda v: v[r], dense_final)
    assert mask.mean() == lab["density"] and np.all(p["W"][mask == 0] == 0)
    np.testing.assert_array_equal(p["C0"], np.eye(6, dtype=np.float32))
    np.testing.assert_allclose(out["cells"].sparse_loss[j],
                               tms.loss_of(p, mask, data["x_test"], data["y_test"], decay),
                               rtol=1e-5)
    c1 = p["W"] * mask
    assert out["cells"].sparse_represented[j] == int(tms.represented(c1).sum())
    np.testing.assert_allclose(out["cells"].same_feature_recall[j],
                               tms.same_feature_recall(d["W"], c1), rtol=1e-6)
  for r in block:
    w = jnp.asarray(dense_final["W"][r])
    assert out["dense"].represented[r, -1] == int(tms.represented(w).sum())
    np.testing.assert_allclose(out["dense"].dim_ends[r, 1], tms.feature_dimensionality(w),
                               rtol=1e-5)


def test_tms_restore_then_rewind_equals_the_run_in_memory(tms_run, tmp_path):
  """Restoring a TMS run's dense checkpoint and running discovery onward
  (`execute(..., restored)`, the restore_from path) gives exactly the in-memory outputs."""
  g, block, out = tms_run
  checkpoints.save(str(tmp_path / "ck"), {"dense_traj": out["dense_traj"],
                                          "dense_losses": out["dense"].loss})
  rest = execute.execute(g, block, checkpoints.restore(str(tmp_path / "ck")))
  keep = lambda o: {k: o[k] for k in ("masks", "sparse_final", "cells")}
  chex.assert_trees_all_equal(keep(out), keep(rest))


def test_tms_saliency_methods_differentiate_the_tms_loss(tms_run):
  """SNIP on a TMS run scores |∂L_TMS/∂W ⊙ W| at θ0 (the importance-weighted MSE, not the
  clause model's BCE)."""
  g, block, out = tms_run
  _, _, data = execute.inputs(g, block)
  j = next(i for i, lab in enumerate(g.cell_labels(block)) if lab["method"] == "snip"
           and lab["dense_pos"] == 1)
  p0 = jax.tree.map(lambda v: v[1, 0], out["dense_traj"])
  x = data["x_train"][:g.spec.score_examples]
  grad = jax.grad(lambda w: tms.loss_of({**p0, "W": w}, jnp.ones_like(w), x, x,
                                        g.spec.options.importance_decay))(p0["W"])
  want = discovery.topk_mask(jnp.abs(grad * p0["W"]), 0.5)
  np.testing.assert_array_equal(out["masks"][j], want)


def test_feature_columns_keeps_whole_features_by_norm():
  w = jnp.array([[3.0, 0.1, 1.0, 0.0],
                 [0.0, 0.2, 1.0, 2.0]])         # norms 3, 0.22, 1.41, 2
  # density 0.5 keeps 4 entries: feature 0 (2 entries), then feature 3 (2 entries)
  np.testing.assert_array_equal(discovery.feature_columns(w, 0.5),
                                [[1, 0, 0, 1], [1, 0, 0, 1]])
  # 5 entries: then the larger entry of feature 2 (tie 1.0 = 1.0: the lower flat index)
  np.testing.assert_array_equal(discovery.feature_columns(w, 0.625),
                                [[1, 0, 1, 1], [1, 0, 0, 1]])


def test_gram_similarity_is_rotation_invariant_and_sees_geometry():
  w = jnp.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
  rot = jnp.array([[0.6, -0.8], [0.8, 0.6]])
  np.testing.assert_allclose(tms.gram_similarity(w, rot @ w), 1.0, rtol=1e-6)
  # drop the antipodal partner: Gram [[1,0,0],[0,0,0],[0,0,1]] vs [[1,-1,0],[-1,1,0],[0,0,1]]
  # <G_a, G_b> = 2, |G_a| = √5, |G_b| = √2 → 2/√10
  np.testing.assert_allclose(tms.gram_similarity(w, w.at[:, 1].set(0.0)), 2 / 10 ** 0.5,
                             rtol=1e-6)
  assert np.isnan(tms.gram_similarity(w, jnp.zeros_like(w)))


@pytest.mark.parametrize("field,value,allowed", [
    ("methods", ("w1_kappa",), "feature_columns"),
    ("embeddings", ("hadamard",), "identity"),
    ("figures", ("methods",), "tms"),
])
def test_tms_config_refuses_clause_only_choices(field, value, allowed):
  with pytest.raises(config.ConfigError, match=allowed):
    tms_config(**{field: value})
