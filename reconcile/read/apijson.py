"""v3 API JSON (read stage): the JSON a lead provider pulled from the API, as a table.

Declarations (``GET /api/v3/participant-declarations``, the Lead Provider API v3)::

    {"data": [{"id": "...", "type": "participant-declaration",
               "attributes": {"participant_id": "...", "declaration_type": "started",
                              "declaration_date": "2023-10-01T10:00:00Z", ...}}]}

Also accepted: a list of such pages (as saved when paging through the API), a bare
list of resources, or one resource (``GET /{id}``). Each resource becomes a table row
(row = its position, 1-based, across all pages) with ``id`` and every attribute as
columns, so the same column names and cell parsers apply as for a workbook. The
JSON types of the documented attributes are checked with pydantic (a number where
the API writes text is an error naming the record and attribute).

Statements (``GET /api/v3/statements``): see :func:`read_statements_json`. The API
lists only output-fee statements and carries no money, so each becomes a
:class:`~reconcile.model.DfeStatement` with ``output_fee`` True and no lines.

Declarations are **streamed** (:func:`read_declarations_json`): the file is parsed
record by record (:class:`JsonStream`, the standard library's decoder on one
record at a time), and the records come in chunks of :data:`CHUNK_ROWS` already
split into columns, so two million records never sit in memory as dicts. The
header is ``id`` and the attributes of the first chunk's records; a later record
with an attribute the tool reads that the first chunk lacks is an error saying so.

The v3 declaration has no cohort and no uplift flags: a cohort comes from DfE's
statements (``--dfe-statements``) or the file name (see :mod:`.declarations`);
``pupil_premium_uplift``/``sparsity_uplift``/``cohort`` attributes are read when present.
``uplift_paid`` (DfE paid an uplift on it) counts as the participant having an uplift flag
(it does not say which one; the fact ``has_uplift_flag`` only needs either).

Example::

    table = read_declarations_json(Path("declarations.json"), "declarations.json", Limits())
    table.header     # ('id', 'participant_id', 'declaration_type', ...)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain, repeat
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.columns import DECLARATION_ALIASES
from reconcile.read.jsonguard import (
    JsonRefusal,
    check_value,
    guarded_decoder,
    parse_json,
    refusal_at,
    refusal_problem,
)
from reconcile.read.table import Limits, Table, too_many_rows

Text = StrictStr | None


class DeclarationAttributes(BaseModel):
    """The documented attributes of a v3 participant declaration (types only)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    participant_id: Text = None
    declaration_type: Text = None
    declaration_date: Text = None
    course_identifier: Text = None
    state: Text = None
    created_at: Text = None
    updated_at: Text = None
    delivery_partner_id: Text = None
    statement_id: Text = None
    clawback_statement_id: Text = None
    ineligible_for_funding_reason: Text = None
    mentor_id: Text = None
    uplift_paid: StrictBool | None = None
    evidence_held: Text = None
    lead_provider_name: Text = None
    # not in the API, but read when a provider adds them to its saved JSON
    cohort: StrictStr | StrictInt | None = None
    pupil_premium_uplift: StrictBool | None = None
    sparsity_uplift: StrictBool | None = None


class DeclarationResource(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr
    type: StrictStr = "participant-declaration"
    attributes: DeclarationAttributes


class StatementAttributes(BaseModel):
    """The attributes of a v3 statement (the Lead Provider API v3)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    month: StrictStr
    year: StrictStr | StrictInt
    type: Text = None
    cohort: StrictStr | StrictInt
    cut_off_date: Text = None
    payment_date: Text = None
    paid: StrictBool | None = None
    created_at: Text = None
    updated_at: Text = None
    lead_provider_name: Text = None


class StatementResource(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr
    type: StrictStr = "statement"
    attributes: StatementAttributes


_DECLARATIONS = TypeAdapter(list[DeclarationResource])
_STATEMENTS = TypeAdapter(list[StatementResource])


def load_json(path: Path, name: str) -> Any:
    """Parse the file; a syntax error, a duplicate key, a number too long or nesting too
    deep names the line (:func:`reconcile.read.jsonguard.parse_json`)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(Source(name), f"the JSON is not UTF-8 text ({exc.reason})",
                                  "save the API's response as it came (UTF-8)")]) from None
    # depth, number size and duplicate keys guarded (reconcile.read.jsonguard)
    return parse_json(text, name, raw=raw)


