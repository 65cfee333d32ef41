"""CLI: every config end to end in quick mode; bad input fails in one line, writes nothing."""
import glob
import os
import subprocess
import sys

import pytest

from zygote import ROOT, cli_env, run_module
CONFIGS = sorted(p for p in glob.glob(os.path.join(ROOT, "configs", "*.py"))
                 if not p.endswith("__init__.py"))


def sweep(*args, workdir, optimize=False):
  """The sweep CLI as a new process (`zygote.run_module`); optimize=True drops the suite's
  LLVM -O0 (conftest) for a run whose execution, not its compile, dominates at -O0."""
  env = cli_env()
  if optimize:
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                if f != "--xla_backend_optimization_level=0")
  return run_module("experiments.sweep", *args, f"--workdir={workdir}", env=env, cwd=ROOT)


def test_a_cli_run_forked_from_the_server_equals_one_in_a_new_interpreter(tmp_path):
  """tests/zygote.py: exit code, stdout and stderr of failing and succeeding commands are
  those of `python -m`; an environment that differs in what is read at import (here
  JAX_PLATFORMS), a command that behaves differently with JAX imported and a flag only the
  server's imports define get a real subprocess."""
  cases = [("experiments.sweep", ["--config=configs/ticket_cycle.py", "--config.task.k=20",
                                  f"--workdir={tmp_path / 'w'}"]),
           ("experiments.replicate", ["--quick=maybe"]),
           ("experiments.main", ["sweep", "--help"])]
  for module, args in cases:
    a = run_module(module, *args, env=cli_env(), cwd=ROOT)
    b = subprocess.run([sys.executable, "-m", module, *args], env=cli_env(), cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert getattr(a, "forked", False), module
    assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), module
  c = run_module("experiments.report", env=cli_env(JAX_PLATFORMS="cpu,tpu"), cwd=ROOT)
  assert c.returncode == 2 and not getattr(c, "forked", False)
  # a flag that only the server's preloaded modules define: refused like a new interpreter
  d = run_module("experiments.sweep", "--config=configs/ticket_cycle.py", "--test_tmpdir=x",
                 env=cli_env(), cwd=ROOT)
  assert d.returncode == 2 and not getattr(d, "forked", False), d.stderr


BAD = [
    ("--config.discovery.grasp_temperature=1e-300", "discovery.grasp_temperature"),  # 0 in f32
    ("--config.methods=('oracle','magic')", "methods"),
    ("--config.densities=(0.5,1.5)", "densities"),
    ("--config.densities=(0.0,)", "densities"),
    ("--config.task.k=20", "task.k"),
    ("--config.model.d=12", "model.d"),
    ("--config.embeddings=('hadamard','fourier')", "embeddings"),
    ("--config.rewinds=('sideways',)", "rewinds"),
    ("--config.probe_epochs=(99,)", "probe_epochs"),
    ("--config.train.lr=-0.1", "train.lr"),
    ("--config.task.m=0", "task.m"),
    ("--config.restore_from=/nonexistent/run", "restore_from"),
    ("--config.no_such_key=1", "no_such_key"),
    ("--cpu_devices=-1", "--cpu_devices"),
    # issue 16: silent wrong results before
    ("--config.methods=('oracle','random','oracle')", "methods"),
    ("--config.seeds=(0,0)", "seeds"),
    ("--config.densities=(0.5,0.5)", "densities"),
    ("--config.probe_epochs=(1,1)", "probe_epochs"),
    ("--config.train.batch_size=2048", "train.batch_size"),     # valid only before quick
    ("--config.discovery.obs_damping=nan", "discovery.obs_damping"),
    ("--config.discovery.score_examples=0", "discovery.score_examples"),
    ("--config.train.momentum=nan", "train.momentum"),
    ("--config.name=../../escaped", "name"),
    ("--config.name=/abs/name", "name"),
    ("--config.densities=(True,)", "densities"),
    # issue 16: tracebacks before
    ("--config.densities=()", "densities"),
    ("--config.rewinds=()", "rewinds"),
    ("--config.probe_epochs=()", "probe_epochs"),
    ("--config.methods=()", "methods"),
    ("--config.embeddings=()", "embeddings"),
    ("--config.seeds=(1180591620717411303424,)", "seeds"),
    ("--config.seeds=(0.5,)", "seeds"),
    ("--config.data_seed=-1", "data_seed"),
    ("--config.discovery.earlybird_window=0", "discovery.earlybird_window"),
    ("--config.task.n_test=0", "task.n_test"),
    ("--config.train.lr=fast", "train.lr"),
    ("--config.quick=yes", "quick"),
    ("--no_such_flag=1", "no_such_flag"),
    # issue 29: two labels of one computation
    ("--config.densities=(1e-9,0.25)", "densities"),          # clipped to one weight
    ("--config.densities=(0.25,0.2501)", "densities"),        # both keep 64 of 256
    ("--config.imp.levels=30", "imp.levels"),                 # levels 22.. keep 1 weight
    ("--config.task.m=2000", "task.m"),                       # > C(16, 4) distinct clauses
]


