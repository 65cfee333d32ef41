"""Runs the sweeps the paper's claims need and writes the replication report.

  python -m experiments.replicate [--workdir=./runs] [--out=docs/replication.md] [--quick]

Every claim of the paper's abstract and figure captions that our sweeps measure becomes
one row: the claim, the figure, our number with its 95 % CI, the paper's number where it
gives one, and a verdict from a rule stated in the report (`toyticket/replication.py`).
"""
from __future__ import annotations

from absl import flags, logging

from . import cli

from toyticket.run import checkpoints, config, sharding
from toyticket.core import rundir
from toyticket.run import replicate

_WORKDIR = flags.DEFINE_string("workdir", "./runs", "Root of run directories.")
_OUT = flags.DEFINE_string("out", "docs/replication.md", "Where to write the report.")
_QUICK = flags.DEFINE_bool("quick", False, "Quick configs (a smoke test, not evidence).")


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  sharding.use_cpu_cores(0)
  try:
    text = replicate.run(_WORKDIR.value, _OUT.value, _QUICK.value)
  except (config.ConfigError, checkpoints.CheckpointError, rundir.RunFileError,
          rundir.RunDirBusy) as e:
    cli.fail(str(e))
  except OSError as e:
    cli.fail(f"file error: {e.filename or ''}: {e.strerror or e}")
  print(text)


if __name__ == "__main__":
  cli.run(main)
