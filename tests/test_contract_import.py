"""``reconcile contracts import``: DfE's contract CSVs in, contract YAML out.

The rows are those of DfE's own importer specs (early-careers-framework
spec/services/importers/create_call_off_contract_spec.rb and
create_mentor_call_off_contract_spec.rb), so the shape is exactly DfE's.
"""

from decimal import Decimal as D

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.contract_import import import_contracts
from reconcile.errors import RuleError
from reconcile.rulebook.load import load_rulebook
from tests.builders import rulebook

HEADER = ("lead-provider-name,cohort-start-year,uplift-target,uplift-amount,"
          "recruitment-target,revised-target,set-up-fee,monthly-service-fee,band-a-min,"
          "band-a-max,band-a-per-participant,band-b-min,band-b-max,band-b-per-participant,"
          "band-c-min,band-c-max,band-c-per-participant,band-d-min,band-d-max,"
          "band-d-per-participant")
MENTOR_HEADER = "lead-provider-name,cohort-start-year,recruitment-target,payment-per-participant"


def run(tmp_path, *files, extra=()):
    paths = []
    for name, text in files:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    out = tmp_path / "contracts"
    result = CliRunner().invoke(main, ["contracts", "import", *paths, "--out", str(out),
                                       *extra])
    return result, out


def test_dfe_spec_rows_become_contracts_that_rules_check_accepts(tmp_path):
    call_off = (HEADER + "\n"
                # the spec's row: band D present (all output), monthly fee 2300
                "Butterfly Institute,2024,0.44,200,4600,4790,0,2300,0,90,895,91,199,700,"
                "200,299,600,300,400,500\n"
                # the spec's "no band D" row, for cohort 2025 with no uplift
                "Butterfly Institute,2025,0.44,,4600,4790,0,,0,90,895,91,199,700,"
                "200,299,600,,,\n")
    mentor = MENTOR_HEADER + "\nButterfly Institute,2025,9999,333.0\n"
    result, out = run(tmp_path, ("call-off.csv", call_off), ("mentor.csv", mentor))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["butterfly-institute-2024.yaml",
                                                      "butterfly-institute-2025.yaml"]
    rulebook = load_rulebook(None, (out,))
    c2024 = rulebook.contract_for("Butterfly Institute", 2024)
    assert (c2024.recruitment_target, c2024.uplift_amount, c2024.set_up_fee,
            c2024.monthly_service_fee, c2024.vat_chargeable) == (4600, D(200), 0, D(2300), True)
    # as the spec: A 0-90 £895, B 91-199 £700, C 200-299 £600 (60/40), D 300-400 £500 (100/0)
    assert [(b.name, b.min, b.max, b.per_participant, b.output_payment_percentage,
             b.service_fee_percentage) for b in c2024.bands] == [
        ("A", 0, 90, 895, 60, 40), ("B", 91, 199, 700, 60, 40), ("C", 200, 299, 600, 60, 40),
        ("D", 300, 400, 500, 100, 0)]
    assert c2024.mentor is None
    c2025 = rulebook.contract_for("Butterfly Institute", 2025)
    assert [b.name for b in c2025.bands] == ["A", "B", "C"]
    assert (c2025.uplift_amount, c2025.monthly_service_fee) == (None, None)
    assert c2025.mentor.payment_per_participant == D(333)
    assert "uplift-target 0.44" in (out / "butterfly-institute-2025.yaml").read_text()


def test_the_bands_split_apart_are_fees_yamls_imported_band_splits(tmp_path):
    """rules/fees.yaml imported_band_splits: band D 100/0 as bundled; with band C at
    70/30 and nothing for D, C is written 70/30 and D takes band_split (no split of its
    own written)."""
    call_off = tmp_path / "call-off.csv"
    call_off.write_text(HEADER + "\nButterfly Institute,2024,0.44,200,4600,4790,0,2300,0,"
                        "90,895,91,199,700,200,299,600,300,400,500\n", encoding="utf-8")

    def bands(fees):
        (imported,) = import_contracts([call_off], fees=fees)
        return [line.strip() for line in imported.text.splitlines()
                if line.strip().startswith("- {name: ")]

    assert bands(None)[2:] == [
        "- {name: C, min: 200, max: 299, per_participant: 600}",
        "- {name: D, min: 300, max: 400, per_participant: 500, output_payment_percentage: "
        "100, service_fee_percentage: 0}"]
    edited = rulebook(fees={"imported_band_splits": {
        "C": {"output_payment_percentage": 70, "service_fee_percentage": 30}}}).fees
    assert bands(edited)[2:] == [
        "- {name: C, min: 200, max: 299, per_participant: 600, output_payment_percentage: "
        "70, service_fee_percentage: 30}",
        "- {name: D, min: 300, max: 400, per_participant: 500}"]


