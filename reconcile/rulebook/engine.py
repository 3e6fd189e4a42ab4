"""The rules engine behind one small interface: durable-rules, or pure Python (stage: evaluate rules).

In: compiled rules (:func:`reconcile.rulebook.conditions.compile_rules`) and fact
*signatures* (tuples of JSON-typed values, one value per field of
``backend.fields``). Out: for each signature, the ids of the rules it satisfies,
in rule-file order.

This is the only module of the project that imports ``durable``: durable-rules
keeps process-global state and has sharp edges (research guide "durable_rules
2.0.28"), all handled here:

* each :class:`DurableBackend` owns a private, thread-free ``Host`` and registers
  its rules under ruleset names unique in the process, so two rulebooks (even
  with the same rule ids) loaded in one process never meet (tests/engine);
* every rule is guarded by ``_kind: fact`` so no rule can match the engine's own
  state record, which would loop forever (tests/engine);
* a fact is asserted then retracted, so *every* matching rule fires (an event
  would fire one, tests/engine); actions only append the rule's id; "no rule
  matched" is an answer, not an error; engine errors and swallowed action errors
  are recorded in :attr:`problems` and the pure-Python answer is used instead;
* ``in`` becomes an ``$or`` of equalities, ``ne`` is ``$neq`` (there is no
  ``$in``/``$ne``), rules are split into rulesets of at most 500 rules with well
  under 512 sibling tests and 64 range tests per field (tests/engine);
* :meth:`DurableBackend.close` deletes the engine state, then the ruleset.

durable-rules 2.0.28 does not import on Python 3.13+; :func:`open_engine` with
``backend="auto"`` then uses :class:`PythonBackend`, which implements the same
language (conditions.py's null semantics included). ``tests/engine`` runs one
conformance suite against both so they cannot drift.

>>> from reconcile.rulebook.conditions import compile_rules
>>> from reconcile.rulebook.vocabulary import fact_vocabulary
>>> from reconcile.model import Source
>>> from reconcile.rulebook.schema import Classify, RuleSpec
>>> def rule(id, when):
...     return RuleSpec(id, "", when, Classify(classify="billable"), Source("r.yaml", line=1), {})
>>> rules = compile_rules([rule("billable", {"state": {"in": ["eligible", "paid"]}}),
...                        rule("late", {"window_position": "after_cutoff"})])
>>> with open_engine(rules, backend="python") as engine:
...     engine.fields, engine.evaluate([("paid", "after_cutoff"), ("voided", "within")])
(('state', 'window_position'), [('billable', 'late'), ()])
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import threading
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Protocol

from reconcile.errors import Problem, RuleError, UsageError
from reconcile.model import Source
from reconcile.rulebook.conditions import (
    All,
    Compare,
    CompiledRule,
    Exists,
    Member,
    Node,
    Not,
    compile_rules,
    referenced_fields,
    render,
)
from reconcile.rulebook.schema import RuleSpec, VocabularyFile
from reconcile.rulebook.vocabulary import FactField, fact_vocabulary

#: one declaration's facts: the values of the signature's fields, JSON types
Signature = tuple[Any, ...]

BACKENDS = ("auto", "durable", "python")

#: limits of durable-rules 2.0.28 (tests/engine), with a margin: rules per ruleset
#: (4096 hard), distinct tests of one field per ruleset (512 hangs), range tests
#: of one field per ruleset (65 true at once is error 303), fields per fact (252).
MAX_RULES_PER_RULESET = 500
MAX_TESTS_PER_FIELD = 400
MAX_RANGE_TESTS_PER_FIELD = 60
MAX_FACT_FIELDS = 250

_GUARD = {"_kind": "fact"}
_RULESET_NUMBERS = itertools.count(1)  # ruleset names unique in the process


class EngineProblem(NamedTuple):
    """The engine failed on one signature; the pure-Python answer was used for it."""

    signature: int  # index into the signatures passed to evaluate()
    backend: str
    what: str


class Backend(Protocol):
    """What every engine offers. Signatures are tuples aligned with ``fields``."""

    name: str
    fields: tuple[str, ...]
    rules: tuple[CompiledRule, ...]
    problems: list[EngineProblem]
    evaluated: int  # signatures evaluated so far (the dedup promise is checked on it)

    def evaluate(self, signatures: Sequence[Signature]) -> list[tuple[str, ...]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None: ...


# --------------------------------------------------------------------------- shared


class _Program:
    """Rules plus the field layout of the signatures they are evaluated on."""

    def __init__(self, rules: Sequence[CompiledRule], vocabulary: Mapping[str, FactField],
                 signature_fields: Sequence[str] | None):
        self.rules = tuple(rules)
        used = frozenset().union(*(referenced_fields(r.condition) for r in self.rules))
        if signature_fields is None:
            signature_fields = [name for name in vocabulary if name in used]
        self.fields = tuple(signature_fields)
        missing = used - set(self.fields)
        unknown = [f for f in self.fields if f not in vocabulary]
        if missing or unknown:
            raise ValueError(f"signature fields {self.fields} lack {sorted(missing)} "
                             f"or have unknown {unknown}")
        self.specs = tuple(vocabulary[f] for f in self.fields)
        self.index = {name: i for i, name in enumerate(self.fields)}
        if len(self.fields) > MAX_FACT_FIELDS:
            raise RuleError([Problem(Source("<rules>"), f"the rules use {len(self.fields)} "
                                     f"fact fields; the engine takes at most {MAX_FACT_FIELDS}",
                                     "use fewer fact fields")])

    def check(self, signatures: Sequence[Signature]) -> None:
        """Facts must have the vocabulary's types: durable-rules would otherwise coerce
        ``'1' == 1`` and ``'true' == True`` where Python does not (tests/engine)."""
        width = len(self.fields)
        for n, signature in enumerate(signatures):
            if len(signature) != width:
                raise ValueError(f"signature {n} has {len(signature)} values for "
                                 f"{width} fields {self.fields}")
            for spec, value in zip(self.specs, signature):
                if value is None:
                    if not spec.nullable:
                        raise ValueError(f"signature {n}: {spec.name} is null")
                elif not _has_type(value, spec.type):
                    raise ValueError(f"signature {n}: {spec.name} = {value!r} is not "
                                     f"{spec.type}")

    def sort(self, ids: set[int]) -> tuple[str, ...]:
        """Rule ids of the given positions, in rule-file order."""
        return tuple(self.rules[p].id for p in sorted(ids))


def _has_type(value: object, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    return (isinstance(value, str) and len(value) == 10 and value[4] == "-"
            and value[7] == "-")  # date: zero-padded ISO text


def _compiled(rules: Sequence[CompiledRule] | Sequence[RuleSpec],
              vocabulary: Mapping[str, FactField]) -> tuple[CompiledRule, ...]:
    compiled = tuple(r for r in rules if isinstance(r, CompiledRule))
    if len(compiled) == len(rules):
        return compiled
    return compile_rules([r for r in rules if isinstance(r, RuleSpec)], fields=vocabulary)


# --------------------------------------------------------------------------- python


class PythonBackend:
    """The rule language as Python predicates over signature tuples."""

    name = "python"

    def __init__(self, rules: Sequence[CompiledRule] | Sequence[RuleSpec],
                 vocabulary: Mapping[str, FactField] | None = None,
                 signature_fields: Sequence[str] | None = None):
        vocabulary = fact_vocabulary(None) if vocabulary is None else vocabulary
        self._program = _Program(_compiled(rules, vocabulary), vocabulary, signature_fields)
        self.rules, self.fields = self._program.rules, self._program.fields
        self.problems: list[EngineProblem] = []
        self.evaluated = 0
        self._tests = tuple((rule.position, _predicate(rule.condition, self._program))
                            for rule in self.rules)

    def evaluate(self, signatures: Sequence[Signature]) -> list[tuple[str, ...]]:
        self._program.check(signatures)
        self.evaluated += len(signatures)
        return [self.match(signature) for signature in signatures]

    def match(self, signature: Signature) -> tuple[str, ...]:
        """One signature's rule ids (no type check; evaluate() checks)."""
        return self._program.sort({p for p, test in self._tests if test(signature)})

    def close(self) -> None:
        pass

    def __enter__(self) -> PythonBackend:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _predicate(node: Node, program: _Program) -> Callable[[Signature], bool]:
    """A Python function ``signature -> bool`` for a normalised condition.

    Generated source, so evaluation costs one call per rule. Values are validated
    scalars (str/int/bool), whose ``repr`` is a Python literal.
    """
    source = f"lambda s: {_python_expr(node, program)}"
    predicate: Callable[[Signature], bool] = eval(  # our own validated literals only
        source, {"__builtins__": {}})
    return predicate


