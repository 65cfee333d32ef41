"""Error types a user can cause that end a run in ONE line (exit 2), importable without
JAX so that a CLI can catch them before loading it. Each is raised by (and re-exported
from) the module named."""
from __future__ import annotations


class CheckpointError(RuntimeError):
  """An unreadable, missing or mismatched checkpoint (`checkpoints`)."""


class DistributedError(RuntimeError):
  """A multi-process setup that cannot work (`distributed`)."""


class ResourceError(RuntimeError):
  """A chunk whose compiled program would not fit in the memory there is (`sharding`)."""


class ConfigError(ValueError):
  """A bad config value; str() is one line naming the field, the value and what is allowed."""

  def __init__(self, field: str, value, allowed: str):
    super().__init__(f"config error: {field}={value!r} is invalid; allowed: {allowed}")


class RunFileError(RuntimeError):
  """An unreadable or damaged file of a run directory (one-line message naming it)."""
