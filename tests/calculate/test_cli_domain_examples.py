"""The rest of DOMAIN.md's worked examples, through ``reconcile expected --json``.

Harness and calendar facts as in test_cli_expected.py: cohort 2023 declarations
created before 2023-12-31 land on January 2024, those created in February 2024 on
April 2024 (the next output-fee statements).
"""

from decimal import Decimal

from tests.calculate.test_cli_expected import LP, lines, row, run_expected, statement


def contract_text(bands: str, *, target: int, set_up_fee: int = 0, monthly: str | None = None,
                  vat: bool = False) -> str:
    text = (f"lead_provider: {LP}\ncohort: 2023\nvat_chargeable: {str(vat).lower()}\n"
            f"recruitment_target: {target}\nset_up_fee: {set_up_fee}\nuplift_amount: 100\n")
    if monthly is not None:
        text += f"monthly_service_fee: {monthly}\n"
    return text + "bands:\n" + bands


def test_seed_2100_previous_2000_current_fill_b_1900_and_c_100(tmp_path):
    # Seed 002: bands A 0-2000, B 2000-4000 (2001 on), C 4001 up to 115% of target.
    bands = ("  - {name: A, min: 0, max: 2000, per_participant: 1000}\n"
             "  - {name: B, min: 2001, max: 4000, per_participant: 900}\n"
             "  - {name: C, min: 4001, max: 4600, per_participant: 800}\n")
    previous = [row(f"p{n:04}") for n in range(2100)]
    current = [row(f"c{n:04}", created="2024-02-10T09:00:00Z") for n in range(2000)]
    result, data = run_expected(tmp_path, previous + current,
                                contract_text(bands, target=4000, monthly="0"))
    assert result.exit_code == 0, result.output
    # started = 20% of the 60% output part: A 120.00, B 108.00, C 96.00
    assert lines(statement(data, "January 2024")["expected"]["output_payments"]) == [
        ("ect", "started", "A", 2000, "120.00", "240000.00"),
        ("ect", "started", "B", 100, "108.00", "10800.00")]
    assert lines(statement(data, "April 2024")["expected"]["output_payments"]) == [
        ("ect", "started", "B", 1900, "108.00", "205200.00"),
        ("ect", "started", "C", 100, "96.00", "9600.00")]


RECT_BANDS = ("  - {name: A, min: 0, max: 100, per_participant: 800}\n"
              "  - {name: B, min: 101, max: 200, per_participant: 600}\n")


def _monthly_service_fee(tmp_path, target: int) -> str:
    result, data = run_expected(tmp_path, [row("a")],
                                contract_text(RECT_BANDS, target=target, set_up_fee=500))
    assert result.exit_code in (0, 1), result.output
    fees = {s["expected"]["service_fee"] for s in data["statements"]}
    assert len(fees) == 1, fees  # the same on every statement, output-fee or not
    return fees.pop()


def test_service_fee_target_100_is_32000_less_500_over_29(tmp_path):
    # 100 x (800 x 40%) = 32,000; set-up deduction 100 x 500 / 100 = 500
    assert _monthly_service_fee(tmp_path, 100) == "1086.21"  # 31,500 / 29 = 1086.2069


def test_service_fee_target_150_adds_band_b(tmp_path):
    # 32,000 + 50 x (600 x 40%) = 44,000; less 500; / 29 = 1500.00
    assert _monthly_service_fee(tmp_path, 150) == "1500.00"


def test_service_fee_target_50_deducts_half_the_set_up_fee(tmp_path):
    # 50 x 320 = 16,000; set-up deduction 50 x 500 / 100 = 250; 15,750 / 29 = 543.1034
    assert _monthly_service_fee(tmp_path, 50) == "543.10"


def test_the_1000_pound_participant_breakdown(tmp_path):
    bands = "  - {name: A, min: 0, max: 10, per_participant: 1000}\n"
    types = ["started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
             "extended-1"]
    rows = [row(f"d{n}", type_=t) for n, t in enumerate(types)]
    result, data = run_expected(tmp_path, rows, contract_text(bands, target=1))
    assert result.exit_code in (0, 1), result.output  # dates outside windows are flagged
    january = statement(data, "January 2024")["expected"]
    fees = {ln["declaration_type"]: ln["fee_per_declaration"] for ln in january["output_payments"]}
    assert fees == {"started": "120.00", "retained-1": "90.00", "retained-2": "90.00",
                    "retained-3": "90.00", "retained-4": "90.00", "completed": "120.00",
                    "extended-1": "90.00"}
    core = sum(Decimal(fees[t]) for t in types[:6])
    assert core == Decimal("600.00")  # the output part; the service fee is the other 400
    # service fee: 1 participant x 400, paid over 29 statements
    assert january["service_fee"] == "13.79"


def test_clawback_larger_than_the_statements_additions(tmp_path):
    # bands of 2 (A 400, B 300, C 200, D 100): January 2024 pays 4 starts (A 2, B 2).
    # April 2024: 1 new start (C) and 3 January starts clawed back. Refunds come off this
    # statement's additions first (C 1), then the previous fill top down (B 2).
    january = [row(f"j{n}") for n in range(4)]
    january = [row(f"j{n}", state="clawed-back", clawback="April 2024") if n < 3 else r
               for n, r in enumerate(january)]
    april = [row("a0", created="2024-02-10T09:00:00Z")]
    result, data = run_expected(tmp_path, january + april)
    assert result.exit_code == 0, result.output
    out = statement(data, "April 2024")["expected"]
    assert lines(out["output_payments"]) == [("ect", "started", "C", 1, "24.00", "24.00")]
    assert sorted(lines(out["clawbacks"])) == [
        ("ect", "started", "B", 2, "36.00", "-72.00"),
        ("ect", "started", "C", 1, "24.00", "-24.00")]
    assert out["net"] == "-72.00"  # 24 - 24 - 72; the contract has no service fee
