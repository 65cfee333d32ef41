"""The batched cycle: vmap-vs-loop equality, exact masks, NaN isolation, restore, chunks."""
import os

import pytest

import chex
import jax
import jax.numpy as jnp
import numpy as np

import dataclasses

from toyticket.run import checkpoints, execute, grid, sweep
from toyticket.ticket import cycle, train
from toyticket.core import names
from toyticket.families.clause import reading as clause_reading
from toyticket.reading import results
from toyticket.run.execute import inputs


def test_train_vmap_equals_loop(tiny_group):
  g = tiny_group
  dense_in, _, data = inputs(g, [0, 1, 2])
  p0 = jax.tree.map(lambda a: a[:, None], cycle.init_dense(g.spec, dense_in))   # C = 1
  mask = jnp.ones_like(p0["W1"][0])
  run = lambda p, k, fl: train.train(p, mask, fl, k, data["x_train"], data["y_train"],
                                     g.spec.train, cycle.family_of(g.spec).step(g.spec, "fused"))
  batched, _ = jax.jit(jax.vmap(run))(p0, dense_in["key"], dense_in["c0_trainable"])
  for i in range(3):
    alone, _ = jax.jit(run)(jax.tree.map(lambda a: a[i], p0), dense_in["key"][i],
                            dense_in["c0_trainable"][i])
    chex.assert_trees_all_close(jax.tree.map(lambda a: a[i], batched), alone,
                                rtol=1e-7, atol=1e-5)


def test_runs_sharing_a_data_order_equal_runs_trained_alone(tiny_group):
  """One group of C runs (one data order, one wide matmul) == each run as its own C = 1."""
  g = tiny_group
  dense_in, _, data = inputs(g, [0, 1, 2])
  p0 = cycle.init_dense(g.spec, dense_in)                     # 3 runs as one group
  key = dense_in["key"][0]
  masks = (jax.random.uniform(key, p0["W1"].shape) < 0.5).astype(jnp.float32)
  run = jax.jit(lambda p, m: train.train(p, m, 1.0, key, data["x_train"], data["y_train"],
                                         g.spec.train,
                                         cycle.family_of(g.spec).step(g.spec, "fused")))
  group, group_losses = run(p0, masks)
  for i in range(3):
    alone, losses = run(jax.tree.map(lambda a: a[i:i + 1], p0), masks[i:i + 1])
    np.testing.assert_allclose(group_losses[i], losses[0], rtol=1e-5)
    chex.assert_trees_all_close(jax.tree.map(lambda a: a[i], group),
                                jax.tree.map(lambda a: a[0], alone), rtol=1e-7, atol=1e-5)
  assert np.all(np.asarray(group["W1"])[np.asarray(masks)[:, None].repeat(
      group["W1"].shape[1], 1) == 0] == 0)


@pytest.mark.parametrize("path", ["fused", "fused_embedded"])
def test_fast_training_paths_equal_autodiff(tiny_group, path):
  """Each CPU fast path (`kernels.PATHS`) trains a group sharing one frozen C0 to the same
  trajectory as the autodiff reference, up to float rounding; C0 itself bit-identical."""
  g = tiny_group
  dense_in, _, data = inputs(g, [0])                          # hadamard: frozen C0
  assert g.dense[0][0] == "hadamard" and not g.spec.c0_frozen  # tiny mixes in "learned"
  p0 = jax.tree.map(lambda a: jnp.repeat(a, 3, 0), cycle.init_dense(g.spec, dense_in))
  p0 = {**p0, "W1": p0["W1"] * jnp.array([1.0, 0.5, -1.0])[:, None, None],   # b1 ≠ 0: no
        "b1": 0.01 * jax.random.normal(jax.random.PRNGKey(1), p0["b1"].shape)}  # pre = 0 ties
  masks = (jax.random.uniform(dense_in["key"][0], p0["W1"].shape) < 0.6).astype(jnp.float32)
  run = jax.jit(lambda p, m, path: train.train(p, m, 0.0, dense_in["key"][0],
                                               data["x_train"], data["y_train"],
                                               g.spec.train,
                                               cycle.family_of(g.spec).step(g.spec, path)),
                static_argnums=2)
  ref, ref_losses = run(p0, masks, "autodiff")
  fast, fast_losses = run(p0, masks, path)
  np.testing.assert_allclose(fast_losses, ref_losses, rtol=1e-5)
  chex.assert_trees_all_close(fast, ref, rtol=1e-7, atol=1e-5)
  np.testing.assert_array_equal(fast["C0"], ref["C0"])
  from conftest import tiny_config
  assert grid.groups(tiny_config(embeddings=("hadamard", "random_fixed")))[0].spec.c0_frozen