def _python_expr(node: Node, program: _Program) -> str:
    if isinstance(node, (Compare, Member, Exists)):
        i = program.index[node.field]
        slot = f"s[{i}]"
        if isinstance(node, Exists):
            return f"({slot} is {'not ' if node.present else ''}None)"
        if isinstance(node, Member):
            # a tuple, not a set: enumerations are short and a tuple is a literal
            return f"({slot} {'not in' if node.negated else 'in'} {node.values!r})"
        if node.op in ("eq", "ne"):
            return f"({slot} {'==' if node.op == 'eq' else '!='} {node.value!r})"
        symbol = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[node.op]
        test = f"{slot} {symbol} {node.value!r}"
        # null has no order: every ordering is false for it (conditions.py)
        return f"({slot} is not None and {test})" if program.specs[i].nullable else f"({test})"
    assert not isinstance(node, Not)  # normalised: no Not left
    joiner = " and " if isinstance(node, All) else " or "
    return "(" + joiner.join(_python_expr(item, program) for item in node.items) + ")"


# --------------------------------------------------------------------------- durable


def durable_unavailable() -> str | None:
    """Why durable-rules cannot be used in this interpreter, or None when it can."""
    try:
        import durable.engine  # noqa: F401
    except (ImportError, OSError) as exc:  # 3.13+: undefined symbol in the C extension
        if sys.version_info >= (3, 13):
            return (f"durable-rules 2.0.28, its last release, does not import on Python "
                    f"{sys.version_info[0]}.{sys.version_info[1]} (only 3.10 to 3.12): "
                    f"{type(exc).__name__}: {exc}")
        return f"durable-rules cannot be imported: {type(exc).__name__}: {exc}"
    return None


