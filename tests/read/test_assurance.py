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


def test_a_clawback_row_alone_is_refunded_on_its_report_and_paid_where_dfe_paid_it(tmp_path):
    """The bundled sample's report of Northbrook's January 2025 statement (cohort 2023),
    given alone. Its row of declaration a672db78 is ``clawed_back``: DfE's query lists
    the line items of that statement, so January 2025 is where the mentor's retained-1
    was clawed back, not where it was paid. It was submitted on 2024-03-31 (Declaration
    Created At), so by the calendar it was paid on April 2024 (cut-off 2024-03-31), as
    the April 2024 report shows. Read alone, it used to be taken as paid on January 2025
    (CALC_STATEMENT_MOVED) with its clawback assumed on April 2025; and the report's
    49 rows, none of them a start, made a service-fee warning (0 recruited)."""
    from samples import SAMPLES_DIR

    report = (SAMPLES_DIR / "assurance"
              / "ECF-Declarations-NorthbrookTeachingInstitute-Cohort2023-January2025.csv")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, [
        "run", "--declarations", str(report), "--contracts", str(SAMPLES_DIR / "contracts"),
        "--dfe-statements", str(SAMPLES_DIR / "dfe-statements.xlsx"), "--as-of", "2026-10-10",
        "--out", str(tmp_path / "out.xlsx"), "--json", str(out), "-q", "--no-history"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    rows = [(d["statement"], d["kind"], d["fee"]) for d in data["declarations"]
            if d["declaration_id"] == "a672db78-c729-4d6c-9210-186456f2b0a1"]
    # band A's mentor retained-1 fee in Northbrook's 2023 contract: £90.90 both ways
    assert rows == [("April 2024", "output", "90.90"), ("January 2025", "clawback", "-90.90")]
    (note,) = [f for f in data["findings"]]
    assert note["code"] == "STATEMENTS_NOT_COVERED"
    assert "assurance reports of 1 statement(s)" in note["message"]
    assert note["message"].endswith("set aside, as the reports of some statements are "
                                    "missing: CALC_SERVICE_FEE_REDUCED (1).")


def test_two_reports_join_a_paid_row_and_a_clawback_row_in_either_order(vocabulary, tmp_path):
    """The clawback row's report read first (its file name sorts first) or last: one
    clawed-back declaration, paid on April 2024, clawed back on January 2025."""
    from samples import SAMPLES_DIR

    reports = SAMPLES_DIR / "assurance"
    april = reports / "ECF-Declarations-NorthbrookTeachingInstitute-Cohort2023-April2024.csv"
    january = reports / "ECF-Declarations-NorthbrookTeachingInstitute-Cohort2023-January2025.csv"
    for order in ((april, january), (january, april)):
        result = read_inputs(list(order), (), vocabulary)
        (d,) = [d for d in result.declarations
                if d.declaration_id == "a672db78-c729-4d6c-9210-186456f2b0a1"]
        assert (d.state, d.statement_name, d.clawback_statement_name) == (
            "clawed-back", "April 2024", "January 2025"), order
        assert [f.code for f in result.findings
                if f.code == "READ_SAME_DECLARATION_DIFFERS"] == []
