"""Evaluate the eligibility rules for every declaration (stage: evaluate rules).

In: declarations, the rulebook, the as-of day, the engine backend.
Out: an :class:`Evaluation`: per declaration, the classification labels
(``billable``, ``refundable``, ``uplift``, ``flat_rate``) and the ids of the rules
that fired, plus one :class:`~reconcile.findings.Finding` per finding rule that
fired for a declaration (code, severity, message and suggestion from
``rules/eligibility.yaml``, placeholders filled in).

Evaluation cost does not grow with the number of declarations through the
engine: facts are derived as signatures (facts.py), each distinct signature is
evaluated once, and the answer is broadcast to every declaration that has it.

Example::

    evaluation = evaluate(declarations, rulebook, as_of=dt.date(2024, 5, 1))
    evaluation.labels[0]     # frozenset({'billable', 'uplift'})
    evaluation.fired[0]      # ('billable', 'uplift')
    evaluation.where("uplift")  # 'uplift (rules/eligibility.yaml:40)'
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile.errors import Problem, RuleError
from reconcile.findings import Finding, Severity, finding
from reconcile.model import Source
from reconcile.rulebook.conditions import (
    All,
    AnyOf,
    Compare,
    CompiledRule,
    Member,
    Node,
    compile_rules,
    referenced_fields,
    render,
)
from reconcile.rulebook.engine import EngineProblem, available_backends, open_engine
from reconcile.rulebook.facts import Facts, Signature, derive_facts
from reconcile.rulebook.schema import Classify, FindingSpec

if TYPE_CHECKING:
    from reconcile.model import Declaration
    from reconcile.rulebook.load import Rulebook
from reconcile.rulebook.vocabulary import DECLARATION_PLACEHOLDERS, FactField, fact_vocabulary


class Evaluation(NamedTuple):
    """The rules' verdict on every declaration; ``labels[i]``/``fired[i]`` belong to
    ``declarations[i]``."""

    labels: tuple[frozenset[str], ...]
    fired: tuple[tuple[str, ...], ...]
    findings: tuple[Finding, ...]
    backend: str  # "durable" or "python"
    signatures: int  # distinct fact signatures the engine evaluated
    rules: tuple[CompiledRule, ...] = ()
    facts: Facts | None = None

    def rule(self, rule_id: str) -> CompiledRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def where(self, rule_id: str) -> str:
        """``"<rule id> (<file>:<line>)"`` of a rule."""
        rule = self.rule(rule_id)
        return rule.where if rule is not None else rule_id


def _label(rule: CompiledRule) -> str | None:
    return rule.then.label if isinstance(rule.then, Classify) else None


def _is_finding(rule: CompiledRule) -> bool:
    return isinstance(rule.then, FindingSpec)


def _finding_spec(rule: CompiledRule) -> FindingSpec:
    """The finding a finding rule reports (:func:`_is_finding`)."""
    assert isinstance(rule.then, FindingSpec), rule.id
    return rule.then


def _placeholders(rules: Iterable[CompiledRule]) -> set[str]:
    names: set[str] = set()
    for rule in rules:
        if isinstance(rule.then, FindingSpec):
            for text in (rule.then.message, rule.then.suggestion):
                names.update(n for _, n, _, _ in string.Formatter().parse(text) if n)
    return names


def signature_fields(rules: Sequence[CompiledRule],
                     vocabulary: Mapping[str, FactField]) -> tuple[str, ...]:
    """The fact fields to derive: those the conditions read, and those the finding
    messages show (``{window_position}``); never identity fields, which would make
    every declaration its own signature."""
    used = set().union(*(referenced_fields(r.condition) for r in rules))
    used |= _placeholders(r for r in rules if _is_finding(r)) - set(DECLARATION_PLACEHOLDERS)
    return tuple(name for name in vocabulary if name in used)


def _today(as_of: dt.date | dt.datetime | None) -> dt.date:
    if as_of is None:
        return dt.date.today()
    return as_of.date() if isinstance(as_of, dt.datetime) else as_of


def evaluate(declarations: Sequence[Declaration], rulebook: Rulebook, *, as_of: dt.date | None,
             backend: str = "auto") -> Evaluation:
    """Labels, fired rules and findings for every declaration (see the module doc)."""
    vocabulary = fact_vocabulary(rulebook.vocabulary)
    rules = compile_rules(rulebook.rules, fields=vocabulary)
    fields = signature_fields(rules, vocabulary)
    facts = derive_facts(declarations, rulebook, _today(as_of), fields, rules=rules)
    with open_engine(rules, backend=backend, fields=vocabulary,
                     signature_fields=fields) as engine:
        fired_by_signature = engine.evaluate(facts.signatures)
        problems, name = list(engine.problems), engine.name
    by_id = {rule.id: rule for rule in rules}
    labels_by_signature = [frozenset(filter(None, (_label(by_id[r]) for r in fired)))
                           for fired in fired_by_signature]
    findings_by_signature = [tuple(by_id[r] for r in fired if _is_finding(by_id[r]))
                             for fired in fired_by_signature]
    index = facts.signature_of
    labels = tuple(map(labels_by_signature.__getitem__, index))
    fired = tuple(map(fired_by_signature.__getitem__, index))
    findings = _findings(declarations, rulebook, facts, findings_by_signature)
    findings.extend(_engine_findings(problems, facts, name))
    return Evaluation(labels, fired, tuple(findings), name, len(facts.signatures),
                      rules, facts)


# --------------------------------------------------------------------------- findings


def _shown(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class _Messages:
    """Fills message placeholders: the declaration's own values and its facts.

    A message that shows only facts is the same for every declaration of a
    signature, so it is formatted once per signature.
    """

    def __init__(self, rulebook: Rulebook, facts: Facts):
        self.rulebook = rulebook
        self.facts = facts
        self._fact_text: dict[int, dict[str, str]] = {}
        self._milestones: dict[tuple[str | None, int, str], tuple[str, str]] = {}
        self._texts: dict[tuple[int, int], tuple[str, str]] = {}

    def _facts_of(self, n: int) -> dict[str, str]:
        text = self._fact_text.get(n)
        if text is None:
            text = self._fact_text[n] = {
                k: _shown(v) for k, v in zip(self.facts.fields, self.facts.signatures[n])}
        return text

    def _milestone(self, d: Declaration) -> tuple[str, str]:
        key = (d.schedule_identifier, d.cohort, d.declaration_type)
        if key not in self._milestones:
            schedule = self.rulebook.schedule_for(d.schedule_identifier, d.cohort)
            milestone = None if schedule is None else schedule.milestones.get(d.declaration_type)
            self._milestones[key] = (
                ("(no milestone)", "(no milestone)") if milestone is None else
                (_shown(milestone.start_date), _shown(milestone.milestone_date)))
        return self._milestones[key]

    def _own(self, d: Declaration) -> dict[str, str]:
        start, end = self._milestone(d)
        return {
            "declaration_id": d.declaration_id,
            "participant_id": d.participant_id,
            "declaration_date": _shown(d.declaration_date),
            "milestone_start": start,
            "milestone_date": end,
            "statement": d.statement_name or d.statement_id or "(none)",
            "lead_provider": d.lead_provider or "(no lead provider given)",
        }

    def texts(self, rule: CompiledRule, per_declaration: bool, n: int, d: Declaration
              ) -> tuple[str, str]:
        """The rule's message and suggestion for declaration ``d`` (signature ``n``)."""
        if not per_declaration:
            key = (rule.position, n)
            texts = self._texts.get(key)
            if texts is None:
                texts = self._texts[key] = self._format(rule, self._facts_of(n))
            return texts
        return self._format(rule, {**self._facts_of(n), **self._own(d)})

    @staticmethod
    def _format(rule: CompiledRule, values: dict[str, str]) -> tuple[str, str]:
        then = _finding_spec(rule)
        return then.message.format_map(values), (then.suggestion or "").format_map(values)


