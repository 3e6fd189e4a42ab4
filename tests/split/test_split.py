"""Delivery-partner split: hand-checked statements, the policy's settings, findings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from reconcile.model import Declaration
from reconcile.rulebook.split_schema import load_split_policy
from reconcile.split import UNASSIGNED, split_json, split_payments
from tests.builders import RULES, WORKED, WORKED_SERVICE_FEE, att, bundled_policy_text, calculation, key, split_rulebook, statement, worked_calculation

D = Decimal


def by_partner(split):
    return {p.delivery_partner_id: p for p in split.partners}


def test_worked_example_by_hand():
    """docs/split-example.md: the bundled policy with the provider keeping 10%."""
    policy = bundled_policy_text(**{"percentage: 0": "percentage: 10"})
    result = split_payments(worked_calculation(), (), split_rulebook(policy))
    (may,) = result.statements
    assert may.net == D("2557.39")  # 1194.00 + 117.48 + 179.10 − 119.40 + 200 − 100 + 1086.21
    north, south, east = (by_partner(may)[p] for p in ("dp-north", "dp-south", "dp-east"))

    # output: band A started 119.40, band B started 117.48, retained-1 89.55
    assert north.output == D("597.00")              # 5 × 119.40
    assert south.output == D("475.68")              # 3 × 119.40 + 117.48
    assert east.output == D("417.90")               # 2 × 119.40 + 2 × 89.55
    assert (north.uplift, south.uplift, east.uplift) == (D("100.00"), D("100.00"), D("0.00"))
    # p-10's clawed-back started declaration was East Hub's: East pays it back, with its uplift
    assert (east.output_clawbacks, east.uplift_clawbacks) == (D("-119.40"), D("-100.00"))
    assert north.clawbacks == south.clawbacks == D("0.00")

    # service fee 1086.21 by started declarations to date less clawbacks: 5, 4, 2 − 1 = 1.
    # Exact 543.105, 434.484, 108.621 -> floors 543.10 + 434.48 + 108.62 = 1086.20; the
    # penny left goes to the largest remainder (North's .5)
    assert [p.service_fee_weight for p in (north, south, east)] == [D(5), D(4), D(1)]
    assert (north.service_fee, south.service_fee, east.service_fee) == (
        D("543.11"), D("434.48"), D("108.62"))

    # gross, 10% retained (half up), amount
    assert (north.gross, south.gross, east.gross) == (D("1240.11"), D("1010.16"), D("307.12"))
    assert (north.retained, south.retained, east.retained) == (
        D("124.01"), D("101.02"), D("30.71"))     # 124.011, 101.016, 30.712
    assert (north.amount, south.amount, east.amount) == (
        D("1116.10"), D("909.14"), D("276.41"))
    assert may.retained == D("255.74")
    assert north.amount + south.amount + east.amount + may.retained == may.net
    assert dict(east.counts) == {"started": 2, "retained-1": 2}
    assert dict(east.clawed_back) == {"started": 1}
    assert result.findings == ()


def test_blended_rate_shares_a_type_evenly_across_bands():
    # started: (1194.00 + 117.48) / 11 declarations; 1311.48 × 5/11, 4/11, 2/11 =
    # 596.127, 476.901, 238.450 -> 596.12 + 476.90 + 238.45 = 1311.47, the penny to North
    policy = bundled_policy_text(**{"attribution: band": "attribution: blended"})
    (may,) = split_payments(worked_calculation(), (), split_rulebook(policy)).statements
    parts = by_partner(may)
    started = {p: sum((d.amount for d in may.declarations if d.delivery_partner_id == p
                       and d.kind == "output" and d.declaration_type == "started"), D(0))
               for p in parts}
    assert started == {"dp-north": D("596.13"), "dp-south": D("476.90"),
                       "dp-east": D("238.45")}
    assert parts["dp-east"].output == D("238.45") + D("179.10")


def test_clawback_follows_the_partner_stamped_on_the_declaration():
    """p-7 started with West Hub (paid in May); moved to North Hub, who declared
    retained-1 in June, when West's started declaration was clawed back."""
    may, june = key("May 2024"), key("June 2024")
    decls = (
        declaration("w-1", "p-7", "dp-west", "started", dt.date(2024, 3, 1)),
        declaration("n-1", "p-7", "dp-north", "retained-1", dt.date(2024, 5, 1)),
    )
    # the calculation did not stamp partners: the split reads them from the declarations
    atts = (att("w-1", None, statement=may, participant="p-7", name=None),
            att("w-1", None, "clawback", statement=june, participant="p-7", name=None),
            att("n-1", None, declaration_type="retained-1", fee="89.55", statement=june,
                participant="p-7", name=None))
    calc = calculation((statement(atts, may), statement(atts, june, payment_date=dt.date(2024, 6, 25))),
                atts)
    result = split_payments(calc, decls, split_rulebook())
    june_split = result.statements[1]
    parts = by_partner(june_split)
    assert parts["dp-west"].clawbacks == D("-119.40")
    assert parts["dp-west"].delivery_partner_name == "West Hub"
    assert parts["dp-north"].clawbacks == D("0.00")
    assert parts["dp-north"].output == D("89.55")
    assert None not in parts


