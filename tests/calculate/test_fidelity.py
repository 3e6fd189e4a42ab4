"""DfE's payment rules over time, through ``reconcile expected --json`` (docs/rules.md).

The service fee on every statement of the calendar, contract versions, uplift only for
banded participants, the counts DfE shows, the VAT rate and the previous-fill policy.
Harness: tests/calculate/test_cli_expected.py (the bundled rules with the test's
contracts).
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from tests.calculate.test_cli_expected import LP, contract, row, run_expected, statement

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


def test_no_uplift_on_a_flat_rate_mentors_start(tmp_path):
    # A contract with a flat-rate mentor block AND an uplift amount: the ECT's start earns
    # £100 of uplift, the mentor's none (ECF ect/uplift_calculator.rb counts ECTs only;
    # RECT's flat-rate calculator has no uplift).
    rows = [row("ect", cohort=2025, date="2025-09-10", created="2025-09-12T09:00:00Z",
                uplift="true"),
            row("men", cohort=2025, date="2025-09-10", created="2025-09-12T09:00:00Z",
                uplift="true", course="ecf-mentor")]
    result, data = run_expected(tmp_path, rows, contract(cohort=2025, uplift="100",
                                                         mentor="1000", vat=False),
                                as_of="2026-01-01")
    assert result.exit_code in (0, 1), result.output
    january = statement(data, "January 2026")["expected"]
    assert january["uplift"] == {"count": 1, "amount": "100.00"}
    # ECT started in band A: 20% x 60% x £400 = £48; mentor: 50% x £1,000 = £500
    assert january["net"] == "648.00"  # 48 + 500 + 100 uplift; no service fee (monthly 0)
    assert [(d["declaration_id"], d["uplift"]) for d in data["declarations"]
            if d["kind"] == "output"] == [("ect", "100.00"), ("men", "0.00")]


def test_clawed_back_counts_state_clawed_back_only(tmp_path):
    # January 2024 pays four starts; two are clawed back on April 2024 (one already
    # clawed-back, one still awaiting clawback). DfE's "clawed back" counts declarations
    # in state clawed-back on the statement (ECF statement_calculator.rb): on April, where
    # the money comes back, and on January, whose line item paid it; the one awaiting
    # clawback is counted on its own line.
    rows = [row("j0"), row("j1"),
            row("c1", state="clawed-back", clawback="April 2024"),
            row("w1", state="awaiting-clawback", clawback="April 2024")]
    result, data = run_expected(tmp_path, rows)
    assert result.exit_code == 0, result.output
    january = statement(data, "January 2024")["expected"]["counts"]
    april = statement(data, "April 2024")["expected"]["counts"]
    assert (january["started"], january["clawed_back"], january["awaiting_clawback"]) == (4, 1, 1)
    assert (april["started"], april["clawed_back"], april["awaiting_clawback"]) == (0, 1, 1)
    # the money: both come off April (top of the fill, band B, 20% x 60% x £300 = £36)
    assert [(c["band"], c["count"], c["amount"])
            for c in statement(data, "April 2024")["expected"]["clawbacks"]] == [
        ("B", 2, "-72.00")]


@pytest.mark.parametrize("rate, vat, total", [
    ("0", "0.00", "96.00"),      # VAT chargeable at a 0% rate
    ("20", "19.20", "115.20"),   # 20% of £96.00
    (None, "19.20", "115.20"),   # no vat_rate: fees.yaml's 20%
])
def test_contract_vat_rate(tmp_path, rate, vat, total):
    text = contract(vat=True) + (f"vat_rate: {rate}\n" if rate is not None else "")
    result, data = run_expected(tmp_path, [row("a"), row("b")], text)
    assert result.exit_code == 0, result.output
    january = statement(data, "January 2024")["expected"]
    # two starts in band A at 20% x 60% x £400 = £48
    assert (january["net"], january["vat"], january["total"]) == ("96.00", vat, total)


@pytest.mark.parametrize("policy, paid", [("ecf", []), ("rect", [("D", 2, "40.00")])])
def test_previous_fill_after_an_over_capacity_statement(tmp_path, policy, paid):
    # Bands of two: 8 places. January 2024: 10 starts (8 paid, 2 beyond band D). April
    # 2024: 2 of them clawed back. August 2024: 3 new starts, with 10 earlier billable and
    # 2 earlier refunds.
    #   ecf  (banding_calculator.rb): previous fill 10 - 2 = 8 places: the 3 are unpaid;
    #   rect (band_allocator.rb): min(10, 8) - 2 = 6 places: 2 paid in D at 20% x £100 =
    #        £20 each, 1 unpaid.
    january = [row(f"j{n}", date=f"2023-10-{10 + n}") for n in range(10)]
    january[0] = row("j0", date="2023-10-10", state="clawed-back", clawback="April 2024")
    january[1] = row("j1", date="2023-10-11", state="clawed-back", clawback="April 2024")
    august = [row(f"a{n}", created="2024-05-10T09:00:00Z") for n in range(3)]
    run_expected(tmp_path, [])  # the rules folder, then the policy in it
    banding = tmp_path / "rules" / "banding.yaml"
    banding.write_text(banding.read_text(encoding="utf-8").replace(
        "previous_fill: ecf", f"previous_fill: {policy}"), encoding="utf-8")
    result, data = run_expected(tmp_path, january + august)
    assert result.exit_code == 0, result.output
    out = statement(data, "August 2024")["expected"]
    assert [(ln["band"], ln["count"], ln["amount"]) for ln in out["output_payments"]] == paid
    unpaid = [d["declaration_id"] for d in data["declarations"]
              if d["unpaid"] and d["statement"] == "August 2024"]
    assert len(unpaid) == 3 - sum(n for _b, n, _a in paid)


# --- contract versions (ECF oneoffs/change_service_fees.rb, oneoffs/add_band_c.rb) -----

def test_service_fee_stopped_from_a_versions_statement(tmp_path):
    # As DfE ended the 2021 contracts' service fee from the October 2023 statements: a
    # version from October 2023 with monthly_service_fee 0. Before it £1,086.21 (31,500/29).
    versions = ("version: 0.0.1\nversions:\n"
                "  - {from: October 2023, version: 0.0.2, monthly_service_fee: 0}\n")
    rows = [row("a", cohort=2021, date="2021-10-02", created="2021-10-05T09:00:00Z")]
    result, data = run_expected(tmp_path, rows, contract_2021(versions), as_of="2024-01-01")
    assert result.exit_code in (0, 1), result.output
    fees = {s["name"]: (s["expected"]["service_fee"], s["expected"]["contract_version"],
                        s["expected"]["terms_from"])
            for s in data["statements"] if s["cohort"] == 2021}
    assert fees["September 2023"] == ("1086.21", "0.0.1", None)
    assert fees["October 2023"] == ("0.00", "0.0.2", "October 2023")
    assert fees["December 2023"] == ("0.00", "0.0.2", "October 2023")
    [why] = [f for f in data["findings"] if f["code"] == "CALC_CONTRACT_VERSION"]
    assert why["statement"] == "October 2023" and why["severity"] == "info"
    assert "service fee £1,086.21 -> £0.00" in why["message"]
    assert "version 0.0.2" in why["message"]


def test_band_c_added_mid_contract(tmp_path):
    # As ECF's AddBandC: from April 2024 band B's max is lowered to 4 and a band C 5-8
    # added (the recruitment target stays 8). January 2024 pays 4 starts under the first
    # bands (A 2 at £48, B 2 at £36). April 2024's 3 starts: the earlier fill of 4 is a
    # count, laid over April's bands (A 2, B 2), so the 3 go to the new band C at
    # 20% x 60% x £200 = £24: £72 (under the first bands they would be B at £36).
    text = (f"lead_provider: {LP}\ncohort: 2023\nvat_chargeable: false\n"
            "recruitment_target: 8\nbands:\n"
            "  - {name: A, min: 0, max: 2, per_participant: 400}\n"
            "  - {name: B, min: 3, max: 8, per_participant: 300}\n"
            "versions:\n"
            "  - from: April 2024\n"
            "    bands:\n"
            "      - {name: A, min: 0, max: 2, per_participant: 400}\n"
            "      - {name: B, min: 3, max: 4, per_participant: 300}\n"
            "      - {name: C, min: 5, max: 8, per_participant: 200}\n")
    rows = ([row(f"j{n}") for n in range(4)]
            + [row(f"a{n}", created="2024-02-10T09:00:00Z") for n in range(3)])
    result, data = run_expected(tmp_path, rows, text)
    assert result.exit_code == 0, result.output
    out = {s["name"]: s["expected"] for s in data["statements"]}
    assert [(ln["band"], ln["count"], ln["amount"]) for ln in
            out["January 2024"]["output_payments"]] == [("A", 2, "96.00"), ("B", 2, "72.00")]
    assert [(ln["band"], ln["count"], ln["fee_per_declaration"], ln["amount"]) for ln in
            out["April 2024"]["output_payments"]] == [("C", 3, "24.00", "72.00")]
    # the service fee follows the bands: 40% of each price over the target of 8, / 29
    #   first terms: 2 x £160 + 6 x £120 = £1,040 / 29 = £35.86
    #   from April:  2 x £160 + 2 x £120 + 4 x £80 = £880 / 29 = £30.34
    assert out["March 2024"]["service_fee"] == "35.86"
    assert out["April 2024"]["service_fee"] == "30.34"
    assert out["April 2024"]["terms_from"] == "April 2024"
    [why] = [f for f in data["findings"] if f["code"] == "CALC_CONTRACT_VERSION"]
    assert why["statement"] == "April 2024"
    assert "service fee £35.86 -> £30.34" in why["message"]
    assert "C 5-8 £200.00" in why["message"]


def test_versions_naming_an_unknown_statement_or_out_of_order(tmp_path):
    from click.testing import CliRunner

    from reconcile.cli import main

    path = tmp_path / "contract.yaml"
    path.write_text(contract_2021("versions:\n"
                                  "  - {from: October 2023, monthly_service_fee: 0}\n"
                                  "  - {from: Sept 2023, monthly_service_fee: 10}\n"
                                  "  - {from: May 2022, monthly_service_fee: 20}\n"),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "check", "--contracts", str(path)])
    assert result.exit_code == 2
    assert (f"{path}:11: versions: 'Sept 2023' is not a statement of cohort 2021's "
            "calendar — did you mean 'September 2023'?") in result.output
    assert (f"{path}:12: versions: May 2022 (paid 2022-05-25) comes after October 2023 "
            "(paid 2023-10-25) in the list — list the versions in payment-date order, "
            "earliest first") in result.output


def test_versions_on_the_statement_sheet_rules_sheet_and_beside_dfes(tmp_path):
    # DfE's statements name their contract_version; October 2023's differs from ours
    import openpyxl

    from reconcile.pipeline import run
    from reconcile.result import RunOptions
    from reconcile.sheets import Text
    from tests.calculate.test_cli_expected import HEADER

    declarations = tmp_path / "declarations.csv"
    declarations.write_text(HEADER + "\n" + row("a", cohort=2021, date="2021-10-02",
                                                created="2021-10-05T09:00:00Z") + "\n",
                            encoding="utf-8")
    contract_file = tmp_path / "contract.yaml"
    contract_file.write_text(contract_2021(
        "version: 0.0.1\nversions:\n"
        "  - {from: October 2023, version: 0.0.2, monthly_service_fee: 0}\n"),
        encoding="utf-8")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Statements"
    sheet.append(["statement_id", "lead_provider", "cohort", "name", "output_fee",
                  "contract_version"])
    sheet.append(["s1", LP, 2021, "September 2023", False, "0.0.1"])
    sheet.append(["s2", LP, 2021, "October 2023", True, "0.0.3"])
    book.create_sheet("Lines").append(["statement_id", "line_type", "amount"])
    statements = tmp_path / "dfe.xlsx"
    book.save(statements)
    result = run(RunOptions((declarations,), dfe_statements=(statements,),
                            contracts=(contract_file,), as_of=dt.date(2023, 11, 1),
                            with_report=True))
    [differs] = [f for f in result.findings if f.code == "CONTRACT_VERSION_DIFFERS"]
    assert (differs.statement, differs.expected, differs.actual) == ("October 2023", "0.0.2",
                                                                     "0.0.3")
    rows = {sheet.name: [tuple(c.value if isinstance(c, Text) else c for c in r[:3])
                         for r in sheet.iter_cells() if r]
            for sheet in result.workbook.sheets}
    # a statement sheet: "Contract version" and ours, then "DfE's contract version" and DfE's
    version_rows = [tuple(c.value for c in r if isinstance(c, Text))
                    for sheet in result.workbook.sheets for r in sheet.iter_cells()
                    if r and r[0] == Text("Contract version", "text_bold")]
    assert ("Contract version", "0.0.2 (terms from October 2023)",
            "DfE's contract version", "0.0.3") in version_rows
    assert ("Contract version", "0.0.1 (the contract's first terms)",
            "DfE's contract version", "0.0.1") in version_rows
    assert (f"{LP}, cohort 2021", "0.0.1", "November 2021 to September 2023") in rows["Rules"]
    assert (f"{LP}, cohort 2021", "0.0.2", "October 2023 to November 2023") in rows["Rules"]
    # rules show says which version applies to which statements of the calendar
    from click.testing import CliRunner

    from reconcile.cli import main

    shown = CliRunner().invoke(main, ["rules", "show", "--contracts", str(contract_file)])
    assert "    0.0.1: November 2021 to September 2023  (" in shown.output
    assert ("    0.0.2: October 2023 to September 2024: monthly service fee set to £0.00  ("
            in shown.output)
