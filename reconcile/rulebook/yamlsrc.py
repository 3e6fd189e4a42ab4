"""YAML with line numbers: safe loading that remembers where every value was written.

``load_yaml(path)`` returns a :class:`Located` document: the plain data (dicts,
lists, scalars) and a map from each value's path (a tuple of keys and indexes) to
its line, so that a pydantic error at ``("bands", 1, "max")`` becomes
``rules/contracts/x.yaml:14``. Numbers with a fraction are read as exact
``Decimal`` (never float). Duplicate keys, which plain YAML silently overwrites,
are errors. Only the safe loader is used.

Guards, each a located error before anything is built: aliases that expand to more
than :data:`MAX_NODES` values (a one-kilobyte "billion laughs" document would take
gigabytes), an alias inside its own anchor (``&x [*x]``, which has no end), nesting
deeper than :data:`MAX_DEPTH`, a key that is a list, mapping or set, and text
holding characters no output can hold (control characters, lone surrogates:
:mod:`reconcile.textsafe`).

>>> doc = parse_yaml("a: 1\\nb:\\n  - x: 2.50\\n", "f.yaml")
>>> doc.data
{'a': 1, 'b': [{'x': Decimal('2.50')}]}
>>> doc.line_of(("b", 0, "x"))
3
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from reconcile.errors import Problem, RuleError
from reconcile.model import Source
from reconcile.textsafe import describe, unsafe_in

#: values a document may hold once its aliases are expanded (the bundled
#: schedules.yaml, the largest, holds about 4,300)
MAX_NODES = 200_000
#: lists and mappings inside one another
MAX_DEPTH = 50

#: a path into the document: its keys and list indexes, from the top
YamlPath = tuple[Any, ...]


class Located(NamedTuple):
    file: str
    data: Any  # the document as plain data: dicts, lists, str, int, Decimal, bool, None
    lines: dict[YamlPath, int]  # path -> 1-based line

    def line_of(self, path: YamlPath) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def source(self, path: YamlPath = ()) -> Source:
        return Source(self.file, line=self.line_of(path))


# PyYAML's C parser (libyaml) when it was built with it: the same safe constructors,
# about six times faster on the schedules and calendars.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]  # chosen at run time (above)
    """The safe loader, reading non-integer numbers as Decimal."""


def _decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    return Decimal(text)


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _build(loader: _Loader, node: yaml.Node, path: YamlPath, lines: dict[YamlPath, int],
           problems: list[Problem], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(Source(file, line=key_node.start_mark.line + 1),
                                        "a key must be a plain word, not a list, mapping "
                                        "or set", "write the key as text"))
                continue
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                problems.append(Problem(
                    Source(file, line=key_node.start_mark.line + 1),
                    f"key {key!r} appears twice in the same mapping "
                    f"(first on line {lines[path + (key,)]})",
                    "remove or rename one of them"))
                continue
            child = path + (key,)
            result[key] = _build(loader, value_node, child, lines, problems, file)
            lines[child] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), lines, problems, file)
                for i, item in enumerate(node.value)]
    try:
        value = loader.construct_object(node)
        if isinstance(value, str) and unsafe_in(value):
            problems.append(Problem(Source(file, line=node.start_mark.line + 1),
                                    f"the text holds characters a file cannot hold "
                                    f"({describe(value)}: control characters or broken "
                                    "Unicode)", "remove them (look for \\x or \\u escapes)"))
        return value
    except (ValueError, ArithmeticError) as exc:  # 2021-11-31 (no such day), .inf as Decimal
        where = Source(file, line=node.start_mark.line + 1)
        if node.tag.endswith(":timestamp"):
            problems.append(Problem(where, f"{node.value!r} is not a real date ({exc})",
                                    "check the month and day"))
        elif len(node.value) > 60:  # beyond Python's int text limit: 4,300 digits
            problems.append(Problem(where, f"a number of {len(node.value):,} characters "
                                    f"({node.value[:12]}...), far beyond any figure of a rule "
                                    "or a contract", "write the number as it should be"))
        else:
            problems.append(Problem(where, f"{node.value!r} is not a finite number",
                                    "write a number such as 995 or 995.50"))
        return node.value


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _shape_problem(root: yaml.Node, file: str) -> Problem | None:
    """An alias bomb, an alias inside its own anchor, or nesting too deep, found on the
    composed nodes (an alias is the same node object again) before anything is built.

    Each distinct node is visited once and its expanded size remembered, so a
    billion-laughs document is measured in microseconds, not expanded.
    """
    sizes: dict[int, int] = {}
    on_path = {id(root)}
    stack = [(root, iter(_children(root)))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) in sizes:
                continue
            where = Source(file, line=child.start_mark.line + 1)
            if id(child) in on_path:
                return Problem(where, "an alias here refers to the anchor it is inside, so the "
                                      "value never ends", "write the values out instead of the alias")
            if len(stack) >= MAX_DEPTH:
                return Problem(where, f"the lists and mappings here are nested more than "
                                      f"{MAX_DEPTH} levels deep", "flatten the structure")
            on_path.add(id(child))
            stack.append((child, iter(_children(child))))
            break
        else:
            stack.pop()
            on_path.discard(id(node))
            size = sizes[id(node)] = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > MAX_NODES:
                return Problem(Source(file, line=node.start_mark.line + 1),
                               f"the aliases here expand to more than {MAX_NODES:,} values (a "
                               "document built to exhaust memory, or a mistake)",
                               "write the values out; a rules file needs no alias this large")
    return None


def parse_yaml(text: str, file: str) -> Located:
    """Parse YAML text; every syntax problem or duplicate key is a RuleError with file:line."""
    loader = _Loader(text)
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(file, None, {(): 1})
        shape = _shape_problem(node, file)
        if shape is not None:
            raise RuleError([shape])
        lines: dict[YamlPath, int] = {}
        data = _build(loader, node, (), lines, problems, file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise RuleError([Problem(Source(file, line=line), f"this is not valid YAML: {what}",
                                 "check the indentation and quoting around this line")]) from None
    except yaml.YAMLError as exc:
        raise RuleError([Problem(Source(file, line=1), f"this is not valid YAML: {exc}",
                                 "check the file is a YAML document")]) from None
    except RecursionError:  # the pure-Python composer (no libyaml) on deep nesting
        raise RuleError([Problem(Source(file, line=1), "the YAML is nested too deeply",
                                 f"keep lists and mappings within {MAX_DEPTH} levels")]) from None
    finally:
        loader.dispose()
    if problems:
        raise RuleError(problems)
    return Located(file, data, lines)


def load_yaml(path: str | Path, display: str | None = None) -> Located:
    """Read and parse one YAML file; ``display`` is the name used in messages."""
    path = Path(path)
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError([Problem(Source(name), "file not found",
                                 "check the path")]) from None
    except UnicodeDecodeError as exc:
        raise RuleError([Problem(Source(name), f"not UTF-8 text ({exc.reason})",
                                 "save the file as UTF-8")]) from None
    except OSError as exc:
        raise RuleError([Problem(Source(name), f"cannot be read: {exc.strerror}",
                                 "check the path and permissions")]) from None
    return parse_yaml(text, name)
