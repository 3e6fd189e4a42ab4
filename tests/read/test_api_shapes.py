"""A hand-made v3 API pull, in exactly DfE's shapes, through ``reconcile expected``.

The files in ``good/api/`` follow DfE's serializers and published component schemas
(DFE-Digital/early-careers-framework: ``Api::V3::ParticipantDeclarationSerializer``,
``Api::V3::ECF::ParticipantSerializer`` with ``ECFEnrolment`` and
``ParticipantIdChange``, ``Api::V3::Finance::StatementSerializer``): two "countless"
declaration pages (just ``{"data": [...]}``), every attribute the serializer writes and
no other (no cohort, schedule or uplift flags), ``Z`` times, ``statement_id: null`` on
the voided, submitted and ineligible declarations; one participants page; the
statements list (output-fee statements only, no provider, no output-fee flag).

Example Teaching Institute, cohort 2023 (the bundled example contract: band A £995,
60% output; started 20% = £119.40, retained-1 15% = £89.55; uplift £100), as at
2024-06-01:

* January 2024: started P1 (ECT, pupil premium: uplift), P2 (mentor), P7 (ECT):
  3 × £119.40 = £358.20; uplift 1 × £100;
* April 2024: started P3 (ECT on ecf-standard-january, dated 20 Jan 2024: inside its
  own window, after the September schedule's; sparsity: uplift) £119.40, retained-1 P1
  £89.55; clawback of P2's start −£119.40;
* August 2024: retained-1 of P7, declared under the id DfE retired for P7: £89.55.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from reconcile.cli import main
from reconcile.paths import bundled_rules_dir

API = Path(__file__).resolve().parent / "good" / "api"
PAGES = [API / "participant-declarations-page-1.json", API / "participant-declarations-page-2.json"]
PARTICIPANTS = API / "participants-ecf.json"
STATEMENTS = API / "statements.json"
P7 = "b5e0c3d2-0000-4000-8000-000000000007"


def expected(tmp_path, *args):
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, [
        "expected", *args, "--contracts", str(bundled_rules_dir() / "contracts"),
        "--as-of", "2024-06-01", "--json", str(out)])
    data = json.loads(out.read_text()) if out.exists() else None
    return result, data


def _lines(data, name):
    s = next(s for s in data["statements"] if s["name"] == name)
    e = s["expected"]
    return ({(line["participant_type"], line["declaration_type"], line["band"]): (
        line["count"], line["amount"]) for line in e["output_payments"]},
            {(line["declaration_type"], line["band"]): (line["count"], line["amount"])
             for line in e["clawbacks"]}, (e["uplift"]["count"], e["uplift"]["amount"]))


def _codes(data):
    return [f["code"] for f in data["findings"]]


def test_the_serializers_shape_is_what_the_fixtures_hold():
    # every declaration attribute of DfE's v3 serializer, and nothing else
    wanted = {"participant_id", "declaration_type", "declaration_date", "course_identifier",
              "mentor_id", "state", "updated_at", "created_at", "delivery_partner_id",
              "statement_id", "clawback_statement_id", "ineligible_for_funding_reason",
              "uplift_paid", "evidence_held", "has_passed", "lead_provider_name"}
    for page in PAGES:
        document = json.loads(page.read_text())
        assert list(document) == ["data"]  # countless pagination: no links, no meta
        for item in document["data"]:
            assert set(item) == {"id", "type", "attributes"}
            attributes = item["attributes"]
            assert set(attributes) == wanted
            assert attributes["declaration_date"].endswith("Z")
            if attributes["state"] in ("voided", "submitted", "ineligible"):
                assert attributes["statement_id"] is None
    statement = json.loads(STATEMENTS.read_text())["data"][0]["attributes"]
    assert set(statement) == {"month", "year", "type", "cohort", "cut_off_date",
                              "payment_date", "paid", "created_at", "updated_at"}


def test_a_full_pull_with_participants_and_statements(tmp_path):
    result, data = expected(tmp_path, "--declarations", str(PAGES[0]), "--declarations",
                            str(PAGES[1]), "--participants", str(PARTICIPANTS),
                            "--dfe-statements", str(STATEMENTS))
    assert result.exit_code in (0, 1), result.output
    january, april, august = (_lines(data, n) for n in ("January 2024", "April 2024",
                                                         "August 2024"))
    assert january == ({("ect", "started", "A"): (2, "238.80"),
                        ("mentor", "started", "A"): (1, "119.40")}, {}, (1, "100.00"))
    assert april == ({("ect", "started", "A"): (1, "119.40"),
                      ("ect", "retained-1", "A"): (1, "89.55")},
                     {("started", "A"): (1, "-119.40")}, (1, "100.00"))
    assert august[0] == {("ect", "retained-1", "A"): (1, "89.55")}
    codes = _codes(data)
    # the schedule came from the participants: P3's January date is inside its window
    for code in ("READ_SCHEDULE_NOT_GIVEN", "READ_COHORT_NOT_GIVEN",
                 "DECL_AFTER_MILESTONE_CUTOFF", "DECL_BEFORE_MILESTONE_START",
                 "STATEMENT_MISSING_FROM_DFE", "STATEMENT_NOT_EXPECTED"):
        assert code not in codes
    # the declaration under P7's retired id belongs to P7
    attributed = {d["declaration_id"]: d for d in data["declarations"]}
    assert attributed["e1d2c3b4-0000-4000-9000-000000000009"]["participant_id"] == P7
    # the statements list: its provider is the declarations' one, every month compared
    assert {s["lead_provider"] for s in data["statements"]} == {"Example Teaching Institute"}


def test_without_participants_nothing_is_assumed(tmp_path):
    result, data = expected(tmp_path, "--declarations", str(PAGES[0]), "--declarations",
                            str(PAGES[1]), "--dfe-statements", str(STATEMENTS))
    assert result.exit_code in (0, 1), result.output
    findings = {f["code"]: f for f in data["findings"]}
    # the voided and submitted declarations have no cohort anywhere: left out, said once
    left = findings["READ_COHORT_NOT_GIVEN"]
    assert left["severity"] == "info" and "1 submitted, 1 voided" in left["message"]
    # no schedule: the dates are not judged (P3's January start is not an error)
    unscheduled = findings["READ_SCHEDULE_NOT_GIVEN"]
    assert unscheduled["severity"] == "info" and unscheduled["message"].startswith("7 of 7")
    assert "--participants" in unscheduled["suggestion"]
    assert "DECL_AFTER_MILESTONE_CUTOFF" not in findings
    # the money is the same: uplift_paid stands for the flags of paid ECT starts
    assert _lines(data, "January 2024")[2] == (1, "100.00")
    assert _lines(data, "April 2024")[0] == {("ect", "started", "A"): (1, "119.40"),
                                             ("ect", "retained-1", "A"): (1, "89.55")}


def test_a_billable_declaration_without_a_cohort_is_a_located_error(tmp_path):
    # no statements, no participants: the billable declarations name statements nobody
    # describes, and their cohort is needed for their money; one message per file
    result, data = expected(tmp_path, "--declarations", str(PAGES[0]), "--declarations",
                            str(PAGES[1]))
    assert result.exit_code == 2 and data is None
    text = " ".join(result.output.split())
    assert f"{PAGES[0]}, row 1, column cohort" in text and "(the same in rows 2, 3)" in text
    assert f"{PAGES[1]}, row 1, column cohort" in text and "(the same in rows 2, 5)" in text
    assert "--participants" in text


def _two_providers(tmp_path):
    from tests.read.conftest import write_csv

    return write_csv(tmp_path / "two.csv", """
