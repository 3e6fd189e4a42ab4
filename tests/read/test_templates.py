"""Templates: byte-identical on regeneration, and a filled template reads back exactly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.errors import InputError
from reconcile.read import read_declarations, read_dfe_statements
from reconcile.templates import write_template

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "templates"
UTC = dt.timezone.utc  # noqa: UP017 (runs on 3.10)


@pytest.mark.parametrize("kind, name", [("declarations", "declarations.xlsx"),
                                        ("dfe-statements", "dfe-statements.xlsx"),
                                        ("contract", "contract.yaml")])
def test_committed_template_is_what_the_command_writes_byte_for_byte(kind, name, tmp_path):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["template", kind, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == (COMMITTED / name).read_bytes()


def test_declarations_template_has_every_column_and_drop_downs(vocabulary):
    book = python_calamine.load_workbook(str(COMMITTED / "declarations.xlsx"))
    assert book.sheet_names[0] == "Declarations"
    header = book.get_sheet_by_name("Declarations").to_python()[0]
    assert header == [
        "declaration_id", "participant_id", "course_identifier", "declaration_type",
        "declaration_date", "state", "cohort", "lead_provider", "created_at", "statement_id",
        "statement_name", "clawback_statement_id", "clawback_statement_name",
        "delivery_partner_id", "delivery_partner_name", "pupil_premium_uplift",
        "sparsity_uplift", "schedule_identifier", "teacher_reference_number"]
    sheet = openpyxl.load_workbook(COMMITTED / "declarations.xlsx")["Declarations"]
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation
             if v.type == "list"}
    assert lists["C2:C1048576"] == '"ecf-induction,ecf-mentor"'
    assert lists["D2:D1048576"] == '"' + ",".join(vocabulary.declaration_types) + '"'
    assert lists["F2:F1048576"] == '"' + ",".join(vocabulary.states) + '"'
    assert lists["P2:P1048576"] == lists["Q2:Q1048576"] == '"TRUE,FALSE"'
    assert "required" in sheet["A1"].comment.text and "unique" in sheet["A1"].comment.text.lower()


def test_blank_template_is_a_clear_no_rows_error(vocabulary):
    with pytest.raises(InputError) as caught:
        read_declarations(COMMITTED / "declarations.xlsx", vocabulary)
    assert "sheet Declarations, row 1: there are no declarations below the header row" in str(
        caught.value)


def test_filled_declarations_template_reads_back(tmp_path, vocabulary):
    book = openpyxl.load_workbook(COMMITTED / "declarations.xlsx")
    sheet = book["Declarations"]
    sheet.append(["d-1", "p-1", "ecf-induction", "started", dt.datetime(2023, 10, 2), "paid",
                  2023, "Example Teaching Institute", dt.datetime(2023, 10, 3, 9, 15), "s-nov23",
                  "November 2023", None, None, "dp-1", "North Partners", True, False, None,
                  "1234567"])
    sheet.append(["d-2", "p-2", "ecf-mentor", "retained-1", "2024-01-15", "awaiting-clawback",
                  "2023", None, None, "s-apr24", "April 2024", "s-jul24", "July 2024"])
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    first, second = read_declarations(filled, vocabulary)
    assert first._replace(file="") == (
        "d-1", "p-1", "ecf-induction", "ect", "started", dt.datetime(2023, 10, 2, tzinfo=UTC),
        "paid", 2023, "Example Teaching Institute", dt.datetime(2023, 10, 3, 9, 15, tzinfo=UTC),
        "s-nov23", "November 2023", None, None, "dp-1", "North Partners", True, False,
        None, "1234567", "", "Declarations", 2, False, None)
    assert (second.participant_type, second.state, second.cohort, second.clawback_statement_id,
            second.pupil_premium_uplift, second.row) == (
        "mentor", "awaiting-clawback", 2023, "s-jul24", False, 3)


def test_filled_statements_template_reads_back(tmp_path, vocabulary):
    book = openpyxl.load_workbook(COMMITTED / "dfe-statements.xlsx")
    book["Statements"].append(["s-nov23", "Example Teaching Institute", 2023, "November 2023",
                               dt.datetime(2023, 10, 31), dt.datetime(2023, 11, 25), True, True,
                               True, 1432.8, "0.0.2"])
    lines = book["Lines"]
    lines.append(["s-nov23", "output", "ect", "started", "A", 10, 119.4, 1194])
    lines.append(["s-nov23", "vat", None, None, None, None, None, 238.8])
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    (statement,) = read_dfe_statements(filled, vocabulary)
    assert (statement.statement_id, statement.cohort, statement.name, statement.cut_off_date,
            statement.payment_date, statement.output_fee, statement.paid,
            statement.vat_chargeable, statement.total, statement.contract_version) == (
        "s-nov23", 2023, "November 2023", dt.date(2023, 10, 31), dt.date(2023, 11, 25),
        True, True, True, Decimal("1432.8"), "0.0.2")
    output, vat = statement.lines
    # 10 started declarations at £119.40 (20% of 60% of £995) = £1,194.00
    assert (output.line_type, output.participant_type, output.declaration_type, output.band,
            output.count, output.fee_per_declaration, output.amount) == (
        "output", "ect", "started", "A", 10, Decimal("119.4"), Decimal(1194))
    assert (vat.line_type, vat.amount, vat.count) == ("vat", Decimal("238.8"), None)


def test_contract_template_passes_the_rules_check(tmp_path):
    from reconcile.rulebook.load import load_rulebook

    out = tmp_path / "contract.yaml"
    write_template("contract", out)
    rulebook = load_rulebook(contracts=(out,))
    contract = rulebook.contracts[("Your Lead Provider Name", 2025)]
    assert [band.name for band in contract.bands] == ["A", "B", "C"]
    assert contract.mentor.payment_per_participant == Decimal(1000)


def test_template_into_a_missing_folder_is_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "no-such-folder" / "t.xlsx"
    result = CliRunner().invoke(main, ["template", "declarations", "--out", str(out)])
    assert result.exit_code == 2
    assert not out.exists()


@pytest.mark.parametrize("kind, name, expected", [
    ("contract", "x.xlsx", "the contract template is a YAML file, but '{out}' ends in '.xlsx' "
                           "— give a file name ending in .yaml or .yml, e.g. --out {stem}.yaml"),
    ("declarations", "x.yaml", "the declarations template is an Excel workbook, but '{out}' "
                               "ends in '.yaml' — give a file name ending in .xlsx, e.g. "
                               "--out {stem}.xlsx"),
    ("dfe-statements", "x", "the dfe-statements template is an Excel workbook, but '{out}' "
                            "ends in no extension — give a file name ending in .xlsx, e.g. "
                            "--out {stem}.xlsx"),
])
def test_a_template_with_the_wrong_extension_is_a_usage_error(kind, name, expected, tmp_path):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["template", kind, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"--out: {expected.format(out=out, stem=tmp_path / 'x')}" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("kind, name", [("contract", "c.yml"), ("contract", "C.YAML"),
                                        ("declarations", "D.XLSX")])
def test_either_yaml_ending_and_any_case_is_accepted(kind, name, tmp_path):
    result = CliRunner().invoke(main, ["template", kind, "--out", str(tmp_path / name)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / name).stat().st_size > 0
