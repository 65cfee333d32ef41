"""Runs one experiment config: the batched ticket cycle, metrics, figures, a summary.

  python -m experiments.sweep --config=configs/embedding_sweep.py [--config.key=value ...]
      [--workdir=./runs] [--cpu_devices=0]

Every failure a user can cause (a bad flag or config value, an unreadable config file,
checkpoint or run file, an unwritable workdir, Ctrl-C) ends in ONE line on stderr and
exit code 2 (130 for Ctrl-C), with nothing half-written.
"""
from __future__ import annotations

import os
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from toyticket import checkpoints, config, rundir, sharding
from toyticket import sweep as sweep_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "./runs", "Root of run directories.")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 0, "XLA:CPU devices to shard the runs "
                                    "over (0: one per available core; 1: no sharding).")
_CACHE = flags.DEFINE_string("compilation_cache", sharding.default_cache_dir(),
                             "Persistent JAX compilation cache directory ('' to turn off).")


INTERRUPTED = "interrupted: finished chunks are kept; re-run the same command to resume"


def fail(message: str, code: int = 2):
  """Prints one line and exits now (skipping teardown, where orbax threads print)."""
  print(message.splitlines()[0] if message else "error", file=sys.stderr, flush=True)
  sys.stdout.flush()
  os._exit(code)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  try:
    if _CPU_DEVICES.value < 0:
      raise config.ConfigError("--cpu_devices", _CPU_DEVICES.value,
                               "integers >= 0 (0: one per available core)")
    config.validate(_CONFIG.value)            # as given, then as it will run
    cfg = config.apply_quick(_CONFIG.value)
    config.validate(cfg)
    sharding.use_cpu_cores(_CPU_DEVICES.value)
    sharding.use_compilation_cache(_CACHE.value)
    if cfg.distributed:
      try:   # coordinator etc. from the environment (SLURM, TPU, MPI)
        jax.distributed.initialize()
      except (ValueError, RuntimeError) as e:
        raise config.ConfigError("distributed", True, "True only inside a cluster job that "
                                 f"jax.distributed can auto-detect ({str(e)[:80]})") from None
    sw, table, figs = sweep_lib.run(cfg, _WORKDIR.value)
  except (config.ConfigError, checkpoints.CheckpointError, rundir.RunFileError,
          rundir.RunDirBusy) as e:
    fail(str(e))
  except OSError as e:
    fail(f"file error: {e.filename or ''}: {e.strerror or e}".replace(": : ", ": "))
  except KeyboardInterrupt:
    fail(INTERRUPTED, 130)
  print(table)
  print(f"results: {sw.run_dir}  ({len(sw.rows)} sparse runs, {len(figs)} figures; full "
        "table in summary.txt; open index.html in a browser)")


def parse_flags(argv):
  """absl flag parsing with one-line errors (exit 2) instead of absl's two lines + exit 1."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"flag error: {e}")


if __name__ == "__main__":
  flags.mark_flag_as_required("config")
  try:
    config.check_overrides(sys.argv[1:])
  except config.ConfigError as e:
    fail(str(e))
  try:
    app.run(main, flags_parser=parse_flags)
  except KeyboardInterrupt:
    fail(INTERRUPTED, 130)
