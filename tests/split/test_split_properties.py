"""On random statements and any policy, the split adds up to the penny, line by line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile import money
from reconcile.rulebook.split_schema import SplitPolicy
from reconcile.split import split_payments
from tests.builders import att, calculation, key, split_rulebook, statement

PARTNERS = ("dp-a", "dp-b", "dp-c", "dp-d", None)
TYPES = ("started", "retained-1", "completed")
BANDS = ("A", "B", "C")


def pennies(low: int, high: int):
    return st.integers(low, high).map(lambda p: Decimal(p) / 100)


@st.composite
def calculations(draw):
    months = draw(st.integers(1, 3))
    keys = [key(f"Month {i + 1}") for i in range(months)]
    # one fee per (type, band), with parts of a penny (e.g. 89.595)
    fees = {(t, b): draw(st.integers(1, 2_000_000).map(lambda m: Decimal(m) / 10_000))
            for t in TYPES for b in BANDS}
    atts = []
    for n in range(draw(st.integers(0, 40))):
        dtype, band = draw(st.sampled_from(TYPES)), draw(st.sampled_from(BANDS))
        unpaid = draw(st.booleans()) and draw(st.booleans()) and draw(st.booleans())
        kind = draw(st.sampled_from(("output", "output", "clawback")))
        atts.append(att(
            f"d-{n:03d}", draw(st.sampled_from(PARTNERS)), kind, dtype,
            None if unpaid else band, "0" if unpaid else str(fees[(dtype, band)]),
            str(draw(st.sampled_from(("0", "0", "100", "33.333")))) if dtype == "started"
            else "0",
            statement=draw(st.sampled_from(keys)), unpaid=unpaid))
    statements = tuple(
        statement(atts, k, service_fee=str(draw(pennies(0, 200_000))),
                  adjustments=str(draw(pennies(-50_000, 50_000))),
                  payment_date=dt.date(2024, 1 + i, 25), output_fee=draw(st.booleans()))
        for i, k in enumerate(keys))
    return calculation(statements, tuple(atts))


BASES = ("declarations_to_date", "declarations_on_statement", "output_fees_on_statement",
         "equal", "lead_provider")


@st.composite
def policies(draw):
    return SplitPolicy.model_validate({
        "output_fees": {"attribution": draw(st.sampled_from(("band", "blended")))},
        "service_fee": {"basis": draw(st.sampled_from(BASES)),
                        "fallback": draw(st.sampled_from(BASES)),
                        "declaration_types": draw(st.sampled_from(((), ("started",))))},
        "adjustments": {"to": draw(st.sampled_from(("lead_provider", "service_fee_basis")))},
        "retained": {
            "percentage": draw(pennies(0, 10_000)),
            "applies_to": draw(st.lists(st.sampled_from(
                ("output", "uplift", "clawbacks", "service_fee", "adjustments")),
                unique=True)),
            "partners": [{"delivery_partner_id": "dp-b", "percentage": draw(pennies(0, 10_000))}],
        },
    })


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calculations(), policies())
def test_partners_add_up_to_every_line_and_to_the_net(calc, policy):
    result = split_payments(calc, (), split_rulebook(policy))
    assert len(result.statements) == len(calc.statements)
    for expected, split in zip(calc.statements, result.statements):
        partners = split.partners

        def column(name, partners=partners):
            return sum((getattr(p, name) for p in partners), Decimal(0))

        # the promise of INTERFACES.md §6, to the penny
        assert column("amount") + split.retained == expected.net
        # and each column is its statement line
        assert column("output") == sum((line.amount for line in expected.output_payments),
                                       Decimal(0))
        assert column("output_clawbacks") == sum((line.amount for line in expected.clawbacks),
                                                 Decimal(0))
        assert column("uplift") == expected.uplift.amount
        assert column("uplift_clawbacks") == -expected.uplift_clawback.amount
        assert column("service_fee") + split.kept_service_fee == expected.service_fee
        assert column("adjustments") + split.kept_adjustments == expected.adjustments
        for p in partners:
            for value in (p.output, p.uplift, p.clawbacks, p.service_fee, p.retained, p.amount):
                assert value == money.round_money(value)  # whole pennies
            mine = [d for d in split.declarations
                    if d.delivery_partner_id == p.delivery_partner_id]
            # a partner's declarations add up to what it is paid for them
            assert sum((d.amount for d in mine if d.kind == "output"), Decimal(0)) == p.output
            assert sum((d.amount for d in mine if d.kind == "clawback"),
                       Decimal(0)) == p.output_clawbacks
            assert sum((d.uplift for d in mine), Decimal(0)) == p.uplift + p.uplift_clawbacks
        # every declaration once, none dropped; the unassigned ones reported
        assert sorted(d.declaration_id for d in split.declarations) == sorted(
            a.declaration_id for a in calc.attributions if a.statement == expected.key)
        unassigned = [d for d in split.declarations if d.delivery_partner_id is None]
        reported = [f for f in result.findings if f.statement == expected.key.name]
        assert bool(unassigned) == bool(reported)
        if unassigned:
            assert reported[0].actual == len(unassigned)
