"""Excel workbooks (read stage): an ``.xlsx`` sheet in, a :class:`~reconcile.read.table.Table` out.

python-calamine (Rust) reads the cells: it is the fastest reader there is and
returns typed values (numbers as float, booleans, dates as ``datetime``, empty as
``""``). What calamine cannot tell us is checked from the sheet's XML, streamed
once without building a tree:

* a formula cell without a cached value (calamine shows it as empty, which would
  silently read as blank): refused, asking the user to paste values. Formulas
  *with* cached values are read as their values, like Excel shows them;
* the sheet's declared size (``<dimension>``) and its real extent (the furthest
  row and column any cell names), checked against the row, column and cell limits
  before calamine loads the cells, and the shared strings' declared count before it
  opens the workbook (:mod:`.sheetscan`: calamine allocates for those numbers at
  once, and a tiny malicious file would otherwise abort the process).

Merged cells come from calamine (``merged_cell_ranges``); one in the data area is
an error naming the range. The header is the first non-blank row; rows with
nothing in them are skipped; row numbers are the ones Excel shows.

Memory (a million declarations): calamine holds the whole sheet as Rust values
(about 1 GB, and 1.6 GB at its peak while it builds them; python-calamine has no
lazier way to read). The declarations sheet is therefore turned into Python values
``CHUNK_ROWS`` rows at a time (:func:`stream_sheet`), each chunk converted before
the next is made, instead of as one list of a million row lists beside it; once
the last row is read, calamine's copy is freed and handed back to the system.

Example::

    table = read_sheet(Path("decl.xlsx"), "decl.xlsx", "Declarations", Limits())
    table = stream_sheet(Path("decl.xlsx"), "decl.xlsx", "Declarations", Limits())
    for rows, numbers in table.chunks: ...
"""

from __future__ import annotations

import ctypes
import functools
import posixpath
import re
import struct
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile
import zlib
from itertools import islice, repeat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import python_calamine

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.columns import column_letter
from reconcile.read.guard import check_zip
from reconcile.read.sheetscan import (
    check_shared_strings,
    letters_to_index,
    scan_sheet,
    sheet_chunks,
)
from reconcile.read.table import (
    HEADER_SEARCH_ROWS,
    Limits,
    RawRow,
    Table,
    best_header,
    join_numbers,
    too_many_columns,
    too_many_rows,
)

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?\"")
_CHUNK = 1 << 22
#: what calamine raises for a damaged workbook (its own errors, or I/O and value errors)
_CALAMINE_ERRORS = (python_calamine.CalamineError, OSError, ValueError, RuntimeError)


