"""A provider's own export, as people really send it: a title above the header, the data
on the second sheet, dates written as text, unknown columns, a totals row at the foot."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.errors import InputError
from reconcile.read.inputs import read_inputs

UTC = dt.timezone.utc  # noqa: UP017 (3.10)
HEADER = ["Declaration ID", "Participant ID", "Course", "Declaration Type", "Declaration Date",
          "Status", "Cohort", "Lead Provider Name", "Region", "Notes", "Schedule"]


def _export(path, dates=("06 Mar 2025", "6-Mar-25", "06/03/2025")):
    book = openpyxl.Workbook()
    book.active.title = "Read me"
    book.active.append(["Exported from our CRM. Figures are provisional."])
    sheet = book.create_sheet("Our declarations")
    sheet.append(["Northbrook declarations export, March 2025"])
    sheet.append([])
    sheet.append(HEADER)
    for n, date in enumerate(dates, 1):
        sheet.append([f"d-{n}", f"p-{n}", "ecf-induction", "retained-1", date, "eligible", 2024,
                      "Example Teaching Institute", "North", "checked", "ecf-standard-september"])
    sheet.append([None, None, None, None, None, None, None, None, None, "Total", len(dates)])
    sheet.append(["Count", None, None, None, None, None, None, None, None, None, len(dates)])
    book.save(path)
    return path


def test_the_export_is_read_with_notes_for_what_was_skipped(tmp_path, vocabulary):
    path = _export(tmp_path / "export.xlsx")
    result = read_inputs([path], (), vocabulary)
    assert [d.declaration_date for d in result.declarations] == [
        dt.datetime(2025, 3, 6, tzinfo=UTC)] * 3
    assert [d.row for d in result.declarations] == [4, 5, 6]
    notes = " | ".join(result.notes)
    assert "read from sheet 'Our declarations', found by its headers" in notes
    assert "1 row(s) above the header (row 3) skipped, as a title" in notes
    assert "row(s) 7, 8 at the foot skipped as totals" in notes


def test_sheet_chooses_the_sheet(tmp_path):
    path = _export(tmp_path / "export.xlsx")
    result = CliRunner().invoke(main, ["expected", "--declarations", str(path), "--sheet",
                                       "Nope", "--json", str(tmp_path / "o.json")])
    assert result.exit_code == 2
    assert "no sheet named 'Nope'" in result.output and "'Our declarations'" in result.output


def test_one_problem_down_a_column_is_one_message(tmp_path, vocabulary):
    dates = [f"{n} Marzo 2025" for n in range(1, 41)]
    path = _export(tmp_path / "export.xlsx", dates)
    with pytest.raises(InputError) as caught:
        read_inputs([path], (), vocabulary)
    (problem,) = caught.value.problems
    text = str(problem)
    assert "sheet Our declarations, row 4, column Declaration Date (E)" in text
    assert "'1 Marzo 2025' is not a date this tool can read; 39 other value(s)" in text
    assert "(the same in rows 5, 6, 7, 8, 9 and 34 more)" in text
