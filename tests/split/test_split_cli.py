"""``reconcile split`` end to end: a small declarations CSV through the bundled rules.

Cohort 2023 of the bundled example contract (band A started £119.40, retained-1
£89.55, uplift £100); output-fee statements January 2024 and April 2024.
"""

from __future__ import annotations

import json
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.errors import UsageError
from reconcile.pipeline import RunOptions, run
from reconcile.paths import bundled_rules_dir

#: the bundled example contracts (Example Teaching Institute): given explicitly, as a
#: user's run reads only the contracts it is given
EXAMPLES = str(bundled_rules_dir() / "contracts")

D = Decimal
CSV = """\
declaration_id,participant_id,course_identifier,declaration_type,declaration_date,state,cohort,lead_provider,created_at,delivery_partner_id,delivery_partner_name,pupil_premium_uplift
w-1,p-7,ecf-induction,started,2023-10-01,clawed-back,2023,Example Teaching Institute,2023-12-01,dp-west,West Hub,true
n-1,p-7,ecf-induction,retained-1,2024-03-01,paid,2023,Example Teaching Institute,2024-03-01,dp-north,North Hub,false
n-2,p-8,ecf-induction,started,2023-10-02,paid,2023,Example Teaching Institute,2023-12-02,dp-north,North Hub,false
s-1,p-9,ecf-induction,started,2023-10-03,paid,2023,Example Teaching Institute,2023-12-03,dp-south,South Hub,false
u-1,p-10,ecf-induction,started,2023-10-04,paid,2023,Example Teaching Institute,2023-12-04,,,false
"""


def split(tmp_path, *extra):
    (tmp_path / "d.csv").write_text(CSV, encoding="utf-8")
    return CliRunner().invoke(main, ["split", "--declarations", str(tmp_path / "d.csv"),
                                     "--contracts", EXAMPLES, "--as-of", "2024-05-01", "-q",
                                     *extra])


def test_split_writes_json_workbook_and_remittances(tmp_path):
    result = split(tmp_path, "--json", str(tmp_path / "split.json"), "--out",
                   str(tmp_path / "split.xlsx"), "--per-partner", str(tmp_path / "rem"))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "split.json").read_text(encoding="utf-8"))
    for statement in data["splits"]:
        assert sum(D(p["amount"]) for p in statement["partners"]) + D(
            statement["retained"]) == D(statement["net"])
    [april] = [s for s in data["splits"] if s["statement"] == "April 2024"]
    west = next(p for p in april["partners"] if p["delivery_partner_id"] == "dp-west")
    assert (west["clawbacks"], west["delivery_partner_name"]) == ("-219.40", "West Hub")
    assert [f["code"] for f in data["findings"]] == ["SPLIT_NO_DELIVERY_PARTNER"]
    assert sorted(p.name for p in (tmp_path / "rem").iterdir()) == [
        "remittance-north-hub.xlsx", "remittance-south-hub.xlsx", "remittance-west-hub.xlsx"]
    north = openpyxl.load_workbook(tmp_path / "rem" / "remittance-north-hub.xlsx")
    assert sorted(r[3] for r in north["Declarations"].iter_rows(min_row=2, values_only=True)
                  ) == ["n-1", "n-2"]
    assert "Delivery partners" in openpyxl.load_workbook(tmp_path / "split.xlsx").sheetnames


def test_split_json_to_standard_output(tmp_path):
    result = split(tmp_path, "--json", "-")
    assert result.exit_code == 0
    assert {s["statement"] for s in json.loads(result.stdout)["splits"]} >= {
        "January 2024", "April 2024"}


def test_bad_input_writes_nothing_and_exits_2(tmp_path):
    (tmp_path / "d.csv").write_text(CSV.replace("clawed-back", "clawed-forward"),
                                    encoding="utf-8")
    result = CliRunner().invoke(main, [
        "split", "--declarations", str(tmp_path / "d.csv"), "-q",
        "--json", str(tmp_path / "split.json"), "--per-partner", str(tmp_path / "rem")])
    assert result.exit_code == 2
    assert "clawed-forward" in result.output
    assert not (tmp_path / "split.json").exists() and not (tmp_path / "rem").exists()


def test_split_needs_somewhere_to_write(tmp_path):
    result = split(tmp_path)
    assert result.exit_code == 2 and "--per-partner" in result.output


def test_per_partner_folder_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    result = split(tmp_path, "--per-partner", str(tmp_path / "file"), "--json",
                   str(tmp_path / "split.json"))
    assert result.exit_code == 2
    assert "is a file" in result.output and not (tmp_path / "split.json").exists()
    # the pipeline checks it too, for callers other than the command line
    with pytest.raises(UsageError, match="needs a folder"):
        run(RunOptions(tmp_path / "d.csv", with_split=True, remittances=tmp_path / "file"))


def test_per_partner_folder_is_made_with_its_parents_only_when_writing(tmp_path):
    folder = tmp_path / "new" / "dir"
    (tmp_path / "d.csv").write_text(CSV, encoding="utf-8")
    bad = CliRunner().invoke(main, ["split", "--declarations", str(tmp_path / "d.csv"),
                                    "--as-of", "not-a-date", "--per-partner", str(folder)])
    assert bad.exit_code == 2 and not (tmp_path / "new").exists()
    result = split(tmp_path, "--per-partner", str(folder))
    assert result.exit_code == 0, result.output
    assert len(list(folder.iterdir())) == 3
