"""The mask-discovery methods as named objects with their properties (no JAX).

`METHODS[name]` is a `Method`: its properties, declared here (plain Python) because config
checks and figures read them without JAX. Its implementation is registered where it is
written (`discovery.base.implements` in `weight` and `sites`; the feature-space pairs from
their site score and translation), and `discovery.impls.IMPLS` is derived from both, every
declared name implemented and every implemented name declared (checked at import). Feature-space methods are (site score, translation) pairs: their
name is `site_score` for the greedy translation and `f"{site_score}-{translation}"`
otherwise, built here once; nothing parses a name back (read `.site_score` and
`.translation`, or look a pair up with `feature_method`).
"""
from __future__ import annotations

import dataclasses
import math

SITE_SCORES = ("static", "dynamic", "combined")
TRANSLATIONS = ("greedy", "row", "orth", "signed", "omp")
SPACES = ("weight", "feature")
FAMILIES = ("control", "magnitude", "saliency", "coupling", "feature")


@dataclasses.dataclass(frozen=True)
class Method:
  """name: the config value. space: where it scores ("weight": W1 entries directly;
  "feature": row–clause sites of C1, translated to W1 entries). family: how figures group
  it. needs_probe: it reads the dense run at the probe epoch, so its cells differ by probe
  epoch. post_training: it reads the dense END (a reference ticket, not one found early).
  site_score, translation: the pair of a feature-space method (None otherwise).
  scores_at: where a feature-space method reads its sites: "probe" (the dense probe
  epoch) or "start" (state-adaptive: the sparse run's own start point, e.g. the fresh
  init of a `fresh` rewind; paper fig 25). What each computes: the comments below and
  `discovery`'s docstrings. tasks: the task families (names.TASK_FAMILIES) it applies to:
  rules that read clauses or the clause model's W2 are clause-only."""
  name: str
  space: str
  family: str
  needs_probe: bool
  post_training: bool
  site_score: str | None = None
  translation: str | None = None
  scores_at: str | None = None
  tasks: tuple = ("clause", "tms", "flax")


CLAUSE = ("clause",)


def _feature(score: str, translation: str) -> Method:
  name = score if translation == "greedy" else f"{score}-{translation}"
  return Method(name, "feature", "feature", True, False, score, translation, "probe", CLAUSE)


_ANY = ("clause", "tms", "flax")   # rules that read only the prunable leaf and the loss
_NOT_TMS = ("clause", "flax")      # SynFlow: a family with a SynFlow objective (`Family.synflow`)
_WEIGHT = (   # name, family, needs_probe, post_training, tasks   what it keeps (top-ρ of)
    ("random", "control", False, False, _ANY),           # uniform scores (stream DISCOVERY)
    ("init_magnitude", "magnitude", False, False, _ANY),  # |W1| at θ0
    ("checkpoint_magnitude", "magnitude", True, False, _ANY),   # |W1| at the probe epoch
    ("oracle", "control", False, True, _ANY),            # |W1| at the dense end
    ("obs", "saliency", False, True, _ANY),              # w²/(2[H⁻¹]qq) at the dense end
    ("obs_iterative", "saliency", False, True, _ANY),    # OBS one at a time, weights corrected
    ("snip", "saliency", False, False, _ANY),            # |g ⊙ w| at θ0
    ("grasp", "saliency", False, False, _ANY),           # w ⊙ Hg at θ0, T = 200, all layers
    ("grasp_w1", "saliency", False, False, _ANY),        # w ⊙ H₁₁g₁ at θ0, T = 1, W1 only
    ("synflow", "saliency", False, False, _NOT_TMS),      # iterative SynFlow at θ0, W1 only
    ("synflow_joint", "saliency", False, False, CLAUSE),  # SynFlow over W1 ∪ W2 jointly
    ("earlybird", "magnitude", False, False, _ANY),      # first stable mask (authors' queue)
    ("earlybird_consecutive", "magnitude", False, False, _ANY),  # ... consecutive pairs
    ("w1_kappa", "coupling", True, False, CLAUSE),        # max_{c,t} W1[h,j]·a[c,t,j] at probe
    ("w1_grad_kappa", "coupling", True, False, CLAUSE),   # max_{c,t} −g[h,j]·a[c,t,j] at probe
)

METHODS: dict[str, Method] = {
    **{n: Method(n, "weight", fam, probe, post, tasks=tasks)
       for n, fam, probe, post, tasks in _WEIGHT},
    **{m.name: m for m in (_feature(s, t) for s in SITE_SCORES for t in TRANSLATIONS)},
    # state-adaptive: static distance read at the sparse run's start point (only the static
    # score has a meaning at one state), site-greedy translation
    "static_adaptive": Method("static_adaptive", "feature", "feature", False, False,
                              "static", "greedy", "start", CLAUSE),
    # TMS's feature-space rule: a site is a feature's column of W (TMS has no clauses);
    # features ranked by their column norm ‖W_i‖ at the probe epoch are kept whole, in
    # that order, entries within a column by |W| (the budget's last column partly)
    "feature_columns": Method("feature_columns", "feature", "feature", True, False,
                              "column_norm", "column", "probe", ("tms",)),
}
NAMES = tuple(METHODS)


def for_task(family: str) -> tuple:
  """The method names that apply to a task family (names.TASK_FAMILIES)."""
  return tuple(n for n, m in METHODS.items() if family in m.tasks)

# Iterative magnitude pruning (`imp.levels` in the config, `cycle.imp_phase`) is not a
# one-shot discovery method, but its cells are rows like theirs: ROW_METHODS describes
# every `method` value a result row can hold.
IMP = Method("imp", "weight", "magnitude", False, True)


def imp_keep_counts(n_weights: int, prune_fraction: float, levels: int) -> tuple:
  """W1 entries kept at IMP levels 1..L under open_lth's `sparse_global` rule: each level
  prunes ceil(p · remaining) of the weights still kept (n_0 = n_weights), so
  n_ℓ = n_{ℓ−1} − ceil(p · n_{ℓ−1}); at least 1 is kept."""
  out, n = [], n_weights
  for _ in range(levels):
    n = max(1, n - math.ceil(prune_fraction * n))
    out.append(n)
  return tuple(out)


def imp_densities(n_weights: int, prune_fraction: float, levels: int) -> tuple:
  """The IMP levels' densities n_ℓ / n_weights (`imp_keep_counts`), rounded to 6 digits
  (row labels); keep_count(density) = round(density · n_weights) gives back n_ℓ."""
  return tuple(round(k / n_weights, 6) for k in imp_keep_counts(n_weights, prune_fraction,
                                                                levels))
ROW_METHODS: dict[str, Method] = {**METHODS, "imp": IMP}


def feature_method(site_score: str, translation: str, scores_at: str = "probe") -> Method:
  """The feature-space method of a (site score, translation, scores_at) triple."""
  return next(m for m in METHODS.values()
              if (m.site_score, m.translation, m.scores_at) == (site_score, translation,
                                                                 scores_at))
