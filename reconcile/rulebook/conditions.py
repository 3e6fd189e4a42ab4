"""The condition language of ``rules/eligibility.yaml``: parse, validate, normalise.

Stage: load rules (called by ``load_rulebook``) and evaluate rules (the engines
compile the normalised tree). In: a rule's raw ``when:`` mapping with the line of
every node. Out: a frozen condition tree, or :class:`~reconcile.errors.Problem`
records saying ``file:line: what is wrong — how to fix it``.

The language (team brief, "The condition language")::

    when:
      state: {in: [eligible, payable, paid]}   # a fact field with an operator
      declaration_type: started                # a scalar means eq
      any:                                     # combinators: all / any / not
        - pupil_premium_uplift: true
        - sparsity_uplift: true
      not: {window_position: within}

Several keys of one mapping are ANDed. Operators: ``eq ne lt lte gt gte in
not_in exists``. ``lt``/``lte``/``gt``/``gte`` work on int and date fields only.

Null semantics (both backends implement exactly this; the conformance suite in
``tests/engine`` checks it): a nullable fact field may be null. Null is a value
of its own that equals nothing and has no order, and every condition is true or
false (never "unknown"), so ``not`` is always the exact complement:

* ``eq v``, ``in [..]``, ``lt/lte/gt/gte v``: false for null;
* ``ne v``, ``not_in [..]``: true for null;
* ``exists: true``: the value is not null; ``exists: false``: it is null.

``not`` is pushed down to the leaves here (De Morgan, operator inversion),
because durable-rules has no ``$not``: ``not {cohort: {lt: 2025}}`` becomes
``{cohort: {gte: 2025}}``, or ``any: [{gte: 2025}, {exists: false}]`` when the
field is nullable.

>>> from reconcile.rulebook.vocabulary import fact_vocabulary
>>> node, problems = parse_condition({"cohort": {"lt": 2025}, "not": {"state": "paid"}},
...                                  fact_vocabulary(None))
>>> problems
[]
>>> render(node)
'all(cohort lt 2025, state ne paid)'
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from decimal import Decimal

from reconcile.errors import Problem, RuleError
from reconcile.model import Source
from reconcile.rulebook.schema import Classify, FindingSpec, RuleSpec, VocabularyFile
from reconcile.rulebook.vocabulary import DECLARATION_PLACEHOLDERS, FactField, fact_vocabulary

#: where a node is inside a rule's ``when``: the keys and list positions down to it
Path = tuple[str | int, ...]

COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte")
ORDERINGS = ("lt", "lte", "gt", "gte")
OPERATORS = (*COMPARISONS, "in", "not_in", "exists")
COMBINATORS = ("all", "any", "not")
#: names the durable-rules engine uses for itself (tests/engine): a fact field
#: of that name would select engine state or match the engine's own records
RESERVED = ("sid", "id", "$s", "_kind")
#: durable-rules hangs on 512 sibling tests of one node (tests/engine); stay well below
MAX_IN_VALUES = 200

_INVERSE = {"eq": "ne", "ne": "eq", "lt": "gte", "gte": "lt", "gt": "lte", "lte": "gt"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True, slots=True)
class Compare:
    """``field op value`` with op in eq ne lt lte gt gte; value is never None."""

    field: str
    op: str
    value: object


@dataclass(frozen=True, slots=True)
class Member:
    """``field in values`` (or ``not_in`` when negated); values are distinct, in order."""

    field: str
    values: tuple[object, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Exists:
    """``field exists: present`` (present=False: the value is null)."""

    field: str
    present: bool


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """Only before :func:`normalise`; a normalised tree has no Not."""

    item: Node


Node = Compare | Member | Exists | All | AnyOf | Not


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for an engine: normalised condition, where it was written, outcome."""

    id: str
    position: int  # order in the rule files: results are sorted by it
    condition: Node
    source: Source
    then: Classify | FindingSpec  # the rule's outcome, as the rulebook gives it
    description: str = ""

    @property
    def where(self) -> str:
        """``"<rule id> (<file>:<line>)"``, as findings and ``explain`` show it."""
        return f"{self.id} ({self.source})"