def _resources(document: Any, name: str, kind: str) -> list[Any]:
    """The resources of a response, a list of pages, a bare list or one resource."""
    expected = ('{"data": [{"id": ..., "type": "participant-declaration", "attributes": {...}}]}'
                if kind == "declarations" else
                '{"data": [{"id": ..., "type": "statement", "attributes": {...}}]}')
    fix = f"give the API's response as it came: {expected}"
    if isinstance(document, dict):
        if "data" not in document:
            if "errors" in document:
                raise InputError([Problem(Source(name), "this is an API error response, not data: "
                                          + json.dumps(document["errors"])[:200],
                                          "fix the API request and save its data")])
            if "attributes" in document:
                return [document]
            raise InputError([Problem(Source(name), "the JSON has no 'data' key, so it is not "
                                      "an API response", fix)])
        data = document["data"]
        if isinstance(data, dict):
            return [data]
        if not isinstance(data, list):
            raise InputError([Problem(Source(name), f"'data' is {type(data).__name__}, not a list",
                                      fix)])
        return data
    if isinstance(document, list):
        if document and all(isinstance(page, dict) and "data" in page for page in document):
            pages: list[Any] = []
            for number, page in enumerate(document, 1):
                data = page["data"]
                if not isinstance(data, list):
                    raise InputError([Problem(Source(name, row=number),
                                              f"page {number}: 'data' is not a list", fix)])
                pages.extend(data)
            return pages
        return document
    raise InputError([Problem(Source(name), f"the JSON is a {type(document).__name__}, "
                              "not an API response", fix)])


def _type_problems(error: ValidationError, name: str, resources: list[Any], wanted: str,
                   offset: int = 0) -> list[Any]:
    problems = []
    for item in error.errors()[:199]:
        loc = item["loc"]
        index = loc[0] if loc and isinstance(loc[0], int) else None
        path = ".".join(str(p) for p in loc[1:]) or None
        got = item.get("input")
        if item["type"] == "missing":
            what = f"{path!r} is missing"
        elif item["type"] in ("model_type", "dict_type"):
            what = f"{path or 'the record'} is not an object ({json.dumps(got)[:60]})"
        else:
            what = f"{json.dumps(got)[:60]} is not valid here: {item['msg'].lower()}"
        rid = resources[index].get("id") if index is not None and isinstance(
            resources[index], dict) else None
        if rid is not None:
            what += f" (record id {rid!r})"
        problems.append(Problem(Source(name, None, None if index is None else
                                       offset + index + 1, path),
                                what, f"give the value as the API writes it ({wanted})"))
    return problems


#: records converted at a time
CHUNK_ROWS = 25_000


def read_declarations_json(path: Path, name: str, limits: Limits) -> Table:
    """The declarations of an API response, streamed: header now, records in chunks."""
    records = _stream_resources(path, name)
    first = _take(records, CHUNK_ROWS)
    if not first:
        raise InputError([Problem(Source(name), "the JSON holds no declarations ('data' is empty)",
                                  "check the API filters you used (cohort, updated_since)")])
    if isinstance(first[0], dict) and first[0].get("type") == "statement":
        raise InputError([Problem(Source(name, row=1, column="type"),
                                  "these are statements, not declarations",
                                  "give this file as --dfe-statements, and the "
                                  "participant-declarations JSON as --declarations")])
    if len(first) > limits.max_rows:
        raise InputError([too_many_rows(Source(name), len(first), limits)])
    columns = _chunk_columns(first, name, 0, None)
    header = tuple(columns)
    return Table(name, None, header, [], [], None, False, "json",
                 chunks=_json_chunks(first, columns, records, header, name, limits))


def _take(records: Iterator[Any], n: int) -> list[Any]:
    out = []
    for record in records:
        out.append(record)
        if len(out) >= n:
            break
    return out


