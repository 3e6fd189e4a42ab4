"""Facts of declarations: window positions, duplicates, dates, contracts, statements.

The schedule is DfE's ecf-standard-september for cohort 2022 (the bundled rules/schedules.yaml):
started 2022-06-01 to 2022-12-31, retained-1 2023-01-01 to 2023-03-31, ...; and the
non-standard ecf-extended-september 2023, whose milestones have no milestone date.
"""

import datetime as dt

import pytest

from reconcile.rulebook.conditions import compile_rules
from reconcile.rulebook.facts import derive_facts, duplicate_states, find_duplicates
from reconcile.rulebook.vocabulary import fact_vocabulary

from tests.builders import declaration, rule, rules_rulebook, vocabulary

AS_OF = dt.date(2024, 1, 10)
RULEBOOK = rules_rulebook()


def facts_of(*declarations, fields, as_of=AS_OF, rulebook=RULEBOOK):
    facts = derive_facts(declarations, rulebook, as_of, fields)
    return [facts.of(i) for i in range(len(declarations))]


@pytest.mark.parametrize("declaration_type, date, schedule, cohort, position", [
    # started 2022-06-01 .. 2022-12-31 (standard september 2022)
    ("started", "2022-05-31T23:59:59", "ecf-standard-september", 2022, "before_start"),
    ("started", "2022-06-01T00:00:00", "ecf-standard-september", 2022, "within"),
    ("started", "2022-12-31T23:59:59", "ecf-standard-september", 2022, "within"),
    ("started", "2023-01-01T00:00:00", "ecf-standard-september", 2022, "after_cutoff"),
    # retained-1 2023-01-01 .. 2023-03-31: the day after started's window
    ("retained-1", "2023-01-01T00:00:00", "ecf-standard-september", 2022, "within"),
    ("retained-1", "2022-12-31T23:59:59", "ecf-standard-september", 2022, "before_start"),
    ("completed", "2024-07-31T12:00:00", "ecf-standard-september", 2022, "within"),
    ("completed", "2024-08-01T12:00:00", "ecf-standard-september", 2022, "after_cutoff"),
    # extended-1 is not a milestone of a standard schedule
    ("extended-1", "2023-01-01T00:00:00", "ecf-standard-september", 2022, "not_in_schedule"),
    # non-standard: starts 2023-09-01, no milestone date, so no cut-off
    ("started", "2023-08-31T12:00:00", "ecf-extended-september", 2023, "before_start"),
    ("started", "2023-09-01T00:00:00", "ecf-extended-september", 2023, "open_ended"),
    ("extended-1", "2027-01-01T00:00:00", "ecf-extended-september", 2023, "open_ended"),
    # the schedule does not exist for that cohort
    ("started", "2022-09-01T00:00:00", "ecf-standard-september", 2019, "unknown_schedule"),
    ("started", "2022-09-01T00:00:00", "ecf-standard-sept", 2022, "unknown_schedule"),
])
def test_window_position_at_the_boundaries_of_a_real_schedule(declaration_type, date, schedule,
                                                               cohort, position):
    d = declaration(declaration_type=declaration_type, date=date, schedule=schedule,
                    cohort=cohort)
    (facts,) = facts_of(d, fields=["window_position", "schedule_family"])
    assert facts["window_position"] == position
    expected_family = None if position == "unknown_schedule" else schedule.split("-")[1]
    assert facts["schedule_family"] == expected_family


def test_future_date_is_judged_against_as_of():
    day_before, same_day, day_after = (declaration(date=f"2024-01-{n:02}") for n in (9, 10, 11))
    assert [f["future_date"] for f in facts_of(day_before, same_day, day_after,
                                               fields=["future_date", "declaration_date"])] == [
        False, False, True]
    assert facts_of(day_after, fields=["declaration_date"]) == [
        {"declaration_date": "2024-01-11"}]


COUNTED = frozenset(("submitted", "eligible", "payable", "paid"))


def test_duplicates_later_claim_of_same_participant_course_and_type():
    first = declaration("a", date="2022-09-01", state="paid")
    second = declaration("b", date="2022-09-15", state="eligible")
    other_type = declaration("c", date="2022-09-20", declaration_type="retained-1")
    other_course = declaration("d", date="2022-09-20", course="ecf-mentor")
    other_person = declaration("e", date="2022-09-20", participant_id="p2")
    # input order does not matter: the earlier declaration date wins
    assert find_duplicates([second, first, other_type, other_course, other_person], COUNTED) == [
        True, False, False, False, False]


def test_only_counted_states_make_a_later_declaration_a_duplicate():
    voided = declaration("a", date="2022-09-01", state="voided")
    clawed = declaration("b", date="2022-09-02", state="clawed-back")
    fresh = declaration("c", date="2022-09-15", state="submitted")
    late_void = declaration("d", date="2022-09-20", state="voided")
    # a voided one after a counted one has an earlier claim before it: it is flagged
    # as duplicate; the rule's own state test decides whether that is a finding
    assert find_duplicates([voided, clawed, fresh, late_void], COUNTED) == [
        False, False, False, True]


