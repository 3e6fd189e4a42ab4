"""CSV files (read stage): bytes in, a :class:`~reconcile.read.table.Table` of text out.

Encoding: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"); a file
that is not UTF-8 is read as Windows-1252 (Excel's plain "CSV" on Windows) with a
note on standard error, because that is what such a file almost always is.
Separators: comma; a semicolon or tab is accepted when the header row is clearly
separated by it (Excel in some locales saves ``;``). Blank rows are skipped; row
numbers are the record numbers a spreadsheet shows (the header is row 1).

Example::

    table = read_csv(Path("declarations.csv"), "declarations.csv")
    table.header   # ('declaration_id', 'participant_id', ...)
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.table import Limits, Table, too_many_columns, too_many_rows

log = logging.getLogger("reconcile.read")

_SEPARATORS = (",", ";", "\t")


def decode(data: bytes, name: str) -> str:
    """UTF-8 (BOM optional), else Windows-1252 with a note."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = data[: exc.start].count(b"\n") + 1
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(Source(name, row=where),
                                  f"the file is not UTF-8 text ({exc.reason})",
                                  "save it from Excel as 'CSV UTF-8 (Comma delimited)'")]) from None
    log.warning("reconcile: note: %s is not UTF-8; read it as Windows-1252 (Excel's 'CSV' on "
                "Windows). Check names with accents; save as 'CSV UTF-8' to avoid this note.",
                name)
    return text


def _separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in _SEPARATORS}
    if counts[","]:
        return ","
    best = max(_SEPARATORS, key=counts.__getitem__)
    return best if counts[best] else ","


def read_csv(path: Path, name: str, limits: Limits | None = None) -> Table:
    limits = limits or Limits.from_environment()
    data = path.read_bytes()
    text = decode(data, name)
    if not text.strip():
        raise InputError([Problem(Source(name), "the file is empty",
                                  "export the declarations again, with a header row")])
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    sep = _separator(first_line)
    if sep != ",":
        log.warning("reconcile: note: %s is separated by %r, not commas; read it that way.",
                    name, "tab" if sep == "\t" else sep)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    header: tuple | None = None
    header_row = 0
    rows: list = []
    numbers: list[int] = []
    record = 0
    try:
        for fields in reader:
            record += 1
            if not any(f.strip() for f in fields):
                continue  # blank row (or a row of empty cells)
            if header is None:
                header, header_row = tuple(fields), record
                if len(header) > limits.max_columns:
                    raise InputError([too_many_columns(Source(name, row=record), len(header),
                                                       limits)])
                continue
            rows.append(fields)
            numbers.append(record)
            if len(rows) > limits.max_rows:
                raise InputError([too_many_rows(Source(name), len(rows), limits)])
    except csv.Error as exc:
        raise InputError([Problem(Source(name, row=record + 1),
                                  f"the CSV cannot be read here ({exc})",
                                  "check the quotes on this row: a value with a comma or quote "
                                  "in it must be in double quotes, with inner quotes doubled")]) from None
    if header is None:
        raise InputError([Problem(Source(name), "the file is empty",
                                  "export the declarations again, with a header row")])
    _rectangle(rows, numbers, header, name)
    return Table(name, None, header, rows, numbers, header_row, False, "csv")


def _rectangle(rows: list, numbers: list[int], header: tuple, name: str) -> None:
    """Pad short rows with blanks; a row with more values than the header is an error."""
    width = len(header)
    problems = []
    for index, fields in enumerate(rows):
        if len(fields) == width:
            continue
        if len(fields) < width:
            fields.extend([""] * (width - len(fields)))
        elif any(f.strip() for f in fields[width:]):
            if len(problems) < 20:
                problems.append(Problem(
                    Source(name, row=numbers[index]),
                    f"this row has {len(fields)} values but the header has {width} columns",
                    "a value with a comma in it must be in double quotes; or add the missing "
                    "header"))
        else:
            del fields[width:]
    if problems:
        raise InputError(problems)