declaration_id | participant_id | course_identifier | declaration_type | declaration_date | state | cohort | lead_provider | created_at | schedule_identifier
d-1 | p-1 | ecf-induction | started | 2023-10-02 | paid | 2023 | Example Teaching Institute | 2023-10-03 | ecf-standard-september
d-2 | p-2 | ecf-induction | started | 2023-10-02 | paid | 2023 | Other Provider | 2023-10-03 | ecf-standard-september
""")


def test_a_statements_list_of_unknown_provider_needs_lead_provider(tmp_path):
    result, data = expected(tmp_path, "--declarations", str(_two_providers(tmp_path)),
                            "--dfe-statements", str(STATEMENTS))
    assert result.exit_code == 2 and data is None
    assert ("DfE's statements list (v3 API) names no lead provider, and the declarations "
            "are of several ('Example Teaching Institute', 'Other Provider')") in \
        " ".join(result.output.split())
    assert "--lead-provider NAME" in result.output


def test_lead_provider_names_the_list_and_leaves_other_providers_out(tmp_path):
    result, data = expected(tmp_path, "--declarations", str(_two_providers(tmp_path)),
                            "--dfe-statements", str(STATEMENTS),
                            "--lead-provider", "Example Teaching Institute")
    assert result.exit_code in (0, 1), result.output
    (other,) = [f for f in data["findings"] if f["code"] == "READ_OTHER_PROVIDERS"]
    assert "Other Provider (1)" in other["message"]
    assert {s["lead_provider"] for s in data["statements"]} == {"Example Teaching Institute"}
    assert _lines(data, "January 2024")[0] == {("ect", "started", "A"): (1, "119.40")}


def test_duplicates_are_judged_across_a_retired_id_and_the_new_one(tmp_path):
    from tests.read.conftest import write_csv

    old = "b5e0c3d2-0000-4000-8000-0000000000f7"
    records = write_csv(tmp_path / "own-records.csv", f"""
