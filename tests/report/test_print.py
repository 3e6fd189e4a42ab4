"""The demo workbook printed (LibreOffice to PDF): pages per sheet, and legible.

The demo's workbook (the bundled sample, as ``reconcile demo`` writes it) is printed
with LibreOffice; each page's footer names its sheet (tests/report/printing.py), so
the pages of each sheet are counted and held to targets:

* a statement sheet: its statement (DfE's layout) on one page; its findings start a
  page of their own, with the statement's line list after them; a statement
  without findings is one page, or two when its line list does not fit under it;
* the Summary: its table (221 rows at the scale that fits its 14 columns) and its
  charts (one per provider and cohort, two across) after a page break;
* the Delivery partners sheet: as many pages as its rows need, nothing more;
* the Declarations sheet: its columns up to the uplift (what each declaration earns)
  at a legible size, as many pages as its 3,000 rows need;
* a partner's remittance for one month (with DfE's payment divided beside the
  expected amounts): one page.

And the figures are readable: the text on a statement page, the Summary and the
Delivery partners sheet is at least 7 points high as printed (the sheets are
fitted to one page wide, so a too-wide sheet would print too small).

The whole demo workbook is printed (about 385 pages; LibreOffice takes under a
minute on a quiet machine): every one of its 215 statement sheets is held to its
page count; the text sizes are measured on the busiest statement of each provider
and cohort and on one without findings.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

from reconcile.pipeline import RunOptions, run
from reconcile.remittance import remittance_workbook
from reconcile.report import build_workbook
from reconcile.sheets import Workbook
from reconcile.split import select_statements
from reconcile.write import write_workbook
from tests.report.printing import page_sheets, to_pdf, tool

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
FIXED = ("Providers", "Summary", "Changes", "Findings", "Delivery partners", "Rules",
         "Declarations")


class Printed(NamedTuple):
    book: Workbook
    pdf: Path
    pages: list[str]  # the sheet of each page
    remittance: Path
    remittance_pages: list[str]
    declarations: int
    #: the statement sheets whose printed text is measured
    measured: frozenset[str]


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("print")
    result = run(RunOptions((SAMPLES / "declarations.xlsx",),
                            (SAMPLES / "dfe-statements-planted.xlsx",),
                            contracts=(SAMPLES / "contracts",), as_of=dt.date(2026, 10, 10),
                            with_split=True))
    book = build_workbook(result)
    statements = [s for s in book.sheets if s.name not in FIXED]
    chosen = {}
    for sheet in statements:  # the busiest statement of each provider and cohort
        group = sheet.name.rsplit(" ", 2)[0]
        if group not in chosen or len(sheet.rows) > len(chosen[group].rows):
            chosen[group] = sheet
    quiet = [s for s in statements if not _has_findings(s)]
    picked = {s.name for s in chosen.values()} | {quiet[0].name}
    xlsx = folder / "demo.xlsx"
    write_workbook(book._replace(active=None), xlsx)
    pdf = to_pdf(xlsx, folder, folder / "profile")

    # a partner's remittance advice for October 2025's payment
    october = select_statements(result.split, (), ("2025-10",))
    remittance = folder / "remittance.xlsx"
    write_workbook(remittance_workbook(october, october.statements[0].partners[0]
                                       .delivery_partner_id), remittance)
    remitted = to_pdf(remittance, folder, folder / "profile")
    return Printed(book, pdf, page_sheets(pdf), remitted, page_sheets(remitted),
                   len(result.declarations), frozenset(picked))


def _has_findings(sheet) -> bool:
    return any(row and getattr(row[0], "value", "").startswith("Findings on this statement (")
               and not row[0].value.endswith("(0)") for row in sheet.rows)


def _pages(pages, name):
    return [i for i, sheet in enumerate(pages, start=1) if sheet == name]


def _text_heights(pdf: Path, page: int) -> list[float]:
    """The height in points of every word printed on ``page`` (pdftotext -bbox)."""
    html = subprocess.run([tool("pdftotext"), "-bbox", "-f", str(page), "-l", str(page),
                           str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return [float(b) - float(a) for a, b in
            re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"',
                       html)]


def test_each_statement_sheet_prints_its_statement_on_one_page(printed):
    book, pdf, pages = printed.book, printed.pdf, printed.pages
    # measured: 385 pages; 144 statements on one page, 71 on two
    assert len(pages) <= 400
    for sheet in book.sheets:
        if sheet.name in FIXED:
            continue
        n = len(_pages(pages, sheet.name))
        if _has_findings(sheet):
            assert n == 2, f"{sheet.name}: {n} pages (the statement, then its findings)"
            second = _pages(pages, sheet.name)[1]
            text = subprocess.run([tool("pdftotext"), "-layout", "-f", str(second), "-l",
                                   str(second), str(pdf), "-"], capture_output=True,
                                  text=True, check=True).stdout
            assert "Findings on this statement" in text
        else:  # one page, or the line list on a page of its own when it does not fit
            assert n in (1, 2), f"{sheet.name}: {n} pages, one or two expected"
            if n == 2:
                second = _pages(pages, sheet.name)[1]
                text = subprocess.run([tool("pdftotext"), "-layout", "-f", str(second), "-l",
                                       str(second), str(pdf), "-"], capture_output=True,
                                      text=True, check=True).stdout
                assert "Every line of this statement" in text, sheet.name
        if sheet.name not in printed.measured:
            continue
        first = _pages(pages, sheet.name)[0]
        heights = _text_heights(pdf, first)
        assert statistics.median(heights) >= 7, (sheet.name, statistics.median(heights))


def test_summary_findings_and_partners_print_on_the_pages_their_rows_need(printed):
    book, pdf, pages = printed.book, printed.pdf, printed.pages
    summary = book.sheet("Summary")
    rows = len(summary.rows)
    charts_pages = math.ceil(math.ceil(len(summary.charts) / 2) * 310 / 520)
    assert len(_pages(pages, "Summary")) <= math.ceil(rows / 40) + charts_pages
    partners = book.sheet("Delivery partners")
    assert len(_pages(pages, "Delivery partners")) <= math.ceil(
        len(list(partners.iter_rows())) / 40)
    assert len(_pages(pages, "Findings")) <= 8
    assert len(_pages(pages, "Rules")) <= 3
    for name in ("Providers", "Summary", "Delivery partners", "Findings", "Rules"):
        heights = _text_heights(pdf, _pages(pages, name)[0])
        assert statistics.median(heights) >= 7, (name, statistics.median(heights))


def test_declarations_print_their_earning_columns_legibly(printed):
    pdf, pages, declarations = printed.pdf, printed.pages, printed.declarations
    # measured: 43 pages of about 70 rows for the sample's 3,000 declarations
    assert len(_pages(pages, "Declarations")) <= math.ceil((declarations + 1) / 60)
    first = _pages(pages, "Declarations")[0]
    assert statistics.median(_text_heights(pdf, first)) >= 7
    text = subprocess.run([tool("pdftotext"), "-layout", "-f", str(first), "-l", str(first),
                           str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Uplift" in text and "Band" in text and "Rules" not in text and "Source" not in text


def test_a_months_remittance_prints_on_one_legible_page(printed):
    remitted, pages = printed.remittance, printed.remittance_pages
    assert len(_pages(pages, "Remittance")) == 1
    assert statistics.median(_text_heights(remitted, _pages(pages, "Remittance")[0])) >= 7
    text = subprocess.run([tool("pdftotext"), "-layout", "-f", "1", "-l", "1", str(remitted),
                           "-"], capture_output=True, text=True, check=True).stdout
    assert "October 2025" in text and "Amount paid" in text and "September 2025" not in text
