"""Delivery-partner split: each statement's net divided between delivery partners (pure).

Stage: split (after calculate; before report). In: the :class:`Calculation` (expected
statements and the attribution of every declaration to a statement line), the
declarations (for delivery partners the attributions lack) and the rulebook's split
policy (``rules/split.yaml``, :mod:`reconcile.rulebook.split_schema`). Out: a
:class:`SplitResult`: per statement, one :class:`PartnerShare` per delivery partner
(output, uplift, clawbacks, service fee, adjustments, retained, amount), the lead
provider's retained share, the money of every declaration, and findings.

Why (docs/domain.md "What users need" and "People and things"): a lead provider passes
part of each payment on to its delivery partners, and needs to know which declarations
make each payment to pay the right one. The split must be explainable declaration by
declaration and add up to the penny. How:

* Money comes from the statement's *lines* (already rounded: ``money.line_amount``),
  never from re-adding fees, so each column adds up to its line exactly. Each line
  is divided between partners in proportion to their declarations' exact fees
  (policy ``band``) or their number of declarations of that type (``blended``), by
  largest remainder (:func:`reconcile.money.split_exactly`; ties to the lower
  partner id), then each partner's part between its declarations (ties to the lower
  declaration id). So a partner's remittance lists declarations whose amounts add
  up to what it is paid.
* Uplifts and clawbacks follow the delivery partner *stamped on the declaration*
  (the DP-level split must use the stamped ``delivery_partner_id``):
  a clawback is charged to the partner that was paid for the declaration, even if
  the participant has since moved partner.
* The service fee is shared on the policy's basis; manual adjustments (and anything
  else in the net) are kept by the lead provider or shared like the service fee.
* The lead provider's retained share is a percentage of each partner's money, rounded
  half up per partner. So, exactly, for every statement:
  ``Σ partners.amount + retained == net`` (VAT is not split: it follows the net).
* Line money with no declaration behind it (a calculation gap, never expected) also
  goes to the unassigned entry, with a ``SPLIT_UNATTRIBUTED_AMOUNT`` finding.
* A declaration with no delivery partner goes to the entry with
  ``delivery_partner_id None`` ("unassigned"), never dropped; each statement with
  such declarations yields one ``SPLIT_NO_DELIVERY_PARTNER`` finding giving their
  number, money and first ids (one per statement rather than one per declaration,
  so a file without partners does not bury the other findings).

A partner is known by its ``delivery_partner_id``, or by its name when only the
name is given (DfE's assurance report has "Delivery Partner Name" only).

Example::

    result = split_payments(calculation, declarations, rulebook)
    for share in result.statements[0].partners:
        print(share.delivery_partner_name, share.amount)
    json_text = split_json(result)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile import money
from reconcile.calculate import Calculation
from reconcile.calculate.attribution import split_evenly
from reconcile.errors import Problem, UsageError
from reconcile.findings import Finding, finding
from reconcile.model import (
    Attribution,
    Declaration,
    ExpectedStatement,
    PartnerDetails,
    PaymentLine,
    Source,
    StatementKey,
)
from reconcile.rulebook.split_schema import SplitPolicy

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook

ZERO = money.ZERO

#: how many declaration ids a finding names before "and N more"
FIRST_IDS = 5

#: shown where a delivery partner's name would be, for declarations without one
UNASSIGNED = "Unassigned (no delivery partner)"


class DeclarationShare(NamedTuple):
    """What one declaration brings its partner on one statement.

    ``fee`` is the exact (signed) fee the calculation attributed to it; ``amount`` and
    ``uplift`` are its pennies of the statement's lines after the split, so the
    declarations of a partner add up exactly to the partner's output, clawbacks and
    uplift. ``kind`` is ``output`` or ``clawback``.
    """

    declaration_id: str
    participant_id: str | None
    delivery_partner_id: str | None
    delivery_partner_name: str | None
    kind: str
    participant_type: str
    declaration_type: str
    band: str | None
    fee: Decimal
    amount: Decimal
    uplift: Decimal
    unpaid: bool = False


class PartnerShare(NamedTuple):
    """One delivery partner's part of one statement (signed; pennies).

    ``gross`` = output + uplift + clawbacks + service_fee + adjustments;
    ``amount`` = gross − retained is what the lead provider pays the partner.
    ``clawbacks`` = output_clawbacks + uplift_clawbacks (both ≤ 0).
    ``counts``/``clawed_back`` are its declarations by type on the statement;
    ``service_fee_weight`` is its figure on the service-fee basis.
    """

    delivery_partner_id: str | None
    delivery_partner_name: str | None
    output: Decimal
    uplift: Decimal
    output_clawbacks: Decimal
    uplift_clawbacks: Decimal
    service_fee: Decimal
    adjustments: Decimal
    retained_percentage: Decimal
    retained: Decimal
    counts: tuple[tuple[str, int], ...]
    clawed_back: tuple[tuple[str, int], ...]
    service_fee_weight: Decimal
    #: its part of DfE's net for the statement, in proportion to ``amount`` (None: DfE's
    #: statement, or its money, not given)
    dfe_paid: Decimal | None = None

    @property
    def clawbacks(self) -> Decimal:
        return self.output_clawbacks + self.uplift_clawbacks

    @property
    def gross(self) -> Decimal:
        return (self.output + self.uplift + self.clawbacks + self.service_fee
                + self.adjustments)

    @property
    def amount(self) -> Decimal:
        return self.gross - self.retained

    @property
    def label(self) -> str:
        return self.delivery_partner_name or self.delivery_partner_id or UNASSIGNED


class StatementSplit(NamedTuple):
    """One expected statement divided between partners and the lead provider.

    ``kept_service_fee``/``kept_adjustments`` are what the lead provider keeps
    because the policy does not share them; ``retained`` = those + Σ partners' retained.
    """

    key: StatementKey
    statement_id: str | None
    payment_date: dt.date | None
    output_fee: bool
    net: Decimal
    vat: Decimal
    total: Decimal
    partners: tuple[PartnerShare, ...]
    kept_service_fee: Decimal
    kept_adjustments: Decimal
    service_fee_basis: str
    declarations: tuple[DeclarationShare, ...]
    #: DfE's net for the statement (None: not given) and the lead provider's part of it
    #: (in proportion to ``retained``): with the partners' ``dfe_paid``, exactly DfE's net
    dfe_net: Decimal | None = None
    dfe_retained: Decimal | None = None
    #: what the remittances pay: ``expected``, or ``dfe`` (policy ``paid.basis: dfe``
    #: and DfE's net known)
    paid: str = "expected"

    @property
    def retained_from_partners(self) -> Decimal:
        return sum((p.retained for p in self.partners), ZERO)

    @property
    def retained(self) -> Decimal:
        return self.retained_from_partners + self.kept_service_fee + self.kept_adjustments

    def payable(self, share: PartnerShare) -> Decimal:
        """What the remittance pays ``share``: its expected amount or its part of DfE's net."""
        if self.paid == "dfe" and share.dfe_paid is not None:
            return share.dfe_paid
        return share.amount

    @property
    def payable_retained(self) -> Decimal:
        """What the lead provider keeps on the basis paid."""
        if self.paid == "dfe" and self.dfe_retained is not None:
            return self.dfe_retained
        return self.retained


