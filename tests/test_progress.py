"""Progress from inside the compiled program (config.progress): the callbacks arrive at
the planned epochs of every phase, the sink writes one line per epoch once every device
reached it, and results are those of the program without callbacks."""
import jax
import numpy as np

from conftest import tiny_config
from toyticket.run import execute, grid
from toyticket.run.sweep import progress_sink
from toyticket.ticket import cycle, progress, train


def test_progress_epochs_are_the_quarters():
  assert train.progress_epochs(30) == (7, 14, 21, 29)
  assert train.progress_epochs(3) == (0, 1, 2)
  assert train.progress_epochs(1) == (0,)


def test_callbacks_reach_the_sink_and_change_no_result():
  cfg = tiny_config(progress=True, embeddings=("learned",), methods=("oracle",),
                    rewinds=("probe",), densities=(0.5,))
  cfg.imp.levels = 2
  g_on = grid.groups(cfg)[0]
  cfg.progress = False
  g_off = grid.groups(cfg)[0]
  args = execute.inputs(g_on, [0, 1])
  seen = []
  progress.set_sink(lambda phase, e: seen.append((phase, e)))
  try:
    on = jax.tree.map(np.asarray, cycle.full_cycle_jit(g_on.spec, *args))
  finally:
    progress.set_sink(None)
  off = jax.tree.map(np.asarray, cycle.full_cycle_jit(g_off.spec, *args))
  jax.tree.map(np.testing.assert_array_equal, on, off)
  epochs = list(train.progress_epochs(3))       # layout per_dense_run: each dense run in turn
  assert [e for p, e in seen if p == "dense"] == epochs * 2
  assert [e for p, e in seen if p == "sparse"] == epochs * 2
  assert [e for p, e in seen if p == "imp"] == epochs * 4          # two IMP levels each


def test_the_sink_writes_once_every_device_reached_an_epoch():
  lines = []
  sink = progress_sink(lines.append, "[1/1]", epochs=4, devices=2, imp_levels=2)
  for phase in ("dense", "imp", "imp"):
    for e in range(4):
      sink(phase, e)          # device 0
      sink(phase, e)          # device 1
  assert len(lines) == 12
  assert "dense: epoch 1/4" in lines[0] and "imp (level 2): epoch 4/4" in lines[-1]
  lines = []                          # per_dense_run: 2 dense runs per device, in turn
  sink = progress_sink(lines.append, "[1/1]", epochs=1, devices=2, in_turn=2, imp_levels=2)
  for run in range(2):
    for phase in ("dense", "sparse", "imp", "imp"):
      sink(phase, 0)
      sink(phase, 0)
  assert [line.split(": epoch")[0].split("] ")[1] for line in lines] == [
      "dense (dense run 1 of 2 per device)", "sparse (dense run 1 of 2 per device)",
      "imp (dense run 1 of 2 per device, level 1)", "imp (dense run 1 of 2 per device, level 2)",
      "dense (dense run 2 of 2 per device)", "sparse (dense run 2 of 2 per device)",
      "imp (dense run 2 of 2 per device, level 1)", "imp (dense run 2 of 2 per device, level 2)"]
