"""The calculation: every statement's expected payment, to the penny, and every declaration's share.

Stage: calculate (pure: no file, no engine, no workbook).
In: validated :class:`~reconcile.model.Declaration` records, the rules'
:class:`Evaluation` (a set of labels per declaration: ``billable``,
``refundable``, ``uplift``, ``flat_rate``), the :class:`Rulebook` (contracts,
calendars, fees, banding and service-fee policies) and, optionally, DfE's
statements (only for statement ids ↔ names).
Out: a :class:`Calculation` — one :class:`~reconcile.model.ExpectedStatement`
per statement of every contract that has declarations, one
:class:`~reconcile.model.Attribution` per declaration and statement it is paid or
refunded on, and the findings of the calculation.

The steps, each in its own module:

1. :mod:`~reconcile.calculate.assign` — contract, payment statement and clawback
   statement of each declaration;
2. :mod:`~reconcile.calculate.banding` — per contract and declaration type,
   cumulatively over the statements in payment-date order: additions and
   subtractions per band (docs/domain.md "Banding");
3. :mod:`~reconcile.calculate.fees` and :mod:`~reconcile.calculate.service_fee` —
   the money of every line; net = Σ rounded lines, VAT once, total;
4. :mod:`~reconcile.calculate.attribution` — each declaration's share, summing
   exactly to its statement's lines.

How labels are read (rules/eligibility.yaml classifies): ``billable`` or
``refundable`` = paid on its payment statement (a clawed-back declaration was paid first); ``refundable`` =
also refunded on its clawback statement; ``uplift`` = the contract's uplift
amount where it is paid and back where it is refunded (not limited by the bands,
as in ECF); ``flat_rate`` = mentor flat rate (no bands).

Which statements appear: for each contract with declarations, the cohort's
calendar from its first statement up to the later of the last statement any
declaration is (or would be) attached to and, when ``as_of`` is given, the last
statement with a cut-off on or before ``as_of``. Statements without declarations
carry the service fee only.

Example::

    calculation = calculate(declarations, evaluate(declarations, rulebook, as_of=today),
                            rulebook, as_of=today)
    for statement in calculation.statements:
        print(statement.key, statement.total)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from itertools import compress, repeat
from operator import attrgetter, eq, is_not, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile.calculate.assign import (
    FLAT_RATE,
    REFUNDABLE,
    UPLIFT,
    Assignment,
    ContractCalendar,
    Slot,
    assign_statements,
    some_ids,
)
from reconcile.calculate.attribution import (
    line_shares,
    split_evenly,
)
from reconcile.calculate.banding import BandAllocation, allocate_bands, bands_in_order
from reconcile.calculate.fees import (
    FeeTable,
    fee_table,
    has_sub_penny,
    statement_totals,
)
from reconcile.rulebook.versions import describe_change, terms_by_statement
from reconcile.calculate.service_fee import monthly_service_fee, recruitment_below_threshold
from reconcile.findings import Finding, finding
from reconcile.model import (
    Attribution,
    ContractKey,
    CountAmount,
    Declaration,
    DfeStatement,
    ExpectedStatement,
    PaymentLine,
    StatementKey,
)
from reconcile.money import ZERO, line_amount, pounds, round_money
from reconcile.rulebook.schema import Contract

if TYPE_CHECKING:
    from reconcile.rulebook.evaluate import Evaluation
    from reconcile.rulebook.load import Rulebook

__all__ = ["Calculation", "attribution_records", "attribution_records_plain", "calculate"]

OUTPUT, CLAWBACK = "output", "clawback"
#: positions in a Declaration tuple, for the per-record loops
_ID, _PTYPE, _DTYPE, _DP_ID, _DP_NAME, _PARTICIPANT = map(Declaration._fields.index, (
    "declaration_id", "participant_type", "declaration_type", "delivery_partner_id",
    "delivery_partner_name", "participant_id"))
_GET_ID, _GET_PTYPE, _GET_DTYPE, _GET_DP_ID, _GET_DP_NAME, _GET_PARTICIPANT = map(
    itemgetter, (_ID, _PTYPE, _DTYPE, _DP_ID, _DP_NAME, _PARTICIPANT))
#: where a declaration without created_at sorts: after every one with it
_LATEST = dt.datetime.max.replace(tzinfo=dt.timezone.utc)  # noqa: UP017 (3.10)


class Calculation(NamedTuple):
    """The expected side of every statement, and why."""

    statements: tuple[ExpectedStatement, ...]
    attributions: tuple[Attribution, ...]
    findings: tuple[Finding, ...]


def calculate(declarations: Sequence[Declaration], evaluation: Evaluation, rulebook: Rulebook,
              dfe_statements: Sequence[DfeStatement] = (), *,
              as_of: dt.date | None = None) -> Calculation:
    """Expected payments per statement and every declaration's attribution (module doc)."""
    return _Calculator(declarations, evaluation.labels, rulebook, dfe_statements, as_of).run()