def render(node: Node) -> str:
    """A one-line text of a condition tree (for messages and ``explain``)."""
    if isinstance(node, Compare):
        return f"{node.field} {node.op} {_show(node.value)}"
    if isinstance(node, Member):
        op = "not_in" if node.negated else "in"
        return f"{node.field} {op} [{', '.join(_show(v) for v in node.values)}]"
    if isinstance(node, Exists):
        return f"{node.field} exists {_show(node.present)}"
    if isinstance(node, Not):
        return f"not({render(node.item)})"
    name = "all" if isinstance(node, All) else "any"
    return f"{name}({', '.join(render(i) for i in node.items)})"


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def referenced_fields(node: Node) -> frozenset[str]:
    """Every fact field a condition reads (the facts' signature needs only these)."""
    if isinstance(node, (Compare, Member, Exists)):
        return frozenset((node.field,))
    if isinstance(node, Not):
        return referenced_fields(node.item)
    return frozenset().union(*(referenced_fields(i) for i in node.items))


def holds(node: Node, fact: Mapping[str, object]) -> bool:
    """Whether a condition is true of a fact (a mapping of every field it reads).

    The reference meaning of the language, used for explanations and partial
    evaluation; the engines compile the same semantics (engine.py).
    """
    return _truth(node, fact, strict=True) is True  # strict: never unknown


def can_match(node: Node, known: Mapping[str, object]) -> bool:
    """Whether a condition can be true when only the ``known`` fields are fixed.

    Fields not in ``known`` may take any value. ``can_match({state: {in: [paid]}},
    {"state": "voided"})`` is False; with ``{"state": "paid"}`` it is True.
    """
    return _truth(node, known, strict=False) is not False


def _truth(node: Node, fact: Mapping[str, object], strict: bool) -> bool | None:
    """True/False, or None (unknown) for a leaf on a field missing from ``fact``."""
    if isinstance(node, (All, AnyOf)):
        results = [_truth(item, fact, strict) for item in node.items]
        if isinstance(node, All):
            return False if False in results else (None if None in results else True)
        return True if True in results else (None if None in results else False)
    if isinstance(node, Not):
        inner = _truth(node.item, fact, strict)
        return None if inner is None else not inner
    if node.field not in fact:
        if strict:
            raise KeyError(f"the fact has no field {node.field!r}")
        return None
    value = fact[node.field]
    if isinstance(node, Exists):
        return (value is not None) == node.present
    if isinstance(node, Member):
        return (value in node.values) != node.negated
    if node.op == "eq":
        return value == node.value
    if node.op == "ne":
        return value != node.value
    if value is None:  # null has no order
        return False
    ordered: Any = value  # of the field's own type, as the constant is (validated)
    result: bool = {"lt": ordered < node.value, "lte": ordered <= node.value,
                    "gt": ordered > node.value, "gte": ordered >= node.value}[node.op]
    return result


# --------------------------------------------------------------------------- parsing


