"""Money out of range is a located input error, never a crash (issue 12): the bound is
fees.yaml's ``largest_amount`` (£1,000,000,000), applied to every amount of a contract
(``rules check`` says where, file:line), a contract's whole value, DfE's statement
lines and totals (file, sheet, row, column) and DfE's contract CSVs."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal

import openpyxl
import pytest

from reconcile.paths import bundled_rules_dir
from reconcile.rulebook.load import load_rulebook
from tests.hostile.files import (
    CONTRACTS,
    DECLARATIONS_XLSX,
    STATEMENTS_XLSX,
    assert_refused,
    cli,
)

CONTRACT = (CONTRACTS / "example-teaching-institute-2023.yaml").read_text(encoding="utf-8")
FORTY_ONE_DIGITS = "12345678901234567890123456789012345678901"


def test_the_bound_is_the_rules_own_figure():
    assert load_rulebook().fees.largest_amount == Decimal(1_000_000_000)


def _contract(tmp_path, old: str, new: str):
    assert old in CONTRACT
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if text in line)


@pytest.mark.parametrize("value, shown", [
    ("1.0e30", "£1.0E+30"), ("1e999", "£1E+999"),
    (FORTY_ONE_DIGITS, "£" + FORTY_ONE_DIGITS), ("'1e999'", "£1E+999"),
    ("1000000000.01", "£1,000,000,000.01"),
])
@pytest.mark.parametrize("field, old", [
    ("bands[A].per_participant", "per_participant: 995"),
    ("uplift_amount", "uplift_amount: 100"),
    ("set_up_fee", "set_up_fee: 0"),
    ("monthly_service_fee", "monthly_service_fee: null"),
])
def test_contract_money_beyond_the_bound_is_a_rules_check_error_at_its_line(
        tmp_path, value, shown, field, old):
    name = old.split(":")[0]
    contract = _contract(tmp_path, old, f"{name}: {value}")
    result = cli("rules", "check", "--contracts", contract)
    line = _line_of(contract, f"{name}: {value}")
    assert_refused(result, f"contract.yaml:{line}: {field}: {shown} is more than "
                           "£1,000,000,000.00, the largest amount fees.yaml allows")
    assert "rulebook OK" not in result.stderr


def test_a_version_and_a_mentor_payment_beyond_the_bound_are_errors_too(tmp_path):
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT + "versions:\n  - from: March 2024\n"
                        "    uplift_amount: 1e999\n"
                        "mentor: {payment_per_participant: 2000000000}\n", encoding="utf-8")
    result = cli("rules", "check", "--contracts", contract)
    lines = contract.read_text(encoding="utf-8").splitlines()
    assert_refused(
        result,
        f"contract.yaml:{len(lines) - 1}: the version from March 2024: uplift_amount: £1E+999",
        f"contract.yaml:{len(lines)}: mentor.payment_per_participant: £2,000,000,000.00")


def test_the_bound_itself_is_accepted_and_a_contract_worth_more_is_not(tmp_path):
    # set-up fee exactly £1,000,000,000: allowed
    at_bound = _contract(tmp_path, "set_up_fee: 0", "set_up_fee: 1000000000")
    result = cli("rules", "check", "--contracts", at_bound)
    assert result.exit_code == 0, result.stderr
    # 201,005 participants x band A's £995 = £200,000,975 is fine; 1e49 of them is not:
    # 10^49 x £995 = £9.95 x 10^51
    huge = _contract(tmp_path, "recruitment_target: 4500", "recruitment_target: 1" + "0" * 49)
    result = cli("rules", "check", "--contracts", huge)
    assert_refused(result, f"contract.yaml:{_line_of(huge, 'recruitment_target')}: the "
                           "contract's value, recruitment_target 10,000,", "x band A's £995.00",
                   "more than £1,000,000,000.00")


def test_a_run_with_such_a_contract_stops_before_anything_is_written(tmp_path):
    contract = _contract(tmp_path, "per_participant: 995", "per_participant: 1.0e30")
    out, json_out = tmp_path / "r.xlsx", tmp_path / "r.json"
    result = cli("run", "--declarations", DECLARATIONS_XLSX, "--dfe-statements",
                 STATEMENTS_XLSX, "--contracts", contract, "--out", out, "--json", json_out)
    assert_refused(result, "contract.yaml:", "bands[A].per_participant: £1.0E+30",
                   outputs=(out, json_out))


@pytest.mark.parametrize("largest, says", [
    ("0", "largest_amount"), ("1e16", "largest_amount"), ("-5", "largest_amount")])
def test_the_bound_in_fees_yaml_is_checked_too(tmp_path, largest, says):
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules)
    fees = rules / "fees.yaml"
    text = fees.read_text(encoding="utf-8")
    fees.write_text(re.sub(r"(?m)^largest_amount: .*$", f"largest_amount: {largest}", text),
                    encoding="utf-8")
    line = _line_of(fees, "largest_amount: ")
    assert_refused(cli("rules", "check", str(rules)), f"fees.yaml:{line}", says)


# --------------------------------------------------------------------------- DfE's workbooks


def _dfe(tmp_path, cells: dict[tuple[str, str], object]):
    """DfE's statements workbook (two sheets, as reconcile template writes it) with
    some cells changed; a float stays a number cell, text a text cell."""
    book = openpyxl.load_workbook(STATEMENTS_XLSX)
    for (sheet, ref), value in cells.items():
        book[sheet][ref] = value
    path = tmp_path / "dfe.xlsx"
    book.save(path)
    return path


def _run(tmp_path, dfe):
    out, json_out = tmp_path / "r.xlsx", tmp_path / "r.json"
    return cli("run", "--declarations", DECLARATIONS_XLSX, "--dfe-statements", dfe,
               "--out", out, "--json", json_out, "-q"), (out, json_out)


@pytest.mark.parametrize("value, shown, beyond", [
    ("1e999", "'1e999'", "is more than £1,000,000,000.00"),       # text
    ("1" * 44, repr("1" * 44), "is more than £1,000,000,000.00"),  # 44 digits of text
    (-1e308, "'-1e+308'", "is below -£1,000,000,000.00"),         # a number cell
    (1e30, "'1e+30'", "is more than £1,000,000,000.00"),
    ("1000000000.01", "'1000000000.01'", "is more than £1,000,000,000.00"),
])
def test_a_dfe_amount_beyond_the_bound_is_a_located_input_error(tmp_path, value, shown,
                                                                 beyond):
    assert openpyxl.load_workbook(STATEMENTS_XLSX)["Lines"]["H1"].value == "amount"
    result, outputs = _run(tmp_path, _dfe(tmp_path, {("Lines", "H2"): value}))
    assert_refused(result, f"dfe.xlsx, sheet Lines, row 2, column amount (H): {shown} "
                           f"{beyond}", "fees.yaml largest_amount", outputs=outputs)


def test_every_such_cell_of_the_file_is_reported_at_once(tmp_path):
    book = openpyxl.load_workbook(STATEMENTS_XLSX)
    assert [c.value for c in book["Statements"][1]][9] == "total"
    assert book["Lines"]["G1"].value == "fee_per_declaration"
    dfe = _dfe(tmp_path, {("Statements", "J2"): "1e999", ("Lines", "G2"): "1" * 44,
                          ("Lines", "H3"): -1e308})
    result, outputs = _run(tmp_path, dfe)
    assert_refused(result, "sheet Statements, row 2, column total (J): '1e999'",
                   "sheet Lines, row 2, column fee_per_declaration (G)",
                   "sheet Lines, row 3, column amount (H): '-1e+308'", outputs=outputs)


def test_a_dfe_line_of_exactly_the_bound_is_read_and_compared(tmp_path):
    # DfE's first line (2 ECT starts in band A at £119.40 = £238.80) said to be a
    # clawback of £1,000,000,000: read exactly, and the difference shown to the penny
    dfe = _dfe(tmp_path, {("Lines", "H2"): -1_000_000_000})
    result, (out, json_out) = _run(tmp_path, dfe)
    assert result.exit_code == 1, result.stderr
    assert out.exists()
    findings = json.loads(json_out.read_text(encoding="utf-8"))["findings"]
    (line,) = [f for f in findings if f.get("line") == "output ect started band A"]
    # expected £238.80, DfE -£1,000,000,000.00: a difference of -£1,000,000,238.80
    assert (line["expected"], line["actual"], line["difference"]) == (
        "238.80", "-1000000000.00", "-1000000238.80")


# --------------------------------------------------------------------------- DfE's CSVs


def test_dfe_contract_csv_money_beyond_the_bound_is_refused_by_the_import(tmp_path):
    header = ("lead-provider-name,cohort-start-year,uplift-target,uplift-amount,"
              "recruitment-target,revised-target,set-up-fee,monthly-service-fee,band-a-min,"
              "band-a-max,band-a-per-participant,band-b-min,band-b-max,band-b-per-participant,"
              "band-c-min,band-c-max,band-c-per-participant,band-d-min,band-d-max,"
              "band-d-per-participant")
    csv = tmp_path / "call-off.csv"
    csv.write_text(header + "\nButterfly Institute,2024,0.44,1e999,4600,4790,0,2300,0,90,"
                   "1.0e30,91,199,700,200,299,600,300,400,500\n", encoding="utf-8")
    out = tmp_path / "contracts"
    result = cli("contracts", "import", csv, "--out", out)
    assert_refused(result, "call-off.csv, row 2, column uplift-amount: '1e999' is more than "
                           "£1,000,000,000.00",
                   "call-off.csv, row 2, column band-a-per-participant: '1.0e30'")
    assert not out.exists()


# --------------------------------------------------------------------------- counts


def test_the_count_bound_is_the_rules_own_figure():
    assert load_rulebook().fees.largest_count == 10_000_000


@pytest.mark.parametrize("value, shown", [
    ("1" + "0" * 40, repr("1" + "0" * 40)),  # text of 41 digits
    (1e20, "'1e+20'"),                        # number cells
    (1e300, "'1e+300'"),
    (10_000_001, "'10000001'"),
])
def test_a_dfe_count_beyond_the_bound_is_a_located_input_error(tmp_path, value, shown):
    # it was multiplied by the line's fee and stopped the run with exit 3
    assert openpyxl.load_workbook(STATEMENTS_XLSX)["Lines"]["F1"].value == "count"
    result, outputs = _run(tmp_path, _dfe(tmp_path, {("Lines", "F2"): value}))
    assert_refused(result, f"dfe.xlsx, sheet Lines, row 2, column count (F): {shown} is more "
                           "than 10,000,000 declarations", "fees.yaml largest_count",
                   outputs=outputs)


def test_a_dfe_count_of_exactly_the_bound_is_read_and_compared(tmp_path):
    # DfE's first line says 10,000,000 ECT starts in band A (its amount still £238.80,
    # as ours): read exactly, a count mismatch of 10,000,000 - 2 = 9,999,998
    result, (out, json_out) = _run(tmp_path, _dfe(tmp_path, {("Lines", "F2"): 10_000_000}))
    assert result.exit_code == 1, result.stderr
    findings = json.loads(json_out.read_text(encoding="utf-8"))["findings"]
    (line,) = [f for f in findings if f.get("line") == "output ect started band A"]
    assert (line["expected"], line["actual"]) == ("2", "10000000"), line
    assert "DfE counts 10000000, we expect 2" in line["message"]


def test_a_version_that_makes_the_contract_worth_too_much_is_an_error_at_its_line(tmp_path):
    # the version keeps the bands (A £995 the dearest) and raises the target to 10^49:
    # 10^49 x £995 = £9.95 x 10^51
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT + "versions:\n  - from: March 2024\n"
                        "    recruitment_target: 1" + "0" * 49 + "\n", encoding="utf-8")
    lines = contract.read_text(encoding="utf-8").splitlines()
    result = cli("rules", "check", "--contracts", contract)
    assert_refused(result, f"contract.yaml:{len(lines)}: the version from March 2024: the "
                           "contract's value, recruitment_target 10,000,",
                   "x band A's £995.00", "more than £1,000,000,000.00")
    # a version that changes neither the target nor the bands is not blamed for them
    calm = tmp_path / "calm.yaml"
    calm.write_text(CONTRACT + "versions:\n  - from: March 2024\n    uplift_amount: 50\n",
                    encoding="utf-8")
    assert cli("rules", "check", "--contracts", calm).exit_code == 0