def available_backends() -> tuple[str, ...]:
    """The backends this interpreter can run: ``python``, and ``durable`` where it imports."""
    return ("durable", "python") if durable_unavailable() is None else ("python",)


def _durable_condition(node: Node, program: _Program) -> dict[str, Any]:
    """A normalised condition as durable-rules ruleset JSON (tests/engine).

    A null fact value is left out of the message, so ``$nex`` means null; ``$neq``
    needs the field present, so ``ne`` on a nullable field also accepts ``$nex``.
    """
    if isinstance(node, Exists):
        return {"$ex" if node.present else "$nex": {node.field: 1}}
    if isinstance(node, (Compare, Member)):
        nullable = program.specs[program.index[node.field]].nullable
        name = node.field
        test: dict[str, Any]
        if isinstance(node, Member):
            if not node.negated:
                tests = [{name: v} for v in node.values]
                return tests[0] if len(tests) == 1 else {"$or": tests}
            tests = [{"$neq": {name: v}} for v in node.values]
            test = tests[0] if len(tests) == 1 else {"$and": tests}
        elif node.op == "eq":
            return {name: node.value}
        elif node.op == "ne":
            test = {"$neq": {name: node.value}}
        else:
            return {f"${node.op}": {name: node.value}}
        return {"$or": [test, {"$nex": {name: 1}}]} if nullable else test
    assert not isinstance(node, Not)  # normalised: no Not left
    key = "$and" if isinstance(node, All) else "$or"
    return {key: [_durable_condition(item, program) for item in node.items]}


def _atoms(node: Node) -> list[tuple[str, str, object]]:
    if isinstance(node, Member):
        return [(node.field, "eq", v) for v in node.values]
    if isinstance(node, Compare):
        return [(node.field, node.op, node.value)]
    if isinstance(node, Exists):
        return [(node.field, "exists", node.present)]
    assert not isinstance(node, Not)  # normalised: no Not left
    return [atom for item in node.items for atom in _atoms(item)]


