"""Declarations in every accepted form read to the same records; DfE's report is merged."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from reconcile.errors import InputError
from reconcile.read import read_declarations, read_dfe_statements

from .conftest import GOOD, write_csv

UTC = dt.timezone.utc  # noqa: UP017 (runs on 3.10)

# The declarations of tests/read/good/, as a finance user would list them:
# id | participant | course | type | date | state | statement | clawback statement
EXPECTED = """
d-0001 | p-001 | ecf-induction | started    | 2023-10-02 | paid              | s-nov23 |
d-0002 | p-002 | ecf-induction | started    | 2023-10-05 | awaiting-clawback | s-nov23 | s-jan24
d-0003 | p-003 | ecf-mentor    | started    | 2023-11-20 | eligible          | s-jan24 |
d-0004 | p-001 | ecf-induction | retained-1 | 2024-01-15 | payable           | s-apr24 |
d-0005 | p-004 | ecf-mentor    | started    | 2023-10-10 | clawed-back       | s-nov23 | s-jan24
d-0006 | p-005 | ecf-induction | started    | 2023-12-01 | voided            |         |
"""
CREATED = ["2023-10-03T09:15:00", "2023-10-06T10:00:00", "2023-11-21T08:30:00",
           "2024-01-16T12:00:00", "2023-10-11T16:45:00", "2023-12-02T11:00:00"]
NAMES = {"s-nov23": "November 2023", "s-jan24": "January 2024", "s-apr24": "April 2024"}
PUPIL_PREMIUM = {"d-0001", "d-0004"}
SPARSITY = {"d-0002"}
PARTNERS = {"p-001": ("dp-1", "North Partners"), "p-002": ("dp-1", "North Partners"),
            "p-003": ("dp-2", "South Partners"), "p-004": ("dp-2", "South Partners"),
            "p-005": ("dp-2", "Søuth Partners")}


HEADER = ("declaration_id | participant_id | course_identifier | declaration_type | "
          "declaration_date | state | cohort")


def expected_core() -> list[tuple]:
    rows = []
    for line, created in zip(EXPECTED.strip().splitlines(), CREATED):
        did, pid, course, dtype, date, state, sid, cid = [c.strip() or None for c in line.split("|")]
        rows.append((did, pid, course, "ect" if course == "ecf-induction" else "mentor", dtype,
                     dt.datetime.fromisoformat(date).replace(tzinfo=UTC), state, 2023,
                     dt.datetime.fromisoformat(created).replace(tzinfo=UTC), sid, cid,
                     "Example Teaching Institute"))
    return rows


def core(declarations) -> list[tuple]:
    """The fields every input form carries."""
    return [(d.declaration_id, d.participant_id, d.course_identifier, d.participant_type,
             d.declaration_type, d.declaration_date, d.state, d.cohort, d.created_at,
             d.statement_id, d.clawback_statement_id, d.lead_provider) for d in declarations]


def full(declarations) -> list[tuple]:
    """Everything but where it came from."""
    return [d._replace(file="", sheet=None, row=None) for d in declarations]


@pytest.fixture(scope="module")
def statements():
    return read_dfe_statements(GOOD / "statements.json")


@pytest.mark.parametrize("name", [
    "declarations.xlsx", "declarations.csv", "declarations-bom.csv",
    "declarations-windows-1252.csv", "declarations-messy.csv",
    "ECF-Declarations-Example-Cohort2023-April 2024.csv",
    "declarations-pages-cohort2023.json"])
def test_every_form_reads_to_the_same_declarations(name, vocabulary, statements):
    declarations = read_declarations(GOOD / name, vocabulary, dfe_statements=statements)
    assert core(declarations) == expected_core()


@pytest.mark.parametrize("name", ["declarations.csv", "declarations-bom.csv",
                                  "declarations-windows-1252.csv", "declarations-messy.csv"])
def test_workbook_and_csv_forms_agree_on_every_field(name, vocabulary):
    from_xlsx = read_declarations(GOOD / "declarations.xlsx", vocabulary)
    assert full(read_declarations(GOOD / name, vocabulary)) == full(from_xlsx)


def test_api_json_takes_the_cohort_from_the_statements_json(vocabulary, statements):
    # The v3 declaration has no cohort: five of the six take it from their statement
    # (statements.json says cohort 2023); the voided d-0006 has no statement, so its
    # cohort is unknown and the reader says so rather than guess.
    with pytest.raises(InputError) as caught:
        read_declarations(GOOD / "declarations.json", vocabulary, dfe_statements=statements)
    (problem,) = caught.value.problems
    assert (problem.source.row, problem.source.column) == (6, "cohort")
    assert "carry no cohort" in problem.what and "cohort2023" in problem.fix


def test_optional_columns_are_read(vocabulary):
    declarations = read_declarations(GOOD / "declarations.xlsx", vocabulary)
    for d in declarations:
        assert d.statement_name == NAMES.get(d.statement_id)
        assert d.clawback_statement_name == NAMES.get(d.clawback_statement_id)
        assert d.pupil_premium_uplift is (d.declaration_id in PUPIL_PREMIUM)
        assert d.sparsity_uplift is (d.declaration_id in SPARSITY)
        assert (d.delivery_partner_id, d.delivery_partner_name) == PARTNERS[d.participant_id]
        assert d.schedule_identifier == "ecf-standard-september"
    assert [d.teacher_reference_number for d in declarations][:2] == ["1234567", "2345678"]
    # where each came from: the workbook's sheet and the row Excel shows
    assert [(d.file, d.sheet, d.row) for d in declarations][:2] == [
        (str(GOOD / "declarations.xlsx"), "Declarations", 2),
        (str(GOOD / "declarations.xlsx"), "Declarations", 3)]


def test_assurance_report_clawback_pairs_become_one_declaration(vocabulary):
    # d-0002 is on two rows of DfE's report: paid on November 2023 (row 3) and
    # awaiting_clawback on January 2024 (row 4); d-0005 likewise (rows 7 and 8).
    path = GOOD / "ECF-Declarations-Example-Cohort2023-April 2024.csv"
    declarations = read_declarations(path, vocabulary)
    assert len(declarations) == 6
    by_id = {d.declaration_id: d for d in declarations}
    d2 = by_id["d-0002"]
    assert (d2.state, d2.statement_id, d2.statement_name, d2.clawback_statement_id,
            d2.clawback_statement_name, d2.row) == (
        "awaiting-clawback", "s-nov23", "November 2023", "s-jan24", "January 2024", 3)
    assert (by_id["d-0005"].state, by_id["d-0005"].row) == ("clawed-back", 7)
    # "Type" (ect/mentor) stands for the course; the cohort is in the report's file name
    assert by_id["d-0003"].course_identifier == "ecf-mentor"
    assert {d.cohort for d in declarations} == {2023}
    assert by_id["d-0001"].pupil_premium_uplift and not by_id["d-0001"].sparsity_uplift


def test_cohort_comes_from_the_dfe_statement_when_the_row_has_none(tmp_path, vocabulary):
    path = write_csv(tmp_path / "decl.csv", """
        declaration_id | participant_id | course_identifier | declaration_type | declaration_date | state | statement_id
        d-1 | p-1 | ecf-induction | started | 2022-10-01 | paid | s-may22
    """)
    (tmp_path / "s.json").write_text(json.dumps({"data": [{"id": "s-may22", "type": "statement",
        "attributes": {"month": "May", "year": "2022", "type": "ecf", "cohort": "2021",
                       "cut_off_date": "2022-04-30", "payment_date": "2022-05-25", "paid": True}}]}))
    dfe = read_dfe_statements(tmp_path / "s.json")
    (declaration,) = read_declarations(path, vocabulary, dfe_statements=dfe)
    assert declaration.cohort == 2021
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    assert "row 2, column cohort" in str(caught.value)
    assert "--dfe-statements" in str(caught.value)


def test_duplicate_ids_other_than_a_clawback_pair_name_both_rows(tmp_path, vocabulary):
    path = write_csv(tmp_path / "decl.csv", """
        declaration_id | participant_id | course_identifier | declaration_type | declaration_date | state | cohort
        d-1 | p-1 | ecf-induction | started | 2022-10-01 | paid     | 2022
        d-2 | p-2 | ecf-induction | started | 2022-10-01 | paid     | 2022
        d-1 | p-1 | ecf-induction | started | 2022-10-01 | eligible | 2022
    """)
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    (problem,) = caught.value.problems
    assert str(problem.source) == f"{path}, row 4, column declaration_id"
    assert "'d-1' appears in rows 2 and 4" in problem.what


def test_every_bad_cell_is_reported_at_once_grouped_by_value(tmp_path, vocabulary):
    lines = [HEADER]
    lines += [f"d-{i} | p-{i} | ecf-induction | retained1 | 2022-10-01 | paid | 2022"
              for i in range(1, 8)]
    lines += ["d-8 | p-8 | ecf-mentor | started | 2022-10-01 | payed | 2022"]
    path = write_csv(tmp_path / "decl.csv", "\n".join(lines))
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}, row 2, column declaration_type: 'retained1' is "
                                  "not a declaration type — did you mean 'retained-1'? "
                                  "(the same in rows 3, 4, 5, 6, 7 and 1 more)")
    assert problems[1].startswith(f"{path}, row 9, column state: 'payed'")


def test_problems_stop_at_the_limit_with_a_count_of_the_rest(tmp_path, vocabulary):
    lines = [HEADER]
    # 250 declaration ids each given twice: 250 problems, of which 199 are listed and one
    # line counts 51
    lines += [f"d-{i} | p-{i} | ecf-induction | started | 2022-10-01 | paid | 2022"
              for i in range(250) for _ in range(2)]
    path = write_csv(tmp_path / "decl.csv", "\n".join(lines))
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    problems = caught.value.problems
    assert len(problems) == 200
    assert "... and 51 more problem(s)" in problems[-1].what
    assert "row 3," in str(problems[0])  # the second copy of d-0


def test_blank_rows_and_unknown_columns_are_ignored(tmp_path, vocabulary):
    path = write_csv(tmp_path / "decl.csv", """
        Notes | declaration_id | participant_id | course_identifier | declaration_type | declaration_date | state | cohort | Uplift Payable
        ok    | d-1 | p-1 | ecf-induction | started | 2022-10-01 | paid | 2022 | true
              |     |     |               |         |            |      |      |
        ok    | d-2 | p-2 | ECF_Mentor    | Completed | 2022-10-01 | Clawed_Back | 2022 | false
    """)
    declarations = read_declarations(path, vocabulary)
    assert [(d.declaration_id, d.course_identifier, d.participant_type, d.declaration_type,
             d.state, d.row) for d in declarations] == [
        ("d-1", "ecf-induction", "ect", "started", "paid", 2),
        ("d-2", "ecf-mentor", "mentor", "completed", "clawed-back", 4)]


def test_the_assurance_report_type_column_must_agree_with_the_course(tmp_path, vocabulary):
    path = write_csv(tmp_path / "decl.csv", """
        Declaration ID | Participant ID | Course Identifier | Type | Declaration Type | Declaration Date | Declaration Status | Cohort
        d-1 | p-1 | ecf-induction | ParticipantProfile::Mentor | started | 2022-10-01 | paid | 2022
    """)
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    assert "row 2, column Type: participant type 'mentor' does not match the course " \
           "'ecf-induction'" in str(caught.value)


def test_semicolon_separated_csv_is_read(tmp_path, vocabulary):
    path = tmp_path / "decl.csv"
    path.write_text("declaration_id;participant_id;course_identifier;declaration_type;"
                    "declaration_date;state;cohort\nd-1;p-1;ecf-induction;started;01/10/2022;"
                    "paid;2022\n", encoding="utf-8")
    (declaration,) = read_declarations(path, vocabulary)
    assert declaration.declaration_date == dt.datetime(2022, 10, 1, tzinfo=UTC)


def test_path_may_be_text(vocabulary):
    assert len(read_declarations(str(GOOD / "declarations.csv"), vocabulary)) == 6
    assert isinstance(GOOD, Path)


def test_windows_1252_csv_is_read_with_a_note(vocabulary, caplog):
    with caplog.at_level("WARNING", logger="reconcile.read"):
        declarations = read_declarations(GOOD / "declarations-windows-1252.csv", vocabulary)
    assert declarations[-1].delivery_partner_name == "Søuth Partners"
    assert "is not UTF-8; read it as Windows-1252" in caplog.text


def test_row_limit_can_be_lowered_for_one_call(vocabulary):
    from reconcile.read.table import Limits

    with pytest.raises(InputError) as caught:
        read_declarations(GOOD / "declarations.xlsx", vocabulary, limits=Limits(max_rows=3))
    assert "the sheet has 7 rows, more than the limit of 3" in str(caught.value)
    with pytest.raises(InputError, match="more than the limit of 3"):
        read_declarations(GOOD / "declarations.csv", vocabulary, limits=Limits(max_rows=3))


def test_formulas_with_saved_values_are_read_as_their_values(tmp_path, vocabulary):
    import xlsxwriter

    path = tmp_path / "decl.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Declarations")
    sheet.write_row(0, 0, HEADER.replace(" ", "").split("|") + ["statement_id"])
    sheet.write_row(1, 0, ["d-1", "p-1", "ecf-induction", "started", "2023-10-02", "paid"])
    sheet.write_formula(1, 6, "=2022+1", None, 2023)  # saved value 2023, as Excel saves it
    book.close()
    (declaration,) = read_declarations(path, vocabulary)
    assert (declaration.cohort, declaration.statement_id) == (2023, None)


def test_a_data_area_starting_below_and_right_keeps_excel_row_numbers(tmp_path, vocabulary):
    import xlsxwriter

    path = tmp_path / "decl.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Export")  # no sheet named Declarations: the first sheet
    sheet.write_row(2, 1, HEADER.replace(" ", "").split("|"))
    sheet.write_row(3, 1, ["d-1", "p-1", "ecf-induction", "started", "2023-10-02", "paid", "x"])
    book.close()
    with pytest.raises(InputError) as caught:
        read_declarations(path, vocabulary)
    assert f"{path}, sheet Export, row 4, column cohort (H): 'x' is not a whole number" in str(
        caught.value)
