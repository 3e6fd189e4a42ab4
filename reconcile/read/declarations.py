"""Declarations from a table (read stage): raw rows in, ``tuple[Declaration, ...]`` out.

In: a :class:`~reconcile.read.table.Table` from any format and the rulebook's
vocabulary (declaration types, states, course → participant type, default schedule).
Out: frozen :class:`~reconcile.model.Declaration` records in file order, or one
:class:`~reconcile.errors.InputError` listing every cell that cannot be read.

What is tolerated (README "Input: declarations"): header aliases (:mod:`.columns`); Excel dates,
serials and RFC 3339 / ``YYYY-MM-DD`` / ``DD/MM/YYYY`` text; TRUE/yes/y/1 flags
(blank = false); ``_`` or spaces for ``-`` in states and types; cohort 2022.0;
surrounding spaces; blank rows.

The DfE assurance report has one row per statement line item, so a clawed-back
declaration appears twice: ``paid`` on the statement that paid it and
``awaiting-clawback``/``clawed-back`` on its clawback statement
(docs/domain.md "Things that go wrong"; the states are ``rules/vocabulary.yaml``'s
``assurance_report``). Such a pair becomes
ONE declaration in the refundable state, with ``statement_*`` from the paid row and
``clawback_statement_*`` from the other. Any other repeated declaration id is an error.

Cohort: the assurance report has no cohort column. A row without a cohort takes it
from DfE's statement named by its ``statement_id`` (when DfE statements are given),
else from the report's file name (``ECF-Declarations-<LP>-Cohort2023-<Statement>.csv``);
otherwise it is an error asking for the cohort.

Example::

    read_table_declarations(table, rulebook.vocabulary)
"""

from __future__ import annotations

import re
from itertools import repeat
from operator import itemgetter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from reconcile.errors import InputError, Problem
from reconcile.model import Declaration, DfeStatement
from reconcile.read import values
from reconcile.read.assurance import is_assurance_report, squeeze, statement_of_file_name
from reconcile.read.columns import (
    DECLARATION_ALIASES,
    DECLARATION_REQUIRED,
    Header,
)
from reconcile.read.convert import Cells, Converter, ProblemLog, report_rows
from reconcile.read.table import RawRow, Table, each_chunk, join_numbers
from reconcile.rulebook.schema import VocabularyFile

_COHORT_IN_NAME = re.compile(r"cohort[ _-]?(\d{4})", re.IGNORECASE)

_FIELDS = Declaration._fields
_TEXT_FIELDS = ("declaration_id", "participant_id", "lead_provider", "statement_id",
                "statement_name", "clawback_statement_id", "clawback_statement_name",
                "delivery_partner_id", "delivery_partner_name", "teacher_reference_number")


def _words(words: Iterable[str]) -> dict[str, str]:
    return {values.word_key(w): w for w in words}


class _Parsers:
    """The cell parser of every field, built once from the vocabulary."""

    def __init__(self, vocabulary: VocabularyFile) -> None:
        self.types = _words(vocabulary.declaration_types)
        self.states = _words(vocabulary.states)
        courses = dict(vocabulary.courses)
        self.courses = _words(courses)
        self.course_of_type: dict[str, str] = {}
        for course, ptype in courses.items():
            self.course_of_type.setdefault(ptype, course)
        self.participant_types = _words(vocabulary.participant_types or courses.values())
        # The "Type" column may also hold a course or DfE's class name
        # ("ParticipantProfile::ECT").
        for course, ptype in courses.items():
            self.participant_types.setdefault(values.word_key(course), ptype)
        # rules/vocabulary.yaml may list the report's own words (report_types: ect -> course)
        for word, course in vocabulary.report_types.items():
            if course in courses:
                self.participant_types.setdefault(values.word_key(word), courses[course])
        self.default_schedule = vocabulary.default_schedule

    def parser(self, field: str) -> Callable[[Any], object]:
        if field in ("statement_name", "clawback_statement_name"):
            return values.parse_statement_name
        if field in _TEXT_FIELDS:
            return values.parse_text
        if field == "course_identifier":
            return lambda v: values.parse_word(v, self.courses, "a course identifier")
        if field == "participant_type":
            return self._participant_type
        if field == "declaration_type":
            return lambda v: values.parse_word(v, self.types, "a declaration type")
        if field == "state":
            return lambda v: values.parse_word(v, self.states, "a declaration state")
        if field in ("declaration_date", "created_at", "updated_at"):
            return values.parse_datetime
        if field == "cohort":
            return values.parse_cohort
        if field in ("pupil_premium_uplift", "sparsity_uplift", "uplift_paid"):
            return _flag
        if field == "schedule_identifier":
            return self._schedule
        raise KeyError(field)

    def _participant_type(self, value: object) -> str | None:
        text = values.parse_text(value)
        if text is None:
            return None
        return values.parse_word(text.rsplit("::", 1)[-1], self.participant_types,
                                 "a participant type")

    def _schedule(self, value: object) -> str | None:
        text = values.parse_text(value)
        return values.word_key(text) if text else self.default_schedule


