"""The bundled rulebook loads, and says what DOMAIN.md says.

Figures: DOMAIN.md "Prices" (the £1,000 seed breakdown, the ECF sample band A
£995), "Service fee" (RECT's worked examples), "Banding" (capacity), and the
reference data's known faulty rows (DOMAIN.md "Reference data").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from reconcile.errors import RuleError
from reconcile.findings import Severity
from reconcile.money import round_money
from reconcile.rulebook.load import Band, Classify, FindingSpec, load_rulebook
from reconcile.rulebook.schema import ContractFile

LP = "Example Teaching Institute"


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


def band(price: str, output: str = "60", service: str = "40", minimum: int = 0,
         maximum: int = 2000) -> Band:
    return Band("A", minimum, maximum, D(price), D(output), D(service))


# --- fees: the seed's breakdown, from the rules alone -------------------------------


def test_seed_breakdown_of_a_1000_band(rulebook):
    """Seed 002: £1,000 = output £600 (start £120, 4 × £90 retained, completion £120,
    £90 per extension) + service fee £400."""
    fees = rulebook.fees
    split = fees.band_split
    thousand = band("1000", split.output_payment_percentage, split.service_fee_percentage)
    assert thousand.output_price == D(600)
    assert thousand.service_price == D(400)
    fee = {t: round_money(fees.output_fee(thousand, t)) for t in fees.proportions}
    assert fee == {"started": D("120.00"), "retained-1": D("90.00"), "retained-2": D("90.00"),
                   "retained-3": D("90.00"), "retained-4": D("90.00"), "completed": D("120.00"),
                   "extended-1": D("90.00"), "extended-2": D("90.00"), "extended-3": D("90.00")}
    assert sum(fee[t] for t in fees.core_milestones) == D("600.00")


def test_ecf_sample_band_a_started_fee(rulebook):
    """ECF sample contract band A £995: started = 995 × 60% × 20% = £119.40."""
    contract = rulebook.contract_for(LP, 2023)
    band_a = contract.bands[0]
    assert (band_a.name, band_a.per_participant) == ("A", D(995))
    assert rulebook.fees.output_fee(band_a, "started") == D("119.4")
    assert round_money(rulebook.fees.output_fee(band_a, "retained-1")) == D("89.55")


def test_mentor_flat_rate_1000(rulebook):
    """Seed 002, mentors from 2025-26: £1,000 = started £500 + completed £500."""
    mentor = rulebook.contract_for(LP, 2025).mentor
    assert mentor.payment_per_participant == D(1000)
    fees = rulebook.fees
    assert fees.mentor_fee(mentor.payment_per_participant, "started") == D(500)
    assert fees.mentor_fee(mentor.payment_per_participant, "completed") == D(500)
    assert fees.mentor_fee(mentor.payment_per_participant, "retained-1") == D(0)


def test_vat_and_proportion_helpers(rulebook):
    assert rulebook.fees.vat_percentage == D(20)
    assert rulebook.fees.vat(D("1000.00")) == D(200)
    assert rulebook.fees.proportion("started") == D(20)


def test_proportions_are_exact_decimals(rulebook):
    assert all(type(p) is D for p in rulebook.fees.proportions.values())
    assert all(type(b.per_participant) is D for c in rulebook.contracts.values() for b in c.bands)


# --- vocabulary ----------------------------------------------------------------------


def test_vocabulary(rulebook):
    vocabulary = rulebook.vocabulary
    assert vocabulary.declaration_types == (
        "started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
        "extended-1", "extended-2", "extended-3")
    assert "awaiting-clawback" in vocabulary.states
    assert vocabulary.state("clawed_back") == "clawed-back"
    assert vocabulary.state("Paid") == "paid"
    assert vocabulary.state("refunded") is None
    assert vocabulary.participant_type_of("ecf-induction") == "ect"
    assert vocabulary.participant_type_of("ecf-mentor") == "mentor"
    assert vocabulary.course_of_report_type("ECT") == "ecf-induction"
    # no schedule is assumed for a declaration no input gives one for
    assert vocabulary.default_schedule is None
    assert vocabulary.no_payment_states == ("submitted", "voided", "ineligible")


# --- contracts and bands -------------------------------------------------------------


def test_example_contracts(rulebook):
    assert sorted(rulebook.contracts) == [(LP, year) for year in range(2021, 2026)]
    c2023 = rulebook.contract_for(LP, 2023)
    assert c2023.recruitment_target == 4500
    assert c2023.uplift_amount == D(100)
    assert c2023.mentor is None
    assert [(b.name, b.min, b.max, b.per_participant) for b in c2023.bands[:3]] == [
        ("A", 0, 2000, D(995)), ("B", 2001, 4000, D(979)), ("C", 4001, 5175, D(966))]
    assert str(c2023.source).endswith("contracts/example-teaching-institute-2023.yaml:12")
    c2025 = rulebook.contract_for(LP, 2025)
    assert c2025.uplift_amount is None
    assert [b.name for b in c2025.bands] == ["A", "B", "C"]  # no band D from 2025


def test_band_defaults_and_band_d(rulebook):
    bands = rulebook.contract_for(LP, 2023).bands
    assert (bands[0].output_payment_percentage, bands[0].service_fee_percentage) == (D(60), D(40))
    band_d = bands[3]
    assert (band_d.output_payment_percentage, band_d.service_fee_percentage) == (D(100), D(0))
    assert band_d.service_price == D(0)


def test_band_capacity_counts_min_zero_as_one(rulebook):
    """DOMAIN.md "Banding": capacity = max − max(min, 1) + 1."""
    bands = rulebook.contract_for(LP, 2023).bands
    assert [b.capacity for b in bands] == [2000, 2000, 1175, 825]
    assert band("10", minimum=1, maximum=2).capacity == 2
    assert band("10", minimum=3, maximum=4).capacity == 2


def test_contract_lookup_ignores_case_and_spaces(rulebook):
    assert rulebook.contract_for("example  teaching INSTITUTE", 2024).cohort == 2024
    assert rulebook.contract_for(LP, 2019) is None
    assert rulebook.contract_for("Another Provider", 2023) is None
    # a declarations file without lead_provider: the only provider's contract
    assert rulebook.contract_for(None, 2022).cohort == 2022


# --- banding and service fee ---------------------------------------------------------


def test_banding_policy(rulebook):
    banding = rulebook.banding
    assert banding.order_by == ("declaration_date", "created_at", "declaration_id")
    assert banding.refunds.take_from == ("this_statement_additions", "previous_fill")
    assert banding.attribution == "band"
    assert banding.banded("ect", flat_rate=False) and banding.banded("ect", flat_rate=True)
    assert banding.banded("mentor", flat_rate=False)
    assert not banding.banded("mentor", flat_rate=True)


def test_service_fee_dfe_29_payments_rect_examples(rulebook):
    """RECT: price £800, 40% service, set-up £500, band A capacity 100:
    target 100 → (32,000 − 500)/29 = £1,086.21; target 150 with band B £600 →
    (44,000 − 500)/29 = £1,500.00; target 50 → (16,000 − 250)/29 = £543.10."""
    service = rulebook.service_fee
    policy = service.policy
    assert service.selected == "dfe_29_payments"
    assert policy.number_of_payments == 29
    assert policy.set_up_fee_deduction == "spread_over_band_a"
    assert round_money(policy.monthly_amount(D(32000) - D(500), 1)) == D("1086.21")
    assert round_money(policy.monthly_amount(D(44000) - D(500), 29)) == D("1500.00")
    assert round_money(policy.monthly_amount(D(16000) - D(250), 12)) == D("543.10")
    # 29 is only the divisor: statements 30 and later are paid the same (ECF
    # statement_calculator.rb pays the service fee on every statement)
    assert policy.paid_on == "every_statement"
    assert policy.monthly_amount(D(31500), 30) == policy.monthly_amount(D(31500), 34) \
        == D(31500) / 29
    assert service.contract_monthly_fee_wins is True
    assert service.under_target.threshold_percentage == D(75)
    assert service.under_target.reduction == "none"


def test_service_fee_seed_profile(rulebook):
    """Seed 002: months 1–29 get 90%/29 + 10%/40 = 3.353%, months 30–40 0.25%."""
    seed = rulebook.service_fee.policies["seed_profile"]
    assert seed.number_of_payments == 40
    assert round(seed.share(1) * 100, 3) == D("3.353")
    assert seed.share(30) * 100 == D("0.25")
    assert seed.share(41) == 0
    # £400 service fee of a £1,000 participant: months 1-29 £13.41, 30-40 £1.00
    assert round_money(seed.monthly_amount(D(400), 29)) == D("13.41")
    assert seed.monthly_amount(D(400), 40) == D(1)
    paid = sum(seed.monthly_amount(D(400), month) for month in range(1, 41))
    assert round_money(paid) == D("400.00")


# --- eligibility rules ---------------------------------------------------------------


def test_classification_rules(rulebook):
    labels = {r.id: r.then.label for r in rulebook.rules if isinstance(r.then, Classify)}
    assert labels == {"billable": "billable", "refundable": "refundable", "uplift": "uplift",
                      "flat-rate-mentor": "flat_rate"}
    assert rulebook.rule("billable").when == {"state": {"in": ["eligible", "payable", "paid"]}}
    assert rulebook.rule("refundable").when == {"state": {"in": ["awaiting-clawback",
                                                                 "clawed-back"]}}
    assert rulebook.rule("uplift").when == {
        "declaration_type": "started", "has_uplift_flag": True, "contract_uplift": True,
        "not": {"participant_type": "mentor", "mentor_flat_rate": True}}


def test_validation_rules_codes_and_api_wording(rulebook):
    findings = {r.id: r.then for r in rulebook.rules if isinstance(r.then, FindingSpec)}
    codes = {spec.code for spec in findings.values()}
    assert {"DECL_BEFORE_MILESTONE_START", "DECL_AFTER_MILESTONE_CUTOFF",
            "DECL_TYPE_NOT_IN_SCHEDULE", "DECL_UNKNOWN_SCHEDULE", "DECL_FUTURE_DATE",
            "DECL_MENTOR_TYPE_NOT_ALLOWED", "DECL_DUPLICATE", "DECL_INELIGIBLE", "DECL_SUBMITTED",
            "DECL_NO_CONTRACT", "DECL_NO_OUTPUT_STATEMENT", "DECL_NO_DELIVERY_PARTNER",
            "DECL_UPLIFT_NOT_FUNDED"} <= codes
    before = findings["milestone-before-start"]
    assert before.severity is Severity.ERROR
    # plain words first (issue 17); DfE's API text (config/locales/en.yml) in brackets
    assert before.message.startswith(
        "This {declaration_type} declaration is dated {declaration_date}, before its "
        "milestone starts")
    assert before.message.endswith(
        "(DfE's API says: \"Enter a '#/declaration_date' that's on or after the milestone "
        "start.\")")
    assert findings["duplicate"].message.endswith(
        "(DfE's API says: \"A declaration has already been submitted that will be, or has "
        "been, paid for this event.\")")
    assert findings["type-not-in-schedule"].message.endswith(
        "(DfE's API says: \"The property '#/declaration_type' does not exist for this "
        "schedule.\")")
    # no finance-facing message starts with the API's jargon
    for spec in findings.values():
        assert "'#/" not in spec.message.split("(DfE's API says")[0], spec.code
    assert findings["ineligible"].severity is Severity.INFO
    assert findings["no-delivery-partner"].severity is Severity.WARNING
    assert all(spec.suggestion for spec in findings.values())


def test_rule_sources_point_at_the_rule(rulebook):
    billable = rulebook.rule("billable")
    path = rulebook.directory / "eligibility.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[billable.source.line - 1].strip() == "- id: billable"
    state_line = billable.when_lines[("state",)]
    assert lines[state_line - 1].strip() == "state: {in: [eligible, payable, paid]}"
    assert lines[billable.when_lines[()] - 1].strip() == "when:"


# --- schedules and calendars ---------------------------------------------------------


def test_every_reference_schedule_is_loaded(rulebook):
    assert len(rulebook.schedules) == 60  # 12 identifiers × 5 cohorts
    assert sum(len(s.milestones) for s in rulebook.schedules.values()) == 404  # every row
    standard = rulebook.schedule_for("ecf-standard-september", 2024)
    started = standard.milestones["started"]
    assert (started.start_date, started.milestone_date, started.payment_date) == (
        dt.date(2024, 6, 1), dt.date(2024, 12, 31), dt.date(2024, 11, 30))
    extended = rulebook.schedule_for("ecf-extended-september", 2023)
    assert extended.family == "extended"
    assert list(extended.milestones) == list(rulebook.vocabulary.declaration_types)
    assert extended.milestones["extended-3"].milestone_date is None
    assert rulebook.schedule_for("ecf-standard-september", 2030) is None


def test_incomplete_schedule_loads_and_is_flagged(rulebook):
    january = rulebook.schedule_for("ecf-standard-january", 2021)
    assert len(january.milestones) == 5 and "completed" not in january.milestones
    flagged = [f for f in rulebook.findings if f.code == "CAL_SCHEDULE_INCOMPLETE"]
    assert [(f.cohort, f.severity) for f in flagged] == [(2021, Severity.INFO)]
    assert "ecf-standard-january" in flagged[0].message


def test_milestone_after_payment_is_flagged(rulebook):
    flagged = {(f.cohort, f.severity) for f in rulebook.findings
               if f.code == "CAL_MILESTONE_AFTER_PAYMENT"}
    assert flagged == {(2022, Severity.INFO), (2023, Severity.INFO), (2024, Severity.INFO)}


def test_every_calendar_row_is_loaded_in_payment_order(rulebook):
    assert {c: len(rows) for c, rows in rulebook.calendar.items()} == {
        2021: 34, 2022: 33, 2023: 34, 2024: 31, 2025: 31}
    rows = rulebook.statements_for(2021)
    assert [s.payment_date for s in rows] == sorted(s.payment_date for s in rows)
    first = rows[0]
    assert (first.name, first.output_fee) == ("November 2021", True)
    may = next(s for s in rows if s.name == "May 2022")
    assert (may.cut_off_date, may.payment_date, may.faulty) == (
        dt.date(2022, 4, 30), dt.date(2022, 5, 25), False)
    # written 2022-1-25 in DfE's CSV: a proper date here
    assert next(s for s in rows if s.name == "January 2022").payment_date == dt.date(2022, 1, 25)
    assert rulebook.statements_for(2031) == ()


def test_faulty_cut_off_is_kept_flagged_and_corrected(rulebook):
    """DOMAIN.md: "January 2023" (cohort 2021) has deadline 2023-12-31 for a payment on
    2023-01-25; the default policy uses the last day of the month before: 2022-12-31."""
    january = next(s for s in rulebook.statements_for(2021) if s.name == "January 2023")
    assert january.faulty
    assert january.original_cut_off_date == dt.date(2023, 12, 31)
    assert january.cut_off_date == dt.date(2022, 12, 31)
    flagged = [f for f in rulebook.findings
               if f.code == "CAL_CUTOFF_AFTER_PAYMENT" and f.statement == "January 2023"
               and f.cohort == 2021]
    assert len(flagged) == 1 and flagged[0].severity is Severity.WARNING
    assert str(flagged[0].source).endswith(f"calendars.yaml:{january.source.line}")


def test_same_day_cut_off_is_flagged_but_kept(rulebook):
    november = rulebook.statements_for(2021)[0]
    assert november.faulty and november.cut_off_date == november.original_cut_off_date
    faulty = [s for rows in rulebook.calendar.values() for s in rows if s.faulty]
    corrected = [s for s in faulty if s.cut_off_date != s.original_cut_off_date]
    assert (len(faulty), len(corrected)) == (12, 10)


# --- the rulebook as a whole ---------------------------------------------------------


def test_files_are_listed_with_their_hashes(rulebook):
    names = [name.rsplit("/", 1)[-1] for name, _ in rulebook.files]
    assert {"vocabulary.yaml", "fees.yaml", "banding.yaml", "service_fee.yaml",
            "eligibility.yaml", "schedules.yaml", "calendars.yaml", "split.yaml",
            "example-teaching-institute-2023.yaml"} <= set(names)
    assert all(len(digest) == 64 for _, digest in rulebook.files)


def test_summary_and_split_policy(rulebook):
    summary = rulebook.summary()
    assert "18 eligibility rules" in summary and "5 contract(s)" in summary
    assert "dfe_29_payments" in summary
    assert rulebook.split is not None and rulebook.split.output_fees.attribution == "band"


def test_rulebook_is_immutable(rulebook):
    with pytest.raises(AttributeError):
        rulebook.fees = None
    with pytest.raises(ValidationError):
        rulebook.fees.vat_percentage = D(0)
    assert rulebook.fees.vat_percentage == D(20)


def test_missing_rules_folder(tmp_path):
    with pytest.raises(RuleError) as caught:
        load_rulebook(tmp_path / "nowhere")
    assert "rules folder not found" in caught.value.render()


def test_contracts_from_a_folder_and_a_file(rules, tmp_path):
    extra = tmp_path / "more"
    extra.mkdir()
    text = (rules / "contracts" / "example-teaching-institute-2023.yaml").read_text()
    (extra / "other.yaml").write_text(text.replace(LP, "Other Provider"))
    single = tmp_path / "third.yaml"
    single.write_text(text.replace(LP, "Third Provider").replace("cohort: 2023", "cohort: 2024"))
    rulebook = load_rulebook(rules, (extra, single))
    assert rulebook.contract_for("Other Provider", 2023).bands[0].per_participant == D(995)
    assert rulebook.contract_for("Third Provider", 2024).cohort == 2024
    assert rulebook.contract_for(None, 2023) is None  # several providers: name one
    assert len(rulebook.contracts) == 7


# --- money in YAML -------------------------------------------------------------------


def _contract(**change):
    data = {"lead_provider": LP, "cohort": 2023, "vat_chargeable": True,
            "recruitment_target": 4500,
            "bands": [{"name": "A", "min": 0, "max": 2000, "per_participant": 995}]}
    data["bands"][0].update(change)
    return ContractFile.model_validate(data)


def test_money_is_exact_from_int_decimal_or_text_and_never_a_float():
    assert _contract().bands[0].per_participant == D(995)
    assert _contract(per_participant=D("995.50")).bands[0].per_participant == D("995.50")
    assert _contract(per_participant="995.50").bands[0].per_participant == D("995.50")
    with pytest.raises(ValidationError) as caught:
        _contract(per_participant=995.5)
    assert caught.value.errors()[0]["type"] == "exact_number"
    with pytest.raises(ValidationError):
        _contract(per_participant=True)
