"""Attribution: every declaration's share, adding up exactly to its statement's lines."""

from collections import defaultdict
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from reconcile import money
from reconcile.calculate import calculate
from reconcile.calculate.attribution import line_shares, split_evenly

from tests.builders import LP, band, contract, decl, labelled, six_months


@given(st.integers(-10**7, 10**7), st.integers(1, 60))
def test_split_evenly_is_split_exactly_with_equal_weights(pence, count):
    total = D(pence) / 100
    assert split_evenly(total, count) == money.split_exactly(total, [D(1)] * count)


@given(st.integers(1, 10**6), st.integers(0, 9999), st.integers(1, 80), st.booleans())
def test_line_shares_sum_to_the_rounded_line(pounds, ten_thousandths, count, negative):
    fee = D(pounds) / 100 + D(ten_thousandths) / 1_000_000
    fee = -fee if negative else fee
    shares = line_shares(count, fee)
    assert sum(shares) == money.line_amount(count, fee)
    assert all(abs(s - fee) < D("0.01") for s in shares)  # nobody is off by a penny or more


def sums_by_statement(calc):
    got = defaultdict(lambda: defaultdict(lambda: D(0)))
    for a in calc.attributions:
        got[a.statement][a.kind] += a.fee
        got[a.statement][a.kind + " uplift"] += a.uplift
    return got


def assert_attributions_add_up(calc):
    got = sums_by_statement(calc)
    for s in calc.statements:
        mine = got.get(s.key, {})
        assert mine.get("output", 0) == sum(ln.amount for ln in s.output_payments)
        assert mine.get("clawback", 0) == sum(ln.amount for ln in s.clawbacks)
        assert mine.get("output uplift", 0) == s.uplift.amount
        assert mine.get("clawback uplift", 0) == s.uplift_clawback.amount
        lines = [ln.amount for ln in (*s.output_payments, *s.clawbacks)]
        assert s.net == sum(lines, D(0)) + s.uplift.amount + s.uplift_clawback.amount \
            + s.service_fee + s.adjustments
        assert s.total == s.net + s.vat
        # lines are count × fee rounded once
        for ln in (*s.output_payments, *s.clawbacks):
            assert abs(ln.amount) == money.line_amount(ln.count, ln.fee_per_declaration)


MONTHS = ("2024-01-05", "2024-02-10", "2024-04-05", "2024-05-20", "2024-06-10")
CLAWBACK_ON = (None, "May 2024", "July 2024")
TYPES = ("started", "retained-1", "completed")

declaration_st = st.tuples(
    st.sampled_from(TYPES), st.sampled_from(MONTHS), st.sampled_from(("ect", "mentor")),
    st.sampled_from(("billable", "refundable")), st.booleans(), st.sampled_from(CLAWBACK_ON),
    st.integers(1, 28))


@settings(max_examples=60, deadline=None)
@given(st.lists(declaration_st, min_size=1, max_size=40),
       st.lists(st.integers(1, 7), min_size=1, max_size=4),
       st.lists(st.integers(10000, 150000), min_size=4, max_size=4),
       st.sampled_from(("band", "blended")))
def test_attributed_amounts_sum_exactly_to_the_statement_lines(rows, capacities, pence,
                                                               method):
    # odd prices (£100.00-£1,500.00 to the penny) make sub-penny fees: 15% of 60%
    bands, low = [], 1
    for n, (capacity, price) in enumerate(zip(capacities, pence)):
        bands.append(band("ABCD"[n], low, low + capacity - 1, D(price) / 100))
        low += capacity
    terms = contract(LP, 2023, tuple(bands), recruitment_target=10, vat_chargeable=True,
                        uplift_amount=D("100.01"))
    pairs = []
    for n, (dtype, created, ptype, label, uplift, back, day) in enumerate(rows):
        labels = label + (" uplift" if uplift and dtype == "started" else "")
        pairs.append((decl(f"d{n:03}", dtype, ptype=ptype, created=created,
                           date=f"2024-01-{day:02}", clawback_statement_name=back,
                           state="paid" if label == "billable" else "clawed-back"), labels))
    declarations, evaluation = labelled(*pairs)
    calc = calculate(declarations, evaluation,
                     six_months(terms, banding={"attribution": method}))
    assert_attributions_add_up(calc)
    # every billable or refundable declaration is attributed on its payment statement,
    # and every refundable one once more on its clawback statement
    outputs = [a for a in calc.attributions if a.kind == "output"]
    clawbacks = [a for a in calc.attributions if a.kind == "clawback"]
    assert len(outputs) == len(rows)
    # ... except those paid on July 2024 (created in May or June) with no clawback
    # statement: no output-fee statement follows July in this calendar
    placed = [r for r in rows if r[3] == "refundable"
              and not (r[5] is None and r[1] in ("2024-05-20", "2024-06-10"))]
    assert len(clawbacks) == len(placed)
    # paid + unpaid = billable, per statement and type
    for s in calc.statements:
        paid = sum(ln.count for ln in s.output_payments)
        assert paid == sum(1 for a in outputs if a.statement == s.key and not a.unpaid)


def test_blended_gives_every_declaration_of_a_statement_and_type_the_same_share():
    # bands of two at £400/£300/£200: 5 started on one statement = A 2 × 48, B 2 × 36,
    # C 1 × 24 = £192 over 5 -> £38.40 each
    terms = contract(LP, 2023, (band("A", 0, 2, D(400)), band("B", 3, 4, D(300)),
                                   band("C", 5, 6, D(200))))
    declarations, evaluation = labelled(
        *[(decl(f"d{n}", created="2024-01-05"), "billable") for n in range(5)])
    calc = calculate(declarations, evaluation,
                     six_months(terms, banding={"attribution": "blended"}))
    assert [a.fee for a in calc.attributions] == [D("38.40")] * 5
    assert sorted(a.band for a in calc.attributions) == ["A", "A", "B", "B", "C"]
    assert_attributions_add_up(calc)


def test_sub_penny_fee_line_split_deterministically_in_banding_order():
    # £1,234.57 × 60% × 15% = £111.1113 a retained-1; 3 of them: 333.3339 -> £333.33;
    # 7 of them: 777.7791 -> £777.78 = 6 × 111.11 + 111.12: the first in order gets the penny
    terms = contract(LP, 2023, (band("A", 0, 100, D("1234.57")),))
    declarations, evaluation = labelled(
        *[(decl(f"d{n}", "retained-1", date=f"2024-01-{20 - n}", created="2024-01-25"),
           "billable") for n in range(7)])
    calc = calculate(declarations, evaluation, six_months(terms))
    [line] = next(s for s in calc.statements if s.output_payments).output_payments
    assert (line.fee_per_declaration, line.amount) == (D("111.1113"), D("777.78"))
    shares = {a.declaration_id: a.fee for a in calc.attributions}
    # d6 has the earliest declaration date, so it is first in the banding order
    assert shares["d6"] == D("111.12")
    assert sorted(v for k, v in shares.items() if k != "d6") == [D("111.11")] * 6
