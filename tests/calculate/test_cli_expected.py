"""DOMAIN.md's worked examples through the command line: ``reconcile expected``.

Each test writes a declarations CSV and a rules folder (a copy of the bundled
rules with the test's own contracts), runs ``reconcile expected --declarations X.csv
--rules DIR --json out.json --as-of ...`` and reads the JSON (INTERFACES.md §5).

Cohort 2023's calendar (rules/calendars.yaml): output-fee statements January 2024
(cut-off 2023-12-31), April 2024 (2024-03-31), August 2024 (2024-07-31); its
started milestone runs 2023-06-01 to 2023-12-31. Cohort 2025: January 2026
(2025-12-31), April 2026 (2026-03-31); no milestone end dates.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.paths import bundled_rules_dir

LP = "Test Teaching Trust"
BANDS_OF_TWO = """\
bands:
  - {name: A, min: 0, max: 2, per_participant: 400}
  - {name: B, min: 3, max: 4, per_participant: 300}
  - {name: C, min: 5, max: 6, per_participant: 200}
  - {name: D, min: 7, max: 8, per_participant: 100, output_payment_percentage: 100, service_fee_percentage: 0}
"""
HEADER = ("declaration_id,participant_id,course_identifier,declaration_type,declaration_date,"
          "state,cohort,lead_provider,created_at,statement_name,clawback_statement_name,"
          "pupil_premium_uplift,delivery_partner_id")
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def contract(cohort=2023, lead_provider=LP, vat=True, uplift="100", monthly="0",
             mentor=None) -> str:
    text = (f"lead_provider: {lead_provider}\ncohort: {cohort}\nvat_chargeable: {str(vat).lower()}\n"
            f"recruitment_target: 8\nmonthly_service_fee: {monthly}\n")
    if uplift is not None:
        text += f"uplift_amount: {uplift}\n"
    if mentor is not None:
        text += f"mentor:\n  payment_per_participant: {mentor}\n"
    return text + BANDS_OF_TWO


def row(declaration_id, *, type_="started", date="2023-10-02", state="paid", cohort=2023,
        lp=LP, created="2023-10-05T09:00:00Z", statement="", clawback="", uplift="false",
        course="ecf-induction"):
    return (f"{declaration_id},part-{declaration_id},{course},{type_},{date},{state},{cohort},"
            f"{lp},{created},{statement},{clawback},{uplift},dp-1")


def run_expected(tmp_path: Path, rows, *contracts, as_of="2024-09-01"):
    rules = tmp_path / "rules"
    if not rules.exists():
        shutil.copytree(bundled_rules_dir(), rules)
    for old in (rules / "contracts").glob("*.yaml"):
        old.unlink()
    for n, text in enumerate(contracts or (contract(),)):
        (rules / "contracts" / f"c{n}.yaml").write_text(text, encoding="utf-8")
    csv = tmp_path / "declarations.csv"
    csv.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, [
        "expected", "--declarations", str(csv), "--rules", str(rules), "--json", str(out),
        "--as-of", as_of, "--quiet"])
    data = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    return result, data


def statement(data, name, lead_provider=LP):
    [found] = [s for s in data["statements"]
               if s["name"] == name and s["lead_provider"] == lead_provider]
    return found


def lines(block):
    return [(ln["participant_type"], ln["declaration_type"], ln["band"], ln["count"],
             ln["fee_per_declaration"], ln["amount"]) for ln in block]


def test_bands_of_two_previous_four_then_three(tmp_path):
    rows = [row(f"j{n}") for n in range(4)]
    rows += [row(f"a{n}", created="2024-02-10T09:00:00Z") for n in range(3)]
    result, data = run_expected(tmp_path, rows)
    assert result.exit_code == 0, result.output
    assert lines(statement(data, "January 2024")["expected"]["output_payments"]) == [
        ("ect", "started", "A", 2, "48.00", "96.00"), ("ect", "started", "B", 2, "36.00", "72.00")]
    assert lines(statement(data, "April 2024")["expected"]["output_payments"]) == [
        ("ect", "started", "C", 2, "24.00", "48.00"), ("ect", "started", "D", 1, "20.00", "20.00")]


def test_nine_with_no_previous_one_unpaid_and_the_finding(tmp_path):
    rows = [row(f"n{n}", date=f"2023-10-{10 + n}") for n in range(9)]
    result, data = run_expected(tmp_path, rows)
    assert result.exit_code == 0, result.output
    january = statement(data, "January 2024")["expected"]
    assert [(ln["band"], ln["count"]) for ln in january["output_payments"]] == [
        ("A", 2), ("B", 2), ("C", 2), ("D", 2)]
    [over] = [f for f in data["findings"] if f["code"] == "CALC_OVER_CAPACITY"]
    assert over["declaration_id"] == "n8" and over["statement"] == "January 2024"
    unpaid = [d for d in data["declarations"] if d["unpaid"]]
    assert [(d["declaration_id"], d["band"], d["fee"]) for d in unpaid] == [("n8", None, "0.00")]


def test_uplift_clawback_and_the_json_shape(tmp_path):
    rows = [row("u1", uplift="true"),
            row("c1", uplift="true", state="clawed-back", clawback="April 2024"),
            row("p1")]
    result, data = run_expected(tmp_path, rows)
    assert result.exit_code == 0, result.output
    january = statement(data, "January 2024")
    april = statement(data, "April 2024")
    assert january["expected"]["uplift"] == {"count": 2, "amount": "200.00"}
    assert april["expected"]["uplift_clawback"] == {"count": 1, "amount": "-100.00"}
    # same declaration date and created_at, so by id: c1 and p1 fill A, u1 B; c1 was
    # paid in A at £48 and comes off the top of the fill, B, at £36
    assert lines(april["expected"]["clawbacks"]) == [("ect", "started", "B", 1, "36.00", "-36.00")]
    # net = -36 - 100, VAT 20% = -27.20
    assert (april["expected"]["net"], april["expected"]["vat"], april["expected"]["total"]) == (
        "-136.00", "-27.20", "-163.20")
    # the clawed-back declaration counts once + (January) and once - (April)
    assert sorted((d["statement"], d["kind"], d["fee"], d["uplift"])
                  for d in data["declarations"] if d["declaration_id"] == "c1") == [
        ("April 2024", "clawback", "-36.00", "-100.00"),
        ("January 2024", "output", "48.00", "100.00")]
    # INTERFACES.md §5
    for s in data["statements"]:
        assert {"lead_provider", "cohort", "name", "statement_id", "payment_date",
                "output_fee", "expected", "dfe"} <= set(s)
        assert s["dfe"] is None and isinstance(s["cohort"], int)
        e = s["expected"]
        assert {"output_payments", "clawbacks", "uplift", "uplift_clawback", "service_fee",
                "adjustments", "net", "vat", "total"} <= set(e)
        for money in (e["service_fee"], e["adjustments"], e["net"], e["vat"], e["total"],
                      e["uplift"]["amount"], *(ln["amount"] for ln in e["output_payments"])):
            assert MONEY.match(money), money
    payment_dates = [s["payment_date"] for s in data["statements"]]
    assert payment_dates == sorted(payment_dates)


@pytest.mark.parametrize("vat, expected_vat", [(True, "19.20"), (False, "0.00")])
def test_vat_on_and_off(tmp_path, vat, expected_vat):
    result, data = run_expected(tmp_path, [row("a"), row("b")], contract(vat=vat))
    assert result.exit_code == 0, result.output
    january = statement(data, "January 2024")["expected"]
    assert (january["net"], january["vat"]) == ("96.00", expected_vat)


def test_mentor_flat_rate_50_50(tmp_path):
    rows = [row("ms", cohort=2025, course="ecf-mentor", date="2025-09-10",
                created="2025-09-12T09:00:00Z"),
            row("mc", type_="completed", cohort=2025, course="ecf-mentor", date="2026-02-10",
                created="2026-02-12T09:00:00Z")]
    result, data = run_expected(tmp_path, rows,
                                contract(cohort=2025, uplift=None, mentor="1000"),
                                as_of="2026-05-01")
    assert result.exit_code == 0, result.output
    assert lines(statement(data, "January 2026")["expected"]["output_payments"]) == [
        ("mentor", "started", None, 1, "500.00", "500.00")]
    assert lines(statement(data, "April 2026")["expected"]["output_payments"]) == [
        ("mentor", "completed", None, 1, "500.00", "500.00")]


def test_statements_run_to_the_last_cut_off_before_as_of(tmp_path):
    # one declaration on January 2024; as_of 2024-09-01: the last cut-off on or before
    # it is September 2024's (2024-08-31)
    result, data = run_expected(tmp_path, [row("a")], as_of="2024-09-01")
    assert result.exit_code == 0, result.output
    names = [s["name"] for s in data["statements"]]
    assert names[0] == "November 2023" and names[-1] == "September 2024"


def test_lead_provider_required_with_several_providers(tmp_path):
    rows = [row("a", lp=""), row("b")]
    result, data = run_expected(tmp_path, rows, contract(), contract(lead_provider="Other One"))
    assert result.exit_code == 2
    assert data is None  # nothing written
    assert "lead_provider" in result.output and "Other One" in result.output
