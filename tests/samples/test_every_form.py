"""The bundled sample in every form a user has it in gives the same money per statement.

The committed sample (``samples/``) holds the same 3,000 declarations as a provider's
spreadsheet (``declarations.xlsx``), as each provider's Lead Provider API v3 pull in
DfE's shapes (``api/<provider>/``: declarations pages without cohort or schedule,
participants pages, the statements list of output-fee statements without provider or
money) and as DfE's assurance report of every statement (``assurance/``: 25 columns,
the cohort only in the file name). This test adds the CSV a provider exports and a
messy export (a title row above the header, the data on a second sheet, dates written
``06 Mar 2025``, a totals row), and runs ``reconcile run`` on each: every form gives the
identical expected money on every statement the spreadsheet gives, no more error
findings than the spreadsheet, and exit 0 or 1, never 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter

import pytest
import xlsxwriter
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from reconcile.cli import main
from samples import SAMPLES_DIR

pytestmark = pytest.mark.slow

AS_OF = "2026-10-10"
API = SAMPLES_DIR / "api"


def _run(tmp_path, name, *args):
    out = tmp_path / f"{name}.json"
    result = CliRunner().invoke(main, [
        "run", *args, "--contracts", str(SAMPLES_DIR / "contracts"), "--as-of", AS_OF,
        "--out", str(tmp_path / f"{name}.xlsx"), "--json", str(out), "-q",
        "--no-history"])  # each form on its own, not compared with the one before
    assert result.exit_code in (0, 1), f"{name}: {result.output}"
    data = json.loads(out.read_text())
    money = {(s["lead_provider"], s["cohort"], s["name"]): s["expected"]["total"]
             for s in data["statements"] if s["expected"] is not None}
    errors = Counter(f["code"] for f in data["findings"] if f["severity"] == "error")
    return money, errors, data


def _rows():
    sheet = CalamineWorkbook.from_path(str(SAMPLES_DIR / "declarations.xlsx")).get_sheet_by_name(
        "Declarations").to_python()
    return sheet[0], sheet[1:]


def _csv(path):
    header, rows = _rows()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v == "" else str(v).lower() if isinstance(v, bool) else
                             str(int(v)) if isinstance(v, float) else v for v in row])
    return path


def _messy(path):
    """A provider's own export: a notes sheet first, a title above the header, dates as
    text in the UK way, an extra column, a totals row."""
    header, rows = _rows()
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    book.add_worksheet("Read me").write(0, 0, "Declarations export from our CRM")
    sheet = book.add_worksheet("Export")
    sheet.write(0, 0, "Declarations, all cohorts, as at 10 Oct 2026")
    sheet.write_row(2, 0, [*header, "Region"])
    dates = {header.index("declaration_date"), header.index("created_at")}
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row):
            if value == "":
                continue
            if c in dates:  # 2024-03-06T10:15:07Z -> '06 Mar 2024 10:15:07', '06/03/2024 ...'
                # (the time is kept: DfE fills the bands in declaration-date order, so an
                # export that drops it can put a mentor and an ECT of one day in other
                # bands than DfE did)
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
                value = (f"{moment:%d %b %Y %H:%M:%S}" if c == header.index("declaration_date")
                         else f"{moment:%d/%m/%Y %H:%M:%S}")
            sheet.write(r, c, value)
        sheet.write(r, len(header), "North")
    sheet.write(len(rows) + 3, header.index("lead_provider"), "Total")
    sheet.write(len(rows) + 3, header.index("cohort"), len(rows))
    book.close()
    return path


def test_the_sample_in_every_form_gives_the_same_money(tmp_path):
    dfe = ("--dfe-statements", str(SAMPLES_DIR / "dfe-statements.xlsx"))
    base, base_errors, _ = _run(tmp_path, "spreadsheet", "--declarations",
                                str(SAMPLES_DIR / "declarations.xlsx"), *dfe)
    api = []
    for provider in sorted(API.iterdir()):
        api += ["--declarations", str(provider)]  # the folder: its declarations pages ...
    # ... and DfE's participants pages and statements lists, as pulled
    api += [arg for p in sorted(API.rglob("participants-ecf-*.json"))
            for arg in ("--participants", str(p))]
    api += [arg for p in sorted(API.rglob("statements.json"))
            for arg in ("--dfe-statements", str(p))]
    forms = {
        "csv": ("--declarations", str(_csv(tmp_path / "declarations.csv")), *dfe),
        "api": tuple(api),
        "assurance": ("--declarations", str(SAMPLES_DIR / "assurance"), *dfe),
        "messy": ("--declarations", str(_messy(tmp_path / "export.xlsx")), *dfe),
    }
    assert len(base) > 100
    for name, args in forms.items():
        money, errors, data = _run(tmp_path, name, *args)
        assert set(base) <= set(money), name
        assert {k: money[k] for k in base} == base, name
        assert sum(errors.values()) <= sum(base_errors.values()), (name, errors, base_errors)
        codes = {f["code"] for f in data["findings"]}
        # nothing was assumed nor missed: the schedules came from the participants, every
        # statement the reports cover was compared
        assert not codes & {"READ_SCHEDULE_NOT_GIVEN", "READ_COHORT_NOT_GIVEN",
                            "READ_UPLIFT_FLAGS_NOT_GIVEN", "STATEMENTS_NOT_COVERED",
                            "STATEMENT_MISSING_FROM_DFE", "STATEMENT_NOT_EXPECTED"}, name