def test_a_dense_run_alone_equals_it_in_a_chunk_bit_for_bit(tiny_group):
  """Layout "per_dense_run" (the default): every output of a dense run (its readings,
  trajectory, masks, sparse finals and cell readings) is bit-identical whether its program
  holds all 4 dense runs or it alone: no result depends on how many dense runs a chunk or
  a device holds (test_resilience checks 4 devices against 1). (Under "batched" the same
  comparison on a 6-dense-run tiny config differs in 986 sparse-final weights.)"""
  g = tiny_group
  assert g.spec.train.layout == "per_dense_run"
  block = list(range(len(g.dense)))
  whole = execute.execute(g, block)
  c = whole["masks"].shape[0] // len(block)
  strip = lambda labs: [{k: v for k, v in lab.items() if k != "dense_pos"} for lab in labs]
  for r in block:
    alone = execute.execute(g, [r], shard=False)
    assert strip(g.cell_labels([r])) == strip(g.cell_labels(block))[r * c:(r + 1) * c]
    for k, v in alone.items():
      part = slice(r * c, (r + 1) * c) if k in cycle.CELL_OUTPUTS else slice(r, r + 1)
      chex.assert_trees_all_equal(jax.tree.map(lambda a: a[part], whole[k]), v)


def test_masks_exact_and_pruned_weights_stay_zero(tiny_group):
  g = tiny_group
  out = execute.execute(g, [0, 1])
  labels = g.cell_labels([0, 1])
  masks, w1 = out["masks"], out["sparse_final"]["W1"]
  for j, lab in enumerate(labels):
    assert masks[j].mean() == lab["density"]                  # realised == requested
    assert np.all(w1[j][masks[j] == 0] == 0.0)                # exactly zero, never revived
  assert int(out["cells"].pruned_nonzero.sum()) == 0
  # Learned C0 trains; Hadamard C0 does not move at all.
  c0 = out["sparse_final"]["C0"]
  emb = [lab["embedding"] for lab in labels]
  h = emb.index("hadamard")
  np.testing.assert_array_equal(c0[h], out["dense_traj"]["C0"][0, 0])


def test_nan_run_is_flagged_and_others_unaffected(tiny_group):
  """A diverging run planted in the TEST (dense run 1's C0 scaled by 1e30, so its first
  gradient step overflows) is flagged, kept out of the averages, and leaves the other
  run of its batch bit-identical."""
  g = tiny_group
  dense_in, cells, data = inputs(g, [0, 1])
  ok = cycle.full_cycle_jit(g.spec, dense_in, cells, data)
  bad_in = {**dense_in, "c0": dense_in["c0"] * jnp.array([1.0, 1e30])[:, None, None]}
  bad = cycle.full_cycle_jit(g.spec, bad_in, cells, data)
  assert int(bad["dense"].diverged_epoch[0]) == -1
  assert int(bad["dense"].diverged_epoch[1]) >= 1
  out = {k: jax.tree.map(grid.CellGrid.flatten, v) if k in cycle.CELL_OUTPUTS else v
         for k, v in jax.tree.map(np.asarray, bad).items()}
  rows, dense_rows, _ = clause_reading.chunk_rows(g.dense_labels([0, 1]),
                                                  g.cell_labels([0, 1]), g.densities, out)
  assert [d["diverged_epoch"] >= 1 for d in dense_rows] == [False, True]
  assert dense_rows[0]["dense_acc"] is not None and dense_rows[1]["dense_acc"] is None  # NaN
  agg = results.aggregate(rows)
  assert all(a["n_diverged"] == 1 and a["n"] == 1 for a in agg)       # one of two seeds
  clean = [r for r in rows if not r["diverged"]]
  for a in agg:
    (r,) = [r for r in clean if all(r[k] == a[k] for k in results.KEYS)]
    assert a["sparse_acc_mean"] == r["sparse_acc"]                     # the clean run only
  assert all(r["diverged"] == (r["seed"] == g.dense[1][1] and r["embedding"] == g.dense[1][0])
             for r in rows)
  run0 = lambda out: {k: out["sparse_final"][k][0] for k in ("W1", "W2")}
  chex.assert_trees_all_equal(run0(bad), run0(ok))   # run 0's cells: bit-identical to clean


