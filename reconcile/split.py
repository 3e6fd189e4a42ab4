"""Delivery-partner split: each statement's net divided between delivery partners (pure).

Stage: split (after calculate; before report). In: the :class:`Calculation` (expected
statements and the attribution of every declaration to a statement line), the
declarations (for delivery partners the attributions lack) and the rulebook's split
policy (``rules/split.yaml``, :mod:`reconcile.rulebook.split_schema`). Out: a
:class:`SplitResult`: per statement, one :class:`PartnerShare` per delivery partner
(output, uplift, clawbacks, service fee, adjustments, retained, amount), the lead
provider's retained share, the money of every declaration, and findings.

Why (seed 001): a lead provider must "distribute a share of funds on to the right
delivery partner"; DOMAIN.md "People and things": "An LP passes part of each payment
on to its DPs". The split must be explainable declaration by declaration and add up
to the penny. How:

* Money comes from the statement's *lines* (already rounded: ``money.line_amount``),
  never from re-adding fees, so each column adds up to its line exactly. Each line
  is divided between partners in proportion to their declarations' exact fees
  (policy ``band``) or their number of declarations of that type (``blended``), by
  largest remainder (:func:`reconcile.money.split_exactly`; ties to the lower
  partner id), then each partner's part between its declarations (ties to the lower
  declaration id). So a partner's remittance lists declarations whose amounts add
  up to what it is paid.
* Uplifts and clawbacks follow the delivery partner *stamped on the declaration*
  (user-needs #18: the DP-level split must use the stamped ``delivery_partner_id``):
  a clawback is charged to the partner that was paid for the declaration, even if
  the participant has since moved partner.
* The service fee is shared on the policy's basis; manual adjustments (and anything
  else in the net) are kept by the lead provider or shared like the service fee.
* The lead provider's retained share is a percentage of each partner's money, rounded
  half up per partner. So, exactly, for every statement:
  ``Σ partners.amount + retained == net`` (VAT is not split: it follows the net).
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
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile import money
from reconcile.findings import Finding, finding
from reconcile.model import Attribution, Declaration, StatementKey
from reconcile.rulebook.split_schema import SplitPolicy

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

    @property
    def retained(self) -> Decimal:
        return (sum((p.retained for p in self.partners), ZERO) + self.kept_service_fee
                + self.kept_adjustments)

    @property
    def retained_from_partners(self) -> Decimal:
        return sum((p.retained for p in self.partners), ZERO)


class SplitResult(NamedTuple):
    statements: tuple[StatementSplit, ...]
    findings: tuple[Finding, ...]
    policy: SplitPolicy
    #: declaration types in the vocabulary's order (columns of the workbooks)
    declaration_types: tuple[str, ...] = ()

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
    """Who a declaration's partner is: the attribution's stamp, else the declaration's."""

    def __init__(self, declarations: Iterable[Declaration],
                 attributions: Sequence[Attribution]) -> None:
        self._declared = {d.declaration_id: (_clean(d.delivery_partner_id),
                                             _clean(d.delivery_partner_name))
                          for d in declarations}
        names: dict[str, Counter] = defaultdict(Counter)
        for pid, name in [*self._declared.values(),
                          *((_clean(a.delivery_partner_id), _clean(a.delivery_partner_name))
                            for a in attributions)]:
            if pid or name:
                names[pid or name][name] += 1
        # the name most often written for an id (ties: alphabetical), so one partner
        # reads the same on every statement
        self.names = {key: min(((-n, name or "") for name, n in counter.items()
                                if name), default=(0, ""))[1] or None
                      for key, counter in names.items()}

    def of(self, attribution: Attribution) -> str | None:
        pid, name = _clean(attribution.delivery_partner_id), _clean(
            attribution.delivery_partner_name)
        if not (pid or name):
            pid, name = self._declared.get(attribution.declaration_id, (None, None))
        return pid or name


# --------------------------------------------------------------------------- allocation


