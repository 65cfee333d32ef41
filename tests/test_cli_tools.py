"""CLI: the benchmark command, the wheel and the `toyticket` console command (their own
module, so that xdist runs them beside the other CLI tests)."""
import json
import os
import subprocess
import sys

import pytest

from test_cli import CONFIGS, ROOT
from zygote import cli_env, run_module


def bench(*args, out):
  return run_module("experiments.bench", "--runs=4", "--share=2", "--epochs=1",
                    "--loop_runs=2", "--repeats=1", f"--out={out}", *args, cwd=ROOT,
                    env=cli_env())


@pytest.mark.parametrize("embedding,grad_impl,shared_path",
                         [("hadamard", "auto", "fused_embedded"), ("learned", "auto", "fused"),
                          ("hadamard", "autodiff", "autodiff")])
def test_bench_quick(embedding, grad_impl, shared_path, tmp_path):
  """`make bench` in miniature, on each gradient path: the table is printed and written."""
  out = tmp_path / "bench.json"
  p = bench(f"--embedding={embedding}", f"--grad_impl={grad_impl}", out=out)
  assert p.returncode == 0, p.stderr[-3000:]
  with open(out) as f:
    t = json.load(f)
  assert t["embedding"] == embedding and t["path_shared"] == shared_path
  assert t["path_independent"] == ("autodiff" if grad_impl == "autodiff" else "fused")
  for k in ("one_at_a_time_run_steps_per_s", "independent_run_steps_per_s",
            "shared_run_steps_per_s", "shared_speedup", "matmul_ceiling_flops_per_s"):
    assert t[k] > 0, k
  assert "shared_speedup" in p.stdout


def test_bench_cost_curves_in_miniature(tmp_path):
  """`--curves`: one point per (runs, H) × layout × gradient path, each with a rate and XLA's
  peak memory; the paths are the ones the sweep would choose."""
  out = tmp_path / "curves.json"
  p = bench("--curves", "--curve_runs=4,8", "--curve_hidden=16", "--hidden=16", out=out)
  assert p.returncode == 0, p.stderr[-3000:]
  pts = json.load(open(out))["points"]
  assert [(q["runs"], q["layout"], q["grad_impl"]) for q in pts] == [
      (r, lay, g) for r in (4, 8) for lay in ("independent", "shared")
      for g in ("autodiff", "auto")]
  assert all(q["run_steps_per_s"] > 0 and q["peak_bytes_per_device"] > 0 for q in pts)
  assert {q["path"] for q in pts} == {"autodiff", "fused", "fused_embedded"}


@pytest.mark.parametrize("arg,flag", [("--repeats=0", "--repeats"), ("--share=3", "--share"),
                                      ("--embedding=fourier", "embedding"),
                                      ("--runs=0", "--runs"), ("--batch_size=0", "--batch_size"),
                                      ("--hidden=-1", "--hidden"), ("--share=0", "--share"),
                                      ("--epochs=0", "--epochs")])
def test_bench_bad_input_one_line_nonzero_nothing_written(arg, flag, tmp_path):
  out = tmp_path / "bench.json"
  p = bench(arg, out=out)
  assert p.returncode != 0 and flag in p.stderr and "Traceback" not in p.stderr, p.stderr
  assert not out.exists()




def test_the_wheel_ships_configs_command_lines_and_the_console_command(tmp_path):
  """`pip install` gives a working tool: the wheel holds every config (toyticket.configs),
  the command lines (toyticket.experiments) and the `toyticket` console script."""
  import zipfile
  p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                      str(tmp_path), ROOT], capture_output=True, text=True, timeout=300)
  if p.returncode != 0 and ("Could not find a version" in p.stderr or
                            "NewConnectionError" in p.stderr):
    pytest.skip("no package index reachable to fetch the build backend")
  assert p.returncode == 0, p.stderr[-2000:]
  (whl,) = tmp_path.glob("toyticket-*.whl")
  names = set(zipfile.ZipFile(whl).namelist())
  for c in CONFIGS:
    assert f"toyticket/configs/{os.path.basename(c)}" in names
  for m in ("main", "sweep", "report", "replicate", "bench", "cli"):
    assert f"toyticket/experiments/{m}.py" in names
  entry = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith("entry_points.txt")))
  assert b"toyticket = toyticket.experiments.main:main" in entry


def test_toyticket_command_dispatches_and_names_configs_without_a_path(tmp_path):
  env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
  run = lambda *a: subprocess.run([sys.executable, "-m", "experiments.main", *a], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=120)
  p = run("--help")
  assert p.returncode == 0 and "sweep" in p.stdout and "replicate" in p.stdout
  p = run("sweep", "--help")
  assert p.returncode == 0 and "--workdir" in p.stdout
  p = run("frobnicate")
  assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
  p = run("sweep", "--config=no_such_config", f"--workdir={tmp_path / 'w'}")
  assert p.returncode == 2 and "ticket_cycle" in p.stderr and not (tmp_path / "w").exists()