def _flag(value: object) -> bool:
    # Uplift flags: blank means the participant has no uplift (README "Input: declarations").
    return bool(values.parse_bool(value))


def _check_header(table: Table) -> Header:
    header = Header(table.header, DECLARATION_ALIASES, table.header_source, table.letters)
    problems = list(header.problems)
    for field in DECLARATION_REQUIRED:
        if field in header.positions:
            continue
        if field == "course_identifier" and "participant_type" in header.positions:
            continue
        if field == "cohort":
            continue  # may come from the statement; checked per row
        problems.append(header.missing(field))
    if problems:
        if len([c for c in header.cells if c]) == 1:
            only = header.cells[0] if header.cells else ""
            separator = next((s for s in "|;:\t" if s in only), None)
            if separator:
                problems.append(Problem(
                    table.header_source,
                    f"the header row was read as one column {only[:60]!r}: the values seem "
                    f"to be separated by {separator!r}",
                    "save the file as CSV with commas between values (Excel: 'CSV UTF-8')"))
        raise InputError(problems)
    return header


def _no_rows(table: Table) -> InputError:
    return InputError([Problem(
        table.header_source,
        "there are no declarations below the header row",
        "add one row per declaration under the header (or check you chose the right file)")])


def _drain(table: Table) -> None:
    """Read a chunked table to its end, where the sheet's own checks run (and raise)."""
    for _ in each_chunk(table):
        pass


#: the fields whose rows converted to None are looked at again (required blanks,
#: the course and cohort fallbacks)
_TRACKED = frozenset(DECLARATION_REQUIRED) | {"participant_type"}


#: the cohort of a row whose cohort the file cannot give, when reading several inputs
#: (``defer_cohort``): the read stage finds it later (participants, the participant's
#: other declarations) or reports it; it never leaves the read stage
UNKNOWN_COHORT = 0


class FileDeclarations(NamedTuple):
    """One file's declarations, the fields its header has, and the file's kind.

    ``covers``: for DfE's assurance report (:mod:`.assurance`), the statement it is
    the report of, as (provider, cohort, statement) squeezed as its file name writes
    them; None for any other file (which covers every statement).
    """

    declarations: tuple[Declaration, ...]
    fields: frozenset[str]
    kind: str
    covers: frozenset[tuple[str, int, str]] | None = None
    #: what reading it noticed (title rows, the sheet found by its headers, totals rows)
    notes: tuple[str, ...] = ()


def read_table_declarations(table: Table, vocabulary: VocabularyFile,
                            dfe_statements: Sequence[DfeStatement] = ()
                            ) -> tuple[Declaration, ...]:
    """Every row of ``table`` as a Declaration, or an InputError listing every bad cell.

    A chunked table (a big sheet) is converted chunk by chunk: only one chunk of raw
    cells is alive at a time, and the converted columns share their repeated values.
    """
    return read_declaration_table(table, vocabulary, dfe_statements).declarations


