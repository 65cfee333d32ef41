"""The replication rules on fabricated result tables: one claim reproduced, one not, one
inconclusive; and the report's table."""
import numpy as np
import pytest

from toyticket.reading import claims as C
from toyticket.reading import replication as R
from toyticket.reading import rules as Ru


def rows(method, accs, rewind="probe", density=0.25, dense=0.98, masked=0.7):
  return [{"group": "H16-m8", "hidden": 16, "m": 8, "embedding": "hadamard", "seed": s,
           "method": method, "density": density, "rewind": rewind, "probe_epoch": 2,
           "sparse_acc": a, "dense_acc": dense, "masked_acc": masked + 0.001 * s,
           "diverged": False} for s, a in enumerate(accs)]


def test_direction_rule_reproduced_and_not():
  t = Ru.Tables(rows("oracle", [0.95, 0.96, 0.97, 0.955]) +
               rows("random", [0.90, 0.905, 0.92, 0.90]), [])
  f = R.evaluate([c for c in C.CLAIMS if c.cid == "4"], {"ticket_cycle": t})[0][1]
  assert f.verdict == "reproduced" and f.n == 4 and f.rule == "DIRECTION"
  t = Ru.Tables(rows("oracle", [0.90, 0.905, 0.92, 0.90]) +
               rows("random", [0.95, 0.96, 0.97, 0.955]), [])
  f = R.evaluate([c for c in C.CLAIMS if c.cid == "4"], {"ticket_cycle": t})[0][1]
  assert f.verdict == "not reproduced"                       # significant the other way
  t = Ru.Tables(rows("oracle", [0.90, 0.96, 0.92, 0.95]) +
               rows("random", [0.95, 0.90, 0.93, 0.94]), [])
  assert R.evaluate([c for c in C.CLAIMS if c.cid == "4"],
                    {"ticket_cycle": t})[0][1].verdict == "inconclusive"


def test_near_rule_on_a_fabricated_dense_table():
  claim = [c for c in C.CLAIMS if c.cid == "1"]
  dense = lambda accs: [{"group": "g", "embedding": "h", "seed": s, "dense_acc": a,
                         "diverged_epoch": -1} for s, a in enumerate(accs)]
  ok = R.evaluate(claim, {"ticket_cycle": Ru.Tables([], dense([0.975, 0.98, 0.977]))})
  bad = R.evaluate(claim, {"ticket_cycle": Ru.Tables([], dense([0.94, 0.941, 0.939]))})
  assert ok[0][1].verdict == "reproduced" and bad[0][1].verdict == "not reproduced"


def test_missing_sweep_is_inconclusive_and_report_lists_every_claim():
  findings = R.evaluate(C.CLAIMS, {})
  assert all(f.verdict == "inconclusive" for _, f in findings)
  text = R.render(findings, "# title")
  assert text.count("\n| ") == len(C.CLAIMS) + 2       # header, rule line, one row per claim
  assert f"inconclusive: {len(C.CLAIMS)}" in text
  for rule in Ru.RULES:
    assert f"**{rule}**" in text


def test_majority_rule_counts_holm_significant_wins():
  base = {("g", "h", s): 0.90 + 0.001 * s for s in range(6)}
  better = {k: v + 0.05 + 0.001 * (k[2] % 2) for k, v in base.items()}
  worse = {k: v - 0.05 - 0.001 * (k[2] % 2) for k, v in base.items()}
  assert Ru.majority([(better, base), (better, base), (worse, base)]).verdict == "reproduced"
  assert Ru.majority([(worse, base), (worse, base)]).verdict == "not reproduced"
  assert Ru.majority([(better, base), (worse, base)]).verdict == "inconclusive"


def dense_rows(n=6, above=("4P",)):
  """Dense rows whose 4P codes sit above chance and decoy floor (3N1P at chance unless
  named in `above`)."""
  out = []
  for s in range(n):
    r = {"group": "g", "m": 8, "embedding": "h", "seed": s, "diverged_epoch": -1}
    for tp in ("4P", "3N1P"):
      hi = tp in above
      r.update({f"dense_{tp}": (3 + s % 2) if hi else (s % 2), f"init_{tp}": s % 2 if hi else
                (s + 1) % 2, f"decoy_dense_{tp}": 0 if hi else (s + 1) % 2})
    out.append(r)
  return out


@pytest.mark.parametrize("counts,verdict", [([1, 2, 1, 3, 1, 2], "reproduced"),
                                            ([0, 0, 0, 0, 0, 0], "not reproduced")])
