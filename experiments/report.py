"""Rebuilds a run directory's figures, summary.txt and index.html from its saved results.

  python -m experiments.report <run dir> [<run dir> ...]
"""
from __future__ import annotations

import sys

from absl import app

from toyticket.reading import report
from toyticket.core import rundir


def main(argv):
  if len(argv) < 2:
    raise app.UsageError("give one or more run directories")
  for run_dir in argv[1:]:
    try:
      figs = report.build(run_dir)
    except rundir.RunFileError as e:
      print(str(e).splitlines()[0], file=sys.stderr)
      sys.exit(2)
    except OSError as e:
      print(f"file error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
      sys.exit(2)
    print(f"{run_dir}/index.html ({len(figs)} figures)")


if __name__ == "__main__":
  app.run(main)
