"""Money policy: every amount is a :class:`~decimal.Decimal`, never a float.

This module is the one place that knows how money is built, rounded and shown:

* amounts are built from text (``Decimal(str(x))``), ints or Decimals; a float is
  refused, because ``Decimal(0.1)`` is not 0.1;
* rounding is half up to the penny, and happens only where a figure is shown or
  compared: a statement *line* is rounded once (:func:`line_amount`) and totals are
  sums of rounded lines, so a spreadsheet's ``=SUM()`` equals our total exactly;
* percentages in the rules are written as numbers of per cent (``20`` = 20%);
* the rules engine cannot take Decimals, so money crosses into it as integer pence.

>>> line_amount(3, Decimal("119.40"))
Decimal('358.20')
>>> show(Decimal("1086.2068965"))
'1086.21'
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

PENNY = Decimal("0.01")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d*)?$")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


class MoneyError(ValueError):
    """A value that cannot be read as money (the caller adds where it came from)."""


def to_decimal(value: object) -> Decimal:
    """An exact Decimal from text, int or Decimal; floats and junk are refused.

    Text may carry a leading ``£``, thousands separators and surrounding spaces
    ("£1,234.50"), as people type it in spreadsheets.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise MoneyError(f"{value!r} is not a finite amount")
        return value
    if isinstance(value, bool):
        raise MoneyError(f"{value!r} is not an amount")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        # Spreadsheet readers hand us floats for numeric cells; repr() is the
        # shortest text that round-trips, which is what the user typed.
        if not math.isfinite(value):
            raise MoneyError(f"{value!r} is not a finite amount")
        return Decimal(repr(value))
    if isinstance(value, str):
        text = value.strip().replace("£", "").replace(" ", "")
        if text.startswith("(") and text.endswith(")"):  # accounting negative
            text = "-" + text[1:-1]
        if "," in text:
            # only real thousands separators: "1,234.50"; "9,66" or "1,0,0" is a typo
            # (or a decimal comma) and must not silently become 966 or 100
            if not _THOUSANDS.match(text):
                raise MoneyError(f"{value!r} is not an amount (commas only between "
                                 "thousands, e.g. 1,234.50; the decimal point is '.')")
            text = text.replace(",", "")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not an amount") from None
        if not result.is_finite():
            raise MoneyError(f"{value!r} is not a finite amount")
        return result
    raise MoneyError(f"{value!r} is not an amount")


def round_money(amount: Decimal) -> Decimal:
    """Half up to the penny: the only rounding of money in the program."""
    with localcontext() as ctx:
        ctx.prec = 40
        return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def line_amount(count: int, fee: Decimal) -> Decimal:
    """A statement line: ``count`` declarations at ``fee`` each, rounded once."""
    return round_money(fee * count)


def percent_of(amount: Decimal, percentage: Decimal) -> Decimal:
    """``percentage`` per cent of ``amount``, exact (no rounding)."""
    return amount * percentage / HUNDRED


def show(amount: Decimal | None) -> str | None:
    """The text of an amount in JSON and messages: exactly two decimals."""
    if amount is None:
        return None
    return f"{round_money(amount):.2f}"


def pounds(amount: Decimal | None) -> str:
    """An amount for people: ``£1,234.50`` / ``-£12.00``."""
    if amount is None:
        return "-"
    rounded = round_money(amount)
    sign = "-" if rounded < 0 else ""
    return f"{sign}£{abs(rounded):,.2f}"


def described(amount: Decimal) -> str:
    """An amount for a message, never failing: :func:`pounds`, or as written when it
    is too large to round to pennies (``£1E+999``: a refused input).

    >>> described(Decimal("1e9")), described(Decimal("1e999"))
    ('£1,000,000,000.00', '£1E+999')
    """
    if amount.is_finite() and amount.adjusted() < 16:
        return pounds(amount)
    return f"£{amount}"



def split_exactly(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Divide ``total`` (whole pennies) in proportion to ``weights``, to the penny.

    Largest remainder: each share is rounded down to a penny, then the pennies left
    over go to the largest remainders (ties to the earliest), so the shares always
    add up to ``total`` exactly and the result is deterministic.

    >>> split_exactly(Decimal("10.00"), [Decimal(1), Decimal(1), Decimal(1)])
    [Decimal('3.34'), Decimal('3.33'), Decimal('3.33')]
    """
    if not weights:
        return []
    total_pence = int(round_money(total) * 100)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        shares = [0] * len(weights)
        shares[0] = total_pence
        return [Decimal(p) / 100 for p in shares]
    sign = -1 if total_pence < 0 else 1
    magnitude = abs(total_pence)
    with localcontext() as ctx:
        ctx.prec = 50
        exact = [Decimal(magnitude) * w / weight_sum for w in weights]
    floors = [int(e) for e in exact]
    left = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(Decimal(sign * p) / 100).quantize(PENNY) for p in floors]


def prorate_exactly(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Divide ``total`` (whole pennies) in proportion to *signed* ``weights``, to the penny.

    For a remittance paying DfE's net in proportion to the expected split, where a
    partner's share can be negative (more clawed back than earned). Each exact share
    ``total × weight / Σ weights`` is rounded down (towards minus infinity), then the
    pennies left over go to the largest remainders (ties to the earliest), so the
    shares add up to ``total`` exactly. The weights must not sum to zero.

    >>> prorate_exactly(Decimal("100.00"), [Decimal("150"), Decimal("-50")])
    [Decimal('150.00'), Decimal('-50.00')]
    >>> prorate_exactly(Decimal("10.00"), [Decimal(1), Decimal(1), Decimal(1)])
    [Decimal('3.34'), Decimal('3.33'), Decimal('3.33')]
    """
    weight_sum = sum(weights, Decimal(0))
    if weight_sum == 0:
        raise ValueError("cannot prorate over weights that sum to zero")
    total_pence = int(round_money(total) * 100)
    with localcontext() as ctx:
        ctx.prec = 60
        exact = [Decimal(total_pence) * w / weight_sum for w in weights]
    floors = [math.floor(e) for e in exact]
    left = total_pence - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(Decimal(p) / 100).quantize(PENNY) for p in floors]
