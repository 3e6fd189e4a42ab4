"""Sheets past Excel's limits continue on "Name (2)"...: headers, notes, formulas that follow.

The limits are injected small (10 rows, 6 columns, 60 characters) so that a few dozen
rows pass them; LibreOffice then recalculates the workbook to show that the formulas
which follow the rows to their continuation sheets still give the totals Python
computed. One more test writes past the real row limit.
"""

from __future__ import annotations

import re
import zipfile
from decimal import Decimal

import openpyxl
import pytest
import xlsxwriter.worksheet

from reconcile import continuation, write
from reconcile.sheets import (
    AutoFilter,
    ConditionalFormat,
    Formula,
    Link,
    Number,
    RowStream,
    Sheet,
    Text,
    Workbook,
)
from reconcile.write import write_workbook
from tests.report.test_write import parts_of
from tests.report.test_libreoffice import recalculate

pytestmark = pytest.mark.slow

FEES = [Decimal(f"{100 + i}.{i % 100:02d}") for i in range(25)]


def _book() -> Workbook:
    """25 declarations on a sheet that holds 10 rows: 9 a part, on three parts."""
    def produce():
        yield (Text("Declaration", "header"), Text("Fee", "header"), Text("Note", "header"))
        for i, fee in enumerate(FEES):
            yield (f"d{i + 1:02d}", fee, "long " * 30 if i == 13 else f"n{i + 1}")

    declarations = Sheet(
        "Declarations", RowStream(produce, 26), widths=(14, 10, 20), freeze=(1, 1),
        autofilter=AutoFilter(0, 0, 2),
        conditional_formats=(ConditionalFormat(1, 1, 25, 1, "formula", "=$B2>110", "cf_bad"),))
    total = sum(FEES, Decimal(0))
    totals = Sheet("Totals", (
        (Text("Total fees"), Formula("SUM('Declarations'!B2:B26)", total)),
        (Text("Declarations"), Formula("COUNTA(Declarations!A2:A26)", 25, "count")),
        (Text("Fee of d20"), Formula("Declarations!B21", FEES[19])),
        (Text("Largest"), Formula("MAX('Declarations'!$B$2:$B$26)", max(FEES))),
        (Text("go to d20"), Link("d20", "Declarations", "A21")),
    ))
    return Workbook((totals, declarations), active="Totals")


@pytest.fixture
def small_limits(monkeypatch):
    monkeypatch.setattr(continuation, "MAX_ROWS", 10)
    monkeypatch.setattr(continuation, "MAX_TEXT", 60)


def test_a_sheet_past_the_row_limit_continues_with_its_header_a_note_and_its_formulas(
        tmp_path, small_limits, monkeypatch):
    path = tmp_path / "book.xlsx"
    write_workbook(_book(), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Totals", "Declarations", "Declarations (2)", "Declarations (3)",
                             "Declarations (4)"]
    rows = []
    for name, held in (("Declarations", (1, 9)), ("Declarations (2)", (10, 18)),
                       ("Declarations (3)", (19, 25))):
        ws = wb[name]
        assert ws.max_row <= 10, name
        assert [c.value for c in ws[1][:3]] == ["Declaration", "Fee", "Note"]
        assert ws.freeze_panes == "B2" and ws.auto_filter.ref == f"A1:C{ws.max_row}"
        note = ws["D1"].value
        assert f"rows {held[0]} to {held[1]} of 25" in note
        rows += [[c.value for c in r[:2]] for r in ws.iter_rows(min_row=2)]
    # every declaration once, in order, nothing lost at the seams
    assert rows == [[f"d{i + 1:02d}", float(fee)] for i, fee in enumerate(FEES)]
    assert "continued on 'Declarations (2)'" in wb["Declarations"]["D1"].value
    assert "last part" in wb["Declarations (3)"]["D1"].value
    # the conditional format's formula is written for each part's own first row
    cf = wb["Declarations (3)"].conditional_formatting
    assert [(str(r.sqref), r.rules[0].formula) for r in cf] == [("B2:B8", ["$B2>110"])]

    # the formulas follow the rows to their parts
    totals = wb["Totals"]
    assert totals["B1"].value == ("=SUM('Declarations'!B2:B10,'Declarations (2)'!B2:B10,"
                                  "'Declarations (3)'!B2:B8)")
    assert totals["B2"].value == ("=COUNTA('Declarations'!A2:A10,'Declarations (2)'!A2:A10,"
                                  "'Declarations (3)'!A2:A8)")
    assert totals["B3"].value == "='Declarations (3)'!B3"  # d20: the 2nd row of part 3
    assert totals["B4"].value.startswith("=MAX('Declarations'!$B$2:$B$10,")
    assert totals["B5"].hyperlink.location == "'Declarations (3)'!A3"

    # a text past the cell limit keeps what fits and says where the rest is
    cell = wb["Declarations (2)"]["C6"].value  # d14
    assert len(cell) <= 60 and cell.endswith("[continued on sheet 'Declarations (4)' from row 2]")
    pieces = [r for r in wb["Declarations (4)"].iter_rows(min_row=2, values_only=True)]
    assert [p[:4] for p in pieces] == [("Declarations (2)", "C6", i, len(pieces) + 1)
                                       for i in range(2, len(pieces) + 2)]
    head = cell[:cell.index(" … [continued")]
    assert head + "".join(p[4] for p in pieces) == "long " * 30

    # the fast writer and XlsxWriter's own API give the same bytes
    slow = tmp_path / "slow.xlsx"
    monkeypatch.setattr(write, "STREAM_FAST", False)
    write_workbook(_book(), slow)
    assert parts_of(slow) == parts_of(path)

    # a spreadsheet recalculating the workbook gets Python's figures back
    again = openpyxl.load_workbook(recalculate(path, tmp_path / "lo", tmp_path / "profile"),
                                   data_only=True)["Totals"]
    assert Decimal(str(again["B1"].value)).quantize(Decimal("0.01")) == sum(FEES)
    assert again["B2"].value == 25
    assert Decimal(str(again["B3"].value)) == FEES[19]
    assert Decimal(str(again["B4"].value)) == max(FEES)


