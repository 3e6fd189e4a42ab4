"""DfE's payment rules over time, through ``reconcile expected --json`` (docs/rules.md).

The service fee on every statement of the calendar, contract versions, uplift only for
banded participants, the counts DfE shows, the VAT rate and the previous-fill policy.
Harness: tests/calculate/test_cli_expected.py (the bundled rules with the test's
contracts).
"""

from decimal import Decimal as D

from tests.calculate.test_cli_expected import LP, row, run_expected

#: RECT's service-fee example: price £800, 40% service, set-up £500, band A of 100
RECT_A = "bands:\n  - {name: A, min: 0, max: 100, per_participant: 800}\n"


def contract_2021(extra: str = "", *, bands: str = RECT_A, target: int = 100) -> str:
    return (f"lead_provider: {LP}\ncohort: 2021\nvat_chargeable: false\n"
            f"recruitment_target: {target}\nset_up_fee: 500\nuplift_amount: 100\n"
            + bands + extra)


def test_service_fee_paid_on_statements_30_to_34_of_cohort_2021(tmp_path):
    # (100 x £320 - £500) / 29 = £31,500 / 29 = £1,086.2069 -> £1,086.21 a statement.
    # Cohort 2021's calendar has 34 statements (November 2021 .. September 2024);
    # DfE pays the fee on each (ECF statement_calculator.rb: 29 is only the divisor).
    rows = [row("a", cohort=2021, date="2021-10-02", created="2021-10-05T09:00:00Z")]
    result, data = run_expected(tmp_path, rows, contract_2021(), as_of="2024-10-01")
    assert result.exit_code in (0, 1), result.output
    mine = [s for s in data["statements"] if s["cohort"] == 2021]
    assert len(mine) == 34
    assert [(s["name"], s["expected"]["service_fee"]) for s in mine[29:]] == [
        ("May 2024", "1086.21"), ("June 2024", "1086.21"), ("July 2024", "1086.21"),
        ("August 2024", "1086.21"), ("September 2024", "1086.21")]
    # 34 x £1,086.21 = £36,931.14 over the calendar, not 29 x = £31,500.09
    assert sum(D(s["expected"]["service_fee"]) for s in mine) == D("36931.14")
