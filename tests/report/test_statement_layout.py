"""A statement sheet's grid (DfE's layout) holds exactly the JSON result's lines.

The bundled sample is reconciled; for a statement before the 2025 cohort (one output
table: ECTs and mentors counted together, bands as columns) and one of the 2025
cohort (an ECT table, banded, and a mentor table, flat rate), every declaration type
× band cell of the sheet's grid — count, fee per participant, payments, on the
expected and on DfE's side — is compared with the JSON result's lines (INTERFACES.md
§5), which the grid must add up per cell exactly as DfE's page does.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from reconcile.jsonout import result_json
from reconcile.pipeline import RunOptions, run
from reconcile.report import build_workbook
from reconcile.statement_sheet import display_type, type_label

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
PROVIDER = "Harbour Lane Education Trust"


@pytest.fixture(scope="module")
def reconciled():
    result = run(RunOptions((SAMPLES / "declarations.xlsx",),
                            (SAMPLES / "dfe-statements-planted.xlsx",),
                            contracts=(SAMPLES / "contracts",), as_of=dt.date(2026, 10, 10)))
    return build_workbook(result), result_json(result)


def _statement(data, cohort, name):
    return next(s for s in data["statements"] if s["lead_provider"] == PROVIDER
                and s["cohort"] == cohort and s["name"] == name)


def _sheet(book, cohort, name):
    return next(s for s in book.sheets if s.name.endswith(f"{cohort} {name}")
                and s.name.startswith("HLET"))


def _grid(sheet, title):
    """{(row label, column label): (expected, DfE)} and payments per row of one table."""
    values = sheet.values()
    top = next(i for i, row in enumerate(values) if row and row[0] == title)
    header = values[top]
    pay = header.index("Payments")  # the expected group: columns 1..pay; DfE's next
    columns = [(i, h) for i, h in enumerate(header[1:pay], start=1) if h]
    bands = [h for _, h in columns]
    cells, payments = {}, {}
    r = top + 1
    while not str(values[r][0]).endswith("total"):
        label, counts, fees = values[r][0], values[r], values[r + 1]
        for i, band in columns:
            cells[(label, band)] = ((counts[i], fees[i]), (counts[pay + i], fees[pay + i]))
        payments[label] = (fees[pay], fees[2 * pay])
        r += 2
    return bands, cells, payments


def _from_json(lines, banded: bool, participant_type: str | None = None):
    """Each (type label, band) cell summed over the lines, as DfE's page shows it."""
    cells = defaultdict(lambda: [0, set(), Decimal(0)])
    for line in lines:
        if banded != (line["band"] is not None):
            continue
        if participant_type and line["participant_type"] != participant_type:
            continue
        key = (type_label(display_type(line["declaration_type"])),
               f"Band {line['band']}" if line["band"] else "Participants")
        cells[key][0] += line["count"]
        cells[key][1].add(Decimal(line["fee_per_declaration_exact"]
                                  if "fee_per_declaration_exact" in line
                                  else line["fee_per_declaration"]))
        cells[key][2] += Decimal(line["amount"])
    return cells


def _check(sheet, title, statement, banded: bool):
    bands, grid, payments = _grid(sheet, title)
    for side, block in ((0, statement["expected"]), (1, statement["dfe"])):
        wanted = _from_json(block["output_payments"], banded)
        assert {k for k, v in wanted.items() if v[0]} <= set(grid), (title, side)
        for (label, band), pair in grid.items():
            count, fee = pair[side]
            n, fees, _ = wanted.get((label, band), (0, set(), 0))
            assert count == n, (title, side, label, band)
            if n:
                assert Decimal(fee) in {f.quantize(Decimal("0.01")) for f in fees} | fees, (
                    title, side, label, band, fee, fees)
        by_row = defaultdict(Decimal)
        for (label, _), (_, _, amount) in wanted.items():
            by_row[label] += amount
        for label, pay in payments.items():
            assert Decimal(pay[side]) == by_row.get(label, Decimal(0)), (title, side, label)


def test_a_pre_2025_statement_has_one_table_of_types_by_bands(reconciled):
    book, data = reconciled
    statement = _statement(data, 2023, "January 2025")
    sheet = _sheet(book, 2023, "January 2025")
    kinds = {line["participant_type"] for line in statement["expected"]["output_payments"]}
    assert kinds == {"ect", "mentor"}  # both, counted together in each cell
    bands, grid, _ = _grid(sheet, "Output payments")
    assert bands == ["Band A", "Band B", "Band C"]
    assert [label for label, band in grid if band == "Band A"] == [
        "Started", "Retained 1", "Retained 2", "Retained 3", "Retained 4", "Completed"]
    _check(sheet, "Output payments", statement, banded=True)
    # retained-3 band A: 9 ECTs + 3 mentors on the JSON's two lines, one cell here
    assert grid[("Retained 3", "Band A")][0][0] == 12


def test_a_2025_statement_has_an_ect_table_and_a_mentor_table(reconciled):
    book, data = reconciled
    statement = _statement(data, 2025, "January 2026")
    sheet = _sheet(book, 2025, "January 2026")
    _check(sheet, "Early career teacher (ECT) output payments", statement, banded=True)
    _check(sheet, "Mentor output payments", statement, banded=False)
    _, mentors, payments = _grid(sheet, "Mentor output payments")
    assert mentors[("Started", "Participants")][0] == (17, Decimal("500.00"))
    assert payments["Started"][0] == Decimal("8500.00")
    values = [v for row in sheet.values() for v in row]
    assert "Fee per mentor" in values and "Mentors output payment total" in values
