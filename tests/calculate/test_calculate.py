"""calculate() on small tables of declarations, with DOMAIN.md's worked examples.

The rulebook is the real one (tests/builders.py): the bundled rules with each
test's contract and cohort 2023's calendar cut to six months (output-fee statements
February, May and July 2024).
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from reconcile.calculate import calculate
from reconcile.errors import InputError
from reconcile.money import round_money

from tests.builders import BANDS_OF_TWO, COHORT, LP, band, contract, decl, labelled, six_months


def statement(calc, name, lead_provider=LP):
    [found] = [s for s in calc.statements
               if s.key.name == name and s.key.lead_provider == lead_provider]
    return found


def lines(lines_):
    """Lines as (participant type, declaration type, band, count, fee, amount) text."""
    return [(ln.participant_type, ln.declaration_type, ln.band, ln.count,
             f"{ln.fee_per_declaration.normalize():f}", str(ln.amount)) for ln in lines_]


def codes(calc):
    return sorted(f.code for f in calc.findings)


# --- banding through the whole calculation ------------------------------------------

def test_bands_of_two_previous_four_current_three_pay_c_c_d():
    # February: 4 started (A 2 at £80, B 2 at £60); May: 3 more -> C 2, D 1
    # fees: started 20% of the band's output price (A 400×60%, ..., D 100×100%)
    declarations, evaluation = labelled(
        *[(decl(f"feb-{n}", created="2024-01-05"), "billable") for n in range(4)],
        *[(decl(f"may-{n}", created="2024-04-05"), "billable") for n in range(3)])
    calc = calculate(declarations, evaluation, six_months())
    feb, may = statement(calc, "February 2024"), statement(calc, "May 2024")
    assert lines(feb.output_payments) == [
        ("ect", "started", "A", 2, "48", "96.00"), ("ect", "started", "B", 2, "36", "72.00")]
    assert lines(may.output_payments) == [
        ("ect", "started", "C", 2, "24", "48.00"), ("ect", "started", "D", 1, "20", "20.00")]
    assert codes(calc) == []


def test_nine_with_no_previous_one_unpaid_with_the_over_capacity_finding():
    declarations, evaluation = labelled(
        *[(decl(f"d-{n}", date=f"2024-01-{10 + n}", created="2024-01-20"), "billable")
          for n in range(9)])
    calc = calculate(declarations, evaluation, six_months())
    feb = statement(calc, "February 2024")
    assert [(ln.band, ln.count) for ln in feb.output_payments] == [
        ("A", 2), ("B", 2), ("C", 2), ("D", 2)]
    [over] = [f for f in calc.findings if f.code == "CALC_OVER_CAPACITY"]
    # the last in the banding order (declaration_date) is the one not paid
    assert over.declaration_id == "d-8" and "1 started" in over.message
    assert over.statement == "February 2024"
    [unpaid] = [a for a in calc.attributions if a.unpaid]
    assert (unpaid.declaration_id, unpaid.band, unpaid.fee) == ("d-8", None, D(0))
    assert dict(feb.counts)["started"] == 8


def test_seed_example_2100_previous_2000_current():
    # seed 002: bands A 0-2000, B 2001-4000, C 4001+: previous 2100, current 2000
    terms = contract(LP, COHORT, (band("A", 0, 2000, D(995)), band("B", 2001, 4000, D(979)),
                                     band("C", 4001, 5175, D(966))))
    declarations, evaluation = labelled(
        *[(decl(f"feb-{n:04}", created="2024-01-05"), "billable") for n in range(2100)],
        *[(decl(f"may-{n:04}", created="2024-04-05"), "billable") for n in range(2000)])
    calc = calculate(declarations, evaluation, six_months(terms))
    may = statement(calc, "May 2024")
    # started fees: 995×60%×20% = 119.40, 979 -> 117.48, 966 -> 115.92
    assert lines(may.output_payments) == [
        ("ect", "started", "B", 1900, "117.48", "223212.00"),
        ("ect", "started", "C", 100, "115.92", "11592.00")]


# --- fees ------------------------------------------------------------------------------

def test_the_1000_pound_participant_breakdown():
    # seed 002: £1,000 -> output £600 = start 120 + 4 × 90 + completion 120; extension 90;
    # service fee 400 (40%): with a target of one participant, 400 / 29 a month
    terms = contract(LP, COHORT, (band("A", 0, 10, D(1000)),), recruitment_target=1)
    types = ["started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
             "extended-1"]
    declarations, evaluation = labelled(
        *[(decl(f"x-{t}", t, created="2024-01-05", participant="p1"), "billable")
          for t in types])
    calc = calculate(declarations, evaluation, six_months(terms))
    feb = statement(calc, "February 2024")
    assert [(ln.declaration_type, ln.amount) for ln in feb.output_payments] == [
        ("started", D("120.00")), ("retained-1", D("90.00")), ("retained-2", D("90.00")),
        ("retained-3", D("90.00")), ("retained-4", D("90.00")), ("completed", D("120.00")),
        ("extended-1", D("90.00"))]
    assert sum(ln.amount for ln in feb.output_payments[:6]) == D(600)
    assert feb.service_fee == round_money(D(400) / 29) == D("13.79")
    assert feb.net == D("690.00") + D("13.79")
    assert dict(feb.counts) == {"started": 1, "retained": 4, "completed": 1, "extended": 1,
                                "voided": 0, "clawed_back": 0, "awaiting_clawback": 0}


def test_mentor_flat_rate_50_50():
    terms = contract(LP, COHORT, BANDS_OF_TWO, recruitment_target=8,
                        mentor=D(1000))
    declarations, evaluation = labelled(
        (decl("m-s", "started", ptype="mentor", created="2024-01-05"), "billable flat_rate"),
        (decl("m-c", "completed", ptype="mentor", created="2024-04-05"), "billable flat_rate"))
    calc = calculate(declarations, evaluation, six_months(terms))
    assert lines(statement(calc, "February 2024").output_payments) == [
        ("mentor", "started", None, 1, "500", "500.00")]
    assert lines(statement(calc, "May 2024").output_payments) == [
        ("mentor", "completed", None, 1, "500", "500.00")]
    # flat-rate mentors do not fill the ECT bands
    assert {(a.declaration_id, a.band, a.fee) for a in calc.attributions} == {
        ("m-s", None, D(500)), ("m-c", None, D(500))}


def test_uplift_and_uplift_clawback():
    terms = contract(LP, COHORT, BANDS_OF_TWO, recruitment_target=8, uplift_amount=D(100))
    declarations, evaluation = labelled(
        (decl("u1", created="2024-01-05"), "billable uplift"),
        (decl("u2", created="2024-01-06", state="clawed-back", clawback_statement_name="May 2024"),
         "refundable uplift"),
        (decl("n1", created="2024-01-07"), "billable"))
    calc = calculate(declarations, evaluation, six_months(terms))
    feb, may = statement(calc, "February 2024"), statement(calc, "May 2024")
    assert (feb.uplift.count, feb.uplift.amount) == (2, D("200.00"))
    assert (may.uplift_clawback.count, may.uplift_clawback.amount) == (1, D("-100.00"))
    # u2 (the second by declaration date... all the same date, then created_at) was paid
    # in band A; the clawback comes off the top of the fill: B (n1 sits there)
    assert lines(may.clawbacks) == [("ect", "started", "B", 1, "36", "-36.00")]
    back = [a for a in calc.attributions if a.kind == "clawback"]
    assert [(a.declaration_id, a.fee, a.uplift) for a in back] == [("u2", D("-36.0"), D(-100))]
    [differs] = [f for f in calc.findings if f.code == "CALC_CLAWBACK_BAND_DIFFERS"]
    assert "band B at £36.00" in differs.message and "band A at £48.00" in differs.message
    assert differs.declaration_id == "u2"


@pytest.mark.parametrize("vat_chargeable, vat", [(True, D("19.20")), (False, D("0.00"))])
def test_vat_on_and_off(vat_chargeable, vat):
    terms = contract(LP, COHORT, BANDS_OF_TWO, recruitment_target=8,
                        vat_chargeable=vat_chargeable, monthly_service_fee=D(0))
    declarations, evaluation = labelled(
        (decl("a", created="2024-01-05"), "billable"),
        (decl("b", created="2024-01-05"), "billable"))
    feb = statement(calculate(declarations, evaluation, six_months(terms)), "February 2024")
    assert feb.net == D("96.00")
    assert feb.vat == vat and feb.total == feb.net + vat


# --- clawbacks --------------------------------------------------------------------------

def test_clawback_larger_than_the_statements_additions_comes_off_previous_fill():
    # February: 5 started (A 2, B 2, C 1). May: 1 new (C) and 4 clawbacks:
    # C 2 (the new one, then February's C), then B 2.
    declarations, evaluation = labelled(
        *[(decl(f"f{n}", date=f"2024-01-1{n}", created="2024-01-20"), "billable")
          for n in range(1)],
        *[(decl(f"f{n}", date=f"2024-01-1{n}", created="2024-01-20", state="clawed-back",
                clawback_statement_name="May 2024"), "refundable") for n in range(1, 5)],
        (decl("m0", created="2024-04-05"), "billable"))
    calc = calculate(declarations, evaluation, six_months())
    may = statement(calc, "May 2024")
    assert lines(may.output_payments) == [("ect", "started", "C", 1, "24", "24.00")]
    assert lines(may.clawbacks) == [("ect", "started", "B", 2, "36", "-72.00"),
                                    ("ect", "started", "C", 2, "24", "-48.00")]
    assert may.net - may.service_fee == D("-96.00")
    # state clawed-back: counted on May (clawed back there) and on February (paid there),
    # as ECF's clawed_back_count finds them through either line item
    assert dict(may.counts)["clawed_back"] == 4
    assert dict(statement(calc, "February 2024").counts)["clawed_back"] == 4


def test_clawed_back_declaration_counts_plus_on_payment_and_minus_on_clawback():
    declarations, evaluation = labelled(
        (decl("c1", created="2024-01-05", state="clawed-back",
              clawback_statement_name="July 2024"), "refundable"))
    calc = calculate(declarations, evaluation, six_months())
    assert [(a.statement.name, a.kind, a.band, a.fee) for a in calc.attributions] == [
        ("February 2024", "output", "A", D(48)), ("July 2024", "clawback", "A", D("-48.0"))]
    assert statement(calc, "February 2024").output_payments[0].amount == D("48.00")
    assert statement(calc, "July 2024").clawbacks[0].amount == D("-48.00")
    assert codes(calc) == []


def test_redeclaration_after_clawback_is_paid_again():
    # one participant: started paid in February, clawed back in May, declared again in May
    declarations, evaluation = labelled(
        (decl("first", participant="p", created="2024-01-05", state="clawed-back",
              clawback_statement_name="May 2024"), "refundable"),
        (decl("again", participant="p", created="2024-04-05"), "billable"))
    calc = calculate(declarations, evaluation, six_months())
    may = statement(calc, "May 2024")
    # previous fill 1 (A); May adds 1 (A, the 2nd place) and takes 1 back from the top: A
    assert lines(may.output_payments) == [("ect", "started", "A", 1, "48", "48.00")]
    assert lines(may.clawbacks) == [("ect", "started", "A", 1, "48", "-48.00")]
    assert sorted((a.declaration_id, a.statement.name, a.kind) for a in calc.attributions) == [
        ("again", "May 2024", "output"), ("first", "February 2024", "output"),
        ("first", "May 2024", "clawback")]


def test_clawback_without_a_clawback_statement_goes_after_its_payment():
    declarations, evaluation = labelled(
        (decl("c1", created="2024-01-05", state="awaiting-clawback"), "refundable"))
    calc = calculate(declarations, evaluation, six_months())
    # paid on February 2024 (payment 2024-02-25): next output-fee cut-off on or after is May
    assert [(a.statement.name, a.kind) for a in calc.attributions] == [
        ("February 2024", "output"), ("May 2024", "clawback")]
    assert codes(calc) == ["CALC_CLAWBACK_STATEMENT_ASSUMED"]


# --- statement assignment ------------------------------------------------------------

def test_next_output_fee_statement_by_created_at_else_declaration_date():
    declarations, evaluation = labelled(
        (decl("on-cutoff", created="2024-01-31T23:30:00"), "billable"),
        (decl("after", created="2024-02-01"), "billable"),
        (decl("no-created", date="2024-04-30"), "billable"))
    calc = calculate(declarations, evaluation, six_months())
    assert {a.declaration_id: a.statement.name for a in calc.attributions} == {
        "on-cutoff": "February 2024", "after": "May 2024", "no-created": "May 2024"}


def test_given_statement_wins_and_a_move_is_reported():
    declarations, evaluation = labelled(
        (decl("late", created="2024-01-05", statement_name="may 2024"), "billable"),
        (decl("ok", created="2024-01-05", statement_name="February 2024"), "billable"))
    calc = calculate(declarations, evaluation, six_months())
    assert {a.declaration_id: a.statement.name for a in calc.attributions} == {
        "late": "May 2024", "ok": "February 2024"}
    [moved] = calc.findings
    assert moved.code == "CALC_STATEMENT_MOVED" and moved.declaration_id == "late"
    assert (moved.expected, moved.actual) == ("February 2024", "May 2024")


def test_statement_id_resolves_through_dfe_statements_and_unknown_is_reported():
    from reconcile.model import DfeStatement

    dfe = (DfeStatement("st-may", LP, COHORT, "May 2024", dt.date(2024, 4, 30),
                        dt.date(2024, 5, 25), True),)
    declarations, evaluation = labelled(
        (decl("by-id", created="2024-04-05", statement_id="st-may"), "billable"),
        (decl("lost", created="2024-04-05", statement_id="st-nowhere"), "billable"))
    calc = calculate(declarations, evaluation, six_months(), dfe)
    assert {a.declaration_id: a.statement.name for a in calc.attributions} == {
        "by-id": "May 2024", "lost": "May 2024"}
    assert statement(calc, "May 2024").statement_id == "st-may"
    [unknown] = calc.findings
    assert unknown.code == "CALC_UNKNOWN_STATEMENT" and unknown.declaration_id == "lost"


def test_lead_provider_defaults_to_the_only_contract_of_the_cohort():
    declarations, evaluation = labelled(
        (decl("a", created="2024-01-05", lead_provider=None), "billable"))
    calc = calculate(declarations, evaluation, six_months())
    assert calc.attributions[0].statement.lead_provider == LP


def test_lead_provider_required_when_the_cohort_has_several_contracts():
    other = contract("Other Provider", COHORT, BANDS_OF_TWO)
    mine = contract(LP, COHORT, BANDS_OF_TWO)
    declarations, evaluation = labelled(
        (decl("a", created="2024-01-05", lead_provider=None, row=2), "billable"),
        (decl("b", created="2024-01-05", lead_provider=None, row=3), "billable"),
        (decl("c", created="2024-01-05", row=4), "billable"))
    with pytest.raises(InputError) as raised:
        calculate(declarations, evaluation, six_months(mine, other))
    assert [p.source.row for p in raised.value.problems] == [2, 3]
    assert "Other Provider" in str(raised.value) and "lead_provider" in str(raised.value)


def test_no_contract_is_a_finding_not_a_crash():
    declarations, evaluation = labelled(
        (decl("a", created="2024-01-05", lead_provider="Nobody"), "billable"))
    calc = calculate(declarations, evaluation, six_months())
    assert codes(calc) == ["CALC_NO_CONTRACT"] and calc.statements == ()


# --- which statements appear -----------------------------------------------------------

def test_statements_from_the_first_to_the_last_attached_or_as_of():
    declarations, evaluation = labelled((decl("a", created="2024-01-05"), "billable"))
    calc = calculate(declarations, evaluation, six_months(contract(
        LP, COHORT, BANDS_OF_TWO, recruitment_target=8, monthly_service_fee=D("1000.00"))))
    assert [s.key.name for s in calc.statements] == ["January 2024", "February 2024"]
    january = calc.statements[0]
    assert (january.output_fee, january.output_payments, january.service_fee) == (
        False, (), D("1000.00"))
    later = calculate(declarations, evaluation, six_months(), as_of=dt.date(2024, 5, 31))
    assert [s.key.name for s in later.statements][-1] == "June 2024"


def test_non_billable_declarations_earn_nothing_but_voided_ones_are_counted():
    declarations, evaluation = labelled(
        (decl("v", state="voided", created="2024-01-05", statement_name="February 2024"), ""),
        (decl("s", state="submitted", created="2024-01-05"), ""))
    calc = calculate(declarations, evaluation, six_months())
    assert calc.attributions == ()
    feb = statement(calc, "February 2024")
    assert dict(feb.counts)["voided"] == 1 and feb.output_payments == ()


def test_the_state_counted_as_voided_is_the_vocabularys():
    """rules/vocabulary.yaml statement_counts: with ineligible counted as voided, the
    ineligible declaration DfE put on February is counted there, the voided one not."""
    declarations, evaluation = labelled(
        (decl("v", state="voided", created="2024-01-05", statement_name="February 2024"), ""),
        (decl("i", state="ineligible", created="2024-01-05", statement_name="February 2024"),
         ""),
        (decl("j", state="ineligible", created="2024-01-05", statement_name="February 2024"),
         ""))
    bundled = statement(calculate(declarations, evaluation, six_months()), "February 2024")
    assert dict(bundled.counts)["voided"] == 1
    counts = {"voided": "ineligible", "clawed_back": "clawed-back",
              "awaiting_clawback": "awaiting-clawback"}
    edited = statement(calculate(declarations, evaluation,
                                 six_months(vocabulary={"statement_counts": counts})),
                       "February 2024")
    assert dict(edited.counts)["voided"] == 2