def _json_chunks(first: list[Any], columns: dict[str, Any], records: Iterator[Any],
                 header: tuple[Any, ...], name: str, limits: Limits
                 ) -> Iterator[tuple[Any, ...]]:
    """``(records, record numbers, columns)`` a chunk at a time (read one chunk ahead)."""
    done = len(first)
    pending: tuple[Any, ...] | None = (first, range(1, done + 1), tuple(columns.values()))
    del first, columns  # held by ``pending`` only
    while pending is not None:
        chunk = _take(records, CHUNK_ROWS)
        following: tuple[Any, ...] | None = None
        if chunk:
            if done + len(chunk) > limits.max_rows:
                raise InputError([too_many_rows(Source(name), done + len(chunk), limits)])
            more = _chunk_columns(chunk, name, done, header)
            following = (chunk, range(done + 1, done + len(chunk) + 1), tuple(more.values()))
            done += len(chunk)
        yield pending
        pending = following


def _chunk_columns(resources: list[Any], name: str, offset: int,
                   header: tuple[Any, ...] | None) -> dict[str, Any]:
    """Column name -> values of one chunk of records (the header's columns, when given)."""
    columns = _fast_columns(resources, header)
    if columns is None:
        # Something is not the documented shape or type: pydantic names every
        # record and attribute that is wrong (the slow path, only for bad files).
        _validate(resources, name, offset)
        columns = _fast_columns(resources, header)
        if columns is None:  # pragma: no cover - pydantic accepted what the fast check did not
            raise InputError([Problem(Source(name), "the JSON's records are not in the API's shape",
                                      "give the API's response as it came")])
    if header is not None and len(columns) > len(header):
        known = {_alias_key(a) for field, aliases in DECLARATION_ALIASES.items()
                 for a in (field, *aliases)}
        late = [key for key in columns if key not in header and _alias_key(key) in known]
        if late:
            index = next(i for i, r in enumerate(resources) if late[0] in r["attributes"])
            raise InputError([Problem(
                Source(name, row=offset + index + 1, column=late[0]),
                f"this record has the attribute {late[0]!r}, which none of the first "
                f"{CHUNK_ROWS:,} records has, so it would not be read",
                "give every record the same attributes (the API writes each of them, null "
                "when empty), or put a record with it first")])
        columns = {key: columns[key] for key in header}
    return columns


def _alias_key(key: str) -> str:
    return " ".join(key.strip().lower().replace("_", " ").replace("-", " ").split())

#: JSON types each documented attribute may have (as in DeclarationAttributes), checked
#: column-wise; anything else sends the file through pydantic for exact messages.
_TEXT_OR_NULL: frozenset[type] = frozenset({str, type(None)})
_ALLOWED_TYPES: dict[str, frozenset[type]] = {
    **{field: _TEXT_OR_NULL for field in DeclarationAttributes.model_fields},
    "uplift_paid": frozenset({bool, type(None)}),
    "pupil_premium_uplift": frozenset({bool, type(None)}),
    "sparsity_uplift": frozenset({bool, type(None)}),
    "cohort": frozenset({str, int, type(None)}),
}


def _fast_columns(resources: list[Any], header: tuple[Any, ...] | None = None
                  ) -> dict[str, Any] | None:
    """Column name -> values of well-formed resources at C speed, or None if any looks wrong.

    The columns are ``id`` and every attribute in the order first seen (or
    ``header``'s, then any attribute it lacks).
    """
    try:
        attributes = [resource["attributes"] for resource in resources]
        ids = [resource["id"] for resource in resources]
        kinds = set(map(type, attributes))
        if kinds != {dict} or set(map(type, ids)) != {str}:
            return None
        if {resource.get("type", "participant-declaration") for resource in resources} != {
                "participant-declaration"}:
            return None
    except (TypeError, KeyError, AttributeError):
        return None
    seen = dict.fromkeys(chain.from_iterable(attributes))
    names = (["id", *seen] if header is None else
             [*header, *(key for key in seen if key not in header)])
    columns: dict[str, list[Any]] = {"id": ids}
    for key in names[1:]:
        column = list(map(dict.get, attributes, repeat(key)))
        allowed = _ALLOWED_TYPES.get(key)
        if allowed is not None and not set(map(type, column)) <= allowed:
            return None
        columns[key] = column
    return columns


