"""Sharding over devices, interruption + resume, determinism (subprocesses)."""
import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from zygote import ROOT, cli_env

ENV = cli_env()


def test_sharded_over_4_devices_equals_unsharded():
  code = textwrap.dedent("""
    import jax, numpy as np
    assert jax.device_count() == 4, jax.devices()
    import sys; sys.path.insert(0, "tests")
    from conftest import tiny_config
    from toyticket.run import execute, grid
    g = grid.groups(tiny_config(seeds=(0, 1, 2), embeddings=("hadamard",)))[0]
    a = execute.execute(g, [0, 1, 2])              # 3 dense runs, 24 cells over 4 devices
    b = execute.execute(g, [0, 1, 2], shard=False)
    import chex
    # execute's layout: dense-run axis R leading, per-cell outputs flattened to (R·C, ...)
    chex.assert_tree_shape_prefix((a["dense"], a["dense_traj"]), (3,))
    chex.assert_tree_shape_prefix((a["cells"], a["sparse_final"], a["masks"]), (3 * len(g.grid),))
    chex.assert_trees_all_equal_shapes(a, b)
    # one device (no core to share) rounds two readings differently in the last bit
    chex.assert_trees_all_close(a, b, rtol=1e-5, atol=1e-6)
  """)
  env = {**ENV, "XLA_FLAGS": ENV.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"}
  p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                     text=True, timeout=600)
  assert p.returncode == 0, p.stderr[-3000:]


@pytest.mark.parametrize("forced", [False, True])
def test_use_cpu_cores_sets_device_count_unless_forced(forced):
  code = ("import jax; from toyticket.run import sharding; sharding.use_cpu_cores(3); "
          "print(jax.device_count())")
  force = " --xla_force_host_platform_device_count=4" if forced else ""
  env = {**ENV, "XLA_FLAGS": ENV.get("XLA_FLAGS", "") + force}
  p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                     text=True, timeout=120)
  assert p.returncode == 0, p.stderr[-3000:]
  assert p.stdout.split()[-1] == ("4" if forced else "3")


# Two model groups (H16, H32) of two one-dense-run chunks each: the signal lands while
# the second group compiles, so "interrupted after 2 of 4 chunks" does not race fast chunks.
ARGS = ["--config=configs/scaling.py", "--config.quick=True", "--config.max_cells_per_chunk=6"]
KEY = lambda r: (r["group"], r["embedding"], r["seed"], r["method"], r["density"], r["rewind"])


def sweep(workdir, wait=True):
  cmd = [sys.executable, "-m", "experiments.sweep", *ARGS, f"--workdir={workdir}"]
  if wait:   # a new interpreter (own string-hash seed): these tests compare processes
    return subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
  # A shell that starts a job in the background ignores SIGINT for it (POSIX), and the
  # ignore is inherited: the sweep re-installs Python's handler before it starts.
  cmd = [sys.executable, "-c", "import runpy, signal; signal.signal(signal.SIGINT, "
         "signal.default_int_handler); runpy.run_module('experiments.sweep', "
         "run_name='__main__', alter_sys=True)", *cmd[3:]]
  return subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)


def metrics(workdir):
  (path,) = glob.glob(os.path.join(workdir, "*", "*", "metrics.json"))
  with open(path) as f:
    m = json.load(f)
  return m["runs"], m["dense"]


@pytest.fixture(scope="module")
def reference_dir(tmp_path_factory):
  wd = str(tmp_path_factory.mktemp("ref"))
  p = sweep(wd)
  assert p.returncode == 0, p.stderr[-2000:]
  assert p.stdout.count("] chunk ") == 4          # 2 groups × 2 seeds, one per chunk
  return wd


@pytest.fixture(scope="module")
def reference(reference_dir):
  return metrics(reference_dir)


