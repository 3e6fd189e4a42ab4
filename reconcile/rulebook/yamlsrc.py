"""YAML with line numbers: safe loading that remembers where every value was written.

``load_yaml(path)`` returns a :class:`Located` document: the plain data (dicts,
lists, scalars) and a map from each value's path (a tuple of keys and indexes) to
its line, so that a pydantic error at ``("bands", 1, "max")`` becomes
``rules/contracts/x.yaml:14``. Numbers with a fraction are read as exact
``Decimal`` (never float). Duplicate keys, which plain YAML silently overwrites,
are errors. Only the safe loader is used.

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

Path_ = tuple  # a path into the document: keys and list indexes


class Located(NamedTuple):
    file: str
    data: Any
    lines: dict  # path tuple -> 1-based line

    def line_of(self, path: tuple) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def source(self, path: tuple = ()) -> Source:
        return Source(self.file, line=self.line_of(path))


# PyYAML's C parser (libyaml) when it was built with it: the same safe constructors,
# about six times faster on the schedules and calendars.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):
    """The safe loader, reading non-integer numbers as Decimal."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    return Decimal(text)


_Loader.add_constructor("tag:yaml.org,2002:float", _decimal)


def _build(loader: _Loader, node: yaml.Node, path: tuple, lines: dict,
           problems: list, file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                problems.append(Problem(Source(file, line=key_node.start_mark.line + 1),
                                        "a key must be a plain word",
                                        "write the key as text"))
                continue
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
        return loader.construct_object(node)
    except (ValueError, ArithmeticError) as exc:  # 2021-11-31 (no such day), .inf as Decimal
        where = Source(file, line=node.start_mark.line + 1)
        if node.tag.endswith(":timestamp"):
            problems.append(Problem(where, f"{node.value!r} is not a real date ({exc})",
                                    "check the month and day"))
        else:
            problems.append(Problem(where, f"{node.value!r} is not a finite number",
                                    "write a number such as 995 or 995.50"))
        return node.value


def parse_yaml(text: str, file: str) -> Located:
    """Parse YAML text; every syntax problem or duplicate key is a RuleError with file:line."""
    loader = _Loader(text)
    problems: list[Problem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(file, None, {(): 1})
        lines: dict = {}
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
