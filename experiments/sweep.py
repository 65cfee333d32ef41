"""Runs one experiment config: the batched ticket cycle, metrics, figures, a summary.

  python -m experiments.sweep --config=configs/embedding_sweep.py [--config.key=value ...]
      [--workdir=./runs] [--cpu_devices=0]
"""
from __future__ import annotations

import os
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from toyticket import checkpoints, config, plots, runs, sharding

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "./runs", "Root of run directories.")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 0, "XLA:CPU devices to shard the runs "
                                    "over (0: one per available core; 1: no sharding).")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  try:
    if _CPU_DEVICES.value < 0:
      raise config.ConfigError("--cpu_devices", _CPU_DEVICES.value,
                               "integers >= 0 (0: one per available core)")
    sharding.use_cpu_cores(_CPU_DEVICES.value)
    config.validate(_CONFIG.value)
    cfg = config.apply_quick(_CONFIG.value)
    if cfg.distributed:
      jax.distributed.initialize()   # coordinator etc. from the environment (SLURM, TPU, ...)
    run_dir, rows, dense_rows, oracle_rows = runs.run_sweep(cfg, _WORKDIR.value)
  except (config.ConfigError, checkpoints.CheckpointError) as e:
    print(e, file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(2)   # skip interpreter teardown, where orbax's threads print tracebacks
  res = plots.Results(rows, dense_rows, runs.load_arrays(run_dir), run_dir, cfg,
                      oracle_rows)
  figs = plots.make_figures(cfg.figures, res)
  table = runs.summary(rows, dense_rows)
  runs.atomic_write(f"{run_dir}/summary.txt", table + "\n")
  print(table)
  print(f"results: {run_dir}  ({len(rows)} sparse runs, {len(figs)} figures)")


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  try:
    config.check_overrides(sys.argv[1:])
  except config.ConfigError as e:
    print(e, file=sys.stderr)
    sys.exit(2)
  app.run(main)
