"""Malformed rules: every mistake is reported as ``file:line: what — how to fix``.

Each case breaks a copy of the bundled rules the way people do (a typo, a wrong
indent, percentages that no longer add up, overlapping bands) and runs
``reconcile rules check DIR``: exit 2, no traceback, and the exact line a person
must look at, with a hint. The line is found in the test from the file's text,
independently of the loader.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from reconcile.cli import main
from reconcile.errors import RuleError
from reconcile.rulebook.load import load_rulebook
from tests.rulebook.helpers import edit, line_of

CONTRACT = "contracts/example-teaching-institute-2023.yaml"


def check(rules: Path, *extra: str) -> list[str]:
    """Run ``reconcile rules check RULES``; it must exit 2 with no traceback.
    Returns the problem lines."""
    result = CliRunner().invoke(main, ["rules", "check", str(rules), *extra])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == "reconcile: rule error:"
    return lines[1:]


def where(path: Path, text: str) -> str:
    return f"{path}:{line_of(path, text)}"


# --- YAML itself ---------------------------------------------------------------------


def test_bad_yaml_syntax(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  retained-2: 15\n", "   retained-2: 15\n")  # one space too many
    (problem,) = check(rules)
    assert problem.startswith(f"{where(fees, 'retained-2: 15')}: this is not valid YAML: ")
    assert problem.endswith(" — check the indentation and quoting around this line")


def test_duplicate_key(rules):
    fees = rules / "fees.yaml"
    first = line_of(fees, "started: 20")
    edit(fees, "  completed: 20 ", "  started: 20  # again\n  completed: 20 ")
    assert check(rules) == [
        (f"{where(fees, 'started: 20  # again')}: key 'started' appears twice in the same mapping "
        f"(first on line {first}) — remove or rename one of them")]


def test_empty_file(rules):
    (rules / "banding.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert check(rules) == [(f"{rules / 'banding.yaml'}:1: the file is empty — write the rules "
                            "in it, or copy the bundled file")]


def test_missing_required_file(rules):
    (rules / "service_fee.yaml").unlink()
    assert check(rules) == [
        (f"{rules / 'service_fee.yaml'}: required rules file is missing — every rules folder "
        "needs service_fee.yaml: copy it from the bundled rules")]


def test_misnamed_required_file(rules):
    (rules / "service_fee.yaml").rename(rules / "service-fee.yaml")
    assert check(rules) == [
        (f"{rules / 'service_fee.yaml'}: required rules file is missing — did you mean "
        "'service-fee.yaml'? Rename it to service_fee.yaml")]


# --- shapes: keys, types, allowed values ---------------------------------------------


def test_unknown_key_with_did_you_mean(rules):
    banding = rules / "banding.yaml"
    edit(banding, "attribution: band\n", "atribution: band\n")
    assert check(rules) == [
        (f"{where(banding, 'description:')}: 'attribution' is missing — add attribution (fee "
        "attributed to each declaration: band (its band's fee) or blended (the statement "
        "line's average))"),
        (f"{where(banding, 'atribution: band')}: unknown key 'atribution' — did you mean "
        "'attribution'?")]


def test_unknown_key_lists_the_allowed_keys(rules):
    contract = rules / CONTRACT
    edit(contract, "set_up_fee: 0\n", "set_up_fee: 0\nnotes: blue\n")
    assert check(rules) == [
        (f"{where(contract, 'notes: blue')}: unknown key 'notes' — remove it (the keys allowed "
        "here: lead_provider, cohort, version, vat_chargeable, vat_rate, recruitment_target, "
        "set_up_fee, uplift_amount, monthly_service_fee, bands, mentor, versions)")]


def test_wrong_type(rules):
    contract = rules / CONTRACT
    edit(contract, "recruitment_target: 4500", "recruitment_target: lots")
    assert check(rules) == [
        (f"{where(contract, 'recruitment_target:')}: recruitment_target: 'lots' is not a whole "
        "number — contracted number of participants, e.g. 4500")]


def test_unknown_allowed_value(rules):
    banding = rules / "banding.yaml"
    edit(banding, "attribution: band\n", "attribution: blend\n")
    assert check(rules) == [
        (f"{where(banding, 'attribution: blend')}: attribution: 'blend' is not allowed here — "
        "did you mean 'blended'? use one of: band, blended")]


def test_negative_price(rules):
    contract = rules / CONTRACT
    edit(contract, "{name: B, min: 2001, max: 4000, per_participant: 979}",
         "{name: B, min: 2001, max: 4000, per_participant: -979}")
    assert check(rules) == [
        (f"{where(contract, '{name: B')}: bands[B].per_participant: -979 is negative — price "
        "per participant in pounds, e.g. 995")]


def test_implausible_cohort(rules):
    contract = rules / CONTRACT
    edit(contract, "cohort: 2023", "cohort: 23")
    assert check(rules) == [
        (f"{where(contract, 'cohort: 23')}: cohort: 23 is too small: it must be at least 2000 — "
        "the cohort's start year, e.g. 2023")]


def test_bad_date_in_calendar(rules):
    calendars = rules / "calendars.yaml"
    edit(calendars, "{name: February 2022, cut_off: 2022-01-31,",
         "{name: February 2022, cut_off: 2022-1-31,")
    assert check(rules) == [
        (f"{where(calendars, '{name: February 2022, cut_off: 2022-1-31')}: "
        "cohorts.2021[February 2022].cut_off: '2022-1-31' is not a date — write the date as "
        "YYYY-MM-DD, e.g. 2023-01-25")]


def test_impossible_date_in_schedule(rules):
    schedules = rules / "schedules.yaml"
    edit(schedules, "- {declaration_type: started, start: 2021-09-01, end: 2021-11-30,",
         "- {declaration_type: started, start: 2021-09-01, end: 2021-11-31,")
    assert check(rules) == [
        (f"{where(schedules, '{declaration_type: started, start: 2021-09-01, end: 2021-11-31')}: "
        "'2021-11-31' is not a real date (day is out of range for month) — check the month and "
        "day")]


def test_infinite_number(rules):
    contract = rules / CONTRACT
    edit(contract, "uplift_amount: 100", "uplift_amount: .inf")
    assert check(rules) == [
        (f"{where(contract, 'uplift_amount:')}: '.inf' is not a finite number — write a number "
        "such as 995 or 995.50")]


# --- sums, bands, names across files -------------------------------------------------


def test_unknown_declaration_type_with_did_you_mean(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  retained-1: 15 ", "  retained1: 15 ")
    problems = check(rules)
    assert (f"{where(fees, 'retained1: 15')}: proportions: 'retained1' is not a declaration "
            "type — did you mean 'retained-1'?") in problems
    # and the consequences, each on its own line
    assert (f"{where(fees, 'proportions:')}: proportions: 'retained-1' has no proportion — add "
            "'retained-1: <per cent>' (a declaration type of vocabulary.yaml must have a fee)"
            ) in problems


def test_core_proportions_must_add_up_to_100(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  completed: 20 ", "  completed: 25 ")
    (problem,) = check(rules)
    assert problem.startswith(f"{where(fees, 'proportions:')}: proportions: the core milestones "
                              "add up to 105%, not 100% (")
    assert problem.endswith("— adjust them so that they add up to 100, e.g. started 20, "
                            "retained-1..4 15, completed 20 (DfE's ECF payment rules; see "
                            "docs/rules.md)")


def test_mentor_proportions_must_add_up_to_100(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  completed: 50\n", "  completed: 40\n")
    assert check(rules) == [
        (f"{where(fees, 'mentor_flat_rate_proportions:')}: mentor_flat_rate_proportions add up "
        "to 90%, not 100% — make them add up to 100, e.g. started 50, completed 50")]


def test_band_output_and_service_must_add_up_to_100(rules):
    contract = rules / CONTRACT
    edit(contract, "{name: C, min: 4001, max: 5175, per_participant: 966}",
         "{name: C, min: 4001, max: 5175, per_participant: 966, output_payment_percentage: 70}")
    assert check(rules) == [
        (f"{where(contract, '{name: C')}: band C: output 70% + service 40% = 110%, not 100% — make "
        "output_payment_percentage and service_fee_percentage add up to 100")]


def test_overlapping_bands(rules):
    contract = rules / CONTRACT
    edit(contract, "{name: B, min: 2001,", "{name: B, min: 1990,")
    assert check(rules) == [
        (f"{where(contract, '{name: B')}: band B: min 1990 overlaps band A (max 2000) — start band "
        "B at 2001 (the previous max + 1)")]


def test_missing_band_leaves_a_gap(rules):
    contract = rules / CONTRACT
    edit(contract, "  - {name: B, min: 2001, max: 4000, per_participant: 979}\n", "")
    assert check(rules) == [
        (f"{where(contract, '{name: C')}: band C: min 4001 leaves a gap after band A (max 2000) — "
        "start band C at 2001 (the previous max + 1)")]


def test_first_band_must_start_at_0_or_1(rules):
    contract = rules / CONTRACT
    edit(contract, "{name: A, min: 0,", "{name: A, min: 10,")
    assert check(rules) == [
        (f"{where(contract, '{name: A')}: band A: the first band starts at 10 — the first band "
        "must start at 0 or 1 (participants are counted from 1)")]


def test_duplicate_contract_names_both_files(rules):
    original = rules / CONTRACT
    copy = rules / "contracts" / "zz-copy.yaml"
    shutil.copy(original, copy)
    assert check(rules) == [
        (f"{where(copy, 'lead_provider:')}: a second contract for Example Teaching Institute, "
        f"cohort 2023 (the first is {where(original, 'lead_provider:')}) — keep one contract per "
        "lead provider and cohort: remove or correct one of them")]


def test_duplicate_contract_given_twice_with_contracts_option(rules, tmp_path):
    copy, again = tmp_path / "mine.yaml", tmp_path / "again.yaml"
    shutil.copy(rules / CONTRACT, copy)
    shutil.copy(rules / CONTRACT, again)
    assert check(rules, "--contracts", str(again), "--contracts", str(copy)) == [
        (f"{where(copy, 'lead_provider:')}: a second contract for Example Teaching Institute, "
        f"cohort 2023 (the first is {where(again, 'lead_provider:')}) — keep one "
        "contract per lead provider and cohort: remove or correct one of them")]


def test_a_given_contract_shadows_the_rules_folders_with_a_note(rules, tmp_path):
    from reconcile.rulebook.load import load_rulebook

    copy = tmp_path / "mine.yaml"
    shutil.copy(rules / CONTRACT, copy)
    edit(copy, "recruitment_target: 4500", "recruitment_target: 4400")
    rulebook = load_rulebook(rules, (copy,))
    contract = rulebook.contract_for("Example Teaching Institute", 2023)
    assert (contract.recruitment_target, contract.source.file) == (4400, str(copy))
    (note,) = rulebook.notes
    assert note == (f"the contract {copy} (Example Teaching Institute, cohort 2023) is used "
                    f"instead of {rules / CONTRACT}")


def test_contracts_path_not_found(rules, tmp_path):
    assert check(rules, "--contracts", str(tmp_path / "nope.yaml")) == [
        (f"{tmp_path / 'nope.yaml'}: contracts file or folder not found — check the --contracts "
        "path")]


def test_unknown_service_fee_policy(rules):
    service = rules / "service_fee.yaml"
    edit(service, "selected: dfe_29_payments", "selected: dfe_29")
    assert check(rules) == [
        (f"{where(service, 'selected:')}: selected: 'dfe_29' is not one of the policies — did "
        "you mean 'dfe_29_payments'?")]


def test_default_schedule_must_exist(rules):
    vocabulary = rules / "vocabulary.yaml"
    edit(vocabulary, "default_schedule: null",
         "default_schedule: ecf-standard-septembre")
    assert check(rules) == [
        (f"{where(vocabulary, 'default_schedule:')}: default_schedule: 'ecf-standard-septembre' "
        "is not a schedule of schedules.yaml — did you mean 'ecf-standard-september'?")]


def test_assurance_report_states_must_be_states(rules):
    vocabulary = rules / "vocabulary.yaml"
    edit(vocabulary, "  paid_state: paid", "  paid_state: payed")
    edit(vocabulary, "  refund_states: [awaiting-clawback, clawed-back]",
         "  refund_states: [awaiting-clawback, clawed-bak]")
    edit(vocabulary, "no_payment_states: [submitted, voided, ineligible]",
         "no_payment_states: [submitted, voided, ineligable]")
    assert check(rules) == [
        (f"{where(vocabulary, 'no_payment_states:')}: no_payment_states: 'ineligable' is not a "
         "state — did you mean 'ineligible'?"),
        (f"{where(vocabulary, 'paid_state:')}: assurance_report: paid_state: 'payed' is not a "
         "state — add it to states"),
        (f"{where(vocabulary, 'refund_states:')}: assurance_report: refund_states: 'clawed-bak' is "
         "not a state — did you mean 'clawed-back'?")]


def test_statement_counts_and_recruitment_type_must_be_in_the_vocabulary(rules):
    vocabulary = rules / "vocabulary.yaml"
    edit(vocabulary, "  voided: voided", "  voided: void")
    edit(vocabulary, "recruitment_type: started", "recruitment_type: start")
    assert check(rules) == [
        (f"{where(vocabulary, 'voided: void')}: statement_counts: voided: 'void' is not a "
         "state — did you mean 'voided'?"),
        (f"{where(vocabulary, 'recruitment_type:')}: recruitment_type: 'start' is not a "
         "declaration type — did you mean 'started'?")]


def test_an_imported_band_split_must_add_up_to_100(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  D: {output_payment_percentage: 100, service_fee_percentage: 0}",
         "  D: {output_payment_percentage: 100, service_fee_percentage: 10}")
    assert check(rules) == [
        (f"{where(fees, 'D: {output_payment_percentage: 100')}: imported_band_splits: D: "
         "output 100% + service 10% = 110%, not 100% — make the two percentages add up to "
         "100 (e.g. 100 and 0)")]


def test_the_paid_state_is_no_refund_state(rules):
    vocabulary = rules / "vocabulary.yaml"
    edit(vocabulary, "  refund_states: [awaiting-clawback, clawed-back]",
         "  refund_states: [paid, clawed-back]")
    assert check(rules) == [
        (f"{where(vocabulary, 'refund_states:')}: assurance_report: 'paid' is both "
         "the paid state and a refund state — a refund state is the state on the clawback "
         "statement: remove it from refund_states")]


# --- eligibility rules ---------------------------------------------------------------


def test_duplicate_rule_id(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "- id: refundable", "- id: billable")
    assert check(rules) == [
        (f"{eligibility}:{_nth_line(eligibility, 'id: billable', 2)}: rule id 'billable' is used "
        "twice — rename one of them (the other is rule 1 of the list)")]


def _nth_line(path: Path, text: str, nth: int) -> int:
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if line.strip().removeprefix("- ") == text]
    return hits[nth - 1]


def test_unknown_classification_label(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "then: {classify: refundable}", "then: {classify: refundible}")
    assert check(rules) == [
        (f"{where(eligibility, 'then: {classify: refundible}')}: "
        "rules[refundable].then.classify: 'refundible' is not allowed here — did you mean "
        "'refundable'? use one of: billable, refundable, uplift, flat_rate")]


def test_unknown_severity(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "finding: DECL_FUTURE_DATE\n      severity: error",
         "finding: DECL_FUTURE_DATE\n      severity: fatal")
    assert check(rules) == [
        (f"{where(eligibility, 'severity: fatal')}: rules[future-date].then.severity: 'fatal' is "
        "not allowed here — use one of: error, warning, info")]


def test_outcome_that_is_neither_classify_nor_finding(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "then: {classify: uplift}", "then: {label: uplift}")
    (problem,) = [p for p in check(rules) if "neither" in p]
    assert problem == (
        f"{where(eligibility, 'then: {label: uplift}')}: rules[uplift].then: neither 'classify' "
        "nor 'finding' is given — write 'then: {classify: billable}' or 'then: {finding: CODE, "
        "severity: error, message: ..., suggestion: ...}'")


def test_condition_on_an_unknown_field(rules):
    """Type-checked by the engine's condition language (reconcile.rulebook.conditions)."""
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "      future_date: true\n", "      futur_date: true\n")
    (problem,) = check(rules)
    assert problem.startswith(f"{where(eligibility, 'futur_date: true')}: rule future-date: "
                              "unknown fact field 'futur_date' — did you mean 'future_date'?")