class SplitResult(NamedTuple):
    statements: tuple[StatementSplit, ...]
    findings: tuple[Finding, ...]
    policy: SplitPolicy
    #: declaration types in the vocabulary's order (columns of the workbooks)
    declaration_types: tuple[str, ...] = ()
    #: the partners file's entries for the partners with a share (``--partners``)
    directory: tuple[PartnerDetails, ...] = ()

    def details(self, delivery_partner_id: str | None) -> PartnerDetails | None:
        """The partners file's entry for a partner (None: no file, or not in it)."""
        for entry in self.directory:
            if entry.delivery_partner_id == delivery_partner_id:
                return entry
        return None

    def partners(self) -> tuple[tuple[str | None, str | None], ...]:
        """Every (id, name) with a share anywhere, in order (unassigned last)."""
        seen: dict[str | None, str | None] = {}
        for statement in self.statements:
            for share in statement.partners:
                seen.setdefault(share.delivery_partner_id, share.delivery_partner_name)
        return tuple(sorted(seen.items(), key=lambda item: _partner_order(item[0])))


# --------------------------------------------------------------------------- partners


def _partner_order(partner: str | None) -> tuple[bool, str]:
    """Partners by id, the unassigned entry last (this order also breaks rounding ties)."""
    return (partner is None, partner or "")


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


