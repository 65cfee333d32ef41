"""Bring your own model (the "flax" task family): the clause model written as a flax module
gives bit-identical results to the built-in path; a different module on the user's own
task runs end to end from a config; SynFlow's generic objective on a hand-computed net;
the user's code in the run id; bad user code fails in one line."""
import json
import os
import re
import shutil
import sys

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import tiny_config
from toyticket.core import identity, usercode
from toyticket.core.errors import ConfigError
from toyticket.families.clause import model as clause_model
from toyticket.families.flaxmodel import family as flax_family, model as flax_model
from toyticket.run import config, execute, grid
from toyticket.ticket import cycle
from zygote import cli_env, run_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
USER = os.path.join(ROOT, "tests", "byo_user.py")
METHODS = ("random", "init_magnitude", "checkpoint_magnitude", "oracle", "snip", "grasp",
           "grasp_w1", "obs", "obs_iterative", "earlybird", "synflow")


def _pair():
  """(clause config, flax config) of the same tiny sweep: learned C0 (it trains in both),
  autodiff gradients, every weight-space method, three rewinds, two IMP levels."""
  out = []
  for family, emb in (("clause", "learned"), ("flax", "identity")):
    c = tiny_config(embeddings=(emb,), methods=METHODS, rewinds=("probe", "fresh", "init"))
    c.train.grad_impl = "autodiff"
    c.imp.levels = 2
    c.discovery.earlybird_window = 3
    c.task.family = family
    c.figures = ("methods",) if family == "clause" else ("flax_methods",)
    c.user = dict(module=f"{USER}:clause_mlp", data=f"{USER}:tiny_clause", loss="bce",
                  prunable="^W1$", scored="^W2$", frozen="")
    config.validate(c)
    out.append(c)
  return out


def test_the_clause_model_as_a_flax_module_equals_the_built_in_path(monkeypatch):
  """Same θ0 (the clause model's init, packed into the module's layout: the one thing a
  flax module draws its own way) → every mask, every sparse-final W1, every sparse loss
  and accuracy and the dense trajectory are bit-identical across all 11 weight-space
  methods, IMP and the init / probe / fresh rewinds."""
  cc, cf = _pair()
  gc, gf = grid.groups(cc)[0], grid.groups(cf)[0]
  assert gc.grid == gf.grid                      # same cells, same IMP counts (H·d = 64)
  dense_in, cells, data = execute.inputs(gc, [0, 1])
  data_f = execute.task_arrays(gf)
  for k in data_f:
    np.testing.assert_array_equal(data_f[k], data[k])
  lay = flax_family.network(gf.spec.options, gf.spec.hidden, gf.spec.n_out)[1]
  assert lay.scored == ("prunable", "W2") and lay.rest == ("C0", "W2", "b1", "b2")
  monkeypatch.setattr(flax_family.FlaxFamily, "init", lambda self, spec, key, c0: flax_model.pack(
      clause_model.init_params(key, c0, spec.hidden, spec.n_out), lay))
  oc = cycle.full_cycle_jit(gc.spec, dense_in, cells, data)
  of = cycle.full_cycle_jit(gf.spec, dense_in, gf.grid.inputs(2), data_f)
  w1 = lambda tree: np.asarray(tree["prunable"]).reshape(np.shape(oc["masks"])[:2] + (8, 8))
  np.testing.assert_array_equal(np.asarray(of["masks"]).reshape(np.shape(oc["masks"])),
                                oc["masks"])
  np.testing.assert_array_equal(w1(of["sparse_final"]), oc["sparse_final"]["W1"])
  for k in ("C0", "W2", "b1", "b2"):
    np.testing.assert_array_equal(of["sparse_final"][k], oc["sparse_final"][k])
  np.testing.assert_array_equal(of["cells"].loss, oc["cells"].loss)
  np.testing.assert_array_equal(of["cells"].sparse_acc, oc["cells"].sparse_acc)
  np.testing.assert_array_equal(of["dense"].loss, oc["dense"].loss)
  np.testing.assert_array_equal(of["dense"].test_acc, oc["dense"].acc)
  np.testing.assert_array_equal(
      np.asarray(of["dense_traj"]["prunable"]).reshape(np.shape(oc["dense_traj"]["W1"])),
      oc["dense_traj"]["W1"])
  methods = [c.method for c in gc.grid.cells]
  assert set(methods) == set(METHODS) | {"imp"}
  # not vacuous: the methods disagree with each other
  m = np.asarray(oc["masks"])
  assert not np.array_equal(m[:, methods.index("snip")], m[:, methods.index("random")])


