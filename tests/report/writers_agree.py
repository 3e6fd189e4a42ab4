"""The fast row writer and XlsxWriter's own cell API write the same workbook, part by part.

:mod:`reconcile.fastrows` writes the XML XlsxWriter would write, leaning on XlsxWriter
internals (its module doc lists them). These workbooks cover what it writes: every cell
kind of a streamed sheet (plain values and cells, escapes, control characters, long
and padded texts, dates with and without time zones), formulas (plain, newer
functions, text, boolean and error results) and the report's whole workbook.

Run by tests/report/test_fastrows.py against the XlsxWriter installed (the pinned
version) and, in a process of its own, against the newest XlsxWriter on PyPI::

    PYTHONPATH=/tmp/newest-xlsxwriter .venv/bin/python -m tests.report.writers_agree

which prints the version it ran with and each workbook that differs, and exits 1 if any.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from reconcile.report import build_workbook
from reconcile.sheets import (
    AutoFilter,
    Blank,
    Date,
    Formula,
    Money,
    Number,
    RowStream,
    Sheet,
    Text,
    Workbook,
)
from reconcile.write import write_workbook
from tests.report.scenario import build_result


def streamed_every_kind() -> Workbook:
    def produce():
        yield (Text("id", "header"), Text("when", "header"), Text("fee", "header"),
               Text("n", "header"), Text("note", "header"))
        yield ("d1", dt.datetime(2024, 5, 1, 9, 30), Decimal("119.40"), 3, " padded ")
        yield ("d&<2>", dt.date(2024, 5, 2), Decimal("-0.05"), None, "=SUM(A1)")
        yield (Text("ctl\x01_x0041_", "text_bold"), Date(dt.date(2024, 1, 1)),
               Money(Decimal("1E+3")), Number(7), Blank("section"))
        yield ("x" * 20000, None, Decimal(0), 0, "ünïcødé £")
        yield ("tz", dt.datetime(2023, 10, 5, 23, 59, 59, 123456, tzinfo=dt.timezone.utc),  # noqa: UP017
               None, None, Date(dt.datetime(1900, 2, 28, 12, 0)))

    sheet = Sheet("Declarations", RowStream(produce, 5, (None, "date", None, "text", None)),
                  heights=((0, 30),), autofilter=AutoFilter(0, 0, 4), freeze=(1, 1))
    return Workbook((sheet,))


def formulas() -> Workbook:
    rows = (
        (Number(2), Money(Decimal("1.10")), Formula("A1*B1", Decimal("2.20")),
         Formula("IF(A1>1,\"a<b & c\",\"\")", "a<b & c", "text"),
         Formula("AND(A1=2,TRUE)", True, "text"), Formula("A1/0", "#DIV/0!", "text"),
         Formula("STDEV(A1:B1)", 0), Formula("=SUM(A1:B1)", Decimal("-0.00")),
         Formula("SUM(A1)", None)),
    )
    return Workbook((Sheet("F", rows, heights=((0, 42),)),))


def report() -> Workbook:
    return build_workbook(build_result())


CASES: dict[str, Callable[[], Workbook]] = {
    "a streamed sheet of every kind of value": streamed_every_kind,
    "formulas": formulas,
    "the report's workbook": report,
}


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def differences(folder: Path) -> list[str]:
    """The cases whose fast-row workbook differs from XlsxWriter's own, with the parts."""
    out = []
    for i, (name, make) in enumerate(CASES.items()):
        fast, plain = folder / f"{i}-fast.xlsx", folder / f"{i}-plain.xlsx"
        book = make()
        write_workbook(book, fast)
        write_workbook(book, plain, fast_rows=False)
        a, b = parts(fast), parts(plain)
        if a != b:
            differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
            out.append(f"{name}: {', '.join(differ)}")
    return out


def main() -> int:
    print(f"xlsxwriter {xlsxwriter.__version__} from {Path(xlsxwriter.__file__).parent}")
    with tempfile.TemporaryDirectory(prefix="writers-agree-") as folder:
        try:
            found = differences(Path(folder))
        except Exception as error:  # noqa: BLE001 - an internal gone is a finding too
            print(f"the fast row writer failed: {type(error).__name__}: {error}")
            return 1
    for line in found:
        print(f"differs: {line}")
    print("same bytes" if not found else f"{len(found)} of {len(CASES)} workbooks differ")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
