"""Pictures of the demo workbook as printed: the Summary and a statement sheet, for docs/.

Runs the demo's job in-process (the bundled sample against DfE's statements with the
planted discrepancies, as at the sample's date), keeps the Summary and one statement
sheet, prints them to PDF with LibreOffice headless and turns pages into PNGs with
pdftoppm (both from ``make system``). What a finance user sees on paper, at A4.

Example (the pictures in docs/)::

    .venv/bin/python tools/printed_pages.py --out docs/
    # docs/printed-summary.png: the Summary's first page
    # docs/printed-summary-charts.png: its page of charts (one per provider and cohort)
    # docs/printed-statement.png: Harbour Lane Education Trust, cohort 2024, October 2025
    #   (the planted count difference: DfE counted one retained-2 band C declaration fewer)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: the statement pictured: the sample's planted count difference
STATEMENT = ("Harbour Lane Education Trust", 2024, "October 2025")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    parser.add_argument("--resolution", type=int, default=100)
    args = parser.parse_args(argv)

    from reconcile.demo import DECLARATIONS, DFE_STATEMENTS, samples_dir
    from reconcile.pipeline import RunOptions, run
    from reconcile.report import build_workbook
    from reconcile.write import write_workbook
    from tests.report.printing import page_picture, page_sheets, to_pdf

    for tool in ("soffice", "pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run make system", file=sys.stderr)
            return 2
    out = args.out.resolve()
    samples = samples_dir()
    if samples.is_relative_to(ROOT):  # the Summary names its inputs as given: keep them short
        os.chdir(ROOT)
        samples = samples.relative_to(ROOT)
    result = run(RunOptions((samples / DECLARATIONS,), (samples / DFE_STATEMENTS,),
                            contracts=(samples / "contracts",), as_of=dt.date(2026, 10, 10),
                            with_split=True))
    book = build_workbook(result)
    pair = next(p for p in result.comparison.pairs if tuple(p.key) == STATEMENT)
    statement = next(s for s in book.sheets if not s.streamed
                     and _title_of(s).startswith(f"{pair.key.name} — "
                                                            f"{pair.key.lead_provider}, "
                                                            f"cohort {pair.key.cohort}"))
    chosen = (book.sheet("Summary"), statement)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        xlsx = folder / "printed.xlsx"
        write_workbook(book._replace(sheets=chosen, active=None), xlsx)
        pdf = to_pdf(xlsx, folder, folder / "profile")
        pages = page_sheets(pdf)
        summary = [i for i, s in enumerate(pages, start=1) if s == "Summary"]
        sheet = [i for i, s in enumerate(pages, start=1) if s == statement.name]
        for page, name in ((summary[0], "printed-summary.png"),
                           (summary[-1], "printed-summary-charts.png"),
                           (sheet[0], "printed-statement.png")):
            picture = page_picture(pdf, page, folder / name, args.resolution)
            shutil.copyfile(picture, out / name)
            print(f"wrote {out / name} (page {page} of {len(pages)})")
    return 0


def _title_of(sheet) -> str:
    first = sheet.rows[0][0] if sheet.rows and sheet.rows[0] else None
    return str(getattr(first, "value", "") or "")


if __name__ == "__main__":
    sys.exit(main())