def test_condition_with_an_unknown_operator(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "state: {in: [awaiting-clawback, clawed-back]}",
         "state: {inside: [awaiting-clawback, clawed-back]}")
    (problem,) = check(rules)
    assert problem.startswith(f"{where(eligibility, 'state: {inside:')}: rule refundable: "
                              "state: unknown operator 'inside' — ")
    assert "in, not_in" in problem


def test_condition_with_a_wrong_value_type(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "      contract_uplift: true\n      not:",
         "      contract_uplift: 100\n      not:")
    (problem,) = check(rules)
    assert problem.startswith(f"{where(eligibility, 'contract_uplift: 100')}: rule uplift: "
                              "contract_uplift is ")
    assert "100" in problem and "—" in problem


def test_condition_with_a_value_outside_the_vocabulary(rules):
    eligibility = rules / "eligibility.yaml"
    edit(eligibility, "    when:\n      state: ineligible", "    when:\n      state: inelegible")
    (problem,) = check(rules)
    assert problem.startswith(f"{where(eligibility, 'state: inelegible')}: rule ineligible: "
                              "state: 'inelegible' is not one of its values — did you mean "
                              "'ineligible'?")


# --- every problem at once -----------------------------------------------------------


def test_three_mistakes_in_one_file_give_three_problems(rules):
    contract = rules / CONTRACT
    edit(contract, "vat_chargeable: true", "vat_chargeable: perhaps")
    edit(contract, "recruitment_target: 4500", "recruitment_target: lots")
    edit(contract, "per_participant: 966}", "per_participant: -966}")
    assert check(rules) == [
        (f"{where(contract, 'vat_chargeable:')}: vat_chargeable: 'perhaps' is not true or false — "
        "true if VAT is added to the statements"),
        (f"{where(contract, 'recruitment_target:')}: recruitment_target: 'lots' is not a whole "
        "number — contracted number of participants, e.g. 4500"),
        (f"{where(contract, '{name: C')}: bands[C].per_participant: -966 is negative — price per "
        "participant in pounds, e.g. 995")]


