"""Payment advice per month (issue 17): one payment's remittances, partners' names and
addresses from a partners file, and what DfE actually paid divided between partners.

The DfE-paid figures are worked by hand from docs/split-example.md's statement (the
bundled policy, the lead provider keeping 10%): expected amounts payable North Hub
£1,116.10, South Hub £909.14, East Hub £276.41 and the lead provider's £255.74, which
add up to the expected net of £2,557.39.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from reconcile import money
from reconcile.cli import main
from reconcile.errors import UsageError
from reconcile.paths import bundled_rules_dir
from reconcile.remittance import remittance_workbook
from reconcile.split import select_statements, split_json, split_payments
from reconcile.write import write_workbook
from tests.builders import (bundled_policy_text, calculation, key, split_rulebook, statement,
                            worked_calculation)
from tests.split.test_remittance import check_formulas
from tests.split.test_split_cli import CSV, EXAMPLES

D = Decimal
SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def worked(dfe_net: str, basis: str = "expected"):
    policy = bundled_policy_text(**{"percentage: 0": "percentage: 10",
                                    "basis: expected": f"basis: {basis}"})
    return split_payments(worked_calculation(), (), split_rulebook(policy),
                          dfe_nets={key(): D(dfe_net)})


# --------------------------------------------------------------------------- DfE-paid basis


def test_dfe_net_is_divided_in_proportion_to_the_expected_split_by_hand():
    """DfE paid £2,500.00 net where we expect £2,557.39. Each share is
    250,000p × its expected amount / 255,739p:
    North 111,610 → 109,105.377p, South 90,914 → 88,873.813p, East 27,641 → 27,020.713p,
    the lead provider 25,574 → 25,000.098p. Rounded down: 249,998p; the 2 pennies left
    go to the largest remainders, South (.813) and East (.713)."""
    (may,) = worked("2500.00").statements
    shares = {p.delivery_partner_id: p for p in may.partners}
    assert [shares[p].amount for p in ("dp-north", "dp-south", "dp-east")] == [
        D("1116.10"), D("909.14"), D("276.41")]
    assert may.retained == D("255.74")
    assert [shares[p].dfe_paid for p in ("dp-north", "dp-south", "dp-east")] == [
        D("1091.05"), D("888.74"), D("270.21")]
    assert may.dfe_retained == D("250.00")
    assert sum((p.dfe_paid for p in may.partners), may.dfe_retained) == D("2500.00")
    assert may.dfe_net == D("2500.00")
    # the bundled policy pays the expected amounts; DfE's share is shown beside them
    assert may.paid == "expected"
    assert [may.payable(shares[p]) for p in ("dp-north", "dp-south", "dp-east")] == [
        D("1116.10"), D("909.14"), D("276.41")]


def test_paid_basis_dfe_pays_the_dfe_shares_and_the_remittance_shows_both(tmp_path):
    result = worked("2500.00", basis="dfe")
    (may,) = result.statements
    north = next(p for p in may.partners if p.delivery_partner_id == "dp-north")
    assert may.paid == "dfe" and may.payable(north) == D("1091.05")
    assert may.payable_retained == D("250.00")
    data = split_json(result)["splits"][0]
    assert (data["dfe_net"], data["dfe_retained"], data["paid"]) == ("2500.00", "250.00", "dfe")
    assert [(p["amount"], p["dfe_paid"], p["payable"]) for p in data["partners"]] == [
        ("276.41", "270.21", "270.21"), ("1116.10", "1091.05", "1091.05"),
        ("909.14", "888.74", "888.74")]  # by id: dp-east, dp-north, dp-south

    path = tmp_path / "north.xlsx"
    write_workbook(remittance_workbook(result, "dp-north"), path)
    assert check_formulas(path) > 0
    sheet = openpyxl.load_workbook(path, data_only=True)["Remittance"]
    header = [c.value for c in sheet[6]]
    assert header[12:16] == ["Expected amount payable", "Your share of DfE's payment",
                             "Difference (DfE − expected)", "Amount paid"]
    row = [c.value for c in sheet[7]]
    assert row[12:16] == [1116.10, 1091.05, -25.05, 1091.05]  # 1091.05 − 1116.10
    formulas = openpyxl.load_workbook(path)["Remittance"]
    assert (formulas["O7"].value, formulas["P7"].value) == ("=N7-M7", "=N7")


def test_a_negative_expected_share_takes_its_part_of_dfe_net_with_its_sign():
    """East Hub owes money when its clawbacks exceed its earnings: proportion keeps the sign.
    Weights 150.00 and −50.00 (net 100.00); DfE paid 80.00: 80 × 150/100 = 120.00 and
    80 × (−50)/100 = −40.00."""
    assert money.prorate_exactly(D("80.00"), [D("150.00"), D("-50.00")]) == [
        D("120.00"), D("-40.00")]
    # 1 penny over 3 equal weights: the earliest takes it, the shares add up
    assert money.prorate_exactly(D("0.01"), [D(1), D(1), D(1)]) == [
        D("0.01"), D("0.00"), D("0.00")]


def test_dfe_paying_the_expected_net_pays_each_partner_its_expected_amount():
    result = split_payments(worked_calculation(), (), split_rulebook(bundled_policy_text()),
                            dfe_nets={key(): D("2557.39")})
    (may,) = result.statements
    assert all(p.dfe_paid == p.amount for p in may.partners)
    assert may.dfe_retained == may.retained == D("0.00")


def test_an_expected_net_of_zero_leaves_dfe_money_with_the_lead_provider():
    """A month where we expect nothing (no declarations, no service fee) but DfE paid
    £150.00: there is no proportion to divide it in, so the lead provider's share holds
    it, with a finding."""
    empty = calculation((statement((), service_fee="0"),), ())
    result = split_payments(empty, (), split_rulebook(bundled_policy_text()),
                            dfe_nets={key(): D("150.00")})
    (may,) = result.statements
    assert (may.net, may.dfe_net, may.dfe_retained) == (D("0.00"), D("150.00"), D("150.00"))
    [found] = [f for f in result.findings if f.code == "SPLIT_DFE_NOT_PRORATED"]
    assert (found.expected, found.actual, found.amount) == (D("0.00"), D("150.00"),
                                                            D("150.00"))


# --------------------------------------------------------------------------- one month


def cli(tmp_path, *extra):
    (tmp_path / "d.csv").write_text(CSV, encoding="utf-8")
    return CliRunner().invoke(main, ["split", "--declarations", str(tmp_path / "d.csv"),
                                     "--contracts", EXAMPLES, "--as-of", "2024-05-01", "-q",
                                     "--no-history", *extra])


def test_one_payment_month_only(tmp_path):
    everything = cli(tmp_path, "--json", str(tmp_path / "all.json"))
    assert everything.exit_code == 0, everything.output
    whole = json.loads((tmp_path / "all.json").read_text(encoding="utf-8"))
    assert len(whole["splits"]) > 2  # January to April 2024, output-fee or not
    result = cli(tmp_path, "--payment-month", "2024-04", "--json", str(tmp_path / "april.json"),
                 "--per-partner", str(tmp_path / "rem"))
    assert result.exit_code == 0, result.output
    april = json.loads((tmp_path / "april.json").read_text(encoding="utf-8"))
    assert [(s["statement"], s["payment_date"][:7]) for s in april["splits"]] == [
        ("April 2024", "2024-04")]
    # the same shares as in the whole split (the service fee's basis counts to date)
    assert april["splits"][0] == next(s for s in whole["splits"]
                                      if s["statement"] == "April 2024")
    north = openpyxl.load_workbook(tmp_path / "rem" / "remittance-north-hub.xlsx",
                                   data_only=True)
    statements = [r[2] for r in north["Remittance"].iter_rows(min_row=7, values_only=True)
                  if r[0] not in (None, "Total")][:1]
    assert statements == ["April 2024"]
    assert {r[2] for r in north["Declarations"].iter_rows(min_row=2, values_only=True)} == {
        "April 2024"}
    by_name = cli(tmp_path, "--statement", "april 2024", "--json", str(tmp_path / "b.json"))
    assert by_name.exit_code == 0, by_name.output
    assert json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["splits"] == april[
        "splits"]


def test_a_month_without_a_statement_is_a_usage_error_and_nothing_is_written(tmp_path):
    result = cli(tmp_path, "--payment-month", "2031-01", "--per-partner", str(tmp_path / "rem"))
    assert result.exit_code == 2
    assert "no statement of the split matches --payment-month 2031-01" in result.output
    assert "April 2024 (paid 2024-04)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "rem").exists()
    bad = cli(tmp_path, "--payment-month", "April", "--per-partner", str(tmp_path / "rem"))
    assert bad.exit_code == 2 and "write it as YYYY-MM" in bad.output


def test_select_statements_keeps_their_findings_only():
    result = worked("2500.00")
    assert select_statements(result) is result
    with pytest.raises(UsageError, match="May 2024"):
        select_statements(result, ("June 2024",))
    assert select_statements(result, (), ("2024-05",)).statements == result.statements


# --------------------------------------------------------------------------- partners file


PARTNERS = """\
delivery_partner_id,name,email,address
dp-north,North Teaching Hub,finance@north.example,"1 High Street, Leeds LS1 1AA"
dp-south,South Teaching Hub,,
"""


def test_names_and_addresses_from_a_partners_file(tmp_path):
    (tmp_path / "partners.csv").write_text(PARTNERS, encoding="utf-8")
    result = cli(tmp_path, "--partners", str(tmp_path / "partners.csv"),
                 "--payment-month", "2024-04", "--per-partner", str(tmp_path / "rem"),
                 "--json", str(tmp_path / "split.json"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "rem").iterdir()) == [
        "remittance-north-teaching-hub.xlsx", "remittance-south-teaching-hub.xlsx",
        "remittance-west-hub.xlsx"]
    sheet = openpyxl.load_workbook(tmp_path / "rem" / "remittance-north-teaching-hub.xlsx")[
        "Remittance"]
    assert sheet["A1"].value == "Remittance advice: North Teaching Hub"
    assert sheet["A3"].value == "finance@north.example; 1 High Street, Leeds LS1 1AA"
    data = json.loads((tmp_path / "split.json").read_text(encoding="utf-8"))
    assert data["partners"][0] == {"delivery_partner_id": "dp-north",
                                   "name": "North Teaching Hub",
                                   "email": "finance@north.example",
                                   "address": "1 High Street, Leeds LS1 1AA"}
    # West Hub is in the declarations, not in the file: said once, its name kept
    [missing] = [f for f in data["findings"] if f["code"] == "SPLIT_PARTNER_NOT_IN_FILE"]
    assert "West Hub (dp-west)" in missing["message"]


@pytest.mark.parametrize("text, where, what", [
    ("delivery_partner_id,name\ndp-north,North\ndp-north,Again\n",
     "row 3, column delivery_partner_id", "listed twice (also on row 2)"),
    ("delivery_partner_id,name,email\ndp-north,North,not-an-address\n",
     "row 2, column email", "'not-an-address' is not an email address"),
    ("partner,name\ndp-north,North\n", "row 1", "'delivery_partner_id' is missing"),
    ("delivery_partner_id,name\n,North\n", "row 2, column delivery_partner_id",
     "the delivery partner id is blank"),
])
def test_a_bad_partners_file_is_located_and_nothing_is_written(tmp_path, text, where, what):
    (tmp_path / "partners.csv").write_text(text, encoding="utf-8")
    result = cli(tmp_path, "--partners", str(tmp_path / "partners.csv"),
                 "--per-partner", str(tmp_path / "rem"))
    assert result.exit_code == 2, result.output
    assert f"partners.csv, {where}" in result.output and what in result.output
    assert "Traceback" not in result.output and not (tmp_path / "rem").exists()


def test_a_partners_xlsx_is_read_too(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Partners"
    sheet.append(["Delivery Partner ID", "Delivery Partner Name", "Email", "Address"])
    sheet.append(["dp-south", "South Teaching Hub", "pay@south.example", "2 Low Road"])
    book.save(tmp_path / "partners.xlsx")
    result = cli(tmp_path, "--partners", str(tmp_path / "partners.xlsx"),
                 "--json", str(tmp_path / "split.json"))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "split.json").read_text(encoding="utf-8"))
    assert data["partners"] == [{"delivery_partner_id": "dp-south", "name": "South Teaching Hub",
                                 "email": "pay@south.example", "address": "2 Low Road"}]


# --------------------------------------------------------------------------- end to end


def test_the_sample_month_pays_dfe_shares_adding_up_to_dfe_net(tmp_path):
    """The bundled sample with DfE's (planted) statements and ``paid: basis: dfe``: every
    statement of October 2025 pays exactly DfE's net between partners and provider."""
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules, ignore=shutil.ignore_patterns("contracts"))
    policy = rules / "split.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("basis: expected",
                                                                 "basis: dfe"), encoding="utf-8")
    result = CliRunner().invoke(main, [
        "split", "--declarations", str(SAMPLES / "declarations.xlsx"), "--dfe-statements",
        str(SAMPLES / "dfe-statements-planted.xlsx"), "--contracts", str(SAMPLES / "contracts"),
        "--rules", str(rules), "--as-of", "2026-10-10", "-q", "--no-history",
        "--payment-month", "2025-10", "--json", str(tmp_path / "split.json")])
    assert result.exit_code in (0, 1), result.output
    data = json.loads((tmp_path / "split.json").read_text(encoding="utf-8"))
    assert {s["statement"] for s in data["splits"]} == {"October 2025"}
    differing = 0
    for st in data["splits"]:
        assert st["paid"] == "dfe" and st["dfe_net"] is not None
        paid = sum((D(p["payable"]) for p in st["partners"]), D(st["dfe_retained"]))
        assert paid == D(st["dfe_net"]), st["statement"]
        differing += st["dfe_net"] != st["net"]
    # the sample's planted October 2025 count difference (Harbour Lane 2024)
    assert differing == 1
    assert dt.date.fromisoformat(data["splits"][0]["payment_date"]).month == 10