def _chunks(rules: Sequence[CompiledRule]) -> list[list[CompiledRule]]:
    """Rules grouped into rulesets that stay inside durable-rules' limits (tests/engine)."""
    chunks: list[list[CompiledRule]] = []
    tests: dict[str, set[tuple[str, str, object]]] = defaultdict(set)
    ranges: dict[str, set[tuple[str, str, object]]] = defaultdict(set)
    for rule in rules:
        atoms = _atoms(rule.condition)
        new_tests, new_ranges = defaultdict(set), defaultdict(set)
        for atom in atoms:
            new_tests[atom[0]].add(atom)
            if atom[1] in ("lt", "lte", "gt", "gte"):
                new_ranges[atom[0]].add(atom)
        fits = chunks and len(chunks[-1]) < MAX_RULES_PER_RULESET and all(
            len(tests[f] | a) <= MAX_TESTS_PER_FIELD for f, a in new_tests.items()) and all(
            len(ranges[f] | a) <= MAX_RANGE_TESTS_PER_FIELD for f, a in new_ranges.items())
        if not fits:
            chunks.append([])
            tests, ranges = defaultdict(set), defaultdict(set)
        chunks[-1].append(rule)
        for f, a in new_tests.items():
            tests[f] |= a
        for f, a in new_ranges.items():
            ranges[f] |= a
    return chunks


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """durable-rules 2.0.28 calls datetime.utcfromtimestamp on every action, which
    warns from Python 3.12 (tests/engine): an error under ``-W error``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "datetime.datetime.utcfromtimestamp",
                                DeprecationWarning)
        yield


_HOST_CLASS: type[Any] | None = None


def _host_class() -> type[Any]:
    """A durable ``Host`` without its two background timer threads (tests/engine)."""
    global _HOST_CLASS
    if _HOST_CLASS is None:
        from durable import engine

        class _SyncHost(engine.Host):  # type: ignore[misc]  # durable has no types: Any
            def _run(self) -> None:  # the timers only serve statecharts; they can steal actions
                pass

        _HOST_CLASS = _SyncHost
    return _HOST_CLASS


#: a rule of every ruleset that only :meth:`DurableBackend._register` fires
_READY_RULE, _READY = "ready", {"_kind": "ready"}


def _ignore(c: object) -> None:
    pass


def _recorder(hits: list[int], position: int) -> Callable[[object], None]:
    # durable calls an action with one argument; two would make it asynchronous
    def action(c: object) -> None:
        hits.append(position)
    return action


class DurableBackend:
    """The rule language compiled to durable-rules rulesets on a private Host."""

    name = "durable"

    def __init__(self, rules: Sequence[CompiledRule] | Sequence[RuleSpec],
                 vocabulary: Mapping[str, FactField] | None = None,
                 signature_fields: Sequence[str] | None = None):
        reason = durable_unavailable()
        if reason is not None:
            raise _durable_usage_error(reason)
        from durable import engine

        self._engine = engine
        # the pure-Python twin answers where durable-rules fails on a fact
        self._python = PythonBackend(rules, vocabulary, signature_fields)
        self._program = self._python._program
        self.rules, self.fields = self._program.rules, self._program.fields
        self.problems: list[EngineProblem] = []
        self.evaluated = 0
        self._lock = threading.Lock()
        self._hits: list[int] = []
        self._host = _host_class()()
        self._names: list[str] = []
        try:
            with _quiet():
                for chunk in _chunks(self.rules):
                    self._register(chunk)
        except BaseException:
            self.close()
            raise

    def _definition(self, rules: Sequence[CompiledRule]) -> dict[str, Any]:
        return {
            f"r{rule.position}": {
                "all": [{"m": {"$and": [dict(_GUARD),
                                        _durable_condition(rule.condition, self._program)]}}],
                "pri": rule.position + 1,  # >= 1: negative priorities misorder (tests/engine)
                "run": _recorder(self._hits, rule.position),
            } for rule in rules}

    def _register(self, rules: Sequence[CompiledRule]) -> None:
        name = f"reconcile_rules_{next(_RULESET_NUMBERS)}"
        definition = self._definition(rules)
        definition[_READY_RULE] = {"all": [{"m": dict(_READY)}], "run": _ignore}
        try:
            self._host.register_rulesets({name: definition})
        except Exception as exc:  # noqa: BLE001 (durable raises plain Exception)
            raise RuleError(self._culprits(rules, exc)) from None
        self._names.append(name)
        # Measured on 2.0.28: deleting the state of a ruleset in which no rule has
        # ever fired corrupts the heap (the process aborts later, "free(): invalid
        # pointer"), and not deleting it leaks ~80 KB per load. One firing of a
        # rule of its own makes the later delete safe.
        ready = {**_READY, "id": "ready"}
        self._host.assert_fact(name, ready)
        self._host.retract_fact(name, ready)

    def _culprits(self, rules: Sequence[CompiledRule], error: Exception) -> list[Problem]:
        """Which rules durable-rules refuses, each with its file:line."""
        problems = []
        for rule in rules:
            name = f"reconcile_probe_{next(_RULESET_NUMBERS)}"
            try:
                self._host.register_rulesets({name: self._definition([rule])})
            except Exception as exc:  # noqa: BLE001 (durable raises plain Exception)
                problems.append(Problem(rule.source, f"rule {rule.id}: durable-rules refuses "
                                        f"its condition {render(rule.condition)}: {exc}",
                                        "simplify the condition, or run with --engine python"))
            else:
                self._delete(name)
        return problems or [Problem(rules[0].source, f"durable-rules refuses these rules "
                                    f"together: {error}", "split the rules into fewer, "
                                    "simpler conditions, or run with --engine python")]

    def evaluate(self, signatures: Sequence[Signature]) -> list[tuple[str, ...]]:
        self._program.check(signatures)
        fields = self.fields
        assert_fact = self._host.assert_fact
        not_handled = self._engine.MessageNotHandledException
        hits, results = self._hits, list[tuple[str, ...]]()
        with self._lock, _quiet():
            for n, signature in enumerate(signatures):
                fact: dict[str, Any] = {"_kind": "fact", "id": f"f{n}"}
                for field, value in zip(fields, signature):
                    if value is not None:  # null is absent: $nex matches it
                        fact[field] = value
                hits.clear()
                failure = None
                for name in self._names:
                    try:
                        state = assert_fact(name, fact)
                    except not_handled:
                        continue  # no rule of this ruleset matched
                    except Exception as exc:  # noqa: BLE001 (engine errors become problems)
                        failure = f"{type(exc).__name__}: {exc}"[:500]
                        self._forget(name, fact, clear_state=True)
                        continue
                    broken = bool(state and state.get("exception"))
                    if broken:
                        failure = f"an action failed: {state['exception']}"[:500]
                    self._forget(name, fact, clear_state=broken)
                if failure is None:
                    results.append(self._program.sort(set(hits)))
                else:
                    self.problems.append(EngineProblem(n, self.name, failure))
                    results.append(self._python.match(signature))
            self.evaluated += len(signatures)
        return results

    def _forget(self, name: str, fact: dict[str, Any], clear_state: bool = False) -> None:
        """Retract the fact; after a failure also drop the state, which would keep
        the swallowed exception for every later call (tests/engine)."""
        # not stored (e.g. the assert failed): nothing to retract
        with contextlib.suppress(Exception):
            self._host.retract_fact(name, fact)
        if clear_state:
            self._host.delete_state(name, None)

    def _delete(self, name: str) -> None:
        import durable_rules_engine

        ruleset = self._host._ruleset_directory.pop(name, None)
        if ruleset is None:
            return
        self._host._ruleset_list.remove(ruleset)
        # free the state first, or it leaks (tests/engine); error 309 = no state (a probe)
        with contextlib.suppress(Exception):
            ruleset.delete_state(None)
        durable_rules_engine.delete_ruleset(ruleset._handle)

    def close(self) -> None:
        """Free every ruleset of this backend; safe to call twice."""
        with self._lock:
            for name in self._names:
                self._delete(name)
            self._names = []
            for name in list(self._host._ruleset_directory):  # probes left by a failure
                self._delete(name)

    def __enter__(self) -> DurableBackend:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def _durable_usage_error(reason: str) -> UsageError:
    return UsageError([Problem(Source("--engine durable"), reason,
                               "use --engine python (the same rules, evaluated in pure "
                               "Python) or --engine auto")])


# --------------------------------------------------------------------------- choosing


def choose_backend(backend: str = "auto") -> str:
    """The backend ``--engine`` names, resolved: ``durable`` or ``python``.

    A UsageError for an unknown name, or for ``durable`` where it cannot import;
    call it while checking options, before any work is done.
    """
    if backend not in BACKENDS:
        raise UsageError([Problem(Source("--engine"), f"unknown engine {backend!r}",
                                  "use one of " + ", ".join(BACKENDS))])
    if backend == "auto":
        return "durable" if durable_unavailable() is None else "python"
    if backend == "durable":
        reason = durable_unavailable()
        if reason is not None:
            raise _durable_usage_error(reason)
    return backend


def open_engine(rules: Sequence[CompiledRule] | Sequence[RuleSpec],
                vocabulary: VocabularyFile | None = None, backend: str = "auto", *,
                fields: Mapping[str, FactField] | None = None,
                signature_fields: Sequence[str] | None = None) -> Backend:
    """Compile ``rules`` into the chosen backend; close it when done (or use ``with``).

    ``rules`` are RuleSpecs (compiled here against the fact vocabulary of the
    rulebook ``vocabulary``) or already :class:`CompiledRule`. ``backend``: ``auto``
    is durable-rules where it imports, else python; ``durable`` where it cannot
    import is a :class:`UsageError` saying why. ``fields`` overrides the fact
    vocabulary; ``signature_fields`` fixes the signature layout (default: the
    fields the rules use, in vocabulary order).
    """
    backend = choose_backend(backend)
    fields = fact_vocabulary(vocabulary) if fields is None else fields
    if backend == "durable":
        return DurableBackend(rules, fields, signature_fields)
    return PythonBackend(rules, fields, signature_fields)