def read_declaration_table(table: Table, vocabulary: VocabularyFile,
                           dfe_statements: Sequence[DfeStatement] = (), *,
                           defer_cohort: bool = False) -> FileDeclarations:
    """:func:`read_table_declarations`, with the fields the file has.

    ``defer_cohort``: a row whose cohort neither the file, its statement nor the file
    name gives gets :data:`UNKNOWN_COHORT` instead of an error (several inputs: the
    participants or another file may give it; :mod:`.inputs` decides).
    """
    try:
        header = _check_header(table)
    except InputError:
        # a sheet's own problems (formulas without values, merged cells) are found as
        # its last chunk is read, and are reported before the header's, as ever
        _drain(table)
        raise
    parsers = _Parsers(vocabulary)
    log = ProblemLog()
    present = header.positions
    positions = [present[f] for f in present]
    converters = {field: Converter(parsers.parser(field), track=field in _TRACKED)
                  for field in present}
    columns: dict[str, Cells] = {field: [] for field in present}
    numbers: list[Sequence[int]] = []
    notes = list(table.notes)
    for rows, row_numbers, by_column in _without_footer(each_chunk(table), table, header,
                                                        notes):
        if not len(row_numbers):
            continue
        numbers.append(row_numbers)
        for field, raw in zip(present, _columns(rows, by_column, positions)):
            converted = converters[field].feed(raw)
            if columns[field]:
                columns[field] += converted
            else:
                columns[field] = converted
            del raw, converted
        del rows, by_column  # this chunk's raw cells go now
    table = table._replace(rows=[], row_numbers=join_numbers(numbers), chunks=None, columns=None)
    n = len(table.row_numbers)
    report = is_assurance_report(table.header)
    named = statement_of_file_name(Path(table.file).name) if report else None
    if not n and named is not None:
        # DfE writes the header alone for a statement with no line items: the report
        # still says the statement had none
        return FileDeclarations((), frozenset(present), table.kind, frozenset({named}),
                                tuple(notes))
    if not n:
        raise _no_rows(table)
    for field in present:
        label = header.column_of(field)
        converters[field].report(table, label, log, present[field])
        if field in DECLARATION_REQUIRED and field not in ("course_identifier", "cohort"):
            converters[field].require(table, label, log,
                                      _REQUIRED_FIX.get(field, "fill in this cell"), present[field])
    unreadable = {field: converters[field].unreadable for field in present
                  if field in ("course_identifier", "participant_type", "cohort")}

    _resolve_course(columns, unreadable, table, header, parsers, log, n)
    _resolve_cohort(columns, unreadable, table, header, log, n, dfe_statements, defer_cohort)
    log.raise_if_any()

    defaults = Declaration._field_defaults
    sources: dict[str, Iterable[Any]] = {
        "file": repeat(table.file, n), "sheet": repeat(table.sheet, n), "row": table.row_numbers}
    ordered: list[Iterable[Any]] = []
    for field in _FIELDS:
        if field in sources:
            ordered.append(sources[field])
        elif field in columns:
            ordered.append(columns[field])
        elif field == "schedule_identifier":
            ordered.append(repeat(parsers.default_schedule, n))
        else:
            ordered.append(repeat(defaults.get(field), n))
    declarations = declarations_from_columns(ordered)
    ids = columns["declaration_id"]
    fields = frozenset(present)
    covers = None
    if report:
        covers = frozenset((squeeze(d.lead_provider), d.cohort, squeeze(d.statement_name))
                           for d in declarations if d.statement_name) | (
            frozenset({named}) if named else frozenset())
    if len(set(ids)) != len(ids):
        declarations = _merge_repeats(declarations, table, header, log, vocabulary)
    if report:
        declarations = _refunds_on_their_clawback_statement(declarations, vocabulary)
    return FileDeclarations(tuple(declarations), fields, table.kind, covers, tuple(notes))


def declarations_from_columns(columns: Sequence[Iterable[Any]]) -> list[Declaration]:
    """One declaration per position of ``columns`` (one column per field, in
    ``Declaration._fields`` order, every field given).

    A hot path (a million records a national run): the records are made at C speed,
    ``tuple.__new__`` over the zipped columns, without the named tuple's Python-level
    ``__new__`` (measured at a million: 0.80 s against 1.10 s). The same records as
    :func:`declarations_from_columns_plain` (tests/test_hot_paths.py).
    """
    return list(map(tuple.__new__, repeat(Declaration), zip(*columns)))


