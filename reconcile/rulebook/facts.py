"""Facts: what the eligibility rules can ask about a declaration (stage: evaluate rules).

In: declarations (:class:`reconcile.model.Declaration`), the rulebook, ``as_of``.
Out: the *fact vocabulary* (field -> type, nullable, allowed values) that
``rules/eligibility.yaml`` conditions are checked against, and each declaration's
facts as a *signature*: a tuple of JSON-typed values of the fields the rules use.

Facts are low-cardinality on purpose (docs/domain.md "Validation of a declaration"):
``window_position`` says where the declaration date falls in its milestone window
instead of carrying the date itself, so a million declarations collapse into a
few hundred distinct signatures and the rules engine evaluates each one once.

The fields themselves (names, types, allowed values) are the *fact vocabulary*,
:mod:`reconcile.rulebook.vocabulary`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from reconcile.model import Declaration
from reconcile.rulebook.conditions import CompiledRule, can_match, compile_rules, referenced_fields
from reconcile.rulebook.schema import Schedule, VocabularyFile
from reconcile.rulebook.vocabulary import fact_vocabulary

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook

#: a fact's value: JSON types only (str, int, bool, None)
Signature = tuple[Any, ...]
_K = TypeVar("_K")
_V = TypeVar("_V")

# --------------------------------------------------------------------------- deriving


class Facts(NamedTuple):
    """Every declaration's facts, deduplicated: ``signatures[index[i]]`` is
    declaration ``i``'s signature, a tuple of the values of ``fields``."""

    fields: tuple[str, ...]
    signatures: tuple[Signature, ...]  # distinct, in order of first appearance
    #: per declaration, the number of its signature
    signature_of: list[int]

    def of(self, i: int) -> dict[str, Any]:
        """Declaration ``i``'s facts as a mapping."""
        return dict(zip(self.fields, self.signatures[self.signature_of[i]]))


# How each fact field is computed: as a *column* over all the declarations, built
# from C-level iterators (attribute getters, dict look-ups, comparisons), so that
# a million declarations cost a few passes at C speed rather than a Python loop.
# Anything that needs the rulebook goes through a memo (a dict that computes a
# missing key once), keyed by low-cardinality values only. ``_Columns`` holds the
# one method per field; the columns are zipped into the signatures (see derive_facts).
#
# What each field is, per declaration ``d`` (``day``: its declaration date as a day):
#   state, declaration_type, participant_type, course_identifier, cohort,
#   schedule_identifier, pupil_premium_uplift, sparsity_uplift: d.<field>
#   schedule_family: the family of schedule (d.schedule_identifier, d.cohort)
#   window_position: window_position(that schedule, d.declaration_type, day)
#   future_date: day > as_of;  declaration_date: day in ISO form
#   has_uplift_flag: d.pupil_premium_uplift or d.sparsity_uplift or d.uplift_paid
#   contract_found, contract_uplift, mentor_flat_rate: the contract (d.lead_provider,
#     d.cohort) exists, has an uplift_amount, has a mentor block
#   duplicate: see find_duplicates
#   has_delivery_partner, has_statement, has_clawback_statement: the id or the name
#     is given
#   output_statement_available: the next output-fee statement is the first whose
#     cut-off is on or after the day it was submitted (docs/domain.md "Statement"): one
#     exists if the cohort's last output-fee cut-off is not before that day
#     (created_at, else the declaration date)
_PLAIN = ("state", "declaration_type", "participant_type", "course_identifier", "cohort",
          "schedule_identifier", "pupil_premium_uplift", "sparsity_uplift")
_EITHER = {"has_delivery_partner": ("delivery_partner_id", "delivery_partner_name"),
           "has_statement": ("statement_id", "statement_name"),
           "has_clawback_statement": ("clawback_statement_id", "clawback_statement_name")}
_TERMS = ("contract_found", "contract_uplift", "mentor_flat_rate")
_DERIVED = ("schedule_family", "window_position", "future_date", "declaration_date",
            "has_uplift_flag", "duplicate", "output_statement_available")
_FIELDS = frozenset(_PLAIN) | frozenset(_EITHER) | frozenset(_TERMS) | frozenset(_DERIVED)


class _Memo(dict[_K, _V]):
    """A dict that computes a missing value once: ``memo[key]`` = ``compute(key)``."""

    def __init__(self, compute: Callable[[_K], _V]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: _K) -> _V:
        value = self[key] = self.compute(key)
        return value