class _Parser:
    """Walks one rule's ``when`` mapping, collecting every problem (not just the first)."""

    def __init__(self, fields: Mapping[str, FactField], where: Callable[[Path], Source],
                 rule: str):
        self.fields = fields
        self.where = where
        self.rule = rule
        self.problems: list[Problem] = []

    def problem(self, path: Path, what: str, fix: str) -> None:
        prefix = f"rule {self.rule}: " if self.rule else ""
        self.problems.append(Problem(self.where(path), prefix + what, fix))

    # a condition: a mapping whose keys are ANDed
    def condition(self, data: object, path: Path) -> Node | None:
        if not isinstance(data, Mapping):
            self.problem(path, f"a condition must be a mapping of fact fields, not "
                               f"{_kind(data)} {_brief(data)}",
                         "write it as `field: value` lines (or all:/any:/not:)")
            return None
        if not data:
            self.problem(path, "empty condition",
                         "give at least one `field: value`, or remove the empty mapping")
            return None
        items = [self.key(key, value, path + (key,)) for key, value in data.items()]
        nodes = [i for i in items if i is not None]
        if len(nodes) < len(items):
            return None
        return nodes[0] if len(nodes) == 1 else All(tuple(nodes))

    def key(self, key: object, value: object, path: Path) -> Node | None:
        if key in ("all", "any"):
            return self.combination(key, value, path)
        if key == "not":
            inner = self.condition(value, path)
            return None if inner is None else Not(inner)
        if not isinstance(key, str):
            self.problem(path, f"{key!r} is not a fact field name", "write a fact field name")
            return None
        if key in RESERVED or key.startswith(("$", "_")):
            self.problem(path, f"{key!r} is a reserved name, not a fact field",
                         "names starting with '$' or '_' and sid, id are used by the rules "
                         "engine itself; use a fact field" + self.field_hint(key))
            return None
        if key in OPERATORS:
            self.problem(path, f"operator {key!r} needs a fact field in front of it",
                         f"write `<field>: {{{key}: ...}}`, e.g. `state: {{{key}: ...}}`")
            return None
        field = self.fields.get(key)
        if field is None:
            self.problem(path, f"unknown fact field {key!r}",
                         self.field_hint(key, always_list=True))
            return None
        return self.field_test(field, value, path)

    def combination(self, key: str, value: object, path: Path) -> Node | None:
        if not isinstance(value, list):
            self.problem(path, f"`{key}:` takes a list of conditions, not "
                               f"{_kind(value)} {_brief(value)}",
                         f"write `{key}:` followed by `- field: value` items")
            return None
        if not value:
            self.problem(path, f"`{key}:` has no conditions",
                         f"give `{key}:` at least one condition, or remove it")
            return None
        items = [self.condition(item, path + (i,)) for i, item in enumerate(value)]
        nodes = [i for i in items if i is not None]
        if len(nodes) < len(items):
            return None
        return (All if key == "all" else AnyOf)(tuple(nodes))

    def field_test(self, field: FactField, value: object, path: Path) -> Node | None:
        if isinstance(value, Mapping):
            if len(value) != 1:
                ops = ", ".join(map(str, value)) or "nothing"
                self.problem(path, f"{field.name}: one operator per mapping, found {ops}",
                             "write each test as its own condition, e.g. inside `all:` "
                             f"`- {field.name}: {{gte: ...}}` and `- {field.name}: {{lt: ...}}`"
                             if len(value) > 1 else
                             f"write `{field.name}: {{eq: value}}` or `{field.name}: value`")
                return None
            ((op, operand),) = value.items()
            return self.operator(field, op, operand, path + (op,))
        return self.operator(field, "eq", value, path)

    def operator(self, field: FactField, op: object, operand: object, path: Path) -> Node | None:
        if op not in OPERATORS:
            self.problem(path, f"{field.name}: unknown operator {op!r}",
                         _did_you_mean(str(op), OPERATORS)
                         + f"the operators are {', '.join(OPERATORS)}")
            return None
        if op == "exists":
            if not isinstance(operand, bool):
                self.problem(path, f"{field.name}: exists takes true or false, not "
                                   f"{_brief(operand)}", "write `exists: true` or `exists: false`")
                return None
            if not field.nullable:
                self.problem(path, f"{field.name}: exists: {_show(operand)} is always "
                                   f"{_show(operand)}: this field is never null",
                             "remove this test (nullable fields: "
                             + ", ".join(f.name for f in self.fields.values() if f.nullable)
                             + ")")
                return None
            return Exists(field.name, operand)
        if op in ("in", "not_in"):
            if not isinstance(operand, list):
                self.problem(path, f"{field.name}: {op} takes a list, not {_kind(operand)} "
                                   f"{_brief(operand)}",
                             f"write `{field.name}: {{{op}: [a, b]}}`")
                return None
            if not operand:
                self.problem(path, f"{field.name}: {op} has an empty list",
                             f"list at least one value, or remove the test "
                             f"({'in [] never matches' if op == 'in' else 'not_in [] always matches'})")
                return None
            if len(operand) > MAX_IN_VALUES:
                self.problem(path, f"{field.name}: {op} lists {len(operand)} values "
                                   f"(at most {MAX_IN_VALUES})",
                             "use a coarser fact field, or split the rule")
                return None
            values = [self.value(field, op, v, path + (i,)) for i, v in enumerate(operand)]
            if any(v is _BAD for v in values):
                return None
            return Member(field.name, tuple(dict.fromkeys(values)), op == "not_in")
        if op in ORDERINGS and field.type not in ("int", "date"):
            self.problem(path, f"{field.name}: {op} compares numbers or dates, and "
                               f"{field.name} is {_type_name(field)}",
                         "use eq, ne, in or not_in" + _values_hint(field))
            return None
        value = self.value(field, op, operand, path)
        if value is _BAD:
            return None
        return Compare(field.name, op, value)

    def value(self, field: FactField, op: str, value: object, path: Path) -> object:
        """The value normalised to the field's type, or _BAD after recording a problem."""
        name = field.name
        if value is None:
            self.problem(path, f"{name}: null is not a value to compare with",
                         f"to test for a missing value write `{name}: {{exists: false}}`"
                         if field.nullable else f"give a value: {_type_name(field)}"
                         + _values_hint(field))
            return _BAD
        if isinstance(value, (list, dict, tuple, set)):
            self.problem(path, f"{name}: {op} takes a single value, not {_kind(value)} "
                               f"{_brief(value)}",
                         f"for several values write `{name}: {{in: [a, b]}}`"
                         if op in ("eq", "ne") else "give one value")
            return _BAD
        ok = False
        if field.type == "bool":
            ok = isinstance(value, bool)
        elif field.type == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            if isinstance(value, Decimal) and value == value.to_integral_value():
                value, ok = int(value), True
        elif field.type == "date":
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                value, ok = value.isoformat(), True
            elif isinstance(value, str) and _ISO_DATE.match(value):
                try:
                    dt.date.fromisoformat(value)
                    ok = True
                except ValueError:
                    ok = False
        else:
            ok = isinstance(value, str)
        if not ok:
            self.problem(path, f"{name} is {_type_name(field)}, but {_brief(value)} is "
                               f"{_kind(value)}", _type_fix(field, value))
            return _BAD
        if field.allowed is not None and value not in field.allowed:
            self.problem(path, f"{name}: {_brief(value)} is not one of its values",
                         _did_you_mean(str(value), [str(v) for v in field.allowed])
                         + "the values are " + ", ".join(map(str, field.allowed)))
            return _BAD
        return value

    def field_hint(self, key: str, always_list: bool = False) -> str:
        names = [*self.fields, *COMBINATORS]
        hint = _did_you_mean(key, names)
        if always_list or not hint:
            hint += "the fact fields are " + ", ".join(self.fields)
        return ("; " if not always_list else "") + hint