TMS_BAD = [   # issue 22: clause-only choices in a TMS sweep, and the reverse
    ("configs/tms.py", "--config.methods=('oracle','w1_kappa')", "methods"),
    ("configs/tms.py", "--config.embeddings=('hadamard',)", "embeddings"),
    ("configs/tms.py", "--config.model.d=16", "model.d"),
    ("configs/tms.py", "--config.task.sparsity=(0.9,1.0)", "task.sparsity"),
    ("configs/tms.py", "--config.sae.l1=(0.01,)", "sae.l1"),
    ("configs/tms.py", "--config.figures=('methods',)", "figures"),
    ("configs/embedding_sweep.py", "--config.figures=('tms',)", "figures"),
    ("configs/embedding_sweep.py", "--config.task.family=tmz", "task.family"),
    ("configs/embedding_sweep.py", "--config.methods=('feature_columns',)", "methods"),
]


@pytest.mark.parametrize("path,arg,field", TMS_BAD, ids=[f"{os.path.basename(p)}-{f}"
                                                          for p, _, f in TMS_BAD])
def test_tms_bad_input_one_line(path, arg, field, tmp_path):
  p = sweep(f"--config={path}", "--config.quick=True", arg, workdir=tmp_path / "w")
  assert p.returncode == 2, p.stderr[-2000:]
  lines = p.stderr.strip().splitlines()
  assert len(lines) == 1 and field in lines[0], p.stderr[-2000:]
  assert not os.path.exists(tmp_path / "w")


@pytest.mark.parametrize("arg,field", BAD, ids=[f for _, f in BAD])
def test_bad_input_one_line_nonzero_nothing_written(arg, field, tmp_path):
  p = sweep("--config=configs/embedding_sweep.py", "--config.quick=True", arg,
            workdir=tmp_path / "w")
  assert p.returncode == 2, p.stderr[-2000:]
  lines = p.stderr.strip().splitlines()
  assert len(lines) == 1 and field in lines[0], p.stderr[-2000:]
  assert not os.path.exists(tmp_path / "w"), os.listdir(tmp_path / "w")


_TYPO = ("from toyticket.run.config import base_config\n"
         "def get_config():\n  c = base_config()\n  {}\n  return c\n")
CONFIG_FILES = [("def get_config(:\n", "SyntaxError"), ("x = 1\n", "get_config"),
                ("def get_config():\n  return 3\n", "ConfigDict"),
                ("def get_config():\n  raise RuntimeError('boom')\n", "RuntimeError"),
                # issue 29: a config file is validated like an override (typos were ignored)
                (_TYPO.format("c.densitys = (0.1,)"), "densitys"),
                (_TYPO.format("c.codes.taus = (0.1,)"), "codes.taus"),
                (_TYPO.format("c.task.polarty = 'mixed'"), "task.polarty"),
                (_TYPO.format("c.train = 0.1"), "train")]


@pytest.mark.parametrize("text,why", CONFIG_FILES, ids=["syntax", "no_get_config", "not_dict",
                                                        "raises", "typo", "nested_typo",
                                                        "task_typo", "not_a_dict"])
def test_broken_config_file_one_line_exit_2(text, why, tmp_path):
  path = tmp_path / "cfg.py"
  path.write_text(text)
  p = sweep(f"--config={path}", workdir=tmp_path / "w")
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1 and why in lines[0], p.stderr[-2000:]
  assert not os.path.exists(tmp_path / "w")


@pytest.mark.parametrize("args,field", [
    (["--config=configs/ticket_cycle.py:bogus"], "config"),
    (["--config=configs/embedding_sweep.py:bogus"], "config"),
    (["--config.quick=True"], "--config"),                     # no --config at all
])
def test_bad_config_argument_or_missing_config(args, field, tmp_path):
  p = sweep(*args, workdir=tmp_path / "w")
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1 and field in lines[0], p.stderr[-2000:]
  assert not os.path.exists(tmp_path / "w")


