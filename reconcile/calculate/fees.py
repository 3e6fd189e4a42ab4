"""Fees: what one declaration of a type earns in a band, and a statement's totals (stage: calculate).

In: a contract (README "Writing a contract") and the fee rules of ``rules/fees.yaml``
(output proportions per declaration type, mentor flat-rate proportions, VAT %).
Out: a :class:`FeeTable` per contract with the exact ``Decimal`` fee of every
(declaration type, band), the flat-rate mentor fee of every type and the uplift
amount; :func:`statement_totals` adds up a statement's rounded lines.

docs/domain.md "Prices":

* banded output fee = proportion(type) × band price × band output % — for the
  seed's £1,000 participant: started £120, retained £90 × 4, completed £120,
  extended £90 (and £400 of service fee);
* mentor flat rate = proportion(type) × contract mentor ``payment_per_participant``
  (started 50%, completed 50%), no band, no service fee;
* uplift = the contract's ``uplift_amount`` per uplifted declaration;
* net = Σ rounded lines; VAT = VAT% of net, rounded once, when the provider is
  VAT chargeable; total = net + VAT.

>>> from decimal import Decimal as D
>>> from reconcile.rulebook.schema import Band
>>> from reconcile.rulebook.load import load_rulebook
>>> fees = load_rulebook().fees
>>> band = Band("A", 0, 2000, D(1000), D(60), D(40))
>>> fees.output_fee(band, "started"), fees.output_fee(band, "retained-1")
(Decimal('120'), Decimal('90'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import NamedTuple

from reconcile.money import ZERO, percent_of, round_money
from reconcile.rulebook.schema import Band, Contract, FeesFile


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
    """Every fee of one contract's terms, computed once and shared by its declarations."""

    band_names: tuple[str, ...]
    capacities: tuple[int, ...]
    #: declaration type -> exact fee per band (A first); types without a
    #: proportion in fees.yaml are absent
    banded: Mapping[str, tuple[Decimal, ...]]
    #: declaration type -> exact mentor flat-rate fee (empty without a mentor block)
    flat_rate: Mapping[str, Decimal]
    uplift: Decimal | None
    vat_percentage: Decimal | None  # None when the provider is not VAT chargeable
    service_bands: tuple[Band, ...]


def fee_table(contract: Contract, fees: FeesFile) -> FeeTable:
    """The :class:`FeeTable` of a contract's terms under the rulebook's ``fees``.

    The bands' output and service percentages are resolved by the loader (the
    contract's, else ``fees.yaml`` ``band_split``); a band's fee for a declaration
    type is :meth:`FeesFile.output_fee`, a flat-rate mentor's :meth:`FeesFile.mentor_fee`.
    """
    bands = contract.bands
    banded = {declaration_type: tuple(fees.output_fee(band, declaration_type)
                                      for band in bands)
              for declaration_type in fees.proportions}
    flat_rate: dict[str, Decimal] = {}
    if contract.mentor is not None:
        per_participant = contract.mentor.payment_per_participant
        flat_rate = {declaration_type: fees.mentor_fee(per_participant, declaration_type)
                     for declaration_type in fees.mentor_flat_rate_proportions}
    return FeeTable(
        band_names=tuple(band.name for band in bands),
        capacities=tuple(band.capacity for band in bands),
        banded=banded, flat_rate=flat_rate, uplift=contract.uplift_amount,
        # the contract's VAT rate, else the rulebook's (RECT: the contract's applicable
        # rate, payment_calculator/banded.rb; ECF: 20% when VAT chargeable)
        vat_percentage=((fees.vat_percentage if contract.vat_rate is None
                         else contract.vat_rate) if contract.vat_chargeable else None),
        service_bands=bands,
    )


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