def _fail(source: Source, what: str, fix: str) -> InputError:
    return InputError([Problem(source, what, fix)])


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the zip part holding its XML (from workbook.xml and its rels)."""
    try:
        book = ET.fromstring(archive.read("xl/workbook.xml"))
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError):
        return {}
    targets = {}
    for rel in rels.iter(f"{_PKG_REL}Relationship"):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
        targets[rel.get("Id")] = target
    parts: dict[str, str] = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        sheet_name = sheet.get("name")
        if sheet_name is not None:  # a sheet without a name is no sheet calamine lists
            parts[sheet_name] = targets.get(sheet.get(f"{_REL}id") or "", "")
    return parts


def check_dimension(archive: zipfile.ZipFile, part: str, source: Source, limits: Limits) -> None:
    """Refuse a sheet whose declared size (``<dimension ref="A1:Q2000001"/>``) is over the limits.

    Reads only the start of the part, before calamine loads any cell.
    """
    try:
        with archive.open(part) as stream:
            head = stream.read(65536)
    except KeyError:
        return
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(source, f"the workbook is damaged ({exc})",
                    "open it in Excel and save it again") from None
    match = _DIMENSION.search(head)
    if not match:
        return
    last_col, last_row = match.group(3), match.group(4)
    if last_row is None:
        last_col, last_row = match.group(1), match.group(2)
    rows, cols = int(last_row), letters_to_index(last_col.decode()) + 1
    if rows > limits.max_rows + 1:
        raise InputError([too_many_rows(source, rows, limits)])
    if cols > limits.max_columns:
        raise InputError([too_many_columns(source, cols, limits)])


def _inflate(path: Path, part: str, stop: threading.Event | None) -> Iterator[bytes]:
    """The part's XML in chunks of at most ``_CHUNK`` bytes.

    Deflate is undone with zlib directly (no per-read overhead, no CRC: calamine
    checks the file), which is about twice as fast as ``ZipFile.open``.
    """
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
        if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
            with archive.open(info) as stream:
                while stop is None or not stop.is_set():
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        return
                    yield chunk
            return
    with path.open("rb") as raw:
        raw.seek(info.header_offset)
        local = raw.read(30)
        if local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"no local header for {part}")
        name_length, extra_length = struct.unpack("<HH", local[26:30])
        raw.seek(info.header_offset + 30 + name_length + extra_length)
        left = info.compress_size
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        while left > 0 and (stop is None or not stop.is_set()):
            data = raw.read(min(1 << 20, left))
            if not data:
                raise EOFError(f"{part} is cut short")
            left -= len(data)
            while data:
                chunk = inflater.decompress(data, _CHUNK)
                data = inflater.unconsumed_tail
                if chunk:
                    yield chunk
        rest = inflater.flush()
        if rest:
            yield rest


def _choose_sheet(names: list[str], wanted: str | None, source: Source) -> str:
    if not names:
        raise _fail(source, "the workbook has no sheets", "add a sheet with a header row")
    if wanted is None:
        return names[0]
    for name in names:
        if name.strip().lower() == wanted.lower():
            return name
    return names[0]


def open_workbook(path: Path, name: str, limits: Limits
                  ) -> tuple[python_calamine.CalamineWorkbook, dict[str, str]]:
    """(calamine workbook, sheet parts) after the zip checks."""
    archive = check_zip(path, name, limits)
    try:
        parts = sheet_parts(archive)
        check_shared_strings(archive, name, limits)  # before calamine reads them
    finally:
        archive.close()
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except python_calamine.PasswordError:
        raise _fail(Source(name), "the workbook is password-protected",
                    "remove the password in Excel and save it again") from None
    except _CALAMINE_ERRORS as exc:
        raise _fail(Source(name), f"the workbook cannot be read ({type(exc).__name__}: {exc})",
                    "open it in Excel and save it again as 'Excel Workbook (.xlsx)'") from None
    return book, parts


#: rows converted at a time: a chunk of raw Python cells is a few tens of MB at most
CHUNK_ROWS = 25_000


def read_sheet(path: Path, name: str, wanted: str | None, limits: Limits, *,
               book: python_calamine.CalamineWorkbook | None = None,
               parts: dict[str, str] | None = None, required: bool = False) -> Table:
    """The sheet ``wanted`` (case-insensitive; else the first sheet) as a Table, every row in memory."""
    table = stream_sheet(path, name, wanted, limits, book=book, parts=parts, required=required)
    rows: list[RawRow] = []
    numbers: list[list[int] | range] = []
    assert table.chunks is not None  # a sheet is read in chunks (stream_sheet)
    for chunk, chunk_numbers in table.chunks:
        rows += chunk
        numbers.append(chunk_numbers)
    return table._replace(rows=rows, row_numbers=join_numbers(numbers), chunks=None)


def _sheet_by_headers(book: python_calamine.CalamineWorkbook, names: list[str],
                      wanted: str | None, score: Callable[[RawRow], int],
                      guard: Callable[[str], None] | None = None) -> str | None:
    """The sheet whose first rows hold the best header (at least 3 known columns), when
    the workbook has no sheet named ``wanted`` and its first sheet's header is not one.
    ``guard(sheet_name)`` checks a sheet before calamine loads it (:func:`_scan`)."""
    def best(sheet_name: str) -> int:
        if guard is not None:
            guard(sheet_name)
        try:
            rows = list(islice(book.get_sheet_by_name(sheet_name).iter_rows(),
                               HEADER_SEARCH_ROWS))
        except _CALAMINE_ERRORS:
            return 0
        return max((score(r) for r in rows), default=0)

    if len(names) < 2 or (wanted and any(n.strip().lower() == wanted.lower() for n in names)):
        return None
    if best(names[0]) >= 3:
        return None
    scored = [(best(n), -i, n) for i, n in enumerate(names[1:], 1)]
    found = max(scored)
    return found[2] if found[0] >= 3 else None


def stream_sheet(path: Path, name: str, wanted: str | None, limits: Limits, *,
                 book: python_calamine.CalamineWorkbook | None = None,
                 parts: dict[str, str] | None = None, required: bool = False,
                 chunk_rows: int | None = None,
                 header_score: Callable[[RawRow], int] | None = None) -> Table:
    """The sheet ``wanted`` (case-insensitive; else the first sheet) as a Table read in chunks.

    The header is found now (problems with the sheet itself raise here); the data
    rows come from ``table.chunks``, ``chunk_rows`` at a time, as calamine's cells
    turn into Python values, so the whole sheet is never held as Python lists. The
    checks that need every row (formulas without saved values, merged cells) run
    when the last chunk has been read, and raise from there.
    """
    if book is None:
        book, parts = open_workbook(path, name, limits)
    names = list(book.sheet_names)
    if required and wanted and all(n.strip().lower() != wanted.lower() for n in names):
        raise _fail(Source(name), f"the workbook has no sheet named {wanted!r} "
                                  f"(its sheets: {', '.join(repr(n) for n in names)})",
                    f"name the sheet {wanted!r} (or use the template: reconcile template)")
    notes: list[str] = []
    def guard(sheet_name: str) -> None:  # calamine loads a whole sheet: scan it first
        part = (parts or {}).get(sheet_name)
        if part:
            _scan(path, part, Source(name, sheet_name), limits)

    by_headers = (_sheet_by_headers(book, names, wanted, header_score, guard)
                  if header_score is not None and not required else None)
    sheet_name = by_headers or _choose_sheet(names, wanted, Source(name))
    if by_headers:
        notes.append(f"{name}: the declarations were read from sheet {by_headers!r}, found by "
                     f"its headers (the workbook has no sheet {wanted!r}; --sheet NAME "
                     "chooses another)")
    source = Source(name, sheet_name)
    part = (parts or {}).get(sheet_name)
    formula_cells: list[str] = []
    if part:
        with zipfile.ZipFile(path) as archive:
            check_dimension(archive, part, source, limits)
        formula_cells = _scan(path, part, source, limits)
    try:
        sheet = book.get_sheet_by_name(sheet_name)
    except _CALAMINE_ERRORS as exc:
        raise _fail(source, f"the sheet cannot be read ({type(exc).__name__}: {exc})",
                    "open the workbook in Excel and save it again") from None
    if sheet.height > limits.max_rows + 1:
        raise InputError([too_many_rows(source, sheet.height, limits)])
    if sheet.width > limits.max_columns:
        raise InputError([too_many_columns(source, sheet.width, limits)])
    chunks = _kept_rows(_row_chunks(sheet, chunk_rows or CHUNK_ROWS))
    header = None
    for rows, numbers, empties in chunks:
        if len(numbers):
            at = best_header(rows, header_score) if header_score is not None else 0
            header, header_row = tuple(rows[at]), numbers[at]
            first = (rows[at + 1:], numbers[at + 1:],
                     empties - sum(r.count("") for r in rows[:at + 1]))
            if at:
                notes.append(f"{name}, sheet {sheet_name}: {at} row(s) above the header "
                             f"(row {header_row}) skipped, as a title")
            break
    if header is None:
        raise _fail(source, "the sheet is empty",
                    "put the header row in row 1 and one row per record below it")
    # merged cells in the data (below the header): reported with the sheet's other problems
    merged = [r for r in (sheet.merged_cell_ranges or ()) if r[1][0] + 1 >= header_row]
    check = _SheetCheck(source, formula_cells, merged)
    return Table(name, sheet_name, header, [], [], header_row, True, "xlsx",
                 chunks=_checked(first, chunks, check), notes=tuple(notes))


def _scan(path: Path, part: str, source: Source, limits: Limits) -> list[str]:
    """The sheet's XML scanned once before calamine loads it (:func:`.sheetscan.scan_sheet`):
    its real extent checked, the formulas with no saved value returned."""
    try:
        return scan_sheet(sheet_chunks(path, part, _inflate), source, limits,
                          rescan=lambda: sheet_chunks(path, part, _inflate))
    except KeyError:
        return []
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(Source(str(path)), f"the workbook is damaged ({exc})",
                    "open it in Excel and save it again") from None


class _SheetCheck(NamedTuple):
    source: Source
    formula_cells: list[str]
    merged: list[tuple[tuple[int, int], tuple[int, int]]]


#: a row of calamine's cells (a list: counted at C speed)
_Row = list[Any]
#: a chunk of a sheet: its rows kept, their row numbers, and the empty cells among them
_Kept = tuple[list[_Row], Sequence[int], int]


def _checked(first: _Kept, chunks: Iterator[_Kept], check: _SheetCheck
             ) -> Iterator[tuple[list[_Row], Sequence[int]]]:
    """The data chunks ``(rows, numbers)``; then the checks that needed every row.

    No chunk is referenced here once the next is asked for, and when the last has
    been read the sheet is gone (only the row generators held it): its memory is
    handed back before the checks, the conversion and the rest of the run.
    """
    empty_in_data = 0
    pending: _Kept | None = first
    del first
    while pending is not None:
        rows, numbers, empties = pending
        pending = None
        empty_in_data += empties
        if len(numbers):
            yield rows, numbers
        del rows, numbers
        pending = next(chunks, None)
    del chunks
    release_memory()
    _check_sheet(check, empty_in_data)


def _check_sheet(check: _SheetCheck, empty_in_data: int) -> None:
    """Formulas without saved values and merged cells in the data: an InputError."""
    # A formula with no saved value reads as an empty cell: with no empty cell in
    # the data, the ones found are outside it (the header, a blank row).
    formula_cells = check.formula_cells if empty_in_data > 0 else []
    source = check.source
    problems = []
    if formula_cells:
        shown = ", ".join(formula_cells[:10]) + (" ..." if len(formula_cells) > 10 else "")
        problems.append(Problem(
            source._replace(row=_row_of(formula_cells[0]), column=_col_of(formula_cells[0])),
            f"{len(formula_cells)}{'+' if len(formula_cells) >= 50 else ''} cell(s) hold a "
            f"formula with no saved value ({shown}), so their values cannot be read",
            "open the file in Excel and save it (Excel stores the values), or copy the sheet "
            "and Paste Special > Values"))
    for (r0, c0), (r1, c1) in check.merged[:20]:
        cells = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
        problems.append(Problem(
            source._replace(row=r0 + 1, column=column_letter(c0)),
            f"the cells {cells} are merged, so only the first holds a value",
            "unmerge them (Home > Merge & Center > Unmerge Cells) and fill in every cell"))
    if problems:
        raise InputError(problems)


def _row_chunks(sheet: python_calamine.CalamineSheet, size: int) -> Iterator[list[_Row]]:
    """The sheet's rows from A1 (as ``to_python(skip_empty_area=False)``), ``size`` at a time."""
    start = sheet.start
    if start is None:  # no cells at all
        return
    if tuple(start) == (0, 0):
        rows = sheet.iter_rows()
        while True:
            chunk = list(islice(rows, size))
            if not chunk:
                return
            yield chunk
            del chunk
    # Data not from A1 (rare): python-calamine's row iterator starts at the data's
    # first column, so take the padded rows and hand them out a chunk at a time.
    padded = sheet.to_python(skip_empty_area=False)
    padded.reverse()
    while padded:
        chunk = padded[-size:]
        del padded[-size:]
        chunk.reverse()
        yield chunk
        del chunk


