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
* a contract's ``monthly_service_fee`` wins over either (DOMAIN.md);
* recruitment under a threshold of the target (75% in the seed) may reduce the
  fee: the *method* is a rule parameter (``none`` = pay in full and say so,
  ``pro_rata`` = fee × recruited / target).

RECT's worked example: price £800, 40% service, set-up £500, band A capacity
100, target 100 → (32,000 − 500) / 29 = £1,086.21 a month.

>>> from decimal import Decimal as D
>>> bands = (BandTerms(100, D(800), D(40)),)
>>> monthly = payments_monthly_fee(bands, 100, D(500), 29)
>>> monthly == (D(32000) - D(500)) / 29
True
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

from reconcile.money import HUNDRED, percent_of

ZERO = Decimal(0)


class BandTerms(NamedTuple):
    """What the service fee needs of a band: capacity (None = open), price, service %."""

    capacity: int | None
    per_participant: Decimal
    service_fee_percentage: Decimal


class Tranche(NamedTuple):
    """A share of the total service fee paid evenly over months 1..``months``."""

    percentage: Decimal
    months: int


#: DfE's calculation (ECF, RECT): all of it over 29 monthly payments
DFE_29_PAYMENTS = (Tranche(Decimal(100), 29),)


class ServiceFeePolicy(NamedTuple):
    """The selected policy of ``rules/service_fee.yaml`` in the calculation's terms.

    ``tranches``: how the total is divided (DfE: 100% over 29 months; the seed:
    90% over 29 + 10% over 40). ``paid_on``: ``every_statement`` pays every
    statement of the cohort's calendar the monthly amount, the months being only the
    divisor (ECF ``statement_calculator.rb`` adds the service fee to every statement's
    total without looking at its position; 29 is the divisor
    ``NUMBER_OF_SERVICE_FEE_PAYMENTS``, RECT ``service_fees.rb`` ``NUMBER_OF_PAYMENTS``);
    ``month_position`` pays statement *n* the tranches covering month *n*, and nothing
    after the longest. ``deduct_set_up_fee``: the set-up fee deduction spread over band
    A. ``monthly_fee_wins``: a contract's ``monthly_service_fee`` replaces the
    calculated figure (on the same months). Under ``reduction_threshold_percentage``
    of the target, ``reduction_method`` ``pro_rata`` pays fee × recruited / target;
    ``none`` pays it in full (and the calculation says so).
    """

    tranches: tuple[Tranche, ...] = DFE_29_PAYMENTS
    deduct_set_up_fee: bool = True
    monthly_fee_wins: bool = True
    reduction_threshold_percentage: Decimal | None = None
    reduction_method: str = "none"
    source: str = ""  # file of the selected policy, for messages
    paid_on: str = "every_statement"

    @property
    def number_of_payments(self) -> int:
        return max((t.months for t in self.tranches), default=0)


def target_in_bands(bands: Sequence[BandTerms], target: int) -> list[int]:
    """The recruitment target spread over the bands A upward, by capacity.

    >>> target_in_bands((BandTerms(100, 1, 40), BandTerms(100, 1, 40)), 150)
    [100, 50]
    """
    result = []
    left = max(target, 0)
    for band in bands:
        take = left if band.capacity is None else min(band.capacity, left)
        result.append(take)
        left -= take
    return result


def total_service_fee(bands: Sequence[BandTerms], target: int) -> Decimal:
    """Σ over bands of target participants in the band × price × service %, exact."""
    total = ZERO
    for band, participants in zip(bands, target_in_bands(bands, target)):
        total += percent_of(band.per_participant, band.service_fee_percentage) * participants
    return total


