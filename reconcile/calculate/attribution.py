"""Attribution: what each declaration earns on a statement, adding up exactly (stage: calculate).

In: the declarations of one statement line (ordered by the banding policy of
``rules/banding.yaml``), the line's exact fee and rounded amount.
Out: the per-declaration amounts, which add up to the line's amount *exactly*,
so delivery partners (docs/domain.md "What users need") can be paid to the penny.

Two methods, chosen by ``rules/banding.yaml`` (``attribution``):

* ``band`` — each declaration gets the fee of the band it fell in. A line's
  amount is ``money.line_amount(count, fee)``; when the fee has sub-penny parts
  (e.g. £1,234.57 × 60% × 15% = £111.1113) the rounded amount is divided with
  :func:`split_evenly` (largest remainder; the extra pennies go to the first
  declarations in the statement's order), so the shares are deterministic and sum
  exactly;
* ``blended`` — every paid declaration of a (statement, participant type,
  declaration type) gets the same share of the lines' total, whatever its band
  (the "line-weighted average fee"), again summing exactly.

>>> from decimal import Decimal as D
>>> split_evenly(D("333.33"), 3)
[Decimal('111.11'), Decimal('111.11'), Decimal('111.11')]
>>> line_shares(3, D("111.1117"))  # line 333.3351 -> 333.34
[Decimal('111.12'), Decimal('111.11'), Decimal('111.11')]
"""

from __future__ import annotations

from decimal import Decimal

from reconcile.money import PENNY, line_amount, round_money

def split_evenly(total: Decimal, count: int) -> list[Decimal]:
    """``total`` (whole pennies) in ``count`` equal shares to the penny, summing exactly.

    The same result as ``money.split_exactly(total, [1] * count)`` (largest
    remainder, ties to the earliest) without per-share Decimal arithmetic, so a
    line of 100,000 declarations costs next to nothing.
    """
    if count <= 0:
        return []
    pence = int(round_money(total) * 100)
    sign = -1 if pence < 0 else 1
    base, extra = divmod(abs(pence), count)
    low = (Decimal(sign * base) / 100).quantize(PENNY)
    if not extra:
        return [low] * count
    high = (Decimal(sign * (base + 1)) / 100).quantize(PENNY)
    return [high] * extra + [low] * (count - extra)


def line_shares(count: int, fee: Decimal) -> list[Decimal]:
    """Each declaration's share of a line of ``count`` at ``fee`` (signed), summing exactly."""
    if fee == round_money(fee):
        return [fee] * count
    return split_evenly(line_amount(count, fee), count)
