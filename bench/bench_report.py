"""Bench: the Declarations sheet, built (report) and written (write) alone.

At scale this sheet is the workbook: one row of 22 columns per declaration. For
each size, declarations of one provider with an output attribution each are built
in memory, then ``report.declarations_sheet`` streams them into
``write.write_workbook`` (constant memory, the fast XML path). Timed: the write
(best of ``repeat``), as wall time and as CPU time of this process, and the file
size. For the smallest size the same sheet is also written through XlsxWriter's
own cell API (``write_workbook(..., fast_rows=False)``) to show what the fast path saves.

Run: ``python -m bench.bench_report [SIZE ...]`` (default 1,000,000), or via
``make bench`` once ``report`` is among its areas. Progress goes to standard error.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from reconcile import write
from reconcile.model import Attribution, Declaration, StatementKey
from reconcile.report import declarations_sheet
from reconcile.sheets import Workbook

UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; we run on 3.10)
TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed")


def _say(text: str) -> None:
    print(f"bench_report: {text}", file=sys.stderr, flush=True)


class _Calculation(NamedTuple):
    attributions: tuple


class _Evaluation(NamedTuple):
    fired: tuple


class _Result(NamedTuple):
    declarations: tuple
    calculation: _Calculation
    evaluation: _Evaluation
    findings: tuple


def build(size: int) -> _Result:
    key = StatementKey("Bench Provider", 2023, "May 2024")
    fee = Decimal("119.40")
    declarations, attributions = [], []
    for i in range(size):
        d = Declaration(
            f"decl-{i:07d}", f"participant-{i // 6:07d}", "ecf-induction", "ect",
            TYPES[i % 6], dt.datetime(2024, 1 + i % 12, 1 + i % 28, 9, i % 60, tzinfo=UTC),
            "paid", 2023, "Bench Provider", statement_name="May 2024",
            delivery_partner_id=f"dp-{i % 40:02d}", delivery_partner_name=f"Partner {i % 40}",
            pupil_premium_uplift=i % 5 == 0, file="declarations.xlsx", row=i + 2)
        declarations.append(d)
        attributions.append(Attribution(d.declaration_id, key, "output", "ect", d.declaration_type,
                                        "A", fee, Decimal(0)))
    fired = (("billable",),) * size
    return _Result(tuple(declarations), _Calculation(tuple(attributions)), _Evaluation(fired), ())


def _write(result: _Result, path: Path, fast_rows: bool = True) -> tuple[float, float]:
    book = Workbook((declarations_sheet(result),))
    wall, cpu = time.perf_counter(), time.process_time()
    write.write_workbook(book, path, fast_rows=fast_rows)
    return time.perf_counter() - wall, time.process_time() - cpu


def run(sizes, repeat: int = 2) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "declarations-sheet.xlsx"
        for n, size in enumerate(sorted(sizes)):
            _say(f"{size:,} declarations: building")
            result = build(size)
            best = min((_write(result, path) for _ in range(repeat)), key=lambda t: t[0])
            row = {"declarations": size, "write_s": round(best[0], 2),
                   "write_cpu_s": round(best[1], 2),
                   "rows_per_s": round(size / best[0]),
                   "file_mb": round(path.stat().st_size / 1e6, 1)}
            if n == 0:
                api = _write(result, path, fast_rows=False)
                row["xlsxwriter_api_s"] = round(api[0], 2)
                row["speedup"] = round(api[0] / best[0], 1)
            _say(f"{size:,} declarations: {row}")
            rows.append(row)
    return rows


if __name__ == "__main__":
    sizes = [int(a.replace("_", "")) for a in sys.argv[1:]] or [1_000_000]
    for r in run(sizes):
        print(r)