class _Partners:
    """Who a declaration's partner is: the attribution's stamp, else the declaration's.

    Also counts the names written for each partner, so one partner reads the same on
    every statement: the name written most often (ties: alphabetical).
    """

    def __init__(self, declarations: Iterable[Declaration]) -> None:
        self._declared = {d.declaration_id: (d.delivery_partner_id, d.delivery_partner_name)
                          for d in declarations
                          if d.delivery_partner_id or d.delivery_partner_name}
        self._memo: dict[tuple[str | None, str | None], tuple[str | None, str | None]] = {}
        self._names: dict[str, Counter[str | None]] = defaultdict(Counter)

    def _resolve(self, raw: tuple[str | None, str | None]) -> tuple[str | None, str | None]:
        found = self._memo.get(raw)
        if found is None:
            pid, name = _clean(raw[0]), _clean(raw[1])
            found = self._memo[raw] = (pid or name, name)
        return found

    def of(self, attribution: Attribution) -> str | None:
        key, name = self._resolve((attribution.delivery_partner_id,
                                   attribution.delivery_partner_name))
        if key is None:
            raw = self._declared.get(attribution.declaration_id)
            if raw is not None:
                key, name = self._resolve(raw)
        if key is not None:
            self._names[key][name] += 1
        return key

    def names(self) -> dict[str, str | None]:
        return {key: min(((-n, name) for name, n in counter.items() if name),
                         default=(0, None))[1]
                for key, counter in self._names.items()}


# --------------------------------------------------------------------------- allocation


def _allocate(amount: Decimal, owners: Sequence[str | None], ids: Sequence[str],
              weights: Sequence[Decimal]) -> tuple[dict[str | None, Decimal], list[Decimal]]:
    """Divide ``amount`` (pennies) between partners by weight, then within each partner.

    ``owners``, ``ids`` and ``weights`` (≥ 0) describe the declarations of one line.
    Returns each partner's part and each declaration's pennies (in the given order).
    Partner ties go to the lower partner id, declaration ties to the lower declaration
    id. With no weight at all the amount goes to the unassigned entry (the caller
    reports it).
    """
    pennies = [ZERO] * len(owners)
    by_partner: dict[str | None, list[int]] = defaultdict(list)
    for position, owner in enumerate(owners):
        by_partner[owner].append(position)
    order = sorted(by_partner, key=_partner_order)
    totals = [sum((weights[i] for i in by_partner[p]), Decimal(0)) for p in order]
    if not any(totals):
        return ({None: amount} if amount else {}), pennies
    parts = dict(zip(order, money.split_exactly(amount, totals)))
    for partner in order:
        positions = sorted(by_partner[partner], key=ids.__getitem__)
        inner = [weights[i] for i in positions]
        if not inner[0] and not any(inner):
            continue
        if inner.count(inner[0]) == len(inner):  # one fee: integer pennies, no Decimals
            shares = split_evenly(parts[partner], len(inner))
        else:
            shares = money.split_exactly(parts[partner], inner)
        for i, share in zip(positions, shares):
            pennies[i] = share
    return parts, pennies


def _line_total(lines: Iterable[PaymentLine]) -> Decimal:
    return sum((line.amount for line in lines), ZERO)


