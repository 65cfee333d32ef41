"""The layout's promises: no import cycles, JAX-free config and plots, one vocabulary,
one owner of cell order."""
import ast
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from toyticket.discovery import impls as discovery, methods
from toyticket.run import grid
from toyticket.core import names
from toyticket.reading import plots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "toyticket")


def _modules() -> dict:
  """{dotted module name: file} of every toyticket module (packages' __init__ included)."""
  out = {}
  for base, dirs, files in os.walk(PKG):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    pkg = "toyticket" + "".join("." + p for p in os.path.relpath(base, PKG).split(os.sep)
                                if p != ".")
    for f in files:
      if f.endswith(".py"):
        out[pkg if f == "__init__.py" else f"{pkg}.{f[:-3]}"] = os.path.join(base, f)
  return out


def _imports() -> dict:
  """{module: set of toyticket modules it imports at top level or inside functions}."""
  mods = _modules()
  out = {}
  for name, path in mods.items():
    deps = set()
    for node in ast.walk(ast.parse(open(path).read())):
      if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("toyticket"):
        for a in node.names:   # `from pkg import module` or `from module import name`
          full = f"{node.module}.{a.name}"
          deps.add(full if full in mods else node.module)
      elif isinstance(node, ast.Import):
        deps |= {a.name for a in node.names if a.name.startswith("toyticket.")}
    out[name] = deps - {name}
  return out


# The layers, lowest first: a module imports only modules of its own layer or below.
LAYERS = (("toyticket.core", "toyticket.discovery.methods"),
          ("toyticket.reading",),
          ("toyticket.families", "toyticket.discovery", "toyticket.ticket"),
          ("toyticket.run",))


def _layer(module: str) -> int:
  return next(i for i, prefixes in enumerate(LAYERS)
              if any(module == p or module.startswith(p + ".") for p in prefixes))


def test_packages_show_the_layers():
  """core (plain Python, files) < reading (saved results only, no JAX) < the computing
  packages (families, discovery, ticket) < run (orchestration): nothing imports upward."""
  upward = [f"{m} imports {d}" for m, deps in _imports().items() if m != "toyticket"
            for d in deps if d != "toyticket" and _layer(d) > _layer(m)]
  assert not upward, upward


def test_no_import_cycles():
  graph = _imports()
  state: dict = {}

  def visit(m, path):
    if state.get(m) == "done":
      return
    assert state.get(m) != "open", "import cycle: " + " → ".join(path + [m])
    state[m] = "open"
    for d in graph.get(m, ()):
      visit(d, path + [m])
    state[m] = "done"

  for m in graph:
    visit(m, [])


def python_prints(code: str) -> str:
  """What a new interpreter running `code` prints (stripped); fails the test if it fails."""
  p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                     timeout=120)
  assert p.returncode == 0, p.stderr[-2000:]
  return p.stdout.strip()


def test_config_and_plots_pull_in_no_jax_and_select_no_backend():
  code = ("import sys, matplotlib;"
          "raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); before = raw();"
          "import toyticket.run.config, toyticket.reading.plots, toyticket.reading.results;"
          "import toyticket.reading.report, toyticket.reading.replication;"
          "import toyticket.core.rundir, toyticket.core.host, toyticket.core.errors;"
          "import toyticket.families.clause.reading, toyticket.families.tms.reading;"
          "import toyticket.families.flaxmodel.reading, toyticket.core.usercode;"
          "import toyticket.reading.run, toyticket.reading.family, toyticket.core.readings;"
          "toyticket.reading.plots.all_figures();"
          "assert 'jax' not in sys.modules, 'jax imported';"
          "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported';"
          "assert raw() == before, 'backend set'; print('ok')")
  assert python_prints(code) == "ok"


def test_a_config_check_imports_no_jax_matplotlib_or_scipy():
  """A bad flag or config fails in ~0.2 s: checking a config (every family's rules) pulls in
  none of JAX, matplotlib (the figure modules import it when they draw) or scipy."""
  code = ("import sys; from toyticket.run import config; from toyticket.core import families;"
          "[families.reading(n) for n in families.PACKAGES];"
          "c = config.load_file('configs/embedding_sweep.py'); config.validate(c);"
          "config.validate(config.apply_quick(c));"
          "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'jax', 'matplotlib', 'scipy'});"
          "print(heavy)")
  assert python_prints(code) == "[]"