def test_an_imported_band_split_naming_no_band_of_the_csv_is_refused(tmp_path):
    """fees.yaml imported_band_splits keyed 'd' (not 'D') would be written into no band:
    refused, naming the key and the CSV's bands."""
    call_off = tmp_path / "call-off.csv"
    call_off.write_text(HEADER + "\nButterfly Institute,2024,0.44,200,4600,4790,0,2300,0,"
                        "90,895,91,199,700,200,299,600,300,400,500\n", encoding="utf-8")
    fees = rulebook(fees={"imported_band_splits": {
        "d": {"output_payment_percentage": 100, "service_fee_percentage": 0}}}).fees
    with pytest.raises(RuleError) as refused:
        import_contracts([call_off], fees=fees)
    assert [str(p) for p in refused.value.problems] == [
        "fees.yaml: imported_band_splits: 'd' is not a band of DfE's contract CSV (its "
        "bands are A, B, C, D) — name one of A, B, C, D, in capitals"]


def test_bad_rows_are_located_and_nothing_is_written(tmp_path):
    call_off = (HEADER + "\n"
                "Good One,2024,0.44,200,4600,,0,,0,90,895,91,199,700,200,299,600,,,\n"
                "Bad One,20x4,0.44,200,-5,,0,,0,90,895,,199,700,200,299,600,300,,500\n"
                "Good One,2024,0.44,200,4600,,0,,0,90,895,91,199,700,200,299,600,,,\n")
    mentor = MENTOR_HEADER + "\nNobody,2025,10,1000\n"
    result, out = run(tmp_path, ("c.csv", call_off), ("m.csv", mentor))
    assert result.exit_code == 2
    assert not out.exists()
    c, m = tmp_path / "c.csv", tmp_path / "m.csv"
    for line in [
        f"{c}, row 3, column cohort-start-year: '20x4' is not a number — write the "
        "cohort's start year, e.g. 2023",
        f"{c}, row 3, column recruitment-target: '-5' is too small",
        f"{c}, row 3, column band-b-min: band B has no band-b-min — give band B's min, max "
        "and price per participant, or none of them",
        f"{c}, row 3, column band-d-max: band D has no band-d-max",
        f"{c}, row 4, column lead-provider-name: a second contract for Good One, cohort "
        f"2024 (the first is {c}, row 2)",
        f"{m}, row 2, column lead-provider-name: a mentor contract for Nobody, cohort 2025, "
        "without a call-off contract row for them",
    ]:
        assert line in result.output, (line, result.output)
    assert "Traceback" not in result.output


def test_wrong_headers_and_existing_files(tmp_path):
    result, out = run(tmp_path, ("c.csv", "some-other-column,cohort-start-year\nX,2021\n"))
    assert result.exit_code == 2
    assert ("c.csv, row 1: not DfE's call-off or mentor contract CSV: as the nearer, a "
            "mentor CSV, the header row lacks 'lead-provider-name'") in result.output
    good = HEADER + "\nOne,2024,0.44,200,4600,,0,,0,90,895,91,199,700,200,299,600,,,\n"
    result, out = run(tmp_path, ("c.csv", good))
    assert result.exit_code == 0, result.output
    before = (out / "one-2024.yaml").read_bytes()
    result, out = run(tmp_path, ("c.csv", good.replace("4600", "4700")))
    assert result.exit_code == 2 and "already exists" in result.output
    assert (out / "one-2024.yaml").read_bytes() == before
    result, out = run(tmp_path, ("c.csv", good.replace("4600", "4700")),
                      extra=("--overwrite", "--not-vat-chargeable"))
    assert result.exit_code == 0
    assert "recruitment_target: 4700" in (out / "one-2024.yaml").read_text()
    assert "vat_chargeable: false" in (out / "one-2024.yaml").read_text()


def test_an_input_is_never_an_output_even_with_overwrite(tmp_path):
    """The shared output check (reconcile.outputs.check_output_paths): a CSV that sits
    where a contract would be written is refused, --overwrite or not, and kept."""
    good = HEADER + "\nOne,2024,0.44,200,4600,,0,,0,90,895,91,199,700,200,299,600,,,\n"
    out = tmp_path / "contracts"
    out.mkdir()
    clash = out / "one-2024.yaml"
    clash.write_text(good, encoding="utf-8")
    result = CliRunner().invoke(main, ["contracts", "import", str(clash), "--out", str(out),
                                       "--overwrite"])
    assert result.exit_code == 2, result.output
    assert "one-2024.yaml" in result.output and "Traceback" not in result.output
    assert clash.read_text(encoding="utf-8") == good
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x", encoding="utf-8")
    source = tmp_path / "c.csv"
    source.write_text(good, encoding="utf-8")
    result = CliRunner().invoke(main, ["contracts", "import", str(source), "--out",
                                       str(a_file)])
    assert result.exit_code == 2, result.output
    assert a_file.read_text(encoding="utf-8") == "x"
