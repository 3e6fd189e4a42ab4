"""DfE's own spec examples, translated into reconcile inputs: they agree to the penny.

Each scenario below is one example of DfE's spec suites (early-careers-framework,
"ECF", and register-early-career-teachers-public, "RECT"), written as declarations
and a contract, the figures worked by hand beside it; the comment names the spec file
and its context. Every scenario has a lead provider (and contract) of its own, so the
whole lot runs through ``reconcile expected`` once.

Statements (rules/calendars.yaml): cohort 2023 pays output fees on January 2024,
April 2024 and August 2024 (DfE's "two months ago", "one month ago" and "this"
statement); cohort 2025 on January 2026 and April 2026. The worked RECT service-fee
examples (spec/services/payment_calculator/service_fees_spec.rb) are in
test_cli_domain_examples.py.
"""

from __future__ import annotations

import pytest

from tests.calculate.test_cli_expected import row, run_expected

CREATED = {(2023, "January 2024"): "2023-10-05T09:00:00Z",
           (2023, "April 2024"): "2024-02-10T09:00:00Z",
           (2023, "August 2024"): "2024-05-10T09:00:00Z",
           (2025, "January 2026"): "2025-09-12T09:00:00Z",
           (2025, "April 2026"): "2026-02-12T09:00:00Z"}
DATE = {2023: "2023-10-02", 2025: "2025-09-10"}

#: ECF's call_off_contract factory :with_minimal_bands (spec/factories/call_off_contract.rb):
#: A up to 2 £400, B 3-4 £300, C 5-6 £200, D 7-8 £100, all 60% output (the table's
#: default): started fees 20% x 60% x price = A £48, B £36, C £24, D £12
ECF_MINIMAL = ["{name: A, min: 0, max: 2, per_participant: 400}",
               "{name: B, min: 3, max: 4, per_participant: 300}",
               "{name: C, min: 5, max: 6, per_participant: 200}",
               "{name: D, min: 7, max: 8, per_participant: 100}"]
#: RECT's specs: three bands of capacity 2, fee 100, output ratio 0.75: started £15
RECT_BANDS = [f"{{name: {n}, min: {lo}, max: {hi}, per_participant: 100, "
              "output_payment_percentage: 75, service_fee_percentage: 25}"
              for n, lo, hi in (("A", 0, 2), ("B", 3, 4), ("C", 5, 6))]


def contract(lp: str, bands: list[str], *, cohort: int = 2023, target: int = 8,
             monthly: str | None = "0", uplift: str | None = "100", vat: bool = False,
             mentor: str | None = None, set_up_fee: int = 0) -> str:
    text = (f"lead_provider: {lp}\ncohort: {cohort}\nvat_chargeable: {str(vat).lower()}\n"
            f"recruitment_target: {target}\nset_up_fee: {set_up_fee}\n"
            f"monthly_service_fee: {monthly if monthly is not None else 'null'}\n"
            f"uplift_amount: {uplift if uplift is not None else 'null'}\n")
    if mentor is not None:
        text += f"mentor:\n  payment_per_participant: {mentor}\n"
    return text + "bands:\n" + "".join(f"  - {b}\n" for b in bands)


def d(lp: str, n: int, on: str, *, cohort: int = 2023, state: str = "paid",
      clawback: str = "", uplift: bool = False, mentor: bool = False,
      type_: str = "started", participant: str | None = None) -> str:
    """A declaration of ``lp`` submitted for statement ``on`` (clawed back on ``clawback``)."""
    if clawback and state == "paid":
        state = "clawed-back"
    text = row(f"{lp}-{n}", type_=type_, date=DATE[cohort], state=state, cohort=cohort,
               lp=lp, created=CREATED[(cohort, on)], clawback=clawback,
               uplift="true" if uplift else "false",
               course="ecf-mentor" if mentor else "ecf-induction")
    return text.replace(f"part-{lp}-{n},", f"part-{participant},") if participant else text


