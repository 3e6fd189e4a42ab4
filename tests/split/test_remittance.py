"""Remittance advice per partner, the split workbook and the Delivery partners sheet.

Workbooks are written to .xlsx and read back with openpyxl; every live formula is
re-evaluated here from the cells it points at, so a formula pointing at the wrong
rows fails even though the file carries our own figure as its cached value.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from reconcile.remittance import (
    LP_KEEPS,
    partner_sheet,
    remittance_file_names,
    remittance_workbook,
    remittance_workbooks,
    split_workbook,
)
from reconcile.sheets import STYLES
from reconcile.split import split_payments
from reconcile.write import write_workbook
from tests.builders import att, bundled_policy_text, calculation, key, split_rulebook, statement, worked_calculation

D = Decimal


def worked_split():
    """docs/split-example.md: the bundled policy, the provider keeping 10%."""
    return split_payments(worked_calculation(), (), split_rulebook(
        bundled_policy_text(**{"percentage: 0": "percentage: 10"})))


def evaluate(book, sheet_name: str, formula: str) -> Decimal:
    """Our own evaluation of the formulas the split writes: SUM of ranges, + and −."""
    total = D(0)
    for sign, term in re.findall(r"([+-]?)((?:SUM\([^)]*\))|(?:'[^']+'!)?[A-Z]+\d+|\d+)",
                                 formula.lstrip("=")):
        if term.startswith("SUM("):
            inner = term[4:-1]
            sheet, _, cells = inner.rpartition("!")
            ws = book[sheet.strip("'")] if sheet else book[sheet_name]
            value = sum((D(str(c.value or 0)) for row in ws[cells] for c in row), D(0))
        elif term.isdigit():
            value = D(term)
        else:
            sheet, _, cell = term.rpartition("!")
            value = D(str(book[sheet.strip("'") if sheet else sheet_name][cell].value or 0))
        total += -value if sign == "-" else value
    return total


def check_formulas(path: Path) -> int:
    """Every formula of the file evaluates to the value we cached for it; returns how many."""
    formulas = openpyxl.load_workbook(path)
    cached = openpyxl.load_workbook(path, data_only=True)
    checked = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    ours = D(str(cached[ws.title][cell.coordinate].value))
                    assert evaluate(cached, ws.title, cell.value).quantize(D("0.01")) == ours, (
                        ws.title, cell.coordinate, cell.value)
                    checked += 1
    return checked


def test_a_partner_remittance_lists_exactly_its_declarations(tmp_path):
    result = worked_split()
    path = tmp_path / "east.xlsx"
    write_workbook(remittance_workbook(result, "dp-east"), path)
    book = openpyxl.load_workbook(path, data_only=True)
    assert book.sheetnames == ["Remittance", "Declarations"]
    rows = list(book["Declarations"].iter_rows(min_row=2, values_only=True))
    # East Hub: d-10, d-11 started, d-12, d-13 retained-1, d-00 clawed back (p-10)
    assert sorted(r[3] for r in rows) == ["d-00", "d-10", "d-11", "d-12", "d-13"]
    assert [c.value for c in book["Declarations"][1]][9] == "Fee attributed"
    fees = {c.number_format for c in book["Declarations"]["J"][1:]}
    assert fees == {STYLES["fee"]["num_format"]}
    clawed = next(r for r in rows if r[3] == "d-00")
    assert clawed[4] == "p-10" and clawed[8] == "clawed back" and clawed[12] == -219.4
    remit = book["Remittance"]
    assert remit["A1"].value == "Remittance advice: East Hub"
    header = [c.value for c in remit[6]]
    may = dict(zip(header, (c.value for c in remit[7])))
    assert may["Statement"] == "May 2024"
    assert (may["Output fees"], may["Clawbacks"], may["Service fee"]) == (417.9, -219.4, 108.62)
    assert (may["Gross"], may["Retained"], may["Amount payable"]) == (307.12, 30.71, 276.41)
    # the statement row: output, uplift, clawbacks (over the declarations), gross, amount;
    # the total row: eight sums
    assert check_formulas(path) == 5 + 8


def test_remittance_totals_are_live_formulas_over_the_declarations(tmp_path):
    path = tmp_path / "north.xlsx"
    write_workbook(remittance_workbook(worked_split(), "dp-north"), path)
    remit = openpyxl.load_workbook(path)["Remittance"]
    assert remit["E7"].value == "=SUM('Declarations'!K2:K6)"  # North's five started
    assert remit["J7"].value == "=SUM(E7:I7)" and remit["M7"].value == "=J7-L7"
    assert remit["M8"].value == "=SUM(M7:M7)"


def test_remittance_covers_every_statement_of_the_partner(tmp_path):
    may, june = key("May 2024"), key("June 2024")
    atts = (att("a-1", "dp-a", statement=may), att("b-1", "dp-b", statement=may),
            att("a-2", "dp-a", "output", "retained-1", fee="89.55", statement=june),
            att("a-1", "dp-a", "clawback", statement=june))
    calc = calculation((statement(atts, may, service_fee="20.00"),
                 statement(atts, june, service_fee="20.00", payment_date=dt.date(2024, 6, 25))),
                atts)
    result = split_payments(calc, (), split_rulebook(bundled_policy_text()))
    path = tmp_path / "a.xlsx"
    write_workbook(remittance_workbook(result, "dp-a"), path)
    book = openpyxl.load_workbook(path, data_only=True)
    assert [r[3] for r in book["Declarations"].iter_rows(min_row=2, values_only=True)] == [
        "a-1", "a-2", "a-1"]
    statements = [r for r in book["Remittance"].iter_rows(min_row=7, max_row=9, values_only=True)]
    assert [r[2] for r in statements] == ["May 2024", "June 2024", None]
    # June: 89.55 − 119.40 + service fee (started to date: a 0, b 1 -> all 20.00 to b)
    assert statements[1][9] == pytest.approx(89.55 - 119.40)
    assert statements[2][0] == "Total" and statements[2][12] == pytest.approx(
        119.40 + 10.00 + 89.55 - 119.40)
    assert check_formulas(path) > 0


def write_remittances(result, folder: Path) -> list[str]:
    """Every partner's remittance workbook into ``folder``, as ``split --per-partner``."""
    folder.mkdir(parents=True)
    for file_name, build in remittance_workbooks(result).items():
        write_workbook(build(), folder / file_name)
    return sorted(p.name for p in folder.iterdir())


