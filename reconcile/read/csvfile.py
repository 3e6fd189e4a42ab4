"""CSV files (read stage): bytes in, a :class:`~reconcile.read.table.Table` of text out.

Encoding: UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8"); a file
that is not UTF-8 is read as Windows-1252 (Excel's plain "CSV" on Windows) with a
note on standard error, because that is what such a file almost always is.
Separators: comma; a semicolon or tab is accepted when the header row is clearly
separated by it (Excel in some locales saves ``;``). Blank rows are skipped; row
numbers are the record numbers a spreadsheet shows (the header is row 1).

Streamed: the header is read now; the data rows come from ``table.chunks``,
:data:`CHUNK_ROWS` records at a time, straight from the file (the encoding is found
first by one pass of an incremental decoder over the bytes), so a two-million-row
export is never held whole as bytes, text or Python lists. Problems that need every
row (a row longer than the header) are raised after the last chunk, as the xlsx
reader does with a sheet's own checks.

Example::

    table = read_csv(Path("declarations.csv"), "declarations.csv")
    table.header   # ('declaration_id', 'participant_id', ...)
"""

from __future__ import annotations

import codecs
import csv
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.table import (
    HEADER_SEARCH_ROWS,
    Limits,
    RawRow,
    Table,
    best_header,
    too_many_columns,
    too_many_rows,
)

log = logging.getLogger("reconcile.read")

_SEPARATORS = (",", ";", "\t")

#: records converted at a time (the conversion is column-wise, chunk by chunk)
CHUNK_ROWS = 25_000
_BLOCK = 1 << 20