JAN, APR, AUG = "January 2024", "April 2024", "August 2024"
SCENARIOS: dict[str, tuple[str, list[str]]] = {}


def scenario(lp: str, contract_text: str, rows: list[str]) -> None:
    SCENARIOS[lp] = (contract_text, rows)


# --- ECF spec/services/finance/ecf/banding_calculator_spec.rb (ECTs and mentors banded
#     together; the minimal bands) -------------------------------------------------------
# "when band A overflows to band B": 1 ECT + 2 mentors -> A 2, B 1
scenario("EcfOverflow", contract("EcfOverflow", ECF_MINIMAL),
         [d("EcfOverflow", 0, AUG), *(d("EcfOverflow", n, AUG, mentor=True) for n in (1, 2))])
# "when overfilled all bands": 4 ECTs + 5 mentors -> 2, 2, 2, 2 (one beyond D, unpaid)
scenario("EcfOverfilled", contract("EcfOverfilled", ECF_MINIMAL),
         [d("EcfOverfilled", n, AUG, mentor=n >= 4) for n in range(9)])
# "previous statement totally filling the band": 1 ECT + 1 mentor before, 1 mentor now -> B 1
scenario("EcfPrevFull", contract("EcfPrevFull", ECF_MINIMAL),
         [d("EcfPrevFull", 0, APR), d("EcfPrevFull", 1, APR, mentor=True),
          d("EcfPrevFull", 2, AUG, mentor=True)])
# "previous statement filled band A and B, current statement overfilling to band C and D":
# 2 + 2 before, 1 + 2 now -> C 2, D 1
scenario("EcfToCD", contract("EcfToCD", ECF_MINIMAL),
         [*(d("EcfToCD", n, APR, mentor=n >= 2) for n in range(4)),
          *(d("EcfToCD", n, AUG, mentor=n >= 5) for n in range(4, 7))])
# "when there are clawbacks" / "when there are no additions": 4 paid a month ago (A 2,
# B 2), 2 of them clawed back now -> subtractions B 2 (-2 x £36 = -£72)
scenario("EcfClawOnly", contract("EcfClawOnly", ECF_MINIMAL),
         [*(d("EcfClawOnly", n, APR, mentor=n >= 2, clawback=AUG if n in (1, 2) else "")
            for n in range(4))])
# "when there are 3 additions": as above and 3 new now -> additions C 2, D 1 (£48 + £12),
# subtractions C 1, D 1 (-£24 - £12)
scenario("EcfClaw3", contract("EcfClaw3", ECF_MINIMAL),
         [*(d("EcfClaw3", n, APR, mentor=n >= 2, clawback=AUG if n in (1, 2) else "")
            for n in range(4)),
          *(d("EcfClaw3", n, AUG, mentor=n >= 5) for n in range(4, 7))])
# "when clawbacks present in 3 consecutive statements": 4 two months ago; 4 a month ago
# and 1 clawback (of two months ago); 4 now and 2 clawbacks (one of each).
#   one month ago: fill 4 (A 2, B 2), additions C 2, D 2, subtractions D 1
#   now: fill 8 - 1 = 7 (A 2, B 2, C 2, D 1): additions D 1 (3 unpaid), subtractions D 2
#        (the new one, then the fill's): £12 - 2 x £12 = -£12
scenario("Ecf3Stmts", contract("Ecf3Stmts", ECF_MINIMAL),
         [d("Ecf3Stmts", 0, JAN, clawback=APR), d("Ecf3Stmts", 1, JAN, clawback=AUG),
          *(d("Ecf3Stmts", n, JAN, mentor=True) for n in (2, 3)),
          d("Ecf3Stmts", 4, APR, clawback=AUG), d("Ecf3Stmts", 5, APR),
          *(d("Ecf3Stmts", n, APR, mentor=True) for n in (6, 7)),
          *(d("Ecf3Stmts", n, AUG, mentor=n >= 10) for n in range(8, 12))])