def test_problems_of_several_files_are_reported_together(rules):
    edit(rules / "fees.yaml", "vat_percentage: 20", "vat_percentage: 120")
    edit(rules / "banding.yaml", "attribution: band\n", "attribution: blend\n")
    edit(rules / CONTRACT, "{name: B, min: 2001,", "{name: B, min: 1990,")
    edit(rules / "eligibility.yaml", "      future_date: true\n", "      futur_date: true\n")
    problems = check(rules)
    assert [p.split(":", 1)[0].rsplit("/", 1)[-1] for p in problems] == [
        "fees.yaml", "banding.yaml", "eligibility.yaml", "example-teaching-institute-2023.yaml"]
    assert "vat_percentage: 120 is too large: it must be at most 100" in problems[0]


def test_load_rulebook_raises_one_rule_error(rules):
    edit(rules / "fees.yaml", "vat_percentage: 20", "vat_percentage: 120")
    edit(rules / CONTRACT, "{name: B, min: 2001,", "{name: B, min: 1990,")
    try:
        load_rulebook(rules)
    except RuleError as error:
        assert len(error.problems) == 2
    else:
        raise AssertionError("the broken rules loaded")


def test_conditions_are_checked_even_when_the_vocabulary_is_broken(rules):
    vocabulary = rules / "vocabulary.yaml"
    eligibility = rules / "eligibility.yaml"
    edit(vocabulary, "participant_types: [ect, mentor]", "participant_types: ect")
    edit(eligibility, "      future_date: true\n", "      futur_date: true\n")
    problems = check(rules)
    assert problems[0] == (f"{where(vocabulary, 'participant_types:')}: participant_types: "
                           "'ect' should be a list — e.g. [ect, mentor]")
    assert problems[1].startswith(f"{where(eligibility, 'futur_date: true')}: rule future-date: "
                                  "unknown fact field 'futur_date'")
