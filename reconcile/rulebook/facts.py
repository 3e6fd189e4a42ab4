"""Facts: what the eligibility rules can ask about a declaration (stage: evaluate rules).

In: declarations (:class:`reconcile.model.Declaration`), the rulebook, ``as_of``.
Out: the *fact vocabulary* (field -> type, nullable, allowed values) that
``rules/eligibility.yaml`` conditions are checked against, and each declaration's
facts as a *signature*: a tuple of JSON-typed values of the fields the rules use.

Facts are low-cardinality on purpose (DOMAIN.md "Validation of a declaration"):
``window_position`` says where the declaration date falls in its milestone window
instead of carrying the date itself, so a million declarations collapse into a
few hundred distinct signatures and the rules engine evaluates each one once.

>>> fields = fact_vocabulary(None)
>>> fields["window_position"].allowed[:3]
('before_start', 'within', 'after_cutoff')
>>> fields["cohort"].type
'int'
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import NamedTuple

#: the value types of the condition language; dates are zero-padded ISO text
#: ("2023-06-01") so that durable-rules and Python both compare them as strings
FIELD_TYPES = ("str", "int", "bool", "date")

#: where a declaration date falls in its milestone window (DOMAIN.md "Validation"):
#: before_start: before the milestone's start date; after_cutoff: after the end of
#: its milestone date; open_ended: the milestone has no milestone date (non-standard
#: schedules: no date validation); not_in_schedule: the schedule has no milestone
#: of this declaration type; unknown_schedule: no such schedule for the cohort.
WINDOW_POSITIONS = ("before_start", "within", "after_cutoff", "open_ended",
                    "not_in_schedule", "unknown_schedule")

#: schedule families (DOMAIN.md, reference schedules: ecf-standard-september, ...)
SCHEDULE_FAMILIES = ("standard", "extended", "reduced", "replacement")

#: message placeholders that come from the declaration itself, not from its facts
DECLARATION_PLACEHOLDERS = ("declaration_id", "participant_id", "declaration_date",
                            "milestone_start", "milestone_date", "statement",
                            "lead_provider")


class FactField(NamedTuple):
    """One field of a declaration's facts, as rule conditions see it."""

    name: str
    type: str  # one of FIELD_TYPES
    nullable: bool  # may be null (absent); see conditions.py "Null semantics"
    allowed: tuple | None  # the enumerated values, or None for any value of the type
    doc: str


def _enum(vocabulary, attribute: str) -> tuple | None:
    """An enumeration from the rulebook's vocabulary, or None (open) without one."""
    if vocabulary is None:
        return None
    value = getattr(vocabulary, attribute, None)
    if value is None:
        return None
    return tuple(value)


