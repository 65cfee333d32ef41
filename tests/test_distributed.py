"""Multi-process runs: 2 processes on 127.0.0.1 (CPU, gloo, 1 device each) give the same
metrics.csv as one process; a bad setup stops every process in one line, exit 2, with
nothing written."""
import glob
import os
import socket
import subprocess
import sys
import time

from zygote import ROOT, cli_env

# A small quick run (a small program to compile three times): random masks at one density
# and rewind, 2 seeds, 3 epochs.
ARGS = ["-m", "experiments.sweep", "--config=configs/ticket_cycle.py", "--config.quick=True",
        "--config.methods=('random',)", "--config.densities=(0.5,)",
        "--config.rewinds=('probe',)", "--config.figures=('methods',)", "--cpu_devices=1"]


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def launch(workdir, *extra):
  env = cli_env()
  return subprocess.Popen([sys.executable, *ARGS, f"--workdir={workdir}", *extra], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(procs, timeout=400):
  out = []
  for p in procs:
    stdout, stderr = p.communicate(timeout=timeout)
    out.append((p.returncode, stdout, stderr))
  return out


def dist(port, n, i, timeout=60):
  return (f"--coordinator=127.0.0.1:{port}", f"--num_processes={n}", f"--process_id={i}",
          f"--distributed_timeout={timeout}")


def test_two_processes_equal_one(tmp_path):
  single = finish([launch(tmp_path / "one")])[0]   # alone first: 2 cores, 3 processes
  port = free_port()
  results = finish([launch(tmp_path / "two", *dist(port, 2, i)) for i in (0, 1)])
  assert single[0] == 0, single[2][-2000:]
  for rc, _, stderr in results:
    assert rc == 0, stderr[-2000:]
  gloo = lambda text: [l for l in text.splitlines() if not l.startswith("[Gloo]")]
  assert "results:" in results[0][1] and gloo(results[1][1]) == []   # process 0 alone prints
  (one,) = glob.glob(str(tmp_path / "one" / "*" / "*" / "metrics.csv"))
  (two,) = glob.glob(str(tmp_path / "two" / "*" / "*" / "metrics.csv"))
  with open(one) as a, open(two) as b:
    rows_one, rows_two = a.read().splitlines(), b.read().splitlines()
  assert len(rows_two) == 3 and rows_one == rows_two    # header + 2 sparse runs
  assert not glob.glob(str(tmp_path / "two" / "**" / "*.tmp"), recursive=True)


def test_bad_setups_stop_every_process_in_one_line(tmp_path):
  p_out_of_range, p_unreachable = free_port(), free_port()
  procs = [launch(tmp_path, *dist(p_out_of_range, 2, 0, timeout=3)),   # waits for id 1 …
           launch(tmp_path, *dist(p_out_of_range, 2, 2, timeout=3)),   # … given id 2 ≥ count
           launch(tmp_path, *dist(p_unreachable, 2, 1, timeout=3)),    # nobody listens
           launch(tmp_path, "--coordinator=127.0.0.1:1", "--num_processes=2")]  # incomplete
  results = finish(procs, timeout=120)
  wants = ["did not reach the coordinator", "--process_id=2: allowed values are 0..1",
           "not reachable within 3 s", "give all of --coordinator"]
  for (rc, stdout, stderr), want in zip(results, wants):
    assert rc == 2, stderr[-2000:]
    lines = stderr.splitlines()
    assert len(lines) == 1 and want in lines[0], stderr[-2000:]
  assert not os.path.exists(tmp_path / "ticket_cycle")


def test_processes_with_different_configs_stop_in_one_line(tmp_path):
  """Issue 29: process 1 given another learning rate used to train at it under process 0's
  label; now every process proves its resolved config and code version first."""
  port = free_port()
  results = finish([launch(tmp_path, *dist(port, 2, 0)),
                    launch(tmp_path, *dist(port, 2, 1), "--config.train.lr=0.5")], timeout=200)
  for rc, _, stderr in results:
    lines = [l for l in stderr.splitlines() if not l.startswith("[Gloo]")]
    assert rc == 2 and len(lines) == 1 and "different resolved config" in lines[0], stderr[-2000:]
  assert not glob.glob(str(tmp_path / "ticket_cycle" / "*" / "metrics.csv"))


def test_a_killed_process_stops_the_other_in_one_line(tmp_path):
  """Issue 29: with one process killed mid-run, the survivor used to wait in a collective
  for jax.distributed's heartbeat (94 s) and abort with a C++ stack; the peer watch stops
  it within seconds, in one line, exit 2, with no chunk written."""
  port = free_port()
  long_run = ("--config.quick=False", "--config.seeds=(0,1)", "--config.train.epochs=400",
              "--config.task.n_train=2048")
  procs = [launch(tmp_path, *dist(port, 2, i), *long_run) for i in (0, 1)]
  for line in procs[0].stdout:              # process 0 prints the plan once it computes
    if line.startswith("plan:"):
      break
  time.sleep(0.5)
  procs[1].kill()
  t0 = time.monotonic()
  rc, _, stderr = finish(procs[:1], timeout=120)[0]
  waited = time.monotonic() - t0
  procs[1].wait()
  lines = [l for l in stderr.splitlines() if not l.startswith("[Gloo]")]
  assert rc == 2 and len(lines) == 1, stderr[-2000:]
  assert lines[0].startswith("distributed:") and "stopped" in lines[0], lines[0]
  assert waited < 30, waited
  assert not glob.glob(str(tmp_path / "ticket_cycle" / "*" / "chunks" / "*.json"))
