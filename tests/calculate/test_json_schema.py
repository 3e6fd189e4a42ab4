"""The JSON result against its JSON Schema (docs/result.schema.json), and what issue 17
added for scripts comparing many providers: each statement's ``difference`` and
``status``, and the ``run`` block (version, as-of date, options, inputs and their
SHA-256, rule files, rulebook hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from reconcile import __version__
from reconcile.pipeline import RunOptions, run

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
SCHEMA = json.loads((ROOT / "docs" / "result.schema.json").read_text(encoding="utf-8"))


def validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def errors(data) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in validator().iter_errors(data)]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The bundled sample against DfE's statements with the planted discrepancies,
    recorded in a history of its own (so the history block is there too)."""
    folder = tmp_path_factory.mktemp("schema")
    result = run(RunOptions((SAMPLES / "declarations.xlsx",),
                            (SAMPLES / "dfe-statements-planted.xlsx",),
                            contracts=(SAMPLES / "contracts",), as_of=dt.date(2026, 10, 10),
                            with_split=True, json_out=folder / "result.json",
                            history=folder / "history.sqlite3"))
    assert result.json is not None
    # as written, not only as built
    return json.loads((folder / "result.json").read_text(encoding="utf-8"))


def test_the_sample_result_validates_against_the_schema(sample):
    assert errors(sample) == []
    assert sample["history"] is not None and sample["run"]["engine"] in ("durable", "python")


def test_each_statement_has_its_difference_and_money_status(sample):
    by_key = {(s["lead_provider"], s["cohort"], s["name"]): s for s in sample["statements"]}
    # planted: DfE counted one ect retained-2 band C declaration fewer. Band C is £1,080
    # per participant; output fees are 60% of it (£648.00) and retained-2 pays 15% of
    # that: £97.20 less than we expect.
    october = by_key[("Harbour Lane Education Trust", 2024, "October 2025")]
    assert (october["status"], october["difference"]) == ("Differs", "-97.20")
    assert october["difference"] == f'{float(october["dfe"]["total"]) - float(october["expected"]["total"]):.2f}'
    # planted: a DfE adjustment of £1,250.00 the declarations do not explain; the lines
    # match, so the money status is DfE's own adjustment
    april = by_key[("Northbrook Teaching Institute", 2023, "April 2024")]
    assert (april["status"], april["difference"]) == ("DfE adjustment", "1500.00")
    # planted: a statement missing from DfE's list: nothing to take a difference from
    missing = by_key[("Harbour Lane Education Trust", 2025, "April 2026")]
    assert (missing["status"], missing["difference"], missing["dfe"]) == (
        "Missing from DfE", None, None)
    same = by_key[("Harbour Lane Education Trust", 2022, "November 2022")]
    assert (same["status"], same["difference"]) == ("OK", "0.00")


def test_the_run_block_names_the_version_date_inputs_and_their_hashes(sample):
    block = sample["run"]
    assert (block["tool"], block["version"], block["as_of"]) == (
        "reconcile", __version__, "2026-10-10")
    assert block["tolerance"] == "0.00"
    inputs = {Path(i["path"]).name: i for i in block["inputs"]}
    for name, role in (("declarations.xlsx", "declarations"),
                       ("dfe-statements-planted.xlsx", "DfE statements")):
        assert inputs[name]["role"] == role
        assert inputs[name]["sha256"] == sha256(SAMPLES / name)
        assert inputs[name]["size"] == (SAMPLES / name).stat().st_size
    assert block["options"]["contracts"] == [str(SAMPLES / "contracts")]
    files = {Path(f["file"]).name: f["sha256"] for f in block["rule_files"]}
    assert files["fees.yaml"] == sha256(ROOT / "rules" / "fees.yaml")
    contract = "harbour-lane-education-trust-2024.yaml"
    assert files[contract] == sha256(SAMPLES / "contracts" / contract)
    # the rulebook's hash: of the files' own hashes, sorted, one a line
    lines = "".join(f"{h}\n" for h in sorted(f["sha256"] for f in block["rule_files"]))
    assert block["rulebook_sha256"] == hashlib.sha256(lines.encode()).hexdigest()


def test_a_run_without_dfe_statements_validates_too(tmp_path):
    result = run(RunOptions((SAMPLES / "declarations.xlsx",), contracts=(SAMPLES / "contracts",),
                            as_of=dt.date(2026, 10, 10), with_json=True))
    data = json.loads(json.dumps(result.json))
    assert errors(data) == []
    assert {(s["status"], s["difference"]) for s in data["statements"]} == {
        ("No DfE statement given", None)}
    assert data["history"] is None


def test_the_schema_refuses_what_a_script_could_not_rely_on(sample):
    broken = json.loads(json.dumps(sample))
    broken["statements"][0]["expected"]["total"] = 5643.94  # money as a float
    broken["statements"][1]["status"] = "Fine"  # not a status the Summary shows
    del broken["run"]["inputs"][0]["sha256"]
    broken["statements"][2]["payment_date"] = "30/11/2022"
    found = "\n".join(errors(broken))
    assert "$.statements[0].expected" in found  # (the anyOf object-or-null around it)
    assert "$.statements[1].status" in found
    assert "'sha256' is a required property" in found
    assert "$.statements[2].payment_date" in found
