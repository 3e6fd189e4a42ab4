"""Statement assignment: which contract and statement each declaration belongs to (stage: calculate).

In: validated declarations, their rule labels, the rulebook's contracts and
statement calendars, and DfE's statements (for statement ids), if given.
Out: an :class:`Assignment` — per declaration the contract, the payment statement
and (for refundable ones) the clawback statement, as indexes into the contract's
:class:`ContractCalendar` — and the findings of assignment.

The rules (docs/domain.md "Statement"):

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
  A clawback statement of another cohort is ``CLAWBACK_OTHER_COHORT``
  (docs/domain.md "Things that go wrong") and the clawback is expected on the
  declaration's own cohort instead.
* the lead provider: the declaration's ``lead_provider``; when empty, the only
  contract of its cohort; several contracts and no provider is bad input
  (README "Input: declarations") and raises :class:`~reconcile.errors.InputError` naming the
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
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from reconcile.errors import InputError, Problem
from reconcile.findings import Finding, finding
from reconcile.model import ContractKey, Declaration, DfeStatement, Source, StatementKey
from reconcile.model import normal_name as normal

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook
    from reconcile.rulebook.schema import Contract

#: classification labels (rules/eligibility.yaml; how they are read: reconcile.calculate)
BILLABLE, REFUNDABLE, UPLIFT, FLAT_RATE = "billable", "refundable", "uplift", "flat_rate"


#: a provider or cohort no declaration has (the loop's first look-up)
_UNSEEN = object()

#: how many declaration ids a grouped finding names before "and N more"
IDS_SHOWN = 5


def some_ids(ids: Sequence[str], shown: int = IDS_SHOWN) -> str:
    """The first few ids of a group, for a message.

    >>> some_ids(["a", "b", "c", "d"], shown=2)
    'a, b and 2 more'
    """
    head = ", ".join(ids[:shown])
    return head if len(ids) <= shown else f"{head} and {len(ids) - shown} more"


class Slot(NamedTuple):
    """One calendar statement of one contract (``number``: its index in the calendar)."""

    number: int
    key: StatementKey
    statement_id: str | None
    cut_off_date: dt.date | None
    payment_date: dt.date | None
    output_fee: bool
    month: int  # month of the contract: 1 = the cohort's first calendar statement


class CalendarRow(Protocol):
    """A statement of a calendar: the rulebook's (rules/calendars.yaml) or DfE's."""

    @property
    def name(self) -> str: ...
    @property
    def cut_off_date(self) -> dt.date | None: ...
    @property
    def payment_date(self) -> dt.date | None: ...
    @property
    def output_fee(self) -> bool | None: ...


class ContractCalendar:
    """The statements of one (lead provider, cohort), in payment-date order.

    Built from the rulebook's calendar of the cohort, or — when the rulebook has
    none for it — from DfE's statements of that provider and cohort.
    """

    def __init__(self, lead_provider: str, cohort: int, rows: Iterable[CalendarRow],
                 ids: dict[str, str]) -> None:
        ordered = sorted(rows, key=lambda r: (r.payment_date or dt.date.max,
                                              r.cut_off_date or dt.date.max))
        self.lead_provider, self.cohort = lead_provider, cohort
        self.slots: tuple[Slot, ...] = tuple(
            Slot(i, StatementKey(lead_provider, cohort, row.name),
                 ids.get(normal(row.name)), row.cut_off_date, row.payment_date,
                 bool(row.output_fee), i + 1)
            for i, row in enumerate(ordered))
        self.by_name = {normal(s.key.name): s.number for s in self.slots}
        outputs = sorted((s.cut_off_date, s.number) for s in self.slots
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
                found = slot.number if found is None else max(found, slot.number)
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

    number: int | None  # index into the contract's calendar; None when not found there
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


def _contract_keys(contracts: dict[ContractKey, Contract]
                   ) -> tuple[dict[ContractKey, ContractKey], dict[int, list[ContractKey]]]:
    by_normal = {(normal(lp), cohort): (lp, cohort) for lp, cohort in contracts}
    by_cohort: dict[int, list[ContractKey]] = defaultdict(list)
    for lp, cohort in contracts:
        by_cohort[cohort].append((lp, cohort))
    return by_normal, by_cohort


class Note(NamedTuple):
    """Something to report about where a declaration went, grouped into one finding
    per contract and note (:func:`_findings`).

    ``kind`` is one of :data:`NOTE_KINDS`; ``paid`` and ``target`` are statement indexes
    (moved: the calendar's and the one given; assumed: the payment statement and the
    clawback statement assumed; no clawback statement: the payment statement);
    ``label`` is the statement as the declaration named it, ``cohort`` that statement's
    cohort when another one, ``side`` "payment" or "clawback".
    """

    kind: str
    paid: int | None = None
    target: int | None = None
    label: str = ""
    cohort: int | None = None
    side: str = ""


#: the notes, in the order their findings are listed
NOTE_KINDS = ("no_output", "no_clawback_statement", "moved", "unknown", "other_cohort",
              "assumed")


class Placement(NamedTuple):
    """Where one declaration goes within its contract's calendar (indexes into it)."""

    payment: int | None
    clawback: int | None
    #: voided, on a statement DfE gave: that statement (counted there)
    voided_on: int | None
    #: the furthest statement it reaches (the calendar is shown at least to there)
    last: int | None
    notes: tuple[Note, ...] = ()


