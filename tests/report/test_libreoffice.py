"""A real spreadsheet recalculates the workbook's formulas: its totals equal the JSON figures.

LibreOffice (headless) opens the workbook, recalculates every formula and saves it
again; openpyxl then reads the values LibreOffice computed (``data_only=True``).
To be sure they were *computed*, not copied, the workbook given to LibreOffice
carries 0 as every formula's cached value: only a recalculation brings back the
totals, which must equal the JSON result's (INTERFACES.md §5) to the penny.

LibreOffice is installed by ``make system`` (``make test`` runs it first; the
programs and their packages are listed in ``tools/system-packages.txt``). Without
it this test fails, saying so: it is never skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from reconcile.jsonout import result_json
from reconcile.report import build_workbook
from reconcile.sheets import Formula, RowStream
from reconcile.write import write_workbook
from tests.report.scenario import build_result

pytestmark = pytest.mark.slow

# Recalculate on load, always (LibreOffice's default for xlsx is "never").
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        pytest.fail("LibreOffice is not installed: run make system "
                    "(as root or with sudo: apt-get), then run the tests again")
    return path


def recalculate(source: Path, out_dir: Path, profile: Path) -> Path:
    """``soffice --headless --convert-to xlsx`` with recalculation on load."""
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE)
    out_dir.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(profile)}
    subprocess.run([soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--norestore", "--convert-to", "xlsx", "--outdir", str(out_dir),
                    str(source)], check=True, capture_output=True, timeout=180, env=env)
    converted = out_dir / source.name
    assert converted.exists(), f"LibreOffice wrote nothing for {source}"
    return converted


def _zero_cached_values(book):
    """The same workbook with 0 cached for every formula (streamed sheets have none)."""
    sheets = []
    for sheet in book.sheets:
        if isinstance(sheet.rows, RowStream):
            sheets.append(sheet)
            continue
        rows = tuple(tuple(Formula(c.formula, 0, c.style) if type(c) is Formula else c
                           for c in row) for row in sheet.rows)
        sheets.append(sheet._replace(rows=rows))
    return book._replace(sheets=tuple(sheets))


def _money(value) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal("0.01"))


def test_libreoffice_recalculates_every_total_to_the_json_figures(tmp_path):
    result = build_result()
    book = build_workbook(result)
    source = tmp_path / "zeroed.xlsx"
    write_workbook(_zero_cached_values(book), source)
    recalculated = recalculate(source, tmp_path / "out", tmp_path / "profile")
    values = openpyxl.load_workbook(recalculated, data_only=True)

    # every formula of the value: the spreadsheet's result is Python's cached value
    checked = 0
    for sheet in book.sheets:
        if isinstance(sheet.rows, RowStream):
            continue
        ws = values[sheet.name]
        for r, row in enumerate(sheet.rows):
            for c, cell in enumerate(row):
                if type(cell) is Formula:
                    got = ws.cell(row=r + 1, column=c + 1).value
                    assert got is not None, f"{sheet.name}!{r + 1}:{c + 1} not computed"
                    assert _money(got) == Decimal(cell.value).quantize(Decimal("0.01")), (
                        f"{sheet.name} row {r + 1} column {c + 1}: {cell.formula} gave {got}, "
                        f"Python says {cell.value}")
                    checked += 1
    assert checked > 40

    # the Summary's totals are the JSON's, statement by statement and in sum
    data = result_json(result)
    summary = values["Summary"]
    header = next(r for r in range(1, 20) if summary.cell(row=r, column=1).value == "Lead provider")
    first = header + 1
    rows = {summary.cell(row=r, column=3).value: r
            for r in range(first, first + len(data["statements"]))}
    for statement in data["statements"]:
        r = rows[statement["name"]]
        assert _money(summary.cell(row=r, column=7).value) == Decimal(
            statement["expected"]["total"])
        assert _money(summary.cell(row=r, column=8).value) == Decimal(statement["dfe"]["total"])
    total_row = first + len(data["statements"])
    assert summary.cell(row=total_row, column=1).value == "Total"
    assert _money(summary.cell(row=total_row, column=7).value) == sum(
        Decimal(s["expected"]["total"]) for s in data["statements"])
    assert _money(summary.cell(row=total_row, column=8).value) == sum(
        Decimal(s["dfe"]["total"]) for s in data["statements"])


def test_the_summary_total_is_over_the_statements_compared(tmp_path):
    """DfE's file without May 2024: the Total row adds up April alone (expected £1,590.01,
    DfE £1,590.01, difference £0.00), so its Difference is its DfE total minus its Expected
    total; May's expected £3,669.37 (after DfE's file: "Not in DfE file") is on the "Not
    compared" row below it. The scenario's
    figures: April = 2 x £119.40 + service fee £1,086.21 = £1,325.01, plus VAT 20% =
    £1,590.01; May = (10 x £119.40 + 4 x £89.55 + 2 x £119.40 - £119.40 + 3 x £100 +
    £1,086.21) x 1.2 = £3,057.81 x 1.2 = £3,669.37. LibreOffice recalculates the filtered
    sums from zeroed cached values."""
    from reconcile.compare import compare

    full = build_result()
    april = full.dfe_statements[0]
    comparison = compare(full.calculation, (april,), full.rulebook)
    result = full._replace(dfe_statements=(april,), comparison=comparison,
                           findings=tuple(sorted((*full.calculation.findings,
                                                  *comparison.findings), key=_sort_key())))
    book = build_workbook(result)
    summary = next(s for s in book.sheets if s.name == "Summary")
    labels = [getattr(row[0], "value", None) if row else None for row in summary.rows]
    total = summary.rows[labels.index("Total")]
    rest = summary.rows[labels.index("Not compared (Not in DfE file)")]
    assert [total[i].value for i in (6, 7, 8)] == [Decimal("1590.01"), Decimal("1590.01"),
                                                   Decimal("0.00")]
    assert [rest[i].value for i in (6, 7)] == [Decimal("3669.37"), Decimal("0.00")]

    source = tmp_path / "zeroed.xlsx"
    write_workbook(_zero_cached_values(book), source)
    values = openpyxl.load_workbook(recalculate(source, tmp_path / "out", tmp_path / "profile"),
                                    data_only=True)["Summary"]
    t, n = labels.index("Total") + 1, labels.index("Not compared (Not in DfE file)") + 1
    assert [_money(values.cell(row=t, column=c).value) for c in (7, 8, 9)] == [
        Decimal("1590.01"), Decimal("1590.01"), Decimal("0.00")]
    assert [_money(values.cell(row=n, column=c).value) for c in (7, 8)] == [
        Decimal("3669.37"), Decimal("0.00")]


def _sort_key():
    from reconcile.findings import sort_key

    return sort_key