def _allocate(amount: Decimal, members: Sequence[tuple[str | None, Attribution, Decimal]],
              pennies: dict[int, Decimal]) -> dict[str | None, Decimal]:
    """Divide ``amount`` (pennies) between partners by weight, then within each partner.

    ``members`` are (partner, attribution, weight ≥ 0). Writes each attribution's
    pennies into ``pennies`` (by position id) and returns each partner's part.
    With no weight at all the amount goes to the unassigned entry (the caller
    reports it).
    """
    by_partner: dict[str | None, list[tuple[Attribution, Decimal, int]]] = defaultdict(list)
    for index, (partner, attribution, weight) in enumerate(members):
        by_partner[partner].append((attribution, weight, index))
    order = sorted(by_partner, key=_partner_order)
    weights = [sum((w for _, w, _ in by_partner[p]), Decimal(0)) for p in order]
    if not any(weights):
        for partner in order:
            for _, _, index in by_partner[partner]:
                pennies[index] = ZERO
        return {None: amount} if amount else {}
    parts = dict(zip(order, money.split_exactly(amount, weights)))
    for partner in order:
        items = sorted(by_partner[partner], key=lambda item: item[0].declaration_id)
        inner = [w for _, w, _ in items]
        shares = (money.split_exactly(parts[partner], inner) if any(inner)
                  else [ZERO] * len(items))
        for (_, _, index), share in zip(items, shares):
            pennies[index] = share
    return parts


def _line_total(lines: Iterable[Any]) -> Decimal:
    return sum((line.amount for line in lines), ZERO)


class _Basis:
    """Each partner's figure on the service-fee basis, per statement (needs history)."""

    def __init__(self, policy: SplitPolicy, statements: Sequence[Any],
                 attributions: dict[StatementKey, list[Attribution]], partners: _Partners,
                 output_parts: dict[StatementKey, dict[str | None, Decimal]]) -> None:
        rule = policy.service_fee
        counted = set(rule.declaration_types)
        self.basis, self.fallback = rule.basis, rule.fallback
        self._weights: dict[tuple[str, StatementKey], dict[str | None, Decimal]] = {}
        ordered = sorted(statements, key=lambda s: (s.key.lead_provider, s.key.cohort,
                                                    s.payment_date or dt.date.max, s.key.name))
        to_date: dict[tuple[str, int], Counter] = defaultdict(Counter)
        seen: dict[tuple[str, int], set] = defaultdict(set)
        for statement in ordered:
            group = (statement.key.lead_provider, statement.key.cohort)
            on_statement: Counter = Counter()
            for a in attributions.get(statement.key, ()):
                partner = partners.of(a)
                if partner is not None:
                    seen[group].add(partner)
                # flat-rate mentors earn no service fee (DOMAIN.md "Mentors"): not counted
                if (a.band is None and not a.unpaid) or (
                        counted and a.declaration_type not in counted):
                    continue
                step = 1 if a.kind == "output" else -1
                to_date[group][partner] += step
                if a.kind == "output":
                    on_statement[partner] += 1
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


def _ordered_counts(counter: Counter, order: Sequence[str]) -> tuple[tuple[str, int], ...]:
    rank = {name: i for i, name in enumerate(order)}
    return tuple((t, counter[t]) for t in sorted(counter, key=lambda t: (rank.get(t, len(rank)),
                                                                         t)))


# --------------------------------------------------------------------------- the split


