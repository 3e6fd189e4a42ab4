"""Three monthly runs of ``reconcile run`` into one history (tests/history/scenario.py).

Run 2 must report exactly what was planted (worked by hand below); findings keep
their first sighting while open, the one that went away is listed as resolved, and
a note given after run 2 is on its finding in run 3, where accepted findings no
longer make the exit status 1.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from reconcile.cli import main

from .scenario import ALPHA, BETA, write_run


def _invoke(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("history")
    store = str(base / "history.sqlite3")
    out = {}
    for run in (1, 2):
        result = _invoke([*write_run(base / f"run{run}", run), "--history", store])
        out[run] = (result.exit_code, json.loads((base / f"run{run}" / "result.json")
                                                  .read_text()))
    by_code = {(f["code"], f["statement"]): f["fingerprint"] for f in out[2][1]["findings"]}
    notes = [(by_code[("OUTPUT_COUNT_MISMATCH", "January 2024")], "disputed",
              "raised with DfE contract management, ref 4471"),
             (by_code[("OUTPUT_COUNT_MISMATCH", "January 2024")][:8], "accepted",
              "DfE: d4 moved to a later cohort; agreed"),
             (by_code[("VAT_MISMATCH", "January 2024")], "accepted", "follows the count"),
             (by_code[("LINE_NOT_EXPECTED", "April 2024")], "accepted", "DfE will move it")]
    for fingerprint, status, text in notes:
        noted = _invoke(["history", "note", fingerprint, "--status", status, "--text", text,
                         "--by", "finance lead", "--history", store, "--as-of", "2024-10-02"])
        assert noted.exit_code == 0, noted.output
    result = _invoke([*write_run(base / "run3", 3), "--history", store])
    out[3] = (result.exit_code, json.loads((base / "run3" / "result.json").read_text()))
    return base, store, out


def _change(c: dict) -> tuple:
    return (c["kind"], c["lead_provider"], c["statement"], c["declaration_id"], c["field"],
            c["before"], c["after"], c["money_effect"], c["paid_statement"], c["cause"],
            c["severity"])


def test_a_first_run_has_no_previous_run_and_no_changes(runs):
    _, _, out = runs
    history = out[1][1]["history"]
    assert (history["run_id"], history["previous_run_id"], history["changes"],
            history["resolved_findings"]) == (1, None, [], [])
    assert {f["status"] for f in out[1][1]["findings"]} == {"new"}


def test_the_second_run_reports_exactly_the_planted_changes(runs):
    _, _, out = runs
    history = out[2][1]["history"]
    assert (history["run_id"], history["previous_run_id"], history["previous_run_at"]) == (
        2, 1, "2024-09-01")
    assert [_change(c) for c in history["changes"]] == [
        # DfE's paid January statement: 4 x £120.00 = £480.00 -> 3 x £120.00 = £360.00
        ("dfe_statement_changed", ALPHA, "January 2024", None, "output ect started A",
         "480.00", "360.00", "-120.00", True, None, "error"),
        # Beta's band A £1,000 -> £1,100: started 60% x 20% = £120.00 -> £132.00; its two
        # started on January: net £1,240.00 -> £1,264.00, VAT 20%: £1,488.00 -> £1,516.80
        ("expected_changed", BETA, "January 2024", None, "total", "1488.00", "1516.80",
         "28.80", True, "contract", "warning"),
        ("contract_changed", BETA, None, None, "bands.A.per_participant", "1000", "1100",
         None, False, None, "warning"),
        # April loses d5 (moved) and d7 (removed): 2 x £120.00 + £90.00 + £1,000.00 = £1,330.00
        # -> £1,090.00; with VAT £1,596.00 -> £1,308.00
        ("expected_changed", ALPHA, "April 2024", None, "total", "1596.00", "1308.00",
         "-288.00", False, "inputs", "info"),
        # August gains d5 and d8 (2 x £120.00) and d1's clawback (-£120.00): service fee only
        # £1,200.00 -> (£1,000.00 + £120.00) x 1.2 = £1,344.00
        ("expected_changed", ALPHA, "August 2024", None, "total", "1200.00", "1344.00",
         "144.00", False, "inputs", "info"),
        ("declaration_moved", ALPHA, "August 2024", "d5", "statement", "April 2024",
         "August 2024", "120.00", False, None, "info"),
        ("declaration_state_changed", ALPHA, "August 2024", "d1", "state", "paid",
         "awaiting-clawback, clawed back on August 2024", "-120.00", False, None, "info"),
        ("declaration_added", ALPHA, "August 2024", "d8", None, None, "started, eligible",
         "120.00", False, None, "info"),
        ("declaration_removed", ALPHA, "April 2024", "d7", None, "started, payable", None,
         "-120.00", False, None, "info"),
    ]


def test_a_changed_paid_statement_is_an_error_finding(runs):
    _, _, out = runs
    (paid,) = [f for f in out[2][1]["findings"] if f["code"] == "HISTORY_PAID_STATEMENT_CHANGED"]
    assert (paid["severity"], paid["lead_provider"], paid["statement"], paid["difference"]) == (
        "error", ALPHA, "January 2024", "-120.00")
    assert out[2][0] == 1


def test_findings_keep_their_first_sighting_and_the_gone_one_is_resolved(runs):
    _, _, out = runs
    findings = {(f["code"], f["lead_provider"], f["statement"], f["declaration_id"]): f
                for f in out[2][1]["findings"]}
    # Beta's statements are not compared (no DfE statements for it): said in both runs
    beta = findings[("STATEMENTS_NOT_COMPARED", BETA, None, None)]
    assert (beta["status"], beta["first_seen"], beta["age_days"]) == ("open", "2024-09-01", 30)
    moved = findings[("CALC_STATEMENT_MOVED", ALPHA, "August 2024", "d5")]
    assert (moved["status"], moved["first_seen"], moved["age_days"]) == ("new", "2024-10-01", 0)
    (resolved,) = out[2][1]["history"]["resolved_findings"]
    assert (resolved["code"], resolved["declaration_id"], resolved["first_seen"],
            resolved["last_seen"]) == ("DECL_DUPLICATE", "d7", "2024-09-01", "2024-09-01")


def test_notes_carry_into_run_3_and_accepted_findings_do_not_fail_it(runs):
    _, _, out = runs
    code, data = out[3]
    assert data["history"]["changes"] == []  # the same inputs a month on
    january = next(f for f in data["findings"] if f["code"] == "OUTPUT_COUNT_MISMATCH")
    assert (january["status"], january["first_seen"], january["age_days"]) == (
        "open", "2024-10-01", 31)
    assert (january["note"]["status"], january["note"]["text"], january["note"]["by"]) == (
        "accepted", "DfE: d4 moved to a later cohort; agreed", "finance lead")
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert errors and all(f["note"]["status"] == "accepted" for f in errors)
    assert code == 0  # every error accepted: still listed, no longer exit status 1
    # the paid-statement finding of run 2 is gone in run 3: resolved
    assert [f["code"] for f in data["history"]["resolved_findings"]] == [
        "HISTORY_PAID_STATEMENT_CHANGED"]


def test_the_changes_sheet_follows_summary_and_findings_gain_the_history(runs):
    base, _, _ = runs
    book = openpyxl.load_workbook(base / "run2" / "reconciliation.xlsx", read_only=True)
    assert book.sheetnames[:4] == ["Providers", "Summary", "Changes", "Findings"]
    rows = [tuple(r) for r in book["Changes"].iter_rows(values_only=True)]
    assert rows[0][0] == "Changes since run 1 of 2024-09-01 (this is run 2 of 2024-10-01)"
    assert rows[3][:6] == ("Severity", "Change", "Lead provider", "Cohort", "Statement",
                           "Paid statement")
    assert rows[4][:11] == ("error", "dfe_statement_changed", ALPHA, 2023, "January 2024",
                            "yes", None, "output ect started A", "480.00", "360.00", -120)
    resolved_at = next(i for i, r in enumerate(rows) if r[0] == "Resolved since last run")
    assert rows[resolved_at + 2][1] == "DECL_DUPLICATE"
    findings = [tuple(r) for r in book["Findings"].iter_rows(values_only=True)]
    assert findings[0][-5:] == ("Fingerprint", "Status", "First seen", "Age (days)", "Note")
    book.close()


def test_history_list_fits_the_terminal_and_keeps_whole_texts_in_a_file(runs, monkeypatch):
    _, store, _ = runs
    monkeypatch.delenv("COLUMNS", raising=False)
    whole = _invoke(["history", "list", "--history", store]).output.splitlines()
    assert "\u2026" not in "\n".join(whole) and ALPHA in whole[3]  # not a terminal: all of it
    widest = max(len(line) for line in whole)
    monkeypatch.setenv("COLUMNS", str(widest - 10))
    fitted = _invoke(["history", "list", "--history", store]).output.splitlines()
    assert max(len(line) for line in fitted) == widest - 10  # ten characters cut ...
    assert "\u2026" in fitted[3]  # ... from the inputs or providers, marked as cut
    assert fitted[1].split()[:5] == whole[1].split()[:5]  # headers never cut


def test_history_list_cohorts_and_providers_in_short():
    from reconcile.history.commands import _cohorts, _providers

    assert _cohorts([2025, 2022, 2023, 2024]) == "2022\u20132025"
    assert _cohorts([2021, 2023]) == "2021, 2023" and _cohorts([2023, 2024]) == "2023, 2024"
    assert _providers(["A", "B"]) == "A; B"
    assert _providers(["A", "B", "C"]) == "3 lead providers"


def test_accepted_findings_are_listed_but_not_counted_open_by_provider(runs):
    """Run 3, worked by hand from the notes given after run 2: Alpha Trust's three
    errors (January 2024's OUTPUT_COUNT_MISMATCH and VAT_MISMATCH, April 2024's
    LINE_NOT_EXPECTED) are accepted, so its open findings are 0 errors, 1 warning
    (August 2024's CALC_STATEMENT_MOVED) and 1 on no statement (STATEMENTS_NOT_COMPARED);
    the Findings sheet and the JSON's findings still list all three errors."""
    base, _, out = runs
    _, data = out[3]
    alpha = next(p for p in data["providers"] if p["lead_provider"] == ALPHA)
    assert alpha["findings"] == {"error": 0, "warning": 1, "info": 0, "not_on_a_statement": 1}
    assert sum(f["severity"] == "error" for f in data["findings"]) == 3
    book = openpyxl.load_workbook(base / "run3" / "reconciliation.xlsx", data_only=True)
    providers = [r for r in book["Providers"].iter_rows(values_only=True)]
    head = providers[2]
    row = dict(zip(head, next(r for r in providers if r[0] == ALPHA)))
    assert (row["Errors"], row["Warnings"], row["Info"], row["Findings on no statement"]) == (
        0, 1, 0, 1)
    assert "3 accepted in the history are on the Findings sheet" in providers[1][0]
    summary = [r for r in book["Summary"].iter_rows(values_only=True)]
    by_statement = {(r[0], r[2]): r[9:12] for r in summary if r[0] == ALPHA}
    assert by_statement[(ALPHA, "January 2024")] == (0, 0, 0)  # 2 errors, both accepted
    assert by_statement[(ALPHA, "April 2024")] == (0, 0, 0)  # 1 error, accepted
    assert by_statement[(ALPHA, "August 2024")] == (0, 1, 0)
    assert "3 error(s)" in summary[1][0] and "3 of them accepted in the history" in summary[1][0]
    errors = [r for r in book["Findings"].iter_rows(values_only=True) if r[0] == "error"]
    assert len(errors) == 3
    book.close()


def test_history_commands(runs):
    _, store, out = runs
    listed = _invoke(["history", "list", "--history", store])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert [line.split()[0] for line in lines[3:]] == ["3", "2", "1"]  # newest first
    shown = _invoke(["history", "show", "2", "--history", store, "--json", "-"])
    data = json.loads(shown.output)
    assert data["changes_list"] == out[2][1]["history"]["changes"]
    assert [i["role"] for i in data["inputs"]] == ["declarations", "DfE statements"]
    diff = _invoke(["history", "diff", "1", "3", "--history", store, "--json", "-"])
    assert json.loads(diff.output)["changes"] == out[2][1]["history"]["changes"]
    ageing = _invoke(["history", "findings", "--open", "--history", store,
                      "--as-of", "2024-12-15", "--json", "-"])
    report = json.loads(ageing.output)
    # open on run 3 and not accepted: CALC_STATEMENT_MOVED of 2024-10-01 (75 days), and
    # the notices first seen on 2024-09-01 (105 days: Beta's statements not compared,
    # what the inputs do not give)
    since_run_1 = [f for f in out[3][1]["findings"] if f["first_seen"] == "2024-09-01"]
    assert since_run_1 and all(f["note"] is None and f["severity"] == "info"
                               for f in since_run_1)
    assert [(b["band"], b["count"]) for b in report["ageing"]] == [
        ("0-30 days", 0), ("31-60 days", 0), ("61-90 days", 1),
        ("over 90 days", len(since_run_1))]
    assert all(f["status"] != "resolved" and f["note"] is None for f in report["findings"])
    everything = json.loads(_invoke(["history", "findings", "--history", store, "--json", "-"])
                            .output)["findings"]
    assert {f["code"] for f in everything if f["status"] == "resolved"} == {
        "DECL_DUPLICATE", "HISTORY_PAID_STATEMENT_CHANGED"}


def test_a_bad_fingerprint_is_a_usage_error(runs):
    _, store, _ = runs
    result = _invoke(["history", "note", "ffffffffff", "--status", "accepted", "--text", "x",
                      "--history", store])
    assert result.exit_code == 2
    assert "no finding with fingerprint ffffffffff" in result.output


def test_no_history_records_nothing(tmp_path):
    store = tmp_path / "h.sqlite3"
    result = _invoke([*write_run(tmp_path / "run", 1), "--history", str(store),
                      "--no-history"])
    assert result.exit_code == 1
    assert not store.exists()
    assert json.loads((tmp_path / "run" / "result.json").read_text())["history"] is None


def test_the_store_may_not_be_an_input_or_an_output(tmp_path):
    args = write_run(tmp_path / "run", 1)
    declarations = args[args.index("--declarations") + 1]
    result = _invoke([*args, "--history", declarations])
    assert result.exit_code == 2
    assert "--history names the file given as --declarations" in result.output
    result = _invoke([*args, "--history", args[args.index("--out") + 1]])
    assert result.exit_code == 2
    assert "--out and --history name the same file" in result.output
    assert not Path(args[args.index("--out") + 1]).exists()


def test_a_rule_change_is_reported_with_the_statements_it_moved(tmp_path):
    """The same inputs a month apart, the second run with the band split 70/30 instead
    of the bundled 60/40 (fees.yaml): a rules_changed, and each statement whose figure
    moved is an expected_changed with the cause rules (worked below)."""
    from reconcile.paths import bundled_rules_dir

    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules, ignore=shutil.ignore_patterns("contracts"))
    fees = rules / "fees.yaml"
    text = fees.read_text()
    assert "output_payment_percentage: 60\n  service_fee_percentage: 40" in text
    fees.write_text(text.replace("output_payment_percentage: 60\n  service_fee_percentage: 40",
                                 "output_payment_percentage: 70\n  service_fee_percentage: 30"))
    store = str(tmp_path / "history.sqlite3")
    first = _invoke([*write_run(tmp_path / "run1", 1), "--history", store])
    args = write_run(tmp_path / "run2", 1)
    args[args.index("--as-of") + 1] = "2024-10-01"
    second = _invoke([*args, "--rules", str(rules), "--history", store])
    assert (first.exit_code, second.exit_code) == (1, 1)
    history = json.loads((tmp_path / "run2" / "result.json").read_text())["history"]
    changes = sorted((c["kind"], c["lead_provider"], c["statement"], c["field"],
                      c["money_effect"], c["paid_statement"], c["cause"], c["severity"])
                     for c in history["changes"] if c["kind"] != "rules_changed")
    # output £1,000 x 70% = £700: started 20% £140.00 (was £120.00), retained-1 15%
    # £105.00 (was £90.00); the monthly service fee is the contracts' own £1,000.
    # Alpha January: 4 started, +£80.00, VAT 20%: +£96.00 (paid: a warning)
    # Alpha April: 2 started + 1 retained-1, +£55.00, VAT: +£66.00
    # Beta January: 2 started, +£40.00, VAT: +£48.00
    assert changes == [
        ("expected_changed", ALPHA, "April 2024", "total", "66.00", False, "rules", "info"),
        ("expected_changed", ALPHA, "January 2024", "total", "96.00", True, "rules",
         "warning"),
        ("expected_changed", BETA, "January 2024", "total", "48.00", True, "rules",
         "warning")]
    (rule,) = [c for c in history["changes"] if c["kind"] == "rules_changed"]
    assert (rule["field"], rule["lead_provider"], rule["severity"]) == (
        "fees.yaml", None, "warning")
    assert rule["after"] == hashlib.sha256(fees.read_bytes()).hexdigest()[:12]
    assert rule["before"] == hashlib.sha256(
        (bundled_rules_dir() / "fees.yaml").read_bytes()).hexdigest()[:12]
    # DfE's lines still pay £120.00 a start and £90.00 a retention: three fee mismatches,
    # each staking its whole line (DfE's minus ours), not one declaration's fee:
    # January started 4 x (£120.00 - £140.00) = -£80.00; April started 2 x -£20.00 =
    # -£40.00; April retained-1 1 x (£90.00 - £105.00) = -£15.00; in all £135.00
    ageing = json.loads(_invoke(["history", "findings", "--open", "--history", store,
                                 "--as-of", "2024-11-20", "--json", "-"]).output)
    fees = sorted((f["statement"], f["line"], f["difference"], f["money_at_stake"])
                  for f in ageing["findings"] if f["code"] == "OUTPUT_FEE_MISMATCH")
    assert fees == [("April 2024", "output ect retained-1 band A", "-15.00", "15.00"),
                    ("April 2024", "output ect started band A", "-20.00", "40.00"),
                    ("January 2024", "output ect started band A", "-20.00", "80.00")]
    # first seen on 2024-10-01: 50 days on 2024-11-20; the other open findings (a
    # duplicate and notices, from 2024-09-01: 80 days) stake no money
    assert [(b["band"], b["count"], b["money_at_stake"]) for b in ageing["ageing"]] == [
        ("0-30 days", 0, "0.00"), ("31-60 days", 3, "135.00"), ("61-90 days", 5, "0.00"),
        ("over 90 days", 0, "0.00")]


