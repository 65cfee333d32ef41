"""Rebuilds a run directory's figures, summary.txt and index.html from its saved results.

  python -m experiments.report <run dir> [<run dir> ...] [--svg]

A damaged or edited file of a run directory stops with one line naming it, exit 2.
"""
from __future__ import annotations

from absl import flags

from . import cli
from toyticket.core import rundir
from toyticket.reading import report

_SVG = flags.DEFINE_bool("svg", False, "Also write every figure as SVG (vector; slower).")


def main(argv):
  if len(argv) < 2:
    cli.fail("usage error: give one or more run directories "
             "(python -m experiments.report <run dir> ...)")
  for run_dir in argv[1:]:
    try:
      figs = report.build(run_dir, svg=_SVG.value)
    except rundir.RunFileError as e:
      cli.fail(str(e))
    except OSError as e:
      cli.fail(f"file error: {e.filename or ''}: {e.strerror or e}")
    print(f"{run_dir}/index.html ({len(figs)} figures)")


if __name__ == "__main__":
  cli.run(main, interrupted="interrupted: the run directory's results are kept; re-run to "
          "redraw its figures")
