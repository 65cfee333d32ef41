"""The run grid of a config: model groups, dense runs, sparse cells, and their order.

A `ModelGroup` is every run sharing one static shape (model.hidden, task.m): one compiled
program. Its dense runs are embeddings × seeds; each dense run has the same sparse cells
(method × density × rewind × probe epoch). `CellGrid` is the ONE owner of cell order: it
builds the cycle's per-method cell inputs and the labels of the cycle's outputs from the
same method-major list, and flattens (R, C, ...) outputs to rows in that order
(flat index r·C + c).
"""
from __future__ import annotations

import dataclasses
import itertools
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from toyticket.core import families, names
from toyticket.discovery import impls as discovery, methods
from toyticket.run import validate
from toyticket.run.config import as_tuple
from toyticket.ticket import cycle, train


@dataclasses.dataclass(frozen=True)
class Cell:
  """One sparse run of a dense run: a method's mask at a density, rewound to a point."""
  method: str
  density: float
  rewind: str
  probe_index: int       # position in probe_epochs (the probe epoch is probe_epochs[i])
  level: int = 0         # IMP level (1..L); 0 for one-shot cells


IMP_REWINDS = ("init", "probe", "fixed")   # rewind points IMP levels can return to


@dataclasses.dataclass(frozen=True)
class CellGrid:
  """The sparse cells of every dense run of a group: the one-shot cells method-major (the
  order in which the cycle concatenates its per-method cell inputs), then, with
  imp_levels > 0, the IMP cells: per IMP rewind (rewinds ∩ IMP_REWINDS) and probe epoch,
  levels 1..L (`cycle.imp_phase`)."""
  methods: tuple
  densities: tuple
  rewinds: tuple
  probe_epochs: tuple
  imp_levels: int = 0
  imp_prune: float = 0.2
  imp_weights: int = 1     # prunable entries (H·d of W1): IMP's per-level counts (methods.imp_keep_counts)

  @property
  def cells(self) -> tuple:
    one_shot = tuple(Cell(*c) for c in itertools.product(
        self.methods, self.densities, self.rewinds, range(len(self.probe_epochs))))
    rhos = methods.imp_densities(self.imp_weights, self.imp_prune, self.imp_levels)
    return one_shot + tuple(
        Cell("imp", rho, rw, p, lvl)
        for rw, p in self.imp_runs for lvl, rho in enumerate(rhos, 1))

  @property
  def imp_runs(self) -> tuple:
    """(rewind, probe index) of each IMP run of a dense run (empty without IMP)."""
    if not self.imp_levels:
      return ()
    return tuple(itertools.product([r for r in self.rewinds if r in IMP_REWINDS],
                                   range(len(self.probe_epochs))))

  def __len__(self) -> int:
    return (len(self.methods) * len(self.densities) * len(self.rewinds) *
            len(self.probe_epochs) + len(self.imp_runs) * self.imp_levels)

  def inputs(self, n_dense: int) -> tuple:
    """The cycle's `cells`: per method (in `methods` order) a dict of (n_dense, C_method)
    arrays density (float32), rewind (int32 index into names.REWINDS), probe_index
    (int32); with IMP, a last dict of (n_dense, K) rewind and probe_index of the K IMP
    runs; the same grid for every dense run."""
    out = []
    tile = lambda v, dt: jnp.asarray(np.tile(np.array(v), (n_dense, 1)), dt)
    for meth in self.methods:
      mine = [c for c in self.cells if c.method == meth and not c.level]
      out.append({"density": tile([c.density for c in mine], jnp.float32),
                  "rewind": tile([names.REWINDS.index(c.rewind) for c in mine], jnp.int32),
                  "probe_index": tile([c.probe_index for c in mine], jnp.int32)})
    if self.imp_runs:
      out.append({"rewind": tile([names.REWINDS.index(r) for r, _ in self.imp_runs],
                                 jnp.int32),
                  "probe_index": tile([p for _, p in self.imp_runs], jnp.int32)})
    return tuple(out)

  @staticmethod
  def flatten(a):
    """An (R, C, ...) array → (R·C, ...): row r·C + c is cell c of dense run r (map it
    over a pytree of cell outputs)."""
    a = np.asarray(a)
    return a.reshape(-1, *a.shape[2:])


