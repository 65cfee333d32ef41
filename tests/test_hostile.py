"""Hostile inputs and damaged files (issue 16): right results or one clear error, never a
wrong result with exit 0."""
import glob
import json
import os
from unittest import mock

import numpy as np
import pytest

from toyticket.core import files, identity
from toyticket.run import checkpoints, config, restore, sweep
from toyticket.core import rundir
from toyticket.reading import results


def test_aggregate_leaves_diverged_runs_out_and_counts_them():
  rows = [{"method": "a", "diverged": False, "acc": 0.9},
          {"method": "a", "diverged": False, "acc": 0.7},
          {"method": "a", "diverged": False, "acc": 0.8},
          {"method": "a", "diverged": True, "acc": 0.287}]      # NaN logits read as 0.287
  (a,) = results.aggregate(rows, keys=("method",))
  assert (a["n_seeds"], a["n_diverged"], a["n"]) == (4, 1, 3)
  assert a["acc_mean"] == pytest.approx(0.8)
  assert a["acc_sd"] == pytest.approx(0.1)                          # ddof 1
  assert a["acc_ci95"] == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)
  dense = [{"embedding": "h", "diverged_epoch": -1, "acc": 0.9},
           {"embedding": "h", "diverged_epoch": 3, "acc": 0.1}]
  (d,) = results.aggregate(dense, keys=("embedding",))
  assert d["n_diverged"] == 1 and d["acc_mean"] == pytest.approx(0.9) and d["acc_sd"] is None


def test_summary_marks_dense_divergence():
  dense = [{"group": "g", "embedding": "h", "seed": s, "diverged_epoch": e, "dense_acc": a,
            "dense_4P": 0, "dense_3N1P": 0, "init_4P": 0, "init_3N1P": 0, "decoy_dense_4P": 0,
            "floor_acc": 0.6}
           for s, e, a in ((0, -1, 0.9), (1, 2, 0.2))]
  from toyticket.families.clause import reading as clause_reading
  text = clause_reading.summary([], dense)
  assert "DIVERGED: 1 of 2" in text and "0.900" in text and "floor 0.600" in text


