"""Rules are data: the real rulebook on a copy of rules/, changed in YAML only.

Each test copies the bundled ``rules/`` to a temporary folder, replaces its
contracts with the one written here (ECF's test bands of two: A ≤2 £400, B 3–4
£300, C 5–6 £200, D 7–8 £100 at 100% output), edits one YAML value and runs
read → evaluate → calculate on a CSV written here. No code changes between runs.
"""

import datetime as dt
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest

from reconcile.calculate import calculate
from reconcile.paths import bundled_rules_dir
from reconcile.read import read_declarations
from reconcile.rulebook.evaluate import evaluate
from reconcile.rulebook.load import load_rulebook

AS_OF = dt.date(2024, 6, 1)
PROVIDER = "Test Teaching Trust"

CONTRACT = f"""\
lead_provider: {PROVIDER}
cohort: 2023
vat_chargeable: true
recruitment_target: 8
set_up_fee: 0
uplift_amount: 100
bands:
  - {{name: A, min: 0, max: 2, per_participant: 400}}
  - {{name: B, min: 3, max: 4, per_participant: 300}}
  - {{name: C, min: 5, max: 6, per_participant: 200}}
  - {{name: D, min: 7, max: 8, per_participant: 100, output_payment_percentage: 100, service_fee_percentage: 0}}
"""

# three started declarations submitted in October 2023: cohort 2023's next output-fee
# statement is January 2024 (cut-off 2023-12-31); e1 is eligible, p1 and p2 paid
DECLARATIONS = f"""\
declaration_id,participant_id,course_identifier,declaration_type,declaration_date,state,cohort,lead_provider,created_at,delivery_partner_id
p1,part-1,ecf-induction,started,2023-10-02,paid,2023,{PROVIDER},2023-10-05T09:00:00Z,dp-1
p2,part-2,ecf-induction,started,2023-10-03,paid,2023,{PROVIDER},2023-10-05T09:00:00Z,dp-1
e1,part-3,ecf-induction,started,2023-10-04,eligible,2023,{PROVIDER},2023-10-05T09:00:00Z,dp-2
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), folder)
    for contract in (folder / "contracts").glob("*.yaml"):
        contract.unlink()
    (folder / "contracts" / "test-2023.yaml").write_text(CONTRACT, encoding="utf-8")
    (tmp_path / "declarations.csv").write_text(DECLARATIONS, encoding="utf-8")
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should appear once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def expected(rules: Path):
    rulebook = load_rulebook(rules)
    declarations = read_declarations(rules.parent / "declarations.csv", rulebook.vocabulary)
    evaluation = evaluate(declarations, rulebook, as_of=AS_OF, backend="python")
    calc = calculate(declarations, evaluation, rulebook, as_of=AS_OF)
    [january] = [s for s in calc.statements if s.key.name == "January 2024"]
    return calc, january


def outputs(statement):
    return [(ln.declaration_type, ln.band, ln.count, ln.amount)
            for ln in statement.output_payments]


def test_the_bundled_rules_with_a_test_contract(rules):
    calc, january = expected(rules)
    # started = 20% of the output price (60%): A £48, B £36
    assert outputs(january) == [("started", "A", 2, D("96.00")), ("started", "B", 1, D("36.00"))]
    # statements from the cohort's first (November 2023) to the last cut-off before as_of
    names = [s.key.name for s in calc.statements]
    # (June 2024's cut-off is 2024-05-31)
    assert names[0] == "November 2023" and names[-1] == "June 2024"
    # service fee: (2 × 160 + 2 × 120 + 2 × 80 + 2 × 0) / 29 = 720 / 29 = 24.83 a month
    assert {s.service_fee for s in calc.statements} == {D("24.83")}
    assert january.net == D("132.00") + D("24.83")
    assert january.vat == D("31.37") and january.total == D("188.20")


def test_changing_the_started_proportion_changes_the_fee(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  started: 20 ", "  started: 25 ")
    edit(fees, "  completed: 20 ", "  completed: 15 ")  # the core still adds up to 100
    _, january = expected(rules)
    # 25% of A £240 = £60, of B £180 = £45
    assert outputs(january) == [("started", "A", 2, D("120.00")), ("started", "B", 1, D("45.00"))]


def test_changing_a_band_price_changes_the_fee(rules):
    edit(rules / "contracts" / "test-2023.yaml", "max: 2, per_participant: 400",
         "max: 2, per_participant: 450")
    _, january = expected(rules)
    # 450 × 60% × 20% = £54
    assert outputs(january)[0] == ("started", "A", 2, D("108.00"))


def test_dropping_paid_from_the_billable_rule_leaves_only_the_eligible_one(rules):
    edit(rules / "eligibility.yaml",
         "      state: {in: [eligible, payable, paid]}\n    then: {classify: billable}",
         "      state: {in: [eligible, payable]}\n    then: {classify: billable}")
    calc, january = expected(rules)
    assert outputs(january) == [("started", "A", 1, D("48.00"))]
    assert [a.declaration_id for a in calc.attributions] == ["e1"]


def test_blended_attribution_changes_the_shares_not_the_lines(rules):
    edit(rules / "banding.yaml", "attribution: band", "attribution: blended")
    calc, january = expected(rules)
    assert outputs(january) == [("started", "A", 2, D("96.00")), ("started", "B", 1, D("36.00"))]
    # £132 over three: £44 each
    assert {a.declaration_id: a.fee for a in calc.attributions} == {
        "p1": D("44.00"), "p2": D("44.00"), "e1": D("44.00")}


def test_selecting_the_seed_service_fee_profile(rules):
    edit(rules / "service_fee.yaml", "selected: dfe_29_payments", "selected: seed_profile")
    _, january = expected(rules)
    # 720 × (90% / 29 + 10% / 40) = 22.3448... + 1.80 = 24.14
    assert january.service_fee == D("24.14")


def test_ordering_declarations_by_id_changes_who_takes_band_b(rules):
    # declaration_date first (the bundled rule): e1 is declared last, so it is in B
    calc, _ = expected(rules)
    assert {a.declaration_id: a.band for a in calc.attributions}["e1"] == "B"
    edit(rules / "banding.yaml", "order_by: [declaration_date, created_at, declaration_id]",
         "order_by: [declaration_id]")
    calc, _ = expected(rules)
    # by id: e1 < p1 < p2, so p2 takes the third place
    assert {a.declaration_id: a.band for a in calc.attributions} == {
        "e1": "A", "p1": "A", "p2": "B"}
