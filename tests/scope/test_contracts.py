"""A run's contracts are the ones given; a provider without one stops the run (exit 2)."""

from __future__ import annotations

from click.testing import CliRunner

from reconcile.cli import main
from reconcile.paths import bundled_rules_dir
from tests.read.conftest import write_csv

DECLARATIONS = """
declaration_id | participant_id | course_identifier | declaration_type | declaration_date | state | cohort | lead_provider | created_at
d-1 | p-1 | ecf-induction | started | 2023-10-02 | paid | 2023 | Northbrook Teaching Institute | 2023-10-03
d-2 | p-2 | ecf-induction | started | 2023-10-02 | voided | 2023 | Example Teaching Institute | 2023-10-03
"""

CONTRACT = """\
lead_provider: Northbrook Teaching Institute Ltd
cohort: 2023
vat_chargeable: true
recruitment_target: 100
bands:
  - {name: A, min: 0, max: 100, per_participant: 1000}
"""


def _run(tmp_path, *extra):
    decl = write_csv(tmp_path / "d.csv", DECLARATIONS)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(main, ["expected", "--declarations", str(decl), "--json",
                                       str(out), "--as-of", "2024-06-01", *extra])
    return result, out


def test_a_provider_without_a_contract_names_the_nearest_and_writes_nothing(tmp_path):
    contract = tmp_path / "northbrook.yaml"
    contract.write_text(CONTRACT)
    result, out = _run(tmp_path, "--contracts", str(contract),
                       "--contracts", str(bundled_rules_dir() / "contracts"))
    assert result.exit_code == 2
    assert not out.exists()
    text = " ".join(result.output.split())
    assert ("the declarations of lead provider 'Northbrook Teaching Institute' (cohort 2023) "
            "have no contract: the contracts given are for 'Example Teaching Institute' "
            "(cohort 2021, 2022, 2023, 2024, 2025); 'Northbrook Teaching Institute Ltd' "
            "(cohort 2023). Did you mean 'Northbrook Teaching Institute Ltd'?") in text
    assert "d.csv, row 2, column lead_provider" in text
    assert "Traceback" not in result.output


def test_the_bundled_example_contracts_are_not_a_users_contracts(tmp_path):
    # without --contracts the Example Teaching Institute examples are not loaded
    result, out = _run(tmp_path)
    assert result.exit_code == 2 and not out.exists()
    assert "no contract was given" in result.output
    assert "Northbrook Teaching Institute" in result.output