_BAD = object()


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        # awaiting_clawback -> awaiting-clawback, Eligible -> eligible
        folded = {c.lower().replace("_", "-"): c for c in choices}
        hit = folded.get(word.lower().replace("_", "-"))
        close = [hit] if hit else []
    return f"did you mean {close[0]!r}? " if close else ""


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal, float)):
        return "a number"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if value is None:
        return "null"
    return type(value).__name__


def _brief(value: object) -> str:
    if isinstance(value, bool):
        return _show(value)
    if isinstance(value, str):
        return repr(value)
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(field: FactField) -> str:
    return {"str": "text", "int": "a whole number", "bool": "true/false",
            "date": "a date (YYYY-MM-DD)"}[field.type]


def _values_hint(field: FactField) -> str:
    if field.allowed:
        return " (values: " + ", ".join(map(str, field.allowed)) + ")"
    return ""


def _type_fix(field: FactField, value: object) -> str:
    if field.type == "int" and isinstance(value, str) and value.strip().isdigit():
        return f"write the number without quotes: {value.strip()}"
    if field.type == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return f"write {value.lower()} without quotes"
    if field.type == "str" and isinstance(value, (bool, int, Decimal)):
        return f"quote it: '{_show(value)}'" + _values_hint(field)
    if field.type == "date":
        return "write the date as YYYY-MM-DD, zero-padded, e.g. 2023-06-01"
    return f"give {_type_name(field)}" + _values_hint(field)


# --------------------------------------------------------------------------- normalising


def normalise(node: Node, fields: Mapping[str, FactField]) -> Node:
    """Push every ``not`` down to the leaves and flatten nested all/any.

    The result has no :class:`Not`; it means exactly the same under the null
    semantics of this module (see the module docstring).
    """
    if isinstance(node, Not):
        return _negate(node.item, fields)
    if isinstance(node, (All, AnyOf)):
        kind = type(node)
        items: list[Node] = []
        for item in node.items:
            normal = normalise(item, fields)
            items.extend(normal.items if isinstance(normal, kind) else (normal,))
        distinct = list(dict.fromkeys(items))
        return distinct[0] if len(distinct) == 1 else kind(tuple(distinct))
    return node