def declarations_from_columns_plain(columns: Sequence[Iterable[Any]]) -> list[Declaration]:
    """:func:`declarations_from_columns` written plainly: the reference it is tested against."""
    return [Declaration(*values) for values in zip(*columns)]


def _refunds_on_their_clawback_statement(declarations: list[Declaration],
                                         vocabulary: VocabularyFile) -> list[Declaration]:
    """An assurance report's clawback row whose paid row is not in the file: the report's
    statement is its *clawback* statement, not the one that paid it.

    DfE's report lists the line items of one statement (``Finance::ECF::AssuranceReport::
    Query`` joins ``statement_line_items`` on that statement and reports ``sli.state`` and
    that statement's id and name), so an ``awaiting_clawback``/``clawed_back`` row is the
    refund of a declaration paid on an earlier statement, whose report may not be given.
    Its ``statement_*`` move to ``clawback_statement_*`` and the payment statement is left
    unknown (the calendar rule places it, by ``created_at``, as DfE did); a paid row in
    another report joins it again (:func:`reconcile.read.merge.refund_pair`).
    """
    refund_states = frozenset(vocabulary.assurance_report.refund_states)
    out = declarations
    for i, d in enumerate(declarations):
        if d.state in refund_states and d.clawback_statement_id is None and \
                d.clawback_statement_name is None and (d.statement_id or d.statement_name):
            if out is declarations:
                out = list(declarations)
            out[i] = d._replace(clawback_statement_id=d.statement_id,
                                clawback_statement_name=d.statement_name,
                                statement_id=None, statement_name=None)
    return out


#: the words of a totals or count row at the foot of a provider's export
_FOOTER_WORD = re.compile(r"^(grand\s+|sub\s*)?(totals?|count|sum)\s*:?$", re.IGNORECASE)
_NUMBER = re.compile(r"^£?\s*-?[\d,]+(\.\d+)?$")
#: at most this many rows at the foot of a table are taken for totals rows
_FOOTER_ROWS = 5


def _footer_word(value: object) -> bool:
    return type(value) is str and bool(_FOOTER_WORD.match(value.strip()))


def _is_footer(row: RawRow, id_at: int, participant_at: int | None) -> bool:
    """A totals row: no declaration id or participant (blank, or 'Total', 'Count'), and a
    word like that or a number elsewhere."""
    def cell(i: int | None) -> object:
        return row[i] if i is not None and i < len(row) else ""

    if not all(values.is_blank(cell(i)) or cell(i) == "" or _footer_word(cell(i))
               for i in (id_at, participant_at)):
        return False
    return any(_footer_word(c) or (isinstance(c, (int, float)) and not isinstance(c, bool))
               or (type(c) is str and bool(_NUMBER.match(c.strip()))) for c in row)


_Chunk = tuple[list[Any], Sequence[int], tuple[Any, ...] | None]


def _without_footer(chunks: Iterator[_Chunk], table: Table, header: Header,
                    notes: list[str]) -> Iterator[_Chunk]:
    """The chunks, less the totals rows at the foot of a spreadsheet or CSV (with a note).

    The last chunk is held back until the table ends, so only its foot is looked at.
    """
    id_at = header.positions.get("declaration_id")
    if table.kind == "json" or id_at is None:
        yield from chunks
        return
    participant_at = header.positions.get("participant_id")
    held = None
    for chunk in chunks:
        if held is not None:
            yield held
        held = chunk
    if held is None:
        return
    rows, numbers, by_column = held
    cut = len(rows)
    while cut and len(rows) - cut < _FOOTER_ROWS and _is_footer(rows[cut - 1], id_at,
                                                                participant_at):
        cut -= 1
    if cut < len(rows):
        skipped = ", ".join(str(n) for n in list(numbers)[cut:])
        where = f"{table.file}" + (f", sheet {table.sheet}" if table.sheet else "")
        notes.append(f"{where}: row(s) {skipped} at the foot skipped as totals (no "
                     "declaration id)")
        rows, numbers = rows[:cut], numbers[:cut]
    yield rows, numbers, by_column


