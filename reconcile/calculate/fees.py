"""Fees: what one declaration of a type earns in a band, and a statement's totals (stage: calculate).

In: a contract (INTERFACES.md §4) and the fee rules of ``rules/fees.yaml``
(output proportions per declaration type, mentor flat-rate proportions, VAT %).
Out: a :class:`FeeTable` per contract with the exact ``Decimal`` fee of every
(declaration type, band), the flat-rate mentor fee of every type and the uplift
amount; :func:`statement_totals` adds up a statement's rounded lines.

DOMAIN.md §Prices:

* banded output fee = proportion(type) × band price × band output % — for the
  seed's £1,000 participant: started £120, retained £90 × 4, completed £120,
  extended £90 (and £400 of service fee);
* mentor flat rate = proportion(type) × contract mentor ``payment_per_participant``
  (started 50%, completed 50%), no band, no service fee;
* uplift = the contract's ``uplift_amount`` per uplifted declaration;
* net = Σ rounded lines; VAT = VAT% of net, rounded once, when the provider is
  VAT chargeable; total = net + VAT.

>>> from decimal import Decimal as D
>>> banded_fee(D(1000), D(60), D(20)), banded_fee(D(1000), D(60), D(15))
(Decimal('120'), Decimal('90'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile.calculate.banding import band_capacity
from reconcile.calculate.service_fee import BandTerms
from reconcile.money import ZERO, percent_of, round_money, to_decimal


def banded_fee(per_participant: Decimal, output_percentage: Decimal,
               proportion: Decimal) -> Decimal:
    """Output fee of one declaration in a band: price × output % × proportion %, exact."""
    return percent_of(percent_of(per_participant, output_percentage), proportion)


def flat_rate_fee(payment_per_participant: Decimal, proportion: Decimal) -> Decimal:
    """Mentor flat-rate fee: payment per participant × proportion %, exact.

    >>> from decimal import Decimal as D
    >>> flat_rate_fee(D(1000), D(50))
    Decimal('500')
    """
    return percent_of(payment_per_participant, proportion)


def vat_on(net: Decimal, percentage: Decimal | None) -> Decimal:
    """VAT on a statement's net (already a sum of rounded lines), rounded once.

    >>> from decimal import Decimal as D
    >>> vat_on(D("1086.21"), D(20)), vat_on(D("1086.21"), None)
    (Decimal('217.24'), Decimal('0.00'))
    """
    if not percentage:
        return ZERO
    return round_money(percent_of(net, percentage))


class FeeTable(NamedTuple):
    """Every fee of one contract, computed once and shared by its declarations."""

    band_names: tuple[str, ...]
    capacities: tuple[int | None, ...]
    #: declaration type -> exact fee per band (A first); types without a
    #: proportion in fees.yaml are absent
    banded: Mapping[str, tuple[Decimal, ...]]
    #: declaration type -> exact mentor flat-rate fee (empty without a mentor block)
    flat_rate: Mapping[str, Decimal]
    uplift: Decimal | None
    vat_percentage: Decimal | None  # None when the provider is not VAT chargeable
    service_bands: tuple[BandTerms, ...]


def _decimal(value: Any, default: Decimal | None = None) -> Decimal | None:
    return default if value is None else to_decimal(value)


def fee_table(contract: Any, fees: Any) -> FeeTable:
    """The :class:`FeeTable` of a contract under the rulebook's ``fees``.

    ``contract`` is a rulebook ``Contract`` (``bands`` of ``Band(name, min, max,
    per_participant, output_payment_percentage, service_fee_percentage)``,
    ``uplift_amount``, ``mentor.payment_per_participant``, ``vat_chargeable``);
    ``fees`` the rulebook's fee rules (``proportions``,
    ``mentor_flat_rate_proportions``, ``vat_percentage`` and the band defaults
    ``band_split.output_payment_percentage`` / ``service_fee_percentage``).
    """
    split = getattr(fees, "band_split", fees)  # fees.yaml band_split: the band defaults
    default_output = _decimal(getattr(split, "output_payment_percentage", None))
    default_service = _decimal(getattr(split, "service_fee_percentage", None))
    names, capacities, prices, outputs, services = [], [], [], [], []
    for band in contract.bands:
        names.append(str(band.name))
        capacity = getattr(band, "capacity", None)
        capacities.append(capacity if capacity is not None
                          else band_capacity(band.min, band.max))
        prices.append(to_decimal(band.per_participant))
        outputs.append(_decimal(getattr(band, "output_payment_percentage", None),
                                default_output))
        services.append(_decimal(getattr(band, "service_fee_percentage", None),
                                 default_service))
    if any(o is None for o in outputs) or any(s is None for s in services):
        raise ValueError("band output/service percentages are missing from both the "
                         "contract and fees.yaml")  # the rulebook loader guarantees them
    banded = {
        declaration_type: tuple(banded_fee(price, output, to_decimal(proportion))
                                for price, output in zip(prices, outputs))
        for declaration_type, proportion in _items(fees.proportions)
    }
    mentor = getattr(contract, "mentor", None)
    flat_rate: dict[str, Decimal] = {}
    if mentor is not None:
        per_participant = to_decimal(mentor.payment_per_participant)
        flat_rate = {declaration_type: flat_rate_fee(per_participant, to_decimal(proportion))
                     for declaration_type, proportion
                     in _items(fees.mentor_flat_rate_proportions)}
    uplift = getattr(contract, "uplift_amount", None)
    return FeeTable(
        band_names=tuple(names), capacities=tuple(capacities), banded=banded,
        flat_rate=flat_rate, uplift=None if uplift is None else to_decimal(uplift),
        # the contract's VAT rate, else the rulebook's (RECT: the contract's applicable
        # rate, payment_calculator/banded.rb; ECF: 20% when VAT chargeable)
        vat_percentage=(to_decimal(fees.vat_percentage if contract.vat_rate is None
                                   else contract.vat_rate)
                        if contract.vat_chargeable else None),
        service_bands=tuple(BandTerms(c, p, s)
                            for c, p, s in zip(capacities, prices, services)),
    )


def _items(mapping: Mapping | Iterable | None) -> Iterable[tuple[str, Any]]:
    if mapping is None:
        return ()
    if isinstance(mapping, Mapping):
        return mapping.items()
    return mapping


def has_sub_penny(fee: Decimal) -> bool:
    """True when ``fee`` is not a whole number of pennies (the line must be split)."""
    return fee != round_money(fee)


class StatementTotals(NamedTuple):
    net: Decimal
    vat: Decimal
    total: Decimal


def statement_totals(line_amounts: Iterable[Decimal],
                     vat_percentage: Decimal | None) -> StatementTotals:
    """net = Σ rounded lines (signed), VAT on net rounded once, total = net + VAT.

    >>> from decimal import Decimal as D
    >>> statement_totals([D("1194.00"), D("-119.40"), D("1086.21")], D(20))
    StatementTotals(net=Decimal('2160.81'), vat=Decimal('432.16'), total=Decimal('2592.97'))
    """
    net = sum(line_amounts, ZERO)
    vat = vat_on(net, vat_percentage)
    return StatementTotals(net, vat, net + vat)
