"""The writer: what a Workbook value becomes in the .xlsx (read back with openpyxl)."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from reconcile.sheets import (
    MONEY_FORMAT,
    AutoFilter,
    Blank,
    Chart,
    ConditionalFormat,
    Date,
    Formula,
    Link,
    Money,
    Number,
    Ref,
    RowStream,
    Series,
    Sheet,
    Text,
    Workbook,
    safe_sheet_name,
)
from reconcile.write import write_workbook
from tests.report.writers_agree import formulas, streamed_every_kind


def _small_book() -> Workbook:
    rows = (
        (Text("Line", "header"), Text("Count", "header"), Text("Amount", "header")),
        (Text("Output started band A"), Number(10), Money(Decimal("1194.00"))),
        (Text("=HYPERLINK(\"http://evil\",\"click\")"), Number(1), Money(Decimal("-119.40"))),
        (Text("+44 1234"), None, Money(Decimal("0.05"))),
        (Text("Total", "text_bold"), Formula("SUM(B2:B4)", 11, "count_total"),
         Formula("SUM(C2:C4)", Decimal("1074.65"), "money_total")),
        (Date(dt.date(2024, 5, 25)), Blank("section"), Link("go to Other", "Provider's May")),
    )
    summary = Sheet("Summary", rows, widths=(30, 8, 14), freeze=(1, 0),
                    autofilter=AutoFilter(0, 0, 2),
                    conditional_formats=(ConditionalFormat(1, 2, 3, 2, "cell", "<", "cf_bad", 0),),
                    charts=(Chart("column", "Amounts", (Series(
                        "Amount", Ref("Summary", 1, 0, 3, 0), Ref("Summary", 1, 2, 3, 2)),),
                        anchor=(8, 0)),))
    other = Sheet("Provider's May", ((Text("x"),),))
    return Workbook((summary, other), title="test", active="Summary")


def test_cells_come_back_with_their_types_formats_and_formulas(tmp_path):
    path = tmp_path / "book.xlsx"
    write_workbook(_small_book(), path)
    ws = openpyxl.load_workbook(path)["Summary"]
    assert ws["A2"].value == "Output started band A"
    assert ws["C2"].value == 1194 and ws["C2"].number_format == MONEY_FORMAT
    assert ws["B2"].value == 10 and ws["B2"].number_format == "#,##0"
    # text from input that looks like a formula, a phone number: stays text
    assert ws["A3"].data_type == "s" and ws["A3"].value.startswith("=HYPERLINK")
    assert ws["A4"].value == "+44 1234" and ws["A4"].data_type == "s"
    assert ws["C5"].value == "=SUM(C2:C4)" and ws["C5"].number_format == MONEY_FORMAT
    assert ws["A6"].value == dt.datetime(2024, 5, 25) and ws["A6"].number_format == "yyyy-mm-dd"
    assert ws["C6"].hyperlink.location == "'Provider''s May'!A1"
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:C6"
    assert ws.column_dimensions["A"].width == pytest.approx(30, abs=1)
    assert len(ws.conditional_formatting) == 1


def test_formula_cells_carry_pythons_value_as_cached_result(tmp_path):
    path = tmp_path / "book.xlsx"
    write_workbook(_small_book(), path)
    ws = openpyxl.load_workbook(path, data_only=True)["Summary"]
    assert ws["B5"].value == 11
    assert Decimal(str(ws["C5"].value)) == Decimal("1074.65")


def test_same_value_gives_byte_identical_file(tmp_path):
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_workbook(_small_book(), first)
    write_workbook(_small_book(), second)
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as z:
        core = z.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


def test_streamed_rows_are_written_in_constant_memory(tmp_path):
    def produce():
        yield (Text("id", "header"), Text("fee", "header"))
        for i in range(1000):
            yield (Text(f"d{i}"), Money(Decimal(i) / 100))

    sheet = Sheet("Declarations", RowStream(produce, 1001), autofilter=AutoFilter(0, 0, 1),
                  freeze=(1, 0))
    path = tmp_path / "big.xlsx"
    write_workbook(Workbook((sheet,)), path)
    wb = openpyxl.load_workbook(path, read_only=True)
    rows = list(wb["Declarations"].iter_rows(values_only=True))
    wb.close()
    assert len(rows) == 1001
    assert rows[-1] == ("d999", 9.99)


@pytest.mark.parametrize("links", [False, True])
def test_a_float_is_refused_with_its_place_money_is_decimal(tmp_path, links):
    extra = (Link("x", "S"),) if links else ()  # a sheet with links goes through the API
    book = Workbook((Sheet("S", ((Text("a"), 1.5, *extra),)),))
    with pytest.raises(TypeError, match="row 1 column 2"):
        write_workbook(book, tmp_path / "x.xlsx")


@pytest.mark.parametrize("wanted, taken, expected", [
    ("Teach First 2023 May 2024 statement long", (), "Teach First 2023 May 2024 state"),
    ("a/b\\c?d*e[f]g:h", (), "a-b-c-d-e-f-g-h"),
    ("History", (), "History (sheet)"),
    ("'quoted'", (), "quoted"),
    ("Summary", ("SUMMARY",), "Summary (2)"),
    ("x" * 40, ("x" * 31,), "x" * 27 + " (2)"),
])
def test_sheet_names_are_valid_and_unique(wanted, taken, expected):
    name = safe_sheet_name(wanted, taken)
    assert name == expected and len(name) <= 31


def parts_of(path) -> dict[str, bytes]:
    """Every part of a workbook, unzipped: the fast writer's zip is its own, its parts
    are XlsxWriter's."""
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        return {info.filename: z.read(info) for info in z.infolist()}


def _sheet_xml(path, index=1) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode()


def test_streamed_fast_path_writes_the_same_xml_as_xlsxwriters_own(tmp_path):
    book = streamed_every_kind()  # every kind of value a streamed row holds
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    write_workbook(book, fast)
    write_workbook(book, slow, fast_rows=False)
    assert _sheet_xml(fast) == _sheet_xml(slow)
    assert parts_of(fast) == parts_of(slow)


def test_a_streamed_link_is_refused_with_its_place(tmp_path):
    sheet = Sheet("S", RowStream(lambda: iter([("a", Link("here", "S"))])))
    with pytest.raises(TypeError, match="row 1 column 2: Link cannot be streamed"):
        write_workbook(Workbook((sheet,)), tmp_path / "x.xlsx")


def test_formulas_through_the_fast_path_are_xlsxwriters_own(tmp_path):
    book = formulas()
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    write_workbook(book, fast)
    write_workbook(book, slow, fast_rows=False)
    assert _sheet_xml(fast) == _sheet_xml(slow)
    assert "<f>STDEV(A1:B1)</f>" in _sheet_xml(fast)
