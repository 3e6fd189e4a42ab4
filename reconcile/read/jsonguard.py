"""Guarded JSON parsing (read stage): text in, plain data out, or a located InputError.

Python's ``json`` accepts what a hostile or damaged file can use to crash a reader
or to change data silently, so every JSON input goes through :func:`parse_json`:

* **depth**: more than :attr:`JsonLimits.max_depth` nested arrays and objects (the
  API's documents nest five deep) is refused, before anything recurses through it
  (100,000 levels would otherwise end in a RecursionError, a bug report);
* **numbers**: more than :attr:`JsonLimits.max_number_length` characters (a
  5,000-digit integer costs seconds to convert and then fails), and ``NaN`` or
  ``Infinity`` (not JSON at all), are refused;
* **duplicate keys**: ``{"state": "voided", "state": "paid"}`` keeps the last value
  in Python, silently; here it is refused, naming the key and the object's place.

The common case costs one C-speed parse with hooks and one pass over the bytes
(about a tenth more than plain ``json.loads``). When something is refused, the
text is read again by a slow, exact scanner (:func:`locate`) that stops at the
first problem and names its line and column.

For a streaming reader, :class:`Guard` holds the same checks one event at a time:
``guard.enter(position)`` / ``guard.leave()`` around each array or object,
``guard.key(name, position)`` for each key, ``guard.number(text, position)`` for
each number; each raises :class:`JsonRefusal`, which :func:`refusal_problem` turns
into a located problem.

>>> parse_json('{"data": [{"id": "a"}]}', "d.json")
{'data': [{'id': 'a'}]}
>>> parse_json('{"a": 1, "a": 2}', "d.json")
Traceback (most recent call last):
...
reconcile.errors.InputError: d.json:1: the key 'a' appears twice in the same object (the object starts at line 1, column 1; the second is at line 1, column 10) — keep one of them: export the data again from its source
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

from reconcile.errors import InputError, Problem
from reconcile.model import Source


class JsonLimits(NamedTuple):
    #: arrays and objects inside one another (the v3 API's documents: five)
    max_depth: int = 64
    #: characters of one number (an amount or a year needs far fewer)
    max_number_length: int = 40


class JsonRefusal(ValueError):
    """Why a JSON text is refused; ``position`` is its character index, when known."""

    def __init__(self, what: str, fix: str, position: int | None = None, *,
                 object_start: int | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.position = position
        self.object_start = object_start  # a duplicate key: where its object starts

    def moved(self, offset: int) -> JsonRefusal:
        """The same refusal, its positions ``offset`` characters further on."""
        return JsonRefusal(self.what, self.fix,
                           None if self.position is None else self.position + offset,
                           object_start=None if self.object_start is None
                           else self.object_start + offset)


_AGAIN = "export the data again from its source"


class Guard:
    """The checks, one parsing event at a time (for a streaming reader too)."""

    def __init__(self, limits: JsonLimits = JsonLimits()) -> None:
        self.limits = limits
        self.depth = 0
        self._keys: list[set[str] | None] = []
        self._starts: list[int | None] = []

    def enter(self, position: int | None = None, is_object: bool = True) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise JsonRefusal(f"the JSON is nested more than {self.limits.max_depth} levels "
                              "deep (the API's responses nest five)",
                              f"give the API's response as it came; {_AGAIN}", position)
        self._keys.append(set() if is_object else None)
        self._starts.append(position)

    def leave(self) -> None:
        self.depth -= 1
        self._keys.pop()
        self._starts.pop()

    def key(self, name: str, position: int | None = None) -> None:
        keys = self._keys[-1] if self._keys else None
        if keys is None:
            return
        if name in keys:
            raise JsonRefusal(f"the key {name!r} appears twice in the same object",
                              f"keep one of them: {_AGAIN}", position)
        keys.add(name)

    @property
    def object_start(self) -> int | None:
        return self._starts[-1] if self._starts else None

    def number(self, text: str, position: int | None = None) -> None:
        if len(text) > self.limits.max_number_length:
            raise JsonRefusal(f"a number of {len(text):,} characters "
                              f"({text[:12]}...), longer than the limit of "
                              f"{self.limits.max_number_length}",
                              f"check the value; {_AGAIN}", position)


def _position_text(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def refusal_problem(refusal: JsonRefusal, text: str | None, name: str, *,
                    where: Callable[[int], tuple[int, int]] | None = None) -> Problem:
    """The problem of a refusal, at its line and column when known. ``where`` turns a
    position into (line, column) (default: in ``text``)."""
    if where is None and text is not None:
        where = partial(_position_text, text)
    if refusal.position is None or where is None:
        return Problem(Source(name), refusal.what, refusal.fix)
    line, column = where(refusal.position)
    if refusal.object_start is not None:
        start_line, start_column = where(refusal.object_start)
        what = (f"{refusal.what} (the object starts at line {start_line}, column "
                f"{start_column}; the second is at line {line}, column {column})")
    else:
        what = f"{refusal.what} (line {line}, column {column})"
    return Problem(Source(name, line=line), what, refusal.fix)


# --------------------------------------------------------------------------- fast path

def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonRefusal(f"the key {key!r} appears twice in the same object",
                                  f"keep one of them: {_AGAIN}")
            seen.add(key)
    return result


def _constant(text: str) -> Any:
    raise JsonRefusal(f"{text} is not a JSON number", f"write the number; {_AGAIN}")


class _Numbers:
    def __init__(self, limits: JsonLimits) -> None:
        self.limit = limits.max_number_length

    def integer(self, text: str) -> int:
        if len(text) > self.limit:
            raise JsonRefusal("a number too long", _AGAIN)
        return int(text)

    def decimal(self, text: str) -> float:
        if len(text) > self.limit:
            raise JsonRefusal("a number too long", _AGAIN)
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise JsonRefusal(f"the number {text} is too large", f"check the value; {_AGAIN}")
        return value


def guarded_decoder(limits: JsonLimits = JsonLimits()) -> json.JSONDecoder:
    """A decoder whose ``decode``/``raw_decode`` refuse NaN, numbers too long and
    duplicate keys (:class:`JsonRefusal`; a RecursionError on nesting the interpreter
    cannot follow). Depth is checked by the caller: :func:`check_value`."""
    numbers = _Numbers(limits)
    return json.JSONDecoder(object_pairs_hook=_pairs, parse_int=numbers.integer,
                            parse_float=numbers.decimal, parse_constant=_constant)


def check_value(text: str, start: int, end: int, limits: JsonLimits = JsonLimits()
                ) -> JsonRefusal | None:
    """After a guarded decode of ``text[start:end]``: the refusal of that value (its
    nesting, positions in ``text``), or None. Costs two counts when, as always, the
    value holds fewer brackets than the depth limit."""
    if text.count("{", start, end) + text.count("[", start, end) <= limits.max_depth:
        return None
    refusal = locate(text[start:end], limits)
    return None if refusal is None else refusal.moved(start)


def refusal_at(error: BaseException, text: str, start: int,
               limits: JsonLimits = JsonLimits()) -> JsonRefusal:
    """The located refusal of a value from ``start`` whose guarded decode raised
    ``error`` (a JsonRefusal, RecursionError or ValueError)."""
    refusal = locate(text[start:], limits, stop_after_value=True)
    if refusal is None:
        refusal = JsonRefusal("the JSON holds a value that cannot be read", _AGAIN)
    return refusal.moved(start)


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _depth_within(raw: bytes, limit: int) -> bool:
    """Whether brackets nest at most ``limit`` deep (brackets inside strings count too,
    so a False is confirmed by :func:`locate`). Each round removes the innermost pairs."""
    brackets = raw.translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return True
        shorter = brackets.replace(b"{}", b"").replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return False  # unbalanced (inside strings): let the exact scanner decide
        brackets = shorter
    return not brackets


def parse_json(text: str, name: str, *, raw: bytes | None = None,
               limits: JsonLimits = JsonLimits()) -> Any:
    """The data of a JSON text, or an InputError at the line of the first problem."""
    numbers = _Numbers(limits)
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=numbers.integer,
                          parse_float=numbers.decimal, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        cut = exc.pos >= len(text.rstrip()) - 1
        what = ("the JSON ends too early (it is cut short)" if cut else
                f"this is not valid JSON: {exc.msg} at column {exc.colno}")
        raise InputError([Problem(Source(name, line=exc.lineno), what,
                                  "save the API's response again, complete and unedited")]
                         ) from None
    except (JsonRefusal, RecursionError, ValueError):
        raise InputError([_located(text, name, limits)]) from None
    if not _depth_within(raw if raw is not None else text.encode("utf-8", "surrogatepass"),
                         limits.max_depth):
        refusal = locate(text, limits)
        if refusal is not None:
            raise InputError([refusal_problem(refusal, text, name)])
    return data


def _located(text: str, name: str, limits: JsonLimits) -> Problem:
    refusal = locate(text, limits)
    if refusal is None:  # the fast parser refused what the scanner accepts: say so plainly
        refusal = JsonRefusal("the JSON holds a value that cannot be read", _AGAIN)
    return refusal_problem(refusal, text, name)


# --------------------------------------------------------------------------- the scanner

_TOKEN = re.compile(r"""
    [ \t\n\r]*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<open>[\[{])
    | (?P<close>[\]}])
    | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)
    | (?P<word>true|false|null)
    | (?P<constant>NaN|-?Infinity)
    | (?P<mark>[:,])
    )""", re.VERBOSE)


def locate(text: str, limits: JsonLimits = JsonLimits(), *,
           stop_after_value: bool = False) -> JsonRefusal | None:
    """The first problem of ``text`` with its position (slow and exact), or None.

    Only called when the fast parse refused the text, so it may take its time; it
    stops at the first problem found (or, with ``stop_after_value``, at the end of the
    first whole value).
    """
    guard = Guard(limits)
    kinds: list[str] = []  # "{" or "[" per open container
    expect_key = False
    position = 0
    end = len(text)
    match = _TOKEN.match
    while position < end:
        found = match(text, position)
        if found is None or found.end() == position:
            return None  # a syntax error: json's own message says where
        kind = found.lastgroup or ""
        start = found.start(kind)
        value = found.group(kind)
        position = found.end()
        if kind == "open":
            try:
                guard.enter(start, value == "{")
            except JsonRefusal as refusal:
                return refusal
            kinds.append(value)
            expect_key = value == "{"
        elif kind == "close":
            if guard.depth:
                guard.leave()
                kinds.pop()
            expect_key = False
            if stop_after_value and not guard.depth:
                return None
        elif kind == "string":
            if expect_key and kinds and kinds[-1] == "{":
                try:
                    key = json.loads(value)
                    guard.key(key, start)
                except JsonRefusal as refusal:
                    return JsonRefusal(refusal.what, refusal.fix, start,
                                       object_start=guard.object_start)
                except ValueError:
                    return None
                expect_key = False
        elif kind == "number":
            try:
                guard.number(value, start)
            except JsonRefusal as refusal:
                return refusal
            if "." not in value and "e" not in value.lower():
                continue
            if float(value) in (float("inf"), float("-inf")):
                return JsonRefusal(f"the number {value[:20]} is too large",
                                   f"check the value; {_AGAIN}", start)
        elif kind == "constant":
            return JsonRefusal(f"{value} is not a JSON number", f"write the number; {_AGAIN}",
                               start)
        elif kind == "mark":
            expect_key = value == "," and bool(kinds) and kinds[-1] == "{"
    return None