class _Basis:
    """Each partner's figure on the service-fee basis, per statement (needs history)."""

    def __init__(self, policy: SplitPolicy, statements: Sequence[ExpectedStatement],
                 attributions: dict[StatementKey, list[tuple[Attribution, str | None]]],
                 output_parts: dict[StatementKey, dict[str | None, Decimal]]) -> None:
        rule = policy.service_fee
        counted = set(rule.declaration_types)
        self.basis, self.fallback = rule.basis, rule.fallback
        self._weights: dict[tuple[str, StatementKey], dict[str | None, Decimal]] = {}
        ordered = sorted(statements, key=lambda s: (s.key.lead_provider, s.key.cohort,
                                                    s.payment_date or dt.date.max, s.key.name))
        to_date: dict[tuple[str, int], Counter[str | None]] = defaultdict(Counter)
        seen: dict[tuple[str, int], set[str]] = defaultdict(set)
        for statement in ordered:
            group = (statement.key.lead_provider, statement.key.cohort)
            on_statement: Counter[str | None] = Counter()
            for a, partner in attributions.get(statement.key, ()):
                if partner is not None:
                    seen[group].add(partner)
                # flat-rate mentors earn no service fee (docs/domain.md "Prices"), and a
                # clawback with nothing to take back took no participant away: not counted
                if (a.band is None and not a.unpaid) or (a.unpaid and a.kind != "output") or (
                        counted and a.declaration_type not in counted):
                    continue
                if a.kind == "output":
                    to_date[group][partner] += 1
                    on_statement[partner] += 1
                else:
                    to_date[group][partner] -= 1
            key = statement.key
            self._weights[("declarations_to_date", key)] = {
                p: Decimal(n) for p, n in to_date[group].items() if n > 0}
            self._weights[("declarations_on_statement", key)] = {
                p: Decimal(n) for p, n in on_statement.items() if n > 0}
            self._weights[("output_fees_on_statement", key)] = {
                p: v for p, v in output_parts.get(key, {}).items() if v > 0}
            self._weights[("equal", key)] = {p: Decimal(1) for p in seen[group]}

    def weights(self, key: StatementKey) -> tuple[str, dict[str | None, Decimal]]:
        """(basis used, partner → weight); empty when the lead provider keeps the fee."""
        for basis in (self.basis, self.fallback):
            if basis == "lead_provider":
                return basis, {}
            found = self._weights[(basis, key)]
            if found:
                return basis, found
        return "lead_provider", {}


def _share(amount: Decimal, weights: dict[str | None, Decimal]) -> dict[str | None, Decimal]:
    order = sorted(weights, key=_partner_order)
    return dict(zip(order, money.split_exactly(amount, [weights[p] for p in order])))