def test_checkpoint_with_flipped_bytes_fails_in_one_line(tmp_path):
  tree = {"dense_traj": {"W1": np.arange(4096, dtype=np.float32).reshape(64, 64)}}
  checkpoints.save(str(tmp_path / "ck"), tree)
  np.testing.assert_array_equal(checkpoints.restore(str(tmp_path / "ck"))["dense_traj"]["W1"],
                                tree["dense_traj"]["W1"])
  files = [f for f in (tmp_path / "ck" / "state").rglob("*") if f.is_file()]
  big = max(files, key=lambda f: f.stat().st_size)
  data = bytearray(big.read_bytes())
  for i in (len(data) // 2, len(data) // 2 + 7, len(data) - 9):
    data[i] ^= 0x5A
  big.write_bytes(bytes(data))
  with pytest.raises(checkpoints.CheckpointError, match="checkpoint error") as e:
    checkpoints.restore(str(tmp_path / "ck"))
  assert "\n" not in str(e.value)


def test_checkpoint_whose_checksum_disagrees_is_refused(tmp_path):
  checkpoints.save(str(tmp_path / "ck"), {"a": np.ones(3)})
  sums = json.loads((tmp_path / "ck" / "checksum.json").read_text())
  (tmp_path / "ck" / "checksum.json").write_text(json.dumps({**sums, "sha256": "0" * 64}))
  with pytest.raises(checkpoints.CheckpointError, match="damaged"):
    checkpoints.restore(str(tmp_path / "ck"))
  (tmp_path / "ck" / "checksum.json").unlink()
  with pytest.raises(checkpoints.CheckpointError, match="checksum"):
    checkpoints.restore(str(tmp_path / "ck"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  from conftest import tiny_config
  wd = str(tmp_path_factory.mktemp("run"))
  c = tiny_config(max_cells_per_chunk=8)          # 4 chunks, one dense run each
  sw = sweep.run_sweep(c, wd, log=lambda s: None)
  return c, wd, sw.run_dir, sw.rows, sw.dense_rows


def test_resume_recomputes_damaged_or_deleted_chunk_files(finished, tmp_path):
  import shutil
  c, _, src, rows, dense = finished
  wd = str(tmp_path)
  run_dir = os.path.join(wd, c.name, os.path.basename(src))
  shutil.copytree(src, run_dir)
  names = sorted(os.listdir(os.path.join(run_dir, "chunks")))
  with open(os.path.join(run_dir, "chunks", names[0]), "w") as f:
    f.write('{"group": "H8-m4", "cel')                                    # truncated JSON
  os.remove(os.path.join(run_dir, "trajectories", names[1][:-5] + ".npz"))  # deleted npz
  with open(os.path.join(run_dir, "trajectories", names[2][:-5] + ".npz"), "wb") as f:
    f.write(b"PK\x03\x04 garbage")                                         # garbage npz
  shutil.rmtree(os.path.join(run_dir, "checkpoints", names[3][:-5]))       # deleted ckpt
  log = []
  sw = sweep.run_sweep(c, wd, log=log.append)
  assert sum("recomputing" in line for line in log) == 4, log
  assert sw.rows == rows and sw.dense_rows == dense          # bit-identical
  assert os.path.isdir(os.path.join(run_dir, "checkpoints", names[3][:-5], "state"))
  assert not glob.glob(os.path.join(run_dir, "**", "*.tmp"), recursive=True)


def test_another_chunking_is_the_same_run_and_a_batched_one_hashes_it(finished, tmp_path):
  """Layout per_dense_run (the default) computes each dense run alone, so the chunking
  changes no bit: another `max_cells_per_chunk` is the same run directory, its chunks'
  rows equal the original's, each run's rows and arrays are whole (no run dropped or
  counted twice) and the original chunks are kept. Under layout "batched", how many dense
  runs one program holds changes float rounding at the default sweep's size, so the
  chunking and the device count are in its run id (`cycle.layout_identity`)."""
  import shutil
  from conftest import tiny_config
  c, _, src, rows, dense = finished
  wd = str(tmp_path)
  run_dir = os.path.join(wd, c.name, os.path.basename(src))
  shutil.copytree(src, run_dir)
  before = sorted(os.listdir(os.path.join(run_dir, "chunks")))
  for cells, chunks in ((4096, 1), (16, 2)):     # the original: 8, 4 chunks
    log = []
    sw = sweep.run_sweep(tiny_config(max_cells_per_chunk=cells), wd, log=log.append)
    assert sw.run_dir == run_dir
    assert sum(" chunk " in line and "runs in" in line for line in log) == chunks, log
    assert sw.rows == rows and sw.dense_rows == dense, cells
    assert rundir.load_arrays(sw.run_dir)["masks"].shape[0] == len(rows)
  assert set(before) <= set(os.listdir(os.path.join(run_dir, "chunks")))

  def batched(cells):                        # its run directory (nothing is computed)
    b = tiny_config(max_cells_per_chunk=cells)
    b.train.layout = "batched"
    return sweep._where(b, wd)[2]
  here = batched(16)
  assert len({run_dir, batched(4096), here}) == 3
  with mock.patch.object(sweep.jax, "device_count", lambda: 7):
    assert batched(16) != here
  log = []                                   # the original chunking: all reused
  sw = sweep.run_sweep(c, wd, log=log.append)
  assert sw.run_dir == run_dir and not any("runs in" in line for line in log), log


def test_edited_rows_or_flipped_checkpoint_bytes_are_recomputed(finished, tmp_path):
  """Issue 29: every file a resume reuses is checksum-verified, rows included."""
  import shutil
  c, _, src, rows, dense = finished
  wd = str(tmp_path)
  run_dir = os.path.join(wd, c.name, os.path.basename(src))
  shutil.copytree(src, run_dir)
  names = [n[:-5] for n in sorted(os.listdir(os.path.join(run_dir, "chunks")))]
  path = os.path.join(run_dir, "chunks", names[0] + ".json")
  meta = json.loads(open(path).read())
  meta["cells"][0]["sparse_acc"] = round(meta["cells"][0]["sparse_acc"] + 0.2, 6)
  with open(path, "w") as f:
    json.dump(meta, f)                                    # valid JSON, one digit changed
  state = os.path.join(run_dir, "checkpoints", names[1], "state")
  big = max((os.path.join(d, n) for d, _, fs in os.walk(state) for n in fs),
            key=os.path.getsize)
  data = bytearray(open(big, "rb").read())
  data[len(data) // 2] ^= 0x5A
  with open(big, "wb") as f:
    f.write(bytes(data))                                  # one flipped byte
  log = []
  sw = sweep.run_sweep(c, wd, log=log.append)
  assert sum("recomputing" in line for line in log) == 2, log
  assert sw.rows == rows and sw.dense_rows == dense
  restore.load(run_dir, c)                                # the checkpoint reads again


def test_code_version_is_part_of_run_identity(monkeypatch):
  cfg = config.base_config().to_dict()
  v = identity.code_version()
  assert len(v) == 12 and v == identity.code_version()
  a = identity.run_id(cfg)
  monkeypatch.setattr(identity, "code_version", lambda: "0" * 12)
  assert identity.run_id(cfg) != a                       # other code: another run directory
  assert identity.fingerprint(cfg) != identity.fingerprint({**cfg, "max_cells_per_chunk": 7})


def test_restore_across_code_versions_is_refused_unless_allowed(finished, tmp_path):
  import shutil
  c, _, src, _, _ = finished
  meta = json.loads(open(os.path.join(src, "config.json")).read())
  assert meta["provenance"]["code_version"] == identity.code_version()
  meta["provenance"]["code_version"] = "0123456789ab"   # as an older toyticket made it:
  dst = str(tmp_path / identity.run_id(meta, "0123456789ab"))   # named by that version's id
  shutil.copytree(src, dst)
  cfg_path = os.path.join(dst, "config.json")
  with open(cfg_path, "w") as f:
    json.dump(meta, f)
  with pytest.raises(config.ConfigError, match="restore_any_version") as e:
    restore.load(dst, c)
  assert "\n" not in str(e.value) and "0123456789ab" in str(e.value)
  import ml_collections
  allowed = ml_collections.ConfigDict(c.to_dict())
  allowed.restore_any_version = True
  assert restore.load(dst, allowed)
  old = str(tmp_path / identity.run_id(meta, "0123456789ab", None,   # named as runs were
                                       identity.NOT_HASHED_BEFORE_2026_12_06))   # until then
  assert old != dst
  shutil.copytree(dst, old)
  assert restore.load(old, allowed)


def test_resume_keeps_the_provenance_of_who_made_the_run(finished, tmp_path):
  import shutil
  c, _, src, _, _ = finished
  wd = str(tmp_path)
  run_dir = os.path.join(wd, c.name, os.path.basename(src))
  shutil.copytree(src, run_dir)
  first = json.loads(open(os.path.join(run_dir, "config.json")).read())["provenance"]
  sweep.run_sweep(c, wd, log=lambda s: None)
  after = json.loads(open(os.path.join(run_dir, "config.json")).read())["provenance"]
  assert after["utc"] == first["utc"] and len(after["resumed"]) == len(first.get("resumed", [])) + 1


def test_restore_mismatch_names_the_differing_leaf(finished):
  import ml_collections
  c, _, src, _, _ = finished
  other = ml_collections.ConfigDict(c.to_dict())
  other.train.lr = 0.5
  with pytest.raises(config.ConfigError) as e:
    restore.load(src, other)
  msg = str(e.value)
  assert "train.lr=0.5" in msg and "batch_size" not in msg and "\n" not in msg


@pytest.mark.parametrize("name,content", [("metrics.json", "[]"), ("metrics.json", "{}"),
                                          ("config.json", "[1, 2]")])
def test_report_on_structurally_wrong_json_names_the_file(finished, tmp_path, name, content):
  import shutil
  from toyticket.reading import report
  _, _, src, _, _ = finished
  dst = str(tmp_path / "run")
  shutil.copytree(src, dst)
  with open(os.path.join(dst, name), "w") as f:
    f.write(content)
  with pytest.raises(rundir.RunFileError, match=name) as e:
    report.build(dst)
  assert "\n" not in str(e.value)


def test_best_table_when_every_run_diverged():
  from toyticket.families.clause import reading as clause_reading
  rows = [{"group": "g", "embedding": "h", "method": m, "density": 0.25, "rewind": "probe",
           "probe_epoch": 2, "level": 0, "seed": s, "sparse_acc": None, "masked_acc": None,
           "sparse_4P": 0, "chance_4P": 0, "diverged": True}
          for m in ("oracle", "random") for s in range(2)]
  dense = [{"group": "g", "embedding": "h", "seed": s, "dense_acc": None, "floor_acc": 0.6,
            "diverged_epoch": 1} for s in range(2)]
  html = clause_reading.best_table(rows, dense)
  assert "<table>" in html and "—" in html


def test_a_failed_write_names_its_file(tmp_path, monkeypatch):
  import builtins
  real = builtins.open

  def full(path, mode="r", *a, **k):
    if "w" in mode and str(path).endswith(".tmp"):
      raise OSError(28, "No space left on device")
    return real(path, mode, *a, **k)
  monkeypatch.setattr(builtins, "open", full)
  target = str(tmp_path / "metrics.json")
  with pytest.raises(OSError) as e:
    files.atomic_write(target, "{}")
  assert e.value.filename == target and "No space" in e.value.strerror
  assert not os.listdir(tmp_path)


@pytest.mark.parametrize("content", ['{"data_seed": 0, "ta', "{}", "[1, 2]"],
                         ids=["truncated", "empty_dict", "list"])
def test_restore_from_damaged_config_json_fails_in_one_line(finished, tmp_path, content):
  import shutil
  c, _, src, _, _ = finished
  dst = str(tmp_path / os.path.basename(src))
  shutil.copytree(src, dst)
  with open(os.path.join(dst, "config.json"), "w") as f:
    f.write(content)
  with pytest.raises(checkpoints.CheckpointError) as e:
    restore.load(dst, c)
  assert "config.json" in str(e.value) and "\n" not in str(e.value)


def test_restore_from_damaged_chunk_json_names_the_file(finished, tmp_path):
  import shutil
  c, _, src, _, _ = finished
  dst = str(tmp_path / os.path.basename(src))
  shutil.copytree(src, dst)
  name = sorted(os.listdir(os.path.join(dst, "chunks")))[0]
  with open(os.path.join(dst, "chunks", name), "w") as f:
    f.write("{")
  with pytest.raises(checkpoints.CheckpointError, match=name):
    restore.load(dst, c)


def test_restore_missing_dense_run_writes_nothing(finished, tmp_path):
  c, _, src, _, _ = finished
  c2 = config.ml_collections.ConfigDict(c.to_dict())
  c2.seeds = (0, 1, 7)                      # seed 7 was never trained in the source run
  c2.restore_from = src
  with pytest.raises(checkpoints.CheckpointError, match="no dense run"):
    sweep.run_sweep(c2, str(tmp_path / "w"), log=lambda s: None)
  assert not os.path.exists(tmp_path / "w")


def test_quick_keeps_smaller_data_sizes_and_validates_after():
  c = config.base_config()
  c.quick = True
  c.task.n_train = 512
  q = config.apply_quick(c)
  assert q.task.n_train == 512 and q.task.n_test == 512
  q.train.batch_size = 1024
  with pytest.raises(config.ConfigError, match="train.batch_size"):
    config.validate(q)


def test_train_layout_is_checked():
  c = config.base_config()
  c.train.layout = "per_run"
  with pytest.raises(config.ConfigError, match="train.layout.*batched, per_dense_run"):
    config.validate(c)
  c.train.layout, c.progress = "per_dense_run", True   # progress works with either layout
  config.validate(c)


def test_atomic_write_leaves_no_tmp_on_failure(tmp_path):
  with pytest.raises(TypeError):
    files.atomic_write(str(tmp_path / "x"), 12345)          # not bytes: write fails
  assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("error", [ValueError("RESOURCE_EXHAUSTED: No space left on device"),
                                   OSError(28, "No space left on device")],
                         ids=["orbax_error", "os_error"])
def test_a_failed_checkpoint_write_names_its_path_and_leaves_nothing(tmp_path, monkeypatch,
                                                                      error):
  """Issue 29: a full disk during the orbax write ended in orbax's own error, naming no
  file; now one CheckpointError / OSError naming the checkpoint, and no .tmp sibling."""
  import orbax.checkpoint as ocp

  def full(self, *a, **k):
    raise error
  monkeypatch.setattr(ocp.StandardCheckpointer, "save", full)
  target = str(tmp_path / "ck")
  with pytest.raises((checkpoints.CheckpointError, OSError)) as e:
    checkpoints.save(target, {"w": np.zeros(3)})
  assert target in str(e.value) or getattr(e.value, "filename", None) == target
  assert "No space" in str(e.value) and not os.listdir(tmp_path)


def test_memory_need_and_check_fits_on_hand_made_buffer_sizes(monkeypatch):
  """sharding.memory_need on XLA:CPU: per device arguments + outputs + temporaries −
  aliases; on the host every device's share plus the outputs' numpy copy."""
  import types
  from toyticket.core import host
  from toyticket.run import sharding
  gib = 2 ** 30
  stats = types.SimpleNamespace(argument_size_in_bytes=1 * gib, output_size_in_bytes=2 * gib,
                                temp_size_in_bytes=3 * gib, alias_size_in_bytes=gib // 2)
  need = sharding.memory_need(stats, 2)
  assert need["device"] == 5.5 * gib and need["host"] == 2 * 5.5 * gib + 2 * 2 * gib
  monkeypatch.setattr(sharding.jax, "local_device_count", lambda: 2)
  monkeypatch.setattr(host, "available_memory", lambda: 15 * gib - 1)
  with pytest.raises(sharding.ResourceError, match=r"memory: one chunk needs about 15\.00 GiB"):
    sharding.check_fits(stats)
  monkeypatch.setattr(host, "available_memory", lambda: 15 * gib)
  sharding.check_fits(stats)                        # just fits
  monkeypatch.setattr(host, "available_memory", lambda: None)
  sharding.check_fits(stats)                        # unknown: no refusal


def test_restore_from_an_edited_config_json_is_refused(finished, tmp_path):
  """Audit D1: restore matched its source by config.json alone, so editing train.lr there
  made lr = 0.05 dense runs pass as lr = 0.1 ones under the genuine lr = 0.1 run id. A
  source's config.json must hash to its directory's run id."""
  import shutil
  c, _, src, _, _ = finished
  dst = str(tmp_path / os.path.basename(src))
  shutil.copytree(src, dst)
  meta = json.loads(open(os.path.join(dst, "config.json")).read())
  meta["train"]["lr"] = 2 * c.train.lr
  with open(os.path.join(dst, "config.json"), "w") as f:
    json.dump(meta, f)
  import ml_collections
  other = ml_collections.ConfigDict(c.to_dict())
  other.train.lr = 2 * c.train.lr
  with pytest.raises(checkpoints.CheckpointError, match="does not hash to its run id") as e:
    restore.load(dst, other)
  assert "\n" not in str(e.value)


def _copy(src, tmp_path):
  import shutil
  dst = str(tmp_path / os.path.basename(src))
  shutil.copytree(src, dst)
  return dst


def _edit_json(path, change):
  with open(path) as f:
    obj = json.load(f)
  change(obj)
  with open(path, "w") as f:
    json.dump(obj, f)


def _set_first_sparse_acc(m):
  m["runs"][0]["sparse_acc"] = 0.999


@pytest.mark.parametrize("damage,match", [
    (lambda d: os.remove(os.path.join(d, "plan.json")), "plan.json"),
    (lambda d: _edit_json(os.path.join(d, "plan.json"),
                          lambda p: p["chunks"].append(p["chunks"][0])), "distinct"),
    (lambda d: _edit_json(os.path.join(d, "plan.json"), lambda p: p.update(chunks=[1, 2])),
     "plan.json"),
    (lambda d: _edit_json(os.path.join(d, "metrics.json"), _set_first_sparse_acc),
     "metrics.json disagrees"),
    (lambda d: _swap_first_two_npz(d), "does not match the sha256"),
], ids=["no_plan", "repeated_chunk", "not_names", "edited_metrics", "swapped_npz"])
def test_report_checks_what_it_reads(finished, tmp_path, damage, match):
  """Audit D4–D7, D10: `experiments.report` followed plan.json and metrics.json as they
  were, so a stale, repeated or edited plan, a swapped npz or an edited metrics.json drew
  wrong figures with exit 0; now each stops with one line naming the file, and no figure
  is removed."""
  from toyticket.reading import report
  _, _, src, _, _ = finished
  dst = _copy(src, tmp_path)
  report.build(dst, workers=1)
  before = sorted(os.listdir(os.path.join(dst, "figures")))
  damage(dst)
  with pytest.raises(rundir.RunFileError, match=match) as e:
    report.build(dst, workers=1)
  assert "\n" not in str(e.value)
  assert sorted(os.listdir(os.path.join(dst, "figures"))) == before


def _swap_first_two_npz(d):
  a, b = sorted(glob.glob(os.path.join(d, "trajectories", "*.npz")))[:2]
  os.rename(a, a + ".x")
  os.rename(b, a)
  os.rename(a + ".x", b)


def test_report_refuses_unknown_figures_before_removing_any(finished, tmp_path):
  """Audit D9: a bogus figure name in config.json removed every figure, then crashed."""
  from toyticket.reading import report
  _, _, src, _, _ = finished
  dst = _copy(src, tmp_path)
  report.build(dst, workers=1)
  before = sorted(os.listdir(os.path.join(dst, "figures")))
  _edit_json(os.path.join(dst, "config.json"), lambda c: c.update(figures=["bogus"]))
  with pytest.raises(rundir.RunFileError, match="figures"):
    report.build(dst, workers=1)
  assert sorted(os.listdir(os.path.join(dst, "figures"))) == before and before


def test_resume_with_a_damaged_config_json_names_it_and_keeps_it(finished, tmp_path):
  """Audit D8: resume silently rewrote a damaged config.json, losing who made the run."""
  c, _, src, _, _ = finished
  wd = str(tmp_path)
  run_dir = os.path.join(wd, c.name, os.path.basename(src))
  import shutil
  shutil.copytree(src, run_dir)
  with open(os.path.join(run_dir, "config.json"), "w") as f:
    f.write('{"broken')
  with pytest.raises(rundir.RunFileError, match="config.json"):
    sweep.run_sweep(c, wd, log=lambda s: None)
  assert open(os.path.join(run_dir, "config.json")).read() == '{"broken'


def test_a_diverged_sae_is_flagged_and_counts_nothing():
  """Audit D2: an SAE whose loss is NaN reported 0 matched codes, L0 0 and no flag."""
  from toyticket.core import readings
  from toyticket.families.clause import reading as clause_reading, schema
  p, s, t = 2, 2, 2          # L1 coefficients, SAE seeds, templates; one dense run
  dense = {"sae_fvu": np.array([[[0.1, 0.2], [np.nan, 0.3]]]),
           "sae_mse": np.ones((1, p, s)), "sae_l0": np.ones((1, p, s)),
           "sae_dead": np.zeros((1, p, s)), "sae_matched": np.ones((1, p, s, t), int),
           "sae_stable": np.ones((1, p, t), int), "sae_random": np.zeros((1, s, t)),
           "sae_codes": np.full((1, t), 3), "diverged_epoch": np.array([-1])}
  dense = schema.DenseReadings(**{f.name: dense.get(f.name) for f in
                                  readings.fields(schema.DenseReadings)})
  rows = clause_reading.sae_rows([{"group": "g", "seed": 0}], [], (0.01, 0.1),
                                 {"dense": dense, "cells": None})
  ok, bad = rows
  assert not results.is_diverged(ok) and ok["sae_matched_4P"] == 1.0 and ok["sae_l0"] == 1.0
  assert results.is_diverged(bad) and bad["sae_matched_4P"] is None and bad["sae_l0"] is None
  assert list(ok) == list(bad)               # the same columns either way
