"""Rules are data: editing a copy of rules/ changes what the rulebook says.

Each test edits the YAML text as a finance user would, reloads, and checks the
value the calculation will read (the end-to-end money effect of a changed rule is
tested by the calculation's own tests).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from reconcile.errors import RuleError
from reconcile.money import round_money
from reconcile.rulebook.load import load_rulebook
from tests.rulebook.helpers import edit, line_of

LP = "Example Teaching Institute"
CONTRACT_2023 = "contracts/example-teaching-institute-2023.yaml"


def test_started_proportion_25_needs_the_core_to_add_up_to_100(rules):
    fees = rules / "fees.yaml"
    edit(fees, "  started: 20 ", "  started: 25 ")
    with pytest.raises(RuleError) as caught:
        load_rulebook(rules)
    assert [str(p) for p in caught.value.problems] == [
        (f"{fees}:{line_of(fees, 'proportions:')}: proportions: the core milestones add up to "
        "105%, not 100% (started 25%, retained-1 15%, retained-2 15%, retained-3 15%, "
        "retained-4 15%, completed 20%) — adjust them so that they add up to 100, e.g. "
        "started 20, retained-1..4 15, completed 20 (DfE's ECF payment rules; see "
        "docs/rules.md)")]
    edit(fees, "  retained-1: 15 ", "  retained-1: 10 ")
    rulebook = load_rulebook(rules)
    thousand = rulebook.contract_for(LP, 2023).bands[0]._replace(per_participant=D(1000))
    assert round_money(rulebook.fees.output_fee(thousand, "started")) == D("150.00")
    assert round_money(rulebook.fees.output_fee(thousand, "retained-1")) == D("60.00")


def test_band_price_change(rules):
    edit(rules / CONTRACT_2023, "{name: A, min: 0, max: 2000, per_participant: 995}",
         "{name: A, min: 0, max: 2000, per_participant: 1000}")
    rulebook = load_rulebook(rules)
    band_a = rulebook.contract_for(LP, 2023).bands[0]
    assert band_a.per_participant == D(1000)
    assert rulebook.fees.output_fee(band_a, "started") == D(120)
    assert band_a.service_price == D(400)
    # the other cohorts keep their own price
    assert rulebook.contract_for(LP, 2022).bands[0].per_participant == D(995)


def test_money_written_as_text_is_exact(rules):
    edit(rules / CONTRACT_2023, "per_participant: 995}", 'per_participant: "995.50"}')
    band_a = load_rulebook(rules).contract_for(LP, 2023).bands[0]
    assert band_a.per_participant == D("995.50")
    assert band_a.output_price == D("597.300")


def test_dropping_paid_from_the_billable_rule(rules):
    edit(rules / "eligibility.yaml", "state: {in: [eligible, payable, paid]}\n    then: "
         "{classify: billable}", "state: {in: [eligible, payable]}\n    then: "
         "{classify: billable}")
    billable = load_rulebook(rules).rule("billable")
    assert billable.when == {"state": {"in": ["eligible", "payable"]}}


def test_calendar_policy_keep(rules):
    edit(rules / "calendars.yaml", "faulty_cut_off: correct", "faulty_cut_off: keep")
    rulebook = load_rulebook(rules)
    january = next(s for s in rulebook.statements_for(2021) if s.name == "January 2023")
    assert january.faulty and january.cut_off_date == dt.date(2023, 12, 31)


def test_same_day_policy_correct(rules):
    edit(rules / "calendars.yaml", "same_day_cut_off: keep", "same_day_cut_off: correct")
    november = load_rulebook(rules).statements_for(2021)[0]
    assert (november.original_cut_off_date, november.cut_off_date) == (
        dt.date(2021, 11, 30), dt.date(2021, 10, 31))


def test_selecting_the_seed_profile(rules):
    edit(rules / "service_fee.yaml", "selected: dfe_29_payments", "selected: seed_profile")
    service = load_rulebook(rules).service_fee
    assert service.selected == "seed_profile"
    assert service.policy.number_of_payments == 40


def test_under_target_pro_rata(rules):
    edit(rules / "service_fee.yaml", "  reduction: none", "  reduction: pro_rata")
    assert load_rulebook(rules).service_fee.under_target.reduction == "pro_rata"


def test_mentors_banded_always(rules):
    edit(rules / "banding.yaml", "  mentor: without_flat_rate", "  mentor: always")
    assert load_rulebook(rules).banding.banded("mentor", flat_rate=True)


def test_a_new_cohort_calendar_row(rules):
    calendars = rules / "calendars.yaml"
    text = calendars.read_text(encoding="utf-8")
    calendars.write_text(text + "  2026:\n    - {name: November 2026, cut_off: 2026-10-31, "
                                "payment: 2026-11-25, output_fee: true}\n", encoding="utf-8")
    (row,) = load_rulebook(rules).statements_for(2026)
    assert (row.name, row.cut_off_date, row.faulty) == ("November 2026", dt.date(2026, 10, 31),
                                                        False)


def test_unknown_files_in_the_folder_are_ignored(rules):
    (rules / "notes.yaml").write_text("this: is not a rules file\n", encoding="utf-8")
    (rules / "README.txt").write_text("notes", encoding="utf-8")
    assert load_rulebook(rules).fees.vat_percentage == D(20)
