"""Banding: which band each declaration of a statement is paid in (stage: calculate).

In: the capacities of a contract's bands (A upward) and, for one declaration type
on one statement, four counts: billable and refundable on the *previous*
statements of the same provider and cohort, billable and refundable on this one.
Out: a :class:`BandAllocation` — additions and subtractions per band, the
billable declarations past the last band (unpaid) and the refunds with nothing
left to come off.

The method is docs/domain.md "Banding", the same as DfE's two services (ECF
``banding_calculator.rb``, RECT ``band_allocator.rb``):

1. previous fill = previous billable − previous refundable, filling A upward
   (``rules/banding.yaml`` ``previous_fill: ecf``; ``rect`` caps the previous
   billable at the bands' capacity before removing the refunds);
2. this statement's billable declarations fill the remaining capacity A upward
   (the *additions*); what does not fit past the last band is not paid;
3. this statement's refundable declarations come off this statement's additions
   top band down, then off the previous fill top band down (the *subtractions*,
   paid back at that band's fee). Additions always sit above the previous fill,
   so this is one top-down pass over previous fill + additions.

Counts only: no money and no declarations here, so it is cheap to run per
(statement, declaration type) and easy to test exhaustively.

>>> a = allocate_bands((2000, 2000, 1175), 2100, 0, 2000, 0)   # the seed's example
>>> a.additions
(0, 1900, 100)
>>> allocate_bands((2, 2, 2, 2), 4, 0, 3, 0).additions     # ECF's bands of two
(0, 0, 2, 1)
>>> allocate_bands((2, 2, 2, 2), 0, 0, 9, 0).unpaid
1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class BandAllocation(NamedTuple):
    """One declaration type on one statement, in counts per band (A first)."""

    previous_fill: tuple[int, ...]
    additions: tuple[int, ...]
    subtractions: tuple[int, ...]
    unpaid: int  # this statement's billable declarations past the last band
    unmatched_refunds: int  # refunds with nothing (previous fill or additions) to come off

    @property
    def fill(self) -> tuple[int, ...]:
        """Fill after this statement: previous fill + additions − subtractions."""
        return tuple(p + a - s for p, a, s in
                     zip(self.previous_fill, self.additions, self.subtractions))


def _fill_upward(capacities: Sequence[int | None], count: int,
                 already: Sequence[int] | None = None) -> tuple[list[int], int]:
    """Put ``count`` into the bands A upward on top of ``already``; return (per band, left)."""
    placed = []
    for i, capacity in enumerate(capacities):
        room = count if capacity is None else capacity - (already[i] if already else 0)
        take = min(max(room, 0), count)
        placed.append(take)
        count -= take
    return placed, count


def previous_fill_count(capacities: Sequence[int | None], previous_billable: int,
                        previous_refundable: int, policy: str = "ecf") -> int:
    """How many places the earlier statements fill (laid over the bands A upward).

    ``ecf``: earlier billable − earlier refundable (ECF ``banding_calculator.rb``
    ``previous_fill_level``); ``rect``: the earlier billable capped at the bands'
    capacity first, then the earlier refunds removed (RECT ``band_allocator.rb`` steps
    1 and 2, ``band_allocation.rb``). They differ only after a statement that went over
    capacity: 8 places, 10 earlier billable, 2 earlier refunds -> ecf 8, rect 6.

    >>> previous_fill_count((2, 2, 2, 2), 10, 2), previous_fill_count((2, 2, 2, 2), 10, 2, "rect")
    (8, 6)
    """
    billable = previous_billable
    if policy == "rect" and None not in capacities:
        billable = min(billable, sum(c for c in capacities if c is not None))
    return max(billable - previous_refundable, 0)


def allocate_bands(capacities: Sequence[int | None], previous_billable: int,
                   previous_refundable: int, current_billable: int,
                   current_refundable: int, previous_fill: str = "ecf") -> BandAllocation:
    """Additions and subtractions per band for one type on one statement (docs/domain.md "Banding").

    ``capacities`` are the bands' capacities A upward
    (:attr:`reconcile.rulebook.schema.Band.capacity`; ``None`` = no upper end); they are the bands of the statement being calculated, so
    the earlier fill, a count, is laid over them (ECF does the same: a band added by a
    later contract version just works). All counts are non-negative. ``previous_fill``
    is the policy of :func:`previous_fill_count`.

    >>> allocate_bands((2, 2, 2, 2), 4, 0, 1, 3)     # refunds: C (the addition), then B, B
    BandAllocation(previous_fill=(2, 2, 0, 0), additions=(0, 0, 1, 0), subtractions=(0, 2, 1, 0), unpaid=0, unmatched_refunds=0)
    """
    for name, value in (("previous_billable", previous_billable),
                        ("previous_refundable", previous_refundable),
                        ("current_billable", current_billable),
                        ("current_refundable", current_refundable)):
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    # A refund is always of a declaration billed earlier, so previous billable ≥
    # previous refundable in consistent data; a clawback dated before its payment
    # would make it negative, which fills nothing (never a negative band).
    filled, _over = _fill_upward(capacities, previous_fill_count(
        capacities, previous_billable, previous_refundable, previous_fill))
    additions, unpaid = _fill_upward(capacities, current_billable, filled)
    subtractions = [0] * len(capacities)
    left = current_refundable
    for i in reversed(range(len(capacities))):
        if not left:
            break
        take = min(filled[i] + additions[i], left)
        subtractions[i] = take
        left -= take
    return BandAllocation(tuple(filled), tuple(additions), tuple(subtractions),
                          unpaid, left)


def allocate_statements(capacities: Sequence[int | None],
                        counts: Sequence[tuple[int, int]],
                        previous_fill: str = "ecf") -> list[BandAllocation]:
    """Allocate one declaration type over a contract's statements in payment-date order.

    ``counts[k]`` = (billable, refundable) on the k-th statement. The previous
    counts of statement k are the sums over statements 0..k-1 ("previous
    statements = same provider and cohort, earlier payment date").

    >>> [a.additions for a in allocate_statements((2, 2, 2, 2), [(4, 0), (3, 0)])]
    [(2, 2, 0, 0), (0, 0, 2, 1)]
    """
    previous_billable = previous_refundable = 0
    result = []
    for billable, refundable in counts:
        result.append(allocate_bands(capacities, previous_billable, previous_refundable,
                                     billable, refundable, previous_fill))
        previous_billable += billable
        previous_refundable += refundable
    return result


def bands_in_order(per_band: Sequence[int], *, top_down: bool = False) -> list[int]:
    """Band index of each declaration, in order: ``[0, 0, 1]`` for ``(2, 1)``.

    Additions are taken A upward (the first declarations in the statement's
    order get the lowest band); subtractions top band down.

    >>> bands_in_order((2, 1, 0)), bands_in_order((2, 1, 0), top_down=True)
    ([0, 0, 1], [1, 0, 0])
    """
    indexes = range(len(per_band) - 1, -1, -1) if top_down else range(len(per_band))
    result: list[int] = []
    for i in indexes:
        result.extend([i] * per_band[i])
    return result