def _ordered_counts(counter: Counter[str] | None,
                    rank: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """Counts by declaration type, in the vocabulary's order."""
    if not counter:
        return ()
    last = len(rank)
    return tuple((t, counter[t]) for t in sorted(counter, key=lambda t: (rank.get(t, last), t)))


# --------------------------------------------------------------------------- the split


def split_payments(calculation: Calculation, declarations: Sequence[Declaration],
                   rulebook: Rulebook, *,
                   dfe_nets: Mapping[StatementKey, Decimal] | None = None,
                   directory: Mapping[str, PartnerDetails] | None = None) -> SplitResult:
    """Divide every expected statement's net between delivery partners and the lead provider.

    ``dfe_nets``: DfE's net per statement (its statements given with money): each
    partner's and the lead provider's part of it, in proportion to the expected
    split, is worked out beside the expected amounts. ``directory``: the partners
    file (``--partners``): its names replace those the declarations carry.
    """
    return _split_payments(calculation, declarations, rulebook, dfe_nets or {}, directory or {})


def _split_payments(calculation: Calculation, declarations: Sequence[Declaration],
                    rulebook: Rulebook, dfe_nets: Mapping[StatementKey, Decimal],
                    directory: Mapping[str, PartnerDetails]) -> SplitResult:
    policy = _policy(rulebook)
    type_order = tuple(rulebook.vocabulary.declaration_types)
    partners = _Partners(declarations)
    by_statement: dict[StatementKey, list[tuple[Attribution, str | None]]] = defaultdict(list)
    for attribution in calculation.attributions:
        by_statement[attribution.statement].append((attribution, partners.of(attribution)))
    names = partners.names()
    for pid in names:  # the partners file's names first (the declarations may carry ids only)
        details = directory.get(pid)
        if details is not None and details.name:
            names[pid] = details.name

    # Output fees first: the service-fee basis may be "output fees on the statement".
    rank = {name: i for i, name in enumerate(type_order)}
    money_parts = {st.key: _line_parts(st, by_statement.get(st.key, []), names, policy, rank)
                   for st in calculation.statements}
    basis = _Basis(policy, calculation.statements, by_statement,
                   {key: parts.components["output"] for key, parts in money_parts.items()})

    statements, findings = [], []
    for st in calculation.statements:
        parts = money_parts[st.key]
        used, weights = basis.weights(st.key)
        service = _share(st.service_fee, weights) if weights else {}
        kept_service = ZERO if weights else st.service_fee
        other = st.net - (parts.total + st.service_fee)  # manual adjustments, and the rest
        if policy.adjustments.to == "service_fee_basis" and weights:
            adjustments, kept_adjustments = _share(other, weights), ZERO
        else:
            adjustments, kept_adjustments = {}, other
        components = {**parts.components, "service_fee": service, "adjustments": adjustments}
        members = set(parts.members) | set(service) | set(adjustments)
        shares = []
        for partner in sorted(members, key=_partner_order):
            value = {name: components[name].get(partner, ZERO) for name in
                     ("output", "uplift", "output_clawbacks", "uplift_clawbacks",
                      "service_fee", "adjustments")}
            value["clawbacks"] = value["output_clawbacks"] + value["uplift_clawbacks"]
            percentage = policy.retained.percentage_for(partner)
            base = sum((value[c] for c in policy.retained.applies_to), ZERO)
            shares.append(PartnerShare(
                delivery_partner_id=partner,
                delivery_partner_name=names.get(partner) if partner else None,
                output=value["output"], uplift=value["uplift"],
                output_clawbacks=value["output_clawbacks"],
                uplift_clawbacks=value["uplift_clawbacks"],
                service_fee=value["service_fee"], adjustments=value["adjustments"],
                retained_percentage=percentage,
                retained=money.round_money(money.percent_of(base, percentage)),
                counts=_ordered_counts(parts.counts.get(partner), rank),
                clawed_back=_ordered_counts(parts.clawed_back.get(partner), rank),
                service_fee_weight=weights.get(partner, ZERO)))
        split = StatementSplit(st.key, st.statement_id, st.payment_date, st.output_fee, st.net,
                               st.vat, st.total, tuple(shares), kept_service,
                               kept_adjustments, used, parts.declarations)
        dfe_net = dfe_nets.get(st.key)
        if dfe_net is not None:
            split, prorated = _with_dfe(split, dfe_net, policy.paid.basis)
            if not prorated:
                findings.append(finding(
                    "SPLIT_DFE_NOT_PRORATED",
                    f"DfE's net of {money.pounds(dfe_net)} on {st.key.name} cannot be "
                    "divided in proportion to the expected split: the expected net is "
                    "£0.00. The lead provider's share holds all of it.",
                    lead_provider=st.key.lead_provider, cohort=st.key.cohort,
                    statement=st.key.name, expected=st.net, actual=dfe_net,
                    amount=dfe_net - st.net))
        statements.append(split)
        findings.extend(_findings(split, parts))
    seen = {t for s in statements for p in s.partners for t, _ in (*p.counts, *p.clawed_back)}
    ordered_types = tuple(t for t in type_order if t in seen) + tuple(
        sorted(seen - set(type_order)))
    ids = sorted({p.delivery_partner_id for s in statements for p in s.partners
                  if p.delivery_partner_id is not None})
    if directory:
        missing = [pid for pid in ids if pid not in directory]
        if missing:
            findings.append(finding(
                "SPLIT_PARTNER_NOT_IN_FILE",
                f"{len(missing)} delivery partner(s) of the declarations are not in the "
                f"partners file: " + ", ".join(
                    f"{names.get(pid) or pid} ({pid})" if names.get(pid) and names.get(pid)
                    != pid else pid for pid in missing[:FIRST_IDS])
                + (f" and {len(missing) - FIRST_IDS} more" if len(missing) > FIRST_IDS
                   else "") + ".",
                actual=len(missing)))
    return SplitResult(tuple(statements), tuple(findings), policy, ordered_types,
                       tuple(directory[pid] for pid in ids if pid in directory))


def select_statements(result: SplitResult, names: Sequence[str] = (),
                      payment_months: Sequence[str] = ()) -> SplitResult:
    """The split limited to the statements named or paid in the months given
    (``reconcile split --statement NAME`` / ``--payment-month YYYY-MM``): a month's
    remittances. Nothing given: the whole split. The shares are those of the whole
    run (the service fee's basis counts declarations to date), only fewer are shown.

    Raises :class:`~reconcile.errors.UsageError` when nothing matches, listing the
    statements there are.
    """
    if not names and not payment_months:
        return result
    wanted_names = {" ".join(n.split()).casefold() for n in names}
    wanted_months = set(payment_months)
    chosen = tuple(
        st for st in result.statements
        if (not wanted_names or " ".join(st.key.name.split()).casefold() in wanted_names)
        and (not wanted_months or (st.payment_date is not None
                                   and st.payment_date.strftime("%Y-%m") in wanted_months)))
    if not chosen:
        asked = [*(f"--statement {n!r}" for n in names),
                 *(f"--payment-month {m}" for m in payment_months)]
        there = sorted({(st.payment_date or dt.date.max, st.key.name)
                        for st in result.statements})
        listed = ", ".join(f"{name} (paid {date:%Y-%m})" if date != dt.date.max else name
                           for date, name in there[-24:])
        raise UsageError([Problem(
            Source(""), f"no statement of the split matches {' and '.join(asked)}",
            f"give one of the statements there are: {listed or 'none'}")])
    kept = {st.key for st in chosen}
    findings = tuple(f for f in result.findings
                     if f.statement is None or (f.lead_provider, f.cohort, f.statement) in kept)
    return result._replace(statements=chosen, findings=findings)


def _with_dfe(split: StatementSplit, dfe_net: Decimal,
              basis: str) -> tuple[StatementSplit, bool]:
    """DfE's net divided in proportion to the expected split: each partner's amount
    payable and the lead provider's retained share, by largest remainder (ties to the
    lower partner id, the lead provider last), so the parts add up to DfE's net
    exactly. With an expected net of zero there is no proportion: the lead provider's
    part holds all of DfE's net (returns False, for a finding)."""
    weights = [p.amount for p in split.partners] + [split.retained]
    prorated = sum(weights, ZERO) != 0
    if prorated:
        parts = money.prorate_exactly(dfe_net, weights)
    else:
        parts = [ZERO] * len(split.partners) + [money.round_money(dfe_net)]
    partners = tuple(p._replace(dfe_paid=part) for p, part in zip(split.partners, parts))
    return split._replace(partners=partners, dfe_net=money.round_money(dfe_net),
                          dfe_retained=parts[-1], paid=basis), prorated


class _LineParts(NamedTuple):
    components: dict[str, dict[str | None, Decimal]]  # output/uplift/... -> partner -> £
    total: Decimal  # Σ of the statement's output, clawback and uplift lines
    members: frozenset[str | None]
    counts: dict[str | None, Counter[str]]
    clawed_back: dict[str | None, Counter[str]]
    declarations: tuple[DeclarationShare, ...]
    unattributed: Decimal  # line money no declaration stands behind (put in unassigned)


def _line_parts(statement: ExpectedStatement, items: list[tuple[Attribution, str | None]],
                names: dict[str, str | None], policy: SplitPolicy,
                rank: dict[str, int]) -> _LineParts:
    """Output, clawback and uplift lines of one statement, divided between partners.

    ``items`` are the statement's attributions with their partners.
    """
    blended = policy.output_fees.attribution == "blended"
    fees = [ZERO] * len(items)
    uplifts = [ZERO] * len(items)
    components: dict[str, dict[str | None, Decimal]] = {
        name: defaultdict(lambda: ZERO)
        for name in ("output", "output_clawbacks", "uplift", "uplift_clawbacks")}
    unattributed = ZERO
    counts: dict[str | None, Counter[str]] = defaultdict(Counter)
    clawed_back: dict[str | None, Counter[str]] = defaultdict(Counter)

    # one pass: the declarations of each line (blended: of each declaration type) and
    # those with an uplift; every declaration of a type counts once when blended, even
    # one past the last band, so the banding order does not pick who is paid what
    groups: dict[tuple[str | None, ...], list[int]] = defaultdict(list)
    uplifted: dict[str, list[int]] = {"output": [], "clawback": []}
    for i, (a, owner) in enumerate(items):
        groups[(a.kind, a.participant_type, a.declaration_type)
               + (() if blended else (a.band,))].append(i)
        if a.uplift:
            uplifted.setdefault(a.kind, []).append(i)
        (counts if a.kind == "output" else clawed_back)[owner][a.declaration_type] += 1
    amounts: dict[tuple[str | None, ...], Decimal] = defaultdict(lambda: ZERO)
    for kind, lines in (("output", statement.output_payments),
                        ("clawback", statement.clawbacks)):
        for line in lines:
            amounts[(kind, line.participant_type, line.declaration_type)
                    + (() if blended else (line.band,))] += line.amount

    def divide(name: str, amount: Decimal, members: list[int], weights: list[Decimal],
               into: list[Decimal]) -> Decimal:
        parts, pennies = _allocate(amount, [items[i][1] for i in members],
                                   [items[i][0].declaration_id for i in members], weights)
        for i, share in zip(members, pennies):
            into[i] = share
        for partner, value in parts.items():
            components[name][partner] += value
        return amount if amount and not any(weights) else ZERO

    for group in sorted(set(amounts) | set(groups), key=repr):
        members = groups.get(group, [])
        weights = ([Decimal(1)] * len(members) if blended
                   else [abs(items[i][0].fee) for i in members])
        name = "output" if group[0] == "output" else "output_clawbacks"
        unattributed += divide(name, amounts.get(group, ZERO), members, weights, fees)
    # uplift fees and their clawbacks go with the declaration that earned them
    uplift_clawback = -abs(statement.uplift_clawback.amount)
    for kind, name, amount in (("output", "uplift", statement.uplift.amount),
                               ("clawback", "uplift_clawbacks", uplift_clawback)):
        members = uplifted.get(kind, [])
        unattributed += divide(name, amount, members,
                               [abs(items[i][0].uplift) for i in members], uplifts)

    shares = [DeclarationShare(a.declaration_id, a.participant_id, owner,
                               names.get(owner) if owner else None, a.kind,
                               a.participant_type, a.declaration_type, a.band, a.fee, fees[i],
                               uplifts[i], a.unpaid)
              for i, (a, owner) in enumerate(items)]
    # a partner's declarations: paid ones first, by type in the vocabulary's order
    last = len(rank)
    shares.sort(key=lambda s: (s.delivery_partner_id is None, s.delivery_partner_id or "",
                               s.kind != "output", rank.get(s.declaration_type, last),
                               s.declaration_type, s.declaration_id))
    total = (_line_total(statement.output_payments) + _line_total(statement.clawbacks)
             + statement.uplift.amount + uplift_clawback)
    members_all = frozenset(p for parts in components.values() for p in parts) | frozenset(
        owner for _, owner in items)
    return _LineParts(components, total, members_all, counts, clawed_back, tuple(shares),
                      unattributed)


def _findings(split: StatementSplit, parts: _LineParts) -> list[Finding]:
    """One SPLIT_NO_DELIVERY_PARTNER per statement with unassigned declarations."""
    where: dict[str, Any] = {"lead_provider": split.key.lead_provider,
                             "cohort": split.key.cohort,
                             "statement": split.key.name}
    ids = [d.declaration_id for d in split.declarations if d.delivery_partner_id is None]
    unassigned = next((p for p in split.partners if p.delivery_partner_id is None), None)
    found = []
    if ids:
        shown = ", ".join(ids[:FIRST_IDS]) + (f" and {len(ids) - FIRST_IDS} more"
                                              if len(ids) > FIRST_IDS else "")
        own = sum((d.amount + d.uplift for d in split.declarations
                   if d.delivery_partner_id is None), ZERO)
        shared = (unassigned.service_fee + unassigned.adjustments) if unassigned else ZERO
        found.append(finding(
            "SPLIT_NO_DELIVERY_PARTNER",
            f"{len(ids)} declaration(s) on {split.key.name} have no delivery partner "
            f"({shown}): their {money.pounds(own)}"
            + (f", and {money.pounds(shared)} of service fee and adjustments shared by them,"
               if shared else "")
            + " are in the unassigned entry.",
            declaration_id=ids[0] if len(ids) == 1 else None, actual=len(ids),
            **where))
    if parts.unattributed:
        found.append(finding(
            "SPLIT_UNATTRIBUTED_AMOUNT",
            f"{money.pounds(parts.unattributed)} on {split.key.name} has no declaration "
            "behind it in the calculation; it is in the unassigned entry.", **where))
    return found


def _policy(rulebook: Rulebook) -> SplitPolicy:
    """The rulebook's split policy (``rules/split.yaml``); the schema's defaults without one."""
    if rulebook.split is not None:
        return rulebook.split
    return SplitPolicy(source="(no split.yaml: the defaults)")


# --------------------------------------------------------------------------- JSON


def split_json(result: SplitResult) -> dict[str, Any]:
    """docs/split-example.md: ``{"splits": [...]}`` plus the policy and the split's findings."""
    show = money.show
    splits = []
    for st in result.statements:
        splits.append({
            "lead_provider": st.key.lead_provider,
            "cohort": st.key.cohort,
            "statement": st.key.name,
            "statement_id": st.statement_id,
            "payment_date": st.payment_date.isoformat() if st.payment_date else None,
            "output_fee": st.output_fee,
            "net": show(st.net),
            "retained": show(st.retained),
            "vat": show(st.vat),
            "total": show(st.total),
            "lead_provider_keeps": {
                "service_fee": show(st.kept_service_fee),
                "adjustments": show(st.kept_adjustments),
                "retained_from_partners": show(st.retained_from_partners),
            },
            "service_fee_basis": st.service_fee_basis,
            "dfe_net": show(st.dfe_net) if st.dfe_net is not None else None,
            "dfe_retained": show(st.dfe_retained) if st.dfe_retained is not None else None,
            "paid": st.paid,
            "partners": [{
                "delivery_partner_id": p.delivery_partner_id,
                "delivery_partner_name": p.delivery_partner_name,
                "output": show(p.output),
                "uplift": show(p.uplift),
                "clawbacks": show(p.clawbacks),
                "output_clawbacks": show(p.output_clawbacks),
                "uplift_clawbacks": show(p.uplift_clawbacks),
                "service_fee": show(p.service_fee),
                "adjustments": show(p.adjustments),
                "gross": show(p.gross),
                "retained_percentage": str(p.retained_percentage),
                "retained": show(p.retained),
                "amount": show(p.amount),
                "dfe_paid": show(p.dfe_paid) if p.dfe_paid is not None else None,
                "payable": show(st.payable(p)),
                "service_fee_weight": str(p.service_fee_weight),
                "declarations": dict(p.counts),
                "clawed_back": dict(p.clawed_back),
            } for p in st.partners],
        })
    return {
        "policy": {label: text for label, text in result.policy.describe()},
        "partners": [{"delivery_partner_id": d.delivery_partner_id, "name": d.name,
                      "email": d.email, "address": d.address} for d in result.directory],
        "splits": splits,
        "findings": [f.as_json() for f in result.findings],
    }