def place(d: Declaration, voided: bool, billable: bool, refundable: bool,
          calendar: ContractCalendar, resolver: _Resolver) -> Placement:
    """The payment and clawback statements of one declaration of a contract (the rules
    of the module's doc); ``voided``: its state is the one a statement counts as voided
    (rules/vocabulary.yaml ``statement_counts``). Pure: the same fields give the same
    placement."""
    given = resolver.resolve(d.statement_id, d.statement_name)
    expected = calendar.next_output((d.created_at or d.declaration_date).date())
    if not billable:
        # not billable: it extends the statements shown only where DfE put it (or where
        # it would go once eligible), and a voided one is counted there
        if given is not None and given.number is not None:
            return Placement(None, None, given.number if voided else None,
                             given.number)
        return Placement(None, None, None, expected)
    notes: list[Note] = []
    where = expected
    if given is not None:
        if given.number is not None:
            where = given.number
            if where != expected:
                notes.append(Note("moved", expected, where))
        else:
            notes.append(_unresolved(given, "payment"))
    if where is None:
        notes.append(Note("no_output"))
        return Placement(None, None, None, None, tuple(notes))
    if not refundable:
        return Placement(where, None, None, where, tuple(notes))
    back = resolver.resolve(d.clawback_statement_id, d.clawback_statement_name)
    target = None
    if back is not None:
        if back.number is not None:
            target = back.number
        else:
            notes.append(_unresolved(back, "clawback"))
    if target is None:
        paid = calendar.slots[where].payment_date
        target = calendar.next_output(paid) if paid is not None else None
        notes.append(Note("no_clawback_statement", where) if target is None
                     else Note("assumed", where, target))
    last = where if target is None or target < where else target
    return Placement(where, target, None, last, tuple(notes))


def _unresolved(given: Given, side: str) -> Note:
    """A statement named that is not one of the contract's: another cohort's, or none."""
    if given.other_cohort is not None:
        return Note("other_cohort", label=given.label, cohort=given.other_cohort, side=side)
    return Note("unknown", label=given.label)


class _Contract(NamedTuple):
    """One contract's calendar, its resolver of the statements declarations name, and
    its placements memoised by the fields :func:`place` reads."""

    key: ContractKey
    calendar: ContractCalendar
    resolver: _Resolver
    placements: dict[tuple[object, ...], Placement]


