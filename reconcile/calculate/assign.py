"""Statement assignment: which contract and statement each declaration belongs to (stage: calculate).

In: validated declarations, their rule labels, the rulebook's contracts and
statement calendars, and DfE's statements (for statement ids), if given.
Out: an :class:`Assignment` — per declaration the contract, the payment statement
and (for refundable ones) the clawback statement, as indexes into the contract's
:class:`ContractCalendar` — and the findings of assignment.

The rules (DOMAIN.md "Statement", user-needs #1–#3):

* a billable declaration belongs to the statement DfE attached it to
  (``statement_id`` through DfE's statements, else ``statement_name``); when none
  is given, to the *next output-fee statement* of its cohort: the first one whose
  cut-off date is on or after the day it was submitted (``created_at``, else
  ``declaration_date``; the UTC calendar day). A given statement that differs from
  that one is kept — DfE's attachment is what is paid — and reported as
  ``CALC_STATEMENT_MOVED``; a given statement that cannot be found is reported as
  ``CALC_UNKNOWN_STATEMENT`` and the calendar rule decides.
* a refundable declaration (clawed back) is also billable on its payment
  statement, and is refunded on its ``clawback_statement_*``. When none is given
  we cannot know the day of the void (the input has no ``updated_at``); the
  earliest it can have happened is when it was paid, so the clawback is placed on
  the first output-fee statement with a cut-off on or after the payment
  statement's payment date, and ``CALC_CLAWBACK_STATEMENT_ASSUMED`` says so.
  A clawback statement of another cohort is ``CLAWBACK_OTHER_COHORT`` (user-needs
  #3) and the clawback is expected on the declaration's own cohort instead.
* the lead provider: the declaration's ``lead_provider``; when empty, the only
  contract of its cohort; several contracts and no provider is bad input
  (INTERFACES.md §2) and raises :class:`~reconcile.errors.InputError` naming the
  rows. No contract at all: ``CALC_NO_CONTRACT``, and the declaration is not
  calculated.

Example: a declaration submitted on 2023-05-02 in a cohort whose output-fee
statements have cut-offs 2023-04-30 and 2023-07-31 belongs to the second.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from reconcile.errors import InputError, Problem
from reconcile.findings import Finding, finding
from reconcile.model import Declaration, DfeStatement, Source, StatementKey

#: classification labels (vocabulary, see the brief's "How the calculation reads labels")
BILLABLE, REFUNDABLE, UPLIFT, FLAT_RATE = "billable", "refundable", "uplift", "flat_rate"

#: the state counted as "voided" on a statement (vocabulary)
VOIDED = "voided"
#: the states a statement counts on their own lines (vocabulary): "clawed back" is
#: state clawed-back only (ECF statement_calculator.rb clawed_back_count); a
#: declaration awaiting clawback is shown apart
CLAWED_BACK, AWAITING_CLAWBACK = "clawed-back", "awaiting-clawback"
_MISSING = object()

#: how many declaration ids a grouped finding names before "and N more"
IDS_SHOWN = 5


def normal(text: str | None) -> str:
    """Names compare without case and extra spaces.

    >>> normal(" may  2023") == normal("May 2023")
    True
    """
    return " ".join((text or "").split()).casefold()


def some_ids(ids: Sequence[str], shown: int = IDS_SHOWN) -> str:
    """The first few ids of a group, for a message.

    >>> some_ids(["a", "b", "c", "d"], shown=2)
    'a, b and 2 more'
    """
    head = ", ".join(ids[:shown])
    return head if len(ids) <= shown else f"{head} and {len(ids) - shown} more"


class Slot(NamedTuple):
    """One calendar statement of one contract."""

    index: int
    key: StatementKey
    statement_id: str | None
    cut_off_date: dt.date | None
    payment_date: dt.date | None
    output_fee: bool
    month: int  # month of the contract: 1 = the cohort's first calendar statement


class ContractCalendar:
    """The statements of one (lead provider, cohort), in payment-date order.

    Built from the rulebook's calendar of the cohort, or — when the rulebook has
    none for it — from DfE's statements of that provider and cohort.
    """

    def __init__(self, lead_provider: str, cohort: int, rows: Iterable[Any],
                 ids: dict[str, str]) -> None:
        ordered = sorted(rows, key=lambda r: (r.payment_date or dt.date.max,
                                              r.cut_off_date or dt.date.max))
        self.lead_provider, self.cohort = lead_provider, cohort
        self.slots: tuple[Slot, ...] = tuple(
            Slot(i, StatementKey(lead_provider, cohort, row.name),
                 ids.get(normal(row.name)), row.cut_off_date, row.payment_date,
                 bool(row.output_fee), i + 1)
            for i, row in enumerate(ordered))
        self.by_name = {normal(s.key.name): s.index for s in self.slots}
        outputs = sorted((s.cut_off_date, s.index) for s in self.slots
                         if s.output_fee and s.cut_off_date is not None)
        self._cutoffs = [c for c, _ in outputs]
        self._output_index = [i for _, i in outputs]
        self._next_cache: dict[dt.date, int | None] = {}

    def next_output(self, day: dt.date) -> int | None:
        """Index of the first output-fee statement with cut-off on or after ``day``."""
        try:
            return self._next_cache[day]
        except KeyError:
            pass
        at = bisect.bisect_left(self._cutoffs, day)
        result = self._output_index[at] if at < len(self._cutoffs) else None
        self._next_cache[day] = result
        return result

    def last_cut_off_by(self, day: dt.date) -> int | None:
        """Index of the last statement (any kind) with a cut-off on or before ``day``."""
        found = None
        for slot in self.slots:
            if slot.cut_off_date is not None and slot.cut_off_date <= day:
                found = slot.index if found is None else max(found, slot.index)
        return found


class StatementDirectory:
    """DfE's statements: (lead provider, cohort, name) ↔ statement_id.

    A DfE statement without a lead provider (a one-provider file) matches any.
    """

    def __init__(self, dfe_statements: Sequence[DfeStatement]) -> None:
        self.by_id: dict[str, DfeStatement] = {}
        self.ids: dict[tuple[str | None, int], dict[str, str]] = defaultdict(dict)
        self.rows: dict[tuple[str | None, int], list[DfeStatement]] = defaultdict(list)
        for statement in dfe_statements:
            lp = normal(statement.lead_provider) or None
            self.rows[(lp, statement.cohort)].append(statement)
            if statement.statement_id:
                self.by_id[statement.statement_id.strip()] = statement
                self.ids[(lp, statement.cohort)][normal(statement.name)] = \
                    statement.statement_id

    def ids_for(self, lead_provider: str, cohort: int) -> dict[str, str]:
        """normal(name) -> statement_id for one provider and cohort."""
        result = dict(self.ids.get((None, cohort), {}))
        result.update(self.ids.get((normal(lead_provider), cohort), {}))
        return result

    def statements_for(self, lead_provider: str, cohort: int) -> list[DfeStatement]:
        return [*self.rows.get((normal(lead_provider), cohort), ()),
                *self.rows.get((None, cohort), ())]


class Given(NamedTuple):
    """A statement named by a declaration, resolved."""

    index: int | None  # into the contract's calendar; None when not found there
    label: str  # what the declaration said, for messages
    other_cohort: int | None = None  # the cohort of the statement, when another one


class Assignment(NamedTuple):
    """Where each declaration goes; lists are indexed like the declarations."""

    calendars: dict[tuple[str, int], ContractCalendar]
    contract: list[tuple[str, int] | None]
    payment: list[int | None]  # billable or refundable: its payment statement
    clawback: list[int | None]  # refundable: its clawback statement
    voided_on: list[int | None]  # voided with a statement given: that statement
    last_attached: dict[tuple[str, int], int]
    findings: tuple[Finding, ...]


class _Resolver:
    """Resolves a declaration's statement id/name within one contract, with a cache."""

    def __init__(self, calendar: ContractCalendar, directory: StatementDirectory) -> None:
        self.calendar = calendar
        self.directory = directory
        self._cache: dict[tuple[str | None, str | None], Given | None] = {}

    def resolve(self, statement_id: str | None, name: str | None) -> Given | None:
        if not statement_id and not name:
            return None
        key = (statement_id, name)
        try:
            return self._cache[key]
        except KeyError:
            pass
        result = self._resolve(statement_id, name)
        self._cache[key] = result
        return result

    def _resolve(self, statement_id: str | None, name: str | None) -> Given:
        calendar = self.calendar
        label = name or statement_id or ""
        if statement_id:
            dfe = self.directory.by_id.get(statement_id.strip())
            if dfe is not None:
                label = f"{dfe.name} ({statement_id})"
                if dfe.cohort != calendar.cohort:
                    return Given(None, label, dfe.cohort)
                index = calendar.by_name.get(normal(dfe.name))
                if index is not None:
                    return Given(index, label)
        if name:
            index = calendar.by_name.get(normal(name))
            if index is not None:
                return Given(index, name)
        return Given(None, label)


