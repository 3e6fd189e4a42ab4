"""A statement of 100 declarations, checked by hand from the per-declaration attributions.

Contract: bands A 1-30 £1,000, B 31-60 £800, C 61-90 £500 (60% output, 40%
service), target 90, uplift £100, VAT chargeable. Fees (DOMAIN.md §Prices):
started 20% of the output price = A £120, B £96, C £60; retained-1 15% = A £90,
B £72.

February 2024: 25 started (f00-f24) fill A 1-25; f01, f03, f20 and f21 have
the uplift.
May 2024, the statement of 100 declarations:
  * 50 new started (m00-m49, in declaration-date order): previous fill 25, so
    A gets 5 (m00-m04), B 30 (m05-m34), C 15 (m35-m49); m00-m09 have the uplift;
  * 45 retained-1: A 30, B 15;
  * 5 clawbacks of February's f20-f24 (2 of them with an uplift clawback): they
    come off the top of the fill, C (DOMAIN.md §Banding step 3), although they
    were paid in A.

By hand:
  output  started A 5 × 120 = 600; B 30 × 96 = 2,880; C 15 × 60 = 900
          retained-1 A 30 × 90 = 2,700; B 15 × 72 = 1,080          = 8,160
  clawback started C 5 × 60                                          = -300
  uplift 10 × 100 = 1,000; uplift clawback 2 × 100                  = 800 net
  service fee (30 × 400 + 30 × 320 + 30 × 200) / 29 = 27,600 / 29   = 951.72
  net 8,160 - 300 + 1,000 - 200 + 951.72 = 9,611.72; VAT 20% 1,922.34;
  total 11,534.06.
Delivery partner "north" delivers every started declaration, "south" every
retained-1: north 600 + 2,880 + 900 - 300 + 1,000 - 200 = 4,880; south 3,780.
"""

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal as D

from reconcile.calculate import calculate

from tests.builders import LP, band, contract, decl, labelled, six_months

CONTRACT = contract(LP, 2023, (band("A", 1, 30, D(1000)), band("B", 31, 60, D(800)),
                               band("C", 61, 90, D(500))),
                    recruitment_target=90, vat_chargeable=True, uplift_amount=D(100))


def day(n: int) -> str:
    return (dt.date(2024, 1, 1) + dt.timedelta(days=n)).isoformat()


def hundred():
    pairs = []
    for n in range(25):  # February's starts, paid; f20-f24 clawed back on May
        clawed = n >= 20
        pairs.append((decl(f"f{n:02}", date=day(n), created="2024-01-20", participant=f"p{n}",
                           state="clawed-back" if clawed else "paid",
                           clawback_statement_name="May 2024" if clawed else None,
                           delivery_partner_id="north"),
                      ("refundable" if clawed else "billable")
                      + (" uplift" if n in (1, 3, 20, 21) else "")))
    for n in range(50):  # May's new starts
        pairs.append((decl(f"m{n:02}", date=day(40 + n), created="2024-04-10",
                           delivery_partner_id="north"),
                      "billable" + (" uplift" if n < 10 else "")))
    for n in range(45):  # May's retained-1 of February's participants (and more)
        pairs.append((decl(f"r{n:02}", "retained-1", date=day(40 + n), created="2024-04-10",
                           participant=f"p{n}", delivery_partner_id="south"), "billable"))
    return labelled(*pairs)


def test_a_statement_of_100_declarations_adds_up_by_hand():
    declarations, evaluation = hundred()
    calc = calculate(declarations, evaluation, six_months(CONTRACT))
    [may] = [s for s in calc.statements if s.key.name == "May 2024"]
    attributions = [a for a in calc.attributions if a.statement == may.key]
    assert len(attributions) == 100

    # per line, from the attributions: (kind, type, band) -> (count, fee, total)
    by_line = defaultdict(list)
    for a in attributions:
        by_line[(a.kind, a.declaration_type, a.band)].append(a.fee)
    assert {k: (len(v), set(v), sum(v)) for k, v in by_line.items()} == {
        ("output", "started", "A"): (5, {D(120)}, D(600)),
        ("output", "started", "B"): (30, {D(96)}, D(2880)),
        ("output", "started", "C"): (15, {D(60)}, D(900)),
        ("output", "retained-1", "A"): (30, {D(90)}, D(2700)),
        ("output", "retained-1", "B"): (15, {D(72)}, D(1080)),
        ("clawback", "started", "C"): (5, {D(-60)}, D(-300)),
    }
    # ... and the statement's lines are exactly those
    assert [(ln.declaration_type, ln.band, ln.count, ln.amount)
            for ln in may.output_payments] == [
        ("started", "A", 5, D("600.00")), ("started", "B", 30, D("2880.00")),
        ("started", "C", 15, D("900.00")), ("retained-1", "A", 30, D("2700.00")),
        ("retained-1", "B", 15, D("1080.00"))]
    assert [(ln.band, ln.count, ln.amount) for ln in may.clawbacks] == [
        ("C", 5, D("-300.00"))]

    # which declarations went where: the banding order is declaration date
    band_of = {a.declaration_id: a.band for a in attributions if a.kind == "output"}
    assert {band_of[f"m{n:02}"] for n in range(5)} == {"A"}
    assert {band_of[f"m{n:02}"] for n in range(5, 35)} == {"B"}
    assert {band_of[f"m{n:02}"] for n in range(35, 50)} == {"C"}

    uplifts = Counter(a.uplift for a in attributions if a.uplift)
    assert uplifts == {D(100): 10, D(-100): 2}
    assert (may.uplift.count, may.uplift.amount) == (10, D("1000.00"))
    assert (may.uplift_clawback.count, may.uplift_clawback.amount) == (2, D("-200.00"))

    assert may.service_fee == D("951.72")
    assert (may.net, may.vat, may.total) == (D("9611.72"), D("1922.34"), D("11534.06"))
    assert dict(may.counts) == {"started": 50, "retained": 45, "completed": 0,
                                "extended": 0, "voided": 0, "clawed_back": 5,
                                "awaiting_clawback": 0}

    per_partner = Counter()
    for a in attributions:
        per_partner[a.delivery_partner_id] += a.fee + a.uplift
    assert per_partner == {"north": D(4880), "south": D(3780)}
    assert sum(per_partner.values()) == may.net - may.service_fee

    # the clawbacks were paid in band A at £120 but come off band C at £60
    [differs] = [f for f in calc.findings if f.code == "CALC_CLAWBACK_BAND_DIFFERS"]
    assert differs.statement == "May 2024" and "5 ect started" in differs.message
    assert (differs.expected, differs.actual) == ("120", "60")
