"""Plain-Python field checks shared by config validation (`run.validate`) and the task
families (their reading halves' `validate`, their task lists)."""
from __future__ import annotations

from toyticket.core.errors import ConfigError


def as_tuple(v) -> tuple:
  """A config value as a tuple: a tuple or list as it is, a scalar as a 1-tuple."""
  return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def choice(field: str, values, allowed) -> None:
  """ConfigError (one line) naming `field`, the first value not in `allowed`, and them."""
  for v in as_tuple(values):
    if v not in allowed:
      raise ConfigError(field, v, ", ".join(map(str, allowed)))
