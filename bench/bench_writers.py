"""Bench: xlsx writers for Python on the same rows — speed, memory, size, deterministic bytes.

The rows are the issue's (300,000 rows of 19 text columns) and the Declarations
sheet's (22 columns: text, dates, counts, money as ``Decimal``), at most 300,000 of
each. Each writer runs in a fresh process (``python -m bench.bench_writers child ...``)
and writes one sheet in its fastest streaming mode; *same bytes twice* writes 1,000
rows twice, two seconds apart, and compares the files. A writer that is not
installed is listed as such (``pip install -e '.[bench]'`` installs them all).

* ``xlsxwriter`` — XlsxWriter's ``write_row`` in ``constant_memory`` mode (the floor
  of ``make bench``);
* ``reconcile`` — :func:`reconcile.write.write_workbook` on a streamed sheet (the
  tool's own row renderer, deflated on a second thread);
* ``rustpy-xlsxwriter`` — ``write_worksheet`` of dicts (its records API; Rust,
  built on rust_xlsxwriter, the Rust port by XlsxWriter's author);
* ``rvgsrust-xlsxwriter`` — ``write_rows`` in constant-memory mode (a cell API over
  rust_xlsxwriter);
* ``fastxlsxio`` — ``write_rows`` in constant-memory mode (Rust);
* ``pyexcelerate`` — a whole-sheet writer (pure Python; rows held in memory).

The Rust writers take no ``Decimal``: money is handed to them as ``float``.
docs/performance.md says what this means for the tool's writer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from bench import note

WRITERS = ("xlsxwriter", "reconcile", "rustpy-xlsxwriter", "rvgsrust-xlsxwriter",
           "fastxlsxio", "pyexcelerate")
MODULES = {"xlsxwriter": "xlsxwriter", "reconcile": "reconcile",
           "rustpy-xlsxwriter": "rustpy_xlsxwriter",
           "rvgsrust-xlsxwriter": "rvgsrust_xlsxwriter", "fastxlsxio": "fastxlsxio",
           "pyexcelerate": "pyexcelerate"}
MAX_ROWS = 300_000
PROVIDERS = ("Northbrook Teaching Institute", "Harbour Lane Education Trust",
             "Westmoor Teaching Institute", "Calderbrook Education Trust")


def _rows(shape: str, n: int):
    rnd = random.Random(7)
    ids = [str(uuid.UUID(int=rnd.getrandbits(128))) for _ in range(2000)]
    if shape == "text":
        for i in range(n):
            yield tuple(ids[(i * 7 + c) % 2000][:8 + c] for c in range(19))
        return
    fees = [Decimal(f) for f in ("1194.00", "716.40", "477.60", "0.00", "955.20")]
    for i in range(n):
        yield (ids[i % 2000] + f"-{i}", ids[(i * 3) % 2000], "ect" if i % 3 else "mentor",
               "started" if i % 4 else "retained-1",
               dt.datetime(2023, 1 + i % 12, 1 + i % 28, 9, 30), "paid", 2023,
               PROVIDERS[i % 4], f"Delivery partner {i % 97}", "no", "October 2023",
               "October 2023", "A", fees[i % 5], None, None, None, None, None,
               "output_fee_eligible", None, i + 2)


def _floats(row: tuple) -> list:
    return [float(v) if type(v) is Decimal else v for v in row]


def write(writer: str, shape: str, n: int, out: str) -> None:
    """One writer, one sheet of ``n`` rows (and a header) into ``out``."""
    width = 19 if shape == "text" else 22
    header = [f"column {c + 1}" for c in range(width)]
    rows = _rows(shape, n)
    if writer == "xlsxwriter":
        import xlsxwriter

        book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False,
                                         "strings_to_numbers": False})
        book.set_properties({"created": dt.datetime(2000, 1, 1)})
        sheet = book.add_worksheet("Declarations")
        sheet.write_row(0, 0, header)
        for r, row in enumerate(rows, 1):
            sheet.write_row(r, 0, row)
        book.close()
    elif writer == "reconcile":
        from reconcile.sheets import RowStream, Sheet, Text, Workbook
        from reconcile.write import write_workbook

        def produce():
            yield tuple(Text(h, "header") for h in header)
            yield from rows

        write_workbook(Workbook((Sheet("Declarations", RowStream(produce, n + 1)),)), out)
    elif writer == "rustpy-xlsxwriter":
        import rustpy_xlsxwriter

        records = (dict(zip(header, _floats(row))) for row in rows)
        rustpy_xlsxwriter.write_worksheet(records, out, sheet_name="Declarations")
    elif writer in ("rvgsrust-xlsxwriter", "fastxlsxio"):
        if writer == "fastxlsxio":
            import fastxlsxio

            book = fastxlsxio.XIOWWorkbook(out)
            sheet = book.add_worksheet("Declarations")
        else:
            import rvgsrust_xlsxwriter

            book = rvgsrust_xlsxwriter.Workbook(out)
            sheet = book.add_worksheet("Declarations", constant_memory=True)
        sheet.write_row(0, 0, header)
        batch: list = []
        start = 1
        for row in rows:
            batch.append(_floats(row))
            if len(batch) == 10_000:
                sheet.write_rows(start, 0, batch)
                start += len(batch)
                batch = []
        if batch:
            sheet.write_rows(start, 0, batch)
        book.save() if writer == "fastxlsxio" else book.close()
    elif writer == "pyexcelerate":
        from pyexcelerate import Workbook as Excelerate

        book = Excelerate()
        book.new_sheet("Declarations", data=[header, *(_floats(row) for row in rows)])
        book.save(out)
    else:
        raise ValueError(f"unknown writer {writer!r}")


def _child(writer: str, shape: str, n: str, out: str) -> None:
    start = time.perf_counter()
    write(writer, shape, int(n), out)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def _version(writer: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(writer)
    except metadata.PackageNotFoundError:
        return None


def run(sizes) -> list[dict]:
    from bench.bench_pipeline import child

    n = min(MAX_ROWS, max(sizes))
    rows = []
    base: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="writers-") as folder:
        for shape in ("text", "declarations"):
            for writer in WRITERS:
                version = _version(writer)
                if version is None:
                    rows.append({"writer": writer, "shape": shape, "installed": False})
                    continue
                out = os.path.join(folder, f"{writer}-{shape}.xlsx")
                note(f"writers: {writer} ({shape}, {n:,} rows) ...")
                done = child([sys.executable, "-m", "bench.bench_writers", "child", writer,
                              shape, str(n), out])
                if done.returncode != 0:
                    rows.append({"writer": writer, "version": version, "shape": shape,
                                 "error": done.stderr.strip().splitlines()[-1][:120]})
                    continue
                seconds = json.loads(done.stdout)["seconds"]
                base.setdefault(shape, seconds if writer == "xlsxwriter" else 0.0)
                twice = _same_bytes_twice(writer, shape, folder, child)
                rows.append({
                    "writer": writer, "version": version, "shape": shape, "rows": n,
                    "columns": 19 if shape == "text" else 22, "seconds": seconds,
                    "rows_per_s": n / seconds, "peak_mb": done.peak_mb,
                    "file_mb": os.path.getsize(out) / 1024 / 1024,
                    "xlsxwriter_s_ratio": (seconds / base[shape]) if base.get(shape) else None,
                    "same_bytes_twice": twice})
                Path(out).unlink(missing_ok=True)
    return rows


def _same_bytes_twice(writer: str, shape: str, folder: str, child) -> bool | None:
    paths = [os.path.join(folder, f"{writer}-{shape}-{i}.xlsx") for i in (1, 2)]
    for i, path in enumerate(paths):
        if i:
            time.sleep(2)  # a writer that stamps the time shows it
        done = child([sys.executable, "-m", "bench.bench_writers", "child", writer, shape,
                      "1000", path])
        if done.returncode != 0:
            return None
    same = Path(paths[0]).read_bytes() == Path(paths[1]).read_bytes()
    for path in paths:
        Path(path).unlink(missing_ok=True)
    return same


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    {"child": _child}[mode](*arguments)


def _speedup(rows: list[dict], writer: str, shape: str = "declarations") -> str:
    ours = next((r for r in rows if r.get("writer") == "reconcile" and r.get("shape") == shape
                 and "seconds" in r), None)
    theirs = next((r for r in rows if r.get("writer") == writer and r.get("shape") == shape
                   and "seconds" in r), None)
    if ours is None or theirs is None:
        return "not measured in this run"
    return f"{ours['seconds'] / theirs['seconds']:.1f}× the tool's writer"


def notes(rows: list[dict]) -> str:
    """The writer decision (issue 16), with this run's figures."""
    return f"""### The writer decision

Measured above on the same rows, in this run: rustpy-xlsxwriter writes the Declarations
rows at {_speedup(rows, "rustpy-xlsxwriter")}, rvgsrust-xlsxwriter at
{_speedup(rows, "rvgsrust-xlsxwriter")}, fastxlsxio at {_speedup(rows, "fastxlsxio")}
(and XlsxWriter's own `write_row` at {_speedup(rows, "xlsxwriter")}). None of them is used
by the tool; its workbook stays XlsxWriter's, with its own renderer for the rows of the big
sheets. Why, candidate by candidate (PyPI metadata and wheels checked on 2026-12-04):

- **rustpy-xlsxwriter** 0.8.0 (MIT, one maintainer, 22 releases from 0.0.1 to 0.8.0, the
  last in October 2026; wheels for CPython 3.9-3.14 on Linux, macOS and Windows; built on
  rust_xlsxwriter, the Rust port by XlsxWriter's own author, as its README says). It is a
  records/DataFrame *exporter*: one call writes a whole sheet from dicts or a DataFrame,
  with formats per column, a header format, freeze panes, an autofilter, conditional
  formats per column, charts by column name, page set-up and data validation. What the
  reconciliation workbook needs and it does not offer: styles per cell on mixed rows (a
  statement sheet's title, labels, money and subtotal rows), formulas carrying Python's
  value as their cached result (it has only `formula_columns`, appended to every row,
  without results), links to a cell of another sheet, conditional formats by formula over
  any range, `Decimal` (it takes floats), and a fixed document date: it stamps the time of
  writing, so the same workbook gives different bytes (*same bytes twice*: no, above).
  Using it for the big sheets only is not possible either: a workbook is one zip with one
  styles part, written by one writer.
- **rvgsrust-xlsxwriter** 0.3.5 (MIT, "beta", a team account): a cell-level API over
  rust_xlsxwriter with formats, charts, conditional formats and validation, so it could
  write every sheet; but `write_formula` takes no cached result, the document date cannot
  be set (different bytes each time), and its speed on rows handed over from Python is
  close to the tool's own renderer.
- **fastxlsxio** 0.8.2 (Apache-2.0): the fastest at raw rows, but a format may set only a
  number format and bold: not a statement sheet.
- **pyexcelerate** (pure Python, whole sheet in memory), **rustypyxl** and **oxlsx**
  (openpyxl-like models held in memory): no streaming, no gain.

What changed instead: the tool's renderer no longer leans on XlsxWriter's row file. Its
rows are deflated on a second core while they are made, and `reconcile/xlsxzip.py`
splices them into XlsxWriter's own sheet parts (the zip is assembled by the tool,
deterministically). The renderer, `reconcile/fastrows.py`, is the one module that leans
on XlsxWriter internals (`Format._get_xf_index()`, the number of a style;
`_prepare_formula()`, the `_xlfn.` prefixes; `XMLwriter._escape_control_characters()`;
`re_dynamic_function`); XlsxWriter is pinned exactly, the tests check, part by part,
that the renderer writes the XML XlsxWriter's own cell API writes, and a slow test runs
the same check against the newest XlsxWriter on PyPI (`tests/report/test_fastrows.py`). A Rust binding that exposes
per-cell formats, cached formula results and a fixed document date would serve, and
should be measured again then.
"""
