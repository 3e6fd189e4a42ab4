"""DfE statements (read stage): a statements workbook or API JSON in, ``tuple[DfeStatement]`` out.

Workbook (README "Input: DfE statements"; ``reconcile template dfe-statements``):

* sheet ``Statements``: ``statement_id``, ``lead_provider``, ``cohort``, ``name``
  ("May 2023"), ``cut_off_date``, ``payment_date``, ``output_fee``, ``paid`` (blank =
  false), ``vat_chargeable`` (optional), ``total`` (optional, VAT included),
  ``contract_version`` (optional: the contract version DfE used, e.g. 0.0.3);
* sheet ``Lines`` (optional): one money line per row, ``statement_id``, ``line_type``
  (output, clawback, uplift, uplift_clawback, service_fee, adjustment, vat),
  ``participant_type``, ``declaration_type``, ``band``, ``count``,
  ``fee_per_declaration``, ``amount`` (signed: clawbacks negative), ``description``.

Amounts are exact Decimals via :func:`reconcile.money.to_decimal` (numeric cells
arrive from calamine as floats and are read through their shortest repr, which is
what was typed). Every line must name a statement of the Statements sheet.

JSON (``GET /api/v3/statements``): metadata only; ``name`` is "<month> <year>",
``output_fee`` is True (the API lists only output-fee statements), no lines.

Example::

    statements = read_statements_file(Path("dfe-statements.xlsx"), rulebook.vocabulary)
    statements[0].lines[0].amount     # Decimal('1194.00')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from reconcile.errors import InputError, Problem
from reconcile.model import DfeLine, DfeStatement, Source
from reconcile.read import values
from reconcile.read.columns import (
    LINE_ALIASES,
    LINE_REQUIRED,
    LINE_TYPES,
    STATEMENT_ALIASES,
    STATEMENT_REQUIRED,
    Header,
)
from reconcile.findings import finding
from reconcile import textsafe
from reconcile.read.convert import ProblemLog, convert, note, report_rows, require
from reconcile.read.guard import check_file
from reconcile.read.apijson import read_statements_json
from reconcile.read.table import Limits, Table
from reconcile.read.xlsx import open_workbook, read_sheet
from reconcile.rulebook.schema import VocabularyFile

_Parsed = TypeVar("_Parsed")
#: each field's cell parser
_Parsers = dict[str, Callable[[Any], object]]

_LINE_TYPES = {values.word_key(t): t for t in LINE_TYPES}


def read_statements_file(path: Path, vocabulary: VocabularyFile | None = None, *,
                         limits: Limits | None = None, largest_amount: Decimal | None = None,
                         largest_count: int | None = None) -> tuple[DfeStatement, ...]:
    limits = limits or Limits.from_environment()
    name = str(path)
    kind = check_file(path, name, "DfE statements")
    if kind == "json":
        return _from_json(path, name)
    if kind == "csv":
        raise InputError([Problem(Source(name), "DfE statements are read from a workbook with "
                                  "two sheets (Statements and Lines) or from the API's JSON, "
                                  "not from a CSV file",
                                  "start from 'reconcile template dfe-statements --out "
                                  "dfe-statements.xlsx'")])
    book, parts = open_workbook(path, name, limits)
    statements_table = read_sheet(path, name, "Statements", limits, book=book, parts=parts,
                                  required=True)
    has_lines = any(n.strip().lower() == "lines" for n in book.sheet_names)
    lines_table = (read_sheet(path, name, "Lines", limits, book=book, parts=parts, required=True)
                   if has_lines else None)
    return read_statement_tables(statements_table, lines_table, vocabulary,
                                 largest_amount=largest_amount, largest_count=largest_count)


def _header(table: Table, aliases: dict[str, str], required: Iterable[str]) -> Header:
    header = Header(table.header, aliases, table.header_source, table.letters)
    problems = list(header.problems)
    problems += [header.missing(f) for f in required if f not in header.positions]
    if problems:
        raise InputError(problems)
    return header


def _convert_all(table: Table, header: Header, parsers: _Parsers, required: Sequence[str],
                 log: ProblemLog, fixes: dict[str, str]) -> dict[str, list[Any]]:
    n = len(table.rows)
    transposed = list(zip(*table.rows)) if table.rows else []
    columns: dict[str, list[Any]] = {}
    for field, parse in parsers.items():
        position = header.positions.get(field)
        if position is None:
            columns[field] = [None] * n
            continue
        raw = list(transposed[position]) if position < len(transposed) else [""] * n
        label = header.column_of(field)
        columns[field] = convert(raw, parse, table, label, log, position)
        if field in required:
            require(columns[field], raw, table, label, log, fixes.get(field, "fill in this cell"),
                    position)
    return columns


def _word(allowed: dict[str, str], what: str) -> Callable[[object], str | None]:
    return lambda v: values.parse_word(v, allowed, what)


def _band(value: object) -> str | None:
    text = values.parse_text(value)
    return text.upper() if text and len(text) <= 2 else text


def read_statement_tables(statements: Table, lines: Table | None,
                          vocabulary: VocabularyFile | None = None, *,
                          largest_amount: Decimal | None = None,
                          largest_count: int | None = None) -> tuple[DfeStatement, ...]:
    """The statements and their lines; an amount beyond ``largest_amount`` or a count
    beyond ``largest_count`` (fees.yaml) is a located error."""
    money = values.money_parser(largest_amount)
    count = values.count_parser(largest_count)
    log = ProblemLog()
    header = _header(statements, STATEMENT_ALIASES, STATEMENT_REQUIRED)
    if not statements.rows:
        raise InputError([Problem(statements.header_source,
                                  "there are no statements below the header row",
                                  "add one row per DfE statement")])
    parsers: _Parsers = {
        "statement_id": values.parse_text, "lead_provider": values.parse_text,
        "cohort": values.parse_cohort, "name": values.parse_statement_name,
        "cut_off_date": values.parse_date, "payment_date": values.parse_date,
        "output_fee": values.parse_bool, "paid": values.parse_bool,
        "vat_chargeable": values.parse_bool, "total": money,
        "contract_version": values.parse_text,
    }
    fixes = {"statement_id": "give every statement its id (the API's statement id, or any "
                             "unique text that the Lines sheet uses)",
             "cohort": "write the cohort's start year, e.g. 2022",
             "name": "write the statement's name as DfE shows it, e.g. May 2023",
             "output_fee": "write TRUE if the statement carries output payments, else FALSE"}
    cols = _convert_all(statements, header, parsers, STATEMENT_REQUIRED, log, fixes)
    ids = cols["statement_id"]
    first_row: dict[str, int] = {}
    for index, statement_id in enumerate(ids):
        if statement_id is None:
            continue
        if statement_id in first_row:
            report_rows(log, statements, [index], header.column_of("statement_id"),
                        f"statement id {statement_id!r} is also in row "
                        f"{statements.row_numbers[first_row[statement_id]]}",
                        "give each statement one row with its own id",
                        header.positions["statement_id"])
        else:
            first_row[statement_id] = index

    lines_by_statement: dict[str, list[DfeLine]] = {}
    if lines is not None and lines.rows:
        _read_lines(lines, vocabulary, first_row, lines_by_statement, log, money, count)
    log.raise_if_any()

    result = []
    for index in range(len(statements.rows)):
        statement_id = ids[index]
        result.append(DfeStatement(
            statement_id=statement_id,
            lead_provider=cols["lead_provider"][index],
            cohort=cols["cohort"][index],
            name=cols["name"][index],
            cut_off_date=cols["cut_off_date"][index],
            payment_date=cols["payment_date"][index],
            output_fee=cols["output_fee"][index],
            paid=bool(cols["paid"][index]),
            vat_chargeable=cols["vat_chargeable"][index],
            total=cols["total"][index],
            lines=tuple(lines_by_statement.get(statement_id, ())),
            source=statements.source(index),
            contract_version=cols["contract_version"][index],
        ))
    return tuple(result)


def _read_lines(lines: Table, vocabulary: VocabularyFile | None, statement_rows: dict[str, int],
                out: dict[str, list[DfeLine]], log: ProblemLog,
                money: Callable[[object], Decimal | None] = values.parse_money,
                count: Callable[[object], int | None] = values.count_parser(None)) -> None:
    header = _header(lines, LINE_ALIASES, LINE_REQUIRED)
    if vocabulary is not None:
        ptypes = _word(values_map(vocabulary.participant_types), "a participant type")
        dtypes = _word(values_map(vocabulary.declaration_types), "a declaration type")
    else:
        ptypes = dtypes = _plain_word
    parsers: _Parsers = {
        "statement_id": values.parse_text,
        "line_type": _word(_LINE_TYPES, "a line type"),
        "participant_type": ptypes, "declaration_type": dtypes, "band": _band,
        "count": count,
        "fee_per_declaration": money, "amount": money,
        "description": values.parse_text,
    }
    fixes = {"statement_id": "write the id of the statement (Statements sheet) this line is on",
             "line_type": "write the line type: " + ", ".join(LINE_TYPES),
             "amount": "write the line's amount (negative for clawbacks)"}
    cols = _convert_all(lines, header, parsers, LINE_REQUIRED, log, fixes)
    unknown: dict[str, list[int]] = {}
    for index in range(len(lines.rows)):
        statement_id = cols["statement_id"][index]
        if statement_id is None:
            continue
        if statement_id not in statement_rows:
            unknown.setdefault(statement_id, []).append(index)
            continue
        if cols["amount"][index] is None or cols["line_type"][index] is None:
            continue
        out.setdefault(statement_id, []).append(DfeLine(
            statement_id=statement_id,
            line_type=cols["line_type"][index],
            amount=cols["amount"][index],
            participant_type=cols["participant_type"][index],
            declaration_type=cols["declaration_type"][index],
            band=cols["band"][index],
            count=cols["count"][index],
            fee_per_declaration=cols["fee_per_declaration"][index],
            description=cols["description"][index],
            source=lines.source(index),
        ))
    known = ", ".join(repr(s) for s in list(statement_rows)[:10])
    for statement_id, indexes in unknown.items():
        report_rows(log, lines, indexes, header.column_of("statement_id"),
                    f"statement id {statement_id!r} is not on the Statements sheet",
                    f"use the id of a statement listed on the Statements sheet ({known})",
                    header.positions["statement_id"])


def values_map(words: Iterable[str]) -> dict[str, str]:
    return {values.word_key(w): w for w in words}


def _plain_word(value: object) -> str | None:
    text = values.parse_text(value)
    return values.word_key(text) if text else None


def _safe_text(text: str | None, where: Source) -> str | None:
    """``text`` with the characters no output can hold replaced (a note says where),
    as the table readers do (:mod:`reconcile.read.convert`)."""
    if text is None or not textsafe.unsafe_in(text):
        return text
    note(finding("READ_TEXT_REPLACED",
                 f"the value of {where.column} held characters no file can hold "
                 f"({textsafe.describe(text)}: control characters or broken Unicode); "
                 f"they were replaced by {textsafe.REPLACEMENT}", source=where))
    return textsafe.clean(text)


def _updated_at(value: object) -> dt.datetime | None:
    """The statement's ``updated_at``, or None when it is missing or not a time (it only
    decides which of two pulls of the list is the later)."""
    try:
        return values.parse_datetime(value)
    except values.BadValue:
        return None


def _parsed(parse: Callable[[object], _Parsed], value: object, where: Source, field: str,
            statement_id: str, problems: list[Problem]) -> tuple[bool, _Parsed | None]:
    """(read, value) of one attribute; a value that cannot be read is a problem."""
    try:
        return True, parse(value)
    except values.BadValue as exc:
        problems.append(Problem(where._replace(column=field),
                                f"{exc.what} (statement id {statement_id!r})", exc.fix))
        return False, None


def _from_json(path: Path, name: str) -> tuple[DfeStatement, ...]:
    result = []
    problems: list[Problem] = []
    for number, resource in read_statements_json(path, name):
        attributes = resource.attributes
        where = Source(name, None, number)
        statement_id = _safe_text(resource.id, where._replace(column="id"))
        lead_provider = _safe_text(attributes.lead_provider_name,
                                   where._replace(column="lead_provider_name"))
        month = _safe_text(attributes.month.strip(), where._replace(column="month"))
        year = _safe_text(str(attributes.year).strip(), where._replace(column="year"))
        read_cohort, cohort = _parsed(values.parse_cohort, attributes.cohort, where, "cohort",
                                      resource.id, problems)
        read_cut_off, cut_off = _parsed(values.parse_date, attributes.cut_off_date, where,
                                        "cut_off_date", resource.id, problems)
        read_payment, payment = _parsed(values.parse_date, attributes.payment_date, where,
                                        "payment_date", resource.id, problems)
        if not (read_cohort and read_cut_off and read_payment):
            continue
        if cohort is None:
            problems.append(Problem(where._replace(column="cohort"),
                                    f"the cohort is blank (statement id {resource.id!r})",
                                    "write the cohort's start year, e.g. 2022"))
            continue
        result.append(DfeStatement(
            statement_id=statement_id,
            lead_provider=lead_provider,
            cohort=cohort,
            name=f"{month} {year}",
            cut_off_date=cut_off,
            payment_date=payment,
            # GET /api/v3/statements lists only output-fee statements (the Lead Provider API v3)
            output_fee=True,
            paid=bool(attributes.paid),
            source=where,
            updated_at=_updated_at(attributes.updated_at),
        ))
    if problems:
        raise InputError(problems[:199])
    return tuple(result)
