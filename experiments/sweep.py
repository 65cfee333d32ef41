"""Runs one experiment config: the batched ticket cycle, metrics, figures, a summary.

  python -m experiments.sweep --config=configs/embedding_sweep.py [--config.key=value ...]
      [--workdir=./runs] [--cpu_devices=0]
      [--coordinator=HOST:PORT --num_processes=N --process_id=I]   # one per process

Several processes (hosts, or GPUs with one process each) share the runs of every chunk
on JAX's own runtime: give all three distributed flags on every process, or set
--config.distributed=True inside a SLURM / Open MPI job to let JAX detect them. Only
process 0 writes files and prints.

Every failure a user can cause (a bad flag or config value, an unreadable config file,
checkpoint or run file, an unwritable workdir, Ctrl-C) ends in ONE line on stderr and
exit code 2 (130 for Ctrl-C), with nothing half-written.
"""
from __future__ import annotations

import sys

from absl import flags, logging
from ml_collections import config_flags

# Only plain-Python modules at import: a bad flag or config fails in one line before JAX
# loads (~2 s); main imports the rest once the config is valid.
from . import cli
from toyticket.run import config
from toyticket.core import rundir
from toyticket.core import errors, host
from toyticket.reading import workers

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", "./runs", "Root of run directories.")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 0, "XLA:CPU devices to shard the runs "
                                    "over (0: one per available core; 1: no sharding).")
_CACHE = flags.DEFINE_string("compilation_cache", host.default_cache_dir(),
                             "Persistent JAX compilation cache directory ('' to turn off).")
_COORDINATOR = flags.DEFINE_string("coordinator", "", "Multi-process: host:port where "
                                   "process 0 listens (same on every process).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", 0, "Multi-process: process count.")
_PROCESS_ID = flags.DEFINE_integer("process_id", -1, "Multi-process: this process, 0..N-1.")
_TIMEOUT = flags.DEFINE_float("distributed_timeout", 60.0, "Multi-process: seconds to wait "
                              "for every process to reach the coordinator.")

INTERRUPTED, fail = cli.INTERRUPTED, cli.fail


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
    setup = distributed_setup()
    if problem := host.xla_flags_problem():
      fail(problem)
    if cfg.figures and not cfg.quick and setup is None and not cfg.distributed:
      workers.start()        # the figure workers' fork server imports while JAX loads
    from toyticket.run import distributed, sharding  # JAX from here on
    from toyticket.run import sweep as sweep_lib
    sharding.use_cpu_cores(_CPU_DEVICES.value)
    sharding.use_compilation_cache(_CACHE.value)
    if setup is not None or cfg.distributed:
      distributed.initialize(setup)      # None: the cluster's own auto-detection
    sw, table, figs = sweep_lib.run(cfg, _WORKDIR.value)   # logs on process 0 only
    distributed.finish()                 # the others may stop watching this process
  except (config.ConfigError, errors.CheckpointError, rundir.RunFileError,
          rundir.RunDirBusy, errors.DistributedError,
          errors.ResourceError) as e:
    fail(str(e))
  except OSError as e:
    fail(f"file error: {e.filename or ''}: {e.strerror or e}".replace(": : ", ": "))
  except KeyboardInterrupt:
    fail(INTERRUPTED, 130)
  except Exception as e:          # noqa: BLE001  (re-raised unless a peer was lost)
    if not _peer_lost(e):
      raise
    fail(f"distributed: a collective failed because another process stopped (killed or "
         f"failed; see its own output): {str(e).splitlines()[0][:120]}")
  if not distributed.is_main():
    return
  print(table)
  print(f"results: {sw.run_dir}  ({len(sw.rows)} sparse runs, {len(figs)} figures; full "
        "table in summary.txt; open index.html in a browser)")


def _peer_lost(e: Exception) -> bool:
  """True for the error a multi-process collective raises when a peer is gone, whatever
  its type (a JaxRuntimeError inside the program; a ValueError from the host allgather of
  the outputs): gloo's "Connection closed by peer" / "Connection reset by peer", the
  coordination service's "unavailable" or a missed heartbeat."""
  import jax
  text = str(e)
  return jax.process_count() > 1 and any(
      w in text for w in ("Gloo", "closed by peer", "reset by peer", "UNAVAILABLE",
                          "heartbeat"))


def distributed_setup():
  """The explicit multi-process setup (`distributed.Setup`) from the flags, None if none is
  given (raises DistributedError if only some are given or one is out of range)."""
  given = (_COORDINATOR.value != "", _NUM_PROCESSES.value != 0, _PROCESS_ID.value != -1)
  if not any(given):
    return None
  if not all(given):
    raise errors.DistributedError(
        "distributed: give all of --coordinator, --num_processes and --process_id (or "
        "none of them)")
  from toyticket.run import distributed
  distributed.check(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                    _TIMEOUT.value)
  return distributed.Setup(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value,
                           _TIMEOUT.value)


if __name__ == "__main__":
  sys.argv = config.resolve_argv(sys.argv)     # configs may be named without a path
  if not cli.wants_help(sys.argv[1:]):
    flags.mark_flag_as_required("config")
    try:
      config.check_overrides(sys.argv[1:])
    except config.ConfigError as e:
      fail(str(e))
  cli.run(main)