# "when there is a clawback followed by a declaration again": paid two months ago (A 1),
# clawed back a month ago (subtraction A 1), declared again now -> A 1 again
scenario("EcfAgain", contract("EcfAgain", ECF_MINIMAL),
         [d("EcfAgain", 0, JAN, clawback=APR),
          d("EcfAgain", 1, AUG, state="payable", participant="EcfAgain-0")])

# --- ECF uplift: spec/services/finance/ecf/uplift_calculator_spec.rb (combined: ECTs and
#     mentors) and ect/uplift_calculator_spec.rb (mentor funding: ECTs only), "when there
#     are uplifts for three consecutive statements": 2 ECTs + 2 mentors with the uplift
#     each time; one ECT of two months ago clawed back a month ago, one of two months ago
#     and one of a month ago clawed back now


def _uplift_rows(lp: str) -> list[str]:
    return [d(lp, 0, JAN, uplift=True, clawback=APR), d(lp, 1, JAN, uplift=True, clawback=AUG),
            *(d(lp, n, JAN, uplift=True, mentor=True) for n in (2, 3)),
            d(lp, 4, APR, uplift=True, clawback=AUG), d(lp, 5, APR, uplift=True),
            *(d(lp, n, APR, uplift=True, mentor=True) for n in (6, 7)),
            *(d(lp, n, AUG, uplift=True, mentor=n >= 10) for n in range(8, 12))]


BIG = ["{name: A, min: 0, max: 100, per_participant: 400}"]
scenario("EcfUpliftAll", contract("EcfUpliftAll", BIG), _uplift_rows("EcfUpliftAll"))
scenario("EcfUpliftEct", contract("EcfUpliftEct", BIG, mentor="1000"),
         _uplift_rows("EcfUpliftEct"))

# --- ECF spec/support/shared_examples/finance_statement_calculators_support.rb
#     "#service_fee": the call_off_contract factory (target 6,000, set-up fee £149,651,
#     A up to 2,000 £995, B 2,001-4,000 £979, C 4,001-6,000 £966):
#       A 2,000 x (£398 - £149,651 / 2,000) = 2,000 x £323.1745 = £646,349
#       B 2,000 x £391.60 = £783,200;  C 2,000 x £386.40 = £772,800
#       (£646,349 + £783,200 + £772,800) / 29 = £2,202,349 / 29 = £75,943.07 a month;
#     "when monthly_service_fee is set on contract": £123.45
FACTORY = ["{name: A, min: 0, max: 2000, per_participant: 995}",
           "{name: B, min: 2001, max: 4000, per_participant: 979}",
           "{name: C, min: 4001, max: 6000, per_participant: 966}"]
scenario("EcfServiceFee", contract("EcfServiceFee", FACTORY, target=6000, monthly=None,
                                   set_up_fee=149651), [d("EcfServiceFee", 0, JAN)])
scenario("EcfMonthlyFee", contract("EcfMonthlyFee", FACTORY, target=6000, monthly="123.45",
                                   set_up_fee=149651), [d("EcfMonthlyFee", 0, JAN)])

# --- ECF spec/services/finance/ecf/mentor/statement_calculator_spec.rb "#total": started
#     additions 5, subtractions 2; completed additions 3, subtractions 1; £500 each (50% of
#     £1,000): 8 x £500 - 3 x £500 = £2,500; with VAT (20%) £3,000
J26, A26 = "January 2026", "April 2026"
M = "EcfMentor"
scenario(M, contract(M, BIG, cohort=2025, uplift=None, mentor="1000", vat=True),
         [*(d(M, n, J26, cohort=2025, mentor=True, clawback=A26) for n in (0, 1)),
          d(M, 2, J26, cohort=2025, mentor=True, type_="completed", clawback=A26),
          *(d(M, n, A26, cohort=2025, mentor=True) for n in range(3, 8)),
          *(d(M, n, A26, cohort=2025, mentor=True, type_="completed") for n in range(8, 11))])