def _kept_rows(chunks: Iterator[list[_Row]]) -> Iterator[_Kept]:
    """``(rows, numbers, empty cells)`` per chunk, rows with nothing in them left out.

    ``numbers`` are the row numbers Excel shows (a range when no row was left out);
    ``empty cells`` counts the empty cells of the rows kept.
    """
    start = 0
    for rows in chunks:
        width = len(rows[0])
        # Rows of calamine are rectangular; "" is an empty cell.
        empties = list(map(list.count, rows, repeat("")))  # at C speed
        if width and empties.count(width) == 0 and max(empties) < width - 3:
            # the usual chunk: no blank row (checked at C speed)
            yield rows, range(start + 1, start + len(rows) + 1), sum(empties)
        else:
            keep = [i for i, count in enumerate(empties) if count != width and (
                count < width - 3 or not _blank_row(rows[i]))]
            yield ([rows[i] for i in keep], [start + i + 1 for i in keep],
                   sum(empties[i] for i in keep))
            del keep
        start += len(rows)
        del rows, empties


def release_memory() -> None:
    """Hand freed memory back to the system (glibc's ``malloc_trim``; elsewhere nothing)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None


def _blank_row(row: RawRow) -> bool:
    return all(c == "" or (type(c) is str and not c.strip()) for c in row)


def _row_of(cell: str) -> int:
    return int(re.sub(r"[A-Z]+", "", cell))


def _col_of(cell: str) -> str:
    return re.sub(r"\d+", "", cell)
