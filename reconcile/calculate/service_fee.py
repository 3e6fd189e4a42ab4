"""Service fee: the monthly fixed payment of a contract (stage: calculate).

In: a contract's bands, recruitment target, set-up fee and optional monthly
override; the selected policy of ``rules/service_fee.yaml``; the statement's
month of the contract (month 1 = the cohort's first calendar statement).
Out: the exact (unrounded) service fee of that statement; the statement line is
``money.round_money`` of it.

The figures (docs/rules.md "service_fee.yaml"):

* the *total* service fee = Σ over bands of (participants of the recruitment
  target falling in the band, A upward) × band price × band service-fee %;
* the total less the set-up deduction = min(target, A capacity) × set_up_fee /
  A capacity ("spread over band A") is divided in *tranches*: DfE (ECF/RECT)
  divides it by 29, monthly = (total − set-up deduction) / 29, and pays that on
  **every** statement of the cohort's calendar (34 for cohort 2021: 29 is only the
  divisor, ECF ``statement_calculator.rb``); the guidance's profile pays 90% over
  29 months and 10% over 40 *by month position*, so months 1–29 get 3.353…%,
  months 30–40 0.25% and later months nothing;
* a contract's ``monthly_service_fee`` wins over either (docs/domain.md);
* recruitment under a threshold of the target (75% in the seed) may reduce the
  fee: the *method* is a rule parameter (``none`` = pay in full and say so,
  ``pro_rata`` = fee × recruited / target).

RECT's worked example: price £800, 40% service, set-up £500, band A capacity
100, target 100 → (32,000 − 500) / 29 = £1,086.21 a month.

The policy itself (tranches, ``paid_on``, the set-up deduction, the under-target
rule) is the rulebook's :class:`~reconcile.rulebook.schema.ServiceFeeFile`, read as
it is validated: its :meth:`~reconcile.rulebook.schema.ServiceFeePolicy.monthly_amount`
is the one month share ``rules show`` prints and the calculation pays.

>>> from decimal import Decimal as D
>>> from reconcile.rulebook.schema import Band
>>> bands = (Band("A", 0, 100, D(800), D(60), D(40)),)
>>> total_service_fee(bands, 100) - set_up_deduction(bands, 100, D(500)) == D(31500)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from reconcile.money import HUNDRED
from reconcile.rulebook.schema import Band, ServiceFeeFile, UnderTarget

ZERO = Decimal(0)


def target_in_bands(bands: Sequence[Band], target: int) -> list[int]:
    """The recruitment target spread over the bands A upward, by capacity.

    >>> from decimal import Decimal as D
    >>> two = (Band("A", 1, 100, D(1), D(60), D(40)), Band("B", 101, 200, D(1), D(60), D(40)))
    >>> target_in_bands(two, 150)
    [100, 50]
    """
    result = []
    left = max(target, 0)
    for band in bands:
        take = min(band.capacity, left)
        result.append(take)
        left -= take
    return result


def total_service_fee(bands: Sequence[Band], target: int) -> Decimal:
    """Σ over bands of target participants in the band × price × service %, exact."""
    total = ZERO
    for band, participants in zip(bands, target_in_bands(bands, target)):
        total += band.service_price * participants
    return total


def set_up_deduction(bands: Sequence[Band], target: int, set_up_fee: Decimal) -> Decimal:
    """min(target, A capacity) × set_up_fee / A capacity (docs/rules.md: spread over
    band A).

    >>> from decimal import Decimal as D
    >>> set_up_deduction((Band("A", 0, 100, D(800), D(60), D(40)),), 50, D(500))
    Decimal('250')
    """
    if not set_up_fee or not bands:
        return ZERO
    capacity = bands[0].capacity
    if capacity == 0:
        # a band A without participants has no "per participant" share: all of it goes
        return set_up_fee
    return min(max(target, 0), capacity) * set_up_fee / capacity


def recruitment_below_threshold(recruited: int, target: int, under: UnderTarget) -> bool:
    """True when recruitment is under the rules' threshold of the target."""
    if not target:
        return False
    return recruited * HUNDRED < target * under.threshold_percentage


def monthly_service_fee(month: int, *, bands: Sequence[Band], target: int,
                        set_up_fee: Decimal, monthly_override: Decimal | None,
                        rules: ServiceFeeFile, recruited: int | None = None) -> Decimal:
    """The exact service fee of the ``month``-th statement of a contract's calendar.

    Under ``paid_on: every_statement`` (DfE) every statement carries it; under
    ``month_position`` nothing is paid after the longest tranche. ``recruited`` (net
    started participants) matters only for the ``pro_rata`` reduction, when it is
    under the threshold: fee × recruited / target.
    """
    policy = rules.policy
    if month < 1 or (policy.paid_on != "every_statement"
                     and month > policy.number_of_payments):
        return ZERO
    if monthly_override is not None and rules.contract_monthly_fee_wins:
        fee = monthly_override
    else:
        total = total_service_fee(bands, target)
        if policy.set_up_fee_deduction != "none":
            total -= set_up_deduction(bands, target, set_up_fee)
        fee = policy.monthly_amount(total, month)
    under = rules.under_target
    if (recruited is not None and under.reduction == "pro_rata"
            and recruitment_below_threshold(recruited, target, under)):
        fee = fee * max(recruited, 0) / target
    return fee