def declaration(did, participant, partner, dtype, date):
    return Declaration(did, participant, "ecf-induction", "ect", dtype,
                       dt.datetime.combine(date, dt.time(), dt.timezone.utc),  # noqa: UP017 (3.10)
                       "paid", 2023,
                       delivery_partner_id=partner,
                       delivery_partner_name=partner.replace("dp-", "").title() + " Hub")


def test_unassigned_declarations_are_kept_with_one_finding_per_statement():
    atts = (att("a-1", "dp-north"), att("u-1", None, uplift="100"), att("u-2", None),
            att("u-3", None, "clawback"))
    calc = calculation((statement(atts, service_fee="30.00"),), atts)
    result = split_payments(calc, (), split_rulebook("service_fee: {declaration_types: [started]}"))
    (may,) = result.statements
    unassigned = by_partner(may)[None]
    assert unassigned.delivery_partner_name is None and unassigned.label == UNASSIGNED
    assert unassigned.output == D("238.80") and unassigned.uplift == D("100.00")
    assert unassigned.output_clawbacks == D("-119.40")
    # started to date: North 1, unassigned 2 − 1 = 1 -> the service fee in halves
    assert unassigned.service_fee == by_partner(may)["dp-north"].service_fee == D("15.00")
    (found,) = result.findings
    assert found.code == "SPLIT_NO_DELIVERY_PARTNER" and found.statement == "May 2024"
    assert found.actual == 3 and "u-1, u-2, u-3" in found.message
    # their own money 238.80 + 100 − 119.40, and the service fee shared by their starts
    assert "their £219.40, and £15.00 of service fee" in found.message
    assert [p.delivery_partner_id for p in may.partners] == ["dp-north", None]  # last
    assert split_json(result)["splits"][0]["partners"][-1]["delivery_partner_id"] is None


def test_a_partner_known_only_by_name_is_a_partner():
    # DfE's assurance report carries "Delivery Partner Name" and no id
    atts = (att("a-1", None, name="Ambition Hub"), att("a-2", None, name="Ambition Hub"))
    (may,) = split_payments(calculation((statement(atts),), atts), (), split_rulebook()).statements
    (only,) = may.partners
    assert (only.delivery_partner_id, only.delivery_partner_name) == ("Ambition Hub",
                                                                      "Ambition Hub")
    assert only.output == D("238.80")


@pytest.mark.parametrize("basis, expected", [
    # declarations on the statement (every type): North 2, South 1 -> 20.00, 10.00
    ("declarations_on_statement", {"dp-north": D("20.00"), "dp-south": D("10.00")}),
    # output fees: 119.40 + 89.55 = 208.95 vs 119.40 -> 30 × 208.95/328.35 = 19.0909
    ("output_fees_on_statement", {"dp-north": D("19.09"), "dp-south": D("10.91")}),
    ("equal", {"dp-north": D("15.00"), "dp-south": D("15.00")}),
    ("lead_provider", {"dp-north": D("0.00"), "dp-south": D("0.00")}),
])
def test_service_fee_basis_is_a_setting(basis, expected):
    atts = (att("n-1", "dp-north"), att("n-2", "dp-north", declaration_type="retained-1",
                                        fee="89.55"), att("s-1", "dp-south"))
    policy = f"service_fee: {{basis: {basis}}}"
    (may,) = split_payments(calculation((statement(atts, service_fee="30.00"),), atts), (),
                            split_rulebook(policy)).statements
    assert {p.delivery_partner_id: p.service_fee for p in may.partners} == expected
    assert may.kept_service_fee == (D("30.00") if basis == "lead_provider" else D("0"))
    assert may.service_fee_basis == basis