def test_positive_rule(counts, verdict):
  oracle = [{"group": "g", "m": 8, "embedding": "h", "seed": s, "density": 0.25,
             "diverged_epoch": -1, "close_but_lost_4P": c, "close_but_lost_3N1P": 5}
            for s, c in enumerate(counts)]
  claim = [c for c in C.CLAIMS if c.cid == "8"]
  f = R.evaluate(claim, {"precursors": Ru.Tables([], dense_rows(), oracle)})[0][1]
  assert f.verdict == verdict
  # 3N1P sits at its chance level: flagged, and its 5 close-but-lost sites per run are not
  # counted into the verdict
  assert "3N1P at or below" in f.note and "(4P)" in f.ours


def test_template_at_chance_makes_a_code_claim_inconclusive():
  cells = (rows("oracle", [0.9] * 6) )
  for i, r in enumerate(cells):
    r.update(family_recall_4P=0.5 + 0.01 * i, same_site_recall_4P=0.1)
  claim = [c for c in C.CLAIMS if c.cid == "6"]
  up = R.evaluate(claim, {"precursors": Ru.Tables(cells, dense_rows())})[0][1]
  assert up.verdict == "reproduced" and not up.note
  flat = R.evaluate(claim, {"precursors": Ru.Tables(cells, dense_rows(above=()))})[0][1]
  assert flat.verdict == "inconclusive" and "4P at or below" in flat.note
  e = C.template_excess(Ru.Tables([], dense_rows()), "4P")
  assert e["above"] and e["excess"]["mean_diff"] == pytest.approx(3.5)
  assert e["count_boot"][0] >= 3 and e["count_boot"][1] <= 4     # inside the data's range


def test_noninferior_rule_per_setting():
  base = {(0, "g", "h", s): 0.90 + 0.01 * s for s in range(8)}
  close = {k: v - 0.002 + 0.001 * (k[3] % 2) for k, v in base.items()}
  far = {k: v - 0.05 + 0.001 * (k[3] % 2) for k, v in base.items()}
  assert Ru.noninferior({"a": (close, base), "b": (close, base)}).verdict == "reproduced"
  assert Ru.noninferior({"a": (close, base), "b": (far, base)}).verdict == "not reproduced"
  noisy = {k: v + (0.03 if k[3] % 2 else -0.03) for k, v in base.items()}
  f = Ru.noninferior({"a": (noisy, base)})
  assert f.verdict == "inconclusive" and f.detectable > 0.01 and f.underpowered


def test_detectable_effect_and_underpowered_mark():
  a = {(0, "g", "h", s): 0.9 + (0.03 if s % 2 else -0.03) for s in range(4)}
  b = {k: 0.9 for k in a}
  f = Ru.direction(a, b)
  assert f.verdict == "inconclusive" and f.underpowered and f.detectable > 0.01
  text = R.render([(C.CLAIMS[3], f)], "# t")
  assert "underpowered" in text
  g = Ru.direction({k: v + 0.05 for k, v in b.items()}, b)
  assert g.verdict == "reproduced" and not g.underpowered


def test_report_shows_other_readings_only_for_code_claims():
  findings = R.evaluate(C.CLAIMS, {})
  other = {"row-specific": R.evaluate([c for c in C.CLAIMS if c.codes], {})}
  text = R.render(findings, "# t", readings=other)
  code_row = next(l for l in text.splitlines() if l.startswith("| 6 |"))
  acc_row = next(l for l in text.splitlines() if l.startswith("| 4 |"))
  assert "*row-specific*" in code_row and "no code reading" in acc_row
  assert "Code claims under *row-specific*" in text


def test_pool_tags_data_seeds_and_keeps_runs_apart(tmp_path):
  """Two run dirs with the same seeds (as if made from two clause sets): tables_of tags
  each row with its data seed, so pooled runs keep distinct keys."""
  import json
  import os
  from toyticket.run import replicate
  from toyticket.core import files
  for name in ("a", "b"):                 # a minimal run dir: one checksummed chunk
    d = tmp_path / name
    for sub in ("chunks", "trajectories"):
      os.makedirs(d / sub)
    runs = rows("oracle", [0.9, 0.91])
    meta = {"group": "g", "dense_runs": [], "cells": runs, "dense": [], "oracle": [],
            "sae": []}
    arrays = files.save_npz(str(d / "trajectories" / "c.npz"), {"masks": np.zeros((2, 1))})
    meta["sha256"] = {"rows": files._json_digest(meta), "arrays": arrays}
    (d / "chunks" / "c.json").write_text(json.dumps(meta))
    (d / "metrics.json").write_text(json.dumps({"runs": runs, "dense": [], "oracle": []}))
    (d / "plan.json").write_text(json.dumps({"chunks": ["c"]}))
    (d / "config.json").write_text("{}")
    (d / "tasks.json").write_text("{}")
  p = replicate.pool([replicate.tables_of(str(tmp_path / "a"), 0),
                      replicate.tables_of(str(tmp_path / "b"), 5)])
  assert len(p.rows) == 4 and len(Ru.values(p.rows, "sparse_acc")) == 4
  assert {k[0] for k in Ru.values(p.rows, "sparse_acc")} == {0, 5}