# --- RECT spec/services/payment_calculator/banded/band_allocator_spec.rb (bands of
#     capacity 2; an awaiting-clawback declaration is billable and refundable on the
#     current statement). Started fee here: 20% x 75% x £100 = £15.
# "when refundable declarations drain from highest band first": 3 before; now 2 awaiting
# clawback -> billable B 1, C 1; refundable C 1, B 1 (£30 - £30)
R = "RectDrain"
scenario(R, contract(R, RECT_BANDS),
         [*(d(R, n, JAN) for n in range(3)),
          *(d(R, n, AUG, state="awaiting-clawback", clawback=AUG) for n in (3, 4))])
# "with previous refundable freeing capacity": before, 3 eligible + 1 awaiting clawback
# (net 3: A 2, B 1); now 3 eligible + 1 awaiting -> billable B 1, C 2 (1 dropped),
# refundable C 1: £45 - £15
R = "RectFreeing"
scenario(R, contract(R, RECT_BANDS),
         [*(d(R, n, JAN, state="eligible") for n in range(3)),
          d(R, 3, JAN, state="awaiting-clawback", clawback=JAN),
          *(d(R, n, AUG, state="eligible") for n in range(4, 7)),
          d(R, 7, AUG, state="awaiting-clawback", clawback=AUG)])
# "when refundable exceeds billable": 1 before; now 3 awaiting -> billable A 1, B 2;
# refundable B 2, A 1: £45 - £45
R = "RectExceeds"
scenario(R, contract(R, RECT_BANDS),
         [d(R, 0, JAN), *(d(R, n, AUG, state="awaiting-clawback", clawback=AUG)
                          for n in (1, 2, 3))])
# "when multiple declaration types are present": 3 started and 1 completed -> started A 2,
# B 1; completed A 1 (each type fills the bands on its own)
R = "RectTypes"
scenario(R, contract(R, RECT_BANDS),
         [*(d(R, n, AUG) for n in range(3)), d(R, 3, AUG, type_="completed")])
# banded/outputs_spec.rb: 1 eligible before; now 4 eligible + 2 awaiting clawback:
# billable 6 -> A 1, B 2, C 2 (one dropped) = 5 x £15 = £75; refundable 2 x £15 = £30;
# net £45
R = "RectOutputs"
scenario(R, contract(R, RECT_BANDS),
         [d(R, 0, JAN, state="eligible"), *(d(R, n, AUG, state="eligible") for n in range(1, 5)),
          *(d(R, n, AUG, state="awaiting-clawback", clawback=AUG) for n in (5, 6))])
# banded/uplifts_spec.rb (£125 a declaration): eligible, payable and paid starts with an
# uplift flag, one awaiting clawback with it (billable and refundable), one eligible
# without, one not billable with it: billable 4 x £125 = £500, refundable £125, net £375
R = "RectUplifts"
scenario(R, contract(R, BIG, uplift="125"),
         [d(R, 0, AUG, state="eligible", uplift=True), d(R, 1, AUG, state="payable", uplift=True),
          d(R, 2, AUG, uplift=True), d(R, 3, AUG, state="awaiting-clawback", clawback=AUG,
                                       uplift=True),
          d(R, 4, AUG, state="eligible"), d(R, 5, AUG, state="submitted", uplift=True)])
# banded_spec.rb "#total_amount": outputs £200 + uplifts £50 + monthly service fee £1,000 =
# £1,250; VAT registered at 20% -> £1,500; not registered -> £1,250 (one start at 20% of
# £1,000, all output, with a £50 uplift)
for lp, vat in (("RectTotalVat", True), ("RectTotalNoVat", False)):
    scenario(lp, contract(lp, ["{name: A, min: 0, max: 100, per_participant: 1000, "
                               "output_payment_percentage: 100, service_fee_percentage: 0}"],
                          monthly="1000", uplift="50", vat=vat),
             [d(lp, 0, AUG, uplift=True)])
