"""`make replicate` in quick mode, end to end (its own module, so that xdist runs it beside
the per-config CLI tests of test_cli.py: its sweeps are the configs' `:replicate` variants,
which those runs do not make)."""
import pytest  # noqa: F401

from zygote import ROOT, cli_env, run_module


@pytest.fixture(scope="module")
def quick_workdir(tmp_path_factory):
  return tmp_path_factory.mktemp("replicate")


def test_replicate_quick_writes_a_report_row_per_claim(quick_workdir, tmp_path):
  """`make replicate` in quick mode: every sweep runs, every claim gets a row."""
  from toyticket.reading import claims
  out = tmp_path / "replication.md"
  p = run_module("experiments.replicate", "--quick", f"--workdir={quick_workdir}",
                 f"--out={out}", cwd=ROOT, env=cli_env(), timeout=900)
  assert p.returncode == 0, p.stderr[-3000:]
  text = out.read_text()
  assert "QUICK mode" in text
  for c in claims.CLAIMS:
    assert f"\n| {c.cid} | {c.text} |" in text, c.cid
  verdicts = [line.split(" | ")[7] for line in text.splitlines()
              if line.startswith("| ") and line.split(" | ")[0][2:].isdigit()]
  assert len(verdicts) == len(claims.CLAIMS)
  assert all(v.split(" (")[0] in ("**reproduced**", "**not reproduced**", "**inconclusive**")
             for v in verdicts), verdicts
  # code claims are decided again under the row-specific reading (quick: two readings)
  assert "Code claims under *row-specific, τ = 0.25*" in text