def test_remittance_files_are_byte_identical_run_after_run(tmp_path):
    result = worked_split()
    one = write_remittances(result, tmp_path / "one")
    assert one == write_remittances(result, tmp_path / "two") == [
        "remittance-east-hub.xlsx", "remittance-north-hub.xlsx", "remittance-south-hub.xlsx"]
    for name in one:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_no_remittance_for_unassigned_declarations(tmp_path):
    atts = (att("a-1", "dp-a"), att("u-1", None))
    result = split_payments(calculation((statement(atts),), atts), (), split_rulebook())
    assert list(remittance_file_names(result)) == ["dp-a"]
    assert write_remittances(result, tmp_path / "dir") == ["remittance-a-hub.xlsx"]


def test_file_names_are_safe_unique_and_stable():
    atts = (att("1", "dp-1", name="Élan / Trust: North"), att("2", "dp-2", name="Elan Trust North"),
            att("3", "dp-3", name="CON"), att("4", "dp-4", name="***"),
            att("5", "x/y", name=""))
    result = split_payments(calculation((statement(atts),), atts), (), split_rulebook())
    names = remittance_file_names(result)
    assert names == {
        "dp-1": "remittance-elan-trust-north-dp-1.xlsx",
        "dp-2": "remittance-elan-trust-north-dp-2.xlsx",
        "dp-3": "remittance-con-partner.xlsx",
        "dp-4": "remittance-dp-4.xlsx",
        "x/y": "remittance-x-y.xlsx",
    }
    assert all(re.fullmatch(r"remittance-[a-z0-9-]+\.xlsx", n) for n in names.values())


def test_delivery_partners_sheet_adds_up_to_the_statement(tmp_path):
    result = worked_split()
    sheet = partner_sheet(result)
    values = sheet.values()
    header = values[0]
    assert header[:5] == ["Lead provider", "Cohort", "Statement", "Payment date",
                          "Delivery partner"]
    assert header[14] == "Delivery partner id"  # after the printed columns
    assert header[-3:] == ["started", "retained-1", "Clawed back"]
    rows = {r[4]: dict(zip(header, r)) for r in values[1:6]}
    assert list(rows) == ["East Hub", "North Hub", "South Hub", LP_KEEPS,
                          "Statement total (net)"]
    east = rows["East Hub"]
    assert (east["started"], east["retained-1"], east["Clawed back"]) == (2, 2, 1)
    assert (east["Output fees"], east["Clawbacks"], east["Service fee"], east["Retained"],
            east["Amount payable"]) == (D("417.90"), D("-219.40"), D("108.62"), D("30.71"),
                                        D("276.41"))
    total = rows["Statement total (net)"]
    assert total["Gross"] == D("2557.39") and total["Retained"] == D("255.74")
    assert total["Amount payable"] + total["Retained"] == total["Gross"]
    assert total["Service fee"] == D("1086.21") and total["started"] == 11
    path = tmp_path / "split.xlsx"
    write_workbook(split_workbook(result), path)
    # 3 partners × (gross, amount), the lead provider's (gross, retained), 11 totals
    assert check_formulas(path) == 19
    book = openpyxl.load_workbook(path, data_only=True)
    assert book.sheetnames == ["About", "Delivery partners", "Declarations"]
    assert book.active.title == "Delivery partners"
    assert len(list(book["Declarations"].iter_rows(min_row=2))) == 14
    assert book["Declarations"]["L1"].value == "Fee attributed"
    assert book["Declarations"]["L2"].number_format == STYLES["fee"]["num_format"]


def test_split_workbook_lists_unassigned_declarations_with_the_findings(tmp_path):
    atts = (att("a-1", "dp-a"), att("u-1", None))
    result = split_payments(calculation((statement(atts),), atts), (), split_rulebook())
    book = split_workbook(result)
    decls = book.sheet("Declarations").values()
    assert [r[3:6] for r in decls[1:]] == [["dp-a", "A Hub", "a-1"],
                                           ["", "Unassigned (no delivery partner)", "u-1"]]
    about = [r for r in book.sheet("About").values() if r and r[0] == "warning"]
    assert len(about) == 1 and "u-1" in about[0][1]


def test_a_retained_percentage_with_a_fraction_is_shown_as_written(tmp_path):
    atts = (att("a-1", "dp-a"),)
    result = split_payments(calculation((statement(atts),), atts), (),
                            split_rulebook("retained: {percentage: 7.5}"))
    path = tmp_path / "a.xlsx"
    write_workbook(remittance_workbook(result, "dp-a"), path)
    cell = openpyxl.load_workbook(path)["Remittance"]["K7"]
    assert (cell.value, cell.number_format) == (7.5, "General")
    write_workbook(split_workbook(result), tmp_path / "split.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "split.xlsx")["Delivery partners"]
    column = [c.value for c in sheet[1]].index("Retained %")
    cell = sheet.cell(2, column + 1)
    assert (cell.value, cell.number_format) == (7.5, "General")