def fact_vocabulary(vocabulary) -> dict[str, FactField]:
    """Every fact field, in a stable order; enumerations come from the rulebook.

    ``vocabulary`` is the rulebook's vocabulary (``states``, ``declaration_types``,
    ``courses``, ``participant_types``); ``None`` leaves those fields open.
    """
    courses = None
    if vocabulary is not None and getattr(vocabulary, "courses", None) is not None:
        courses = tuple(vocabulary.courses)
    fields = (
        FactField("state", "str", False, _enum(vocabulary, "states"),
                  "the declaration's state, dasherized (paid, awaiting-clawback, ...)"),
        FactField("declaration_type", "str", False, _enum(vocabulary, "declaration_types"),
                  "started, retained-1..4, completed, extended-1..3"),
        FactField("participant_type", "str", False, _enum(vocabulary, "participant_types"),
                  "ect or mentor"),
        FactField("course_identifier", "str", False, courses,
                  "ecf-induction or ecf-mentor"),
        FactField("cohort", "int", False, None, "the cohort's start year, e.g. 2023"),
        FactField("schedule_identifier", "str", False, None,
                  "e.g. ecf-standard-september"),
        FactField("schedule_family", "str", True,
                  _enum(vocabulary, "schedule_families") or SCHEDULE_FAMILIES,
                  "standard, extended, reduced or replacement; null for an unknown schedule"),
        FactField("window_position", "str", False, WINDOW_POSITIONS,
                  "where declaration_date falls in the milestone window of its schedule"),
        FactField("future_date", "bool", False, None,
                  "declaration_date is after the as-of date (today by default)"),
        FactField("declaration_date", "date", False, None,
                  "the declaration date (YYYY-MM-DD); many distinct values, so a rule "
                  "that uses it makes evaluation slower: prefer window_position"),
        FactField("has_uplift_flag", "bool", False, None,
                  "pupil premium or sparsity uplift (either, counted once; the "
                  "API's uplift_paid counts as one)"),
        FactField("pupil_premium_uplift", "bool", False, None, "pupil premium uplift flag"),
        FactField("sparsity_uplift", "bool", False, None, "sparsity uplift flag"),
        FactField("contract_found", "bool", False, None,
                  "a contract exists for the lead provider and cohort"),
        FactField("contract_uplift", "bool", False, None,
                  "the contract has an uplift_amount (false without a contract)"),
        FactField("mentor_flat_rate", "bool", False, None,
                  "the contract has a mentor block: flat-rate mentor funding "
                  "(false without a contract)"),
        FactField("duplicate", "bool", False, None,
                  "another billable-or-submitted declaration of the same participant, "
                  "course and type comes earlier (declaration_date, created_at, "
                  "declaration_id)"),
        FactField("has_delivery_partner", "bool", False, None,
                  "delivery_partner_id or delivery_partner_name is given"),
        FactField("has_statement", "bool", False, None,
                  "statement_id or statement_name is given"),
        FactField("has_clawback_statement", "bool", False, None,
                  "clawback_statement_id or clawback_statement_name is given"),
        FactField("output_statement_available", "bool", False, None,
                  "the cohort has an output-fee statement whose cut-off is on or after "
                  "the day the declaration was submitted (created_at, else its date)"),
    )
    return {f.name: f for f in fields}


# --------------------------------------------------------------------------- deriving


class Facts(NamedTuple):
    """Every declaration's facts, deduplicated: ``signatures[index[i]]`` is
    declaration ``i``'s signature, a tuple of the values of ``fields``."""

    fields: tuple[str, ...]
    signatures: tuple[tuple, ...]  # distinct, in order of first appearance
    index: list[int]

    def of(self, i: int) -> dict:
        """Declaration ``i``'s facts as a mapping."""
        return dict(zip(self.fields, self.signatures[self.index[i]]))


# How each fact field is computed, as a Python expression over a declaration ``d``
# (and the locals of _LOCALS: ``date``, its declaration date as a day; ``schedule``,
# its schedule; ``terms``, its contract's facts; and ``dup``, its duplicate flag).
# Anything that needs the rulebook goes through a memo (a dict that computes a
# missing key once), keyed by low-cardinality values only, so a million
# declarations cost a few dictionary look-ups each. The expressions are joined
# into one generated loop (see _loop): the per-declaration cost is then one tuple.
_EXPRESSIONS = {
    "state": "d.state",
    "declaration_type": "d.declaration_type",
    "participant_type": "d.participant_type",
    "course_identifier": "d.course_identifier",
    "cohort": "d.cohort",
    "schedule_identifier": "d.schedule_identifier",
    "schedule_family": "family[d.schedule_identifier, d.cohort]",
    "window_position": "window_position(schedule, d.declaration_type, date)",
    "future_date": "date > as_of",
    "declaration_date": "iso[date]",
    "has_uplift_flag": "(d.pupil_premium_uplift or d.sparsity_uplift or d.uplift_paid)",
    "pupil_premium_uplift": "d.pupil_premium_uplift",
    "sparsity_uplift": "d.sparsity_uplift",
    "contract_found": "terms[0]",
    "contract_uplift": "terms[1]",
    "mentor_flat_rate": "terms[2]",
    "duplicate": "dup",
    "has_delivery_partner": "bool(d.delivery_partner_id or d.delivery_partner_name)",
    "has_statement": "bool(d.statement_id or d.statement_name)",
    "has_clawback_statement": "bool(d.clawback_statement_id or d.clawback_statement_name)",
    # the next output-fee statement is the first whose cut-off is on or after the
    # day it was submitted (DOMAIN.md "Statement"): one exists if the cohort's last
    # output-fee cut-off is not before that day
    "output_statement_available": "last_cut_off[d.cohort] >= (d.created_at or "
                                  "d.declaration_date).date()",
}