def test_a_platform_without_its_device_fails_in_one_line(tmp_path):
  env = cli_env(JAX_PLATFORMS="gpu")
  p = subprocess.run([sys.executable, "-m", "experiments.sweep", "--config=configs/ticket_cycle.py",
                      "--config.quick=True", f"--workdir={tmp_path / 'w'}"], cwd=ROOT, env=env,
                     capture_output=True, text=True, timeout=300)
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1 and "device error" in lines[0], p.stderr[-2000:]
  assert not os.path.exists(tmp_path / "w")


def test_a_chunk_that_cannot_fit_in_memory_is_refused_before_anything_is_written(tmp_path):
  """Issue 29: sae.latents=20,000,000 used to end in an XLA traceback after config.json was
  written; the compiled program's buffer sizes are now checked before it runs."""
  p = sweep("--config=configs/sae.py", "--config.quick=True", "--config.methods=('random',)",
            "--config.densities=(0.5,)", "--config.sae.latents=20000000",
            workdir=tmp_path / "w")
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1, p.stderr[-2000:]
  assert lines[0].startswith("memory:") and "sae.latents" in lines[0], lines[0]
  assert not os.path.exists(tmp_path / "w")


def test_garbage_xla_flags_fail_in_one_line(tmp_path):
  """Issue 29: an unknown flag in XLA_FLAGS aborted inside XLA (exit 1)."""
  p = run_module("experiments.sweep", "--config=configs/ticket_cycle.py",
                 "--config.quick=True", f"--workdir={tmp_path / 'w'}", cwd=ROOT,
                 env=cli_env(XLA_FLAGS="--xla_no_such_flag=1 garbage"), timeout=300)
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1, p.stderr[-2000:]
  assert "XLA_FLAGS" in lines[0] and "xla_no_such_flag" in lines[0], lines[0]
  assert not os.path.exists(tmp_path / "w")


@pytest.mark.parametrize("module,args,want,code", [
    ("experiments.report", [], "usage error", 2),
    ("experiments.report", ["--bogus=1", "x"], "flag error", 2),
    ("experiments.replicate", ["--quick=maybe"], "flag error", 2),
    ("experiments.replicate", ["--quick", "--out=/"], "/", 2),
    ("experiments.sweep", ["--config=configs/ticket_cycle.py", "--config.quick=True",
                           "--coordinator=127.0.0.1:1", "--num_processes=1",
                           "--process_id=0", "--distributed_timeout=nan"],
     "--distributed_timeout", 2),
], ids=["report_no_args", "report_bad_flag", "replicate_bad_flag", "replicate_out_is_a_dir",
        "timeout_nan"])
def test_every_command_fails_in_one_line(module, args, want, code, tmp_path):
  """Audit D12–D16, S1: the report and replicate commands' flag and usage errors were
  absl's two lines or a docstring (exit 1); --out was checked after every sweep ran."""
  extra = [f"--workdir={tmp_path / 'w'}"] if module != "experiments.report" else []
  p = run_module(module, *args, *extra, cwd=ROOT, env=cli_env(), timeout=300)
  lines = p.stderr.strip().splitlines()
  assert p.returncode == code and len(lines) == 1 and want in lines[0], p.stderr[-2000:]


def test_a_compilation_cache_that_is_a_file_names_the_flag(tmp_path):
  """Audit D18: the message named neither the flag nor what it must be."""
  (tmp_path / "f").write_text("")
  env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
  p = subprocess.run([sys.executable, "-m", "experiments.sweep",
                      "--config=configs/ticket_cycle.py", "--config.quick=True",
                      f"--compilation_cache={tmp_path / 'f'}", f"--workdir={tmp_path / 'w'}"],
                     cwd=ROOT, env={**env, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT},
                     capture_output=True, text=True, timeout=300)
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1 and "--compilation_cache" in lines[0], p.stderr


def test_workdir_that_is_a_file_fails_in_one_line(tmp_path):
  (tmp_path / "f").write_text("")
  p = sweep("--config=configs/ticket_cycle.py", "--config.quick=True", workdir=tmp_path / "f")
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1 and "f" in lines[0], p.stderr[-2000:]
