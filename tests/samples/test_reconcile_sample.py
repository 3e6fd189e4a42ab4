"""The generated samples through the whole job: ``reconcile run`` finds what was planted.

The DfE statements of a sample are the project's own expected statements written in
DfE's format (samples/generate.py), so the consistent workbook must reconcile with
no error, and every discrepancy planted in the other one must be reported on its
statement. The committed sample must be exactly what its recipe regenerates.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from samples import SAMPLE_DECLARATIONS, SAMPLE_SEED, SAMPLES_DIR
from samples import generate as gen

N = 600
SEED = 5


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    out = tmp_path_factory.mktemp("planted")
    gen.generate(out, N, SEED, planted=True)
    return out, json.loads((out / "planted.json").read_text())


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    gen.generate(out, N, SEED, anomalies=False)
    return out


@pytest.fixture(scope="module")
def planted_run(planted, tmp_path_factory):
    folder, _ = planted
    return _run(folder, "dfe-statements-planted.xlsx", tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def consistent_run(planted, tmp_path_factory):
    folder, _ = planted
    return _run(folder, "dfe-statements.xlsx", tmp_path_factory.mktemp("run"))


def _run(folder: Path, dfe: str, tmp: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(main, [
        "run", "--declarations", str(folder / "declarations.xlsx"),
        "--dfe-statements", str(folder / dfe), "--contracts", str(folder / "contracts"),
        "--out", str(tmp / "reconciliation.xlsx"), "--json", str(tmp / "result.json"),
        "--as-of", gen.AS_OF.isoformat(), "--quiet", "--no-history"])
    assert result.exit_code in (0, 1), result.output
    assert (tmp / "reconciliation.xlsx").is_file()
    return result.exit_code, json.loads((tmp / "result.json").read_text())


def _reports(entry: dict, f: dict) -> bool:
    if f["code"] != entry["code"] or f["statement"] != entry["statement"]:
        return False
    if f["lead_provider"] not in (None, entry["lead_provider"]):
        return False
    if f["cohort"] not in (None, entry["cohort"]):
        return False
    if entry.get("line") and f.get("line"):
        words = entry["line"].split()
        # same section, declaration type and band ("output ect started band A")
        return words[0] in f["line"] and all(w in f["line"].split() for w in words[2:])
    return True


def test_every_planted_discrepancy_is_found(planted, planted_run):
    _, manifest = planted
    assert len(manifest["discrepancies"]) == 6
    status, result = planted_run
    assert status == 1
    missed = [entry for entry in manifest["discrepancies"]
              if not any(_reports(entry, f) for f in result["findings"])]
    assert missed == []


def test_the_consistent_workbook_has_no_reconciliation_error(planted, consistent_run):
    _, manifest = planted
    _, result = consistent_run
    anomalies = {a["declaration_id"] for a in manifest["declaration_anomalies"]}
    errors = [f for f in result["findings"] if f["severity"] == "error"]
    # the only errors are about the declarations planted outside their windows or
    # duplicated; DfE's statements match the expected ones line for line
    assert [f for f in errors if f["declaration_id"] not in anomalies] == []
    for statement in result["statements"]:
        assert statement["dfe"] is not None, statement["name"]
        assert statement["dfe"]["total"] == statement["expected"]["total"]


def test_planted_declaration_anomalies_are_flagged(planted, consistent_run):
    _, manifest = planted
    _, result = consistent_run
    flagged = {f["declaration_id"] for f in result["findings"] if f["declaration_id"]}
    anomalies = manifest["declaration_anomalies"]
    assert anomalies, "the sample should plant a few anomalies"
    assert [a for a in anomalies if a["declaration_id"] not in flagged] == []


def test_the_over_capacity_contract_is_reported(planted, consistent_run):
    _, manifest = planted
    _, result = consistent_run
    [expected] = manifest["contract_findings"]
    assert any(f["code"] == "CALC_OVER_CAPACITY" and f["lead_provider"] == expected["lead_provider"]
               and f["cohort"] == expected["cohort"] for f in result["findings"])


def test_a_clean_sample_reconciles_with_exit_0(clean, tmp_path):
    status, result = _run(clean, "dfe-statements.xlsx", tmp_path)
    assert [f for f in result["findings"] if f["severity"] == "error"] == []
    assert status == 0
    # ... contract versions included: the generator stops one contract's service fee
    # and adds a band C to another part-way (docs/rules.md "Contract versions"); DfE's
    # statements, made from the same terms, name the same versions
    changed = {(f["lead_provider"], f["cohort"]): f["statement"] for f in result["findings"]
               if f["code"] == "CALC_CONTRACT_VERSION"}
    assert changed == {gen.FEE_STOPPED: gen.version_start(gen.load_reference(), 2022),
                       gen.BAND_C_ADDED: gen.version_start(gen.load_reference(), 2024)}
    for s in result["statements"]:
        key = (s["lead_provider"], s["cohort"])
        if key in changed:
            assert s["dfe"]["contract_version"] == s["expected"]["contract_version"] \
                == ("0.0.2" if s["expected"]["terms_from"] else "0.0.1")
    stopped = [s["expected"]["service_fee"] for s in result["statements"]
               if (s["lead_provider"], s["cohort"]) == gen.FEE_STOPPED]
    assert stopped[0] != "0.00" and stopped[-1] == "0.00"


def test_the_dfe_side_is_byte_identical_for_one_seed(planted, tmp_path):
    folder, _ = planted
    gen.generate(tmp_path, N, SEED, planted=True)
    for name in ("dfe-statements.xlsx", "dfe-statements-planted.xlsx", "planted.json"):
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_the_committed_sample_is_what_its_recipe_regenerates(tmp_path):
    gen.generate(tmp_path, SAMPLE_DECLARATIONS, SAMPLE_SEED, planted=True, api_json=True,
                 assurance=True)
    committed = sorted(p.relative_to(SAMPLES_DIR) for p in SAMPLES_DIR.rglob("*")
                       if p.is_file() and p.suffix in (".xlsx", ".json", ".yaml", ".csv"))
    regenerated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == regenerated
    for name in committed:
        assert (SAMPLES_DIR / name).read_bytes() == (tmp_path / name).read_bytes(), \
            f"samples/{name} is not what `python -m samples.generate` makes: regenerate it"
