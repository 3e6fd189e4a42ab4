"""Contract versions: which terms each statement is calculated with (stage: rules;
used by the calculation and by `rules show`).

In: a rulebook contract (its first terms and its later ``versions``, each starting
from a named statement) and the contract's calendar.
Out: the terms of every statement of the calendar, and a plain-words account of what
a new version changes.

DfE changes a contract's terms from a given statement on by a new contract version:
each ECF statement records the ``contract_version`` it is calculated with, and
one-off scripts made new versions and repointed the statements of a payment-date
range to them (ECF ``app/services/oneoffs/change_service_fees.rb``: the 2021
contracts' service fee ended from the October 2023 statements;
``oneoffs/add_band_c.rb``: a band C added by lowering band B's max, the recruitment
target raised to band C's max). The calculator of a statement reads that version's
bands, prices and fees; the banding fill of earlier statements is a count, laid over
the bands of the statement being calculated (``banding_calculator.rb``).

Example: versions from October 2023 (service fee 0) and April 2024 (band C added):
statements up to September 2023 get the first terms, October 2023 to March 2024 the
first version, April 2024 on the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reconcile.errors import Problem, RuleError
from reconcile.model import normal_name as normal
from reconcile.money import pounds


def terms_by_statement(contract: Any, names: Sequence[str]) -> tuple[Any, ...]:
    """The terms of each statement, the statements (by name) in payment-date order.

    A version's ``from`` must name one of the statements, each version later than
    the one before: the loader checks this against the rulebook's calendar; a
    calendar made from DfE's statements is checked here (a rules error, exit 2).

    >>> from types import SimpleNamespace as T
    >>> v = T(effective_from="May", source="c.yaml:9")
    >>> c = T(versions=(v,), source="c.yaml:1")
    >>> [t is v for t in terms_by_statement(c, ["March", "April", "May", "June"])]
    [False, False, True, True]
    """
    at = {normal(name): index for index, name in enumerate(names)}
    starts: list[int] = []
    problems: list[Problem] = []
    for version in contract.versions:
        index = at.get(normal(version.effective_from or ""))
        source = version.source
        if index is None:
            problems.append(Problem(source, (
                f"versions: {version.effective_from!r} is not a statement of this contract's "
                "calendar (DfE's statements)"),
                f"name the first statement with these terms, one of: {', '.join(names)}"))
        elif starts and index <= starts[-1]:
            problems.append(Problem(source, (
                f"versions: {version.effective_from} is not after {names[starts[-1]]}"),
                "list the versions in payment-date order, earliest first"))
        else:
            starts.append(index)
    if problems:
        raise RuleError(problems)
    result = []
    current, pending = contract, list(zip(starts, contract.versions))
    for index in range(len(names)):
        while pending and pending[0][0] <= index:
            current = pending.pop(0)[1]
        result.append(current)
    return tuple(result)


def _bands(terms: Any) -> str:
    return ", ".join(f"{b.name} {b.min:,}-{b.max:,} {pounds(b.per_participant)}"
                     for b in terms.bands)


def describe_change(before: Any, after: Any, service_fee_before: Decimal,
                    service_fee_after: Decimal) -> str:
    """What a new version changes, in words, money first (for the finding on its first
    statement).

    >>> from types import SimpleNamespace as T
    >>> from decimal import Decimal as D
    >>> old = T(bands=(), recruitment_target=10, set_up_fee=D(0), uplift_amount=D(100),
    ...         vat_chargeable=True, vat_rate=None, mentor=None, monthly_service_fee=None)
    >>> new = T(**{**vars(old), "monthly_service_fee": D(0)})
    >>> describe_change(old, new, D("1086.21"), D(0))
    'service fee £1,086.21 -> £0.00 (monthly service fee set to £0.00)'
    """
    parts = []
    if service_fee_after != service_fee_before:
        parts.append(f"service fee {pounds(service_fee_before)} -> {pounds(service_fee_after)}")
    terms = []
    if after.monthly_service_fee != before.monthly_service_fee:
        terms.append("monthly service fee " + (
            "calculated" if after.monthly_service_fee is None
            else f"set to {pounds(after.monthly_service_fee)}"))
    if after.bands != before.bands:
        terms.append(f"bands {_bands(before)} -> {_bands(after)}")
    if after.recruitment_target != before.recruitment_target:
        terms.append(f"recruitment target {before.recruitment_target:,} -> "
                     f"{after.recruitment_target:,}")
    if after.set_up_fee != before.set_up_fee:
        terms.append(f"set-up fee {pounds(before.set_up_fee)} -> {pounds(after.set_up_fee)}")
    if after.uplift_amount != before.uplift_amount:
        terms.append("uplift " + (f"{pounds(after.uplift_amount)} a start"
                                  if after.uplift_amount is not None else "none"))
    if (after.vat_chargeable, after.vat_rate) != (before.vat_chargeable, before.vat_rate):
        terms.append("VAT " + ("not chargeable" if not after.vat_chargeable else
                               f"{after.vat_rate.normalize():f}%" if after.vat_rate is not None
                               else "at the standard rate"))
    if after.mentor != before.mentor and after.mentor is not None:
        terms.append(f"mentor rate {pounds(after.mentor.payment_per_participant)}")
    text = "; ".join(parts)
    if terms:
        text += (" (" if text else "") + "; ".join(terms) + (")" if text else "")
    return text or "no term changes (a new version number only)"
