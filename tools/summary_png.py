"""Picture of a run's Summary sheet, as LibreOffice prints it (for the README, and to look at).

Runs ``reconcile run`` in-process on the given inputs, keeps the Summary sheet only
(its cached values are Python's figures), prints it to PDF with LibreOffice
headless and turns the first page into a PNG with pdftoppm (poppler-utils).
Both come from ``make system`` (``tools/system-packages.txt``).

Example (the picture in docs/summary.png: the planted scenario of
tests/compare/test_planted_run.py)::

    .venv/bin/python tools/summary_png.py --planted-scenario --resolution 150 \
        --crop 95,98,1490,405 --out docs/summary.png
    .venv/bin/python tools/summary_png.py --declarations samples/declarations.xlsx \\
        --dfe-statements samples/dfe-statements-planted.xlsx --contracts samples/contracts \\
        --as-of 2026-10-10 --out /tmp/summary.png
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=Path)
    parser.add_argument("--dfe-statements", type=Path)
    parser.add_argument("--contracts", type=Path, action="append", default=[])
    parser.add_argument("--as-of", type=dt.date.fromisoformat)
    parser.add_argument("--planted-scenario", action="store_true",
                        help="use the scenario of tests/compare/test_planted_run.py")
    parser.add_argument("--resolution", type=int, default=110)
    parser.add_argument("--crop", help="X,Y,W,H in pixels of the page picture (pdftoppm)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from reconcile.pipeline import RunOptions, run
    from reconcile.report import build_workbook
    from reconcile.write import write_workbook

    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing: run make system", file=sys.stderr)
            return 2
    start = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.planted_scenario:
            from tests.compare.test_planted_run import PLANTED, write_inputs

            write_inputs(folder, PLANTED)
            os.chdir(folder)  # the Summary names its inputs as given: keep them short
            args.declarations = Path("declarations.csv")
            args.dfe_statements = Path("dfe.xlsx")
            args.contracts = [Path("contract.yaml")]
            args.as_of = dt.date(2024, 8, 10)
        result = run(RunOptions(args.declarations, args.dfe_statements,
                                contracts=tuple(args.contracts), as_of=args.as_of,
                                with_split=True))
        book = build_workbook(result)
        summary = book._replace(sheets=(book.sheet("Summary"),))
        xlsx = folder / "summary.xlsx"
        write_workbook(summary, xlsx)
        subprocess.run(["soffice", f"-env:UserInstallation={(folder / 'lo').as_uri()}",
                        "--headless", "--convert-to", "pdf", "--outdir", str(folder),
                        str(xlsx)], check=True, capture_output=True, timeout=300)
        crop = []
        if args.crop:
            x, y, w, h = (int(v) for v in args.crop.split(","))
            crop = ["-x", str(x), "-y", str(y), "-W", str(w), "-H", str(h)]
        subprocess.run(["pdftoppm", "-r", str(args.resolution), "-f", "1", "-l", "1", *crop,
                        "-png", "-singlefile", str(folder / "summary.pdf"),
                        str(folder / "page")], check=True)
        out = args.out if args.out.is_absolute() else start / args.out
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / "page.png", out)
        os.chdir(start)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
