"""The shape every input takes before conversion (read stage): a header and raw rows.

In: what a format reader (:mod:`.xlsx`, :mod:`.csvfile`, :mod:`.apijson`) found.
Out: a :class:`Table`, whose rows are raw cell values (blank rows removed) with the
row number the user sees (spreadsheet row, CSV record, JSON record). A big sheet's
rows come in chunks instead (``chunks``; see :func:`each_chunk`), so that only one
chunk of raw cells is alive at a time.

>>> t = Table("d.csv", None, ("id", "state"), [("a", "paid")], [2])
>>> t.source(0, "state")
Source(file='d.csv', sheet=None, row=2, column='state', line=None)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from reconcile.errors import Problem
from reconcile.model import Source


#: a row as read, before any conversion: the file's own values (text, numbers, dates...)
RawRow = Sequence[Any]
#: a chunk of rows: (rows, their row numbers) or, from JSON, (records, numbers, columns)
Chunk = tuple[Any, ...]


class Table(NamedTuple):
    file: str  # as shown in messages
    sheet: str | None
    header: tuple[Any, ...]  # raw header cells
    rows: list[RawRow]  # the rows of raw values, blank rows removed
    row_numbers: Sequence[int]  # the row number the user sees, per row (a range or a list)
    header_row: int | None = 1  # None: no header row (JSON)
    letters: bool = False  # name columns by letter too (workbooks)
    kind: str = "table"  # "xlsx", "csv" or "json": how strict the converters are
    #: the values by column when the reader already has them so (JSON); else None
    columns: tuple[Any, ...] | None = None
    #: the rows in chunks, ``(rows, row_numbers)`` at a time (an xlsx sheet, a CSV), or
    #: ``(records, row_numbers, columns)`` (JSON); ``rows`` and ``row_numbers`` are then
    #: empty. Consumed once: see :func:`each_chunk`.
    chunks: Iterator[Chunk] | None = None
    #: what reading the file noticed (title rows skipped above the header, the sheet
    #: found by its headers), for the Rules sheet and the progress output
    notes: tuple[str, ...] = ()

    def source(self, index: int | None = None, column: str | None = None) -> Source:
        row = None if index is None else self.row_numbers[index]
        return Source(self.file, self.sheet, row, column)

    @property
    def header_source(self) -> Source:
        return Source(self.file, self.sheet, self.header_row)


def each_chunk(table: Table) -> Iterator[tuple[list[Any], Sequence[int],
                                               tuple[Any, ...] | None]]:
    """``(rows, row_numbers, columns)`` per chunk: the table's chunks, or the whole table as one.

    ``columns`` is the table's by-column values (JSON) or None.
    """
    if table.chunks is None:
        yield table.rows, table.row_numbers, table.columns
        return
    for chunk in table.chunks:
        # (rows, numbers), or (records, numbers, columns) from a reader that has them
        # by column already (JSON)
        rows, numbers, columns = (*chunk, None)[:3]
        del chunk
        yield rows, numbers, columns
        del rows, numbers, columns  # not held while the next chunk is read


def join_numbers(parts: Sequence[Sequence[int]]) -> Sequence[int]:
    """The row numbers of consecutive chunks as one sequence (a range when contiguous).

    >>> join_numbers([range(2, 5), range(5, 7)])
    range(2, 7)
    >>> join_numbers([range(2, 4), [5, 7]])
    [2, 3, 5, 7]
    """
    ranges = [p for p in parts if isinstance(p, range) and p.step == 1]
    if len(ranges) == len(parts):
        ranges = [p for p in ranges if len(p)]
        if not ranges:
            return range(0)
        if all(a.stop == b.start for a, b in zip(ranges, ranges[1:])):
            return range(ranges[0].start, ranges[-1].stop)
        parts = ranges
    if len(parts) == 1:
        return parts[0]
    joined: list[int] = []
    for part in parts:
        joined.extend(part)
    return joined


class Limits(NamedTuple):
    """How big an input may be before it is refused (documented here and in the reconcile.read docstring).

    Each can be changed by an environment variable, e.g. ``RECONCILE_MAX_ROWS``.
    """

    max_rows: int = 2_000_000
    max_columns: int = 200
    #: cells a workbook sheet may span, from A1 to its last row and column (a reader
    #: holds every one of them: 100 million is about 3 GB)
    max_cells: int = 100_000_000
    #: distinct texts a workbook may declare in its shared-strings part
    max_strings: int = 50_000_000
    #: total uncompressed size of a workbook's parts, in bytes (4 GiB)
    max_unzipped_bytes: int = 4 * 1024 ** 3
    #: a part this many times bigger than its compressed size is a zip bomb
    max_ratio: int = 500
    #: compressed/uncompressed bytes below which the ratio is not checked (1 MiB)
    ratio_floor: int = 1024 ** 2
    #: JSON and CSV files bigger than this are refused (bytes; 2 GiB)
    max_text_bytes: int = 2 * 1024 ** 3

    @classmethod
    def from_environment(cls) -> Limits:
        values = {}
        for field in cls._fields:
            text = os.environ.get("RECONCILE_" + field.upper())
            if text:
                try:
                    values[field] = int(text)
                except ValueError:
                    pass
        return cls(**values)


#: how far down a sheet or CSV the header row is looked for (title rows above it)
HEADER_SEARCH_ROWS = 20


def best_header(candidates: Sequence[RawRow], score: Callable[[RawRow], int]) -> int:
    """The index of the header among the first rows: the row whose cells name the most
    known columns (at least 3), else the first row.

    >>> best_header([("Declarations of May",), ("id", "state", "cohort")],
    ...             lambda cells: sum(c in ("id", "state", "cohort") for c in cells))
    1
    """
    best, best_score = 0, 2
    for index, cells in enumerate(candidates[:HEADER_SEARCH_ROWS]):
        found = score(cells)
        if found > best_score:
            best, best_score = index, found
    return best


def too_many_rows(source: Source, rows: int, limits: Limits) -> Problem:
    return Problem(source, f"the sheet has {rows:,} rows, more than the limit of "
                           f"{limits.max_rows:,}",
                   "split the file by cohort or lead provider, or raise the limit "
                   "with the environment variable RECONCILE_MAX_ROWS")


def too_many_cells(source: Source, rows: int, columns: int, limits: Limits) -> Problem:
    return Problem(source, f"the sheet spans {rows:,} rows by {columns:,} columns "
                           f"({rows * columns:,} cells), more than the limit of "
                           f"{limits.max_cells:,} cells",
                   "delete the empty rows and columns around the data (or a stray cell far "
                   "from it), split the file, or raise the limit with RECONCILE_MAX_CELLS")


def too_many_columns(source: Source, columns: int, limits: Limits) -> Problem:
    return Problem(source, f"the sheet has {columns:,} columns, more than the limit of "
                           f"{limits.max_columns:,}",
                   "delete the columns the tool does not need (see the template), or raise "
                   "the limit with RECONCILE_MAX_COLUMNS")