_REQUIRED_FIX = {
    "declaration_id": "every declaration needs its id (the API's 'id' of the declaration)",
    "participant_id": "every declaration needs the participant's id",
    "declaration_type": "write the declaration type, e.g. started or retained-1",
    "declaration_date": "write the declaration date, e.g. 2023-10-01",
    "state": "write the declaration's state, e.g. paid or eligible",
}


def _columns(rows: list[Any], by_column: tuple[Any, ...] | None, positions: list[int]
             ) -> list[Sequence[Any]]:
    """The raw values of the wanted columns (rows are rectangular)."""
    if by_column is not None:
        return [by_column[p] for p in positions]
    if len(positions) * 2 < len(rows[0]):  # a few columns of a wide sheet
        return [list(map(itemgetter(p), rows)) for p in positions]
    transposed = list(zip(*rows))  # one C call; about twice as fast as per column
    return [transposed[p] for p in positions]


def _resolve_course(columns: dict[str, Cells], unreadable: dict[str, set[int]], table: Table,
                    header: Header, parsers: _Parsers, log: ProblemLog, n: int) -> None:
    """course_identifier from itself, or from the participant type ("Type": ect/mentor).

    The participant type always follows from the course (rules/vocabulary.yaml).
    """
    courses = columns.get("course_identifier")
    ptypes = given_types = columns.get("participant_type")
    if courses is None:
        courses = columns["course_identifier"] = [None] * n
    if ptypes is None:
        ptypes = columns["participant_type"] = [None] * n
    type_for = _vocabulary_courses(parsers)
    missing: list[int] = []
    clash: dict[tuple[Any, Any], list[int]] = {}
    derived = list(map(type_for.get, courses))
    if None in derived:  # a course missing or unreadable: take it from the participant type
        for i in range(n):
            if courses[i] is None:
                if ptypes[i] is not None:
                    courses[i] = parsers.course_of_type.get(ptypes[i])
                    derived[i] = ptypes[i]
                else:
                    missing.append(i)
    if given_types is not None and given_types != derived:
        for i, (given, expected) in enumerate(zip(ptypes, derived)):
            if given is not None and given != expected:
                clash.setdefault((courses[i], given), []).append(i)
    columns["participant_type"] = derived
    missing = [i for i in missing if not _has_bad_cell(unreadable, ("course_identifier",
                                                              "participant_type"), i)]
    if missing:
        report_rows(log, table, missing, header.column_of("course_identifier"),
                    "the course is blank",
                    "write the course identifier: " + ", ".join(parsers.courses.values()),
                    header.positions.get("course_identifier", 0))
    for (course, ptype), rows in clash.items():
        report_rows(log, table, rows, header.column_of("participant_type"),
                    f"participant type {ptype!r} does not match the course {course!r}",
                    "correct the course identifier or the participant type",
                    header.positions.get("participant_type", 0))


def _vocabulary_courses(parsers: _Parsers) -> dict[str, str]:
    return {course: parsers.participant_types[values.word_key(course)]
            for course in parsers.courses.values()}


def _has_bad_cell(unreadable: dict[str, set[int]], fields: Iterable[str], index: int) -> bool:
    """Whether row ``index`` has a non-blank (so already reported) value in ``fields``."""
    return any(index in unreadable.get(field, ()) for field in fields)


def _resolve_cohort(columns: dict[str, Cells], unreadable: dict[str, set[int]], table: Table,
                    header: Header, log: ProblemLog, n: int,
                    dfe_statements: Sequence[DfeStatement], defer: bool = False) -> None:
    cohorts = columns.get("cohort")
    if cohorts is None:
        cohorts = [None] * n
        columns["cohort"] = cohorts
    bad_cohorts = unreadable.get("cohort", ())
    if None not in cohorts:
        return
    by_statement = {s.statement_id: s.cohort for s in dfe_statements if s.statement_id}
    from_name = _COHORT_IN_NAME.search(Path(table.file).name)
    name_cohort = int(from_name.group(1)) if from_name else None
    statement_ids = columns.get("statement_id") or [None] * n
    clawback_ids = columns.get("clawback_statement_id") or [None] * n
    unresolved = []
    for i in range(n):
        if cohorts[i] is not None or i in bad_cohorts:
            continue  # a cohort, or a bad one already reported
        cohort = by_statement.get(statement_ids[i]) or by_statement.get(clawback_ids[i])
        if cohort is None:
            cohort = name_cohort
        if cohort is None:
            unresolved.append(i)
        else:
            cohorts[i] = cohort
    if unresolved and defer:
        for i in unresolved:
            cohorts[i] = UNKNOWN_COHORT
        return
    if unresolved:
        label = header.column_of("cohort")
        what, fix = cohort_problem(table.kind, "cohort" in header.positions)
        report_rows(log, table, unresolved, label, what, fix, header.positions.get("cohort", -1))