def decode(data: bytes, name: str) -> str:
    """UTF-8 (BOM optional), else Windows-1252 with a note."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = data[: exc.start].count(b"\n") + 1
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _not_text(name, where, exc) from None
    _cp1252_note(name)
    return text


def _not_text(name: str, where: int, exc: UnicodeDecodeError) -> InputError:
    return InputError([Problem(Source(name, row=where),
                               f"the file is not UTF-8 text ({exc.reason})",
                               "save it from Excel as 'CSV UTF-8 (Comma delimited)'")])


def _cp1252_note(name: str) -> None:
    log.warning("reconcile: note: %s is not UTF-8; read it as Windows-1252 (Excel's 'CSV' on "
                "Windows). Check names with accents; save as 'CSV UTF-8' to avoid this note.",
                name)


def encoding_of(path: Path, name: str) -> str:
    """``utf-8-sig`` or ``cp1252`` (with the note), found in one pass over the bytes."""
    lines = 0
    where = None
    with path.open("rb") as handle:
        decoder: codecs.IncrementalDecoder = codecs.getincrementaldecoder("utf-8")()
        while block := handle.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                where = lines + block[: exc.start].count(b"\n") + 1
                break
            lines += block.count(b"\n")
        else:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:  # cut inside the last character
                where = lines + 1
        if where is None:
            return "utf-8-sig"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        while block := handle.read(_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                raise _not_text(name, where, exc) from None
    _cp1252_note(name)
    return "cp1252"


def _separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in _SEPARATORS}
    if counts[","]:
        return ","
    best = max(_SEPARATORS, key=counts.__getitem__)
    return best if counts[best] else ","


def read_csv(path: Path, name: str, limits: Limits | None = None,
             header_score: Callable[[RawRow], int] | None = None) -> Table:
    """The header now, the rows in chunks (``table.chunks``) as the conversion asks.

    ``header_score`` (cells -> how many known columns they name): the header is the best
    of the first :data:`~reconcile.read.table.HEADER_SEARCH_ROWS` non-blank records
    (title rows above it are skipped, with a note); without it, the first.
    """
    limits = limits or Limits.from_environment()
    encoding = encoding_of(path, name)
    handle = path.open(encoding=encoding, newline="")
    try:
        first_line = ""
        for line in handle:
            if line.strip():
                first_line = line.rstrip("\r\n")
                break
        if not first_line.strip():
            raise _empty(name)
        sep = _separator(first_line)
        if sep != ",":
            log.warning("reconcile: note: %s is separated by %r, not commas; read it that way.",
                        name, "tab" if sep == "\t" else sep)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=sep, strict=True)
        record = 0
        header: tuple[str, ...] | None = None
        candidates: list[tuple[int, list[str]]] = []
        wanted = HEADER_SEARCH_ROWS if header_score is not None else 1
        try:
            for fields in reader:
                record += 1
                if "".join(fields).strip():
                    candidates.append((record, fields))
                    if len(candidates) >= wanted:
                        break
        except csv.Error as exc:
            raise _bad_quotes(name, record + 1, exc) from None
        if not candidates:
            raise _empty(name)
        at = best_header([c for _, c in candidates], header_score) if header_score else 0
        header_row, header = candidates[at][0], tuple(candidates[at][1])
        pending = candidates[at + 1:]
        notes = (f"{name}: {at} row(s) above the header (row {header_row}) skipped, as a "
                 "title",) if at else ()
        if len(header) > limits.max_columns:
            raise InputError([too_many_columns(Source(name, row=record), len(header), limits)])
    except BaseException:
        handle.close()
        raise
    return Table(name, None, header, [], [], header_row, False, "csv",
                 chunks=_chunks(handle, _numbered(pending, reader, record), len(header), name,
                                limits), notes=notes)


def _numbered(pending: list[tuple[int, list[str]]], reader: Iterator[list[str]],
              record: int) -> Iterator[tuple[int, list[str]]]:
    """(record number, fields): the records read ahead looking for the header, then the rest."""
    yield from pending
    for fields in reader:
        record += 1
        yield record, fields


def _empty(name: str) -> InputError:
    return InputError([Problem(Source(name), "the file is empty",
                               "export the declarations again, with a header row")])


def _bad_quotes(name: str, row: int, exc: csv.Error) -> InputError:
    return InputError([Problem(Source(name, row=row),
                               f"the CSV cannot be read here ({exc})",
                               "check the quotes on this row: a value with a comma or quote "
                               "in it must be in double quotes, with inner quotes doubled")])


def _chunks(handle: TextIO, records: Iterator[tuple[int, list[str]]], width: int, name: str,
            limits: Limits) -> Iterator[tuple[list[list[str]], list[int] | range]]:
    """``(rows, record numbers)`` a chunk at a time; the file is closed at the end.

    Short rows are padded with blanks; a row with more values than the header is an
    error (the first 20 are reported together after the last chunk).
    """
    problems: list[Problem] = []
    count = 0
    rows: list[list[str]] = []
    numbers: list[int] = []
    record = 0
    try:
        try:
            for record, fields in records:
                if len(fields) != width:
                    if not "".join(fields).strip():
                        continue  # blank row (or a row of empty cells)
                    if len(fields) < width:
                        fields.extend([""] * (width - len(fields)))
                    elif any(f.strip() for f in fields[width:]):
                        if len(problems) < 20:
                            problems.append(_too_long(name, record, len(fields), width))
                    else:
                        del fields[width:]
                elif not "".join(fields).strip():
                    continue
                rows.append(fields)
                numbers.append(record)
                if len(rows) >= CHUNK_ROWS:
                    count += len(rows)
                    if count > limits.max_rows:
                        raise InputError([too_many_rows(Source(name), count, limits)])
                    if not problems:
                        yield rows, _compact(numbers)
                    rows, numbers = [], []
        except csv.Error as exc:
            raise _bad_quotes(name, record + 1, exc) from None
    finally:
        handle.close()
    count += len(rows)
    if count > limits.max_rows:
        raise InputError([too_many_rows(Source(name), count, limits)])
    if problems:
        raise InputError(problems)
    yield rows, _compact(numbers)


def _too_long(name: str, record: int, values: int, width: int) -> Problem:
    return Problem(Source(name, row=record),
                   f"this row has {values} values but the header has {width} columns",
                   "a value with a comma in it must be in double quotes; or add the missing "
                   "header")


def _compact(numbers: list[int]) -> list[int] | range:
    """Consecutive record numbers as a range (no int objects kept per row)."""
    if numbers and numbers[-1] - numbers[0] == len(numbers) - 1:
        return range(numbers[0], numbers[-1] + 1)
    return numbers