#: locals the loop computes once per declaration, for the fields that use them
_LOCALS = (
    ("date", "d.declaration_date.date()",
     frozenset(("window_position", "future_date", "declaration_date"))),
    ("schedule", "schedule_of[d.schedule_identifier, d.cohort]",
     frozenset(("window_position",))),
    ("terms", "contract[d.lead_provider, d.cohort]",
     frozenset(("contract_found", "contract_uplift", "mentor_flat_rate"))),
)


class _Memo(dict):
    """A dict that computes a missing value once: ``memo[key]`` = ``compute(key)``."""

    def __init__(self, compute):
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self[key] = self.compute(key)
        return value


def window_position(schedule, declaration_type: str, day: dt.date) -> str:
    """Where ``day`` falls in the milestone window of ``declaration_type`` in
    ``schedule`` (None: no such schedule) (DOMAIN.md "Validation").

    The API checks the start always ("declaration before milestone start"), and the
    end only where the milestone has a milestone date: a declaration dated on the
    milestone date is within (the window ends at the end of that day).
    """
    if schedule is None:
        return "unknown_schedule"
    milestone = schedule.milestones.get(declaration_type)
    if milestone is None:
        return "not_in_schedule"
    if day < milestone.start_date:
        return "before_start"
    if milestone.milestone_date is None:
        return "open_ended"
    if day > milestone.milestone_date:
        return "after_cutoff"
    return "within"


class _Lookups:
    """The memos the generated loop reads, over one rulebook and one as-of day."""

    def __init__(self, rulebook, as_of: dt.date):
        self.rulebook = rulebook
        self.as_of = as_of

    def namespace(self) -> dict:
        return {
            "family": _Memo(self._family),
            "schedule_of": _Memo(self._schedule),
            "window_position": window_position,
            "iso": _Memo(dt.date.isoformat),
            "contract": _Memo(self._contract),
            "last_cut_off": _Memo(self._last_cut_off),
            "as_of": self.as_of,
            "bool": bool,
        }

    def _family(self, key) -> str | None:
        schedule = self.rulebook.schedule_for(*key)
        return None if schedule is None else getattr(schedule, "family", None)

    def _schedule(self, key):
        return self.rulebook.schedule_for(*key)

    def _contract(self, key) -> tuple[bool, bool, bool]:
        contract = self.rulebook.contract_for(*key)
        if contract is None:
            return (False, False, False)
        return (True, bool(contract.uplift_amount), contract.mentor is not None)

    def _last_cut_off(self, cohort: int) -> dt.date:
        cut_offs = [s.cut_off_date for s in self.rulebook.statements_for(cohort) if s.output_fee]
        return max(cut_offs, default=dt.date.min)


def _loop(fields: Sequence[str], namespace: dict):
    """The per-declaration loop for these fields, generated once per call.

    ``derive(declarations, dups, signatures, index)`` appends each declaration's
    signature number to ``index``, numbering new signatures in ``signatures``.
    """
    values = [_EXPRESSIONS[f] for f in fields]
    body = ", ".join(values) + ("," if len(values) == 1 else "")
    source = "\n".join([
        "def derive(declarations, dups, signatures, index):",
        "    append = index.append",
        "    for d, dup in zip(declarations, dups):",
        *(f"        {name} = {expression}" for name, expression, users in _LOCALS
          if users.intersection(fields)),
        f"        signature = ({body})",
        "        number = signatures.get(signature)",
        "        if number is None:",
        "            number = signatures[signature] = len(signatures)",
        "        append(number)",
    ])
    exec(compile(source, "<reconcile facts>", "exec"), namespace)  # noqa: S102 (fixed text)
    return namespace["derive"]