def test_generic_synflow_on_a_hand_computed_network():
  """Two bias-free linear layers W_a (2, 3), W_b (1, 2) with signed entries: Synaptic-Flow
  takes |θ|, feeds ones, R = 1ᵀ|W_b||W_a|1, so ∂R/∂|W_a|[i, j] = |W_b|[0, i] and the score
  is |W_b|[0, i]·|W_a|[i, j]; the mask zeroes pruned weights' scores."""
  class Lin(nn.Module):
    @nn.compact
    def __call__(self, x):
      h = nn.Dense(2, use_bias=False, name="a")(x)
      return nn.Dense(1, use_bias=False, name="b")(h)
  module = Lin()
  wa = jnp.array([[1.0, -2.0], [0.5, 3.0], [-4.0, 1.0]])   # flax kernel (in, out) = W_aᵀ
  wb = jnp.array([[-2.0], [0.25]])
  tree = {"a": {"kernel": wa}, "b": {"kernel": wb}}
  lay = flax_model.layout(flax_model.shapes_of(module, 3), "^a/kernel", "", "")
  params = flax_model.pack(tree, lay)
  mask = jnp.ones((1, 6)).at[0, 5].set(0.0)
  got = flax_model.synflow_scores(module, lay, 3, params, mask)
  want = (np.abs(wa) * np.abs(wb[:, 0])[None, :]).ravel()
  want[5] = 0.0
  np.testing.assert_allclose(np.asarray(got)[0], want, rtol=1e-6)


def test_pack_unpack_round_trip_and_selection():
  shapes = {"a/kernel": (2, 3), "a/bias": (3,), "b/kernel": (3, 1), "b/bias": (1,)}
  lay = flax_model.layout(shapes, "kernel", "bias$", "^b/")
  assert [p for p, _ in lay.prunable] == ["a/kernel", "b/kernel"] and lay.size == 9
  assert lay.scored == ("prunable", "a/bias", "b/bias") and lay.frozen == ("b/bias", "b/kernel")
  rng = np.random.default_rng(0)
  tree = {"a": {"kernel": rng.normal(size=(2, 3)), "bias": rng.normal(size=3)},
          "b": {"kernel": rng.normal(size=(3, 1)), "bias": rng.normal(size=1)}}
  params = flax_model.pack(tree, lay)
  chex.assert_shape(params["prunable"], (1, 9))
  back = flax_model.unpack(params, jnp.ones((1, 9)), lay)
  chex.assert_trees_all_close(back, tree)
  with pytest.raises(ValueError, match="a/bias"):
    flax_model.layout(shapes, "nothing", "", "")


HELPER = "import flax.linen as nn\nACT = nn.{}\n"
MODEL = ("import flax.linen as nn\nimport helper\n"
         "def make(hidden, n_out):\n"
         "  class M(nn.Module):\n"
         "    @nn.compact\n"
         "    def __call__(self, x):\n"
         "      return nn.Dense(n_out)(helper.ACT(nn.Dense(hidden)(x)))\n"
         "  return M()\n")
DATA = ("import numpy as np\n"
        "def load(seed, n_train, n_test):\n"
        "  a = np.load('arr.npy')\n"
        "  x = np.resize(a, (n_train + n_test, 3)).astype(np.float32)\n"
        "  y = (x.sum(1, keepdims=True) > 0).astype(np.float32)\n"
        "  return {'x_train': x[:n_train], 'y_train': y[:n_train], 'x_test': x[n_train:],"
        " 'y_test': y[n_train:]}\n")


def test_code_and_data_outside_the_named_files_are_in_the_identity(tmp_path, monkeypatch):
  """An edited helper module the model imports, or a data file the data function reads,
  changes the run's identity (the lowered model program, the data arrays' bytes) though
  the named files are unchanged; an edited comment does not."""
  monkeypatch.chdir(tmp_path)
  monkeypatch.syspath_prepend(str(tmp_path))
  (tmp_path / "model.py").write_text(MODEL)
  (tmp_path / "data.py").write_text(DATA)
  np.save(tmp_path / "arr.npy", np.linspace(-1, 1, 30))

  def ident(helper_act):
    (tmp_path / "helper.py").write_text(HELPER.format(helper_act))
    sys.modules.pop("helper", None)
    for name in [m for m in sys.modules if m.startswith("_toyticket_user_")]:
      del sys.modules[name]
    flax_family.network.cache_clear()
    c = tiny_config(embeddings=("identity",), methods=("random",))
    c.discovery.earlybird_window = 3
    c.figures = ("flax_methods",)
    c.task.family = "flax"
    c.user = dict(module="model.py:make", data="data.py:load", loss="bce", prunable="kernel",
                  scored="", frozen="")
    (g,) = grid.groups(c)
    return flax_family.FAMILY.identity(g.spec)

  relu = ident("relu")
  assert ident("relu") == relu
  tanh = ident("tanh")
  assert tanh["model program"] != relu["model program"]
  assert tanh["user.module"] == relu["user.module"] and tanh["data arrays"] == relu["data arrays"]
  np.save(tmp_path / "arr.npy", np.linspace(-2, 1, 30))
  assert ident("tanh")["data arrays"] != tanh["data arrays"]
  flax_family.network.cache_clear()


