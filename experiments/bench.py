"""Benchmark of the batched training path (vmap over runs, one jit call) against the same
runs one jitted call at a time, in one process; plus compile time, peak memory and achieved
FLOP/s against a large-matmul ceiling measured in the same process.

Two batched layouts: "independent" (every run its own data order, as dense runs) and
"shared" (--share runs per data order, as the sparse cells of one dense run). With more
than one device (on CPU by default one per core, as in the sweep; or a multi-GPU host) the
run axis is sharded over all of them and the one-device rate is reported beside it.

  python -m experiments.bench [--runs=128] [--epochs=2] [--share=64] [--cpu_devices=0]
      [--embedding=hadamard] [--out=bench.json]

Gradient paths as in the sweep (`kernels.train_path`, --grad_impl as train.grad_impl): a
run alone and the independent layout take the dense phase's path; the shared layout with a
frozen embedding (hadamard, the default, as every config without "learned") embeds each
minibatch once per group ("fused_embedded"); --embedding=learned times the general path
with a trainable C0 (the embedding sweep's batches); --grad_impl=autodiff the reference.
"""
from __future__ import annotations

import functools
import json
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from jax.sharding import NamedSharding, PartitionSpec as P

from . import cli
from toyticket.ticket import cycle, train
from toyticket.run import execute, sharding
from toyticket.families.clause import family as clause_family
from toyticket.families.clause import task
from toyticket.core import names, prng

_RUNS = flags.DEFINE_integer("runs", 128, "R: runs in the batch.")
_EPOCHS = flags.DEFINE_integer("epochs", 2, "Epochs per run (steps = epochs · N/B).")
_LOOP_RUNS = flags.DEFINE_integer("loop_runs", 16, "Runs timed one at a time (the rate is "
                                  "per run, so a subset suffices).")
_HIDDEN = flags.DEFINE_integer("hidden", 16, "H.")
_BATCH = flags.DEFINE_integer("batch_size", 128, "B.")
_SHARE = flags.DEFINE_integer("share", 64, "Runs per data order in the 'shared' layout "
                              "(as the sparse cells of one dense run share its order).")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 0, "XLA:CPU devices to shard the batch "
                                    "over (0: one per available core, as the sweep).")
_EMBEDDING = flags.DEFINE_enum("embedding", "hadamard", list(names.FAMILIES),
                                "C0 family of every run (frozen: the shared layout may embed "
                                "once per group).")
_GRAD_IMPL = flags.DEFINE_enum("grad_impl", "auto", list(names.GRAD_IMPLS),
                               "Gradient paths (kernels.train_path), as train.grad_impl.")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed passes of every path (best is kept).")
_MATMUL_N = 2048                                    # ceiling: one n×n×n float32 matmul
_OUT = flags.DEFINE_string("out", "bench.json", "Where to write the table as JSON.")
_CURVES = flags.DEFINE_bool("curves", False, "Cost curves instead of the single point: "
                            "run-steps/s and XLA peak memory as the run count grows "
                            "(--curve_runs at --hidden) and as the hidden width grows "
                            "(--curve_hidden at 512 runs), for both layouts and both "
                            "gradient paths (autodiff, auto), in one process.")
_CURVE_RUNS = flags.DEFINE_list("curve_runs", ["128", "512", "2048", "8192"], "Run counts.")
_CURVE_HIDDEN = flags.DEFINE_list("curve_hidden", ["16", "64", "256"], "Hidden widths.")


def seconds(fn, args) -> float:
  """Wall seconds of fn(*args), outputs ready."""
  t0 = time.perf_counter()
  jax.block_until_ready(fn(*args))
  return time.perf_counter() - t0