def attribution_records(declarations: Sequence[Declaration], members: Sequence[int],
                        fees: Sequence[Decimal], statement: StatementKey, kind: str,
                        band: str | None, unpaid: bool, uplifts: Mapping[int, Decimal]
                        ) -> list[Attribution]:
    """The attribution of each declaration ``members`` names (positions in
    ``declarations``) on one line of ``statement``: its ``fees`` in order, its uplift
    from ``uplifts`` (by position; none: zero).

    A hot path (a record per declaration and statement it is on): column by column at
    C speed, the declarations' fields by position, the line's values repeated, zipped
    and made into records by ``tuple.__new__`` without the named tuple's Python-level
    ``__new__`` (measured at a million: 0.35 s against 0.53 s). The same records as
    :func:`attribution_records_plain` (tests/test_hot_paths.py).
    """
    rows = list(map(declarations.__getitem__, members))
    return list(map(tuple.__new__, repeat(Attribution), zip(
        map(_GET_ID, rows), repeat(statement), repeat(kind), map(_GET_PTYPE, rows),
        map(_GET_DTYPE, rows), repeat(band), fees,
        map(uplifts.get, members, repeat(ZERO)) if uplifts else repeat(ZERO),
        repeat(unpaid), map(_GET_DP_ID, rows), map(_GET_DP_NAME, rows),
        map(_GET_PARTICIPANT, rows))))


def attribution_records_plain(declarations: Sequence[Declaration], members: Sequence[int],
                              fees: Sequence[Decimal], statement: StatementKey, kind: str,
                              band: str | None, unpaid: bool, uplifts: Mapping[int, Decimal]
                              ) -> list[Attribution]:
    """:func:`attribution_records` written plainly: the reference it is tested against."""
    records = []
    for member, fee in zip(members, fees):
        d = declarations[member]
        records.append(Attribution(
            declaration_id=d.declaration_id, statement=statement, kind=kind,
            participant_type=d.participant_type, declaration_type=d.declaration_type,
            band=band, fee=fee, uplift=uplifts.get(member, ZERO), unpaid=unpaid,
            delivery_partner_id=d.delivery_partner_id,
            delivery_partner_name=d.delivery_partner_name, participant_id=d.participant_id))
    return records


def _plain(value: Decimal) -> str:
    """An exact fee as plain text: ``119.4``, ``120`` (never ``1.2E+2``)."""
    return f"{value.normalize():f}"


# --- the calculation -----------------------------------------------------------------


class _Line(NamedTuple):
    """A money line in the making: its declarations, in the statement's order."""

    kind: str
    participant_type: str
    declaration_type: str
    band_index: int | None
    band: str | None
    fee: Decimal  # positive, exact
    members: list[int]

    @property
    def amount(self) -> Decimal:
        amount = line_amount(len(self.members), self.fee)
        return -amount if self.kind == CLAWBACK else amount


#: a statement of a contract: (contract, its calendar statement's index)
_Where = tuple[ContractKey, int]
#: a group of one contract's declarations: (contract, declaration or participant type)
_Group = tuple[ContractKey, str]
#: declaration indexes per statement index
_ByStatement = dict[int, list[int]]
#: an unpaid (or unmatched) declaration: (what it is, "banded" or None, its index)
_Unpaid = tuple[str, str | None, int]
#: how many declarations each band takes, as (band index, count) in taking order
_PerBand = Sequence[tuple[int, int]]


class _Groups(NamedTuple):
    """Declaration indexes by scheme, group and statement, for payments and refunds."""

    banded_pay: dict[_Group, _ByStatement]
    banded_refund: dict[_Group, _ByStatement]
    flat_pay: dict[_Group, _ByStatement]
    flat_refund: dict[_Group, _ByStatement]
    uplift_pay: dict[_Where, list[int]]
    uplift_refund: dict[_Where, list[int]]


class _Shares(NamedTuple):
    """What each declaration of a statement earns: its lines, and its uplift."""

    lines: list[_Line]
    uplift: dict[int, Decimal]
    uplift_back: dict[int, Decimal]