@dataclasses.dataclass(frozen=True, eq=False)
class ModelGroup:
  """All runs sharing one static shape (hidden, m) (TMS: one hidden width and feature
  sparsity S, whose data differ): one compiled program. Compared and hashed by identity."""
  gid: str               # "H{hidden}-m{m}"; TMS "H{hidden}-S{S}"
  d: int                 # embedding width (model.d)
  task: object           # the family's task (`Family.tasks`)
  spec: cycle.CycleSpec
  dense: tuple           # ((embedding, seed), ...)
  densities: tuple       # the config's densities (dense-run oracle readings, per density)
  grid: CellGrid

  def dense_labels(self, block: list[int]) -> list[dict]:
    """Labels of dense runs `block` (indices into `dense`), in order: group, hidden, the
    family's size labels, embedding, seed, the family's floor_* labels
    (`Family.dense_labels`)."""
    size, floor = cycle.family_of(self.spec).dense_labels(self.task, self.spec.options)
    return [{"group": self.gid, "hidden": self.spec.hidden, **size,
             "embedding": self.dense[r][0], "seed": self.dense[r][1], **floor} for r in block]

  def cell_labels(self, block: list[int]) -> list[dict]:
    """Labels of the flattened cell outputs of dense runs `block`: entry i·C + c is cell c
    of dense run block[i]; "dense_pos" = i (its dense run's position in the block)."""
    return [{**d, "method": c.method, "density": c.density, "rewind": c.rewind,
             "probe_epoch": self.grid.probe_epochs[c.probe_index], "level": c.level,
             "dense_pos": i}
            for i, d in enumerate(self.dense_labels(block)) for c in self.grid.cells]

  def chunks(self, max_cells: int) -> list[list[int]]:
    """Blocks of dense-run indices whose sparse cells number at most max_cells (at least
    one dense run per block: a dense run's cells are never split)."""
    per = max(1, max_cells // max(1, len(self.grid)))
    idx = list(range(len(self.dense)))
    return [idx[i:i + per] for i in range(0, len(idx), per)]


def prunable_size(spec: cycle.CycleSpec, d: int, n: int) -> int:
  """Entries of the family's prunable leaf in one network (H·d for the built-in families),
  read from the shapes its `init` makes (jax.eval_shape: nothing is computed)."""
  fam = cycle.family_of(spec)
  params = jax.eval_shape(lambda k: fam.init(spec, k, jnp.zeros((d, n), jnp.float32)),
                          jax.random.PRNGKey(0))
  return math.prod(params[fam.prunable].shape)


def groups(cfg: ml_collections.ConfigDict) -> list[ModelGroup]:
  """One ModelGroup per (model.hidden, task) of a validated config, in that order (tasks:
  `_tasks`)."""
  out = []
  fam = families.compute(cfg.task.family)
  for hidden, (suffix, tk) in itertools.product(as_tuple(cfg.model.hidden), fam.tasks(cfg)):
    t = cfg.task
    disc = {k: v for k, v in cfg.discovery.to_dict().items() if k != "score_examples"}
    spec = cycle.CycleSpec(
        hidden=hidden, n_out=tk.n_out, train=train.TrainConfig(**cfg.train.to_dict()),
        methods=as_tuple(cfg.methods), probe_epochs=as_tuple(cfg.probe_epochs),
        discovery=discovery.DiscoveryConfig(**disc, tau=cfg.codes.tau,
                                            specificity=cfg.codes.specificity),
        score_examples=min(cfg.discovery.score_examples, t.n_train),
        rewind_epoch=cfg.rewind_epoch, imp_levels=cfg.imp.levels,
        imp_prune=cfg.imp.prune_fraction,
        c0_frozen=not any(names.TRAINABLE[f] for f in as_tuple(cfg.embeddings)),
        family=t.family, options=fam.options(cfg, tk), progress=cfg.progress)
    size = prunable_size(spec, cfg.model.d, tk.n)
    validate.distinct_counts(cfg, {hidden: size})
    grid = CellGrid(as_tuple(cfg.methods), as_tuple(cfg.densities), as_tuple(cfg.rewinds),
                    as_tuple(cfg.probe_epochs), cfg.imp.levels, cfg.imp.prune_fraction, size)
    out.append(ModelGroup(f"H{hidden}-{suffix}", cfg.model.d, tk, spec,
                          tuple(itertools.product(as_tuple(cfg.embeddings),
                                                  as_tuple(cfg.seeds))),
                          as_tuple(cfg.densities), grid))
  return out


def plan(cfg: ml_collections.ConfigDict) -> list[tuple[ModelGroup, list[int]]]:
  """The sweep's chunks in order: (group, dense-run block) pairs."""
  return [(g, blk) for g in groups(cfg) for blk in g.chunks(cfg.max_cells_per_chunk)]