def interleaved(cases: dict, repeats: int) -> dict:
  """{name: (first-call seconds, best steady-state seconds)} for cases {name: (fn, args)}.
  Each case is called once (compile + run), then all cases in turn `repeats` times, so
  every path sees the same background load; best-of because the shared 2-core VM this was
  tuned on shows up to ±40 % interference from run to run, and the minimum is stable."""
  first = {name: seconds(*case) for name, case in cases.items()}
  best = dict.fromkeys(cases, np.inf)
  for _ in range(repeats):
    for name, case in cases.items():
      best[name] = min(best[name], seconds(*case))
  return {name: (first[name], best[name]) for name in cases}


def step_flops(b, n, d, h, o, c0_frozen):
  """FLOPs of one training step of one run: forward 2(Hdn + BnH + BHO), backward ≈ 2×; on
  the frozen-C0 path (inputs embedded once per group, no C1 = (W1 ⊙ M) C0) 3·2(BdH + BHO)."""
  if c0_frozen:
    return 3 * 2 * (b * d * h + b * h * o)
  return 3 * 2 * (h * d * n + b * n * h + b * h * o)


def curve_point(r: int, hdim: int, layout: str, grad_impl: str, share: int, epochs: int,
                b: int, repeats: int, tk, data) -> dict:
  """One point of a cost curve: R runs of width H trained `epochs` epochs as one vmapped
  jit call, "independent" (a data order per run) or "shared" (`share` runs per order),
  on gradient path `grad_impl`; the batch is sharded over the devices when it divides.
  Returns run-steps/s (best of `repeats` after one compile-and-run call), the compile
  seconds and XLA's peak bytes of the program per device (arguments + outputs + temporaries
  − aliases, `Compiled.memory_analysis`)."""
  clause = clause_family.FAMILY
  tc = train.TrainConfig(epochs=epochs, batch_size=b, grad_impl=grad_impl)
  spec = cycle.CycleSpec(hidden=hdim, n_out=1, train=tc, methods=(), probe_epochs=(0,),
                         c0_frozen=True, options=clause_family.ClauseOptions())
  dense_in = execute.dense_inputs([("hadamard", s) for s in range(r)], 16, 16, (0.25,))
  p0 = cycle.init_dense(spec, dense_in)
  keys = jax.vmap(lambda k: cycle.stream(k, prng.SHUFFLE))(dense_in["key"])
  c = share if layout == "shared" else 1
  path = cycle.train_path(spec, shared_frozen_c0=c > 1)
  group = lambda p, k: train.train(p, jnp.ones_like(p["W1"]), 0.0, k, data["x_train"],
                                   data["y_train"], tc, clause.step(spec, path))
  grouped = jax.tree.map(lambda a: a.reshape(r // c, c, *a.shape[1:]), p0)
  grouped["C0"] = jnp.broadcast_to(grouped["C0"][:, :1], grouped["C0"].shape)
  args = (grouped, keys[::c])
  nd = jax.device_count()
  if nd > 1 and (r // c) % nd == 0:
    args = jax.device_put(args, NamedSharding(sharding.mesh(), P(sharding.AXIS)))
  t0 = time.perf_counter()
  program = jax.jit(jax.vmap(group)).lower(*args).compile()
  compile_s = time.perf_counter() - t0
  m = program.memory_analysis()
  peak = (m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
          - m.alias_size_in_bytes)
  seconds(program, args)                                           # first run
  best = min(seconds(program, args) for _ in range(repeats))
  steps = epochs * (tk.x_train.shape[0] // b)
  return {"runs": r, "hidden": hdim, "layout": layout, "grad_impl": grad_impl, "path": path,
          "run_steps_per_s": r * steps / best, "seconds": best, "compile_seconds": compile_s,
          "peak_bytes_per_device": int(peak), "devices": nd}


def curves() -> list[dict]:
  """The cost curves (`--curves`): every point of (--curve_runs at --hidden) and
  (--curve_hidden at 512 runs) × layout × gradient path, printed as a table."""
  tk = task.make_task(0, n=16, m=16, k=4)
  data = clause_family.FAMILY.task_arrays(tk)
  grid = ([(int(r), _HIDDEN.value) for r in _CURVE_RUNS.value] +
          [(512, int(h)) for h in _CURVE_HIDDEN.value if int(h) != _HIDDEN.value])
  out = []
  print(f"{'runs':>6} {'H':>4} {'layout':<12} {'grad':<9} {'path':<15} {'run-steps/s':>12} "
        f"{'compile s':>9} {'peak MiB':>9}")
  for r, h in grid:
    for layout in ("independent", "shared"):
      for grad_impl in ("autodiff", "auto"):
        pt = curve_point(r, h, layout, grad_impl, min(_SHARE.value, r), _EPOCHS.value,
                         _BATCH.value, _REPEATS.value, tk, data)
        out.append(pt)
        print(f"{r:>6} {h:>4} {layout:<12} {grad_impl:<9} {pt['path']:<15} "
              f"{pt['run_steps_per_s']:>12.4g} {pt['compile_seconds']:>9.1f} "
              f"{pt['peak_bytes_per_device'] / 2**20:>9.1f}", flush=True)
  return out


def main(argv):
  del argv
  if _CURVES.value:
    sharding.use_cpu_cores(_CPU_DEVICES.value)
    dev = jax.devices()[0]
    table = {"device": f"{dev.platform}:{dev.device_kind} ×{jax.device_count()}",
             "epochs": _EPOCHS.value, "batch_size": _BATCH.value, "repeats": _REPEATS.value,
             "points": curves()}
    with open(_OUT.value, "w") as f:
      json.dump(table, f, indent=1)
    return
  if _CPU_DEVICES.value < 0:
    raise app.UsageError(f"--cpu_devices={_CPU_DEVICES.value}: allowed values are >= 0")
  for flag, value, lo, hi in (("--repeats", _REPEATS.value, 1, None),
                              ("--runs", _RUNS.value, 1, None),
                              ("--epochs", _EPOCHS.value, 1, None),
                              ("--loop_runs", _LOOP_RUNS.value, 1, _RUNS.value),
                              ("--hidden", _HIDDEN.value, 1, None),
                              ("--batch_size", _BATCH.value, 1, 8192),   # the task's n_train
                              ("--share", _SHARE.value, 1, _RUNS.value)):
    if value < lo or (hi is not None and value > hi):
      raise app.UsageError(f"{flag}={value}: allowed values are >= {lo}" +
                           ("" if hi is None else f" and <= {hi}"))
  sharding.use_cpu_cores(_CPU_DEVICES.value)
  r, e, hdim, b, share = _RUNS.value, _EPOCHS.value, _HIDDEN.value, _BATCH.value, _SHARE.value
  nd = jax.device_count()
  if r % share or (r // share) % nd:
    raise app.UsageError(f"--share={share} must divide --runs={r} into a multiple of the "
                         f"{nd} devices")
  tk = task.make_task(0, n=16, m=16, k=4)
  clause = clause_family.FAMILY
  data = clause.task_arrays(tk)
  tc = train.TrainConfig(epochs=e, batch_size=b, grad_impl=_GRAD_IMPL.value)
  fam = _EMBEDDING.value
  dense_in = execute.dense_inputs([(fam, s) for s in range(r)], 16, 16, (0.25,))
  spec = cycle.CycleSpec(hidden=hdim, n_out=1, train=tc, methods=(), probe_epochs=(0,),
                         c0_frozen=not names.TRAINABLE[fam],
                         options=clause_family.ClauseOptions())
  p0 = cycle.init_dense(spec, dense_in)
  keys = jax.vmap(lambda k: cycle.stream(k, prng.SHUFFLE))(dense_in["key"])
  steps = e * (tk.x_train.shape[0] // b)
  # group: params (C, ...) sharing one data order (and its dense run's C0, as the cycle's
  # cells do); C = 1 is a run alone (the dense phase's path), C > 1 the sparse phase's.
  paths = {c > 1: cycle.train_path(spec, shared_frozen_c0=spec.c0_frozen and c > 1)
           for c in (1, share)}
  group = lambda p, k, path: train.train(p, jnp.ones_like(p["W1"]), float(not spec.c0_frozen),
                                         k, data["x_train"], data["y_train"], tc,
                                         clause.step(spec, path))
  batched = {shared: jax.jit(jax.vmap(functools.partial(group, path=path)))
             for shared, path in paths.items()}
  on_mesh = lambda t: jax.device_put(t, NamedSharding(sharding.mesh(), P(sharding.AXIS)))
  cases = {}
  for name, c in {"independent": 1, "shared": share}.items():
    grouped = jax.tree.map(lambda a: a.reshape(r // c, c, *a.shape[1:]), p0)
    grouped["C0"] = jnp.broadcast_to(grouped["C0"][:, :1], grouped["C0"].shape)  # one C0
    args = (grouped, keys[::c])                                   # per group, as cells
    if nd > 1:
      cases[f"{name}_one_device"] = (batched[c > 1], args)
      args = on_mesh(args)
    cases[name] = (batched[c > 1], args)
  single = jax.jit(functools.partial(group, path=paths[False]))
  n_loop = min(_LOOP_RUNS.value, r)
  inputs = [(jax.tree.map(lambda a: a[i:i + 1], p0), keys[i]) for i in range(n_loop)]
  first_s = seconds(single, inputs[0])                  # compile + one run
  cases["one_at_a_time"] = (lambda: [jax.block_until_ready(single(*a)) for a in inputs], ())
  mm = jax.random.normal(jax.random.PRNGKey(0), (_MATMUL_N, _MATMUL_N), jnp.float32)
  cases["matmul"] = (jax.jit(lambda x: x @ x), (mm,))     # the practical FLOP/s ceiling
  t = interleaved(cases, _REPEATS.value)
  t_s = t["one_at_a_time"][1] * r / n_loop
  ceiling = 2 * _MATMUL_N ** 3 / t["matmul"][1]

  flops = {shared: step_flops(b, 16, 16, hdim, 1, path == "fused_embedded") * steps * r
           for shared, path in paths.items()}
  peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  dev = jax.devices()[0]
  mem = dev.memory_stats() if hasattr(dev, "memory_stats") else None
  table = {"device": f"{dev.platform}:{dev.device_kind} ×{nd}", "embedding": fam,
           "grad_impl": _GRAD_IMPL.value, "path_independent": paths[False],
           "path_shared": paths[True],
           "runs": r, "steps_per_run": steps, "batch_size": b, "hidden": hdim,
           "runs_per_data_order_shared": share,
           "one_at_a_time_run_steps_per_s": r * steps / t_s,
           "one_at_a_time_seconds_extrapolated": t_s, "compile_seconds_single": first_s - t_s / r}
  for name in ("independent", "shared"):
    first, t_b = t[name]
    table.update({f"{name}_run_steps_per_s": r * steps / t_b,
                  f"{name}_speedup": t_s / t_b,
                  f"{name}_seconds": t_b,
                  f"{name}_compile_seconds": first - t_b,
                  f"{name}_model_flops_per_s": flops[name == "shared"] / t_b,
                  f"{name}_fraction_of_ceiling": flops[name == "shared"] / t_b / ceiling})
    if f"{name}_one_device" in t:
      table[f"{name}_one_device_run_steps_per_s"] = r * steps / t[f"{name}_one_device"][1]
  table.update({"matmul_ceiling_flops_per_s": ceiling, "peak_host_rss_mib": peak_rss,
                "peak_device_bytes": (mem or {}).get("peak_bytes_in_use")})
  w = max(len(k) for k in table)
  for k, v in table.items():
    print(f"{k:<{w}}  {v:.4g}" if isinstance(v, float) else f"{k:<{w}}  {v}")
  with open(_OUT.value, "w") as f:
    json.dump(table, f, indent=1)


if __name__ == "__main__":
  cli.run(main)