def _negate(node: Node, fields: Mapping[str, FactField]) -> Node:
    if isinstance(node, Not):
        return normalise(node.item, fields)
    if isinstance(node, Exists):
        return Exists(node.field, not node.present)
    if isinstance(node, Member):
        return Member(node.field, node.values, not node.negated)
    if isinstance(node, Compare):
        inverse = Compare(node.field, _INVERSE[node.op], node.value)
        # null fails every ordering, so "not (x < v)" is "x >= v or x is null"
        if node.op in ORDERINGS and fields[node.field].nullable:
            return AnyOf((inverse, Exists(node.field, False)))
        return inverse
    kind = AnyOf if isinstance(node, All) else All
    return normalise(kind(tuple(Not(i) for i in node.items)), fields)


def parse_condition(when: object, fields: Mapping[str, FactField], *,
                    where: Callable[[Path], Source] | None = None,
                    rule: str = "") -> tuple[Node | None, list[Problem]]:
    """Parse and validate one ``when:``; the tree is normalised (no ``not`` left).

    ``where(path)`` gives the source of a node from its path relative to ``when``.
    """
    parser = _Parser(fields, where or (lambda path: Source("<condition>")), rule)
    node = parser.condition(when, ())
    if node is None or parser.problems:
        return None, parser.problems
    return normalise(node, fields), []


# --------------------------------------------------------------------------- rules


def _where_of(rule: RuleSpec) -> Callable[[Path], Source]:
    """Source of a node of ``rule.when`` by its path (nearest ancestor with a line)."""
    source, lines = rule.source, rule.when_lines

    def where(path: Path) -> Source:
        path = tuple(path)
        while path:
            if path in lines:
                return Source(source.file, line=lines[path])
            path = path[:-1]
        line = lines.get((), source.line)
        return Source(source.file, line=line)

    return where


def _message_placeholders(text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name]
    except ValueError:
        return ["{"]  # unbalanced braces: reported by the caller


def _check_messages(rule: RuleSpec, fields: Mapping[str, FactField]) -> list[Problem]:
    """Placeholders of a finding rule's message/suggestion must be known names."""
    then = rule.then
    if not isinstance(then, FindingSpec):
        return []
    known = list(dict.fromkeys([*fields, *DECLARATION_PLACEHOLDERS]))
    problems = []
    source = rule.source
    for attribute, text in (("message", then.message), ("suggestion", then.suggestion)):
        for name in _message_placeholders(text):
            if name == "{":
                problems.append(Problem(source, f"rule {rule.id}: the {attribute} has an "
                                                "unmatched '{' or '}'",
                                        "write placeholders as {field}; double a brace "
                                        "({{ or }}) to show it literally"))
            elif name not in known:
                problems.append(Problem(source, f"rule {rule.id}: unknown placeholder "
                                                f"{{{name}}} in the {attribute}",
                                        _did_you_mean(name, known) + "placeholders are "
                                        + ", ".join(known)))
    return problems


def _compile(rules: Sequence[RuleSpec], fields: Mapping[str, FactField]
             ) -> tuple[tuple[CompiledRule, ...], list[Problem]]:
    compiled: list[CompiledRule] = []
    problems: list[Problem] = []
    for position, rule in enumerate(rules):
        node, found = parse_condition(rule.when, fields, where=_where_of(rule), rule=rule.id)
        problems.extend(found)
        problems.extend(_check_messages(rule, fields))
        if node is not None:
            compiled.append(CompiledRule(rule.id, position, node, rule.source, rule.then,
                                         rule.description or ""))
    return tuple(compiled), problems


def validate_rule_conditions(rules: Sequence[RuleSpec], vocabulary: VocabularyFile | None
                             ) -> list[Problem]:
    """Every problem of the rules' conditions (and message placeholders), with file:line.

    ``rules`` are ``RuleSpec``-like objects (``id``, ``when``, ``then``, ``source``,
    ``when_lines``); ``vocabulary`` is the rulebook's vocabulary (or None).
    """
    return _compile(rules, fact_vocabulary(vocabulary))[1]


def compile_rules(rules: Sequence[RuleSpec], vocabulary: VocabularyFile | None = None, *,
                  fields: Mapping[str, FactField] | None = None) -> tuple[CompiledRule, ...]:
    """The rules with normalised conditions, in file order; RuleError on any problem.

    ``fields`` overrides the fact vocabulary (tests use their own small one).
    """
    compiled, problems = _compile(rules, fields if fields is not None
                                  else fact_vocabulary(vocabulary))
    if problems:
        raise RuleError(problems)
    return compiled
