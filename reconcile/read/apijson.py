"""v3 API JSON (read stage): the JSON a lead provider pulled from the API, as a table.

Declarations (``GET /api/v3/participant-declarations``, research/user-needs.md §2)::

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
from itertools import chain, repeat
from pathlib import Path
from typing import Any

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
    """The attributes of a v3 statement (seed 002; research/user-needs.md §2)."""

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
    """Parse the file; a syntax error names the line and column."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(Source(name), f"the JSON is not UTF-8 text ({exc.reason})",
                                  "save the API's response as it came (UTF-8)")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) - 1
        what = ("the JSON ends too early (it is cut short)" if cut else
                f"this is not valid JSON: {exc.msg} at column {exc.colno}")
        raise InputError([Problem(Source(name, line=exc.lineno), what,
                                  "save the API's response again, complete and unedited")]) from None


def _resources(document: Any, name: str, kind: str) -> list:
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
            pages: list = []
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


def _type_problems(error: ValidationError, name: str, resources: list, wanted: str) -> list:
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
        problems.append(Problem(Source(name, None, None if index is None else index + 1, path),
                                what, f"give the value as the API writes it ({wanted})"))
    return problems


def read_declarations_json(path: Path, name: str, limits: Limits) -> Table:
    resources = _resources(load_json(path, name), name, "declarations")
    if len(resources) > limits.max_rows:
        raise InputError([too_many_rows(Source(name), len(resources), limits)])
    if not resources:
        raise InputError([Problem(Source(name), "the JSON holds no declarations ('data' is empty)",
                                  "check the API filters you used (cohort, updated_since)")])
    for index, resource in enumerate(resources[:1]):
        if isinstance(resource, dict) and resource.get("type") == "statement":
            raise InputError([Problem(Source(name, row=index + 1, column="type"),
                                      "these are statements, not declarations",
                                      "give this file as --dfe-statements, and the "
                                      "participant-declarations JSON as --declarations")])
    table = _fast_table(resources, name)
    if table is None:
        # Something is not the documented shape or type: pydantic names every
        # record and attribute that is wrong (the slow path, only for bad files).
        _validate(resources, name)
        table = _fast_table(resources, name)
        if table is None:  # pragma: no cover - pydantic accepted what the fast check did not
            raise InputError([Problem(Source(name), "the JSON's records are not in the API's shape",
                                      "give the API's response as it came")])
    return table


#: JSON types each documented attribute may have (as in DeclarationAttributes), checked
#: column-wise; anything else sends the file through pydantic for exact messages.
_TEXT_OR_NULL = frozenset({str, type(None)})
_ALLOWED_TYPES: dict[str, frozenset] = {
    **{field: _TEXT_OR_NULL for field in DeclarationAttributes.model_fields},
    "uplift_paid": frozenset({bool, type(None)}),
    "pupil_premium_uplift": frozenset({bool, type(None)}),
    "sparsity_uplift": frozenset({bool, type(None)}),
    "cohort": frozenset({str, int, type(None)}),
}


def _fast_table(resources: list, name: str) -> Table | None:
    """The table of well-formed resources at C speed, or None if any looks wrong."""
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
    names = ["id", *dict.fromkeys(chain.from_iterable(attributes))]
    columns = [ids] + [list(map(dict.get, attributes, repeat(key))) for key in names[1:]]
    for key, column in zip(names[1:], columns[1:]):
        allowed = _ALLOWED_TYPES.get(key)
        if allowed is not None and not set(map(type, column)) <= allowed:
            return None
    # The records stand in for rows (they are counted, never indexed): the columns
    # are already split out, so the table is not transposed twice.
    return Table(name, None, tuple(names), resources, range(1, len(resources) + 1), None, False,
                 "json", tuple(columns))


def _validate(resources: list, name: str) -> None:
    try:
        parsed = _DECLARATIONS.validate_python(resources)
    except ValidationError as exc:
        raise InputError(_type_problems(exc, name, resources,
                                        "text in double quotes, true/false or null")) from None
    problems = [Problem(Source(name, row=i + 1, column="type"),
                        f"the record is a {r.type!r}, not a participant-declaration",
                        "give only participant-declarations in this file")
                for i, r in enumerate(parsed) if r.type != "participant-declaration"]
    if problems:
        raise InputError(problems[:199])


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