@pytest.mark.slow
def test_the_changes_sheet_prints_one_page_wide_and_legibly(runs, tmp_path):
    # Printed by LibreOffice: the Changes sheet fits one landscape page wide (it is fitted
    # to width) at a size people can read, like the Findings sheet: its columns are narrow
    # enough (202 units; 296 before, which printed at about 5 pt) and long texts wrap.
    import re
    import statistics
    import subprocess

    from reconcile.history.sheet import WIDTHS
    from tests.report.printing import page_sheets, to_pdf, tool

    base, _, _ = runs
    assert sum(WIDTHS) <= 212  # the Findings sheet's printed columns
    pdf = to_pdf(base / "run2" / "reconciliation.xlsx", tmp_path, tmp_path / "profile")
    pages = [n for n, sheet in enumerate(page_sheets(pdf), start=1) if sheet == "Changes"]
    assert len(pages) == 1  # the scenario's few changes and its resolved finding
    html = subprocess.run([tool("pdftotext"), "-bbox", "-f", str(pages[0]), "-l",
                           str(pages[0]), str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    heights = [float(b) - float(a) for a, b in re.findall(
        r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html)]
    assert statistics.median(heights) >= 7, statistics.median(heights)
    text = subprocess.run([tool("pdftotext"), "-layout", "-f", str(pages[0]), "-l",
                           str(pages[0]), str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "Resolved since last run" in text and "DECL_DUPLICATE" in text
