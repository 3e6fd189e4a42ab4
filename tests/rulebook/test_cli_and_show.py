"""``reconcile rules check`` and ``reconcile rules show`` on the bundled rules."""

from __future__ import annotations

from click.testing import CliRunner

from reconcile.cli import main
from reconcile.rulebook.vocabulary import fact_vocabulary
from reconcile.rulebook.load import load_rulebook
from reconcile.rulebook.show import describe_condition, render_rulebook
from tests.rulebook.helpers import edit


def test_rules_check_accepts_the_bundled_rules():
    result = CliRunner().invoke(main, ["rules", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("reconcile: rulebook OK: 18 eligibility rules, 60 schedules")


def test_rules_check_accepts_a_copy(rules):
    result = CliRunner().invoke(main, ["rules", "check", str(rules)])
    assert result.exit_code == 0, result.output


def test_rules_show_exits_0_with_the_whole_rulebook():
    result = CliRunner().invoke(main, ["rules", "show"])
    assert result.exit_code == 0, result.output
    for heading in ("Fees per declaration", "Banding", "Service fee", "Eligibility rules",
                    "Facts a rule can ask about", "Contracts", "Schedules", "Statement calendars", "Delivery-partner split"):
        assert heading in result.output


def test_show_fees_worked_example():
    text = render_rulebook(load_rulebook())
    assert "Worked example: a price of £1,000.00 gives output £600.00 and service fee £400.00" \
        in text
    fees = text[text.index("Fees per declaration"):text.index("Flat-rate mentors")]
    rows = {line.split()[0]: line.split() for line in fees.splitlines()
            if line.startswith("  ") and line.split()[0] in ("started", "retained-1",
                                                               "extended-3")}
    assert rows["started"][1:3] == ["20%", "£120.00"]
    assert rows["retained-1"][1:3] == ["15%", "£90.00"]
    assert rows["extended-3"][1:3] == ["15%", "£90.00"]


def test_show_contract_bands_with_prices():
    text = render_rulebook(load_rulebook())
    contracts = text[text.index("\nContracts\n"):text.index("\nSchedules (")]
    band_a = [line.split() for line in contracts.splitlines() if line.startswith("  A ")]
    # band, participants, capacity, price, split, output price, service price, started fee
    assert band_a[0] == ["A", "0-2,000", "2,000", "£995.00", "60%/40%", "£597.00", "£398.00",
                         "£119.40"]
    assert "Mentors: flat rate £1,000.00 per participant (started £500.00, completed £500.00)." \
        in text


def test_show_marks_the_selected_service_fee_policy(rules):
    text = render_rulebook(load_rulebook())
    assert "* dfe_29_payments  (selected):" in text
    assert "  seed_profile: " in text
    assert "    months 30-40: 0.2500% of the total each" in text
    edit(rules / "service_fee.yaml", "selected: dfe_29_payments", "selected: seed_profile")
    text = render_rulebook(load_rulebook(rules))
    assert "* seed_profile  (selected):" in text and "  dfe_29_payments: " in text


def test_show_every_rule_with_its_place_and_condition_in_words():
    rulebook = load_rulebook()
    text = render_rulebook(rulebook)
    for rule in rulebook.rules:
        assert f"{rule.id}  ({rule.source})" in text
    assert "  when: state is one of eligible, payable or paid\n  then: classify as billable" in text
    assert "then: finding DECL_BEFORE_MILESTONE_START (error)" in text


def test_show_lists_every_fact_field_with_its_type_values_and_meaning():
    # rules/eligibility.yaml's header says `rules show` lists the fact fields
    rulebook = load_rulebook()
    text = render_rulebook(rulebook)
    facts = text[text.index("\nFacts a rule can ask about"):text.index("\nContracts\n")]
    fields = fact_vocabulary(rulebook.vocabulary)
    assert len(fields) == 21
    for field in fields.values():
        assert f"\n  {field.name}  (" in facts and f"\n    {field.doc}\n" in facts
    assert ("  window_position  (text: before_start, within, after_cutoff, open_ended, "
            "not_in_schedule, unknown_schedule, not_given)\n    where declaration_date falls in the "
            "milestone window of its schedule\n") in facts
    assert "  cohort  (whole number)\n    the cohort's start year, e.g. 2023\n" in facts
    assert "  schedule_family  (text: standard, extended, reduced, replacement; may be null)" \
        in facts
    assert "  state  (text: submitted, eligible, payable, paid, voided, ineligible, " in facts
    assert "and declaration_id, participant_id, declaration_date, milestone_start" in facts


def test_show_faulty_calendar_rows():
    text = render_rulebook(load_rulebook())
    assert ("cohort 2021 January 2023: cut-off 2023-12-31, payment 2023-01-25 -> cut-off "
            "2022-12-31") in text


def test_describe_condition():
    assert describe_condition({"state": {"in": ["a", "b", "c"]}, "cohort": {"gte": 2025}}) == \
        "state is one of a, b or c and cohort is at least 2025"
    assert describe_condition({"any": [{"pupil_premium_uplift": True},
                                       {"sparsity_uplift": True}],
                               "not": {"delivery_partner": {"exists": True}}}) == (
        "(pupil_premium_uplift is true or sparsity_uplift is true) and "
        "not (delivery_partner is given)")