def _findings(declarations: Sequence[Declaration], rulebook: Rulebook, facts: Facts,
              findings_by_signature: list[tuple[CompiledRule, ...]]) -> list[Finding]:
    messages = _Messages(rulebook, facts)
    own = set(DECLARATION_PLACEHOLDERS)
    # per rule: its "<id> (<file>:<line>)", severity, and whether its texts show
    # values of the declaration itself
    distinct = {rule.position: rule for rules in findings_by_signature for rule in rules}
    shape = {position: (_finding_spec(rule).code, rule.where,
                        Severity(_finding_spec(rule).severity),
                        bool(_placeholders([rule]) & own))
             for position, rule in distinct.items()}
    out: list[Finding] = []
    index = facts.signature_of
    # only the declarations whose signature has a finding rule (picked at C speed)
    with_findings = [bool(rules) for rules in findings_by_signature]
    for i in itertools.compress(range(len(index)), map(with_findings.__getitem__, index)):
        n = index[i]
        rules = findings_by_signature[n]
        d = declarations[i]
        source = d.source
        for rule in rules:
            code, where, severity, per_declaration = shape[rule.position]
            message, suggestion = messages.texts(rule, per_declaration, n, d)
            out.append(Finding(
                code, severity, message, suggestion, lead_provider=d.lead_provider,
                cohort=d.cohort, statement=d.statement_name, declaration_id=d.declaration_id,
                source=source, rule=where))
    return out