def assign_statements(declarations: Sequence[Declaration], labels: Sequence[frozenset[str]],
                      rulebook: Rulebook, dfe_statements: Sequence[DfeStatement] = (),
                      *, as_of: dt.date | None = None) -> Assignment:
    """Contract, payment and clawback statement of every declaration (see the module doc)."""
    by_normal, by_cohort = _contract_keys(rulebook.contracts)
    #: the state a statement counts as voided (rules/vocabulary.yaml statement_counts)
    voided_state = rulebook.vocabulary.statement_counts.voided
    directory = StatementDirectory(dfe_statements)
    calendars: dict[ContractKey, ContractCalendar] = {}

    def contract_of(lead_provider: str | None, cohort: int) -> tuple[ContractKey | None,
                                                                     _Contract | None]:
        key = _contract_key(lead_provider, cohort, by_normal, by_cohort)
        if key is None:
            return None, None
        if key not in calendars:
            lp = key[0]
            rows: tuple[CalendarRow, ...] = tuple(rulebook.calendar.get(cohort, ()))
            if not rows:  # no rulebook calendar: DfE's own statements are the calendar
                rows = tuple(directory.statements_for(lp, cohort))
            if not rows:
                return key, None
            calendars[key] = ContractCalendar(lp, cohort, rows, directory.ids_for(lp, cohort))
        calendar = calendars[key]
        return key, _Contract(key, calendar, _Resolver(calendar, directory), {})

    n = len(declarations)
    contracts: list[ContractKey | None] = [None] * n
    payment: list[int | None] = [None] * n
    clawback: list[int | None] = [None] * n
    voided_on: list[int | None] = [None] * n
    unplaced = _Unplaced([], defaultdict(list), defaultdict(list))
    noted: dict[tuple[ContractKey, Note], list[str]] = defaultdict(list)
    # The loop runs once per declaration (a million in a national run): the contract
    # is looked up once per (provider, cohort), each placement once per distinct fields.
    by_provider: dict[tuple[str | None, int], tuple[ContractKey | None, _Contract | None]] = {}
    flags_of: dict[frozenset[str], tuple[bool, bool]] = {}
    # declarations mostly come grouped by provider and cohort: the contract is looked up
    # again only when either changes
    last_lp: object = _UNSEEN
    last_cohort: object = _UNSEEN
    key: ContractKey | None = None
    contract: _Contract | None = None
    for i, d, labels_i in zip(itertools.count(), declarations, labels):
        if d.cohort != last_cohort or d.lead_provider != last_lp:
            last_lp, last_cohort = d.lead_provider, d.cohort
            found = by_provider.get((d.lead_provider, d.cohort))
            if found is None:
                found = by_provider[(d.lead_provider, d.cohort)] = contract_of(
                    d.lead_provider, d.cohort)
            key, contract = found
        if contract is None:
            unplaced.add(d, key, by_cohort)
            continue
        contracts[i] = contract.key
        flags = flags_of.get(labels_i)
        if flags is None:
            flags = flags_of[labels_i] = (BILLABLE in labels_i or REFUNDABLE in labels_i,
                                          REFUNDABLE in labels_i)
        voided = d.state == voided_state
        fields = (d.statement_id, d.statement_name, d.clawback_statement_id,
                  d.clawback_statement_name, (d.created_at or d.declaration_date).date(),
                  voided, flags)
        placement = contract.placements.get(fields)
        if placement is None:
            placement = contract.placements[fields] = place(d, voided, *flags,
                                                            contract.calendar, contract.resolver)
        payment[i], clawback[i], voided_on[i], _last, notes = placement
        if notes:
            for note in notes:
                noted[(contract.key, note)].append(d.declaration_id)
    # every placement memoised was some declaration's: the furthest statement each
    # contract's declarations reach is the furthest of its placements
    reach: dict[ContractKey, int] = {}
    for _key, placer in by_provider.values():
        if placer is not None:
            lasts = [p.last for p in placer.placements.values() if p.last is not None]
            if lasts:
                reach[placer.key] = max(reach.get(placer.key, -1), *lasts)

    if unplaced.ambiguous:
        raise InputError(_ambiguous_problems(unplaced.ambiguous, by_cohort))
    last_attached = _last_attached(reach, calendars, directory, as_of)
    findings = _findings(unplaced, noted, calendars)
    return Assignment(calendars, contracts, payment, clawback, voided_on, last_attached,
                      findings)


class _Unplaced(NamedTuple):
    """Declarations no contract's calendar takes: by (provider, cohort) without a
    contract, by contract without a calendar, and those whose provider is ambiguous."""

    ambiguous: list[Declaration]
    no_contract: dict[tuple[str | None, int], list[str]]
    no_calendar: dict[ContractKey, list[str]]

    def add(self, d: Declaration, key: ContractKey | None,
            by_cohort: dict[int, list[ContractKey]]) -> None:
        if key is not None:
            self.no_calendar[key].append(d.declaration_id)
        elif d.lead_provider or len(by_cohort.get(d.cohort, ())) == 0:
            self.no_contract[(d.lead_provider, d.cohort)].append(d.declaration_id)
        else:
            self.ambiguous.append(d)


def _last_attached(reach: dict[ContractKey, int], calendars: dict[ContractKey, ContractCalendar],
                   directory: StatementDirectory, as_of: dt.date | None
                   ) -> dict[ContractKey, int]:
    """The last statement shown of each contract: the furthest its declarations reach,
    the last cut off by ``as_of``, and the last DfE lists, whichever is latest."""
    last_attached = dict(reach)
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
    return last_attached


def _findings(unplaced: _Unplaced, noted: dict[tuple[ContractKey, Note], list[str]],
              calendars: dict[ContractKey, ContractCalendar]) -> tuple[Finding, ...]:
    """The findings of assignment: one per contract and what happened, naming the
    declarations it happened to."""
    findings: list[Finding] = []
    for (lp, cohort), ids in unplaced.no_contract.items():
        findings.append(finding(
            "CALC_NO_CONTRACT",
            f"No contract for {lp or 'an unnamed lead provider'} in cohort {cohort}: "
            f"{len(ids)} declaration(s) not calculated ({some_ids(ids)}).",
            lead_provider=lp, cohort=cohort, declaration_id=_single(ids),
            declaration_ids=tuple(ids)))
    for (lp, cohort), ids in unplaced.no_calendar.items():
        findings.append(finding(
            "CAL_NO_OUTPUT_STATEMENT",
            f"No statement calendar for cohort {cohort} in the rulebook or DfE's statements: "
            f"{len(ids)} declaration(s) of {lp} not calculated ({some_ids(ids)}).",
            "Add the cohort's statements to rules/calendars.yaml, or give DfE's statements.",
            lead_provider=lp, cohort=cohort, declaration_id=_single(ids),
            declaration_ids=tuple(ids)))
    for kind in NOTE_KINDS:
        for (key, note), ids in noted.items():
            if note.kind == kind:
                findings.append(_note_finding(key, note, ids, calendars[key]))
    return tuple(findings)


