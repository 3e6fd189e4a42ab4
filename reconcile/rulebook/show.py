"""``reconcile rules show``: the rulebook as plain text for a finance reader.

Stage: rules (a view of the loaded rulebook; nothing is computed that the
calculation does not also use). In: a :class:`~reconcile.rulebook.load.Rulebook`.
Out: text: fees per declaration type with a £1,000 worked example, the banding
policy, the service-fee policies (the selected one marked), every eligibility rule
in words with its file:line, the fact fields a rule's condition can ask about (type,
allowed values, meaning), the contracts' bands and prices, a summary of the
schedules and calendars with their faulty rows, the delivery-partner split policy.

Example::

    print(render_rulebook(load_rulebook()))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal

from reconcile import money
from reconcile.rulebook.vocabulary import DECLARATION_PLACEHOLDERS, fact_vocabulary
from typing import TYPE_CHECKING

from reconcile.rulebook.schema import Band, Classify, Contract, FindingSpec
from reconcile.rulebook.versions import describe_change, terms_by_statement

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook

#: the price of the worked example (docs/domain.md "Prices": £1,000 a participant)
EXAMPLE_PRICE = Decimal(1000)

_PLACES = {"this_statement_additions": "this statement's additions",
           "previous_fill": "the previous statements' fill"}
_SET_UP = {"spread_over_band_a": "deducted from the total, spread over band A "
                                 "(min(target, A capacity) x set-up fee / A capacity)",
           "none": "not deducted"}
_TYPES = {"str": "text", "int": "whole number", "bool": "true/false",
          "date": "date YYYY-MM-DD"}
_OPERATORS = {"eq": "is", "ne": "is not", "lt": "is less than", "lte": "is at most",
              "gt": "is more than", "gte": "is at least", "in": "is one of",
              "not_in": "is not one of"}


def render_rulebook(rulebook: Rulebook) -> str:
    """The whole rulebook in words (see the module docstring)."""
    sections = [
        _header(rulebook),
        _fees(rulebook),
        _banding(rulebook),
        _service_fee(rulebook),
        _rules(rulebook),
        _facts(rulebook),
        _contracts(rulebook),
        _schedules(rulebook),
        _calendars(rulebook),
        _split(rulebook),
        _notices(rulebook),
    ]
    return "\n\n".join(s for s in sections if s).rstrip() + "\n"

# ------------------------------------------------------------------------ pieces


def _title(text: str) -> str:
    return f"{text}\n{'=' * len(text)}"


def _pct(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text}%"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()
           ) -> str:
    """Columns padded to their widest cell; ``right`` lists right-aligned columns."""
    rows = [list(map(str, r)) for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out.extend(line(r) for r in rows)
    return "\n".join("  " + x for x in out)


def _header(rulebook: Rulebook) -> str:
    lines = [_title("Rulebook"), f"Folder: {rulebook.directory}",
             f"In short: {rulebook.summary()}", "Files read (sha256):"]
    lines.extend(f"  {name}  {digest[:12]}" for name, digest in rulebook.files)
    return "\n".join(lines)


def _fees(rulebook: Rulebook) -> str:
    fees = rulebook.fees
    split = fees.band_split
    band = Band("example", 0, 1, EXAMPLE_PRICE, split.output_payment_percentage,
                split.service_fee_percentage)
    lines = [_title("Fees per declaration (rules/fees.yaml)"),
             (f"A band's price per participant is split {_pct(split.output_payment_percentage)} "
             f"output / {_pct(split.service_fee_percentage)} service fee unless the contract "
             "says otherwise. Each declaration earns its type's share of the output part."),
             (f"Worked example: a price of {money.pounds(EXAMPLE_PRICE)} gives output "
             f"{money.pounds(band.output_price)} and service fee "
             f"{money.pounds(band.service_price)} (paid monthly, see Service fee)."), ""]
    core = set(fees.core_milestones)
    rows: list[tuple[str, ...]] = []
    for declaration_type in rulebook.vocabulary.declaration_types:
        if declaration_type not in fees.proportions:
            continue
        rows.append((declaration_type, _pct(fees.proportion(declaration_type)),
                     money.pounds(fees.output_fee(band, declaration_type)),
                     "core" if declaration_type in core else "extra, on top"))
    lines.append(_table(("declaration type", "share of output",
                         f"on {money.pounds(EXAMPLE_PRICE)}", "kind"), rows, right=(1, 2)))
    total = sum((fees.proportion(t) for t in fees.core_milestones), Decimal(0))
    lines.append(f"  The core milestones add up to {_pct(total)}.")
    if fees.mentor_flat_rate_proportions:
        lines += ["", ("Flat-rate mentors (contracts with a mentor block): no bands, no service "
                      "fee; each declaration earns a share of payment_per_participant.")]
        rows = [(t, _pct(p), money.pounds(fees.mentor_fee(EXAMPLE_PRICE, t)))
                for t, p in fees.mentor_flat_rate_proportions.items()]
        lines.append(_table(("declaration type", "share", f"on {money.pounds(EXAMPLE_PRICE)}"),
                            rows, right=(1, 2)))
    rule = rulebook.rule(fees.uplift.eligibility_rule)
    where = f" ({rule.source})" if rule is not None else ""
    lines += ["", (f"VAT: {_pct(fees.vat_percentage)} of the net, when the contract is VAT "
                  "chargeable."),
              (f"Uplift: the contract's uplift_amount for each declaration the rule "
              f"'{fees.uplift.eligibility_rule}'{where} classifies as uplift.")]
    if fees.uplift.notes:
        lines.append(f"  {fees.uplift.notes}")
    return "\n".join(lines)


def _banding(rulebook: Rulebook) -> str:
    banding = rulebook.banding
    refunds = " then ".join(_PLACES.get(p, p) for p in banding.refunds.take_from)
    banded = "; ".join(f"{participant}: {policy.replace('_', ' ')}"
                       for participant, policy in banding.banded_participant_types.items())
    lines = [
        _title("Banding (rules/banding.yaml)"),
        (f"- Bands are filled separately per {banding.count_per.replace('_', ' ')}, counting "
        f"cumulatively over the statements of one lead provider and cohort in "
        f"{banding.statement_order.replace('_', ' ')} order."),
        ("- Previous fill: " + (
            "earlier billable - earlier refundable, laid over this statement's bands "
            "(ecf, as DfE's ECF service)." if banding.previous_fill == "ecf" else
            "earlier billable capped at the bands' capacity, then earlier refunds removed "
            "(rect, as DfE's RECT service).")),
        (f"- Within a statement, declarations take band places in order of "
        f"{', '.join(banding.order_by)}."),
        f"- Refunds are taken {banding.refunds.order.replace('_', ' ')}, from {refunds}.",
        f"- Beyond the last band: {banding.beyond_last_band} (reported as CALC_OVER_CAPACITY).",
        (f"- A band holds participants max(min, {banding.min_counts_from})..max: capacity = "
        f"max - max(min, {banding.min_counts_from}) + 1."),
        f"- Fee shown per declaration: {banding.attribution} "
        + ("(its band's fee)." if banding.attribution == "band"
           else "(the statement line's average)."),
        f"- Banded participants: {banded}.",
    ]
    return "\n".join(lines)


def _service_fee(rulebook: Rulebook) -> str:
    service = rulebook.service_fee
    lines = [_title("Service fee (rules/service_fee.yaml)"), service.description.strip(), ""]
    for name, policy in service.policies.items():
        marker = "* " if name == service.selected else "  "
        chosen = "  (selected)" if name == service.selected else ""
        lines.append(f"{marker}{name}{chosen}: {policy.description.strip()}")
        if policy.paid_on == "every_statement":
            share = policy.share(1) * 100
            divisors = " + ".join(f"{_pct(t.percentage)} / {t.months}" for t in policy.tranches)
            lines.append(f"    every statement of the cohort's calendar: {divisors} = "
                         f"{share.quantize(Decimal('0.0001'))}% of the total (the months "
                         "only divide the total; DfE pays it on every statement)")
        else:
            months = sorted({t.months for t in policy.tranches})
            start = 1
            for end in months:
                share = policy.share(start) * 100
                lines.append(f"    months {start}-{end}: {share.quantize(Decimal('0.0001'))}% "
                             "of the total each")
                start = end + 1
            lines.append(f"    months after {months[-1]}: nothing (paid by month position)")
        lines.append(f"    set-up fee: {_SET_UP.get(policy.set_up_fee_deduction, policy.set_up_fee_deduction)}")
    target = service.under_target
    lines += ["",
              "A contract's monthly_service_fee " + ("replaces the calculated figure when set."
                                                     if service.contract_monthly_fee_wins else
                                                     "is ignored: the fee is always calculated."),
              f"Under target: recruitment ({target.recruited.replace('_', ' ')}) below "
              f"{_pct(target.threshold_percentage)} of the recruitment target -> reduction "
              f"'{target.reduction}'"
              + (" (paid in full; reported as a warning)." if target.reduction == "none"
                 else " (service fee x recruited / target)."),
              ("Statements counted: every statement of the cohort's calendar, output fee or "
               "not, in payment-date order; a contract version changes the terms (and so "
               "the fee) from its statement on (see Contracts).")]
    return "\n".join(lines)


def describe_condition(when: object) -> str:
    """A rule's ``when:`` in words: ``state is one of eligible, payable or paid``."""
    if not isinstance(when, dict):
        return str(when)
    parts = []
    for key, value in when.items():
        if key in ("all", "any") and isinstance(value, list):
            joiner = " and " if key == "all" else " or "
            parts.append("(" + joiner.join(describe_condition(v) for v in value) + ")")
        elif key == "not":
            parts.append(f"not ({describe_condition(value)})")
        elif isinstance(value, dict) and len(value) == 1:
            ((op, operand),) = value.items()
            if op == "exists":
                parts.append(f"{key} {'is given' if operand else 'is not given'}")
            elif isinstance(operand, list):
                parts.append(f"{key} {_OPERATORS.get(op, op)} {_words(operand)}")
            else:
                parts.append(f"{key} {_OPERATORS.get(op, op)} {_value(operand)}")
        else:
            parts.append(f"{key} is {_value(value)}")
    return " and ".join(parts)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _words(values: list[object]) -> str:
    items = [_value(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _rules(rulebook: Rulebook) -> str:
    lines = [_title("Eligibility rules (rules/eligibility.yaml)"),
             ("Every declaration is checked against every rule; a rule whose condition "
             "holds classifies it or reports a finding.")]
    for rule in rulebook.rules:
        lines += ["", f"{rule.id}  ({rule.source})", f"  {' '.join(rule.description.split())}",
                  f"  when: {describe_condition(rule.when)}"]
        then = rule.then
        if isinstance(then, Classify):
            lines.append(f"  then: classify as {then.label}")
        elif isinstance(then, FindingSpec):
            lines.append(f"  then: finding {then.code} ({then.severity.value})")
            lines.append(f"    message: {' '.join(then.message.split())}")
            lines.append(f"    suggestion: {' '.join(then.suggestion.split())}")
    return "\n".join(lines)


def _facts(rulebook: Rulebook) -> str:
    """Every fact field a condition can name: its type, its values, what it means."""
    lines = [_title("Facts a rule can ask about (the fields of when:)"),
             ("A condition names these fields; `reconcile rules check` refuses any other "
              "field, and a value outside a field's listed values.")]
    for field in fact_vocabulary(rulebook.vocabulary).values():
        kind = _TYPES.get(field.type, field.type)
        if field.allowed is not None:
            kind += ": " + ", ".join(map(str, field.allowed))
        if field.nullable:
            kind += "; may be null"
        lines += [f"  {field.name}  ({kind})", f"    {field.doc}"]
    lines += ["", ("Placeholders in a message or suggestion: any fact field, and "
                   + ", ".join(DECLARATION_PLACEHOLDERS) + ".")]
    return "\n".join(lines)


def _contracts(rulebook: Rulebook) -> str:
    lines = [_title("Contracts")]
    if not rulebook.contracts:
        return "\n".join(lines + ["No contracts: add one with --contracts or in RULES/contracts/."])
    fees = rulebook.fees
    first = rulebook.vocabulary.declaration_types[0]
    for contract in sorted(rulebook.contracts.values(),
                           key=lambda c: (c.lead_provider.casefold(), c.cohort)):
        lines += ["", f"{contract.lead_provider}, cohort {contract.cohort}  ({contract.source})",
                  f"  recruitment target {contract.recruitment_target:,}; "
                  f"VAT {'chargeable' if contract.vat_chargeable else 'not chargeable'}; "
                  f"set-up fee {money.pounds(contract.set_up_fee)}; uplift "
                  + (f"{money.pounds(contract.uplift_amount)} per eligible {first} declaration"
                     if contract.uplift_amount is not None else "none")
                  + "; monthly service fee "
                  + (money.pounds(contract.monthly_service_fee)
                     if contract.monthly_service_fee is not None else "calculated")]
        rows = [(b.name, f"{b.min:,}-{b.max:,}", f"{b.capacity:,}", money.pounds(b.per_participant),
                 f"{_pct(b.output_payment_percentage)}/{_pct(b.service_fee_percentage)}",
                 money.pounds(b.output_price), money.pounds(b.service_price),
                 money.pounds(fees.output_fee(b, first)) if first in fees.proportions else "-")
                for b in contract.bands]
        lines.append(_table(("band", "participants", "capacity", "price", "output/service",
                             "output price", "service price", f"{first} fee"), rows,
                            right=(2, 3, 5, 6, 7)))
        if contract.mentor is not None:
            price = contract.mentor.payment_per_participant
            shares = ", ".join(f"{t} {money.pounds(fees.mentor_fee(price, t))}"
                               for t in fees.mentor_flat_rate_proportions)
            lines.append(f"  Mentors: flat rate {money.pounds(price)} per participant ({shares}).")
        lines.extend(_versions(rulebook, contract))
    return "\n".join(lines)


def _versions(rulebook: Rulebook, contract: Contract) -> list[str]:
    """Which version of the terms applies to which statements of the cohort's calendar."""
    if not contract.versions and not contract.version:
        return []
    names = [s.name for s in rulebook.statements_for(contract.cohort)]
    lines = ["  Contract versions (each statement is calculated with its version's terms):"]
    if not names:
        return lines + ["    (no calendar for this cohort in calendars.yaml: DfE's statements "
                        "decide)"]
    terms = terms_by_statement(contract, names)
    start = 0
    for index in range(1, len(names) + 1):
        if index < len(names) and terms[index] is terms[start]:
            continue
        version = terms[start]
        span = names[start] if index - 1 == start else f"{names[start]} to {names[index - 1]}"
        change = "" if version is contract else ": " + describe_change(
            terms[start - 1], version, Decimal(0), Decimal(0))
        lines.append(f"    {version.label}: {span}{change}  ({version.source})")
        start = index
    return lines


def _schedules(rulebook: Rulebook) -> str:
    schedules = rulebook.schedules.values()
    by_cohort = Counter(s.cohort for s in schedules)
    by_family = Counter(s.family for s in schedules)
    milestones = sum(len(s.milestones) for s in schedules)
    open_ended = sum(m.milestone_date is None for s in schedules for m in s.milestones.values())
    lines = [_title("Schedules (rules/schedules.yaml)"),
             (f"{len(rulebook.schedules)} schedules with {milestones} milestones "
             f"({open_ended} without a milestone date: no date check)."),
             "Per cohort: " + ", ".join(f"{c}: {n}" for c, n in sorted(by_cohort.items())),
             "Per family: " + ", ".join(f"{f}: {n}" for f, n in sorted(by_family.items())),
             f"Default schedule: {rulebook.vocabulary.default_schedule}."]
    return "\n".join(lines)


def _calendars(rulebook: Rulebook) -> str:
    policy = rulebook.calendar_policy
    lines = [_title("Statement calendars (rules/calendars.yaml)"),
             (f"Policy: a cut-off after its payment date -> {policy.faulty_cut_off}; "
             f"a cut-off on its payment date -> {policy.same_day_cut_off} "
             "(correct = the last day of the month before the payment month).")]
    rows = []
    for cohort, statements in sorted(rulebook.calendar.items()):
        if not statements:
            continue
        rows.append((str(cohort), str(len(statements)), str(sum(s.output_fee for s in statements)),
                     f"{statements[0].name} ({statements[0].payment_date})",
                     f"{statements[-1].name} ({statements[-1].payment_date})",
                     str(sum(s.faulty for s in statements))))
    lines.append(_table(("cohort", "statements", "output fee", "first", "last", "faulty"), rows,
                        right=(1, 2, 5)))
    faulty = [s for statements in rulebook.calendar.values() for s in statements if s.faulty]
    if faulty:
        lines += ["", "Faulty rows (as written -> used):"]
        lines.extend(f"  cohort {s.cohort} {s.name}: cut-off {s.original_cut_off_date}, payment "
                     f"{s.payment_date} -> cut-off {s.cut_off_date}  ({s.source})"
                     for s in faulty)
    return "\n".join(lines)


def _split(rulebook: Rulebook) -> str:
    if rulebook.split is None:
        return ""
    lines = [_title("Delivery-partner split (rules/split.yaml)")]
    lines.extend(f"- {name}: {text}" for name, text in rulebook.split.describe())
    return "\n".join(lines)


def _notices(rulebook: Rulebook) -> str:
    if not rulebook.findings:
        return ""
    lines = [_title("Notices about the reference data")]
    lines.extend(f"- [{f.severity.value}] {f.code}: {f.message}  ({f.source})"
                 for f in rulebook.findings)
    return "\n".join(lines)