def _engine_findings(problems: Sequence[EngineProblem], facts: Facts, backend: str) -> list[Finding]:
    """One finding per signature the engine failed on, naming how many declarations."""
    if not problems:
        return []
    counts: dict[int, int] = {}
    for n in facts.signature_of:
        counts[n] = counts.get(n, 0) + 1
    return [finding(
        "RULE_ENGINE_ERROR",
        f"The {backend} rules engine failed on {counts.get(p.signature, 0)} declaration(s) "
        f"with the facts {dict(zip(facts.fields, facts.signatures[p.signature]))}: "
        f"{p.what}. The pure-Python engine's answer was used for them.")
        for p in problems]


# --------------------------------------------------------------------------- checks


def _samples(rules: Sequence[CompiledRule], vocabulary: Mapping[str, FactField],
             fields: Sequence[str], count: int = 300) -> list[Signature]:
    """Facts that exercise the rules: every enumerated value, each constant a rule
    compares with and its neighbours, null where allowed; combined at random
    (seeded, so a check is repeatable)."""
    constants: dict[str, set[Any]] = {f: set() for f in fields}

    def collect(node: Node) -> None:
        if isinstance(node, Compare):
            constants[node.field].add(node.value)
        elif isinstance(node, Member):
            constants[node.field].update(node.values)
        elif isinstance(node, (All, AnyOf)):
            for item in node.items:
                collect(item)

    for rule in rules:
        collect(rule.condition)
    choices = []
    for name in fields:
        spec = vocabulary[name]
        values = set(constants[name]) | set(spec.allowed or ())
        if spec.type == "bool":
            values = {True, False}
        elif spec.type == "int":
            values |= {v + d for v in constants[name] for d in (-1, 1)} or {0}
        elif spec.type == "date":
            days = [dt.date.fromisoformat(v) for v in constants[name]]
            values |= {(day + dt.timedelta(days=d)).isoformat()
                       for day in days for d in (-1, 1)} or {"2000-01-01"}
        elif not values:
            values = {"x"}
        ordered = sorted(values, key=repr)
        if spec.nullable:
            ordered.append(None)
        choices.append(ordered)
    generator = random.Random(20240501)
    samples = {tuple(generator.choice(c) for c in choices) for _ in range(count)}
    return sorted(samples, key=repr)


def check_rules(rulebook: Rulebook) -> tuple[str, ...]:
    """Compile the rules into every backend this interpreter has and make sure they
    agree; returns the backends checked. RuleError (with file:line) on failure."""
    vocabulary = fact_vocabulary(rulebook.vocabulary)
    rules = compile_rules(rulebook.rules, fields=vocabulary)
    fields = signature_fields(rules, vocabulary)
    samples = _samples(rules, vocabulary, fields)
    answers = {}
    for backend in available_backends():
        with open_engine(rules, backend=backend, fields=vocabulary,
                         signature_fields=fields) as engine:
            answers[backend] = engine.evaluate(samples)
            if engine.problems:
                p = engine.problems[0]
                raise RuleError([Problem(Source(backend), f"the {backend} engine fails on "
                                         f"the facts {dict(zip(fields, samples[p.signature]))}: "
                                         f"{p.what}", "simplify the rules, or run with "
                                         "--engine python")])
    if len(answers) == 2 and answers["durable"] != answers["python"]:
        problems = []
        for sample, one, two in zip(samples, answers["durable"], answers["python"]):
            for rule in rules:
                if (rule.id in one) != (rule.id in two):
                    problems.append(Problem(rule.source, f"rule {rule.id}: durable-rules and "
                                            f"the Python engine disagree on "
                                            f"{render(rule.condition)} for the facts "
                                            f"{dict(zip(fields, sample))}",
                                            "report this (an engine bug); meanwhile run "
                                            "with --engine python"))
        raise RuleError(problems[:20])
    return tuple(answers)


def explain_facts(declaration: Declaration, rulebook: Rulebook, as_of: dt.date | None, *,
                  declarations: Sequence[Declaration] = ()) -> dict[str, Any]:
    """Every fact field of one declaration, as the rules see it (JSON types).

    ``duplicate`` depends on the other declarations: pass them as ``declarations``
    (without them it is judged against this declaration alone, i.e. false).
    """
    group = [declaration] + [
        d for d in declarations
        if d is not declaration and d.participant_id == declaration.participant_id
        and d.course_identifier == declaration.course_identifier
        and d.declaration_type == declaration.declaration_type]
    facts = derive_facts(group, rulebook, _today(as_of))
    return facts.of(0)