def test_direction_needs_the_same_sign_on_every_data_seed():
  a = {(ds, "g", "h", s): 0.9 + 0.001 * s + (0.05 if ds < 2 else -0.01)
       for ds in range(3) for s in range(8)}
  b = {k: 0.9 + 0.001 * k[3] + 0.0001 * (k[3] % 3) for k in a}
  f = Ru.direction(a, b)
  assert f.verdict == "inconclusive" and "signs differ" in f.note and "2: -0.010" in f.note
  same = {k: v + 0.02 for k, v in b.items()}
  assert Ru.direction(same, b).verdict == "reproduced"


def test_majority_needs_more_than_half_significant():
  base = {("g", "h", s): 0.90 + 0.001 * s for s in range(6)}
  better = {k: v + 0.05 + 0.001 * (k[2] % 2) for k, v in base.items()}
  noise = {k: v + (0.001 if k[2] % 2 else -0.001) for k, v in base.items()}
  assert Ru.majority([(better, base)] + [(noise, base)] * 17).verdict == "inconclusive"


def test_a_misspelt_field_fails_loudly_and_missing_cells_are_explicit_no_data():
  """Only an explicit NoData (the sweep lacks the claim's cells) reads as inconclusive; a
  field no row has (a misspelt or renamed reading) is a KeyError, never a verdict."""
  t = Ru.Tables(rows("oracle", [0.9] * 4), dense_rows())   # no family_recall_4P field
  with pytest.raises(KeyError, match="family_recall_4P"):
    R.evaluate([c for c in C.CLAIMS if c.cid == "6"], {"precursors": t})
  survival = [c for c in C.CLAIMS if "survival" in c.measure.__name__]
  assert survival, "a claim reads the oracle survival arrays"
  f = R.evaluate(survival[:1], {survival[0].sweep: Ru.Tables(rows("oracle", [0.9] * 4),
                                                            dense_rows())})[0][1]
  assert f.verdict == "inconclusive" and f.ours == "no data" and "oracle survival" in f.note


def test_every_setting_must_reproduce():
  ok = Ru.Finding("x", 8, "reproduced", "DIRECTION", 0.001, "accuracy")
  no = Ru.Finding("y", 8, "inconclusive", "DIRECTION", 0.02, "accuracy")
  assert Ru.every({"a": ok, "b": ok}).verdict == "reproduced"
  f = Ru.every({"a": ok, "b": no})
  assert f.verdict == "inconclusive" and f.detectable == 0.02 and f.underpowered


def test_survival_rates_are_per_run_and_skip_diverged_runs():
  import numpy as np
  # per run (P=1, 2 = supported/survived, L = 9 loads, D = 10 distances)
  arr = np.zeros((3, 1, 2, 9, 10))
  arr[:, 0, 0, 1, 0], arr[:, 0, 1, 1, 0] = 4, 2         # load 1: 2 of 4 survive
  arr[:, 0, 0, 5, 0], arr[:, 0, 1, 5, 0] = 10, 1        # load 5: 1 of 10
  dense = [{"group": "g", "m": 8, "embedding": "h", "seed": s,
            "diverged_epoch": 3 if s == 2 else -1} for s in range(3)]
  oracle = [{**d, "density": 0.25} for d in dense]
  low, high = C.survival_rates_by_load(Ru.Tables([], dense, oracle,
                                                {"dense/oracle_survival": arr}), 0.25)
  assert set(low) == set(high) == {(0, "g", "h", 0), (0, "g", "h", 1)}
  assert all(v == 0.5 for v in low.values()) and all(v == 0.1 for v in high.values())


def test_proportion_rule():
  assert Ru.proportion(9, 10, 1, 10).verdict == "reproduced"        # Fisher p ≈ 0.001
  assert Ru.proportion(1, 10, 9, 10).verdict == "not reproduced"
  assert Ru.proportion(1, 2, 0, 3).verdict == "inconclusive"
  assert Ru.proportion(0, 0, 1, 3).verdict == "inconclusive"