def test_restore_then_rewind_is_bit_identical(tiny_group, tmp_path):
  g = tiny_group
  dense_in, cells, data = inputs(g, [0, 1])
  traj, losses = jax.jit(cycle.dense_phase, static_argnums=0)(g.spec, dense_in, data)
  checkpoints.save(str(tmp_path / "ck"), {"dense_traj": traj, "dense_losses": losses})
  restored = checkpoints.restore(str(tmp_path / "ck"))
  mem = cycle.sparse_cycle_jit(g.spec, traj, losses, dense_in, cells, data)
  rest = cycle.sparse_cycle_jit(g.spec, restored["dense_traj"], restored["dense_losses"],
                                dense_in, cells, data)
  chex.assert_tree_shape_prefix(mem, (2,))                          # R leading
  chex.assert_tree_shape_prefix({k: mem[k] for k in cycle.CELL_OUTPUTS}, (2, len(g.grid)))
  chex.assert_trees_all_equal(mem, rest)


def test_missing_or_corrupt_checkpoint_is_a_clear_error(tmp_path):
  import pytest
  with pytest.raises(checkpoints.CheckpointError, match="no checkpoint"):
    checkpoints.restore(str(tmp_path / "nope"))
  checkpoints.save(str(tmp_path / "ck"), {"a": np.ones(3)})
  for f in (tmp_path / "ck" / "state").rglob("*"):
    if f.is_file():
      f.write_bytes(b"garbage")
  with pytest.raises(checkpoints.CheckpointError, match="damaged"):
    checkpoints.restore(str(tmp_path / "ck"))


def test_chunked_sweep_equals_one_chunk_exactly(tmp_path):
  """max_cells_per_chunk splits the work without mixing up rows: every row is bit-identical
  (layout per_dense_run: one program per dense run, so the field is not in the run id,
  `identity.NOT_HASHED`; under "batched" the per-program batch changes float rounding at
  the default sweep's size, and the sweep hashes it: `cycle.layout_identity`)."""
  from conftest import tiny_config
  key = lambda r: (r["group"], r["embedding"], r["seed"], r["method"], r["density"], r["rewind"])
  whole = sweep.run_sweep(tiny_config(max_cells_per_chunk=4096), str(tmp_path / "a"))
  split = sweep.run_sweep(tiny_config(max_cells_per_chunk=8), str(tmp_path / "b"))
  assert len(os.listdir(os.path.join(whole.run_dir, "chunks"))) == 1
  assert len(os.listdir(os.path.join(split.run_dir, "chunks"))) == 4   # one dense run each
  assert sorted(whole.rows, key=key) == sorted(split.rows, key=key)
  assert whole.dense_rows == split.dense_rows


def test_dense_oracle_classes_and_decoys_match_direct_readings(tiny_group):
  """The cycle's dense-run readings equal codes.py applied to its own outputs: decoy counts
  of the dense final, oracle-supported classes at each density (a partition of the
  dense-final codes into stable + recruited), and the survival table's totals."""
  from toyticket.families.clause import codes
  from toyticket.discovery import impls as discovery
  g = tiny_group
  dense_in, cells, data = inputs(g, [0, 1])
  out = jax.tree.map(np.asarray, cycle.full_cycle_jit(g.spec, dense_in, cells, data))
  chex.assert_tree_shape_prefix(out, (2,))                          # R leading
  chex.assert_tree_shape_prefix({k: out[k] for k in cycle.CELL_OUTPUTS}, (2, len(g.grid)))
  d = out["dense"]
  for r in range(2):
    end = jax.tree.map(lambda v: v[r, -1], out["dense_traj"])
    ones = jnp.ones_like(end["W1"])
    dec = codes.codes_of(end, ones, data["decoy_vars"], data["decoy_pols"])
    np.testing.assert_array_equal(d.decoy_codes[r, 1], codes.counts(dec))
    final = codes.codes_of(end, ones, data["clause_vars"], data["clause_pols"])
    for p, rho in enumerate(g.densities):
      oracle = discovery.topk_mask(jnp.abs(end["W1"]), rho)
      p0 = jax.tree.map(lambda v: v[r, 0], out["dense_traj"])
      sup = codes.codes_of(p0, oracle, data["clause_vars"], data["clause_pols"]).near
      stable, recruited, lost = d.oracle_class_counts[r, p]
      np.testing.assert_array_equal(stable + recruited, codes.counts(final))
      np.testing.assert_array_equal(stable + lost, np.asarray(sup).sum((0, 1)))
      surv = d.oracle_survival[r, p]
      assert surv[0].sum() == np.asarray(sup).sum() and surv[1].sum() == stable.sum()


