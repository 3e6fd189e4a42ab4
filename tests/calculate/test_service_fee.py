"""Service fee: DOMAIN.md §Service fee worked examples, the seed's profile and the policies."""

from decimal import Decimal as D

import pytest

from reconcile.calculate import calculate
from reconcile.calculate.service_fee import (
    monthly_service_fee,
    set_up_deduction,
    total_service_fee,
)
from reconcile.money import round_money
from reconcile.rulebook.schema import Band, ServiceFeeFile

from tests.builders import LP, NO_UNDER_TARGET, band, contract, decl, labelled, rulebook, six_months

# RECT's examples: price £800, 40% service (£320), set-up £500, band A capacity 100
RECT_A = Band("A", 1, 100, D(800), D(60), D(40))
RECT_B = Band("B", 101, 200, D(600), D(60), D(40))
PRO_RATA = {"threshold_percentage": 75, "reduction": "pro_rata", "recruited": "billable_started"}


def rules(**changes: object) -> ServiceFeeFile:
    """rules/service_fee.yaml as bundled (DfE: 100% over 29 payments, on every
    statement) with these top-level keys changed."""
    return rulebook(service_fee={"under_target": NO_UNDER_TARGET, **changes}).service_fee


def paid_by_position(name: str = "dfe_29_payments") -> ServiceFeeFile:
    """The bundled policy ``name`` selected, paid by month position."""
    policies = rulebook().service_fee.model_dump(mode="json")["policies"]
    policies[name]["paid_on"] = "month_position"
    return rules(selected=name, policies=policies)


DFE = rules()
SEED = rules(selected="seed_profile")  # 90% over 29 + 10% over 40, by month position


@pytest.mark.parametrize("target, total, deduction, monthly", [
    (100, D(32000), D(500), D("1086.21")),  # (32,000 − 500) / 29 = 1,086.2068...
    (150, D(44000), D(500), D("1500.00")),  # (44,000 − 500) / 29 = 1,500 exactly
    (50, D(16000), D(250), D("543.10")),    # (16,000 − 250) / 29 = 543.1034...
])
def test_rect_set_up_fee_examples(target, total, deduction, monthly):
    bands = (RECT_A, RECT_B)
    assert total_service_fee(bands, target) == total
    assert set_up_deduction(bands, target, D(500)) == deduction
    exact = monthly_service_fee(1, bands=bands, target=target, set_up_fee=D(500),
                                monthly_override=None, rules=DFE)
    assert exact == (total - deduction) / 29
    assert round_money(exact) == monthly


def test_the_1000_pound_participant_has_400_of_service_fee():
    assert total_service_fee((Band("A", 1, 10, D(1000), D(60), D(40)),), 1) == D(400)


def test_dfe_divides_by_29_and_pays_every_statement():
    kwargs = {"bands": (RECT_A,), "target": 100, "set_up_fee": D(0), "monthly_override": None,
              "rules": DFE}
    fees = [monthly_service_fee(m, **kwargs) for m in range(1, 35)]
    assert fees == [D(32000) / 29] * 34  # statements 30-34 too (ECF statement_calculator.rb)
    assert monthly_service_fee(30, **{**kwargs, "rules": paid_by_position()}) == 0


def test_seed_profile_months_1_to_29_and_30_to_40_add_up_to_100_percent():
    shares = [SEED.policy.share(m) for m in range(1, 42)]
    # months 1-29: 1/29 of 90% + 1/40 of 10% = 3.1034...% + 0.25% = 3.3534...%
    assert all(s == D(90) / 2900 + D(10) / 4000 for s in shares[:29])
    assert round(shares[0] * 100, 3) == D("3.353")
    # months 30-40: 0.25%, then nothing
    assert shares[29:40] == [D("0.0025")] * 11
    assert shares[40] == 0
    assert abs(sum(shares) - 1) < D("1e-25")
    # the seed's "97.25% by the end of these 29 months"
    assert round(sum(shares[:29]) * 100, 2) == D("97.25")


def test_seed_profile_pays_the_whole_service_fee_over_40_months():
    kwargs = {"bands": (Band("A", 1, 10, D(1000), D(60), D(40)),), "target": 10,
              "set_up_fee": D(0), "monthly_override": None, "rules": SEED}
    months = [monthly_service_fee(m, **kwargs) for m in range(1, 41)]
    assert round_money(months[0]) == D("134.14")  # 4,000 × 3.3534%
    assert months[29] == D("10.00")  # 4,000 × 0.25%
    assert abs(sum(months) - D(4000)) < D("1e-20")