def split_payments(calculation: Any, declarations: Sequence[Declaration],
                   rulebook: Any) -> SplitResult:
    """Divide every expected statement's net between delivery partners and the lead provider."""
    policy = _policy(rulebook)
    type_order = tuple(getattr(getattr(rulebook, "vocabulary", None), "declaration_types", ()))
    by_statement: dict[StatementKey, list[Attribution]] = defaultdict(list)
    for attribution in calculation.attributions:
        by_statement[attribution.statement].append(attribution)
    partners = _Partners(declarations, calculation.attributions)

    # Output fees first: the service-fee basis may be "output fees on the statement".
    rank = {name: i for i, name in enumerate(type_order)}
    money_parts = {st.key: _line_parts(st, by_statement.get(st.key, []), partners, policy,
                                       rank)
                   for st in calculation.statements}
    basis = _Basis(policy, calculation.statements, by_statement, partners,
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
                delivery_partner_name=partners.names.get(partner) if partner else None,
                output=value["output"], uplift=value["uplift"],
                output_clawbacks=value["output_clawbacks"],
                uplift_clawbacks=value["uplift_clawbacks"],
                service_fee=value["service_fee"], adjustments=value["adjustments"],
                retained_percentage=percentage,
                retained=money.round_money(money.percent_of(base, percentage)),
                counts=_ordered_counts(parts.counts.get(partner, Counter()), type_order),
                clawed_back=_ordered_counts(parts.clawed_back.get(partner, Counter()),
                                            type_order),
                service_fee_weight=weights.get(partner, ZERO)))
        split = StatementSplit(st.key, st.statement_id, st.payment_date, st.output_fee, st.net,
                               st.vat, st.total, tuple(shares), kept_service,
                               kept_adjustments, used, parts.declarations)
        statements.append(split)
        findings.extend(_findings(split, parts))
    used = {t for s in statements for p in s.partners for t, _ in (*p.counts, *p.clawed_back)}
    ordered_types = tuple(t for t in type_order if t in used) + tuple(
        sorted(used - set(type_order)))
    return SplitResult(tuple(statements), tuple(findings), policy, ordered_types)


class _LineParts(NamedTuple):
    components: dict[str, dict[str | None, Decimal]]  # output/uplift/... -> partner -> £
    total: Decimal  # Σ of the statement's output, clawback and uplift lines
    members: frozenset
    counts: dict[str | None, Counter]
    clawed_back: dict[str | None, Counter]
    declarations: tuple[DeclarationShare, ...]
    unattributed: Decimal  # line money no declaration stands behind (put in unassigned)


def _line_parts(statement: Any, attributions: list[Attribution], partners: _Partners,
                policy: SplitPolicy, rank: dict[str, int]) -> _LineParts:
    """Output, clawback and uplift lines of one statement, divided between partners."""
    blended = policy.output_fees.attribution == "blended"
    owner = [partners.of(a) for a in attributions]
    fees: dict[int, Decimal] = {}
    uplifts: dict[int, Decimal] = {}
    components: dict[str, dict[str | None, Decimal]] = {}
    unattributed = ZERO

    def add(name: str, parts: dict[str | None, Decimal]) -> None:
        target = components.setdefault(name, defaultdict(lambda: ZERO))
        for partner, value in parts.items():
            target[partner] += value

    def key_of(participant_type: str, declaration_type: str, band: str | None) -> tuple:
        return (participant_type, declaration_type) if blended else (
            participant_type, declaration_type, band)

    for kind, name, lines in (("output", "output", statement.output_payments),
                              ("clawback", "output_clawbacks", statement.clawbacks)):
        groups: dict[tuple, list] = defaultdict(list)
        for line in lines:
            groups[key_of(line.participant_type, line.declaration_type, line.band)].append(line)
        members: dict[tuple, list] = defaultdict(list)
        for i, a in enumerate(attributions):
            if a.kind == kind:
                # blended: every declaration of the type counts once, even one past the
                # last band, so banding order does not pick who is paid; band: its fee
                weight = Decimal(1) if blended else abs(a.fee)
                members[key_of(a.participant_type, a.declaration_type, a.band)].append(
                    (owner[i], a, weight, i))
        add(name, {})
        for group in sorted(set(groups) | set(members), key=repr):
            amount = _line_total(groups.get(group, ()))
            items = members.get(group, [])
            positions: dict[int, Decimal] = {}
            parts = _allocate(amount, [(p, a, w) for p, a, w, _ in items], positions)
            for slot, (_, _, _, i) in enumerate(items):
                fees[i] = positions[slot]
            if amount and not any(w for _, _, w, _ in items):
                unattributed += amount
            add(name, parts)

    # uplift fees and their clawbacks go with the declaration that earned them
    uplift_clawback = -abs(statement.uplift_clawback.amount)
    for kind, name, line in (("output", "uplift", statement.uplift.amount),
                             ("clawback", "uplift_clawbacks", uplift_clawback)):
        items = [(owner[i], a, abs(a.uplift), i) for i, a in enumerate(attributions)
                 if a.kind == kind and a.uplift]
        positions = {}
        parts = _allocate(line, [(p, a, w) for p, a, w, _ in items], positions)
        for slot, (_, _, _, i) in enumerate(items):
            uplifts[i] = positions[slot]
        if line and not items:
            unattributed += line
        add(name, parts)

    counts: dict[str | None, Counter] = defaultdict(Counter)
    clawed_back: dict[str | None, Counter] = defaultdict(Counter)
    shares = []
    for i, a in enumerate(attributions):
        (counts if a.kind == "output" else clawed_back)[owner[i]][a.declaration_type] += 1
        partner = owner[i]
        shares.append(DeclarationShare(
            a.declaration_id, a.participant_id, partner,
            partners.names.get(partner) if partner else None, a.kind, a.participant_type,
            a.declaration_type, a.band, a.fee, fees.get(i, ZERO), uplifts.get(i, ZERO),
            a.unpaid))
    # a partner's declarations: paid ones first, by type in the vocabulary's order
    shares.sort(key=lambda s: (_partner_order(s.delivery_partner_id), s.kind != "output",
                               rank.get(s.declaration_type, len(rank)), s.declaration_type,
                               s.declaration_id))
    total = (_line_total(statement.output_payments) + _line_total(statement.clawbacks)
             + statement.uplift.amount + uplift_clawback)
    members_all = frozenset(p for parts in components.values() for p in parts) | frozenset(
        owner)
    return _LineParts(components, total, members_all, counts, clawed_back, tuple(shares),
                      unattributed)