def test_fixed_rewind_and_state_adaptive_rule_read_the_right_state(tiny_group):
  """`fixed` starts at dense epoch rewind_epoch whatever the probe epoch; the state-adaptive
  rule scores the cell's own start point (the fresh draw for `fresh`)."""
  from toyticket.discovery import impls as discovery
  g = tiny_group
  dense_in, _, data = inputs(g, [0])
  traj, _ = jax.jit(cycle.dense_phase, static_argnums=0)(g.spec, dense_in, data)
  tr = jax.tree.map(lambda v: v[0], traj)
  key = dense_in["key"][0]
  fixed = cycle.rewind_params(g.spec, tr, key, names.REWINDS.index("fixed"), 0, tr["W1"][-1])
  chex.assert_trees_all_equal(fixed, {k: tr[k][g.spec.rewind_epoch] for k in fixed})
  spec = dataclasses.replace(g.spec, methods=("static_adaptive",))
  cg = grid.CellGrid(("static_adaptive",), (0.25,), ("fresh", "probe"), g.spec.probe_epochs)
  masks, _, epochs = cycle.discover(spec, traj, dense_in, cg.inputs(1), data)
  n = spec.score_examples
  for c, rw in enumerate(("fresh", "probe")):
    start = cycle.rewind_params(spec, tr, key, names.REWINDS.index(rw), 0, tr["W1"][-1])
    ctx = discovery.Context(tr, 0, key, data["x_train"][:n], data["y_train"][:n],
                            data["clause_vars"], data["clause_pols"], spec.discovery,
                            start=start, start_epoch=0)
    want, _, _ = discovery.IMPLS["static_adaptive"].select(None, ctx, jnp.float32(0.25))
    np.testing.assert_array_equal(masks[0, c], want)
  assert not np.array_equal(masks[0, 0], masks[0, 1])       # different states, masks
  assert list(np.asarray(epochs[0])) == [0, g.spec.probe_epochs[0]]


@pytest.fixture(scope="module")
def imp_group():
  from conftest import tiny_config
  c = tiny_config(embeddings=("hadamard",), methods=("oracle", "random"), densities=(0.8,),
                  rewinds=("probe", "init"))
  c.imp.levels, c.imp.prune_fraction = 3, 0.2
  return grid.groups(c)[0]


def test_imp_masks_nested_exact_and_level_one_is_the_oracle(imp_group):
  g = imp_group
  out = execute.execute(g, [0, 1])
  labels = g.cell_labels([0, 1])
  n = out["masks"].shape[1] * out["masks"].shape[2]
  pick = lambda j: {k: out["sparse_final"][k][j] for k in ("W1", "W2", "b1")}
  for pos in (0, 1):
    for rw in ("probe", "init"):
      idx = [j for j, lab in enumerate(labels) if lab["dense_pos"] == pos and
             lab["method"] == "imp" and lab["rewind"] == rw]
      assert [labels[j]["level"] for j in idx] == [1, 2, 3]
      prev = np.ones_like(out["masks"][idx[0]])
      for j in idx:
        m = out["masks"][j]
        assert m.sum() == round(labels[j]["density"] * n)            # exact density
        assert np.all(m <= prev)                                      # nested
        assert np.all(out["sparse_final"]["W1"][j][m == 0] == 0)      # never revived
        prev = m
      (o,) = [j for j, lab in enumerate(labels) if lab["dense_pos"] == pos and
              lab["method"] == "oracle" and lab["rewind"] == rw]
      np.testing.assert_array_equal(out["masks"][idx[0]], out["masks"][o])  # L = 1 ≡ oracle
      chex.assert_trees_all_close(pick(idx[0]), pick(o), rtol=1e-7, atol=1e-5)
      assert abs(out["cells"].sparse_acc[idx[0]] - out["cells"].sparse_acc[o]) < 1e-3


