"""The replication rules on fabricated result tables: one claim reproduced, one not, one
inconclusive; and the report's table."""
import pytest

from toyticket import replication as R


def rows(method, accs, rewind="probe", density=0.25, dense=0.98, masked=0.7):
  return [{"group": "H16-m8", "hidden": 16, "m": 8, "embedding": "hadamard", "seed": s,
           "method": method, "density": density, "rewind": rewind, "probe_epoch": 2,
           "sparse_acc": a, "dense_acc": dense, "masked_acc": masked + 0.001 * s,
           "diverged": False} for s, a in enumerate(accs)]


def test_direction_rule_reproduced_and_not():
  t = R.Tables(rows("oracle", [0.95, 0.96, 0.97, 0.955]) +
               rows("random", [0.90, 0.905, 0.92, 0.90]), [])
  f = R.evaluate([c for c in R.CLAIMS if c.cid == "4"], {"ticket_cycle": t})[0][1]
  assert f.verdict == "reproduced" and f.n == 4 and f.rule == "DIRECTION"
  t = R.Tables(rows("oracle", [0.90, 0.905, 0.92, 0.90]) +
               rows("random", [0.95, 0.96, 0.97, 0.955]), [])
  f = R.evaluate([c for c in R.CLAIMS if c.cid == "4"], {"ticket_cycle": t})[0][1]
  assert f.verdict == "not reproduced"                       # significant the other way
  t = R.Tables(rows("oracle", [0.90, 0.96, 0.92, 0.95]) +
               rows("random", [0.95, 0.90, 0.93, 0.94]), [])
  assert R.evaluate([c for c in R.CLAIMS if c.cid == "4"],
                    {"ticket_cycle": t})[0][1].verdict == "inconclusive"


def test_near_rule_on_a_fabricated_dense_table():
  claim = [c for c in R.CLAIMS if c.cid == "1"]
  dense = lambda accs: [{"group": "g", "embedding": "h", "seed": s, "dense_acc": a,
                         "diverged_epoch": -1} for s, a in enumerate(accs)]
  ok = R.evaluate(claim, {"ticket_cycle": R.Tables([], dense([0.975, 0.98, 0.977]))})
  bad = R.evaluate(claim, {"ticket_cycle": R.Tables([], dense([0.94, 0.941, 0.939]))})
  assert ok[0][1].verdict == "reproduced" and bad[0][1].verdict == "not reproduced"


def test_missing_sweep_is_inconclusive_and_report_lists_every_claim():
  findings = R.evaluate(R.CLAIMS, {})
  assert all(f.verdict == "inconclusive" for _, f in findings)
  text = R.render(findings, "# title")
  assert text.count("\n| ") == len(R.CLAIMS) + 2       # header, rule line, one row per claim
  assert f"inconclusive: {len(R.CLAIMS)}" in text
  for rule in R.RULES:
    assert f"**{rule}**" in text


def test_majority_rule_counts_holm_significant_wins():
  base = {("g", "h", s): 0.90 + 0.001 * s for s in range(6)}
  better = {k: v + 0.05 + 0.001 * (k[2] % 2) for k, v in base.items()}
  worse = {k: v - 0.05 - 0.001 * (k[2] % 2) for k, v in base.items()}
  assert R.majority([(better, base), (better, base), (worse, base)]).verdict == "reproduced"
  assert R.majority([(worse, base), (worse, base)]).verdict == "not reproduced"
  assert R.majority([(better, base), (worse, base)]).verdict == "inconclusive"


@pytest.mark.parametrize("counts,verdict", [([1, 2, 1, 3], "reproduced"),
                                            ([0, 0, 0, 0], "not reproduced")])
def test_positive_rule(counts, verdict):
  oracle = [{"group": "g", "m": 8, "embedding": "h", "seed": s, "density": 0.25,
             "diverged_epoch": -1, "close_but_lost_4P": c, "close_but_lost_3N1P": 0}
            for s, c in enumerate(counts)]
  claim = [c for c in R.CLAIMS if c.cid == "8"]
  assert R.evaluate(claim, {"precursors": R.Tables([], [], oracle)})[0][1].verdict == verdict


def test_proportion_rule():
  assert R.proportion(9, 10, 1, 10).verdict == "reproduced"        # Fisher p ≈ 0.001
  assert R.proportion(1, 10, 9, 10).verdict == "not reproduced"
  assert R.proportion(1, 2, 0, 3).verdict == "inconclusive"
  assert R.proportion(0, 0, 1, 3).verdict == "inconclusive"
