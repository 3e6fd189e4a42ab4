"""Banding over counts: DOMAIN.md §Banding worked examples and the invariants, by property."""

from hypothesis import given
from hypothesis import strategies as st

from decimal import Decimal

from reconcile.calculate.banding import (
    allocate_bands,
    allocate_statements,
    bands_in_order,
)
from reconcile.rulebook.schema import Band


def band_capacity(low: int, high: int) -> int:
    """The capacity of a contract band from its min and max (the rulebook's Band)."""
    return Band("A", low, high, Decimal(1), Decimal(60), Decimal(40)).capacity


SEED_BANDS = (band_capacity(0, 2000), band_capacity(2001, 4000), band_capacity(4001, 5175))
BANDS_OF_TWO = (band_capacity(0, 2), band_capacity(3, 4), band_capacity(5, 6), band_capacity(7, 8))


def test_capacity_is_max_minus_min_at_least_one_plus_one():
    assert SEED_BANDS == (2000, 2000, 1175)
    assert BANDS_OF_TWO == (2, 2, 2, 2)
    assert band_capacity(1, 2000) == 2000  # min 0 and min 1 hold the same


def test_seed_example_previous_2100_current_2000():
    # seed 002 "Working with participant bands": A 0, B 1900, C 100
    allocation = allocate_bands(SEED_BANDS, 2100, 0, 2000, 0)
    assert allocation.previous_fill == (2000, 100, 0)
    assert allocation.additions == (0, 1900, 100)
    assert allocation.unpaid == 0


def test_ecf_bands_of_two_previous_four_current_three():
    allocation = allocate_bands(BANDS_OF_TWO, 4, 0, 3, 0)
    assert allocation.additions == (0, 0, 2, 1)


def test_ecf_bands_of_two_nine_with_no_previous_leaves_one_unpaid():
    allocation = allocate_bands(BANDS_OF_TWO, 0, 0, 9, 0)
    assert allocation.additions == (2, 2, 2, 2)
    assert allocation.unpaid == 1


def test_refunds_come_off_current_additions_top_down_first():
    # previous 3 (A 2, B 1); current 2 billable (B 1, C 1) and 1 refundable:
    # the refund comes off this statement's C addition
    allocation = allocate_bands(BANDS_OF_TWO, 3, 0, 2, 1)
    assert allocation.additions == (0, 1, 1, 0)
    assert allocation.subtractions == (0, 0, 1, 0)


def test_clawback_larger_than_current_additions_comes_off_previous_fill_top_down():
    # previous 5 (A 2, B 2, C 1); current 1 billable (C) and 4 refunds:
    # C 2 (the addition, then the previous C), B 2
    allocation = allocate_bands(BANDS_OF_TWO, 5, 0, 1, 4)
    assert allocation.previous_fill == (2, 2, 1, 0)
    assert allocation.additions == (0, 0, 1, 0)
    assert allocation.subtractions == (0, 2, 2, 0)
    assert allocation.fill == (2, 0, 0, 0)
    assert allocation.unmatched_refunds == 0


def test_previous_refunds_lower_the_previous_fill():
    # previous billable 6, previous refundable 2 -> fill 4 (A 2, B 2); 1 new goes to C
    allocation = allocate_bands(BANDS_OF_TWO, 6, 2, 1, 0)
    assert allocation.previous_fill == (2, 2, 0, 0)
    assert allocation.additions == (0, 0, 1, 0)


def test_refunds_with_nothing_to_come_off_are_reported_not_negative():
    allocation = allocate_bands(BANDS_OF_TWO, 0, 0, 1, 3)
    assert allocation.subtractions == (1, 0, 0, 0)
    assert allocation.unmatched_refunds == 2


def test_over_capacity_counts_still_fill_but_refund_from_full_top_band():
    # 9 billed (1 unpaid) then 1 refund: DfE takes it off band D (previous 9 fills all 8)
    first, second = allocate_statements(BANDS_OF_TWO, [(9, 0), (0, 1)])
    assert first.unpaid == 1
    assert second.previous_fill == (2, 2, 2, 2)
    assert second.subtractions == (0, 0, 0, 1)


def test_open_ended_last_band_takes_everything():
    allocation = allocate_bands((2, None), 1, 0, 100, 0)
    assert allocation.additions == (1, 99)
    assert allocation.unpaid == 0


def test_bands_in_order():
    assert bands_in_order((0, 1900, 100))[:1] == [1]
    assert bands_in_order((0, 0, 2, 1)) == [2, 2, 3]
    assert bands_in_order((0, 2, 1, 0), top_down=True) == [2, 1, 1]


capacities_st = st.lists(st.integers(0, 6), min_size=1, max_size=4).map(tuple)
count_st = st.integers(0, 30)


@given(capacities_st, count_st, count_st, count_st, count_st)
def test_invariants_of_one_allocation(capacities, prev_b, prev_r, cur_b, cur_r):
    prev_r = min(prev_r, prev_b)  # a refund is of something billed before
    a = allocate_bands(capacities, prev_b, prev_r, cur_b, cur_r)
    for i, capacity in enumerate(capacities):
        # additions never exceed the room left after the previous fill
        assert 0 <= a.additions[i] <= capacity - a.previous_fill[i]
        # refunds never push a band below zero
        assert 0 <= a.subtractions[i] <= a.previous_fill[i] + a.additions[i]
        assert a.fill[i] >= 0
    # counts conserved: paid + unpaid = billable; matched + unmatched = refundable
    assert sum(a.additions) + a.unpaid == cur_b
    assert sum(a.subtractions) + a.unmatched_refunds == cur_r
    # the previous fill is previous billable − refundable, capped at the total capacity
    assert sum(a.previous_fill) == min(prev_b - prev_r, sum(capacities))
    # nothing is unpaid while there is room
    if a.unpaid:
        assert sum(a.previous_fill) + sum(a.additions) == sum(capacities)


@given(capacities_st, count_st, count_st, count_st, count_st)
def test_bands_fill_from_a_upward(capacities, prev_b, prev_r, cur_b, cur_r):
    prev_r = min(prev_r, prev_b)
    a = allocate_bands(capacities, prev_b, prev_r, cur_b, cur_r)
    occupied = [p + x for p, x in zip(a.previous_fill, a.additions)]
    # a band holds anything only when every band below it is full
    for i in range(1, len(capacities)):
        if occupied[i]:
            assert all(occupied[j] == capacities[j] for j in range(i))
    # subtractions are taken from the top: a band gives anything back only when
    # every band above it has given back all it held
    for i in range(len(capacities) - 1):
        if a.subtractions[i]:
            assert all(a.subtractions[j] == occupied[j] for j in range(i + 1, len(capacities)))


@given(capacities_st, st.lists(st.tuples(count_st, count_st), max_size=6))
def test_a_run_of_statements_keeps_the_fill_consistent(capacities, counts):
    allocations = allocate_statements(capacities, counts)
    billed = refunded = 0
    for allocation, (billable, refundable) in zip(allocations, counts):
        assert sum(allocation.previous_fill) == min(max(billed - refunded, 0), sum(capacities))
        billed += billable
        refunded += refundable
