"""The `toyticket` console command: one entry point for every command line.

  toyticket sweep --config=ticket_cycle [--config.key=value ...] [--workdir=./runs]
  toyticket report RUN_DIR
  toyticket replicate [--workdir=./runs]
  toyticket bench
  toyticket <command> --help

Each command is the module `experiments.<command>` (installed as `toyticket.experiments`),
run as `python -m experiments.<command>` runs it, with the same flags, exit codes and
one-line failures. Configs can be named without a path (`ticket_cycle`,
`ticket_cycle.py:quick`); they ship inside the package.
"""
from __future__ import annotations

import runpy
import sys

COMMANDS = {
    "sweep": "run one experiment config (the batched ticket cycle, rows, figures, report page)",
    "report": "redraw a finished run's figures and report page from its saved results",
    "replicate": "run the sweeps behind the paper's claims and write the replication report",
    "bench": "time the batched training paths (run-steps/s, peak memory)",
}

USAGE = ("usage: toyticket {" + ",".join(COMMANDS) + "} [flags]   (toyticket <command> "
         "--help for its flags)\n\n" + "\n".join(f"  {k:<10} {v}" for k, v in COMMANDS.items()))


def main(argv: list[str] | None = None) -> None:
  argv = sys.argv[1:] if argv is None else argv
  if not argv or argv[0] in ("-h", "--help", "help"):
    print(USAGE)
    sys.exit(0 if argv else 2)
  command, rest = argv[0], argv[1:]
  if command not in COMMANDS:
    print(f"toyticket: unknown command {command!r}; allowed: {', '.join(COMMANDS)}",
          file=sys.stderr)
    sys.exit(2)
  sys.argv = [f"toyticket {command}"] + rest
  runpy.run_module(f"{__package__}.{command}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
  main()
