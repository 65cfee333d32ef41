"""CLI: every config end to end in quick mode (its own module, so that xdist runs it beside
the other CLI tests)."""
import glob
import json
import os

import pytest

from test_cli import CONFIGS, sweep


@pytest.fixture(scope="module")
def quick_workdir(tmp_path_factory):
  """One workdir for every config's quick run."""
  return tmp_path_factory.mktemp("quick")


@pytest.mark.parametrize("path", CONFIGS, ids=[os.path.basename(p) for p in CONFIGS])
def test_config_quick_end_to_end(path, quick_workdir):
  # measured cold on 2 cores: the quick embedding sweep (744 sparse runs, a learned C0)
  # takes 11 s to compile + 80 s to run at -O0 but 23 s + 0.7 s at -O2; every other
  # config compiles faster at -O0 and runs in about a second either way
  p = sweep(f"--config={path}", "--config.quick=True", workdir=quick_workdir,
            optimize=path.endswith("embedding_sweep.py"))
  assert p.returncode == 0, p.stderr[-3000:]
  (run_dir,) = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("results: ")]
  for f in ("config.json", "metrics.json", "metrics.csv", "aggregate.csv", "dense.csv",
            "summary.txt"):
    assert os.path.getsize(os.path.join(run_dir, f)) > 0, f
  with open(os.path.join(run_dir, "metrics.json")) as f:
    m = json.load(f)
  assert m["runs"] and m["aggregate"] and m["dense"]
  if m["config"]["task"]["family"] == "tms":
    assert all(r["sparse_loss"] >= 0.0 for r in m["runs"] if r["sparse_loss"] is not None)
    assert all(0 <= r["sparse_represented"] <= r["n"] for r in m["runs"])
    assert "sparse loss" in p.stdout
  else:
    assert all(0.0 <= r["sparse_acc"] <= 1.0 for r in m["runs"] if r["sparse_acc"] is not None)
    assert "sparse acc" in p.stdout
  assert glob.glob(os.path.join(run_dir, "figures", "*.png"))
  assert glob.glob(os.path.join(run_dir, "trajectories", "*.npz"))
  assert os.listdir(os.path.join(run_dir, "checkpoints"))
  assert not glob.glob(os.path.join(run_dir, "**", "*.tmp"), recursive=True)
