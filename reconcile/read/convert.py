"""Column-wise conversion of a table (read stage): raw columns in, typed columns out.

Each column is converted by one cell parser (:mod:`.values`) memoised on the raw
value: a million ``paid`` cells cost one parse. Every cell that cannot be read
becomes a :class:`~reconcile.errors.Problem` naming file, sheet, row and column;
identical bad values in many rows are reported once, with the other rows counted,
so a finance user sees the ten things to fix rather than ten thousand lines.

>>> log = ProblemLog()
>>> from reconcile.read.table import Table
>>> t = Table("d.csv", None, ("cohort",), [("2022",), ("x",)], [2, 3])
>>> convert(["2022", "x"], values.parse_cohort, t, "cohort", log)
[2022, None]
>>> str(log.sorted()[0])
"d.csv, row 3, column cohort: 'x' is not a whole number — write a whole number, e.g. 2022"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from reconcile.errors import PROBLEM_LIMIT, InputError, Problem
from reconcile.findings import Finding, finding
from reconcile.model import Source
from reconcile.read import values
from reconcile.read.table import Table
from reconcile.read.values import BadValue
from reconcile.textsafe import REPLACEMENT, UNSAFE, clean, describe

#: the findings readers make while reading (text replaced), collected per run by
#: :func:`collect_notes`; readers called on their own (tests) make none
_NOTES: ContextVar[list[Finding] | None] = ContextVar("reconcile_read_notes", default=None)


@contextmanager
def collect_notes() -> Iterator[list[Finding]]:
    """The findings the readers make inside the ``with`` block."""
    notes: list[Finding] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def note(found: Finding) -> None:
    """A reader's finding, for the run collecting them (:func:`collect_notes`)."""
    notes = _NOTES.get()
    if notes is not None:
        notes.append(found)


class ProblemLog:
    """Collects problems up to a limit; :meth:`raise_if_any` raises one InputError with all."""

    def __init__(self, limit: int = PROBLEM_LIMIT) -> None:
        self.limit = limit
        #: (sort key: row, then column; a row may be unknown), problem
        self.problems: list[tuple[tuple[Any, ...], Problem]] = []
        self.hidden = 0

    def add(self, problem: Problem, order: tuple[int | None, ...] = ()) -> None:
        if len(self.problems) < self.limit - 1:
            self.problems.append((order, problem))
        else:
            self.hidden += 1

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    @property
    def full(self) -> bool:
        return len(self.problems) >= self.limit - 1

    def __bool__(self) -> bool:
        return bool(self.problems)

    def sorted(self) -> list[Problem]:
        found = [p for _, p in sorted(self.problems, key=lambda item: item[0])]
        if self.hidden:
            first = found[0].source if found else Source("")
            found.append(Problem(first._replace(row=None, column=None),
                                 f"... and {self.hidden:,} more problem(s) not listed",
                                 "fix the problems above and run again to see the rest"))
        return found

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.sorted())


def _rows_text(rows: list[int], shown: int = 5) -> str:
    listed = ", ".join(str(r) for r in rows[:shown])
    more = len(rows) - shown
    return f"{listed} and {more:,} more" if more > 0 else listed


def report_rows(log: ProblemLog, table: Table, indexes: list[int], column: str,
                what: str, fix: str, order_column: int = 0) -> None:
    """One problem at the first row; the other rows with the same problem are counted."""
    first = indexes[0]
    if len(indexes) > 1:
        others = [table.row_numbers[i] for i in indexes[1:]]
        what = f"{what} (the same in row{'s' if len(others) > 1 else ''} {_rows_text(others)})"
    log.add(Problem(table.source(first, column), what, fix),
            (table.row_numbers[first], order_column))


#: a column's cells as read (the file's own values), and as converted
RawCells = Sequence[Any]
Cells = list[Any]


def convert(raw: RawCells, parse: Callable[[Any], object], table: Table, column: str,
            log: ProblemLog, order_column: int = 0) -> Cells:
    """``parse`` applied to every value of a column, once per distinct value.

    Values that cannot be read become ``None`` in the result and a problem in ``log``.
    Two shapes skip the per-value parser entirely (the hot path at a million rows):
    a text column whose cells are all text, and a date column whose cells are all
    Excel date-time cells.
    """
    converter = Converter(parse)
    converted = converter.feed(raw)
    converter.report(table, column, log, order_column)
    return converted


