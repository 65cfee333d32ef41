"""The exported-program cache (run/aot.py): a second process's program comes from the
serialised export, not from tracing, and computes the same bits; a damaged entry is
traced again and rewritten."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import tiny_config
from toyticket.run import aot, execute, grid, sharding
from toyticket.ticket import cycle

pytest.importorskip("flatbuffers")


@pytest.fixture
def cache(tmp_path, monkeypatch):
  monkeypatch.setattr(aot, "directory", lambda: str(tmp_path))
  return tmp_path


def _program():
  g = grid.groups(tiny_config(embeddings=("learned",)))[0]
  args = execute.inputs(g, [0, 1])
  fn = sharding.one_device_static(cycle.full_cycle, g.spec)
  return fn, args, sharding.describe(cycle.full_cycle, g.spec, "one_device")


def test_a_second_process_loads_the_export_and_computes_the_same_bits(cache, monkeypatch):
  fn, args, desc = _program()
  first = aot.compiled(fn, args, desc)
  (entry,) = os.listdir(cache)
  want = jax.tree.map(np.asarray, fn(*args))
  # a later process: no tracing at all (export would trace)
  monkeypatch.setattr(jax.export, "export", lambda *a, **k: pytest.fail("traced again"))
  second = aot.compiled(fn, args, desc)
  for prog in (first, second):
    got = jax.tree.map(np.asarray, prog(*args))
    jax.tree.map(np.testing.assert_array_equal, got, want)
  assert os.listdir(cache) == [entry]
  # another spec is another entry
  assert aot.key(desc, args) != aot.key(desc.replace("full_cycle", "sparse_cycle"), args)


def test_a_damaged_entry_is_traced_again_and_rewritten(cache):
  fn, args, desc = _program()
  aot.compiled(fn, args, desc)
  (entry,) = os.listdir(cache)
  (cache / entry).write_bytes(b"not a program")
  prog = aot.compiled(fn, args, desc)
  assert (cache / entry).stat().st_size > 1000
  np.testing.assert_array_equal(prog(*args)["masks"], fn(*args)["masks"])


def test_off_without_a_compilation_cache_or_with_progress():
  if not jax.config.jax_compilation_cache_dir:      # the suite runs without one
    assert aot.directory() is None
  spec = grid.groups(tiny_config(progress=True))[0].spec
  assert sharding.describe(cycle.full_cycle, spec) is None