def test_duplicate_ties_are_broken_by_created_at_then_declaration_id():
    same_day = {"date": "2022-09-01", "state": "paid"}
    early = declaration("z", created_at="2022-09-01T08:00:00", **same_day)
    late = declaration("a", created_at="2022-09-01T09:00:00", **same_day)
    assert find_duplicates([late, early], COUNTED) == [True, False]
    x, y = declaration("x", **same_day), declaration("y", **same_day)  # created_at unknown
    assert find_duplicates([y, x], COUNTED) == [True, False]


def test_counted_states_are_read_from_the_rules_that_test_duplicate():
    words = vocabulary()
    rules = compile_rules([
        rule("billable", {"state": {"in": ["eligible", "payable", "paid"]}}),
        rule("duplicate", {"duplicate": True, "state": {"in": ["submitted", "eligible",
                                                               "payable", "paid"]}}),
    ], words)
    assert duplicate_states(rules, words) == COUNTED
    others = compile_rules([rule("dup", {"duplicate": True, "not": {"state": "voided"}})],
                           words)
    assert duplicate_states(others, words) == frozenset(words.states) - {"voided"}
    assert duplicate_states(rules[:1], words) == frozenset()  # nothing tests duplicate


def test_derive_facts_uses_the_rulebooks_duplicate_rule():
    rulebook = rules_rulebook([rule("duplicate", {"duplicate": True,
                                                  "state": {"in": ["eligible", "paid"]}})])
    declarations = [declaration("a", date="2022-09-01", state="submitted"),
                    declaration("b", date="2022-09-02", state="paid"),
                    declaration("c", date="2022-09-03", state="eligible")]
    # submitted does not count here (the rule says eligible, paid): b is first
    assert [f["duplicate"] for f in facts_of(*declarations, fields=["duplicate"],
                                             rulebook=rulebook)] == [False, False, True]


def test_contract_facts():
    ect_2022 = declaration(cohort=2022)
    mentor_2025 = declaration(cohort=2025, course="ecf-mentor")
    stranger = declaration(cohort=2022, lead_provider="Nobody Ltd")
    fields = ["contract_found", "contract_uplift", "mentor_flat_rate"]
    assert facts_of(ect_2022, mentor_2025, stranger, fields=fields) == [
        {"contract_found": True, "contract_uplift": True, "mentor_flat_rate": False},
        {"contract_found": True, "contract_uplift": False, "mentor_flat_rate": True},
        {"contract_found": False, "contract_uplift": False, "mentor_flat_rate": False},
    ]


def test_output_statement_available_from_the_day_it_was_submitted():
    # cohort 2022's last output-fee statement (May 2023) has cut-off 2023-04-30
    on_cut_off = declaration(date="2023-04-01", created_at="2023-04-30T23:00:00")
    after = declaration(date="2023-04-01", created_at="2023-05-01T00:00:00")
    no_created_at = declaration(date="2023-05-02")  # judged by its declaration date
    no_calendar = declaration(cohort=2030)
    assert [f["output_statement_available"] for f in facts_of(
        on_cut_off, after, no_created_at, no_calendar,
        fields=["output_statement_available"])] == [True, False, False, False]


def test_flags_and_presence_facts():
    d = declaration(pupil_premium_uplift=False, sparsity_uplift=True, delivery_partner_name="DP",
                    clawback_statement_id="s-9")
    (facts,) = facts_of(d, fields=["has_uplift_flag", "pupil_premium_uplift", "sparsity_uplift",
                                   "has_delivery_partner", "has_statement",
                                   "has_clawback_statement"])
    assert facts == {"has_uplift_flag": True, "pupil_premium_uplift": False,
                     "sparsity_uplift": True, "has_delivery_partner": True,
                     "has_statement": False, "has_clawback_statement": True}


def test_equal_facts_share_one_signature_and_identity_never_enters_it():
    declarations = [declaration(f"d{i}", participant_id=f"p{i}", date=f"2022-09-{10 + i % 5}",
                                state=("paid", "voided")[i % 2]) for i in range(100)]
    facts = derive_facts(declarations, RULEBOOK, AS_OF, ["state", "window_position"])
    assert facts.signatures == (("paid", "within"), ("voided", "within"))
    assert facts.signature_of[:4] == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="declaration_id"):
        derive_facts(declarations, RULEBOOK, AS_OF, ["declaration_id"])


def test_every_fact_field_has_a_derivation_and_json_types():
    fields = fact_vocabulary(vocabulary())
    facts = derive_facts([declaration()], RULEBOOK, AS_OF)
    assert facts.fields == tuple(fields)
    for name, value in facts.of(0).items():
        assert value is None or isinstance(value, (str, int, bool)), name
