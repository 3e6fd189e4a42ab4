"""``reconcile demo``: one command, the bundled sample, files written, a summary printed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reconcile import demo
from reconcile.cli import main
from reconcile.errors import UsageError
from reconcile.findings import finding


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``reconcile demo --out DIR`` once, as a new user types it."""
    out = tmp_path_factory.mktemp("demo") / "out"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--quiet"])
    return result, out


def test_the_demo_exits_0_and_writes_its_files(demo_run):
    result, out = demo_run
    assert result.exit_code == 0, result.output
    assert (out / "reconciliation.xlsx").stat().st_size > 0
    written = json.loads((out / "result.json").read_text())
    assert written["statements"] and written["findings"]


def test_the_demo_finds_every_planted_discrepancy(demo_run):
    result, _ = demo_run
    planted = json.loads((demo.samples_dir() / demo.MANIFEST).read_text())["discrepancies"]
    assert len(planted) == 6
    assert f"planted discrepancies found: {len(planted)} of {len(planted)}" in result.output
    assert "MISSED" not in result.output
    for entry in planted:
        assert entry["code"] in result.output


def test_the_demo_summary_names_statements_totals_and_findings(demo_run):
    result, _ = demo_run
    text = result.output
    assert "bundled sample of 3,000 declarations" in text
    assert "Northbrook Teaching Institute" in text and "Harbour Lane Education Trust" in text
    assert "findings by code:" in text and "expected" in text and "DfE" in text
    assert "CALC_OVER_CAPACITY" in text


def test_a_missing_sample_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "samples_dir", lambda: tmp_path)
    with pytest.raises(UsageError) as error:
        demo.run_demo(tmp_path / "out", quiet=True)
    assert "declarations.xlsx" in error.value.render()
    assert "python -m samples.generate" in error.value.render()
    assert not (tmp_path / "out").exists()


def test_planted_found_matches_code_and_statement():
    manifest = {"discrepancies": [
        {"code": "OUTPUT_COUNT_MISMATCH", "lead_provider": "LP", "cohort": 2023,
         "statement": "May 2024", "line": "output ect started band A"},
        {"code": "STATEMENT_MISSING_FROM_DFE", "lead_provider": "LP", "cohort": 2023,
         "statement": "August 2024", "line": None}]}
    right = finding("OUTPUT_COUNT_MISMATCH", "9 not 10", lead_provider="LP", cohort=2023,
                    statement="May 2024")
    other_statement = finding("STATEMENT_MISSING_FROM_DFE", "missing", lead_provider="LP",
                              cohort=2023, statement="October 2024")
    other_provider = finding("STATEMENT_MISSING_FROM_DFE", "missing", lead_provider="XY",
                             cohort=2023, statement="August 2024")
    pairs = demo.planted_found(manifest, [other_statement, other_provider, right])
    assert [f for _, f in pairs] == [right, None]