# flat_rate/outputs_spec.rb (£100 a mentor, 50/50): started and completed in each of
# eligible, payable, paid (6 x £50 = £300); 2 started and 2 completed refunded
# (awaiting-clawback, clawed-back: 4 x £50 = £200); net £100
R = "RectFlat"
scenario(R, contract(R, BIG, cohort=2025, uplift=None, mentor="100"),
         [*(d(R, n, A26, cohort=2025, mentor=True, state=s, type_=t)
            for n, (s, t) in enumerate((s, t) for s in ("eligible", "payable", "paid")
                                       for t in ("started", "completed"))),
          *(d(R, 10 + n, J26, cohort=2025, mentor=True, state=s, type_=t, clawback=A26)
            for n, (s, t) in enumerate((s, t) for s in ("awaiting-clawback", "clawed-back")
                                       for t in ("started", "completed")))])


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    rows = [r for _contract, rs in SCENARIOS.values() for r in rs]
    outcome, data = run_expected(tmp_path_factory.mktemp("dfe-specs"), rows,
                                 *(c for c, _rows in SCENARIOS.values()), as_of="2026-05-01")
    assert outcome.exit_code in (0, 1), outcome.output
    return data


def on(data: dict, lp: str, name: str) -> dict:
    [found] = [s["expected"] for s in data["statements"]
               if s["lead_provider"] == lp and s["name"] == name]
    return found


def bands(lines: list[dict]) -> list[tuple]:
    """(declaration type, band, count, amount), ECTs and mentors of a band together, as
    DfE's combined statement shows them (ours has a line per participant type)."""
    from decimal import Decimal

    total: dict[tuple, list] = {}
    for ln in lines:
        entry = total.setdefault((ln["declaration_type"], ln["band"]), [0, Decimal(0)])
        entry[0] += ln["count"]
        entry[1] += Decimal(ln["amount"])
    return [(t, b, n, f"{amount:.2f}") for (t, b), (n, amount) in total.items()]


@pytest.mark.parametrize("lp, additions, subtractions", [
    ("EcfOverflow", [("A", 2, "96.00"), ("B", 1, "36.00")], []),
    ("EcfOverfilled", [("A", 2, "96.00"), ("B", 2, "72.00"), ("C", 2, "48.00"),
                       ("D", 2, "24.00")], []),
    ("EcfPrevFull", [("B", 1, "36.00")], []),
    ("EcfToCD", [("C", 2, "48.00"), ("D", 1, "12.00")], []),
    ("EcfClawOnly", [], [("B", 2, "-72.00")]),
    ("EcfClaw3", [("C", 2, "48.00"), ("D", 1, "12.00")], [("C", 1, "-24.00"),
                                                          ("D", 1, "-12.00")]),
    ("Ecf3Stmts", [("D", 1, "12.00")], [("D", 2, "-24.00")]),
    ("EcfAgain", [("A", 1, "48.00")], []),
])
def test_ecf_banding_calculator_spec(result, lp, additions, subtractions):
    august = on(result, lp, AUG)
    assert [(b, n, a) for _t, b, n, a in bands(august["output_payments"])] == additions
    assert sorted((b, n, a) for _t, b, n, a in bands(august["clawbacks"])) == subtractions


def test_ecf_banding_three_consecutive_statements_one_month_ago(result):
    april = on(result, "Ecf3Stmts", APR)
    assert [(b, n) for _t, b, n, _a in bands(april["output_payments"])] == [("C", 2), ("D", 2)]
    assert [(b, n) for _t, b, n, _a in bands(april["clawbacks"])] == [("D", 1)]
    assert [(b, n) for _t, b, n, _a in bands(on(result, "EcfAgain", APR)["clawbacks"])] == [
        ("A", 1)]