def test_contract_monthly_fee_wins_on_the_paid_months():
    kwargs = {"bands": (RECT_A,), "target": 100, "set_up_fee": D(500),
              "monthly_override": D("2500.00")}
    assert monthly_service_fee(3, rules=DFE, **kwargs) == D("2500.00")
    assert monthly_service_fee(30, rules=DFE, **kwargs) == D("2500.00")
    assert monthly_service_fee(30, rules=SEED, **kwargs) == D("2500.00")
    assert monthly_service_fee(41, rules=SEED, **kwargs) == 0
    not_winning = rules(contract_monthly_fee_wins=False)
    assert monthly_service_fee(3, rules=not_winning, **kwargs) == D(31500) / 29


def test_under_target_pro_rata_reduction_and_none():
    pro_rata = rules(under_target=PRO_RATA)
    kwargs = {"bands": (RECT_A,), "target": 100, "set_up_fee": D(0), "monthly_override": None}
    # 74 of 100 recruited: under 75%, fee × 74/100
    assert monthly_service_fee(1, rules=pro_rata, recruited=74, **kwargs) == \
        D(32000) / 29 * 74 / 100
    # 75 is not under 75%
    assert monthly_service_fee(1, rules=pro_rata, recruited=75, **kwargs) == D(32000) / 29
    none = rules(under_target={**PRO_RATA, "reduction": "none"})
    assert monthly_service_fee(1, rules=none, recruited=10, **kwargs) == D(32000) / 29


def test_service_fee_on_every_statement_including_non_output_ones():
    terms = contract(LP, 2023, (band("A", 0, 100, D(800)),), recruitment_target=100,
                        set_up_fee=D(500))
    declarations, evaluation = labelled((decl("a", created="2024-04-05"), "billable"))
    calc = calculate(declarations, evaluation, six_months(terms))
    # January (no output fee) to May 2024: five statements, £1,086.21 each
    assert [(s.key.name, s.output_fee, s.service_fee) for s in calc.statements] == [
        ("January 2024", False, D("1086.21")), ("February 2024", True, D("1086.21")),
        ("March 2024", False, D("1086.21")), ("April 2024", False, D("1086.21")),
        ("May 2024", True, D("1086.21"))]
    assert calc.statements[0].net == D("1086.21")


def test_under_target_finding_says_what_the_policy_does():
    terms = contract(LP, 2023, (band("A", 0, 100, D(800)),), recruitment_target=100)
    declarations, evaluation = labelled(
        *[(decl(f"s{n}", created="2024-01-05"), "billable") for n in range(50)])
    calc = calculate(declarations, evaluation,
                     six_months(terms, service_fee={"under_target": PRO_RATA}))
    [reduced] = [f for f in calc.findings if f.code == "CALC_SERVICE_FEE_REDUCED"]
    assert (reduced.expected, reduced.actual) == (100, 50)
    # pro rata: 32,000 / 29 × 50 / 100 = 551.72
    assert calc.statements[0].service_fee == D("551.72")


def test_recruitment_is_counted_by_the_vocabularys_recruitment_type():
    """rules/vocabulary.yaml recruitment_type: the 50 starts recruit 50 of 100 (pro rata,
    551.72 as above); with retained-1 as the type recruitment is counted by, the same
    starts recruit none: 32,000 / 29 × 0 / 100 = 0.00."""
    terms = contract(LP, 2023, (band("A", 0, 100, D(800)),), recruitment_target=100)
    declarations, evaluation = labelled(
        *[(decl(f"s{n}", created="2024-01-05"), "billable") for n in range(50)])

    def reduced(**vocabulary):
        calc = calculate(declarations, evaluation, six_months(
            terms, service_fee={"under_target": PRO_RATA}, vocabulary=vocabulary))
        [finding] = [f for f in calc.findings if f.code == "CALC_SERVICE_FEE_REDUCED"]
        return finding.actual, calc.statements[0].service_fee

    assert reduced() == (50, D("551.72"))
    assert reduced(recruitment_type="retained-1") == (0, D("0.00"))
