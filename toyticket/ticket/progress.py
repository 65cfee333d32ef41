"""Progress from inside the jitted cycle (opt-in: `config.progress`).

With `CycleSpec.progress`, every training scan calls `jax.debug.callback(epoch, phase, e)`
at the start of each epoch e (its only argument is the scan's epoch counter, which no run
axis batches, so it fires once per epoch of a phase however many runs train together).
The host side is whatever `sink(phase, epoch)` the orchestration installs (`set_sink`);
none installed: the callback does nothing.

JAX does not write programs with host callbacks to the persistent compilation cache, so a
run with progress compiles its chunk program every time (docs/performance.md): it is off
by default and changes no result (the callback reads nothing the computation produces).
"""
from __future__ import annotations

from typing import Callable

_SINK: list = [None]


def set_sink(sink: Callable[[str, int], None] | None) -> None:
  """Install the host function that receives (phase, epoch); None to remove it."""
  _SINK[0] = sink


def epoch(phase: str, e) -> None:
  """The callback's host side: forwards (phase, epoch) to the installed sink."""
  sink = _SINK[0]
  if sink is not None:
    sink(phase, int(e))
