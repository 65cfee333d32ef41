"""The exported-program cache (run/aot.py): a second process's program comes from the
serialised export, not from tracing, and computes the same bits; a damaged entry is
traced again and rewritten."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dataclasses

from conftest import tiny_config
from toyticket.families.tms import model as _tms  # noqa: F401  (registers its readings)
from toyticket.families.tms.schema import DenseReadings
from toyticket.run import aot, grid, sharding
from toyticket.ticket import cycle

pytest.importorskip("flatbuffers")


@pytest.fixture
def cache(tmp_path, monkeypatch):
  monkeypatch.setattr(aot, "directory", lambda: str(tmp_path))
  return tmp_path


def _program():
  """A small program returning a family's typed readings (what the cycle returns), so the
  export must serialise a registered dataclass; every CLI test runs the real cycle through
  this cache (their subprocesses have a compilation cache)."""
  fields = [f.name for f in dataclasses.fields(DenseReadings)]

  def f(x, w):
    h = jnp.tanh(x @ w)
    return {"dense": DenseReadings(**{k: h.sum(0) * (i + 1) for i, k in enumerate(fields)}),
            "masks": (h > 0).astype(jnp.float32)}

  args = (jnp.linspace(-1, 1, 24).reshape(6, 4), jnp.arange(12.0).reshape(4, 3) / 7)
  return jax.jit(f), args, "tests.test_aot._program"


def test_a_second_process_loads_the_export_and_computes_the_same_bits(cache, monkeypatch):
  """The first call exports (one entry), a later one deserialises without tracing; both
  programs compute the traced program's bits; a damaged entry is traced again and
  rewritten."""
  fn, args, desc = _program()
  first = aot.compiled(fn, args, desc)
  (entry,) = os.listdir(cache)
  want = jax.tree.map(np.asarray, fn(*args))
  with monkeypatch.context() as m:      # a later process: no tracing at all
    m.setattr(jax.export, "export", lambda *a, **k: pytest.fail("traced again"))
    second = aot.compiled(fn, args, desc)
  for prog in (first, second):
    got = jax.tree.map(np.asarray, prog(*args))
    jax.tree.map(np.testing.assert_array_equal, got, want)
  assert os.listdir(cache) == [entry]
  assert aot.key(desc, args) != aot.key(desc + " another spec", args)
  (cache / entry).write_bytes(b"not a program")           # damaged
  third = aot.compiled(fn, args, desc)
  assert (cache / entry).stat().st_size > 1000
  np.testing.assert_array_equal(third(*args)["masks"], want["masks"])


def test_off_without_a_compilation_cache_or_with_progress():
  if not jax.config.jax_compilation_cache_dir:      # the suite runs without one
    assert aot.directory() is None
  spec = grid.groups(tiny_config(progress=True))[0].spec
  assert sharding.describe(cycle.full_cycle, spec) is None
