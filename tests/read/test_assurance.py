"""DfE's assurance reports: one CSV per statement, read as DfE writes them, compared only
where they cover every earlier statement of the cohort.

The files in ``good/assurance/`` are in the shape of DfE's
``Finance::ECF::AssuranceReport::CsvSerializer`` (DFE-Digital/early-careers-framework):
its 25 columns, ``ParticipantProfile::ECT``/``::Mentor`` in "Type", the line item's
state with underscores in "Declaration Status", ``Z`` times, rows by participant name,
and the cohort only in the file name
``ECF-Declarations-ExampleTeachingInstitute-Cohort2023-<Statement>.csv``. The August
2024 report is DfE's header alone (a statement with no line items).
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconcile.cli import main
from reconcile.inputfiles import DECLARATIONS, expand_inputs
from reconcile.paths import bundled_rules_dir
from reconcile.read.assurance import HEADERS
from reconcile.read.inputs import read_inputs

HERE = Path(__file__).resolve().parent
REPORTS = HERE / "good" / "assurance"
API_STATEMENTS = HERE / "good" / "api" / "statements.json"
JAN, APR, AUG = (REPORTS / f"ECF-Declarations-ExampleTeachingInstitute-Cohort2023-{m}.csv"
                 for m in ("January2024", "April2024", "August2024"))


def test_the_reports_are_in_dfes_shape():
    for report in (JAN, APR, AUG):
        header = report.read_text().splitlines()[0]
        assert header.split(",") == list(HEADERS) and len(HEADERS) == 25


def test_every_report_together_is_one_record_of_the_cohort(vocabulary):
    result = read_inputs(expand_inputs([REPORTS], DECLARATIONS), (), vocabulary)
    by_id = {d.declaration_id[-1]: d for d in result.declarations}
    # P2's start: paid on January 2024, clawed back on April 2024 (two reports)
    mentor = by_id["2"]
    assert (mentor.participant_type, mentor.state, mentor.statement_name,
            mentor.clawback_statement_name, mentor.cohort) == (
        "mentor", "clawed-back", "January 2024", "April 2024", 2023)
    # the Schedule and the uplift flags are the report's own columns
    assert (by_id["5"].schedule_identifier, by_id["5"].sparsity_uplift) == (
        "ecf-standard-january", True)
    assert result.coverage == {("exampleteachinginstitute", 2023, m)
                               for m in ("january2024", "april2024", "august2024")}
    assert [f.code for f in result.findings] == []


def _run(tmp_path, *reports):
    out = tmp_path / "out.json"
    args = ["run", "--contracts", str(bundled_rules_dir() / "contracts"), "--as-of",
            "2024-06-01", "--dfe-statements", str(API_STATEMENTS), "--out",
            str(tmp_path / "r.xlsx"), "--json", str(out), "-q"]
    for report in reports:
        args += ["--declarations", str(report)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_text())


def test_one_report_alone_is_compared_only_where_banding_allows(tmp_path):
    data = _run(tmp_path, APR)
    findings = {f["code"]: f for f in data["findings"]}
    covered = findings["STATEMENTS_NOT_COVERED"]
    assert covered["severity"] == "info"
    assert "April 2024" in covered["message"]
    assert "(no report of January 2024" in covered["message"]
    for noisy in ("STATEMENT_MISSING_FROM_DFE", "STATEMENT_NOT_EXPECTED", "LINE_NOT_EXPECTED",
                  "OUTPUT_COUNT_MISMATCH"):
        assert noisy not in findings


def test_every_report_together_leaves_nothing_uncovered(tmp_path):
    data = _run(tmp_path, JAN, APR, AUG)
    # DfE's list runs to October 2024, whose report is not given: only it is left
    (covered,) = [f for f in data["findings"] if f["code"] == "STATEMENTS_NOT_COVERED"]
    assert covered["message"].endswith("cohort 2023: October 2024 not compared (no report "
                                       "of October 2024).")
    april = next(s for s in data["statements"] if s["name"] == "April 2024")
    assert {(line["participant_type"], line["declaration_type"]): line["amount"]
            for line in april["expected"]["output_payments"]} == {
        ("ect", "started"): "119.40", ("ect", "retained-1"): "89.55"}
    assert [line["amount"] for line in april["expected"]["clawbacks"]] == ["-119.40"]