class _Calculator:
    def __init__(self, declarations: Sequence[Declaration], labels: Sequence[frozenset[str]],
                 rulebook: Rulebook, dfe_statements: Sequence[DfeStatement],
                 as_of: dt.date | None) -> None:
        if len(labels) != len(declarations):
            raise ValueError(f"{len(labels)} label sets for {len(declarations)} declarations")
        self.declarations = declarations
        self.labels = labels
        self.rulebook = rulebook
        self.dfe_statements = dfe_statements
        self.as_of = as_of
        self.policy = rulebook.banding
        self.service_fee = rulebook.service_fee
        self.type_rank = {t: i for i, t in enumerate(rulebook.vocabulary.declaration_types)}
        #: the type recruitment is counted by, and the states a statement counts apart
        #: (rules/vocabulary.yaml: recruitment_type, statement_counts)
        self.started = rulebook.vocabulary.recruitment_type
        self.counted = rulebook.vocabulary.statement_counts
        self.findings: list[Finding] = []
        # (contract, statement) -> lines; uplift members; count of refunds
        self.lines: dict[_Where, list[_Line]] = defaultdict(list)
        self.unpaid: dict[_Where, list[_Unpaid]] = defaultdict(list)
        self.unmatched: dict[_Where, list[_Unpaid]] = defaultdict(list)
        #: band (name, fee) each clawed-back declaration was paid in (None: beyond the
        #: last band)
        self.paid_band: dict[int, tuple[str, Decimal] | None] = {}
        #: (contract) -> the terms of each of its statements (contract versions)
        self.terms: dict[ContractKey, tuple[Contract, ...]] = {}
        self.refunded: Sequence[int | None] = ()
        self.refunded_set: set[int] = set()
        self.participant_type: list[str] = []
        self.order_key = self._order_key()
        #: the first banding-order field of every declaration, once a sort needs it
        self.heads: list[Any] | None = None

    def _order_key(self) -> Callable[[Declaration], Any]:
        """The banding order's key of a declaration (rules/banding.yaml ``order_by``).

        A missing ``created_at`` sorts after every present one (it was submitted no
        earlier than we can tell); the other order fields are never empty.
        """
        fields = self.policy.order_by
        getter = attrgetter(*fields)
        if "created_at" not in fields or None not in map(attrgetter("created_at"),
                                                         self.declarations):
            return getter
        at = fields.index("created_at")
        if len(fields) == 1:
            return lambda d: d.created_at or _LATEST

        def key(d: Declaration) -> tuple[Any, ...]:
            value = getter(d)
            if value[at] is None:
                value = (*value[:at], _LATEST, *value[at + 1:])
            return value
        return key

    def _ordered(self, members: list[int], per_band: Sequence[int] = (),
                 split: Sequence[bool] = (), left_over: int = 0,
                 always: bool = False) -> list[int]:
        """``members`` (declaration indexes) in the banding order, when it decides anything.

        The order decides which declarations take which band, which are left unpaid
        (or unmatched), and which get the odd penny of a line whose fee has
        sub-penny parts (or of a blended share). When all of them go to one band
        with a whole-penny fee, every order gives the same result, and sorting
        (the costliest step at a million declarations) is skipped.
        """
        if len(members) < 2:
            return members
        used = [band for band, count in enumerate(per_band) if count]
        if not (always or left_over or len(used) != 1 or split[used[0]]
                or self.policy.attribution == "blended"):
            return members
        return self._sorted(members)

    def _sorted(self, members: list[int]) -> list[int]:
        """``members`` in the banding order: a stable sort on the order key.

        Sorted on the first order field alone (one comparison each instead of a
        tuple's, half the time; its values are taken once for every declaration),
        then each run of members tying on it is sorted on the whole key: exactly the
        whole key's stable order.
        """
        declarations = self.declarations
        if self.policy.order_by[0] == "created_at":  # may be empty: the whole key decides
            keys = list(map(self.order_key, map(declarations.__getitem__, members)))
            return list(map(members.__getitem__,
                            sorted(range(len(members)), key=keys.__getitem__)))
        if self.heads is None:
            self.heads = list(map(attrgetter(self.policy.order_by[0]), declarations))
        heads = self.heads
        order = sorted(members, key=heads.__getitem__)
        if len(self.policy.order_by) == 1:
            return order
        ordered = list(map(heads.__getitem__, order))
        ties = list(compress(range(1, len(ordered)), map(eq, ordered[1:], ordered)))
        start = end = -1
        for at in ties + [-1]:  # runs [start, end] of positions in order with equal heads
            if at == end + 1 and at >= 0:
                end = at
                continue
            if start >= 0:
                run = order[start:end + 1]
                keys = list(map(self.order_key, map(declarations.__getitem__, run)))
                order[start:end + 1] = map(run.__getitem__,
                                           sorted(range(len(run)), key=keys.__getitem__))
            start, end = at - 1, at
        return order

    # -- steps --

    def run(self) -> Calculation:
        assignment = assign_statements(self.declarations, self.labels, self.rulebook,
                                       self.dfe_statements, as_of=self.as_of)
        self.findings.extend(assignment.findings)
        self.refunded = assignment.clawback
        self.refunded_set = set(compress(range(len(assignment.clawback)), map(
            is_not, assignment.clawback, repeat(None))))
        self.participant_type = list(map(_GET_PTYPE, self.declarations))
        # the terms of each statement (contract versions) and their fee tables, one
        # table per version, looked up per statement
        self.terms = {key: terms_by_statement(self.rulebook.contracts[key],
                                              [slot.key.name for slot in calendar.slots])
                      for key, calendar in assignment.calendars.items()}
        by_version: dict[int, FeeTable] = {}
        tables = {key: [by_version.setdefault(id(t), fee_table(t, self.rulebook.fees))
                        for t in terms]
                  for key, terms in self.terms.items()}
        groups = self._group(assignment)
        banded_pay, banded_refund = groups.banded_pay, groups.banded_refund
        for group in sorted(set(banded_pay) | set(banded_refund), key=repr):
            self._band_group(group, banded_pay.get(group, {}), banded_refund.get(group, {}),
                             tables[group[0]], assignment.calendars[group[0]])
        flat_pay, flat_refund = groups.flat_pay, groups.flat_refund
        for group in sorted(set(flat_pay) | set(flat_refund), key=repr):
            self._flat_rate(group, flat_pay.get(group, {}), flat_refund.get(group, {}),
                            tables[group[0]], assignment.calendars[group[0]])
        self._report_unpaid(assignment)
        statements, attributions = self._statements(assignment, tables, groups)
        return Calculation(statements, attributions, tuple(self.findings))

    def _group(self, assignment: Assignment) -> _Groups:
        """Declaration indexes by scheme, group and statement (dicts and lists only).

        banded: (contract, declaration type[, participant type]) -> statement -> [i];
        flat: (contract, declaration type) -> statement -> [i]; uplift: (contract,
        statement) -> [i]; each for payments and for refunds.
        """
        banded_pay: dict[_Group, _ByStatement] = defaultdict(dict)
        banded_refund: dict[_Group, _ByStatement] = defaultdict(dict)
        flat_pay: dict[_Group, _ByStatement] = defaultdict(dict)
        flat_refund: dict[_Group, _ByStatement] = defaultdict(dict)
        unbanded_pay: dict[_Group, _ByStatement] = defaultdict(dict)
        unbanded_refund: dict[_Group, _ByStatement] = defaultdict(dict)
        uplift_pay: dict[_Where, list[int]] = defaultdict(list)
        uplift_refund: dict[_Where, list[int]] = defaultdict(list)
        contracts = self.rulebook.contracts
        policy = self.policy

        def route(key: ContractKey, participant_type: str, declaration_type: str,
                  flat: bool) -> tuple[_ByStatement, _ByStatement]:
            """Where a (contract, participant type, declaration type, flat?) goes."""
            if flat:
                group = (key, declaration_type)
                return flat_pay[group], flat_refund[group]
            if not policy.banded(participant_type, contracts[key].mentor is not None):
                group = (key, participant_type)
                return unbanded_pay[group], unbanded_refund[group]
            group = (key, declaration_type)  # banding.yaml count_per: declaration_type
            return banded_pay[group], banded_refund[group]

        _Route = tuple[str, str, bool]
        routes_of: dict[ContractKey, dict[_Route, tuple[_ByStatement, _ByStatement]]] = (
            defaultdict(dict))
        routes: dict[_Route, tuple[_ByStatement, _ByStatement]] = {}
        last_key: ContractKey | None = None
        flags_of: dict[frozenset[str], tuple[bool, bool, bool]] = {}
        declarations, labels = self.declarations, self.labels
        contract, payment, clawback = assignment.contract, assignment.payment, assignment.clawback
        for i, s in enumerate(payment):
            if s is None:
                continue
            d = declarations[i]
            lab = labels[i]
            flags = flags_of.get(lab)
            if flags is None:
                flags = flags_of[lab] = (FLAT_RATE in lab, REFUNDABLE in lab, UPLIFT in lab)
            flat, refundable, uplift = flags
            key = contract[i]
            assert key is not None  # a declaration with a payment statement has a contract
            if key is not last_key:  # declarations come grouped by contract: skip the hash
                routes, last_key = routes_of[key], key
            where = (d.participant_type, d.declaration_type, flat)
            buckets = routes.get(where)
            if buckets is None:
                buckets = routes[where] = route(key, *where)
            members = buckets[0].get(s)
            if members is None:
                members = buckets[0][s] = []
            members.append(i)
            c = clawback[i] if refundable else None
            if c is not None:
                members = buckets[1].get(c)
                if members is None:
                    members = buckets[1][c] = []
                members.append(i)
            if uplift:
                uplift_pay[(key, s)].append(i)
                if c is not None:
                    uplift_refund[(key, c)].append(i)
        for group in sorted(set(unbanded_pay) | set(unbanded_refund), key=repr):
            pay, refund = unbanded_pay.get(group, {}), unbanded_refund.get(group, {})
            if pay or refund:
                key, participant_type = group
                self._no_fee(key, assignment.calendars[key], participant_type, pay, refund,
                             f"{participant_type} declarations are not banded under this "
                             "contract (rules/banding.yaml banded_participant_types) and "
                             "are not classified flat_rate")
        return _Groups(banded_pay, banded_refund, flat_pay, flat_refund, uplift_pay,
                       uplift_refund)

    def _band_group(self, group: _Group, pay: dict[int, list[int]],
                    refund: dict[int, list[int]], tables: Sequence[FeeTable],
                    calendar: ContractCalendar) -> None:
        """One contract and declaration type over its statements (docs/domain.md "Banding").

        ``tables``: the fee table of each statement (its contract version's terms): the
        earlier fill is a count, laid over the bands of the statement being calculated.
        """
        key, declaration_type = group[0], group[-1]
        declarations = self.declarations
        if tables[0].banded.get(declaration_type) is None:
            self._no_fee(key, calendar, declaration_type, pay, refund,
                         f"rules/fees.yaml has no proportion for {declaration_type}")
            return
        statements = sorted(set(pay) | set(refund))
        allocations: list[tuple[int, BandAllocation]] = []
        previous_billable = previous_refundable = 0
        for s in statements:
            billable, refundable = len(pay.get(s, ())), len(refund.get(s, ()))
            allocations.append((s, allocate_bands(tables[s].capacities, previous_billable,
                                                  previous_refundable, billable, refundable,
                                                  self.policy.previous_fill)))
            previous_billable += billable
            previous_refundable += refundable
        # additions first for every statement (so each clawback knows the band it was
        # paid in, even when data put the clawback before the payment), then refunds
        for s, allocation in allocations:
            table = tables[s]
            fees = table.banded[declaration_type]
            members = self._ordered(pay.get(s, []), allocation.additions,
                                    [has_sub_penny(fee) for fee in fees], allocation.unpaid)
            if not members:
                continue
            paid = sum(allocation.additions)
            self._add_lines((key, s), OUTPUT, members,
                            list(enumerate(allocation.additions)), declaration_type,
                            fees, table)
            if paid < len(members):
                for i in members[paid:]:
                    self.unpaid[(key, s)].append((declaration_type, "banded", i))
                    if self.refunded[i] is not None:
                        self.paid_band[i] = None
        differs: dict[tuple[int, str, tuple[str, Decimal] | None, tuple[str, Decimal]],
                      list[str]] = defaultdict(list)
        for s, allocation in allocations:
            table = tables[s]
            fees = table.banded[declaration_type]
            members = self._ordered(refund.get(s, []), allocation.subtractions,
                                    [has_sub_penny(fee) for fee in fees],
                                    allocation.unmatched_refunds)
            if not members:
                continue
            bands = bands_in_order(allocation.subtractions, top_down=True)
            matched = len(bands)
            self._add_lines((key, s), CLAWBACK, members,
                            list(reversed(list(enumerate(allocation.subtractions)))),
                            declaration_type, fees, table)
            for i, band in zip(members, bands):
                taken = (table.band_names[band], fees[band])
                original = self.paid_band.get(i, taken)
                if original != taken:
                    d = declarations[i]
                    differs[(s, d.participant_type, original, taken)].append(d.declaration_id)
            for i in members[matched:]:
                self.unmatched[(key, s)].append((declaration_type, "banded", i))
        for (s, participant_type, original, taken), ids in sorted(differs.items(), key=repr):
            self._band_differs(key, calendar, s, participant_type, declaration_type,
                               original, taken, ids)

    def _add_lines(self, where: _Where, kind: str, members: list[int],
                   per_band: _PerBand, declaration_type: str,
                   fees: tuple[Decimal, ...], table: FeeTable) -> None:
        """Lines of one kind for one type on one statement: per (participant type, band).

        ``members`` are in the banding order; ``per_band`` counts how many go to each
        band, A first for additions, top band first for subtractions (the caller
        passes them in taking order: see :func:`_taking_order`).
        """
        ptype = self.participant_type
        refunded = self.refunded_set
        start = 0
        for band, count in per_band:
            if not count:
                continue
            chunk = members[start:start + count]
            start += count
            if kind == OUTPUT and refunded:
                for i in refunded.intersection(chunk):
                    self.paid_band[i] = (table.band_names[band], fees[band])
            types_of = list(map(ptype.__getitem__, chunk))
            types = set(types_of)
            for participant_type in sorted(types):
                line_members = (chunk if len(types) == 1 else  # picked at C speed
                                list(compress(chunk, map(participant_type.__eq__, types_of))))
                self.lines[where].append(_Line(kind, participant_type, declaration_type, band,
                                               table.band_names[band], fees[band],
                                               line_members))

    def _flat_rate(self, group: _Group, pay: dict[int, list[int]],
                   refund: dict[int, list[int]], tables: Sequence[FeeTable],
                   calendar: ContractCalendar) -> None:
        """Mentor flat-rate lines of one contract and type: no bands (docs/domain.md "Prices");
        each statement at its contract version's rate."""
        key, declaration_type = group
        if not pay and not refund:
            return
        if tables[0].flat_rate.get(declaration_type) is None:
            self._no_fee(key, calendar, f"flat-rate {declaration_type}", pay, refund,
                         "no flat-rate fee: the contract has no mentor block, or "
                         "rules/fees.yaml mentor_flat_rate_proportions has no "
                         f"{declaration_type}")
            return
        ptype = self.participant_type
        for kind, by_statement in ((OUTPUT, pay), (CLAWBACK, refund)):
            for s, members in sorted(by_statement.items()):
                fee = tables[s].flat_rate[declaration_type]
                ordered = self._ordered(members, always=has_sub_penny(fee))
                for participant_type in sorted(set(map(ptype.__getitem__, ordered))):
                    line_members = [i for i in ordered if ptype[i] == participant_type]
                    self.lines[(key, s)].append(_Line(kind, participant_type,
                                                      declaration_type, None, None, fee,
                                                      line_members))

    def _no_fee(self, key: ContractKey, calendar: ContractCalendar, what: str,
                pay: dict[int, list[int]], refund: dict[int, list[int]], why: str) -> None:
        """Billable declarations no fee rule covers: unpaid, and one finding."""
        ids = [self.declarations[i].declaration_id
               for members in (*pay.values(), *refund.values()) for i in members]
        for s, members in pay.items():
            for i in members:
                self.unpaid[(key, s)].append((what, None, i))
        for s, members in refund.items():
            for i in members:
                self.unmatched[(key, s)].append((what, None, i))
        self.findings.append(finding(
            "CALC_NO_FEE",
            f"{len(ids)} billable {what} declaration(s) of {key[0]} (cohort {key[1]}) "
            f"earn nothing: {why} ({some_ids(ids)}).",
            lead_provider=key[0], cohort=key[1], declaration_id=ids[0] if len(ids) == 1
            else None, declaration_ids=tuple(ids)))

    def _band_differs(self, key: ContractKey, calendar: ContractCalendar, s: int,
                      participant_type: str, declaration_type: str,
                      original: tuple[str, Decimal] | None, taken: tuple[str, Decimal],
                      ids: list[str]) -> None:
        """Clawbacks taken at another band's fee (or another version's price) than paid."""
        name = calendar.slots[s].key.name
        band, fee = taken
        if original is None:
            paid_text = "were not paid when declared (beyond the last band)"
            difference = fee
        else:
            paid_text = f"were paid in band {original[0]} at {pounds(original[1])}"
            difference = fee - original[1]
        self.findings.append(finding(
            "CALC_CLAWBACK_BAND_DIFFERS",
            f"{len(ids)} {participant_type} {declaration_type} clawback(s) on {name} come off "
            f"band {band} at {pounds(fee)} each (DfE takes clawbacks "
            f"from the top band filled) but {paid_text}: {pounds(abs(difference))} "
            f"{'more' if difference > 0 else 'less'} clawed back each ({some_ids(ids)}).",
            lead_provider=key[0], cohort=key[1], statement=name,
            declaration_id=ids[0] if len(ids) == 1 else None,
            declaration_ids=tuple(ids),
            line=f"clawback {participant_type} {declaration_type} band {band}",
            expected=_plain(original[1]) if original is not None else "0",
            actual=_plain(fee)))

    def _report_unpaid(self, assignment: Assignment) -> None:
        declarations = self.declarations
        for (key, s), entries in sorted(self.unpaid.items(), key=repr):
            calendar = assignment.calendars[key]
            by_type: dict[str, list[str]] = defaultdict(list)
            for declaration_type, scheme, i in entries:
                if scheme == "banded":
                    by_type[declaration_type].append(declarations[i].declaration_id)
            for declaration_type, ids in by_type.items():
                name = calendar.slots[s].key.name
                self.findings.append(finding(
                    "CALC_OVER_CAPACITY",
                    f"{len(ids)} {declaration_type} declaration(s) on {name} are beyond the "
                    f"last band's maximum and are not paid ({some_ids(ids)}).",
                    lead_provider=key[0], cohort=key[1], statement=name,
                    declaration_id=ids[0] if len(ids) == 1 else None,
                declaration_ids=tuple(ids),
                    line=f"output {declaration_type}", expected=0, actual=len(ids)))
        for (key, s), entries in sorted(self.unmatched.items(), key=repr):
            ids = [declarations[i].declaration_id for _t, scheme, i in entries
                   if scheme == "banded"]
            if not ids:
                continue
            name = assignment.calendars[key].slots[s].key.name
            self.findings.append(finding(
                "CALC_CLAWBACK_UNMATCHED",
                f"{len(ids)} clawback(s) on {name} have nothing paid left to come off "
                f"in the bands ({some_ids(ids)}): no money is taken back for them.",
                lead_provider=key[0], cohort=key[1], statement=name,
                declaration_id=ids[0] if len(ids) == 1 else None,
                declaration_ids=tuple(ids)))

    # -- statements and attributions --

    def _statements(self, assignment: Assignment, tables: dict[ContractKey, list[FeeTable]],
                    groups: _Groups
                    ) -> tuple[tuple[ExpectedStatement, ...], tuple[Attribution, ...]]:
        uplift_pay, uplift_refund = groups.uplift_pay, groups.uplift_refund
        statements: list[ExpectedStatement] = []
        attributions: list[Attribution] = []
        on = list(map(is_not, assignment.voided_on, repeat(None)))
        voided = Counter(zip(compress(assignment.contract, on),
                             compress(assignment.voided_on, on)))
        refund_states = self._refund_states(assignment)
        recruited = self._recruitment(groups.banded_pay, groups.banded_refund)
        for key in sorted(assignment.calendars):
            if key not in assignment.last_attached:
                continue
            calendar = assignment.calendars[key]
            shown = calendar.slots[:assignment.last_attached[key] + 1]
            terms = self.terms[key]
            # recruitment against the terms in force on the last statement shown
            self._check_recruitment(key, terms[shown[-1].number], recruited.get(key, 0))
            previous: ExpectedStatement | None = None
            for slot in shown:
                where = (key, slot.number)
                table, contract = tables[key][slot.number], terms[slot.number]
                # a version without an uplift amount pays none (ECF include_uplift_fees?);
                # the uplift order only decides who gets the odd penny of a sub-penny amount
                uplift_split = table.uplift is not None and has_sub_penny(table.uplift)
                none: list[int] = []
                uplifted = none if table.uplift is None else uplift_pay.get(where, none)
                uplift_back = none if table.uplift is None else uplift_refund.get(where, none)
                statement, shares = self._statement(
                    where, slot, contract, table, self.lines.get(where, []),
                    self._ordered(uplifted, always=uplift_split),
                    self._ordered(uplift_back, always=uplift_split),
                    voided.get(where, 0), recruited.get(key, 0),
                    refund_states.get(where, Counter()))
                if previous is not None and contract is not terms[slot.number - 1]:
                    self._version_changed(key, slot, terms[slot.number - 1], contract,
                                          previous, statement)
                previous = statement
                statements.append(statement)
                attributions.extend(self._attributions(where, slot.key, shares))
        return tuple(statements), tuple(attributions)

    def _version_changed(self, key: ContractKey, slot: Slot, before: Contract, after: Contract,
                         previous: ExpectedStatement, statement: ExpectedStatement) -> None:
        """Where a contract version changes the money, say so on its first statement."""
        change = describe_change(before, after, previous.service_fee, statement.service_fee)
        self.findings.append(finding(
            "CALC_CONTRACT_VERSION",
            f"From {slot.key.name} "
            + (f"the contract's version {after.version} applies" if after.version
               else "the contract's next version applies")
            + f" ({after.source}): {change}.",
            lead_provider=key[0], cohort=key[1], statement=slot.key.name,
            line="service fee" if previous.service_fee != statement.service_fee else None))

    def _refund_states(self, assignment: Assignment) -> dict[_Where, Counter[str]]:
        """(contract, statement) -> state -> declarations now clawed back or awaiting it.

        As DfE's statement shows them: ECF ``statement_calculator.rb`` counts "clawed
        back" as the statement's declarations (through any of its line items: the one
        that paid it and the one that claws it back) whose state is ``clawed_back``;
        ones still awaiting clawback are not in it, so they get a line of their own.
        """
        counts: dict[_Where, Counter[str]] = defaultdict(Counter)
        declarations = self.declarations
        for i in self.refunded_set:
            state = declarations[i].state
            if state not in (self.counted.clawed_back, self.counted.awaiting_clawback):
                continue
            key = assignment.contract[i]
            assert key is not None  # refunded: it has a contract
            for s in (assignment.payment[i], assignment.clawback[i]):
                if s is not None:
                    counts[(key, s)][state] += 1
        return counts

    def _recruitment(self, banded_pay: dict[_Group, _ByStatement],
                     banded_refund: dict[_Group, _ByStatement]) -> Counter[ContractKey]:
        """Net banded started declarations per contract, over every statement."""
        recruited: Counter[ContractKey] = Counter()
        started = self.started
        for group, by_statement in banded_pay.items():
            if group[-1] == started:
                recruited[group[0]] += sum(len(m) for m in by_statement.values())
        for group, by_statement in banded_refund.items():
            if group[-1] == started:
                recruited[group[0]] -= sum(len(m) for m in by_statement.values())
        return recruited

    def _check_recruitment(self, key: ContractKey, contract: Contract, recruited: int) -> None:
        under = self.service_fee.under_target
        target = contract.recruitment_target
        if contract.monthly_service_fee is not None or not recruitment_below_threshold(
                recruited, target, under):
            return
        what = ("the service fee is computed on the recruited number instead of the target"
                if under.reduction == "pro_rata" else
                "the rules do not say by how much the fee is reduced (reduction method "
                f"'{under.reduction}'), so it is expected in full")
        self.findings.append(finding(
            "CALC_SERVICE_FEE_REDUCED",
            f"{key[0]} (cohort {key[1]}) has {recruited} net started declaration(s), under "
            f"{under.threshold_percentage}% of its recruitment target {target}: "
            f"{what} (rules/service_fee.yaml, policy {self.service_fee.selected}).",
            lead_provider=key[0], cohort=key[1], expected=target, actual=recruited))

    def _statement(self, where: _Where, slot: Slot, contract: Contract, table: FeeTable,
                   lines: list[_Line], uplifted: list[int], uplift_back: list[int], voided: int,
                   recruited: int, refund_states: Counter[str]
                   ) -> tuple[ExpectedStatement, _Shares]:
        rank = self.type_rank
        lines = sorted(lines, key=lambda ln: (ln.participant_type,
                                              rank.get(ln.declaration_type, len(rank)),
                                              ln.declaration_type, ln.band_index or 0))
        outputs = tuple(PaymentLine(ln.participant_type, ln.declaration_type, ln.band,
                                    len(ln.members), ln.fee, ln.amount)
                        for ln in lines if ln.kind == OUTPUT)
        clawbacks = tuple(PaymentLine(ln.participant_type, ln.declaration_type, ln.band,
                                      len(ln.members), ln.fee, ln.amount)
                          for ln in lines if ln.kind == CLAWBACK)
        uplift_fee = table.uplift or ZERO
        uplift = CountAmount(len(uplifted), line_amount(len(uplifted), uplift_fee))
        uplift_clawback = CountAmount(len(uplift_back),
                                      -line_amount(len(uplift_back), uplift_fee))
        service_fee = round_money(monthly_service_fee(
            slot.month, bands=table.service_bands,
            target=contract.recruitment_target, set_up_fee=contract.set_up_fee,
            monthly_override=contract.monthly_service_fee, rules=self.service_fee,
            recruited=recruited))
        adjustments = ZERO  # manual adjustments are DfE's, never computed
        totals = statement_totals(
            [*(ln.amount for ln in outputs), *(ln.amount for ln in clawbacks),
             uplift.amount, uplift_clawback.amount, service_fee, adjustments],
            table.vat_percentage)
        counts: Counter[str] = Counter()
        for ln in lines:
            if ln.kind == OUTPUT:
                counts[ln.declaration_type.split("-")[0]] += len(ln.members)
        counts["voided"] += voided
        counts["clawed_back"] += refund_states.get(self.counted.clawed_back, 0)
        counts["awaiting_clawback"] += refund_states.get(self.counted.awaiting_clawback, 0)
        ordered_counts = tuple((name, counts.get(name, 0)) for name in
                               ("started", "retained", "completed", "extended", "voided",
                                "clawed_back", "awaiting_clawback"))
        extra = tuple(sorted((k, v) for k, v in counts.items()
                             if k not in dict(ordered_counts)))
        statement = ExpectedStatement(
            key=slot.key, statement_id=slot.statement_id, cut_off_date=slot.cut_off_date,
            payment_date=slot.payment_date, output_fee=slot.output_fee,
            output_payments=outputs, clawbacks=clawbacks, uplift=uplift,
            uplift_clawback=uplift_clawback, service_fee=service_fee,
            adjustments=adjustments, net=totals.net, vat=totals.vat, total=totals.total,
            counts=ordered_counts + extra, contract_version=contract.version,
            terms_from=contract.effective_from)
        shares = _Shares(
            lines,
            dict(zip(uplifted, line_shares(len(uplifted), uplift_fee))) if uplifted else {},
            dict(zip(uplift_back, line_shares(len(uplift_back), -uplift_fee)))
            if uplift_back else {})
        return statement, shares

    def _attributions(self, where: _Where, statement_key: StatementKey,
                      shares: _Shares) -> list[Attribution]:
        """One record per declaration and kind on this statement (the hot path at scale:
        records are built as tuples directly and one fee object per line is reused)."""
        declarations = self.declarations
        lines, uplift, uplift_back = shares
        result: list[Attribution] = []

        def emit(members: Sequence[int], fees: Sequence[Decimal], kind: str,
                 band: str | None, unpaid: bool) -> None:
            if members:
                result.extend(attribution_records(
                    declarations, members, fees, statement_key, kind, band, unpaid,
                    uplift if kind == OUTPUT else uplift_back))

        if self.policy.attribution == "blended":
            # every paid declaration of a (kind, participant type, declaration type) on
            # the statement gets the same share of its lines' total (rules/banding.yaml)
            blended: dict[tuple[str, str, str], list[_Line]] = defaultdict(list)
            for ln in lines:
                blended[(ln.kind, ln.participant_type, ln.declaration_type)].append(ln)
            for (kind, _p, _t), same in blended.items():
                count = sum(len(ln.members) for ln in same)
                fees = iter(split_evenly(sum((ln.amount for ln in same), ZERO), count))
                for ln in same:
                    emit(ln.members, [next(fees) for _ in ln.members], kind, ln.band, False)
        else:
            for ln in lines:
                fee = -ln.fee if ln.kind == CLAWBACK else ln.fee
                emit(ln.members, line_shares(len(ln.members), fee), ln.kind, ln.band, False)
        unpaid = [i for _type, _scheme, i in self.unpaid.get(where, ())]
        emit(unpaid, [ZERO] * len(unpaid), OUTPUT, None, True)
        unmatched = [i for _type, _scheme, i in self.unmatched.get(where, ())]
        emit(unmatched, [ZERO] * len(unmatched), CLAWBACK, None, True)
        return result