def _note_finding(key: ContractKey, note: Note, ids: list[str],
                  calendar: ContractCalendar) -> Finding:
    """The finding of one :class:`Note` about the declarations ``ids`` of contract ``key``."""
    def name(index: int) -> str:
        return calendar.slots[index].key.name

    where: dict[str, Any] = {"lead_provider": key[0], "cohort": key[1],
                             "declaration_id": _single(ids),
                             "declaration_ids": tuple(ids)}
    if note.kind == "no_output":
        return finding(
            "CAL_NO_OUTPUT_STATEMENT",
            f"{len(ids)} declaration(s) have no output-fee statement left in cohort {key[1]} "
            f"after they were submitted or paid ({some_ids(ids)}): not calculated.",
            **where)
    if note.kind == "no_clawback_statement":
        assert note.paid is not None
        return finding(
            "CAL_NO_OUTPUT_STATEMENT",
            f"{len(ids)} clawed-back declaration(s) paid on {name(note.paid)} have no "
            f"clawback statement and no output-fee statement follows that payment in cohort "
            f"{key[1]} ({some_ids(ids)}): their payment is counted, their clawback is not.",
            "Give clawback_statement_id or clawback_statement_name, or add the cohort's "
            "later statements to rules/calendars.yaml.",
            statement=name(note.paid), **where)
    if note.kind == "moved":
        expected, given = note.paid, note.target
        assert given is not None
        expected_name = name(expected) if expected is not None else None
        why = ("later than the calendar rule expects: it may have waited in 'submitted' "
               "for eligibility, or been moved" if expected is None or given > expected
               else "earlier than the calendar rule expects (its created_at is after "
               "that statement's cut-off)")
        return finding(
            "CALC_STATEMENT_MOVED",
            f"{len(ids)} declaration(s) are on {name(given)}, "
            f"{why}; by submission date they belong on "
            f"{expected_name or 'no output-fee statement'} ({some_ids(ids)}).",
            statement=name(given), expected=expected_name, actual=name(given), **where)
    if note.kind == "unknown":
        return finding(
            "CALC_UNKNOWN_STATEMENT",
            f"{len(ids)} declaration(s) name statement {note.label!r}, which is not a "
            f"statement of {key[0]} for cohort {key[1]} ({some_ids(ids)}); "
            "the calendar rule decides their statement instead.",
            statement=note.label, actual=note.label, **where)
    if note.kind == "other_cohort":
        return finding(
            "CLAWBACK_OTHER_COHORT" if note.side == "clawback" else "CALC_UNKNOWN_STATEMENT",
            f"{len(ids)} declaration(s) of cohort {key[1]} have their {note.side} on "
            f"statement {note.label} of cohort {note.cohort} ({some_ids(ids)}); expected on "
            f"a statement of cohort {key[1]} instead.",
            statement=note.label, expected=key[1], actual=note.cohort, **where)
    assert note.kind == "assumed" and note.paid is not None and note.target is not None
    return finding(
        "CALC_CLAWBACK_STATEMENT_ASSUMED",
        f"{len(ids)} clawed-back declaration(s) paid on {name(note.paid)} "
        f"have no clawback statement; assumed on {name(note.target)}, "
        f"the first output-fee statement after that payment ({some_ids(ids)}).",
        statement=name(note.target), **where)


def _single(ids: Sequence[str]) -> str | None:
    """The declaration id of a finding about exactly one declaration."""
    return ids[0] if len(ids) == 1 else None


def _contract_key(lead_provider: str | None, cohort: int,
                  by_normal: dict[ContractKey, ContractKey],
                  by_cohort: dict[int, list[ContractKey]]) -> ContractKey | None:
    if lead_provider and lead_provider.strip():
        return by_normal.get((normal(lead_provider), cohort))
    candidates = by_cohort.get(cohort, ())
    return candidates[0] if len(candidates) == 1 else None


def _ambiguous_problems(rows: Sequence[Declaration], by_cohort: dict[int, list[ContractKey]]
                        ) -> list[Problem]:
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