@pytest.mark.parametrize("lp, counts", [
    # (two months ago +, one month ago +/-, now +/-)
    ("EcfUpliftAll", (4, 4, 1, 4, 2)),  # uplift_calculator_spec.rb: ECTs and mentors
    ("EcfUpliftEct", (2, 2, 1, 2, 2)),  # ect/uplift_calculator_spec.rb: ECTs only
])
def test_ecf_uplift_calculator_specs(result, lp, counts):
    jan, apr, aug = (on(result, lp, name) for name in (JAN, APR, AUG))
    assert (jan["uplift"]["count"], apr["uplift"]["count"], apr["uplift_clawback"]["count"],
            aug["uplift"]["count"], aug["uplift_clawback"]["count"]) == counts
    assert aug["uplift"]["amount"] == f"{counts[3] * 100}.00"  # £100 each
    assert aug["uplift_clawback"]["amount"] == f"-{counts[4] * 100}.00"


def test_ecf_statement_calculator_service_fee(result):
    assert on(result, "EcfServiceFee", JAN)["service_fee"] == "75943.07"
    assert on(result, "EcfMonthlyFee", JAN)["service_fee"] == "123.45"


def test_ecf_mentor_statement_calculator_total(result):
    april = on(result, M, A26)
    assert (april["net"], april["vat"], april["total"]) == ("2500.00", "500.00", "3000.00")


@pytest.mark.parametrize("lp, outputs, clawbacks, net", [
    ("RectDrain", [("started", "B", 1, "15.00"), ("started", "C", 1, "15.00")],
     [("started", "B", 1, "-15.00"), ("started", "C", 1, "-15.00")], "0.00"),
    ("RectFreeing", [("started", "B", 1, "15.00"), ("started", "C", 2, "30.00")],
     [("started", "C", 1, "-15.00")], "30.00"),
    ("RectExceeds", [("started", "A", 1, "15.00"), ("started", "B", 2, "30.00")],
     [("started", "A", 1, "-15.00"), ("started", "B", 2, "-30.00")], "0.00"),
    ("RectTypes", [("started", "A", 2, "30.00"), ("started", "B", 1, "15.00"),
                   ("completed", "A", 1, "15.00")], [], "60.00"),
    ("RectOutputs", [("started", "A", 1, "15.00"), ("started", "B", 2, "30.00"),
                     ("started", "C", 2, "30.00")], [("started", "C", 2, "-30.00")], "45.00"),
])
def test_rect_band_allocator_and_outputs_specs(result, lp, outputs, clawbacks, net):
    august = on(result, lp, AUG)
    assert bands(august["output_payments"]) == outputs
    assert sorted(bands(august["clawbacks"])) == clawbacks
    assert august["net"] == net


def test_rect_uplifts_spec(result):
    august = on(result, "RectUplifts", AUG)
    assert august["uplift"] == {"count": 4, "amount": "500.00"}
    assert august["uplift_clawback"] == {"count": 1, "amount": "-125.00"}


@pytest.mark.parametrize("lp, vat, total", [("RectTotalVat", "250.00", "1500.00"),
                                             ("RectTotalNoVat", "0.00", "1250.00")])
def test_rect_banded_spec_total_amount(result, lp, vat, total):
    august = on(result, lp, AUG)
    assert (august["net"], august["vat"], august["total"]) == ("1250.00", vat, total)


def test_rect_flat_rate_outputs_spec(result):
    april = on(result, "RectFlat", A26)
    assert sum(int(ln["count"]) for ln in april["output_payments"]) == 6
    assert [ln["amount"] for ln in april["output_payments"]] == ["150.00", "150.00"]
    assert sorted(ln["amount"] for ln in april["clawbacks"]) == ["-100.00", "-100.00"]
    assert april["net"] == "100.00"
