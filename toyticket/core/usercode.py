"""User code a config names (plain Python: nothing here imports JAX or the user's code
until `resolve` is called).

A config names a callable by reference, "package.module:attr" (importable from the working
directory or the installed packages) or "path/to/file.py:attr" (a file, relative to the
working directory). `user.module` names the model factory, `user.data` the data function of
the "flax" task family (`toyticket.families.flaxmodel.family` says what each must return).

The run id hashes the SOURCE FILE of each named module beside the config
(`identity.run_id` → `source_digest`), so editing your model or data file makes a new run,
exactly as editing toyticket's own code does.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys

from toyticket.core.errors import ConfigError

FIELDS = ("user.module", "user.data")   # the config fields that name user code
ALLOWED = "'package.module:name' or 'path/to/file.py:name'"


def split(field: str, ref) -> tuple[str, str]:
  """(module part, attribute) of a reference; ConfigError (one line) if malformed."""
  if not isinstance(ref, str) or ref.count(":") != 1:
    raise ConfigError(field, ref, ALLOWED)
  where, attr = ref.split(":")
  if not where or not attr.isidentifier():
    raise ConfigError(field, ref, ALLOWED)
  return where, attr


def _is_file(where: str) -> bool:
  return where.endswith(".py")


def source_file(field: str, ref) -> str:
  """The source file a reference names, found WITHOUT running it; ConfigError if none."""
  where, _ = split(field, ref)
  if _is_file(where):
    path = os.path.abspath(where)
    if not os.path.isfile(path):
      raise ConfigError(field, ref, f"{ALLOWED}; no file {path}")
    return path
  try:
    spec = importlib.util.find_spec(where)
  except (ImportError, ValueError) as e:
    raise ConfigError(field, ref, f"{ALLOWED}; cannot find module {where!r} ({e})") from None
  if spec is None or not spec.origin or not os.path.isfile(spec.origin):
    if os.getcwd() not in sys.path and "" not in sys.path:
      hint = " (the working directory is not on sys.path)"
    else:
      hint = ""
    raise ConfigError(field, ref, f"{ALLOWED}; no module {where!r}{hint}")
  return spec.origin


def source_digest(cfg_dict: dict) -> dict:
  """{field: sha256 of the named source file} for the user-code fields the config sets
  (non-empty); {} for a config that names none. ConfigError if a named file is missing."""
  out = {}
  for field in FIELDS:
    section, key = field.split(".")
    ref = (cfg_dict.get(section) or {}).get(key)
    if ref:
      with open(source_file(field, ref), "rb") as f:
        out[field] = hashlib.sha256(f.read()).hexdigest()[:16]
  return out


def resolve(field: str, ref):
  """The object a reference names (imports the module: it may import JAX and flax).
  ConfigError (one line) if it cannot be imported or has no such attribute."""
  where, attr = split(field, ref)
  try:
    if _is_file(where):
      path = source_file(field, ref)
      name = "_toyticket_user_" + hashlib.sha256(path.encode()).hexdigest()[:12]
      if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
          spec.loader.exec_module(mod)
        except BaseException:
          del sys.modules[name]
          raise
      mod = sys.modules[name]
    else:
      mod = importlib.import_module(where)
  except ConfigError:
    raise
  except Exception as e:  # the user's module failed to import
    msg = str(e).splitlines()[0] if str(e) else ""
    raise ConfigError(field, ref, f"{ALLOWED} that imports ({type(e).__name__}: {msg})"
                      ) from None
  if not hasattr(mod, attr):
    raise ConfigError(field, ref, f"{ALLOWED}; {where} has no {attr!r}")
  return getattr(mod, attr)
