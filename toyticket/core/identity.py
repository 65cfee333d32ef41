"""What identifies a result: the code version, the run id and the fingerprint every process
of a run must share, and the provenance written beside it (plain Python, no JAX)."""
from __future__ import annotations

import functools
import hashlib
import json
import os

from toyticket.core import usercode

# Config fields that cannot change a result: how results are drawn, placed or labelled,
# and where dense runs were restored from (restore-then-rewind is bit-identical). `quick`
# only rewrites other fields, which count. `max_cells_per_chunk` only under the default
# layout "per_dense_run" (one dense run per program iteration: the chunking and the
# device count change no bit); under "batched", how many dense runs one program holds
# changes XLA:CPU's float rounding (the default sweep in 3 chunks instead of 1: 393
# metrics.csv fields differ in the last digits), so the sweep hashes the chunking and
# the device count then (`cycle.layout_identity`, under PLACEMENT in the content
# identity): another placement is another run, never a silent mix.
NOT_HASHED = ("name", "figures", "distributed", "restore_from",
              "quick", "restore_any_version", "progress", "max_cells_per_chunk")
# What run ids hashed before 2026-12-06 (max_cells_per_chunk included): `restore` still
# recognises a run directory an older toyticket named so.
NOT_HASHED_BEFORE_2026_12_06 = tuple(f for f in NOT_HASHED if f != "max_cells_per_chunk")
PLACEMENT = "batched_over"   # the content identity's entry for a batched run's placement

# toyticket's modules that cannot change a result: the reading side (figures, report
# pages, the replication report), the one-line error types, this machine's facts.
READING_MODULES = ("reading/plots.py", "reading/report.py", "reading/replication.py",
                   "reading/rules.py", "reading/claims.py", "reading/decide.py",
                   "reading/schema_doc.py", "reading/family.py", "reading/workers.py",
                   "families/clause/figures.py",
                   "families/clause/heatmaps.py", "families/clause/sae_figures.py",
                   "families/tms/figures.py", "core/errors.py", "core/host.py",
                   # standalone APIs the sweep never calls (one network's mask, loading one)
                   "discovery/prune.py", "run/networks.py", "families/flaxmodel/prune.py",
                   "families/flaxmodel/figures.py",
                   # an installed toyticket carries its configs and command lines inside
                   # the package (pyproject's package-dir): a config's values are hashed
                   # in the run id, the command lines compute nothing
                   "configs/", "experiments/")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
  """12 hex digits of sha256 over the source of every toyticket module that can change a
  result (all but READING_MODULES), by file name and bytes. Any edit of them — a
  docstring included — is a new code version: a run directory never mixes chunks of two
  versions, and resuming or restoring across versions is refused (`restore`). Read once
  per process (the first call, when the modules are loaded), so editing files while a
  sweep runs cannot relabel what the loaded code computes."""
  root = PACKAGE_ROOT
  h = hashlib.sha256()
  for name in sorted(_package_files(root)):
    if not name.startswith(READING_MODULES):
      h.update(name.encode() + b"\0")
      h.update(_file_bytes(os.path.join(root, name)))
  return h.hexdigest()[:12]


PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # toyticket/


def _package_files(root: str) -> list:
  """Every .py file under root, as a '/'-separated path relative to it."""
  out = []
  for base, dirs, files in os.walk(root):
    dirs[:] = [d for d in dirs if d != "__pycache__"]
    rel = os.path.relpath(base, root).replace(os.sep, "/")
    out += [(f if rel == "." else f"{rel}/{f}") for f in files if f.endswith(".py")]
  return out


def _file_bytes(path: str) -> bytes:
  with open(path, "rb") as f:
    return f.read()


def run_id(cfg_dict: dict, version: str | None = None, user_code: dict | None = None,
           not_hashed: tuple = NOT_HASHED) -> str:
  """12 hex digits of sha256 over the result-changing config fields (all but NOT_HASHED
  and "provenance") as sorted JSON, the code version (`code_version()`, or `version`) and,
  for a config that names user code (a "flax" family's model and data), the digests of
  those source files (`usercode.source_digest`, or `user_code` as recorded in a run's
  provenance): changing only figures or the workdir reuses the run; changing
  result-changing code, toyticket's or the user's, makes a new one."""
  hashed = {k: v for k, v in cfg_dict.items() if k not in not_hashed + ("provenance",)}
  hashed["code_version"] = code_version() if version is None else version
  digests = usercode.source_digest(cfg_dict) if user_code is None else user_code
  if digests:
    hashed["user_code"] = digests
  return hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode()
                        ).hexdigest()[:12]


def fingerprint(cfg_dict: dict) -> str:
  """sha256 of the whole resolved config (chunking included) and the code version: what
  every process of a multi-process run must hold alike (`distributed.agree`)."""
  return hashlib.sha256((json.dumps(cfg_dict, sort_keys=True, default=str) +
                         code_version()).encode()).hexdigest()[:16]


def provenance(argv: list | None = None) -> dict:
  """What produced a run: toyticket's git commit ("unknown" outside a checkout) and
  whether its tree had uncommitted changes, library versions, the device kind and count,
  the command line and the time (UTC)."""
  import datetime
  import subprocess
  import sys
  from importlib import metadata
  root = os.path.dirname(PACKAGE_ROOT)
  git = lambda *a: subprocess.run(["git", "-C", root, *a], capture_output=True, text=True,
                                  timeout=10)
  try:
    commit = git("rev-parse", "HEAD").stdout.strip() or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no").stdout.strip())
  except (OSError, subprocess.SubprocessError):
    commit, dirty = "unknown", None
  versions = {}
  for pkg in ("jax", "jaxlib", "optax", "orbax-checkpoint", "numpy", "ml-collections",
              "matplotlib"):
    try:
      versions[pkg] = metadata.version(pkg)
    except metadata.PackageNotFoundError:
      versions[pkg] = None
  device = {"kind": None, "platform": None, "count": None}
  if "jax" in sys.modules:        # the sweep has initialised JAX; plots-only callers have not
    jax = sys.modules["jax"]
    dev = jax.devices()[0]
    device = {"kind": dev.device_kind, "platform": dev.platform, "count": jax.device_count()}
  return {"git_commit": commit, "git_dirty": dirty, "code_version": code_version(),
          "versions": versions, "device": device,
          "command": " ".join(argv if argv is not None else sys.argv),
          "python": sys.version.split()[0],
          "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