def _memo_of_two(memo: _Memo[tuple[Any, Any], _V], a: int, b: int, raw: Signature) -> _V:
    """``memo`` of the raw attributes at ``a`` and ``b`` (a key's value)."""
    return memo[raw[a], raw[b]]


def _term(memo: _Memo[tuple[Any, Any], tuple[bool, bool, bool]], a: int, b: int, k: int,
          raw: Signature) -> bool:
    return memo[raw[a], raw[b]][k]


def _any_of_three(a: int, b: int, c: int, raw: Signature) -> Any:
    return raw[a] or raw[b] or raw[c]


def window_position(schedule: Schedule | None, declaration_type: str, day: dt.date) -> str:
    """Where ``day`` falls in the milestone window of ``declaration_type`` in
    ``schedule`` (None: no such schedule) (docs/domain.md "Validation of a declaration").

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


class _Columns:
    """Each fact field as a column (an iterable, one value per declaration, in order)."""

    def __init__(self, declarations: Sequence[Declaration], rulebook: Rulebook,
                 as_of: dt.date, dups: Iterable[bool]) -> None:
        self.declarations = declarations
        self.rulebook = rulebook
        self.as_of = as_of
        self.dups = dups
        self._days: list[dt.date] | None = None
        self._terms: list[tuple[bool, bool, bool]] | None = None

    def keyed(self, fields: Sequence[str]
              ) -> tuple[list[Iterator[Any]], Callable[[Signature], Signature]]:
        """Per declaration a *key* that decides its signature, and the function that
        turns a distinct key into the signature (its values in ``fields`` order).

        A key takes fewer passes over the declarations than one column per field.
        Its first part is one attribute getter: the plain fields and the attributes
        schedule_family, the contract's facts and has_uplift_flag are computed from,
        once per distinct key (a few thousand) rather than per declaration. The
        day-based fields come from one memo per (schedule, cohort, type, day); the
        rest are columns of their own.
        """
        ds = self.declarations
        raw: list[str] = []
        after: dict[str, Callable[[Signature], Any]] = {}  # field -> from the raw attributes

        def at(attribute: str) -> int:
            if attribute not in raw:
                raw.append(attribute)
            return raw.index(attribute)

        for field in fields:
            if field in _PLAIN:
                after[field] = itemgetter(at(field))
            elif field == "schedule_family":
                after[field] = partial(_memo_of_two, _Memo(self._family),
                                       at("schedule_identifier"), at("cohort"))
            elif field in _TERMS:
                after[field] = partial(_term, _Memo(self._contract), at("lead_provider"),
                                       at("cohort"), _TERMS.index(field))
            elif field == "has_uplift_flag":  # either flag (or DfE paid an uplift)
                after[field] = partial(_any_of_three, at("pupil_premium_uplift"),
                                       at("sparsity_uplift"), at("uplift_paid"))
        by_day = [f for f in ("window_position", "future_date", "declaration_date")
                  if f in fields]
        parts: list[Iterator[Any]] = []
        place: dict[str, tuple[int, int | None]] = {}
        if raw:
            parts.append(map(attrgetter(*raw), ds) if len(raw) > 1
                         else zip(map(attrgetter(raw[0]), ds)))
        if by_day:
            place.update((f, (len(parts), by_day.index(f))) for f in by_day)
            parts.append(self.day_facts(by_day))
        for field in fields:
            if field not in after and field not in place:
                place[field] = (len(parts), None)
                parts.append(self.column(field))
        getters: list[tuple[Callable[[Signature], Any] | int, int | None]] = [
            (after[f], None) if f in after else place[f] for f in fields]

        def signature(key: Signature) -> Signature:
            values = []
            for first, second in getters:
                if callable(first):
                    values.append(first(key[0]))
                elif second is not None:
                    values.append(key[first][second])
                else:
                    values.append(key[first])
            return tuple(values)

        return parts, signature

    def day_facts(self, wanted: list[str]) -> Iterator[Signature]:
        """(window_position, future_date, declaration_date), those ``wanted``, per declaration."""
        as_of = self.as_of
        schedule_of: _Memo[tuple[str, int], Schedule | None] = _Memo(
            lambda key: self.rulebook.schedule_for(*key))

        def compute(key: tuple[tuple[Any, Any, Any], dt.date]) -> Signature:
            ((schedule_identifier, cohort, declaration_type), day) = key
            facts: dict[str, Any] = {"future_date": day > as_of,
                                     "declaration_date": day.isoformat()}
            if "window_position" in wanted:
                facts["window_position"] = "not_given" if schedule_identifier is None else \
                    window_position(schedule_of[schedule_identifier, cohort], declaration_type,
                                    day)
            return tuple(facts[f] for f in wanted)

        facts = _Memo(compute)  # a few thousand (schedule, cohort, type) and day keys
        keys: Iterator[tuple[tuple[Any, Any, Any], dt.date]]
        if "window_position" in wanted:
            keys = zip(map(attrgetter("schedule_identifier", "cohort", "declaration_type"),
                           self.declarations), self.days())
        else:
            keys = zip(itertools.repeat((None, None, None)), self.days())
        return map(facts.__getitem__, keys)

    def column(self, field: str) -> Iterator[Any]:
        ds = self.declarations
        if field in _PLAIN:
            return map(attrgetter(field), ds)
        if field in _EITHER:  # bool(id or name)
            return map(any, map(attrgetter(*_EITHER[field]), ds))
        if field in _TERMS:
            return map(itemgetter(_TERMS.index(field)), self.terms())
        derived: Callable[[], Iterator[Any]] = getattr(self, field)  # one method per field
        return derived()

    def days(self) -> list[dt.date]:
        """Each declaration date as a day (shared by the fields that use it)."""
        if self._days is None:
            self._days = list(map(dt.datetime.date, map(attrgetter("declaration_date"),
                                                        self.declarations)))
        return self._days

    def terms(self) -> list[tuple[bool, bool, bool]]:
        if self._terms is None:
            contract = _Memo(self._contract)
            self._terms = list(map(contract.__getitem__,
                                   map(attrgetter("lead_provider", "cohort"), self.declarations)))
        return self._terms

    def schedule_family(self) -> Iterator[str | None]:
        family = _Memo(self._family)
        return map(family.__getitem__,
                   map(attrgetter("schedule_identifier", "cohort"), self.declarations))

    def window_position(self) -> Iterator[str]:
        schedule_of: _Memo[tuple[str, int], Schedule | None] = _Memo(
            lambda key: self.rulebook.schedule_for(*key))

        def position(key: tuple[tuple[str | None, int, str], dt.date]) -> str:
            (schedule_identifier, cohort, declaration_type), day = key
            if schedule_identifier is None:
                return "not_given"
            return window_position(schedule_of[schedule_identifier, cohort],
                                   declaration_type, day)

        where = _Memo(position)  # (schedule, cohort, type) and a day: a few thousand keys
        return map(where.__getitem__, zip(
            map(attrgetter("schedule_identifier", "cohort", "declaration_type"),
                self.declarations), self.days()))

    def future_date(self) -> Iterator[bool]:
        return map(self.as_of.__lt__, self.days())  # day > as_of

    def declaration_date(self) -> Iterator[str]:
        return map(_Memo(dt.date.isoformat).__getitem__, self.days())

    def has_uplift_flag(self) -> Iterator[Any]:
        flag: _Memo[tuple[Any, Any, Any], Any] = _Memo(
            lambda flags: flags[0] or flags[1] or flags[2])
        return map(flag.__getitem__, map(attrgetter(
            "pupil_premium_uplift", "sparsity_uplift", "uplift_paid"), self.declarations))

    def duplicate(self) -> Iterator[bool]:
        return iter(self.dups)

    def output_statement_available(self) -> Iterator[bool]:
        ds = self.declarations
        created = list(map(attrgetter("created_at"), ds))
        if None in created:  # submitted: created_at, else the declaration date
            created = [c or d.declaration_date for c, d in zip(created, ds)]
        last_cut_off = _Memo(self._last_cut_off)
        return map(operator.ge, map(last_cut_off.__getitem__, map(attrgetter("cohort"), ds)),
                   map(dt.datetime.date, created))

    def _family(self, key: tuple[str, int]) -> str | None:
        schedule = self.rulebook.schedule_for(*key)
        return None if schedule is None else schedule.family

    def _contract(self, key: tuple[str | None, int]) -> tuple[bool, bool, bool]:
        contract = self.rulebook.contract_for(*key)
        if contract is None:
            return (False, False, False)
        # uplift: when any version of the terms pays one (the statement's own version
        # decides the amount, none where it has none: ECF include_uplift_fees?)
        return (True, any(bool(t.uplift_amount) for t in contract.all_terms),
                contract.mentor is not None)

    def _last_cut_off(self, cohort: int) -> dt.date:
        cut_offs = [s.cut_off_date for s in self.rulebook.statements_for(cohort) if s.output_fee]
        return max(cut_offs, default=dt.date.min)


def find_duplicates(declarations: Sequence[Declaration], counted_states: frozenset[str]
                    ) -> list[bool]:
    """For each declaration: does another one of the same participant, course and
    type, in a counted state, come before it in (declaration_date, created_at,
    declaration_id) order? (docs/domain.md "Validation of a declaration": "one billable
    (or submitted)
    declaration per participant, course and type".)"""
    n = len(declarations)
    # each declaration's (participant, course, type) -> the first index with it, at C
    # speed; only the keys seen more than once are grouped in Python
    first: dict[tuple[str, str, str], int] = {}
    firsts = list(map(first.setdefault, map(attrgetter(
        "participant_id", "course_identifier", "declaration_type"), declarations), range(n)))
    first.clear()
    groups: dict[int, list[int]] = {}  # first index -> every index of its key
    for i in itertools.compress(range(n), map(operator.ne, firsts, range(n))):
        j = firsts[i]
        group = groups.get(j)
        if group is None:
            groups[j] = [j, i]
        else:
            group.append(i)
    del firsts
    duplicates = [False] * len(declarations)

    def order(i: int) -> tuple[dt.datetime, dt.datetime, str]:
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


def duplicate_states(rules: Sequence[CompiledRule], vocabulary: VocabularyFile | None
                     ) -> frozenset[str]:
    """The states that count as "billable or submitted" for ``duplicate``.

    Read from the rules, not written in code: the states for which a rule that
    tests ``duplicate`` can fire (rules/eligibility.yaml, rule ``duplicate``:
    ``state: {in: [submitted, eligible, payable, paid]}``). A declaration in one of
    them is a claim for the event, so an earlier one makes a later one a duplicate.
    """
    states = tuple(vocabulary.states) if vocabulary is not None else ()
    counted: set[str] = set()
    for rule in rules:
        if "duplicate" in referenced_fields(rule.condition):
            counted.update(s for s in states
                           if can_match(rule.condition, {"state": s, "duplicate": True}))
    return frozenset(counted)


def derive_facts(declarations: Sequence[Declaration], rulebook: Rulebook, as_of: dt.date,
                 fields: Sequence[str] | None = None, *,
                 rules: Sequence[CompiledRule] | None = None) -> Facts:
    """Every declaration's signature over ``fields`` (default: every fact field).

    ``rules`` are the rulebook's compiled rules (compiled here when not given);
    they say which states count for ``duplicate``.

    >>> import datetime as dt
    >>> from types import SimpleNamespace as NS
    >>> rulebook = NS(vocabulary=None, rules=(), schedule_for=lambda s, c: None)
    >>> d = NS(state="paid", cohort=2023, schedule_identifier="ecf-standard-september",
    ...        declaration_type="started", declaration_date=dt.datetime(2023, 9, 1))
    >>> derive_facts([d, d], rulebook, dt.date(2024, 1, 1), ["state", "window_position"])
    Facts(fields=('state', 'window_position'), signatures=(('paid', 'unknown_schedule'),), signature_of=[0, 0])
    """
    vocabulary = fact_vocabulary(rulebook.vocabulary)
    fields = tuple(vocabulary) if fields is None else tuple(fields)
    unknown = [f for f in fields if f not in _FIELDS]
    if unknown:
        raise ValueError(f"no way to derive fact field(s) {unknown}")
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    dups: Iterable[bool]
    if "duplicate" in fields:
        if rules is None:
            rules = compile_rules(rulebook.rules, rulebook.vocabulary)
        dups = find_duplicates(declarations, duplicate_states(rules, rulebook.vocabulary))
    else:
        dups = itertools.repeat(False)
    columns = _Columns(declarations, rulebook, as_of, dups)
    # Each declaration's signature is one tuple of its columns; the first position of
    # each distinct signature is kept (dict.setdefault, at C speed), then renumbered
    # 0, 1, 2 ... in order of first appearance.
    parts, signature = columns.keyed(fields)
    first: dict[Signature, int] = {}
    keys = zip(*parts) if parts else itertools.repeat((), len(declarations))
    firsts = list(map(first.setdefault, keys, itertools.count()))
    # distinct keys that make the same signature (e.g. two schedules of one family)
    # share its number
    numbers: dict[Signature, int] = {}
    number = {position: numbers.setdefault(signature(key), len(numbers))
              for key, position in first.items()}
    return Facts(fields, tuple(numbers), list(map(number.__getitem__, firsts)))
