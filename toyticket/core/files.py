"""Whole-file writes and checksummed reads of a run directory's files (plain Python and
numpy): atomic writes, CSV and npz tables, JSON read with a one-line error naming the file,
sha256 digests."""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os

import numpy as np

from toyticket.core.errors import RunFileError

def atomic_write(path: str, data: bytes | str) -> None:
  """Writes via a temporary sibling unique to this process, then one rename; on any
  failure (disk full, interrupt) the temporary file is removed."""
  tmp = f"{path}.{os.getpid()}.tmp"
  try:
    with open(tmp, "wb") as f:
      f.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)
  except OSError as e:          # disk full, permissions: name the file being written
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise OSError(e.errno, e.strerror or str(e), path) from None
  except BaseException:
    with contextlib.suppress(OSError):
      os.remove(tmp)
    raise


def to_csv(rows: list[dict]) -> str:
  """CSV text; columns in first-seen order over all rows, None as empty."""
  buf = io.StringIO()
  fields = list(dict.fromkeys(k for r in rows for k in r))
  w = csv.DictWriter(buf, fieldnames=fields)
  w.writeheader()
  w.writerows(rows)
  return buf.getvalue()


def flatten_tree(tree: dict, prefix: str = "") -> dict:
  """{"a": {"b": x}} → {"a/b": np.asarray(x)} (nested dicts of arrays)."""
  out = {}
  for k, v in tree.items():
    if isinstance(v, dict):
      out.update(flatten_tree(v, f"{prefix}{k}/"))
    else:
      out[f"{prefix}{k}"] = np.asarray(v)
  return out


def save_npz(path: str, tree: dict) -> str:
  """Compressed npz of a nested dict of arrays, keys joined with "/", written atomically;
  returns the sha256 of the bytes written."""
  buf = io.BytesIO()
  np.savez_compressed(buf, **flatten_tree(tree))
  atomic_write(path, buf.getvalue())
  return hashlib.sha256(buf.getvalue()).hexdigest()


def read_json(path: str, error=RunFileError):
  """JSON content of path, or `error` (one line naming the file) if unreadable."""
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise error(f"run file error: cannot read {path}: "
                f"{getattr(e, 'strerror', None) or str(e).splitlines()[0]}") from None


def file_digests(root: str) -> dict:
  """{path relative to root: sha256 of its bytes} for every file under root (what a
  checkpoint's checksum.json records)."""
  out = {}
  for dirpath, _, files in os.walk(root):
    for name in files:
      out[os.path.relpath(os.path.join(dirpath, name), root)] = _file_digest(
          os.path.join(dirpath, name))
  return out


def _json_digest(obj) -> str:
  return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _file_digest(path: str) -> str:
  with open(path, "rb") as f:
    return hashlib.sha256(f.read()).hexdigest()