def test_imp_levels_of_a_batch_equal_levels_run_alone(imp_group):
  g = imp_group
  both = execute.execute(g, [0, 1])
  per = len(g.grid)
  for r in (0, 1):
    alone = execute.execute(g, [r])
    imp = [j for j, lab in enumerate(g.cell_labels([r])) if lab["method"] == "imp"]
    for j in imp:
      np.testing.assert_array_equal(alone["masks"][j], both["masks"][r * per + j])
      np.testing.assert_allclose(alone["sparse_final"]["W1"][j],
                                 both["sparse_final"]["W1"][r * per + j], atol=1e-5)


def test_prune_reproduces_the_cycles_masks(tiny_group):
  """`toyticket.prune` on one dense run's saved trajectory gives the mask the batched cycle
  chose for that run's cells (same implementation, same DISCOVERY stream per seed)."""
  import toyticket
  g = tiny_group
  dense_in, cells, data = inputs(g, [0, 1])
  out = jax.tree.map(np.asarray, cycle.full_cycle_jit(g.spec, dense_in, cells, data))
  masks = out["masks"].reshape(2, len(g.grid), *out["masks"].shape[2:])
  n = g.spec.score_examples
  for r in range(2):
    traj = jax.tree.map(lambda a: a[r], out["dense_traj"])
    for c, cell in enumerate(g.grid.cells):
      mask = toyticket.prune(cell.method, None, cell.density, data["x_train"][:n],
                             data["y_train"][:n], trajectory=traj,
                             probe_epoch=g.grid.probe_epochs[cell.probe_index],
                             seed=g.dense[r][1])
      np.testing.assert_array_equal(mask, masks[r, c], err_msg=f"{cell} of dense run {r}")


def test_prune_snip_by_hand_and_refuses_bad_input():
  """SNIP on a hand-initialised network: the kept entries are the top |∂L/∂W1 ⊙ W1|
  computed here with jax.grad (an independent reference), exactly round(ρ·size) of them."""
  import toyticket
  from toyticket.families.clause import model
  key = jax.random.PRNGKey(3)
  params = model.init_params(key, jax.random.normal(key, (8, 8)), 8, 1)
  x = jax.random.normal(jax.random.PRNGKey(4), (64, 8))
  y = (x[:, :1] > 0).astype(jnp.float32)                 # (N, O) 0/1 targets
  mask = toyticket.prune("snip", params, 0.25, x, y)
  g = jax.grad(lambda w: model.loss({**params, "W1": w}, jnp.ones_like(w), x, y))(params["W1"])
  score = np.abs(np.asarray(g * params["W1"])).ravel()
  want = np.zeros(score.size, np.float32)
  want[np.argsort(-score, kind="stable")[:16]] = 1
  np.testing.assert_array_equal(mask.ravel(), want)
  with pytest.raises(ValueError, match="method='snipp'"):
    toyticket.prune("snipp", params, 0.25, x, y)
  with pytest.raises(ValueError, match="density"):
    toyticket.prune("snip", params, 1.5, x, y)
  with pytest.raises(ValueError, match="clause_vars"):
    toyticket.prune("static", params, 0.25, x, y)
  with pytest.raises(ValueError, match="probe_epoch=3"):
    toyticket.prune("checkpoint_magnitude", params, 0.25, x, y, probe_epoch=3)


def test_per_dense_run_layout_equals_batched_up_to_rounding(imp_group):
  """train.layout="per_dense_run" (the default) runs each dense run's whole cycle in turn
  (`lax.map`), "batched" all of them at once: at this size the same masks exactly, the
  same dense, sparse and IMP runs up to float rounding (every sparse-final weight; every
  reading, code counts included, within two of 128 test examples). The per_dense_run program is the one the IMP
  tests above compiled."""
  g = imp_group
  spec = dataclasses.replace(g.spec, train=dataclasses.replace(g.spec.train,
                                                                layout="batched"))
  a = execute.execute(g, [0, 1])
  b = execute.execute(dataclasses.replace(g, spec=spec), [0, 1])
  np.testing.assert_array_equal(a["masks"], b["masks"])
  chex.assert_trees_all_close(a["dense"], b["dense"], rtol=1e-6, atol=1e-6)
  chex.assert_trees_all_close(a["sparse_final"], b["sparse_final"], rtol=1e-4, atol=1e-5)
  # accuracies are counts of test examples: a last-digit change may flip one or two
  chex.assert_trees_all_close(a["cells"], b["cells"], rtol=1e-4, atol=0.02)