def test_service_fee_to_date_carries_over_to_a_month_without_declarations():
    may, june, july = key("May 2024"), key("June 2024"), key("July 2024")
    atts = (att("n-1", "dp-north", statement=may), att("n-2", "dp-north", statement=may),
            att("s-1", "dp-south", statement=may),
            att("n-1", "dp-north", "clawback", statement=july))
    calc = calculation((statement(atts, may, service_fee="90.00"),
                 statement(atts, june, service_fee="90.00", payment_date=dt.date(2024, 6, 25),
                           output_fee=False),
                 statement(atts, july, service_fee="90.00", payment_date=dt.date(2024, 7, 25))),
                atts)
    policy = "service_fee: {basis: declarations_to_date, declaration_types: [started]}"
    _, june_s, july_s = split_payments(calc, (), split_rulebook(policy)).statements
    assert {p.delivery_partner_id: p.service_fee for p in june_s.partners} == {
        "dp-north": D("60.00"), "dp-south": D("30.00")}
    # July: North's n-1 is clawed back: 1 each
    assert {p.delivery_partner_id: p.service_fee for p in july_s.partners} == {
        "dp-north": D("45.00"), "dp-south": D("45.00")}


def test_service_fee_fallback_when_nobody_has_a_declaration_on_the_statement():
    may, june = key("May 2024"), key("June 2024")
    atts = (att("n-1", "dp-north", statement=may), att("s-1", "dp-south", statement=may),
            att("s-2", "dp-south", statement=may))
    calc = calculation((statement(atts, may, service_fee="10.00"),
                 statement(atts, june, service_fee="10.00", payment_date=dt.date(2024, 6, 25),
                           output_fee=False)), atts)
    kept = "service_fee: {basis: declarations_on_statement}"
    june_kept = split_payments(calc, (), split_rulebook(kept)).statements[1]
    assert june_kept.partners == () and june_kept.kept_service_fee == D("10.00")
    assert june_kept.retained == june_kept.net == D("10.00")
    fallback = "service_fee: {basis: declarations_on_statement, fallback: declarations_to_date}"
    june_shared = split_payments(calc, (), split_rulebook(fallback)).statements[1]
    assert june_shared.service_fee_basis == "declarations_to_date"
    # 1 : 2 of 10.00 = 3.333, 6.667 -> 3.33 + 6.66 = 9.99, the penny to South (.667)
    assert {p.delivery_partner_id: p.service_fee for p in june_shared.partners} == {
        "dp-north": D("3.33"), "dp-south": D("6.67")}


def test_rounding_ties_go_to_the_lower_partner_id():
    # 10.00 in three equal parts: 3.34 to the first partner by id, whatever the input order
    atts = (att("z", "dp-c"), att("y", "dp-b"), att("x", "dp-a"))
    policy = "service_fee: {basis: equal}"
    (may,) = split_payments(calculation((statement(atts, service_fee="10.00"),), atts), (),
                            split_rulebook(policy)).statements
    assert [(p.delivery_partner_id, p.service_fee) for p in may.partners] == [
        ("dp-a", D("3.34")), ("dp-b", D("3.33")), ("dp-c", D("3.33"))]


def test_retained_percentage_per_partner_and_what_it_applies_to():
    atts = (att("n-1", "dp-north", uplift="100"), att("s-1", "dp-south", uplift="100"))
    policy = """
retained:
  percentage: 10
  applies_to: [output, clawbacks]
  partners:
    - {delivery_partner_id: dp-south, name: South Hub, percentage: 2.5}
"""
    (may,) = split_payments(calculation((statement(atts),), atts), (), split_rulebook(policy)).statements
    north, south = may.partners
    assert north.retained == D("11.94")  # 10% of 119.40 (uplift not in applies_to)
    assert south.retained == D("2.99")   # 2.5% of 119.40 = 2.985, half up
    assert north.amount == D("207.46") and south.amount == D("216.41")
    assert may.retained + north.amount + south.amount == may.net == D("438.80")


