"""DfE statements: the two-sheet workbook with exact money, and the API's statements JSON."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reconcile.read import read_dfe_statements

from .conftest import GOOD


def test_statements_workbook_reads_every_statement_and_line_exactly(vocabulary):
    nov, jan, apr = read_dfe_statements(GOOD / "dfe-statements.xlsx", vocabulary)
    assert (nov.statement_id, nov.lead_provider, nov.cohort, nov.name, nov.cut_off_date,
            nov.payment_date, nov.output_fee, nov.paid, nov.vat_chargeable, nov.total) == (
        "s-nov23", "Example Teaching Institute", 2023, "November 2023", dt.date(2023, 10, 31),
        dt.date(2023, 11, 25), True, True, True, Decimal("1500.48"))
    assert [(line.line_type, line.participant_type, line.declaration_type, line.band,
             line.count, line.fee_per_declaration, line.amount) for line in nov.lines] == [
        # 2 started ECTs in band A at £119.40 (20% of 60% of £995)
        ("output", "ect", "started", "A", 2, Decimal("119.4"), Decimal("238.8")),
        ("uplift", None, None, None, 2, Decimal(100), Decimal(200)),
        ("service_fee", None, None, None, None, None, Decimal("811.6")),
        ("vat", None, None, None, None, None, Decimal("250.08")),
    ]
    # the lines add up to the total DfE states: 238.80 + 200 + 811.60 + 250.08
    assert sum(line.amount for line in nov.lines) == nov.total
    clawback, adjustment = jan.lines
    assert (clawback.line_type, clawback.amount, clawback.description) == (
        "clawback", Decimal("-119.4"), "d-0002")
    assert (adjustment.line_type, adjustment.amount, adjustment.description) == (
        "adjustment", Decimal("-25.00"), "manual correction")
    assert (apr.paid, apr.total, apr.lines) == (False, None, ())
    assert str(clawback.source).endswith("sheet Lines, row 6")


def test_api_statements_json_are_output_statements_without_money():
    # seed 002: {"month": "May", "year": "2022", "cohort": "2021", ...} -> "May 2022"
    statements = read_dfe_statements(GOOD / "statements.json")
    assert [(s.statement_id, s.name, s.cohort, s.cut_off_date, s.payment_date, s.output_fee,
             s.paid, s.lines, s.lead_provider) for s in statements] == [
        ("s-nov23", "November 2023", 2023, dt.date(2023, 10, 31), dt.date(2023, 11, 25), True,
         True, (), None),
        ("s-jan24", "January 2024", 2023, dt.date(2023, 12, 31), dt.date(2024, 1, 25), True,
         True, (), None),
        ("s-apr24", "April 2024", 2023, dt.date(2024, 3, 31), dt.date(2024, 4, 25), True,
         False, (), None),
    ]


def test_statement_names_typed_into_excel_as_dates_are_read_back(tmp_path, vocabulary):
    import xlsxwriter

    path = tmp_path / "s.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Statements")
    sheet.write_row(0, 0, ["Statement ID", "Cohort", "Statement Name", "Output Fee"])
    # Excel turns a typed "May 2023" into 1 May 2023 shown as "May-23"
    sheet.write_row(1, 0, ["s-1", 2022])
    sheet.write_datetime(1, 2, dt.datetime(2023, 5, 1), book.add_format({"num_format": "mmm-yy"}))
    sheet.write_boolean(1, 3, True)
    book.close()
    (statement,) = read_dfe_statements(path, vocabulary)
    assert (statement.name, statement.cohort, statement.lines) == ("May 2023", 2022, ())


def test_an_api_statement_with_a_blank_cohort_is_a_located_problem(tmp_path):
    import json

    import pytest

    from reconcile.errors import InputError

    document = json.loads((GOOD / "statements.json").read_text(encoding="utf-8"))
    document["data"][1]["attributes"]["cohort"] = ""
    path = tmp_path / "statements.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as raised:
        read_dfe_statements(path)
    (problem,) = raised.value.problems
    # the second statement of the data, its cohort attribute
    assert (problem.source.row, problem.source.column) == (2, "cohort")
    assert problem.what == "the cohort is blank (statement id 's-jan24')"