def cohort_problem(kind: str, has_column: bool) -> tuple[str, str]:
    """What is wrong, and how to fix it, for a row whose cohort cannot be found."""
    if kind == "json":
        return ("the API's declarations carry no cohort, and this one's cannot be found "
                "from its statement or its participant",
                "give DfE's statements too (--dfe-statements, e.g. the statements JSON) so each "
                "declaration takes its statement's cohort, or the participants "
                "(--participants) so it takes its participant's, or add \"cohort\": 2023 to its "
                "attributes, or put the cohort in the file name (declarations-cohort2023.json)")
    return (("there is no cohort column and the cohort cannot be found from the statement"
             if not has_column else "the cohort is blank"),
            "write the cohort (start year, e.g. 2022) in a cohort column, or give DfE's "
            "statements (--dfe-statements) so the row takes its statement's cohort")


def _merge_repeats(declarations: list[Declaration], table: Table, header: Header,
                   log: ProblemLog, vocabulary: VocabularyFile) -> list[Declaration]:
    """Merge the assurance report's paid + clawback pairs; other repeated ids are errors."""
    ids = [d.declaration_id for d in declarations]
    if len(set(ids)) == len(ids):
        return declarations
    paid_state = vocabulary.assurance_report.paid_state
    refund_states = vocabulary.assurance_report.refund_states
    seen: dict[str, list[int]] = {}
    for index, declaration_id in enumerate(ids):
        seen.setdefault(declaration_id, []).append(index)
    drop: set[int] = set()
    label = header.column_of("declaration_id")
    column_order = header.positions.get("declaration_id", 0)
    for declaration_id, indexes in seen.items():
        if len(indexes) == 1:
            continue
        rows = [declarations[i] for i in indexes]
        states = [d.state for d in rows]
        if len(rows) == 2 and paid_state in states and any(s in refund_states for s in states) \
                and states[0] != states[1]:
            paid_at = indexes[states.index(paid_state)]
            refund_at = indexes[1 - states.index(paid_state)]
            paid, refund = declarations[paid_at], declarations[refund_at]
            differs = [f for f in ("participant_id", "course_identifier", "declaration_type")
                       if getattr(paid, f) != getattr(refund, f)]
            if differs:
                log.add(Problem(
                    table.source(refund_at, header.column_of(differs[0])),
                    f"declaration {declaration_id!r} is in rows {paid.row} (paid) and "
                    f"{refund.row} ({refund.state}) but their {differs[0]} values differ",
                    "the two rows of a clawed-back declaration must describe the same "
                    "declaration: correct one of them"), (refund.row, column_order))
                continue
            first, second = sorted((paid_at, refund_at))
            declarations[first] = paid._replace(
                state=refund.state,
                clawback_statement_id=refund.clawback_statement_id or refund.statement_id,
                clawback_statement_name=refund.clawback_statement_name or refund.statement_name,
                row=paid.row)
            drop.add(second)
            continue
        numbers = [declarations[i].row for i in indexes]
        listed = ", ".join(str(r) for r in numbers[:-1]) + f" and {numbers[-1]}"
        log.add(Problem(
            table.source(indexes[1], label),
            f"declaration id {declaration_id!r} appears in rows {listed}",
            "each declaration must appear once; delete the repeated row (a clawed-back "
            f"declaration may appear twice only as '{paid_state}' and as one of "
            f"{', '.join(repr(s) for s in refund_states)})"),
            (numbers[1], column_order))
    log.raise_if_any()
    return [d for i, d in enumerate(declarations) if i not in drop]