def test_retained_share_of_a_negative_gross_is_negative():
    # the provider kept 10% of the payment, so it bears 10% of the clawback
    atts = (att("e-1", "dp-east", "clawback"),)
    (may,) = split_payments(calculation((statement(atts),), atts), (),
                            split_rulebook("retained: {percentage: 10}")).statements
    (east,) = may.partners
    assert (east.gross, east.retained, east.amount) == (D("-119.40"), D("-11.94"),
                                                        D("-107.46"))


@pytest.mark.parametrize("to, partner_adjustments, kept", [
    ("lead_provider", {"dp-north": D("0.00"), "dp-south": D("0.00")}, D("-50.00")),
    ("service_fee_basis", {"dp-north": D("-25.00"), "dp-south": D("-25.00")}, D("0.00")),
])
def test_adjustments_kept_or_shared(to, partner_adjustments, kept):
    atts = (att("n-1", "dp-north"), att("s-1", "dp-south"))
    calc = calculation((statement(atts, service_fee="20.00", adjustments="-50.00"),), atts)
    (may,) = split_payments(calc, (), split_rulebook(f"adjustments: {{to: {to}}}")).statements
    assert {p.delivery_partner_id: p.adjustments for p in may.partners} == partner_adjustments
    assert may.kept_adjustments == kept
    assert sum(p.amount for p in may.partners) + may.retained == may.net


def test_unpaid_declarations_are_listed_at_nothing_under_band():
    # over contracted volume: DfE pays nothing for it, the partner is told so
    atts = (att("n-1", "dp-north"), att("n-2", "dp-north", band=None, fee="0", unpaid=True))
    (may,) = split_payments(calculation((statement(atts),), atts), (), split_rulebook()).statements
    amounts = {d.declaration_id: (d.amount, d.unpaid) for d in may.declarations}
    assert amounts == {"n-1": (D("119.40"), False), "n-2": (D("0.00"), True)}
    assert dict(may.partners[0].counts) == {"started": 2}


def test_sub_penny_fees_split_to_the_penny_within_a_line():
    # 3 × 89.595 = 268.785 -> line 268.79 (money.line_amount); 2 : 1 -> 179.19, 89.60
    atts = (att("a-1", "dp-a", fee="89.595"), att("a-2", "dp-a", fee="89.595"),
            att("b-1", "dp-b", fee="89.595"))
    (may,) = split_payments(calculation((statement(atts),), atts), (), split_rulebook()).statements
    assert [p.output for p in may.partners] == [D("179.19"), D("89.60")]
    assert {d.declaration_id: d.amount for d in may.declarations} == {
        "a-1": D("89.60"), "a-2": D("89.59"), "b-1": D("89.60")}


def test_split_json_follows_interfaces_section_6():
    policy = bundled_policy_text(**{"percentage: 0": "percentage: 10"})
    data = split_json(split_payments(worked_calculation(), (), split_rulebook(policy)))
    (may,) = data["splits"]
    assert (may["lead_provider"], may["cohort"], may["statement"]) == (
        "Example Teaching Institute", 2023, "May 2024")
    assert (may["net"], may["retained"]) == ("2557.39", "255.74")
    east = may["partners"][0]
    assert {k: east[k] for k in ("delivery_partner_id", "delivery_partner_name", "output",
                                 "uplift", "clawbacks", "service_fee", "retained",
                                 "amount")} == {
        "delivery_partner_id": "dp-east", "delivery_partner_name": "East Hub",
        "output": "417.90", "uplift": "0.00", "clawbacks": "-219.40",
        "service_fee": "108.62", "retained": "30.71", "amount": "276.41"}
    total = sum(D(p["amount"]) for p in may["partners"]) + D(may["retained"])
    assert total == D(may["net"])


