"""The reconciliation workbook as a value: sheets, rows, formulas and styles, without xlsx.

The run is tests/report/scenario.py (figures by hand in its docstring): April 2024
as DfE has it, May 2024 with DfE counting 9 instead of 10 and a -£250.00
adjustment whose text starts with "=".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reconcile.compare import DFE_ADJUSTMENT, DIFFERS, NO_DFE, OK, compare
from reconcile.findings import Finding, Severity
from reconcile.report import _status_line, _summary_note, build_workbook
from reconcile.sheets import Date, Formula, Link, Money, Number, RowStream, Text
from tests.builders import calculation, compare_rulebook, dfe_like, expected, line
from tests.report.scenario import build_result

D = Decimal


@pytest.fixture(scope="module")
def book():
    return build_workbook(build_result())


def _row(sheet, first_text):
    for row in sheet.iter_cells():
        if row and isinstance(row[0], Text) and row[0].value == first_text:
            return row
    raise AssertionError(f"no row starting {first_text!r} in {sheet.name}")


def _payments(sheet):
    """The Payments columns (expected, DfE, difference) of a statement sheet."""
    header = _row(sheet, "Payment breakdown")
    return [i for i, c in enumerate(header) if c is not None and c.value == "Payments"]


def _letter(col):
    from reconcile.sheets import column_letter

    return column_letter(col)


def test_sheets_in_reading_order(book):
    assert book.sheet_names == ("Summary", "Findings", "April 2024", "May 2024",
                                "Declarations", "Rules")
    assert book.active == "Summary"


def test_summary_row_per_statement_with_live_totals(book):
    summary = book.sheet("Summary")
    april = _row(summary, "Example Teaching Institute")
    assert april[2] == Link("April 2024", "April 2024")
    r = 1 + book.sheet("April 2024").rows.index(_row(book.sheet("April 2024"),
                                                     "Total (VAT included)"))
    e, d, _ = (_letter(c) for c in _payments(book.sheet("April 2024")))
    assert april[6] == Formula(f"'April 2024'!{e}{r}", D("1590.01"))
    assert april[7] == Formula(f"'April 2024'!{d}{r}", D("1590.01"))
    assert april[8] == Formula("H7-G7", D("0.00"))
    assert [c.value for c in april[9:13]] == [0, 0, 0, OK]
    may = summary.rows[7]
    assert may[6].value == D("3669.37") and may[7].value == D("3226.09")
    # its note wraps: the row's figures are top-aligned, level with its first line
    assert may[8] == Formula("H8-G8", D("-443.28"), "money_top")  # (-119.40 - 250.00) x 1.2
    assert [c.value for c in may[9:13]] == [1, 1, 1, DIFFERS]
    assert summary.rows[2] == (Text("Statements: 1 Differs, 1 OK.", "note"),)
    total = _row(summary, "Total")
    # the rows shown: filtering the Summary by provider totals that provider
    assert total[6] == Formula("SUBTOTAL(109,G7:G8)", D("5259.38"), "money_total")
    assert total[7] == Formula("SUBTOTAL(109,H7:H8)", D("4816.10"), "money_total")
    assert total[8] == Formula("SUBTOTAL(109,I7:I8)", D("-443.28"), "money_total")


def test_summary_has_a_chart_filter_frozen_header_and_red_green_differences(book):
    summary = book.sheet("Summary")
    assert summary.freeze == (6, 3) and summary.autofilter.first_row == 5
    (chart,) = summary.charts
    assert [s.name for s in chart.series] == ["Expected total", "DfE total"]
    assert chart.series[0].values.formula() == "'Summary'!$G$7:$G$8"
    diff = [(cf.criteria, cf.style) for cf in summary.conditional_formats
            if cf.first_col == 8]
    assert diff == [("=AND(ISNUMBER(I7),I7<>0)", "cf_bad"), ("=AND(ISNUMBER(I7),I7=0)", "cf_good")]


def test_statement_sheet_in_dfes_layout_expected_beside_dfe_with_formulas(book):
    # columns: A the line; then a group per side (expected, DfE, difference): one
    # column per band of the contract (A-D here), then Payments
    may = book.sheet("May 2024")
    pe, pd, px = _payments(may)
    bands = pe - 1
    assert (pd - pe, px - pd) == (bands + 1, bands + 1)
    started = _row(may, "Started")  # ECTs and mentors together before 2025, as DfE
    r = may.rows.index(started) + 1
    a_e, a_d, a_x = 1, pe + 1, pd + 1  # band A of each group
    assert [started[c].value for c in (a_e, a_d)] == [12, 11]
    assert started[a_x] == Formula(f"{_letter(a_d)}{r}-{_letter(a_e)}{r}", -1, "count")
    fee = may.rows[r]
    assert fee[0] == Text("Fee per participant", "indent")
    assert (fee[a_e], fee[pe], fee[pd]) == (Money(D("119.40"), "fee"), Money(D("1432.80")),
                                            Money(D("1313.40")))
    assert fee[px] == Formula(f"{_letter(pd)}{r + 1}-{_letter(pe)}{r + 1}", D("-119.40"))
    claw = _row(may, "Clawback for Started (Band: A)")
    assert (claw[1].value, claw[2].value, claw[pe].value) == (1, D("-119.40"), D("-119.40"))
    net = _row(may, "Net (before VAT)")
    assert net[pe].formula.startswith("SUM(") and net[pe].value == D("3057.81")
    assert net[pd].value == D("2688.41")
    total = _row(may, "Total (VAT included)")
    assert (total[pe].value, total[pd].value, total[px].value) == (
        D("3669.37"), D("3226.09"), D("-443.28"))
    assert total[pe].style == "money_total"
    # the breakdown points at the tables' totals: the sheet is live
    output = _row(may, "Output payment")
    total_row = may.rows.index(_row(may, "Output payment total")) + 1
    assert output[pe] == Formula(f"{_letter(pe)}{total_row}", D("1791.00"), "money")
    # the lines, one per participant type, below for filtering
    line = _row(may, "Output: Started")
    assert [c.value if c is not None else None for c in line[:10]] == [
        "Output: Started", "ect", "started", "A", 10, D("119.40"), D("1194.00"), 9,
        D("119.40"), D("1074.60")]
    assert line[12] == Text("OUTPUT_COUNT_MISMATCH")
    assert may.page_breaks and may.merges and may.repeat_rows == (0, 0)


def test_input_text_starting_with_equals_stays_text(book):
    may = book.sheet("May 2024")
    adjustment = _row(may, "=SUM(A1:A9) replacement mentor uplift")
    assert type(adjustment[0]) is Text and adjustment[_payments(may)[1]] == Money(D("-250.00"))
    partners = [row[8] for row in book.sheet("Declarations").iter_cells()][1:]
    assert all(c == Text("=North Partners") for c in partners)


def test_findings_sheet_by_severity_then_amount(book):
    findings = book.sheet("Findings")
    assert isinstance(findings.rows, RowStream)
    values = findings.values()
    assert values[0][:3] == ["Severity", "Code", "What"]
    assert [(v[0], v[1]) for v in values[1:]] == [
        ("error", "OUTPUT_COUNT_MISMATCH"), ("warning", "CALC_OVER_CAPACITY"),
        ("info", "UNEXPLAINED_ADJUSTMENT")]
    count = values[1]
    assert (count[5], count[6], count[8], count[9], count[10]) == (
        "May 2024", "output ect started band A", 10, 9, -1)
    assert values[3][10] == D("-250.00")  # a money difference is a number, for sorting
    assert findings.freeze == (1, 2) and findings.autofilter.last_col == 14


def test_declarations_sheet_traces_each_declaration(book):
    rows = list(book.sheet("Declarations").iter_cells())
    assert len(rows) == 13
    header = [c.value for c in rows[0]]
    first = dict(zip(header, rows[1]))
    assert first["Declaration"] == Text("decl-00")
    assert first["Expected statement"] == Text("April 2024")
    assert first["Band"] == Text("A") and first["Fee"] == Money(D("119.40"))
    assert first["Rules fired"] == Text("billable")
    assert isinstance(first["Declaration date"], Date) and first["Declaration date"].style == "date"
    assert first["Cohort"] == Number(2023, "year")
    last = dict(zip(header, rows[12]))
    assert last["Findings"] == Text("CALC_OVER_CAPACITY")


def test_rules_sheet_lets_the_run_be_reproduced(book):
    values = book.sheet("Rules").values()
    flat = {v[0]: v[1] for v in values if len(v) > 1}
    assert flat["Rules engine backend"] == "python"
    assert flat["option: as_of"] == "2024-06-01"
    assert flat["rules/fees.yaml"] == "ab" * 32
    assert flat["reconcile version"]


def test_without_dfe_statements_the_workbook_shows_expected_only():
    book = build_workbook(build_result(with_dfe=False))
    summary = book.sheet("Summary")
    may = summary.rows[7]
    assert may[6].value == D("3669.37") and may[7] is None and may[8] is None
    assert may[12] == Text(NO_DFE, "status_top")  # level with its wrapped note
    total = next(row for row in book.sheet("May 2024").rows
                 if row and row[0] == Text("Total (VAT included)", "text_total"))
    (pe,) = _payments(book.sheet("May 2024"))  # no DfE group
    pd = 2 * pe
    assert total[pe].value == D("3669.37") and not hasattr(total[pd], "value")


# ------------------------------------------------- the money status and what it means


def test_the_note_counts_the_findings_the_status_does_not_cover(book):
    # May 2024: 1 error (the count on its line, shown), 1 warning (over capacity, about
    # declaration decl-11), 1 info (DfE's adjustment): the note names both that matter
    may = book.sheet("Summary").rows[7]
    assert [c.value for c in may[9:13]] == [1, 1, 1, DIFFERS]
    assert may[13] == Text("output ect started band A: DfE counts 9, we expect 10 (-£119.40 "
                           "on the line); 1 declaration finding to check (see Findings).",
                           "note_wrap")
    assert book.sheet("Summary").rows[6][13].value == "Money matches DfE line by line."


def _pair(dfe_lines=None):
    e = expected("May 2024", dt.date(2024, 5, 25), service_fee="1086.21")
    d = dfe_like(e, total=False)
    if dfe_lines is not None:
        d = d._replace(lines=dfe_lines(d))
    return compare(calculation((e,)), (d,), compare_rulebook()).pairs[0]


def test_money_that_matches_with_a_declaration_error_says_ok_and_counts_the_error():
    late = Finding("DECL_AFTER_MILESTONE_CUTOFF", Severity.ERROR, "dated after its milestone",
                   lead_provider="Example Teaching Institute", cohort=2023,
                   statement="May 2024", declaration_id="d1")
    pair = _pair()
    assert pair.status == OK
    assert _summary_note(pair, (late,)) == (
        "Money matches DfE line by line; 1 declaration finding to check (see Findings).")
    assert _summary_note(pair, ()) == "Money matches DfE line by line."


def test_a_difference_made_only_by_dfes_adjustment_is_dfe_adjustment_not_explained():
    # service fee £1,086.21 both sides; DfE adds a -£100.00 adjustment and VAT on its net
    pair = _pair(lambda d: (
        *(x for x in d.lines if x.line_type != "vat"),
        line("adjustment", "-100.00", description="Manual correction"),
        line("vat", "197.24")))  # 20% of 986.21 = 197.242
    assert pair.status == DFE_ADJUSTMENT == "DfE adjustment"
    assert [f.code for f in pair.findings] == ["UNEXPLAINED_ADJUSTMENT"]
    assert pair.difference == D("-120.00")  # -100.00 x 1.2
    assert _summary_note(pair, pair.findings) == (
        "Every line matches; the difference is DfE's own adjustments (-£100.00 before VAT, "
        "UNEXPLAINED_ADJUSTMENT): confirm them with DfE.")


def test_the_status_line_orders_what_needs_a_look_first():
    pairs = [_pair()._replace(status=s) for s in (OK, DFE_ADJUSTMENT, DIFFERS, OK)]
    assert _status_line(pairs) == "Statements: 1 Differs, 1 DfE adjustment, 2 OK."


def test_a_grouped_finding_shows_on_every_member_in_the_declarations_sheet():
    result = build_result()
    group = Finding("CALC_STATEMENT_MOVED", Severity.WARNING, "2 declaration(s) are on May 2024",
                    lead_provider="Example Teaching Institute", cohort=2023,
                    statement="May 2024", declaration_ids=("decl-00", "decl-03"))
    book = build_workbook(result._replace(findings=(*result.findings, group)))
    rows = list(book.sheet("Declarations").iter_cells())
    header = [c.value for c in rows[0]]
    found = {dict(zip(header, r))["Declaration"].value: dict(zip(header, r))["Findings"]
             for r in rows[1:]}
    assert found["decl-00"] == Text("CALC_STATEMENT_MOVED")
    assert found["decl-03"] == Text("CALC_STATEMENT_MOVED")
    assert found["decl-01"] in (None, Text(""))
    assert found["decl-11"] == Text("CALC_OVER_CAPACITY")
