"""A big sheet is read in chunks of rows: what the user sees must not depend on where they fall.

The reader converts ``CHUNK_ROWS`` rows at a time (reconcile/read/xlsx.py); these
tests make the chunks a few rows long so that every boundary case happens in a
small workbook: a bad cell on the first row of the second chunk, the same bad
value on both sides of a boundary, blank rows across a boundary, the sheet's own
checks (formulas without values, merged cells) after the last chunk.
"""

from __future__ import annotations

import datetime as dt

import pytest
import xlsxwriter

from reconcile.errors import InputError
from reconcile.read import convert, read_declarations, xlsx
from reconcile.read.convert import Converter, ProblemLog
from reconcile.read.table import Table
from reconcile.read.values import parse_cohort

from .conftest import BAD

UTC = dt.timezone.utc  # noqa: UP017 (runs on 3.10)
HEADER = ["declaration_id", "participant_id", "course_identifier", "declaration_type",
          "declaration_date", "state", "cohort", "lead_provider"]


def _row(n: int, **change) -> list:
    cells = {"declaration_id": f"d-{n}", "participant_id": f"p-{n % 3}",
             "course_identifier": "ecf-induction", "declaration_type": "started",
             "declaration_date": f"2023-10-{n:02d}", "state": "paid", "cohort": 2023,
             "lead_provider": "Example Teaching Institute"}
    cells.update(change)
    return [cells[h] for h in HEADER]