def find_duplicates(declarations: Sequence, counted_states: frozenset[str]) -> list[bool]:
    """For each declaration: does another one of the same participant, course and
    type, in a counted state, come before it in (declaration_date, created_at,
    declaration_id) order? (DOMAIN.md "Validation": "one billable (or submitted)
    declaration per participant, course and type".)"""
    first: dict[tuple, int] = {}  # (participant, course, type) -> first index seen
    groups: dict[tuple, list[int]] = {}  # only the keys seen more than once
    for i, d in enumerate(declarations):
        key = (d.participant_id, d.course_identifier, d.declaration_type)
        j = first.setdefault(key, i)
        if j != i:
            group = groups.get(key)
            if group is None:
                groups[key] = [j, i]
            else:
                group.append(i)
    duplicates = [False] * len(declarations)

    def order(i: int) -> tuple:
        d = declarations[i]
        return (d.declaration_date, d.created_at or d.declaration_date, d.declaration_id)

    for group in groups.values():
        counted = [(order(i), i) for i in group if declarations[i].state in counted_states]
        if not counted:
            continue
        earliest, winner = min(counted)
        for i in group:
            duplicates[i] = i != winner and earliest < order(i)
    return duplicates


def duplicate_states(rules: Sequence, vocabulary) -> frozenset[str]:
    """The states that count as "billable or submitted" for ``duplicate``.

    Read from the rules, not written in code: the states for which a rule that
    tests ``duplicate`` can fire (rules/eligibility.yaml, rule ``duplicate``:
    ``state: {in: [submitted, eligible, payable, paid]}``). A declaration in one of
    them is a claim for the event, so an earlier one makes a later one a duplicate.
    """
    from reconcile.rulebook.conditions import can_match, referenced_fields

    states = tuple(getattr(vocabulary, "states", ()) or ())
    counted = set()
    for rule in rules:
        if "duplicate" in referenced_fields(rule.condition):
            counted.update(s for s in states
                           if can_match(rule.condition, {"state": s, "duplicate": True}))
    return frozenset(counted)


def derive_facts(declarations: Sequence, rulebook, as_of: dt.date,
                 fields: Sequence[str] | None = None, *, rules: Sequence | None = None) -> Facts:
    """Every declaration's signature over ``fields`` (default: every fact field).

    ``rules`` are the rulebook's compiled rules (compiled here when not given);
    they say which states count for ``duplicate``.

    >>> import datetime as dt
    >>> from types import SimpleNamespace as NS
    >>> rulebook = NS(vocabulary=None, rules=(), schedule_for=lambda s, c: None)
    >>> d = NS(state="paid", cohort=2023, schedule_identifier="ecf-standard-september",
    ...        declaration_type="started", declaration_date=dt.datetime(2023, 9, 1))
    >>> derive_facts([d, d], rulebook, dt.date(2024, 1, 1), ["state", "window_position"])
    Facts(fields=('state', 'window_position'), signatures=(('paid', 'unknown_schedule'),), index=[0, 0])
    """
    vocabulary = fact_vocabulary(getattr(rulebook, "vocabulary", None))
    fields = tuple(vocabulary) if fields is None else tuple(fields)
    unknown = [f for f in fields if f not in _EXPRESSIONS]
    if unknown:
        raise ValueError(f"no way to derive fact field(s) {unknown}")
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    if "duplicate" in fields:
        if rules is None:
            from reconcile.rulebook.conditions import compile_rules

            rules = compile_rules(rulebook.rules, rulebook.vocabulary)
        dups = find_duplicates(declarations, duplicate_states(rules, rulebook.vocabulary))
    else:
        dups = itertools.repeat(False)
    signatures: dict[tuple, int] = {}
    index: list[int] = []
    _loop(fields, _Lookups(rulebook, as_of).namespace())(declarations, dups, signatures, index)
    return Facts(fields, tuple(signatures), index)
