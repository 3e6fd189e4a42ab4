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
    write_workbook(_book(), slow, fast_rows=False)
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


def test_a_call_whose_ranges_run_across_parts_is_summed_part_by_part(small_limits):
    # 25 rows, a 2-row header, 10 rows a sheet: 8 data rows a part, Excel rows 3-10 of
    # each. Rows 5-20 of the sheet are rows 5-10 of the first part, 3-10 of the second
    # (sheet rows 11-18) and 3-4 of the third (19-20): 6 + 8 + 2 = 16 rows
    plans = continuation.layouts([("Summary", 25, 8, 2, 0), ("Providers", 5, 8, 0, 0)])
    assert plans["Summary"].parts == ("Summary", "Summary (2)", "Summary (3)")
    p1, p2, p3 = "'Summary'!", "'Summary (2)'!", "'Summary (3)'!"
    assert continuation.translate("ROWS(Summary!A5:A20)", "Providers", plans) == (
        f"(ROWS({p1}A5:A10)+ROWS({p2}A3:A10)+ROWS({p3}A3:A4))")
    assert continuation.translate('1+COUNTIF(Summary!H5:H20,"Differs")', "Providers", plans) == (
        f'1+(COUNTIF({p1}H5:H10,"Differs")+COUNTIF({p2}H3:H10,"Differs")'
        f'+COUNTIF({p3}H3:H4,"Differs"))')
    # every range of the call cut alike: the same rows of each part, column by column
    assert continuation.translate('SUMPRODUCT((Summary!H5:H20="Missing")*ABS(Summary!C5:C20))',
                                  "Providers", plans) == (
        f'(SUMPRODUCT(({p1}H5:H10="Missing")*ABS({p1}C5:C10))'
        f'+SUMPRODUCT(({p2}H3:H10="Missing")*ABS({p2}C3:C10))'
        f'+SUMPRODUCT(({p3}H3:H4="Missing")*ABS({p3}C3:C4)))')
    # a criterion in a cell stays where it is; a call within one part is not summed
    assert continuation.translate("SUMIF(Summary!A11:A20,$B$1,Summary!C11:C20)", "Providers",
                                  plans) == (f"(SUMIF({p2}A3:A10,$B$1,{p2}C3:C10)"
                                             f"+SUMIF({p3}A3:A4,$B$1,{p3}C3:C4))")
    assert continuation.translate("ROWS(Summary!A11:A18)", "Providers", plans) == (
        f"ROWS({p2}A3:A10)")
    # SUBTOTAL takes its ranges as a list, like SUM (the Summary's filtered totals),
    # here written on the third part (every piece named, its own too)
    assert continuation.translate("SUBTOTAL(109,E3:E25)", "Summary", plans, part=2) == (
        f"SUBTOTAL(109,{p1}E3:E10,{p2}E3:E10,{p3}E3:E9)")
    # ranges cut differently cannot be summed part by part: refused, naming the call
    for formula in ("SUMPRODUCT(Summary!C5:C20*Summary!D3:D18)",
                    "SUMPRODUCT(Summary!C5:C20*Providers!D1:D16)"):
        with pytest.raises(ValueError, match=r"not cut alike.*cannot be summed part by part"):
            continuation.translate(formula, "Providers", plans)


def test_a_formula_that_cannot_follow_across_parts_is_refused(tmp_path, small_limits):
    book = _book()
    # a lookup over rows on three parts has no part-by-part form
    totals = book.sheets[0]._replace(rows=((Formula('VLOOKUP("d20",Declarations!A2:B26,2,0)',
                                                    0),),))
    with pytest.raises(ValueError, match=r"refers to Declarations!A2:B26.*only a whole argument"):
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