def _contract_keys(contracts: dict) -> tuple[dict, dict]:
    by_normal = {(normal(lp), cohort): (lp, cohort) for lp, cohort in contracts}
    by_cohort: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for lp, cohort in contracts:
        by_cohort[cohort].append((lp, cohort))
    return by_normal, by_cohort


def assign_statements(declarations: Sequence[Declaration], labels: Sequence[frozenset],
                      rulebook: Any, dfe_statements: Sequence[DfeStatement] = (),
                      *, as_of: dt.date | None = None) -> Assignment:
    """Contract, payment and clawback statement of every declaration (see the module doc)."""
    contracts = rulebook.contracts
    by_normal, by_cohort = _contract_keys(contracts)
    directory = StatementDirectory(dfe_statements)
    calendars: dict[tuple[str, int], ContractCalendar] = {}
    resolvers: dict[tuple[str, int], _Resolver] = {}
    no_calendar: dict[tuple[str, int], list[str]] = defaultdict(list)

    def calendar_of(key: tuple[str, int]) -> ContractCalendar | None:
        if key in calendars:
            return calendars[key]
        lp, cohort = key
        rows = tuple(rulebook.calendar.get(cohort, ()))
        if not rows:  # no rulebook calendar: DfE's own statements are the calendar
            rows = tuple(directory.statements_for(lp, cohort))
        if not rows:
            return None
        calendars[key] = ContractCalendar(lp, cohort, rows, directory.ids_for(lp, cohort))
        resolvers[key] = _Resolver(calendars[key], directory)
        return calendars[key]

    n = len(declarations)
    contract_of: list[tuple[str, int] | None] = [None] * n
    payment: list[int | None] = [None] * n
    clawback: list[int | None] = [None] * n
    voided_on: list[int | None] = [None] * n
    last_attached: dict[tuple[str, int], int] = {}
    key_cache: dict[tuple[str | None, int], tuple[str, int] | None] = {}
    ambiguous: list[Problem] = []
    no_contract: dict[tuple[str | None, int], list[str]] = defaultdict(list)
    moved: dict[tuple, list[str]] = defaultdict(list)
    unknown: dict[tuple, list[str]] = defaultdict(list)
    other_cohort: dict[tuple, list[str]] = defaultdict(list)
    assumed: dict[tuple, list[str]] = defaultdict(list)
    no_output: dict[tuple, list[str]] = defaultdict(list)
    no_clawback_statement: dict[tuple, list[str]] = defaultdict(list)

    # The loop runs once per declaration (a million in a national run): everything
    # it looks up is cached per contract, per statement text and per day.
    contexts: dict[tuple[str | None, int], tuple | None] = {}
    flags_of: dict[frozenset, tuple[bool, bool]] = {}
    last: int | None
    # the context (contract, calendar, caches) changes only when the provider or the
    # cohort does: declarations mostly come grouped, so it is looked up rarely
    last_lp: object = _MISSING
    last_cohort: object = _MISSING
    context: tuple | None = None
    for i, d, labels_i in zip(itertools.count(), declarations, labels):
        if d.lead_provider != last_lp or d.cohort != last_cohort:
            last_lp, last_cohort = d.lead_provider, d.cohort
            context = contexts.get((last_lp, last_cohort), _MISSING)
            if context is _MISSING:
                key = key_cache[(last_lp, last_cohort)] = _contract_key(d, by_normal,
                                                                        by_cohort)
                calendar = calendar_of(key) if key is not None else None
                context = (None if calendar is None
                           else (key, calendar, resolvers[key], {}, {}, [-1]))
                contexts[(last_lp, last_cohort)] = context
            if context is not None:
                key, calendar, resolver, given_cache, next_cache, furthest = context
        if context is None:
            key = key_cache[(d.lead_provider, d.cohort)]
            if key is not None:
                no_calendar[key].append(d.declaration_id)
            elif d.lead_provider or len(by_cohort.get(d.cohort, ())) == 0:
                no_contract[(d.lead_provider, d.cohort)].append(d.declaration_id)
            else:
                ambiguous.append(d)
            continue
        contract_of[i] = key
        flags = flags_of.get(labels_i)
        if flags is None:
            flags = flags_of[labels_i] = (BILLABLE in labels_i or REFUNDABLE in labels_i,
                                          REFUNDABLE in labels_i)
        billable, refundable = flags
        if d.statement_id is None and d.statement_name is None:
            given = None
        else:
            given_key = (d.statement_id, d.statement_name)
            given = given_cache.get(given_key, _MISSING)
            if given is _MISSING:
                given = given_cache[given_key] = resolver.resolve(*given_key)
        day = (d.created_at or d.declaration_date).date()
        expected = next_cache.get(day, _MISSING)
        if expected is _MISSING:
            expected = next_cache[day] = calendar.next_output(day)
        if billable:
            where = expected
            if given is not None:
                if given.index is not None:
                    where = given.index
                    if where != expected:
                        moved[(key, expected, where)].append(d.declaration_id)
                elif given.other_cohort is not None:
                    other_cohort[(key, given.label, given.other_cohort, "payment")].append(
                        d.declaration_id)
                else:
                    unknown[(key, given.label)].append(d.declaration_id)
            if where is None:
                no_output[key].append(d.declaration_id)
                continue
            payment[i] = where
            last = where
            if refundable:
                back = resolver.resolve(d.clawback_statement_id, d.clawback_statement_name)
                target = None
                if back is not None:
                    if back.index is not None:
                        target = back.index
                    elif back.other_cohort is not None:
                        other_cohort[(key, back.label, back.other_cohort, "clawback")].append(
                            d.declaration_id)
                    else:
                        unknown[(key, back.label)].append(d.declaration_id)
                if target is None:
                    paid = calendar.slots[where].payment_date
                    target = calendar.next_output(paid) if paid is not None else None
                    if target is None:
                        no_clawback_statement[(key, where)].append(d.declaration_id)
                    else:
                        assumed[(key, where, target)].append(d.declaration_id)
                clawback[i] = target
                if target is not None and target > last:
                    last = target
        else:
            # not billable: it extends the statements shown only where DfE put it
            # (or where it would go once eligible), and a voided one is counted there
            if given is not None and given.index is not None:
                last = given.index
                if d.state == VOIDED:
                    voided_on[i] = last
            else:
                last = expected
        if last is not None and last > furthest[0]:
            furthest[0] = last
    for context in contexts.values():
        if context is not None and context[5][0] >= 0:
            last_attached[context[0]] = context[5][0]

    if ambiguous:
        raise InputError(_ambiguous_problems(ambiguous, by_cohort))
    if as_of is not None:
        for key, calendar in calendars.items():
            upto = calendar.last_cut_off_by(as_of)
            if upto is not None and upto > last_attached.get(key, -1):
                last_attached[key] = upto
    # a statement DfE lists (its v3 API lists future output-fee statements too) is one
    # the user wants checked: the calendar runs at least to it
    for key, calendar in calendars.items():
        listed = [calendar.by_name.get(normal(s.name))
                  for s in directory.statements_for(*key)]
        upto = max((i for i in listed if i is not None), default=None)
        if upto is not None and upto > last_attached.get(key, -1):
            last_attached[key] = upto

    findings: list[Finding] = []
    for (lp, cohort), ids in no_contract.items():
        findings.append(finding(
            "CALC_NO_CONTRACT",
            f"No contract for {lp or 'an unnamed lead provider'} in cohort {cohort}: "
            f"{len(ids)} declaration(s) not calculated ({some_ids(ids)}).",
            lead_provider=lp, cohort=cohort, declaration_id=_single(ids),
            declaration_ids=tuple(ids)))
    for (lp, cohort), ids in no_calendar.items():
        findings.append(finding(
            "CAL_NO_OUTPUT_STATEMENT",
            f"No statement calendar for cohort {cohort} in the rulebook or DfE's statements: "
            f"{len(ids)} declaration(s) of {lp} not calculated ({some_ids(ids)}).",
            "Add the cohort's statements to rules/calendars.yaml, or give DfE's statements.",
            lead_provider=lp, cohort=cohort, declaration_id=_single(ids),
            declaration_ids=tuple(ids)))
    for key, ids in no_output.items():
        findings.append(finding(
            "CAL_NO_OUTPUT_STATEMENT",
            f"{len(ids)} declaration(s) have no output-fee statement left in cohort {key[1]} "
            f"after they were submitted or paid ({some_ids(ids)}): not calculated.",
            lead_provider=key[0], cohort=key[1], declaration_id=_single(ids),
            declaration_ids=tuple(ids)))
    for (key, paid), ids in no_clawback_statement.items():
        name = calendars[key].slots[paid].key.name
        findings.append(finding(
            "CAL_NO_OUTPUT_STATEMENT",
            f"{len(ids)} clawed-back declaration(s) paid on {name} have no clawback "
            f"statement and no output-fee statement follows that payment in cohort "
            f"{key[1]} ({some_ids(ids)}): their payment is counted, their clawback is not.",
            "Give clawback_statement_id or clawback_statement_name, or add the cohort's "
            "later statements to rules/calendars.yaml.",
            lead_provider=key[0], cohort=key[1], statement=name,
            declaration_id=_single(ids), declaration_ids=tuple(ids)))
    for (key, expected, given), ids in moved.items():
        calendar = calendars[key]
        expected_name = calendar.slots[expected].key.name if expected is not None else None
        given_name = calendar.slots[given].key.name
        why = ("later than the calendar rule expects: it may have waited in 'submitted' "
               "for eligibility, or been moved" if expected is None or given > expected
               else "earlier than the calendar rule expects (its created_at is after "
               "that statement's cut-off)")
        findings.append(finding(
            "CALC_STATEMENT_MOVED",
            f"{len(ids)} declaration(s) are on {given_name}, "
            f"{why}; by submission date they belong on "
            f"{expected_name or 'no output-fee statement'} ({some_ids(ids)}).",
            lead_provider=key[0], cohort=key[1], statement=given_name,
            declaration_id=_single(ids),
            declaration_ids=tuple(ids), expected=expected_name, actual=given_name))
    for (key, label), ids in unknown.items():
        findings.append(finding(
            "CALC_UNKNOWN_STATEMENT",
            f"{len(ids)} declaration(s) name statement {label!r}, which is not a statement "
            f"of {key[0]} for cohort {key[1]} ({some_ids(ids)}); "
            "the calendar rule decides their statement instead.",
            lead_provider=key[0], cohort=key[1], statement=label,
            declaration_id=_single(ids), declaration_ids=tuple(ids), actual=label))
    for (key, label, cohort, kind), ids in other_cohort.items():
        findings.append(finding(
            "CLAWBACK_OTHER_COHORT" if kind == "clawback" else "CALC_UNKNOWN_STATEMENT",
            f"{len(ids)} declaration(s) of cohort {key[1]} have their {kind} on statement "
            f"{label} of cohort {cohort} ({some_ids(ids)}); expected on a statement of "
            f"cohort {key[1]} instead.",
            lead_provider=key[0], cohort=key[1], statement=label,
            declaration_id=_single(ids),
            declaration_ids=tuple(ids), expected=key[1], actual=cohort))
    for (key, paid, target), ids in assumed.items():
        calendar = calendars[key]
        findings.append(finding(
            "CALC_CLAWBACK_STATEMENT_ASSUMED",
            f"{len(ids)} clawed-back declaration(s) paid on {calendar.slots[paid].key.name} "
            f"have no clawback statement; assumed on {calendar.slots[target].key.name}, "
            f"the first output-fee statement after that payment ({some_ids(ids)}).",
            lead_provider=key[0], cohort=key[1], statement=calendar.slots[target].key.name,
            declaration_id=_single(ids), declaration_ids=tuple(ids)))
    return Assignment(calendars, contract_of, payment, clawback, voided_on, last_attached,
                      tuple(findings))


def _single(ids: Sequence[str]) -> str | None:
    """The declaration id of a finding about exactly one declaration."""
    return ids[0] if len(ids) == 1 else None


def _contract_key(d: Declaration, by_normal: dict, by_cohort: dict) -> tuple[str, int] | None:
    if d.lead_provider and d.lead_provider.strip():
        return by_normal.get((normal(d.lead_provider), d.cohort))
    candidates = by_cohort.get(d.cohort, ())
    return candidates[0] if len(candidates) == 1 else None


def _ambiguous_problems(rows: Sequence[Declaration], by_cohort: dict) -> list[Problem]:
    problems = []
    for d in rows:
        providers = ", ".join(sorted(lp for lp, _ in by_cohort[d.cohort]))
        problems.append(Problem(
            Source(d.file, d.sheet, d.row, "lead_provider"),
            f"declaration {d.declaration_id} has no lead_provider and cohort {d.cohort} "
            f"has contracts for several providers ({providers})",
            "fill in lead_provider with the provider's name as in its contract "
            "(required when there are several providers)"))
    return problems
