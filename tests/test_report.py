"""Results a person can read: figure sizes, the report page, the loader, provenance, run
ids, the notebook, and the page in a real headless browser."""
import csv
import glob
import json
import os
import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from toyticket.core import files, identity
from toyticket.core import names
from toyticket.reading import plots, report
from toyticket.reading import run as run_lib
from toyticket.run import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from toyticket.core import families as _families
CLAUSE_FIGURES = _families.reading("clause").figures


def png_size(path):
  with open(path, "rb") as f:
    head = f.read(24)
  return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  """A tiny sweep with every clause figure kind and the methods those figures look for
  (the TMS figure: tests/test_cli.py's quick configs/tms.py run)."""
  from conftest import tiny_config
  c = tiny_config(figures=CLAUSE_FIGURES,
                  seeds=(0, 1, 2),
                  methods=("oracle", "random", "init_magnitude", "obs", "obs_iterative",
                           "static", "static-row", "checkpoint_magnitude"),
                  rewinds=("probe", "fresh", "final"))
  c.sae.update(l1=(1e-3, 1e-2), latents=8, seeds=2, steps=30, examples=128)
  wd = str(tmp_path_factory.mktemp("wd"))
  sw, short, figs = sweep.run(c, wd, log=lambda s: None)
  return c, wd, sw, short, figs


def test_every_figure_fits_a_page_and_svg_is_on_request(run):
  _, _, sw, _, figs = run
  assert len(figs) >= len(CLAUSE_FIGURES)
  for p in figs:
    w, h = png_size(p)
    assert w <= plots.MAX_WIDTH_PX and h > 0, (os.path.basename(p), w, h)
    assert not os.path.exists(p[:-4] + ".svg")            # PNG only by default
  res = run_lib.Run.load(sw.run_dir)
  (png,) = plots.make_figures(["near_code"], res, svg=True)
  assert os.path.getsize(png[:-4] + ".svg") > 0


CELL = ("embedding", "seed", "method", "density", "rewind", "probe_epoch")


def test_sae_rows_per_network_and_l1_agree_with_the_code_reader(run):
  c, _, sw, _, _ = run
  assert len(sw.sae_rows) == (len(sw.dense_rows) + len(sw.rows)) * len(c.sae.l1)
  dense = {(r["embedding"], r["seed"]): r for r in sw.dense_rows}
  cells = {tuple(r[k] for k in CELL): r for r in sw.rows}
  for r in sw.sae_rows:
    if r["ticket"] == "dense":      # same exact codes as the code reader's tables
      want = {t: dense[(r["embedding"], r["seed"])][f"dense_{t}"] for t in names.TEMPLATE_NAMES}
    else:
      want = {t: cells[tuple(r[k] for k in CELL)][f"sparse_{t}"] for t in names.TEMPLATE_NAMES}
    for t in names.TEMPLATE_NAMES:
      assert r[f"sae_codes_{t}"] == want[t]
      assert 0 <= r[f"sae_stable_{t}"] <= r[f"sae_matched_{t}"] <= r[f"sae_codes_{t}"]
      assert 0 <= r[f"sae_random_{t}"] <= r[f"sae_codes_{t}"]
    assert 0 <= r["sae_dead"] <= c.sae.latents and r["sae_fvu"] >= 0
  with open(os.path.join(sw.run_dir, "sae.csv")) as f:
    assert len(list(csv.DictReader(f))) == len(sw.sae_rows)


def test_report_page_references_existing_figures_and_tables(run):
  _, _, sw, _, figs = run
  with open(os.path.join(sw.run_dir, "index.html")) as f:
    page = f.read()
  refs = re.findall(r"(?:src|href)='([^']+)'", page)
  assert refs and all(os.path.exists(os.path.join(sw.run_dir, r)) for r in refs)
  for p in figs:
    assert os.path.relpath(p, sw.run_dir) in page
  for name in ("metrics.csv", "aggregate.csv", "paired.csv", "summary.txt"):
    assert f"href='{name}'" in page
  assert "floor" in page and "Provenance" in page and plots.all_figures()["survival"].__doc__[:20] \
      .split()[0] in page


def test_loader_matches_metrics_csv_and_carries_config(run):
  c, wd, sw, _, _ = run
  df = run_lib.load(sw.run_dir)
  with open(os.path.join(sw.run_dir, "metrics.csv")) as f:
    assert len(df) == sum(1 for _ in csv.DictReader(f))
  for col in ("config.data_seed", "config.task.m", "config.train.lr", "config.densities",
              "run_id", "sparse_acc", "method"):
    assert col in df.columns, col
  assert len(run_lib.load(wd)) == len(df)                      # a whole workdir
  assert len(run_lib.load_dense(sw.run_dir)) == len(sw.dense_rows)
  assert run_lib.load_arrays(sw.run_dir)["masks"].shape[0] == len(df)