def test_user_code_is_part_of_the_run_id(tmp_path):
  src = tmp_path / "m.py"
  src.write_text("def make(hidden, n_out):\n  return None\n")
  cfg = config.base_config().to_dict()
  cfg["user"]["module"] = f"{src}:make"
  first = identity.run_id(cfg, "v")
  assert identity.run_id(cfg, "v") == first
  src.write_text("def make(hidden, n_out):\n  return 1\n")     # an edit of the user's file
  assert identity.run_id(cfg, "v") != first
  recorded = usercode.source_digest(cfg)
  assert identity.run_id(cfg, "v", recorded) == identity.run_id(cfg, "v")
  plain = config.base_config().to_dict()            # a config naming no user code
  assert usercode.source_digest(plain) == {}


def _tower_config():
  """The tiny config on the user's Tower model and regression task."""
  c = tiny_config(embeddings=("identity",), methods=("random",))
  c.discovery.earlybird_window = 3
  c.figures = ("flax_methods",)
  c.task.family = "flax"
  c.user = dict(module=f"{USER}:tower", data=f"{USER}:waves", loss="mse", prunable="kernel",
                scored="", frozen="")
  return c


class _WithStats(nn.Module):
  @nn.compact
  def __call__(self, x):
    return nn.BatchNorm(use_running_average=False)(nn.Dense(2)(x))


@pytest.mark.parametrize("field,value,why", [
    ("module", "nope.py:make", "no file"),
    ("module", f"{USER}:missing", "has no 'missing'"),
    ("module", "no_colon", "package.module:name"),
    ("data", f"{USER}:tower", "a data function that runs"),
    ("loss", "hinge", "bce, softmax_ce, mse"),
    ("prunable", "(", "valid regular expression"),
    ("data", f"{USER}:strings", "numeric"),
    ("module", f"{USER}:narrow", "outputs"),            # (B, 1) outputs for 2 targets
    ("loss", "bce", "user.data"),                       # targets in [-1, 1] for a sigmoid
])
def test_bad_user_code_is_one_config_error(field, value, why):
  c = _tower_config()
  c.user[field] = value
  with pytest.raises(ConfigError, match=re.escape(why)) as e:
    config.validate(c)
    grid.groups(c)
  assert "user." in str(e.value) and "\n" not in str(e.value)


def test_a_module_with_batch_statistics_is_refused(monkeypatch):
  c = _tower_config()
  import byo_user
  monkeypatch.setattr(byo_user, "tower", lambda hidden, n_out: _WithStats(), raising=True)
  monkeypatch.setitem(sys.modules, usercode_module_name(USER), byo_user)
  flax_family.network.cache_clear()
  with pytest.raises(ConfigError, match="batch_stats"):
    grid.groups(c)
  flax_family.network.cache_clear()


def usercode_module_name(path):
  import hashlib
  return "_toyticket_user_" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:12]


CONFIG = '''"""A user's own config: their module and task, by file path."""
from toyticket.run.config import base_config


def get_config():
  c = base_config()
  c.name = "mine"
  c.task.family = "flax"
  c.task.n_train, c.task.n_test = 512, 256
  c.user = dict(module="byo_user.py:tower", data="byo_user.py:waves", loss="mse",
                prunable="kernel", scored="", frozen="^norm/")
  c.model.hidden = 8
  c.embeddings = ("identity",)
  c.train = dict(optimizer="adam", lr=1e-2, momentum=0.0, batch_size=64, epochs=4,
                 grad_impl="autodiff", layout="per_dense_run")
  c.probe_epochs = (1,)
  c.rewind_epoch = 1
  c.methods = ("random", "init_magnitude", "oracle", "snip", "grasp", "synflow", "earlybird")
  c.densities = (0.25,)
  c.rewinds = ("probe", "fresh")
  c.imp = dict(levels=2, prune_fraction=0.5)
  c.discovery.earlybird_window = 3
  c.seeds = (0, 1, 2)
  c.figures = ("flax_methods",)
  return c
'''