def test_a_sheet_past_the_column_limit_continues_with_its_key_column(tmp_path, monkeypatch):
    monkeypatch.setattr(continuation, "MAX_COLS", 6)
    header = (Text("Declaration", "header"),
              *(Text(f"Month {m}", "header") for m in range(1, 13)))
    rows = (header, *((Text(f"d{i}"), *(Number(i * m) for m in range(1, 13)))
                      for i in range(1, 4)))
    sheet = Sheet("Wide", rows, freeze=(1, 1))
    totals = Sheet("Totals", ((Formula("SUM(Wide!B2:M2)", sum(range(1, 13)), "count"),),))
    path = tmp_path / "wide.xlsx"
    write_workbook(Workbook((sheet, totals)), path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:3] == ["Wide", "Wide (2)", "Wide (3)"]
    # each part: the key column, then the next five months
    assert [c.value for c in wb["Wide"][1][:6]] == ["Declaration", *(f"Month {m}"
                                                                    for m in range(1, 6))]
    assert [c.value for c in wb["Wide (3)"][4][:3]] == ["d3", 33, 36]
    assert "columns L to M" in wb["Wide (3)"]["D1"].value
    assert wb["Totals"]["A1"].value == "=SUM('Wide'!B2:F2,'Wide (2)'!B2:F2,'Wide (3)'!B2:C2)"


def test_a_formula_that_cannot_follow_across_parts_is_refused(tmp_path, small_limits):
    book = _book()
    totals = book.sheets[0]._replace(rows=((Formula("SUMPRODUCT(Declarations!B2:B26)", 0),),))
    with pytest.raises(ValueError, match=r"refers to Declarations!B2:B26.*only a whole argument"):
        write_workbook(book._replace(sheets=(totals, book.sheets[1])), tmp_path / "x.xlsx")


def test_the_limits_are_excels_and_a_sheet_one_row_past_the_real_one_continues(tmp_path):
    # Excel's specifications: 1,048,576 rows by 16,384 columns, 32,767 characters a cell
    assert (continuation.MAX_ROWS, continuation.MAX_COLS, continuation.MAX_TEXT) == (
        1_048_576, 16_384, 32_767)
    ws = xlsxwriter.worksheet.Worksheet()
    assert (ws.xls_rowmax, ws.xls_colmax, ws.xls_strmax) == (
        continuation.MAX_ROWS, continuation.MAX_COLS, continuation.MAX_TEXT)

    n = continuation.MAX_ROWS  # data rows: with the header, one row too many

    def produce():
        yield (Text("n", "header"),)
        yield from ((i,) for i in range(1, n + 1))

    path = tmp_path / "big.xlsx"
    write_workbook(Workbook((Sheet("Big", RowStream(produce, n + 1), freeze=(1, 0)),)), path)
    with zipfile.ZipFile(path) as z:
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
        first = z.open("xl/worksheets/sheet1.xml").read(600).decode()
        second = z.read("xl/worksheets/sheet2.xml").decode()
    assert names == ["Big", "Big (2)"]
    assert '<dimension ref="A1:B1048576"/>' in first  # B: the note beside the header
    assert '<dimension ref="A1:B2"/>' in second
    assert re.search(r"<c r=\"A2\" s=\"\d+\"><v>1048576</v></c>", second)