def test_the_reconciliation_workbook_past_a_small_limit_keeps_every_row_and_figure(
        tmp_path, monkeypatch):
    """A real run's workbook (2 providers) with Excel's rows injected as 40: the
    Declarations, the Summary and the longer statement sheets continue; every row is
    still there once, every figure a spreadsheet recalculates is Python's, the
    Providers sheet's formulas follow the Summary onto its parts, and so do its links
    and the Summary's charts."""
    from reconcile import providers as prov
    from reconcile import report
    from tests.report.test_libreoffice import _money, _zero_cached_values
    from tests.report.test_providers import _run

    result, _ = _run(tmp_path / "data", 2, 400)
    book = report.build_workbook(result)
    whole = tmp_path / "whole.xlsx"
    write_workbook(book, whole)
    monkeypatch.setattr(continuation, "MAX_ROWS", 40)
    plans = continuation.layouts(write._size(sheet) for sheet in book.sheets)
    cut = {name: plan for name, plan in plans.items() if plan.split}
    assert {"Declarations", report.SUMMARY} <= set(cut)
    assert len(cut) > 2  # statement sheets too
    assert len(cut["Declarations"].parts) == -(-400 // 39)  # 39 declarations a part
    path = tmp_path / "cut.xlsx"
    write_workbook(book, path)

    got = openpyxl.load_workbook(path, data_only=True)
    assert got.sheetnames == [p for sheet in book.sheets for p in plans[sheet.name].parts]
    assert max(ws.max_row for ws in got.worksheets) == 40
    before = openpyxl.load_workbook(whole, data_only=True)
    for name, plan in cut.items():
        width = before[name].max_column
        rows = [r[:width] for r in before[name].iter_rows(values_only=True)]
        again = []
        for k, part in enumerate(plan.parts):
            first, last = plan.data_rows(k)  # a part's last rows may be blank
            held = list(got[part].iter_rows(max_row=plan.header + last - first + 1,
                                            values_only=True))
            # the note beside its first row (the header's last row) says what it holds
            notes = [(i, j) for i, r in enumerate(held) for j, v in enumerate(r)
                     if isinstance(v, str) and v.startswith(("Too big for one sheet",
                                                             "Continued from '"))]
            assert notes == [(max(plan.header - 1, 0), notes[0][1])], part
            assert f"rows {first:,} to {last:,} of " in held[notes[0][0]][notes[0][1]]
            i, j = notes[0]
            held[i] = (*held[i][:j], None, *held[i][j + 1:])
            held = [r[:width] + (None,) * (width - len(r)) for r in held]
            assert held[:plan.header] == rows[:plan.header], part  # the header repeated
            again += held[plan.header:]
        # every row once, in order, nothing lost at the seams
        assert again == rows[plan.header:], name

    # every formula, recalculated by a spreadsheet from zeroed cached values, gives the
    # figure Python computed, on whichever part its cell now is
    source = tmp_path / "zeroed.xlsx"
    write_workbook(_zero_cached_values(book), source)
    values = openpyxl.load_workbook(recalculate(source, tmp_path / "lo", tmp_path / "profile"),
                                    data_only=True)
    checked = {name: 0 for name in plans}
    for sheet in book.sheets:
        if isinstance(sheet.rows, RowStream):
            continue
        plan = plans[sheet.name]
        for r, row in enumerate(sheet.rows):
            for c, cell in enumerate(row):
                if type(cell) is Formula:
                    part, lr, lc = plan.locate(r, c)
                    value = values[plan.parts[part]].cell(row=lr + 1, column=lc + 1).value
                    assert value is not None and _money(value) == Decimal(
                        cell.value).quantize(Decimal("0.01")), (sheet.name, r + 1, c + 1,
                                                                cell.formula, value)
                    checked[sheet.name] += 1
    assert checked[prov.PROVIDERS] >= 2 * 4 * 10 and checked[report.SUMMARY] > 100
    formulas = openpyxl.load_workbook(path)
    providers = [r for r in formulas[prov.PROVIDERS].iter_rows(min_row=4)
                 if r[prov.P_LINK].hyperlink is not None]
    assert len(providers) >= 2 * 4
    assert any("'Summary (2)'!" in str(r[prov.P_EXP].value) for r in providers)
    for r in providers:
        # the link opens the first of the provider's Summary rows, on its part
        target = r[prov.P_LINK].hyperlink.location
        sheet_name, cell = target.rsplit("!", 1)
        ws = got[sheet_name.strip("'").replace("''", "'")]
        assert ws[cell].value == r[prov.P_LP].value, target

    # the Summary's charts: each series on one part, within that part's rows
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) >= len(book.sheet(report.SUMMARY).charts)
    for xml in charts:
        for ref in re.findall(r"<c:f>([^<]+)</c:f>", xml):
            sheet_name, cells = ref.rsplit("!", 1)
            last = int(re.findall(r"\d+", cells)[-1])
            assert last <= got[sheet_name.strip("'").replace("''", "'")].max_row, ref
