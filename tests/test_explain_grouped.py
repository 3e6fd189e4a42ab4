"""``reconcile explain ID`` shows the grouped findings that name the declaration.

A calculation finding about a group (``CALC_OVER_CAPACITY``: every declaration of a
type beyond the last band on one statement) names a few ids in its message and
keeps all of them in ``Finding.declaration_ids``; explain must show it for each.

The case, by hand: one band A of 0-2 (capacity 2); nine paid started declarations
d-01 .. d-09 of cohort 2023, submitted 2023-10-05, all on January 2024 (the first
output-fee statement after that, cut-off 2023-12-31). Band places go by
declaration_date, created_at, id: d-01 and d-02 fill band A, d-03 .. d-09 (7) are
beyond it and unpaid. The message lists the first five, "d-03, ... d-07 and 2 more".
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.explain import names_declaration
from reconcile.findings import Finding, Severity

LP = "Test Teaching Trust"
CONTRACT = f"""\
lead_provider: {LP}
cohort: 2023
vat_chargeable: true
recruitment_target: 2
monthly_service_fee: 0
bands:
  - {{name: A, min: 0, max: 2, per_participant: 1000}}
"""
HEADER = ("declaration_id,participant_id,course_identifier,declaration_type,declaration_date,"
          "state,cohort,lead_provider,created_at,delivery_partner_id")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("over")
    rows = [f"d-0{n},p-0{n},ecf-induction,started,2023-10-02,paid,2023,{LP},"
            f"2023-10-05T09:00:00Z,dp-1" for n in range(1, 10)]
    (folder / "declarations.csv").write_text("\n".join([HEADER, *rows]) + "\n",
                                             encoding="utf-8")
    (folder / "contract.yaml").write_text(CONTRACT, encoding="utf-8")
    return folder


def explain(folder, declaration_id, *more):
    return CliRunner().invoke(main, [
        "explain", declaration_id, "--declarations", str(folder / "declarations.csv"),
        "--contracts", str(folder / "contract.yaml"), "--as-of", "2024-09-01", *more])


@pytest.mark.parametrize("declaration_id", ["d-03", "d-09"])  # d-09 is not in the message
def test_a_declaration_beyond_the_last_band_shows_its_over_capacity_finding(inputs,
                                                                             declaration_id):
    result = explain(inputs, declaration_id)
    assert result.exit_code == 0, result.output
    assert "unpaid: beyond the last band, fee £0.00" in result.output
    assert ("[warning] CALC_OVER_CAPACITY: 7 started declaration(s) on January 2024 are "
            "beyond the last band's maximum and are not paid (d-03, d-04, d-05, d-06, d-07 "
            "and 2 more).") in result.output


def test_a_declaration_within_the_band_does_not_show_it(inputs):
    result = explain(inputs, "d-01")
    assert result.exit_code == 0, result.output
    assert "band A, fee £120.00" in result.output  # 20% of 60% of £1,000
    assert "CALC_OVER_CAPACITY" not in result.output


def test_the_json_explanation_has_it_and_the_finding_json_has_no_id_list(inputs, tmp_path):
    out = tmp_path / "x.json"
    result = explain(inputs, "d-09", "--json", str(out))
    assert result.exit_code == 0, result.output
    found = json.loads(out.read_text(encoding="utf-8"))["findings"]
    (over,) = [f for f in found if f["code"] == "CALC_OVER_CAPACITY"]
    assert over["declaration_id"] is None and over["actual"] == "7"
    assert "declaration_ids" not in over  # the group's ids stay out of the JSON


def test_names_declaration_by_field_list_or_whole_word_in_the_message():
    def f(message="", **where):
        return Finding("X", Severity.INFO, message, **where)

    assert names_declaration(f(declaration_id="d-1"), "d-1")
    assert names_declaration(f(declaration_ids=("d-2", "d-1")), "d-1")
    assert names_declaration(f("clawbacks on May 2024 (d-1 and d-7)"), "d-1")
    assert not names_declaration(f("clawbacks on May 2024 (d-10, d-1a)"), "d-1")
    assert not names_declaration(f(declaration_ids=("d-10",)), "d-1")