def _workbook(path, rows: dict[int, list], first_column: int = 0):
    """A Declarations sheet with the header in row 1 and ``rows`` at their Excel row numbers."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    sheet = book.add_worksheet("Declarations")
    for number, cells in rows.items():
        sheet.write_row(number - 1, first_column, cells)
    book.close()
    return path


@pytest.fixture
def chunks_of(monkeypatch):
    def set_size(size: int) -> None:
        monkeypatch.setattr(xlsx, "CHUNK_ROWS", size)
    return set_size


def _problems(path, vocabulary) -> list[str]:
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    return [str(p) for p in caught.value.problems]


def test_chunks_give_the_same_declarations_as_one_read(tmp_path, vocabulary, chunks_of):
    # rows 2..11, blank rows 5 and 8 (5 ends the first chunk of 4 rows, 8 starts the third)
    rows = {1: HEADER, **{n: _row(n) for n in range(2, 12) if n not in (5, 8)}}
    path = _workbook(tmp_path / "decl.xlsx", rows)
    whole = read_declarations(path, vocabulary)
    chunks_of(4)
    chunked = read_declarations(path, vocabulary)
    assert chunked == whole
    assert [d.row for d in chunked] == [2, 3, 4, 6, 7, 9, 10, 11]
    assert [d.declaration_date.day for d in chunked] == [2, 3, 4, 6, 7, 9, 10, 11]
    assert chunked[-1].declaration_date == dt.datetime(2023, 10, 11, tzinfo=UTC)
    # equal text in different chunks is one object (p-1 is in rows 4 and 7, chunks 1 and 2)
    assert chunked[2].participant_id == "p-1" and chunked[2].participant_id is chunked[4].participant_id
    assert chunked[0].lead_provider is chunked[-1].lead_provider


def test_a_bad_cell_on_the_first_row_of_the_second_chunk_names_its_row(
        tmp_path, vocabulary, chunks_of):
    chunks_of(4)  # rows 1-4 (the header and rows 2-4), then 5-8, then 9-12
    rows = {1: HEADER, **{n: _row(n) for n in range(2, 13)}}
    rows[5] = _row(5, state="payed")
    rows[9] = _row(9, declaration_type="")
    path = _workbook(tmp_path / "decl.xlsx", rows)
    problems = _problems(path, vocabulary)
    assert problems[0].startswith(f"{path}, sheet Declarations, row 5, column state (F): "
                                  "'payed' is not a declaration state")
    assert problems[1].startswith(f"{path}, sheet Declarations, row 9, column "
                                  "declaration_type (D): this required value is blank")
    assert len(problems) == 2


def test_the_same_bad_value_in_several_chunks_is_one_problem(tmp_path, vocabulary, chunks_of):
    chunks_of(3)
    rows = {1: HEADER, **{n: _row(n) for n in range(2, 12)}}
    for n in (3, 7, 11):  # chunks 1, 3 and 4
        rows[n] = _row(n, cohort="twenty")
    path = _workbook(tmp_path / "decl.xlsx", rows)
    assert _problems(path, vocabulary) == [
        f"{path}, sheet Declarations, row 3, column cohort (G): 'twenty' is not a whole "
        "number (the same in rows 7, 11) — write a whole number, e.g. 2022"]


def test_a_data_area_not_at_a1_is_read_in_chunks_with_excel_numbers(
        tmp_path, vocabulary, chunks_of):
    chunks_of(2)
    rows = {3: HEADER, **{n: _row(n) for n in range(4, 9)}}
    rows[7] = _row(7, cohort="x")
    path = _workbook(tmp_path / "decl.xlsx", rows, first_column=1)
    assert _problems(path, vocabulary) == [
        f"{path}, sheet Declarations, row 7, column cohort (H): 'x' is not a whole number "
        "— write a whole number, e.g. 2022"]
    rows[7] = _row(7)
    path = _workbook(tmp_path / "decl.xlsx", rows, first_column=1)
    assert [d.row for d in read_declarations(path, vocabulary)] == [4, 5, 6, 7, 8]


def test_only_a_header_is_still_no_declarations(tmp_path, vocabulary, chunks_of):
    chunks_of(1)
    path = _workbook(tmp_path / "decl.xlsx", {1: HEADER, 3: [""] * len(HEADER)})
    assert _problems(path, vocabulary) == [
        f"{path}, sheet Declarations, row 1: there are no declarations below the header row "
        "— add one row per declaration under the header (or check you chose the right file)"]


@pytest.mark.parametrize("name, says", [
    ("formulas_no_cached_value.xlsx", "formula with no saved value (G3, G5)"),
    ("merged_cells.xlsx", "F4:F5 are merged"),
])
def test_the_sheets_own_checks_run_after_the_last_chunk(vocabulary, chunks_of, name, says):
    chunks_of(1)
    problems = _problems(BAD / name, vocabulary)
    assert len(problems) == 1 and says in problems[0]


def test_a_sheet_problem_comes_before_a_header_problem(tmp_path, vocabulary, chunks_of):
    chunks_of(2)
    book = xlsxwriter.Workbook(str(tmp_path / "decl.xlsx"))
    sheet = book.add_worksheet("Declarations")
    sheet.write_row(0, 0, HEADER[:5])  # no state column: a header problem
    sheet.write_row(1, 0, _row(2)[:5])
    sheet.merge_range("A3:B3", "d-3")
    book.close()
    problems = _problems(tmp_path / "decl.xlsx", vocabulary)
    assert len(problems) == 1 and "A3:B3 are merged" in problems[0]
    book = xlsxwriter.Workbook(str(tmp_path / "decl.xlsx"))
    book.add_worksheet("Declarations").write_row(0, 0, HEADER[:5])
    book.close()
    assert "the required column 'state' is missing" in _problems(tmp_path / "decl.xlsx",
                                                                 vocabulary)[0]


def test_a_converter_fed_in_chunks_reports_like_one_conversion(monkeypatch):
    table = Table("d.csv", None, ("cohort",), [], list(range(2, 9)))
    whole = ProblemLog()
    values = ["2022", "x", "2023", "x", "2022", "y", "x"]
    expected = convert.convert(values, parse_cohort, table, "cohort", whole)
    # the memo starts again past its limit: a bad value seen again is still one problem
    monkeypatch.setattr(convert, "MEMO_LIMIT", 1)
    converter = Converter(parse_cohort, track=True)
    fed = converter.feed(values[:2]) + converter.feed(values[2:5]) + converter.feed(values[5:])
    log = ProblemLog()
    converter.report(table, "cohort", log)
    assert fed == expected == [2022, None, 2023, None, 2022, None, None]
    assert [str(p) for p in log.sorted()] == [str(p) for p in whole.sorted()] == [
        # one problem repeated down a column is one message: the first rows, the rest counted
        "d.csv, row 3, column cohort: 'x' is not a whole number; 1 other value(s) in this "
        "column have the same problem ('y') (the same in rows 5, 7, 8) — write a whole "
        "number, e.g. 2022"]
    assert converter.unreadable == {1, 3, 5, 6} and converter.blank == []
