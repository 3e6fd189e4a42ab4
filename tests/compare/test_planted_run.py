"""``reconcile run`` end to end on a scenario written here, with seven planted discrepancies.

Everything is built in the test: a contract (YAML), the declarations (CSV rows) and
DfE's statements workbook (a Workbook value, written by reconcile.write). The
bundled rules supply the calendar of cohort 2023 (output-fee statements January,
April and August 2024; cut-offs 2023-12-31, 2024-03-31, 2024-07-31) and the
standard-September schedule (started to 2023-12-31, retained-1 from 2024-01-01,
retained-2 from 2024-04-01).

Contract (Planted Provider, 2023): band A 0-6 £1,000, band B 7-8 £800 per
participant, 60% output: started (20%) A £120.00, B £96.00; retained (15%) A £90.00.
Uplift £100, monthly service fee £1,000, VAT 20%.

Declarations (all ECTs):
  p01-p05 started, submitted 2023-10-05, on January 2024 (p01, p02 pupil premium)
  p06 started, submitted 2023-12-10 (so January by the calendar) but DfE put it on
      April 2024 (statement_name) -- the declaration on the wrong statement
  p07-p10 started, submitted January 2024 -> April 2024 (p07 sparsity); with p06
      first (declared 2023-12-01) April fills band A 1 (p06), band B 2 (p07, p08);
      p09, p10 are beyond band B: unpaid -- the over-capacity band
  p01-p04 retained-1 (February 2024) -> April 2024, band A
  p01-p04 retained-2 (May 2024) -> August 2024, band A

Expected, by hand:
  January 2024: started A 5 x £120 = £600; uplift 2 x £100 = £200; service fee £1,000;
                net £1,800.00; VAT £360.00; total £2,160.00
  April 2024:   started A 1 x £120 = £120, B 2 x £96 = £192; retained-1 A 4 x £90 = £360;
                uplift 1 x £100; service fee £1,000; net £1,772.00; VAT £354.40;
                total £2,126.40
  August 2024:  retained-2 A 4 x £90 = £360; service fee £1,000; net £1,360.00;
                VAT £272.00; total £1,632.00
  November 2023 - July 2024 otherwise: service fee £1,000, VAT £200, total £1,200.00

Planted in DfE's statements: January counts 4 started in band A (not 5); April's
retained-1 fee is £88.00 (not £90.00); April has no uplift line; August has an
adjustment of -£150.00; May 2024 is left out. (Plus, from the declarations: p06 on
the wrong statement, p09/p10 over capacity.)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.sheets import Date, Money, Number, Sheet, Text, Workbook
from reconcile.write import write_workbook

LP = "Planted Provider"
D = Decimal

CONTRACT = f"""\
lead_provider: {LP}
cohort: 2023
vat_chargeable: true
recruitment_target: 8
set_up_fee: 0
uplift_amount: 100
monthly_service_fee: 1000
bands:
  - {{name: A, min: 0, max: 6, per_participant: 1000}}
  - {{name: B, min: 7, max: 8, per_participant: 800}}