def test_cohorts_are_plain_years_in_every_split_workbook(tmp_path):
    """A cohort is a year (2023), never a count with a thousands separator (2,023)."""
    from reconcile.remittance import split_workbook

    result = worked("2500.00")
    write_workbook(remittance_workbook(result, "dp-north"), tmp_path / "north.xlsx")
    write_workbook(split_workbook(result), tmp_path / "split.xlsx")
    north = openpyxl.load_workbook(tmp_path / "north.xlsx")
    split = openpyxl.load_workbook(tmp_path / "split.xlsx")
    for cell in (north["Remittance"]["B7"], north["Declarations"]["B2"],
                 split["Declarations"]["B2"], split["Delivery partners"]["B2"]):
        assert (cell.value, cell.number_format) == (2023, "0"), cell.coordinate


def test_api_declarations_carry_ids_only_and_the_partners_file_names_them(tmp_path):
    """DfE's API gives a delivery partner's id only: without a partners file the
    remittances are titled by id; with one, by the names it gives."""
    api = SAMPLES / "api" / "harbour-lane-education-trust"
    common = ["split", "--declarations", str(api), "--lead-provider",
              "Harbour Lane Education Trust", "--contracts", str(SAMPLES / "contracts"),
              "--as-of", "2026-10-10", "-q", "--no-history", "--payment-month", "2025-10"]
    bare = CliRunner().invoke(main, [*common, "--json", str(tmp_path / "bare.json")])
    assert bare.exit_code in (0, 1), bare.output
    data = json.loads((tmp_path / "bare.json").read_text(encoding="utf-8"))
    ids = sorted({p["delivery_partner_id"] for s in data["splits"] for p in s["partners"]
                  if p["delivery_partner_id"]})
    assert ids and all(p["delivery_partner_name"] is None
                       for s in data["splits"] for p in s["partners"])
    rows = "".join(f"{pid},Partner {n} Hub,pay{n}@partner.example,{n} High Street\n"
                   for n, pid in enumerate(ids, start=1))
    (tmp_path / "partners.csv").write_text("delivery_partner_id,name,email,address\n" + rows,
                                           encoding="utf-8")
    named = CliRunner().invoke(main, [*common, "--partners", str(tmp_path / "partners.csv"),
                                      "--per-partner", str(tmp_path / "rem")])
    assert named.exit_code in (0, 1), named.output
    assert {p.name for p in (tmp_path / "rem").iterdir()} == {
        f"remittance-partner-{n}-hub.xlsx" for n in range(1, len(ids) + 1)}
    first = openpyxl.load_workbook(tmp_path / "rem" / "remittance-partner-1-hub.xlsx")[
        "Remittance"]
    assert first["A1"].value == "Remittance advice: Partner 1 Hub"
    assert first["A2"].value.endswith(f"(delivery partner id {ids[0]}).")
    assert first["A3"].value == "pay1@partner.example; 1 High Street"