def test_restore_from_run_dir_skips_dense_and_matches(reference_dir, reference, tmp_path):
  (src,) = glob.glob(os.path.join(reference_dir, "*", "*"))
  p = subprocess.run([sys.executable, "-m", "experiments.sweep", *ARGS,
                      f"--config.restore_from={src}", f"--workdir={tmp_path}"], cwd=ROOT,
                     env=ENV, capture_output=True, text=True, timeout=600)
  assert p.returncode == 0, p.stderr[-2000:]
  rows, dense = metrics(str(tmp_path))
  ref_rows, ref_dense = reference
  assert dense == ref_dense                      # the restored dense runs, unchanged
  for a, b in zip(sorted(rows, key=KEY), sorted(ref_rows, key=KEY)):
    assert KEY(a) == KEY(b)
    assert abs(a["sparse_acc"] - b["sparse_acc"]) <= 1e-3, (a, b)
    assert a["realised_density"] == b["realised_density"]


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_sweep_resumes_to_identical_results(sig, reference, tmp_path):
  # On a loaded machine this test's poll loop can lag behind the sweep, which then finishes
  # all 4 chunks before the signal lands; such an attempt proves nothing, so retry it.
  for attempt in range(4):
    wd = str(tmp_path / f"try{attempt}")
    proc = sweep(wd, wait=False)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
      if len(glob.glob(os.path.join(wd, "*", "*", "chunks", "*.json"))) >= 2:
        break
      time.sleep(0.01)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    done_before = len(glob.glob(os.path.join(wd, "*", "*", "chunks", "*.json")))
    if done_before < 4:
      break
  assert 2 <= done_before < 4, done_before      # really interrupted mid-way
  p = sweep(wd)
  assert p.returncode == 0, p.stderr[-2000:]
  assert p.stdout.count("] chunk ") == 4 - done_before     # finished chunks were skipped
  rows, dense = metrics(wd)
  ref_rows, ref_dense = reference
  assert len(rows) == len({KEY(r) for r in rows}) == len(ref_rows)   # no duplicated cells
  assert sorted(rows, key=KEY) == sorted(ref_rows, key=KEY)          # bit-identical numbers
  assert dense == ref_dense
  assert not glob.glob(os.path.join(wd, "**", "*.tmp"), recursive=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_sigterm_stops_in_one_line_with_exit_143(tmp_path, sig):
  """Issue 29: SIGTERM (a scheduler's stop) and SIGHUP (a closed terminal) printed
  nothing; now one line, 128 + N, and no temporary file left."""
  wd = str(tmp_path)
  proc = subprocess.Popen([sys.executable, "-m", "experiments.sweep", *ARGS,
                           f"--workdir={wd}"], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
  deadline = time.time() + 300
  while time.time() < deadline and not glob.glob(os.path.join(wd, "*", "*", ".lock")):
    time.sleep(0.02)
  proc.send_signal(sig)
  _, stderr = proc.communicate(timeout=120)
  lines = stderr.strip().splitlines()
  assert proc.returncode == 128 + sig and len(lines) == 1, stderr[-2000:]
  assert signal.Signals(sig).name in lines[0], lines[0]
  assert not glob.glob(os.path.join(wd, "**", "*.tmp"), recursive=True)


def test_second_sweep_on_a_busy_run_dir_stops_in_one_line(tmp_path):
  """Two sweeps of one config and workdir: the second stops at once (exit 2, one line),
  the first finishes."""
  wd = str(tmp_path)
  cold = {k: v for k, v in ENV.items() if k != "JAX_COMPILATION_CACHE_DIR"}
  args = ["--config=configs/ticket_cycle.py", "--config.quick=True", f"--workdir={wd}",
          "--config.methods=('random',)", "--config.figures=('methods',)"]
  first = subprocess.Popen(      # no compilation cache: it is still compiling when ...
      [sys.executable, "-m", "experiments.sweep", *args, "--compilation_cache="], cwd=ROOT,
      env=cold, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  while time.time() < deadline and not glob.glob(os.path.join(wd, "*", "*", ".lock")):
    time.sleep(0.05)
  second = subprocess.run([sys.executable, "-m", "experiments.sweep", *args], cwd=ROOT,
                          env=ENV, capture_output=True, text=True, timeout=600)  # ... this
  assert second.returncode == 2, second.stderr[-2000:]
  lines = second.stderr.strip().splitlines()
  assert len(lines) == 1 and "busy" in lines[0], second.stderr
  assert first.wait(timeout=300) == 0
  assert len(glob.glob(os.path.join(wd, "*", "*", "metrics.json"))) == 1


def test_a_signal_swallowed_inside_a_callback_is_delivered_again_after_it():
  """A SIGHUP whose exception Python swallowed (raised inside e.g. JAX's gc callback) is sent
  again from another thread once the unraisable hook has returned, so it stops the main
  thread instead of being swallowed a second time inside the hook."""
  import signal
  import sys
  import time
  import types
  from experiments import cli
  old = signal.signal(signal.SIGHUP, cli._on_signal)
  try:
    hook = cli._unraisable(lambda u: None)
    hook(types.SimpleNamespace(exc_value=cli.Terminated(signal.SIGHUP)))   # returns at once
    with pytest.raises(cli.Terminated):
      for _ in range(200):
        time.sleep(0.01)
  finally:
    signal.signal(signal.SIGHUP, old)
    sys.stdout.flush()
