"""The Providers sheet and JSON block: each row is the sum of its provider's Summary rows.

Generated national-style samples (2 and 20 lead providers, DfE statements with
planted discrepancies) go through the real pipeline; the Providers sheet's figures
are then checked against sums made here, row by row, over the Summary sheet of the
same workbook, and against the JSON block. LibreOffice recalculates the 2-provider
workbook to show that the live formulas give the same figures.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from reconcile import providers as prov
from reconcile import report
from reconcile.compare import DFE_ADJUSTMENT, DIFFERS, MISSING, NOT_EXPECTED
from reconcile.jsonout import result_json
from reconcile.cli import summary
from reconcile.pipeline import RunOptions, run
from reconcile.sheets import Formula, Link, Number, Text, cell_value
from reconcile.write import write_workbook
from samples import generate as gen
from tests.report.test_libreoffice import _money, _zero_cached_values, recalculate


def _run(folder: Path, providers: int, declarations: int):
    result = gen.generate(folder, declarations, 5, planted=True, lead_providers=providers)
    as_of = json.loads((folder / "planted.json").read_text())["generator"]["as_of"]
    import datetime as dt

    return run(RunOptions(declarations=(folder / "declarations.xlsx",),
                          dfe_statements=(folder / "dfe-statements-planted.xlsx",),
                          contracts=(folder / "contracts",),
                          as_of=dt.date.fromisoformat(as_of))), result


def _summary_sums(book) -> dict[tuple, dict]:
    """Sums over the Summary rows, by (provider, cohort), made here from the sheet value."""
    summary = book.sheet(report.SUMMARY)
    sums: dict[tuple, dict] = defaultdict(lambda: defaultdict(Decimal))
    for row in summary.rows:
        if (len(row) < len(report.SUMMARY_HEADER) or type(row[report.S_LP]) is not Text
                or type(row[report.S_COHORT]) is not Number):
            continue
        s = sums[(row[report.S_LP].value, row[report.S_COHORT].value)]
        s["statements"] += 1
        compared = cell_value(row[report.S_DIFF]) is not None
        for name, col in (("expected", report.S_EXP), ("dfe", report.S_DFE),
                          ("difference", report.S_DIFF), ("errors", report.S_ERR),
                          ("warnings", report.S_WARN), ("info", report.S_INFO)):
            value = cell_value(row[col])
            # the money totals are over the statements compared, so that the difference
            # is the DfE total minus the expected total
            if value is not None and (compared or name not in ("expected", "dfe")):
                s[name] += value
                if name == "difference":
                    s["compared"] += 1
        status = row[report.S_STATUS].value
        s["differing"] += status in (DIFFERS, DFE_ADJUSTMENT, MISSING, NOT_EXPECTED)
        if status == MISSING:
            s["at_stake"] += abs(cell_value(row[report.S_EXP]))
        elif status == NOT_EXPECTED:
            s["at_stake"] += abs(cell_value(row[report.S_DFE]))
        elif cell_value(row[report.S_DIFF]) is not None:
            s["at_stake"] += abs(cell_value(row[report.S_DIFF]))
    return sums


def _check_providers_equal_the_summary(result) -> list[tuple]:
    book = report.build_workbook(result)
    assert book.sheet_names[:2] == (prov.PROVIDERS, report.SUMMARY)
    assert book.active == prov.PROVIDERS
    sheet = book.sheet(prov.PROVIDERS)
    sums = _summary_sums(book)
    rows = [r for r in sheet.rows if len(r) == len(prov.HEADER) and type(r[1]) is Number]
    assert {(r[0].value, r[1].value) for r in rows} == set(sums)
    for r in rows:
        s = sums[(r[0].value, r[1].value)]
        got = {name: cell_value(r[col]) for name, col in (
            ("expected", prov.P_EXP), ("dfe", prov.P_DFE), ("difference", prov.P_DIFF),
            ("statements", prov.P_STATEMENTS), ("compared", prov.P_COMPARED),
            ("differing", prov.P_DIFFERING), ("errors", prov.P_ERR),
            ("warnings", prov.P_WARN), ("info", prov.P_INFO), ("at_stake", prov.P_STAKE))}
        assert got == {name: s[name] for name in got}, r[0].value
        # the row is its own proof: Difference = DfE total − Expected total
        assert got["difference"] == (got["dfe"] or 0) - got["expected"], r[0].value
        assert type(r[prov.P_EXP]) is Formula and "'Summary'!" in r[prov.P_EXP].formula
        assert type(r[prov.P_LINK]) is Link and r[prov.P_LINK].sheet == report.SUMMARY
    # largest difference first
    differences = [abs(cell_value(r[prov.P_DIFF])) for r in rows]
    assert differences == sorted(differences, reverse=True)
    # the JSON block says the same, in the same order
    block = result_json(result)["providers"]
    assert [(p["lead_provider"], p["cohort"], Decimal(p["difference"]),
             Decimal(p["money_at_stake"]), p["statements_differing"]) for p in block] == [
        (r[0].value, r[1].value, cell_value(r[prov.P_DIFF]), cell_value(r[prov.P_STAKE]),
         cell_value(r[prov.P_DIFFERING])) for r in rows]
    return rows


def test_a_two_provider_run_leads_with_its_providers_and_they_recalculate(tmp_path):
    result, made = _run(tmp_path / "data", 2, 800)
    rows = _check_providers_equal_the_summary(result)
    assert len({r[0].value for r in rows}) == 2 and len(made.planted) > 0
    assert any(cell_value(r[prov.P_DIFF]) for r in rows)  # the planted discrepancies show
    # the console summary leads with the provider that differs most
    lines = summary(result).splitlines()
    top = rows[0]
    assert "differ from DfE; largest first" in lines[0]
    assert lines[1].startswith(f"reconcile:   {top[0].value} {top[1].value}: DfE − expected")
    # a spreadsheet recalculating the workbook gets every Providers figure back
    book = report.build_workbook(result)
    source = tmp_path / "zeroed.xlsx"
    write_workbook(_zero_cached_values(book), source)
    values = openpyxl.load_workbook(recalculate(source, tmp_path / "out", tmp_path / "p"),
                                    data_only=True)[prov.PROVIDERS]
    checked = 0
    for r, row in enumerate(book.sheet(prov.PROVIDERS).rows):
        for c, cell in enumerate(row):
            if type(cell) is Formula:
                got = values.cell(row=r + 1, column=c + 1).value
                assert _money(got) == Decimal(cell.value).quantize(Decimal("0.01")), (
                    r + 1, c + 1, cell.formula)
                checked += 1
    assert checked >= 2 * 4 * 10


def test_a_twenty_provider_run_sums_every_provider_from_the_summary(tmp_path):
    result, _ = _run(tmp_path / "data", 20, 3000)
    rows = _check_providers_equal_the_summary(result)
    assert len({r[0].value for r in rows}) == 20


def test_one_provider_has_no_providers_sheet_and_a_plain_console_summary(tmp_path):
    result, _ = _run(tmp_path / "data", 1, 300)
    assert prov.PROVIDERS not in report.build_workbook(result).sheet_names
    assert len(summary(result).splitlines()) == 1
    assert len(result_json(result)["providers"]) == len({p.key.cohort for p in
                                                         result.comparison.pairs})


def test_provider_totals_worked_by_hand():
    """Two providers, cohort 2023, VAT at 20% (service fees only, so each total is the
    fee × 1.2):

      Example Teaching Institute
        May 2024   expected £1,200.00  DfE £1,212.00 (fee £1,010)   differs  +£12.00
        June 2024  expected   £300.00  DfE has none, May and July   missing
        July 2024  expected   £600.00  DfE   £600.00                OK        £0.00
        -> over the 2 compared (May, July): expected £1,800.00, DfE £1,812.00,
           difference £1,812.00 − £1,800.00 = +£12.00; 2 differing,
           at stake £12.00 + £300.00 (missing) = £312.00;
           errors: the May fee, the missing June = 2
      Other Provider Trust
        May 2024   expected £1,200.00  DfE £1,188.00 (fee £990)     differs  -£12.00
        June 2024  none expected       DfE   £360.00                not expected
        -> over the 1 compared (May): expected £1,200.00, DfE £1,188.00,
           difference £1,188.00 − £1,200.00 = -£12.00; 2 differing,
           at stake £12.00 + £360.00 (not expected) = £372.00;
           1 error (the May fee), 1 warning (June not expected)

    Both differ by £12.00: the larger money at stake (Other Provider Trust) comes first.
    """
    import datetime as dt

    from reconcile.compare import compare
    from tests.builders import LP, calculation, contract, dfe, dfe_like, expected, line, rulebook

    other = "Other Provider Trust"
    rules = rulebook(contract(LP, 2023, vat_chargeable=True),
                     contract(other, 2023, vat_chargeable=True))
    may, june, july = dt.date(2024, 5, 25), dt.date(2024, 6, 25), dt.date(2024, 7, 25)
    a_may = expected("May 2024", may, service_fee="1000")
    a_june = expected("June 2024", june, service_fee="250")
    a_july = expected("July 2024", july, service_fee="500")
    b_may = expected("May 2024", may, service_fee="1000")
    b_may = b_may._replace(key=b_may.key._replace(lead_provider=other))
    comparison = compare(calculation((a_may, a_june, a_july, b_may)), (
        dfe("May 2024", may, (line("service_fee", "1010"), line("vat", "202")), total="1212"),
        dfe_like(a_july),
        dfe("May 2024", may, (line("service_fee", "990"), line("vat", "198")), total="1188",
            provider=other),
        dfe("June 2024", june, (line("service_fee", "300"), line("vat", "60")), total="360",
            provider=other)), rules)
    D = Decimal
    assert prov.provider_totals(comparison, comparison.findings) == [
        prov.ProviderTotals(other, 2023, 2, D("1200.00"), D("1188.00"), D("-12.00"), 1, 2,
                            1, 1, 0, 0, D("372.00")),
        prov.ProviderTotals(LP, 2023, 3, D("1800.00"), D("1812.00"), D("12.00"), 2, 2,
                            2, 0, 0, 0, D("312.00")),
    ]
    assert prov.providers_json(comparison, comparison.findings)[0] == {
        "lead_provider": other, "cohort": 2023, "statements": 2, "statements_compared": 1,
        "statements_differing": 2, "expected": "1200.00", "dfe": "1188.00",
        "difference": "-12.00", "money_at_stake": "372.00",
        "findings": {"error": 1, "warning": 1, "info": 0, "not_on_a_statement": 0}}
    assert prov.console_lines(comparison, comparison.findings) == [
        "reconcile: 2 of 2 provider/cohort rows differ from DfE; largest first (see the "
        "Providers sheet):",
        f"reconcile:   {other} 2023: DfE − expected -£12.00, 2 of 2 statement(s) differ, "
        "£372.00 at stake",
        f"reconcile:   {LP} 2023: DfE − expected £12.00, 2 of 3 statement(s) differ, "
        "£312.00 at stake"]


pytestmark = pytest.mark.slow