def test_provenance_recorded_and_run_id_ignores_presentation_fields(run):
  c, _, sw, _, _ = run
  cfg = files.read_json(os.path.join(sw.run_dir, "config.json"))
  prov = cfg["provenance"]
  for key in ("git_commit", "git_dirty", "versions", "device", "command", "utc"):
    assert key in prov, key
  assert prov["versions"]["jax"] and prov["device"]["count"] >= 1
  d = c.to_dict()
  same = {**d, "figures": ("methods",), "name": "other"}
  assert identity.run_id(same) == identity.run_id(d)
  # the chunking changes no bit under the default layout (test_hostile: a batched run
  # hashes it with the device count through the sweep's content identity)
  assert identity.run_id({**d, "max_cells_per_chunk": 7}) == identity.run_id(d)
  assert identity.run_id({**d, "seeds": (5,)}) != identity.run_id(d)


def test_short_summary_keeps_top_rows(run):
  _, _, sw, short, _ = run
  with open(os.path.join(sw.run_dir, "summary.txt")) as f:
    full = f.read()
  assert "top 3 methods" in short and len(short.splitlines()) < len(full.splitlines())


def test_report_rebuilds_from_saved_results(run, tmp_path):
  _, _, sw, _, _ = run
  copy = str(tmp_path / "copy")
  shutil.copytree(sw.run_dir, copy)
  os.remove(os.path.join(copy, "index.html"))
  cfg = files.read_json(os.path.join(copy, "config.json"))
  cfg["figures"] = ["methods", "survival"]       # two kinds keep this test quick
  files.atomic_write(os.path.join(copy, "config.json"), json.dumps(cfg))
  figs = report.build(copy, workers=1)      # the fixture drew them in worker processes
  assert figs and os.path.exists(os.path.join(copy, "index.html"))
  for path in figs:
    with open(path, "rb") as a, open(path.replace(copy, sw.run_dir), "rb") as b:
      assert a.read() == b.read(), os.path.basename(path)


def test_figure_workers_fork_only_where_safe():
  """Forked from this process only without JAX (its threads do not survive a fork); a JAX
  process forks them from the fork server once `start` launched it with the reading side
  preloaded (a sweep does, unless quick), else spawns them."""
  import subprocess
  import sys
  code = ("import sys; from toyticket.reading import workers; a = workers.start_method(); "
          "import jax; b = workers.start_method(); workers.start(); "
          "c = workers.start_method(); from multiprocessing import forkserver; "
          "print(a, b, c, forkserver._forkserver._forkserver_pid is not None, "
          "'matplotlib' in sys.modules)")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True).stdout.split()
  assert out == ["fork", "spawn", "forkserver", "True", "False"]   # nothing heavy here


BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
    "google-chrome")


@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")
def test_report_page_renders_in_headless_chromium(run, tmp_path):
  """The page opens from disk; every <img> has loaded (naturalWidth > 0) and the
  screenshot is not blank."""
  _, _, sw, _, _ = run
  page = "file://" + os.path.abspath(os.path.join(sw.run_dir, "index.html"))
  probe = str(tmp_path / "probe.html")
  with open(probe, "w") as f:   # loads the page in an iframe and reports broken images
    f.write(f"""<html><body><iframe id=f src="{page}" width=1200 height=900></iframe>
<script>document.getElementById('f').onload = function() {{
  var imgs = this.contentDocument.images, bad = 0;
  for (var i = 0; i < imgs.length; i++) if (!imgs[i].complete || imgs[i].naturalWidth == 0) bad++;
  document.title = 'images=' + imgs.length + ' broken=' + bad; }};</script></body></html>""")
  flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
           "--disable-web-security", "--virtual-time-budget=10000"]
  dom = subprocess.run([BROWSER, *flags, "--dump-dom", "file://" + probe], capture_output=True,
                       text=True, timeout=120)
  m = re.search(r"<title>images=(\d+) broken=(\d+)</title>", dom.stdout)
  assert m, dom.stdout[-2000:] + dom.stderr[-2000:]
  assert int(m.group(1)) >= len(CLAUSE_FIGURES) and int(m.group(2)) == 0, m.group(0)
  shot = str(tmp_path / "page.png")
  subprocess.run([BROWSER, *flags, f"--screenshot={shot}", "--window-size=1200,900", page],
                 capture_output=True, timeout=120)
  from PIL import Image
  img = Image.open(shot).convert("L")
  lo, hi = img.getextrema()
  assert hi - lo > 50                                          # not a blank page