def test_a_users_own_model_and_task_run_end_to_end_from_a_config(tmp_path):
  """A different flax module (Dense → LayerNorm → tanh → Dense; LayerNorm frozen) on a
  regression task of the user's, named by files in the working directory: the sweep CLI
  runs it, writes every table and figure, and the paired statistics compare methods."""
  shutil.copy(USER, tmp_path / "byo_user.py")
  (tmp_path / "mine.py").write_text(CONFIG)
  env = cli_env()
  p = run_module("experiments.sweep", "--config=mine.py", "--workdir=runs", cwd=tmp_path,
                 env=env)
  assert p.returncode == 0, p.stderr[-3000:]
  (run_dir,) = [l.split()[1] for l in p.stdout.splitlines() if l.startswith("results: ")]
  run_dir = os.path.join(tmp_path, run_dir)
  with open(os.path.join(run_dir, "metrics.json")) as f:
    m = json.load(f)
  rows = m["runs"]
  assert len(rows) == 3 * (7 * 2 + 2)                 # seeds × (methods × rewinds + IMP)
  assert all(r["sparse_acc"] is None for r in rows)   # mse: no accuracy
  assert all(r["sparse_loss"] > 0 and r["pruned_nonzero"] == 0 for r in rows)
  n_prunable = 6 * 8 + 8 * 2                          # inp/kernel + out/kernel
  assert {round(r["realised_density"] * n_prunable) for r in rows if r["method"] != "imp"} == {16}
  paired = open(os.path.join(run_dir, "paired.csv")).read()
  assert "snip,random,sparse_loss,3" in paired
  with open(os.path.join(run_dir, "config.json")) as f:
    prov = json.load(f)["provenance"]
  assert set(prov["user_code"]) == {"user.module", "user.data", "model program",
                                    "data arrays"}
  assert os.path.exists(os.path.join(run_dir, "figures", "methods_probe.png"))
  # the frozen LayerNorm never trained: its scale is 1 in every sparse final
  net = __import__("toyticket").load_network(run_dir, cell=0)
  np.testing.assert_array_equal(net.params["norm/scale"], 1.0)
  # an edit of the user's model file: a new run id, and restoring the old run is refused
  with open(tmp_path / "byo_user.py", "a") as f:
    f.write("\n# edited\n")
  p = run_module("experiments.sweep", "--config=mine.py", "--workdir=runs",
                 f"--config.restore_from={run_dir}", cwd=tmp_path, env=env)
  lines = p.stderr.strip().splitlines()
  assert p.returncode == 2 and len(lines) == 1 and "same user code" in lines[0], p.stderr
  assert os.listdir(os.path.join(tmp_path, "runs", "mine")) == [os.path.basename(run_dir)]


def test_prune_module_is_prune_on_the_packed_weights_in_the_modules_nesting():
  """prune_module on the clause model as a flax module gives, for W1, the mask prune()
  gives on the clause model's dict (SNIP, same params); a two-kernel MLP is ranked
  globally (exact count over both kernels)."""
  import toyticket
  from toyticket.families.clause import task
  tk = task.make_task(0, 8, 4, 4, "dnf", "positive", 128, 64)
  p = clause_model.init_params(jax.random.PRNGKey(3), jnp.eye(8), 8, tk.n_out)
  module = __import__("byo_user").clause_mlp(8, tk.n_out)
  got = toyticket.prune_module("snip", module, p, 0.25, tk.x_train, tk.y_train,
                               prunable="^W1$", scored="^W2$")
  want = toyticket.prune("snip", p, 0.25, tk.x_train, tk.y_train)
  np.testing.assert_array_equal(got["W1"], want)
  mlp = __import__("toyticket.families.flaxmodel.examples", fromlist=["x"]).mlp(6, 2)
  params = mlp.init(jax.random.PRNGKey(0), jnp.zeros((1, 8)))["params"]
  m = toyticket.prune_module("init_magnitude", mlp, params, 0.1, tk.x_train, tk.y_train)
  sizes = [params[k]["kernel"].size for k in ("Dense_0", "Dense_1", "Dense_2")]
  assert set(m) == {"Dense_0", "Dense_1", "Dense_2"} and set(m["Dense_0"]) == {"kernel"}
  assert sum(m[k]["kernel"].sum() for k in m) == round(0.1 * sum(sizes))
  with pytest.raises(ValueError, match="allowed"):
    toyticket.prune_module("w1_kappa", mlp, params, 0.1, tk.x_train, tk.y_train)