def set_up_deduction(bands: Sequence[BandTerms], target: int, set_up_fee: Decimal) -> Decimal:
    """min(target, A capacity) × set_up_fee / A capacity (DOMAIN.md: spread over band A).

    >>> from decimal import Decimal as D
    >>> set_up_deduction((BandTerms(100, D(800), D(40)),), 50, D(500))
    Decimal('250')
    """
    if not set_up_fee or not bands:
        return ZERO
    capacity = bands[0].capacity
    if capacity is None or capacity == 0:
        # an open band A has no "per participant" share: the whole fee is deducted
        return set_up_fee
    return min(max(target, 0), capacity) * set_up_fee / capacity


def payments_monthly_fee(bands: Sequence[BandTerms], target: int, set_up_fee: Decimal,
                         payments: int, deduct_set_up_fee: bool = True) -> Decimal:
    """ECF/RECT: (total − set-up deduction) / number of payments, exact."""
    deduction = set_up_deduction(bands, target, set_up_fee) if deduct_set_up_fee else ZERO
    return (total_service_fee(bands, target) - deduction) / payments


def _pays(tranche: Tranche, month: int, paid_on: str) -> bool:
    """Whether ``tranche`` pays on the statement of position ``month`` (1-based)."""
    if paid_on == "every_statement":
        return month >= 1
    return 1 <= month <= tranche.months


def profile_share(month: int, tranches: Sequence[Tranche],
                  paid_on: str = "month_position") -> Decimal:
    """The fraction (0..1) of the total service fee paid in ``month`` (1-based).

    >>> from decimal import Decimal as D
    >>> seed = (Tranche(D(90), 29), Tranche(D(10), 40))
    >>> round(profile_share(1, seed) * 100, 3), profile_share(30, seed) * 100, profile_share(41, seed)
    (Decimal('3.353'), Decimal('0.2500'), Decimal('0'))
    >>> profile_share(34, (Tranche(D(100), 29),), "every_statement") == D(1) / 29
    True
    """
    return sum((t.percentage / (HUNDRED * t.months) for t in tranches
                if _pays(t, month, paid_on)), ZERO)


def month_amount(total: Decimal, month: int, tranches: Sequence[Tranche],
                 paid_on: str = "month_position") -> Decimal:
    """The exact part of ``total`` paid in ``month``: Σ total × % / (100 × months).

    One division per tranche, so DfE's single tranche gives exactly total / 29
    (a half penny stays a half penny and rounds up).
    """
    return sum((total * t.percentage / (HUNDRED * t.months) for t in tranches
                if _pays(t, month, paid_on)), ZERO)


def recruitment_below_threshold(recruited: int, target: int,
                                policy: ServiceFeePolicy) -> bool:
    """True when recruitment is under the policy's threshold of the target."""
    threshold = policy.reduction_threshold_percentage
    if threshold is None or not target:
        return False
    return recruited * HUNDRED < target * threshold


def monthly_service_fee(month: int, *, bands: Sequence[BandTerms], target: int,
                        set_up_fee: Decimal, monthly_override: Decimal | None,
                        policy: ServiceFeePolicy, recruited: int | None = None) -> Decimal:
    """The exact service fee of the ``month``-th statement of a contract's calendar.

    Under ``paid_on: every_statement`` (DfE) every statement carries it; under
    ``month_position`` nothing is paid after the longest tranche. ``recruited`` (net started participants) matters only for the ``pro_rata``
    reduction, when it is under the threshold: fee × recruited / target.
    """
    if month < 1 or (policy.paid_on != "every_statement"
                     and month > policy.number_of_payments):
        return ZERO
    if monthly_override is not None and policy.monthly_fee_wins:
        fee = monthly_override
    else:
        total = total_service_fee(bands, target)
        if policy.deduct_set_up_fee:
            total -= set_up_deduction(bands, target, set_up_fee)
        fee = month_amount(total, month, policy.tranches, policy.paid_on)
    if (recruited is not None and policy.reduction_method == "pro_rata"
            and recruitment_below_threshold(recruited, target, policy)):
        fee = fee * max(recruited, 0) / target
    return fee