def test_quickstart_notebook_runs_headless(tmp_path):
  nbformat = pytest.importorskip("nbformat")
  nbclient = pytest.importorskip("nbclient")
  nb = nbformat.read(os.path.join(ROOT, "notebooks", "quickstart.ipynb"), as_version=4)
  nb.cells[1].source = f"QUICK = True\nWORKDIR = {str(tmp_path)!r}"
  nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",   # opened from notebooks/
                          resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}}
                          ).execute()
  assert glob.glob(str(tmp_path / "*" / "*" / "figures" / "quickstart.png"))
  text = lambda c: "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                           for o in c.get("outputs", []))
  assert "plan:" in text(nb.cells[2])                       # the sweep's log is kept
  assert "oracle" in text(nb.cells[5]) and "p_holm" in text(nb.cells[5])   # paired table


def _paired(method, baseline, mean, sd, n, verdict, p):
  return {"group": "g", "embedding": "h", "density": 0.25, "rewind": "probe", "probe_epoch": 2,
          "method": method, "baseline": baseline, "metric": "sparse_acc", "n": n,
          "mean_diff": mean, "sd_diff": sd, "ci95_lo": mean - 0.01, "ci95_hi": mean + 0.01,
          "t": None, "p": p, "p_holm": p, "verdict": verdict}


def test_significance_table_marks_real_differences_and_warns_when_underpowered():
  from toyticket.reading import decide
  rows = [_paired("a", "random", 0.05, 0.01, 40, "higher", 1e-6),
          _paired("b", "random", -0.001, 0.01, 40, "n.s.", 0.7),
          _paired("a", "oracle", -0.002, 0.01, 40, "n.s.", 0.5)]
  page = decide.significance_html(rows, "sparse_acc")
  assert "1 of 2 methods differ from random, 0 from the oracle" in page
  assert page.index(">a<") < page.index(">b<")                    # best first
  assert "▲" in page and "cannot detect" not in page              # 40 pairs, sd 0.01: powered
  few = [dict(r, n=4, sd_diff=0.05) for r in rows]
  assert "⚠ n = 4 pairs cannot detect a 0.01 difference" in decide.significance_html(
      few, "sparse_acc")


def test_report_page_decides_for_the_reader(run):
  _, _, sw, _, _ = run
  with open(os.path.join(sw.run_dir, "index.html")) as f:
    page = f.read()
  from toyticket.reading import results
  settings = {tuple(r[k] for k in results.PAIR_KEYS) for r in sw.rows}
  assert "Which differences are real" in page
  assert page.count("<details>") == len(settings)                  # one per setting
  assert "cannot detect a 0.01 difference" in page                 # 3 seeds decide nothing
  assert "docs/replication.md" in page


def test_load_network_gives_params_mask_and_row_of_any_run(run):
  import toyticket
  _, _, sw, _, _ = run
  res = toyticket.Run.load(sw.run_dir)
  j = len(res.rows) - 1                                   # the last chunk's last cell
  net = toyticket.load_network(sw.run_dir, cell=j)
  np.testing.assert_array_equal(net.mask, res.arrays["masks"][j])
  np.testing.assert_allclose(net.params["W1"] * net.mask, res.cells.sparse_w1[j])
  assert net.row == res.rows[j] and net.epoch is None and net.config["name"] == "tiny"
  i = [k for k, d in enumerate(res.dense_rows)
       if (d["embedding"], d["seed"]) == (net.row["embedding"], net.row["seed"])][0]
  at0 = toyticket.load_network(sw.run_dir, cell=j, epoch=0)       # the ticket at θ0
  np.testing.assert_array_equal(at0.params["W1"], res.dense.w1_ends[i][0])
  np.testing.assert_array_equal(at0.mask, net.mask)
  end = toyticket.load_network(sw.run_dir, dense=i)
  np.testing.assert_array_equal(end.params["W1"], res.dense.w1_ends[i][1])
  assert end.mask is None and end.epoch == len(res.dense.acc[i]) - 1
  with pytest.raises(IndexError, match="rows are numbered"):
    toyticket.load_network(sw.run_dir, cell=len(res.rows))
  with pytest.raises(ValueError, match="epoch=99"):
    toyticket.load_network(sw.run_dir, dense=0, epoch=99)