def test_the_policy_file_decides_with_no_code_change(tmp_path):
    """A tmp copy of rules/ with a different split.yaml gives a different split."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for path in RULES.glob("*.yaml"):
        (rules / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    bundled = split_payments(worked_calculation(), (), split_rulebook(
        load_split_policy(rules / "split.yaml"))).statements[0]
    (rules / "split.yaml").write_text(bundled_policy_text(**{
        "attribution: band": "attribution: blended",
        "basis: declarations_to_date": "basis: equal",
        "percentage: 0": "percentage: 20"}), encoding="utf-8")
    changed = split_payments(worked_calculation(), (), split_rulebook(
        load_split_policy(rules / "split.yaml"))).statements[0]
    assert bundled.retained == D("0.00")
    assert by_partner(bundled)["dp-north"].amount == D("1240.11")  # 597 + 100 + 543.11
    # equal: 1086.21 / 3 = 362.07 each; blended started for North 596.13 (see above);
    # 20% of 596.13 + 100 + 362.07 = 1058.20 -> 211.64
    north = by_partner(changed)["dp-north"]
    assert (north.output, north.service_fee, north.retained) == (
        D("596.13"), D("362.07"), D("211.64"))
    assert changed.retained > 0


def test_worked_statement_stand_in_adds_up():
    # guard for the stand-in itself: the lines are what docs/split-example.md shows
    st = statement(WORKED, service_fee=WORKED_SERVICE_FEE)
    assert [(line.declaration_type, line.band, line.count, line.amount)
            for line in st.output_payments] == [
        ("retained-1", "A", 2, D("179.10")), ("started", "A", 10, D("1194.00")),
        ("started", "B", 1, D("117.48"))]
    assert (st.uplift.amount, st.uplift_clawback.amount, st.vat) == (
        D("200.00"), D("100.00"), D("511.48"))


def test_the_worked_example_page_shows_what_the_code_computes():
    """docs/split-example.md quotes these figures; a change in either must show here."""
    page = (RULES.parent / "docs" / "split-example.md").read_text(encoding="utf-8")
    policy = bundled_policy_text(**{"percentage: 0": "percentage: 10"})
    (may,) = split_payments(worked_calculation(), (), split_rulebook(policy)).statements
    for share in may.partners:
        for value in (share.service_fee, share.retained, share.amount):
            assert f"**{value:,.2f}**" in page, (share.label, value)
    assert f"**{may.net:,.2f} = the net**" in page
    assert f"**{may.retained:,.2f}**" in page


def test_service_fee_basis_leaves_out_flat_rate_mentors_and_empty_clawbacks():
    # a flat-rate mentor (band None, paid) earns no service fee (DOMAIN.md "Mentors");
    # a clawback with nothing to take back (unpaid) removes no participant
    atts = (att("n-1", "dp-north"), att("s-1", "dp-south"),
            att("m-1", "dp-mentors", band=None, fee="500", participant_type="mentor"),
            att("x-1", "dp-south", "clawback", band=None, fee="0", unpaid=True))
    policy = "service_fee: {basis: declarations_to_date, declaration_types: [started]}"
    (may,) = split_payments(calculation((statement(atts, service_fee="10.00"),), atts), (),
                            split_rulebook(policy)).statements
    assert {p.delivery_partner_id: p.service_fee for p in may.partners} == {
        "dp-mentors": D("0.00"), "dp-north": D("5.00"), "dp-south": D("5.00")}
    assert by_partner(may)["dp-mentors"].output == D("500.00")


def test_line_money_without_declarations_goes_to_unassigned_with_a_finding():
    # a line the calculation attributed to nobody (never expected): kept, not lost
    atts = (att("n-1", "dp-north"),)
    st = statement(atts)
    st = st._replace(uplift=st.uplift._replace(count=1, amount=D("100.00")),
                     net=st.net + D("100.00"))
    result = split_payments(calculation((st,), atts), (), split_rulebook())
    (may,) = result.statements
    assert by_partner(may)[None].uplift == D("100.00")
    assert sum(p.amount for p in may.partners) + may.retained == may.net
    assert [f.code for f in result.findings] == ["SPLIT_UNATTRIBUTED_AMOUNT"]