#: distinct raw values remembered per column across chunks; past this the column is
#: mostly distinct (ids, moments) and the memo only costs memory, so it starts again
MEMO_LIMIT = 100_000


class Converter:
    """:func:`convert` for a column that arrives in chunks (a big sheet, read chunk by chunk).

    What needs the whole column is kept across chunks: the memo of parsed values
    (equal cells give one shared object), the rows of every unreadable value
    (reported once at the end, the other rows counted, as :func:`convert` does), and,
    with ``track``, the rows converted to ``None``: ``blank`` (for :meth:`require`) and
    ``unreadable`` (non-blank cells already reported, which the course and cohort
    fallbacks must not report again). Text cells are shared too: a million rows of
    a few providers or partners hold a few strings, not a million.

    >>> c = Converter(values.parse_text)
    >>> a, b = c.feed([" North ", "x"]), c.feed(["North"])
    >>> a[0] is b[0]
    True
    """

    def __init__(self, parse: Callable[[Any], object], track: bool = False) -> None:
        self.parse = parse
        self.fast = _FAST.get(parse)
        #: text columns: characters no output can hold are replaced (and noted)
        self.text = parse in _TEXT_PARSERS
        self.replaced: list[int] = []
        self.replaced_chars = ""
        self.track = track
        self.count = 0
        self.results: dict[Any, object] = {}
        self.bad: dict[Any, BadValue] = {}
        self.where: dict[Any, list[int]] = {}
        self.blank: list[int] = []
        self.unreadable: set[int] = set()
        #: canonical text objects of a fast-path text column (None: mostly distinct)
        self.shared: dict[str | None, str | None] | None = {}

    def feed(self, raw: RawCells) -> Cells:
        """The converted values of the next chunk of the column."""
        offset = self.count
        self.count += len(raw)
        converted = None
        if self.fast is not None:
            converted = self.fast(raw, set(map(type, raw)))
            if converted is not None and self.fast is _fast_text:
                converted = self._share(converted)
        if converted is None:
            converted = self._parse(raw, offset)
        if self.text:
            converted = self._safe_text(converted, offset)
        if self.track and None in converted:
            is_blank = values.is_blank
            for index, value in enumerate(converted):
                if value is None:
                    if is_blank(raw[index]):
                        self.blank.append(offset + index)
                    else:
                        self.unreadable.add(offset + index)
        return converted

    def _parse(self, raw: RawCells, offset: int) -> Cells:
        results, bad, parse = self.results, self.bad, self.parse
        if len(results) > MEMO_LIMIT:
            results.clear()
        distinct = dict.fromkeys(raw)
        for value in distinct:
            if value in results:
                continue
            try:
                results[value] = parse(value)
            except BadValue as exc:
                results[value] = None
                bad[value] = exc
        converted = list(map(results.__getitem__, raw))
        if bad and not bad.keys().isdisjoint(distinct):
            where = self.where
            for index, value in enumerate(raw):
                if value in bad:
                    where.setdefault(value, []).append(offset + index)
        return converted

    def _safe_text(self, texts: Cells, offset: int) -> Cells:
        """Texts with the characters no output can hold replaced by U+FFFD
        (:mod:`reconcile.textsafe`); the rows are remembered for :meth:`report`.
        One C-speed check of the whole chunk when, as always, there are none."""
        joined = "".join([text for text in texts if text is not None])
        if joined.isprintable() or UNSAFE.search(joined) is None:
            return texts
        if len(self.replaced_chars) < 40:
            self.replaced_chars += "".join(UNSAFE.findall(joined))[:40]
        safe = list(texts)
        for index, text in enumerate(texts):
            if text is not None and UNSAFE.search(text):
                safe[index] = clean(text)
                self.replaced.append(offset + index)
        return safe

    def _share(self, texts: Cells) -> Cells:
        shared = self.shared
        if shared is None:
            return texts
        distinct = dict.fromkeys(texts)
        if len(distinct) * 2 > len(texts) and len(texts) > 64:
            self.shared = None  # ids: nothing to share
            return texts
        setdefault = shared.setdefault
        canonical = {text: setdefault(text, text) for text in distinct}
        return list(map(canonical.__getitem__, texts))

    def report(self, table: Table, column: str, log: ProblemLog, order_column: int = 0) -> None:
        """A problem per kind of unreadable value (first row named, the others counted).

        Values with the same fix are one kind: a column of dates in a form the tool
        cannot read is one message with its first rows and the count of the rest, not
        one line per row.
        """
        kinds: dict[str, list[Any]] = {}
        for value in self.where:
            kinds.setdefault(self.bad[value].fix, []).append(value)
        for fix, bad_values in kinds.items():
            if len(bad_values) == 1:
                value = bad_values[0]
                report_rows(log, table, self.where[value], column, self.bad[value].what, fix,
                            order_column)
                continue
            indexes = sorted(i for value in bad_values for i in self.where[value])
            first = min(bad_values, key=lambda v: self.where[v][0])
            others = [v for v in bad_values if v is not first][:3]
            shown = ", ".join(values.show_value(v) for v in others)
            more = len(bad_values) - 1 - len(others)
            what = (f"{self.bad[first].what}; {len(bad_values) - 1:,} other value(s) in this "
                    f"column have the same problem ({shown}{' ...' if more > 0 else ''})")
            report_rows(log, table, indexes, column, what, fix, order_column)
        if self.replaced:
            rows = [table.row_numbers[i] for i in self.replaced]
            note(finding(
                "READ_TEXT_REPLACED",
                f"{len(rows):,} value(s) of column {column} held characters no file can hold "
                f"({describe(self.replaced_chars)}: control characters or broken Unicode); "
                f"each was replaced by {REPLACEMENT} (row(s) {_rows_text(rows)})",
                source=table.source(self.replaced[0], column)))

    def require(self, table: Table, column: str, log: ProblemLog, fix: str,
                order_column: int = 0) -> None:
        """:func:`require` for a tracked column: a problem for its blank cells (grouped)."""
        if self.blank:
            report_rows(log, table, self.blank, column, "this required value is blank", fix,
                        order_column)