def test_vocabulary_matches_implementations():
  from toyticket.ticket import cycle
  from toyticket.families.clause import metrics
  from toyticket.ticket import embeddings
  figs = plots.all_figures()           # each family's figures, registered where drawn
  from toyticket.core import families as fams
  by_family = [fams.reading(n).figures for n in names.TASK_FAMILIES]
  assert sorted(figs) == sorted(f for fs in by_family for f in fs) and all(by_family)
  assert tuple(discovery.IMPLS) == methods.NAMES
  assert cycle.REWINDS == names.REWINDS and embeddings.FAMILIES == names.FAMILIES
  assert metrics.LOAD_BINS == names.LOAD_BINS
  from toyticket.core import families
  for name in names.TASK_FAMILIES:     # every registered family has both halves, named
    assert families.compute(name).name == families.reading(name).name == name
  from toyticket.families.tms import model as tms
  assert tms.REPRESENTED_MIN == names.TMS_REPRESENTED_MIN
  np.testing.assert_array_equal(metrics.DIST_BINS, np.linspace(0, 2, 11, dtype=np.float32))


def test_a_method_is_implemented_once_where_it_is_written():
  from toyticket.discovery import base
  assert set(base.NAMED) == {m.name for m in methods.METHODS.values() if m.space == "weight"
                             or m.site_score is None or m.translation not in methods.TRANSLATIONS}
  with pytest.raises(KeyError, match="implemented twice"):
    base.implements("snip", reads="init")(lambda ctx: None)
  assert discovery.IMPLS["snip"] is base.NAMED["snip"]


def test_feature_methods_are_pairs_and_properties_are_typed():
  for m in methods.METHODS.values():
    assert m.space in methods.SPACES and m.family in methods.FAMILIES
    assert (m.site_score is None) == (m.space == "weight")
    assert m.tasks and set(m.tasks) <= set(names.TASK_FAMILIES)
  pairs = [(m.site_score, m.translation) for m in methods.METHODS.values()
           if m.space == "feature" and m.scores_at == "probe" and "clause" in m.tasks]
  assert len(pairs) == len(set(pairs)) == len(methods.SITE_SCORES) * len(methods.TRANSLATIONS)
  assert methods.feature_method("static", "greedy", "start").name == "static_adaptive"
  assert methods.feature_method("dynamic", "orth").name == "dynamic-orth"
  assert methods.feature_method("static", "greedy").name == "static"
  assert methods.METHODS["oracle"].post_training and not methods.METHODS["snip"].needs_probe
  assert methods.METHODS["checkpoint_magnitude"].needs_probe


def test_cell_grid_owns_order_labels_inputs_and_flattening():
  """Hand-written expectation for 2 methods × 2 densities × 1 rewind × 2 probe epochs."""
  g = grid.CellGrid(("oracle", "random"), (0.5, 0.25), ("probe",), (1, 3))
  assert len(g) == 8
  assert [(c.method, c.density, c.probe_index) for c in g.cells] == [
      ("oracle", 0.5, 0), ("oracle", 0.5, 1), ("oracle", 0.25, 0), ("oracle", 0.25, 1),
      ("random", 0.5, 0), ("random", 0.5, 1), ("random", 0.25, 0), ("random", 0.25, 1)]
  inputs = g.inputs(n_dense=3)
  assert len(inputs) == 2                                       # one dict per method
  np.testing.assert_array_equal(inputs[1]["density"], [[0.5, 0.5, 0.25, 0.25]] * 3)
  np.testing.assert_array_equal(inputs[0]["probe_index"], [[0, 1, 0, 1]] * 3)
  np.testing.assert_array_equal(inputs[0]["rewind"], [[names.REWINDS.index("probe")] * 4] * 3)
  out = {"a": np.arange(3 * 8).reshape(3, 8), "p": {"W": np.zeros((3, 8, 2, 2))}}
  flat = jax.tree.map(grid.CellGrid.flatten, out)
  np.testing.assert_array_equal(flat["a"], np.arange(24))       # row r·C + c
  assert flat["p"]["W"].shape == (24, 2, 2)


def test_group_labels_follow_the_grid(tiny_group):
  g = tiny_group
  labels = g.cell_labels([1, 2])
  per = len(g.grid)
  assert len(labels) == 2 * per
  assert [lab["dense_pos"] for lab in labels] == [0] * per + [1] * per
  assert labels[per]["seed"] == g.dense[2][1] and labels[per]["embedding"] == g.dense[2][0]
  assert [lab["method"] for lab in labels[:per]] == [c.method for c in g.grid.cells]


def test_the_wheel_lists_every_package():
  """pyproject's explicit package list names every toyticket package (a new family's
  package missing there would be absent from an installed toyticket)."""
  tomllib = pytest.importorskip("tomllib")
  with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
    listed = set(tomllib.load(f)["tool"]["setuptools"]["packages"])
  found = {name for name, path in _modules().items() if path.endswith("__init__.py")}
  assert found <= listed, sorted(found - listed)