"""

DECLARATION_COLUMNS = ("declaration_id", "participant_id", "course_identifier",
                       "declaration_type", "declaration_date", "created_at", "state",
                       "cohort", "lead_provider", "statement_name", "delivery_partner_id",
                       "delivery_partner_name", "pupil_premium_uplift", "sparsity_uplift")


def declarations() -> list[tuple]:
    rows = []

    def add(i, p, dtype, declared, created, state="paid", statement="", pp=False, sp=False):
        rows.append((f"d{i:02d}", p, "ecf-induction", dtype, declared, created, state, 2023,
                     LP, statement, "dp-1", "North Partners", str(pp).lower(),
                     str(sp).lower()))

    for n in range(1, 6):
        add(n, f"p{n:02d}", "started", "2023-10-02", "2023-10-05T10:00:00Z", pp=n <= 2)
    add(6, "p06", "started", "2023-12-01", "2023-12-10T10:00:00Z", statement="April 2024")
    for n in range(7, 11):
        add(n, f"p{n:02d}", "started", f"2023-12-{8 + n:02d}", f"2024-01-{3 + n:02d}T10:00:00Z",
            sp=n == 7)
    for n in range(1, 5):
        add(10 + n, f"p{n:02d}", "retained-1", "2024-02-01", "2024-02-05T10:00:00Z")
    for n in range(1, 5):
        add(14 + n, f"p{n:02d}", "retained-2", "2024-05-01", "2024-05-06T10:00:00Z",
            state="eligible")
    return rows


# DfE's statements: (name, cut-off, payment, output fee, lines, total)
# a line: (line_type, declaration_type, band, count, fee, amount, description)
SERVICE = ("service_fee", None, None, None, None, "1000.00", None)
SERVICE_ONLY = [SERVICE, ("vat", None, None, None, None, "200.00", None)]
CONSISTENT = {
    "November 2023": ("2023-10-31", "2023-11-25", False, SERVICE_ONLY, "1200.00"),
    "December 2023": ("2023-11-30", "2023-12-25", False, SERVICE_ONLY, "1200.00"),
    "January 2024": ("2023-12-31", "2024-01-25", True, [
        ("output", "started", "A", 5, "120.00", "600.00", None),
        ("uplift", None, None, 2, None, "200.00", None), SERVICE,
        ("vat", None, None, None, None, "360.00", None)], "2160.00"),
    "February 2024": ("2024-01-31", "2024-02-25", False, SERVICE_ONLY, "1200.00"),
    "March 2024": ("2024-02-29", "2024-03-25", False, SERVICE_ONLY, "1200.00"),
    "April 2024": ("2024-03-31", "2024-04-25", True, [
        ("output", "started", "A", 1, "120.00", "120.00", None),
        ("output", "started", "B", 2, "96.00", "192.00", None),
        ("output", "retained-1", "A", 4, "90.00", "360.00", None),
        ("uplift", None, None, 1, None, "100.00", None), SERVICE,
        ("vat", None, None, None, None, "354.40", None)], "2126.40"),
    "May 2024": ("2024-04-30", "2024-05-25", False, SERVICE_ONLY, "1200.00"),
    "June 2024": ("2024-05-31", "2024-06-25", False, SERVICE_ONLY, "1200.00"),
    "July 2024": ("2024-06-30", "2024-07-25", False, SERVICE_ONLY, "1200.00"),
    "August 2024": ("2024-07-31", "2024-08-25", True, [
        ("output", "retained-2", "A", 4, "90.00", "360.00", None), SERVICE,
        ("vat", None, None, None, None, "272.00", None)], "1632.00"),
}

PLANTED = dict(CONSISTENT)
PLANTED["January 2024"] = ("2023-12-31", "2024-01-25", True, [
    ("output", "started", "A", 4, "120.00", "480.00", None),                # count 5 -> 4
    ("uplift", None, None, 2, None, "200.00", None), SERVICE,
    ("vat", None, None, None, None, "336.00", None)], "2016.00")
PLANTED["April 2024"] = ("2024-03-31", "2024-04-25", True, [
    ("output", "started", "A", 1, "120.00", "120.00", None),
    ("output", "started", "B", 2, "96.00", "192.00", None),
    ("output", "retained-1", "A", 4, "88.00", "352.00", None),              # fee 90 -> 88
    SERVICE,                                                                 # no uplift line
    ("vat", None, None, None, None, "332.80", None)], "1996.80")
PLANTED["August 2024"] = ("2024-07-31", "2024-08-25", True, [
    ("output", "retained-2", "A", 4, "90.00", "360.00", None), SERVICE,
    ("adjustment", None, None, None, None, "-150.00", "Replacement mentor uplift removed"),
    ("vat", None, None, None, None, "242.00", None)], "1452.00")
del PLANTED["May 2024"]                                                      # left out


def dfe_workbook(statements: dict) -> Workbook:
    def day(text):
        return Date(dt.date.fromisoformat(text))

    head = ("statement_id", "lead_provider", "cohort", "name", "cut_off_date", "payment_date",
            "output_fee", "paid", "vat_chargeable", "total")
    rows = [tuple(Text(h, "header") for h in head)]
    line_head = ("statement_id", "line_type", "participant_type", "declaration_type", "band",
                 "count", "fee_per_declaration", "amount", "description")
    lines = [tuple(Text(h, "header") for h in line_head)]
    for i, (name, (cut_off, payment, output, statement_lines, total)) in enumerate(
            statements.items()):
        sid = f"s-{i:02d}"
        rows.append((Text(sid), Text(LP), Number(2023), Text(name), day(cut_off), day(payment),
                     Text(str(output).lower()), Text("false"), Text("true"), Money(D(total))))
        for line_type, dtype, band, count, fee, amount, description in statement_lines:
            lines.append((Text(sid), Text(line_type),
                          Text("ect") if line_type == "output" else None,
                          Text(dtype) if dtype else None, Text(band) if band else None,
                          Number(count) if count is not None else None,
                          Money(D(fee)) if fee else None, Money(D(amount)),
                          Text(description) if description else None))
    return Workbook((Sheet("Statements", tuple(rows)), Sheet("Lines", tuple(lines))))


def write_inputs(folder: Path, statements: dict) -> list[str]:
    (folder / "contract.yaml").write_text(CONTRACT)
    with open(folder / "declarations.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(DECLARATION_COLUMNS)
        writer.writerows(declarations())
    write_workbook(dfe_workbook(statements), folder / "dfe.xlsx")
    return ["run", "--declarations", str(folder / "declarations.csv"),
            "--dfe-statements", str(folder / "dfe.xlsx"),
            "--contracts", str(folder / "contract.yaml"), "--as-of", "2024-08-10",
            "--out", str(folder / "reconciliation.xlsx"), "--json", str(folder / "result.json"),
            "--quiet"]


def ours(data: dict) -> list[tuple]:
    """The findings about the provider (the rulebook's own calendar notices have none)."""
    return sorted((f["severity"], f["code"], f["statement"], f["line"], f["declaration_id"],
                   f["expected"], f["actual"], f["difference"])
                  for f in data["findings"] if f["lead_provider"] == LP)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    result = CliRunner().invoke(main, write_inputs(folder, PLANTED))
    return result, folder, json.loads((folder / "result.json").read_text())


@pytest.fixture(scope="module")
def consistent(tmp_path_factory):
    folder = tmp_path_factory.mktemp("consistent")
    result = CliRunner().invoke(main, write_inputs(folder, CONSISTENT))
    return result, folder, json.loads((folder / "result.json").read_text())


def test_the_hand_figures_are_what_the_tool_expects(consistent):
    _, _, data = consistent
    totals = {s["name"]: s["expected"]["total"] for s in data["statements"]}
    assert totals == {**dict.fromkeys(
        ["November 2023", "December 2023", "February 2024", "March 2024", "May 2024",
         "June 2024", "July 2024"], "1200.00"),
        "January 2024": "2160.00", "April 2024": "2126.40", "August 2024": "1632.00"}


def test_every_planted_discrepancy_is_reported_where_it_is_and_nothing_else(planted):
    result, _, data = planted
    assert result.exit_code == 1, result.output
    found = ours(data)
    moved = [f for f in found if f[1] == "CALC_STATEMENT_MOVED"]
    over = [f for f in found if f[1] == "CALC_OVER_CAPACITY"]
    assert [(f[2], f[4]) for f in moved] == [("April 2024", "d06")]
    assert [f[2] for f in over] == ["April 2024"]
    rest = [f for f in found if f[1] not in ("CALC_STATEMENT_MOVED", "CALC_OVER_CAPACITY")]
    assert rest == sorted([
        ("error", "OUTPUT_COUNT_MISMATCH", "January 2024", "output ect started band A", None,
         "5", "4", "-1"),
        ("error", "OUTPUT_FEE_MISMATCH", "April 2024", "output ect retained-1 band A", None,
         "90.00", "88.00", "-2.00"),
        ("error", "LINE_MISSING_FROM_DFE", "April 2024", "uplift", None,
         "100.00", "0.00", "-100.00"),
        ("info", "UNEXPLAINED_ADJUSTMENT", "August 2024",
         "adjustment: Replacement mentor uplift removed", None, "0.00", "-150.00", "-150.00"),
        ("error", "STATEMENT_MISSING_FROM_DFE", "May 2024", None, None,
         "1200.00", None, "-1200.00"),
    ])
    assert [f[0] for f in moved + over] == ["warning", "warning"]


def test_the_consistent_scenario_has_no_error_and_exits_0(consistent):
    result, _, data = consistent
    assert result.exit_code == 0, result.output
    assert [f for f in data["findings"] if f["severity"] == "error"] == []
    assert sorted(f[1] for f in ours(data)) == ["CALC_OVER_CAPACITY", "CALC_STATEMENT_MOVED"]
    dfe = {s["name"]: s["dfe"]["total"] for s in data["statements"]}
    assert dfe["April 2024"] == "2126.40"


def test_the_workbook_shows_each_statement_status(planted):
    _, folder, _ = planted
    wb = openpyxl.load_workbook(folder / "reconciliation.xlsx")
    summary = wb["Summary"]
    status = {row[2].value: row[12].value for row in summary.iter_rows(min_row=6)
              if row[0].value == LP}
    assert status == {
        "November 2023": "OK", "December 2023": "OK", "January 2024": "Differs",
        "February 2024": "OK", "March 2024": "OK", "April 2024": "Differs",
        "May 2024": "Missing from DfE", "June 2024": "OK", "July 2024": "OK",
        "August 2024": "DfE adjustment"}
    assert {"Findings", "Declarations", "Rules", "January 2024"} <= set(wb.sheetnames)


def test_the_summary_total_is_its_dfe_total_minus_its_expected_total(planted):
    """The Total row adds up the statements compared, the one missing from DfE (May 2024,
    £1,200.00) is on a row of its own, and the Providers-style sums agree with it.

    Compared, expected: six service-fee months 6 x £1,200.00 = £7,200.00, January
    £2,160.00, April £2,126.40, August £1,632.00: £13,118.40. DfE: £7,200.00 + £2,016.00
    + £1,996.80 + £1,452.00 = £12,664.80. Difference £12,664.80 − £13,118.40 = −£453.60
    (January −£144.00, April −£129.60, August −£180.00). Before, the Total row's expected
    held May's £1,200.00 too (£14,318.40), so expected − DfE (£1,653.60) was not the
    difference shown."""
    _, folder, data = planted
    wb = openpyxl.load_workbook(folder / "reconciliation.xlsx", data_only=True)
    rows = list(wb["Summary"].iter_rows(values_only=True))
    total = next(r for r in rows if r[0] == "Total")
    missing = next(r for r in rows if r[0] and str(r[0]).startswith("Not compared"))
    assert [D(str(v)).quantize(D("0.01")) for v in total[6:9]] == [
        D("13118.40"), D("12664.80"), D("-453.60")]
    assert missing[0] == "Not compared (Missing from DfE)"
    assert [D(str(v)).quantize(D("0.01")) for v in missing[6:8]] == [D("1200.00"), D("0.00")]
    # the heading's counts and the rows': the findings on no statement are said apart,
    # so the heading's counts are the Total row's plus those
    on_rows = [sum(r[c] for r in rows if r[0] == LP) for c in (9, 10, 11)]
    assert [total[9], total[10], total[11]] == on_rows
    elsewhere = {sev: sum(1 for f in data["findings"] if not f["statement"]
                          and f["severity"] == sev) for sev in ("error", "warning", "info")}
    every = {sev: sum(1 for f in data["findings"] if f["severity"] == sev)
             for sev in ("error", "warning", "info")}
    assert [every[s] - elsewhere[s] for s in ("error", "warning", "info")] == on_rows
    words = ", ".join(f"{n} {s}" for s, n in elsewhere.items() if n)
    assert (f" ({words} on no statement)" in rows[1][0]) == bool(words)