def _fast_text(raw: RawCells, kinds: set[type]) -> Cells | None:
    if kinds == {float} and all(map(float.is_integer, raw)):
        # whole-number cells holding ids (TRN): the digits as typed
        return list(map(str, map(int, raw)))
    if kinds != {str}:
        return None
    out: Cells = list(map(str.strip, raw))
    if "" in out:
        out = [text or None for text in out]
    return out


def _fast_datetime(raw: RawCells, kinds: set[type]) -> Cells | None:
    """Excel date and date-time cells (no zone: taken as UTC, as values.parse_datetime)."""
    if not kinds <= {dt.datetime, dt.date}:
        return None
    sample = raw[:1000]
    if dt.datetime not in kinds or len(set(sample)) * 2 <= len(sample):
        # dates, or few distinct moments: each distinct value once
        results = {value: _utc(value) for value in dict.fromkeys(raw)}
        return list(map(results.__getitem__, raw))
    utc, moment_type = values.UTC, dt.datetime
    if kinds == {moment_type}:
        return [moment.replace(tzinfo=utc) for moment in raw]
    # calamine gives a date for a date-time cell that falls exactly on midnight
    return [value.replace(tzinfo=utc) if type(value) is moment_type else _utc(value)
            for value in raw]


def _utc(value: dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=values.UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=values.UTC)


_FAST: dict[Callable[[Any], object], Callable[[RawCells, set[type]], Cells | None]] = {
    values.parse_text: _fast_text, values.parse_datetime: _fast_datetime}
#: parsers whose values are free text (the others give words of the vocabulary)
_TEXT_PARSERS = frozenset({values.parse_text, values.parse_statement_name})


def require(converted: Cells, raw: RawCells, table: Table, column: str, log: ProblemLog,
            fix: str, order_column: int = 0) -> None:
    """A problem for every blank cell of a required column (grouped)."""
    if None not in converted:
        return
    blanks = [i for i, v in enumerate(converted) if v is None and values.is_blank(raw[i])]
    if blanks:
        report_rows(log, table, blanks, column, "this required value is blank", fix, order_column)