declaration_id | participant_id | course_identifier | declaration_type | declaration_date | state | lead_provider | created_at | statement_name
x-1 | {P7} | ecf-induction | started | 2023-10-09 | paid | Example Teaching Institute | 2023-10-10 | January 2024
x-2 | {old} | ecf-induction | started | 2023-10-11 | paid | Example Teaching Institute | 2023-10-12 | January 2024
""")
    result, data = expected(tmp_path, "--declarations", str(records),
                            "--participants", str(PARTICIPANTS))
    assert result.exit_code == 1, result.output
    (duplicate,) = [f for f in data["findings"] if f["code"] == "DECL_DUPLICATE"]
    assert duplicate["declaration_id"] == "x-2"


def test_lead_provider_leaves_other_providers_out_before_their_cohort_is_looked_for(tmp_path):
    """The bundled sample's two pulls together, with Northbrook's statements list only:
    Harbour Lane's declarations sit on statements not given, so none of their cohorts
    can be found, and there are no participants. With --lead-provider Northbrook they are
    left out first (one finding), not an input error for every row. Northbrook's pull
    has 1,896 declarations, Harbour Lane's 1,104 (3,000 in all)."""
    from samples import SAMPLES_DIR

    api = SAMPLES_DIR / "api"
    pages = sorted(api.rglob("participant-declarations-*.json"))
    args = [a for p in pages for a in ("--declarations", str(p))]
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, [
        "expected", *args, "--dfe-statements",
        str(api / "northbrook-teaching-institute" / "statements.json"),
        "--lead-provider", "Northbrook Teaching Institute",
        "--contracts", str(SAMPLES_DIR / "contracts"), "--as-of", "2026-10-10",
        "--json", str(out), "-q", "--no-history"])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(out.read_text())
    (other,) = [f for f in data["findings"] if f["code"] == "READ_OTHER_PROVIDERS"]
    assert "Harbour Lane Education Trust (1,104)" in other["message"]
    assert {s["lead_provider"] for s in data["statements"]} == {"Northbrook Teaching Institute"}