def _findings(split: StatementSplit, parts: _LineParts) -> list[Finding]:
    """One SPLIT_NO_DELIVERY_PARTNER per statement with unassigned declarations."""
    where = {"lead_provider": split.key.lead_provider, "cohort": split.key.cohort,
             "statement": split.key.name}
    ids = [d.declaration_id for d in split.declarations if d.delivery_partner_id is None]
    unassigned = next((p for p in split.partners if p.delivery_partner_id is None), None)
    found = []
    if ids:
        shown = ", ".join(ids[:FIRST_IDS]) + (f" and {len(ids) - FIRST_IDS} more"
                                              if len(ids) > FIRST_IDS else "")
        amount = money.pounds(unassigned.amount if unassigned else ZERO)
        found.append(finding(
            "SPLIT_NO_DELIVERY_PARTNER",
            f"{len(ids)} declaration(s) on {split.key.name} have no delivery partner "
            f"({shown}); their {amount} is in the unassigned entry.",
            declaration_id=ids[0] if len(ids) == 1 else None, actual=str(len(ids)), **where))
    if parts.unattributed:
        found.append(finding(
            "SPLIT_NO_DELIVERY_PARTNER",
            f"{money.pounds(parts.unattributed)} on {split.key.name} has no declaration "
            "behind it in the calculation; it is in the unassigned entry.",
            "This is a calculation gap, not a data problem: report it with the input files.",
            **where))
    return found


def _policy(rulebook: Any) -> SplitPolicy:
    """The rulebook's split policy (``rules/split.yaml``); the schema's defaults without one."""
    policy = getattr(rulebook, "split", None)
    if isinstance(policy, SplitPolicy):
        return policy
    return SplitPolicy(source="(no split.yaml: the defaults)")


# --------------------------------------------------------------------------- JSON


def split_json(result: SplitResult) -> dict:
    """INTERFACES.md §6: ``{"splits": [...]}`` plus the policy and the split's findings."""
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
                "service_fee_weight": str(p.service_fee_weight),
                "declarations": dict(p.counts),
                "clawed_back": dict(p.clawed_back),
            } for p in st.partners],
        })
    return {
        "policy": {label: text for label, text in result.policy.describe()},
        "splits": splits,
        "findings": [f.as_json() for f in result.findings],
    }


def __getattr__(name: str):
    # The remittance writers live in reconcile.remittance (they build workbooks);
    # the pipeline imports them from here.
    if name in ("write_remittances", "write_split_workbook", "partner_sheet"):
        from reconcile import remittance

        return getattr(remittance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