def _validate(resources: list[Any], name: str, offset: int = 0) -> None:
    try:
        parsed = _DECLARATIONS.validate_python(resources)
    except ValidationError as exc:
        raise InputError(_type_problems(exc, name, resources,
                                        "text in double quotes, true/false or null",
                                        offset)) from None
    problems = [Problem(Source(name, row=offset + i + 1, column="type"),
                        f"the record is a {r.type!r}, not a participant-declaration",
                        "give only participant-declarations in this file")
                for i, r in enumerate(parsed) if r.type != "participant-declaration"]
    if problems:
        raise InputError(problems[:199])


# --------------------------------------------------------------------------- streaming

#: the decoder of every JSON value read (one record at a time when streaming): NaN,
#: numbers too long and duplicate keys refused (reconcile.read.jsonguard); the depth
#: of each value is checked after it (JsonStream.value)
DECODER = guarded_decoder()
_BLOCK = 1 << 20
#: a single record (or top-level value) bigger than this is not an API record
_MAX_VALUE_CHARS = 64 << 20


class JsonStream:
    """A JSON text read block by block; values decoded one at a time (``raw_decode``).

    Positions in messages are the file's own lines and columns. Only the values
    asked for are built: the records of ``data`` one by one, the other top-level
    keys whole (they are small: ``meta``, ``links``).
    """

    def __init__(self, handle: TextIO, name: str) -> None:
        self.handle, self.name = handle, name
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines = 0  # newlines before the buffer
        self.column = 0  # characters since the last newline before the buffer

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            block = self.handle.read(_BLOCK)
        except UnicodeDecodeError as exc:
            raise InputError([Problem(Source(self.name), f"the JSON is not UTF-8 text "
                                      f"({exc.reason})",
                                      "save the API's response as it came (UTF-8)")]) from None
        if not block:
            self.eof = True
            return False
        dropped = self.buf[:self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self.lines += newlines
            self.column = len(dropped) - dropped.rindex("\n") - 1
        else:
            self.column += len(dropped)
        self.buf = self.buf[self.pos:] + block
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            buf, pos = self.buf, self.pos
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            self.pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._more():
                return ""

    def expect(self, chars: str) -> str:
        c = self.peek()
        if c == "" or c not in chars:
            what = " or ".join(repr(x) for x in chars)
            self.fail(json.JSONDecodeError(f"Expecting {what} delimiter", self.buf, self.pos))
        self.pos += 1
        return c

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos < _MAX_VALUE_CHARS and self._more():
                    continue  # the value goes on past the blocks read so far
                self.fail(exc)
            except (JsonRefusal, RecursionError, ValueError) as exc:
                while len(self.buf) - self.pos < _MAX_VALUE_CHARS and self._more():
                    pass  # the whole value, to find where it goes wrong
                self.refuse(refusal_at(exc, self.buf, self.pos))
            if end == len(self.buf) and not self.eof and self._more():
                continue  # a number or literal may go on in the next block
            refusal = check_value(self.buf, self.pos, end)
            if refusal is not None:
                self.refuse(refusal)
            self.pos = end
            return value

    def where(self, position: int) -> tuple[int, int]:
        """(line, column) in the file of a position in the buffer."""
        buf = self.buf
        newlines = buf.count("\n", 0, position)
        if not newlines:
            return self.lines + 1, self.column + position + 1
        return self.lines + newlines + 1, position - buf.rindex("\n", 0, position)

    def refuse(self, refusal: JsonRefusal) -> NoReturn:
        raise InputError([refusal_problem(refusal, None, self.name, where=self.where)])

    def fail(self, exc: json.JSONDecodeError) -> None:
        # at the end of the file, inside a string or its last value: cut short
        cut = self.eof and (exc.pos >= len(self.buf.rstrip()) - 1
                            or exc.msg.startswith("Unterminated string"))
        line = self.lines + exc.lineno
        column = exc.colno + (self.column if exc.lineno == 1 else 0)
        what = ("the JSON ends too early (it is cut short)" if cut else
                f"this is not valid JSON: {exc.msg} at column {column}")
        raise InputError([Problem(Source(self.name, line=line), what,
                                  "save the API's response again, complete and unedited")])

    def end(self) -> None:
        if self.peek() != "":
            self.fail(json.JSONDecodeError("Extra data", self.buf, self.pos))


_FIX = ('give the API\'s response as it came: '
        '{"data": [{"id": ..., "type": "participant-declaration", "attributes": {...}}]}')


def _stream_resources(path: Path, name: str) -> Iterator[Any]:
    """Every resource of a response, a list of pages, a bare list or one resource."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        stream = JsonStream(handle, name)
        first = stream.peek()
        if first == "{":
            yield from _object(stream, name)
        elif first == "[":
            pages = None
            for number, item in enumerate(_array(stream), 1):
                if pages is None:
                    pages = isinstance(item, dict) and "data" in item
                if pages and isinstance(item, dict) and "data" in item:
                    data = item["data"]
                    if not isinstance(data, list):
                        raise InputError([Problem(Source(name, row=number),
                                                  f"page {number}: 'data' is not a list", _FIX)])
                    yield from data
                else:
                    yield item
            stream.end()
        elif first == "":
            stream.fail(json.JSONDecodeError("Expecting value", stream.buf, stream.pos))
        else:
            document = stream.value()
            stream.end()
            raise InputError([Problem(Source(name), f"the JSON is a {type(document).__name__}, "
                                      "not an API response", _FIX)])


def _object(stream: JsonStream, name: str) -> Iterator[Any]:
    """The resources of a top-level object: its ``data`` streamed, or it is one resource."""
    stream.expect("{")
    others: dict[str, Any] = {}
    has_data = False
    if stream.peek() == "}":
        stream.pos += 1
    else:
        keys: set[str] = set()
        while True:
            first = stream.peek()
            line, column = stream.where(stream.pos)
            if first != '"':
                stream.fail(json.JSONDecodeError("Expecting property name enclosed in double "
                                                 "quotes", stream.buf, stream.pos))
            key = stream.value()
            if key in keys:
                raise InputError([Problem(Source(name, line=line),
                                          f"the key {key!r} appears twice in the response "
                                          f"(line {line}, column {column})",
                                          "keep one of them: save the API's response again")])
            keys.add(key)
            stream.expect(":")
            if key == "data" and stream.peek() == "[":
                has_data = True
                yield from _array(stream)
            elif key == "data":
                has_data = True
                data = stream.value()
                if not isinstance(data, dict):
                    raise InputError([Problem(Source(name), f"'data' is "
                                              f"{type(data).__name__}, not a list", _FIX)])
                yield data
            else:
                others[str(key)] = stream.value()
            if stream.expect(",}") == "}":
                break
    stream.end()
    if has_data:
        return
    if "errors" in others:
        raise InputError([Problem(Source(name), "this is an API error response, not data: "
                                  + json.dumps(others["errors"])[:200],
                                  "fix the API request and save its data")])
    if "attributes" in others:
        yield others
        return
    raise InputError([Problem(Source(name), "the JSON has no 'data' key, so it is not an API "
                              "response", _FIX)])


def _array(stream: JsonStream) -> Iterator[Any]:
    """The elements of the array that starts at the stream's position, one at a time."""
    stream.expect("[")
    if stream.peek() == "]":
        stream.pos += 1
        return
    while True:
        yield stream.value()
        if stream.expect(",]") == "]":
            return

def read_statements_json(path: Path, name: str) -> list[tuple[int, StatementResource]]:
    """(record number, validated statement resource) for every statement of the file."""
    resources = _resources(load_json(path, name), name, "statements")
    if not resources:
        raise InputError([Problem(Source(name), "the JSON holds no statements ('data' is empty)",
                                  "check the API filters you used (cohort)")])
    if isinstance(resources[0], dict) and resources[0].get("type") == "participant-declaration":
        raise InputError([Problem(Source(name, row=1, column="type"),
                                  "these are declarations, not statements",
                                  "give this file as --declarations, and the statements "
                                  "JSON as --dfe-statements")])
    try:
        parsed = _STATEMENTS.validate_python(resources)
    except ValidationError as exc:
        raise InputError(_type_problems(exc, name, resources,
                                        'e.g. "month": "May", "year": "2022", "cohort": "2021", '
                                        '"paid": true')) from None
    return list(enumerate(parsed, 1))
