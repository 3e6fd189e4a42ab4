"""The condition validator: every mistake a rule writer can make, reported at file:line."""

import pytest

from reconcile.errors import RuleError
from reconcile.rulebook.conditions import (
    All,
    AnyOf,
    Compare,
    Exists,
    Member,
    compile_rules,
    render,
    validate_rule_conditions,
)
from reconcile.rulebook.vocabulary import fact_vocabulary

from tests.builders import rule_specs, vocabulary

HEADER = "rules:\n  - id: r\n    description: test\n    then: {classify: billable}\n    when:\n"


def problems_of(when_yaml: str) -> list[str]:
    """Problems of one rule whose `when:` is written at line 6 onwards."""
    rules = rule_specs(HEADER + when_yaml)
    return [str(p) for p in validate_rule_conditions(rules, vocabulary())]


@pytest.mark.parametrize("when_yaml, expected", [
    ("      stat: paid\n",
     "rules/eligibility.yaml:6: rule r: unknown fact field 'stat' — did you mean 'state'?"),
    ("      state: {eqq: paid}\n",
     "rules/eligibility.yaml:6: rule r: state: unknown operator 'eqq' — did you mean 'eq'?"),
    ("      cohort: '2023'\n",
     ("rules/eligibility.yaml:6: rule r: cohort is a whole number, but '2023' is text "
     "— write the number without quotes: 2023")),
    ("      state:\n        in:\n          - paid\n          - awaiting_clawback\n",
     ("rules/eligibility.yaml:9: rule r: state: 'awaiting_clawback' is not one of its values "
     "— did you mean 'awaiting-clawback'?")),
    ("      state: {in: []}\n", "rules/eligibility.yaml:6: rule r: state: in has an empty list"),
    ("      all: []\n", "rules/eligibility.yaml:6: rule r: `all:` has no conditions"),
    ("      any: []\n", "rules/eligibility.yaml:6: rule r: `any:` has no conditions"),
    ("      cohort: {gte: 2022, lt: 2025}\n",
     "rules/eligibility.yaml:6: rule r: cohort: one operator per mapping, found gte, lt"),
    ("      state: [paid, eligible]\n",
     "rules/eligibility.yaml:6: rule r: state: eq takes a single value, not a list"),
    ("      state: {eq: {x: 1}}\n",
     "rules/eligibility.yaml:6: rule r: state: eq takes a single value, not a mapping"),
    ("      sid: 1\n", "rules/eligibility.yaml:6: rule r: 'sid' is a reserved name"),
    ("      _kind: fact\n", "rules/eligibility.yaml:6: rule r: '_kind' is a reserved name"),
    ("      state: paid\n      any:\n        - cohort: 2022\n        - window_positon: within\n",
     ("rules/eligibility.yaml:9: rule r: unknown fact field 'window_positon' — did you mean "
     "'window_position'?")),
    ("      state: {lt: paid}\n",
     "rules/eligibility.yaml:6: rule r: state: lt compares numbers or dates"),
    ("      future_date: 'yes'\n",
     "rules/eligibility.yaml:6: rule r: future_date is true/false, but 'yes' is text"),
    ("      declaration_date: {lt: 2023-9-1}\n",
     ("rules/eligibility.yaml:6: rule r: declaration_date is a date (YYYY-MM-DD), but "
     "'2023-9-1' is text — write the date as YYYY-MM-DD, zero-padded")),
    ("      schedule_family: null\n",
     ("rules/eligibility.yaml:6: rule r: schedule_family: null is not a value to compare with "
     "— to test for a missing value write `schedule_family: {exists: false}`")),
    ("      state: {exists: true}\n",
     "rules/eligibility.yaml:6: rule r: state: exists: true is always true"),
    ("      in: [paid]\n",
     "rules/eligibility.yaml:6: rule r: operator 'in' needs a fact field in front of it"),
    ("      not: [state: paid]\n",
     "rules/eligibility.yaml:6: rule r: a condition must be a mapping of fact fields, not a list"),
    ("      window_position: {in: [within, after_cutof]}\n",
     ("rules/eligibility.yaml:6: rule r: window_position: 'after_cutof' is not one of its "
     "values — did you mean 'after_cutoff'?")),
])
def test_each_mistake_is_reported_with_its_line_and_a_fix(when_yaml, expected):
    problems = problems_of(when_yaml)
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_every_problem_of_a_rule_is_reported_not_just_the_first():
    problems = problems_of("      stat: paid\n      cohort: {gt: '2022'}\n      any: []\n")
    assert [p.split(": rule r: ")[0] for p in problems] == [
        "rules/eligibility.yaml:6", "rules/eligibility.yaml:7", "rules/eligibility.yaml:8"]


def test_unknown_message_placeholder_is_reported_at_the_rule():
    text = ("rules:\n  - id: early\n    when: {window_position: before_start}\n"
            "    then:\n      finding: DECL_EARLY\n      severity: error\n"
            "      message: 'The {declaration_typ} is early.'\n")
    (problem,) = validate_rule_conditions(rule_specs(text), vocabulary())
    assert str(problem).startswith("rules/eligibility.yaml:2: rule early: unknown placeholder "
                                   "{declaration_typ} in the message — did you mean "
                                   "'declaration_type'?")


def test_a_valid_rule_normalises_to_a_frozen_tree():
    text = HEADER + ("      state: {in: [eligible, payable, paid, paid]}\n"
                     "      declaration_type: started\n"
                     "      any:\n        - pupil_premium_uplift: true\n"
                     "        - sparsity_uplift: true\n"
                     "      declaration_date: {lt: 2023-06-01}\n")
    (compiled,) = compile_rules(rule_specs(text), vocabulary())
    assert compiled.condition == All((
        Member("state", ("eligible", "payable", "paid")),
        Compare("declaration_type", "eq", "started"),
        AnyOf((Compare("pupil_premium_uplift", "eq", True),
               Compare("sparsity_uplift", "eq", True))),
        Compare("declaration_date", "lt", "2023-06-01"),  # YAML date -> ISO text
    ))
    assert compiled.where == "r (rules/eligibility.yaml:2)"
    with pytest.raises(AttributeError):
        compiled.condition.items = ()  # frozen


@pytest.mark.parametrize("when, expected", [
    ({"not": {"state": "paid"}}, "state ne paid"),
    ({"not": {"state": {"ne": "paid"}}}, "state eq paid"),
    ({"not": {"cohort": {"lt": 2025}}}, "cohort gte 2025"),
    ({"not": {"cohort": {"lte": 2025}}}, "cohort gt 2025"),
    ({"not": {"cohort": {"gt": 2025}}}, "cohort lte 2025"),
    ({"not": {"cohort": {"gte": 2025}}}, "cohort lt 2025"),
    ({"not": {"state": {"in": ["paid", "payable"]}}}, "state not_in [paid, payable]"),
    ({"not": {"state": {"not_in": ["paid"]}}}, "state in [paid]"),
    ({"not": {"schedule_family": {"exists": True}}}, "schedule_family exists false"),
    # a nullable field: null fails every ordering, so its complement takes null in
    ({"not": {"schedule_family": "standard"}}, "schedule_family ne standard"),
    ({"not": {"not": {"state": "paid"}}}, "state eq paid"),
    ({"not": {"state": "paid", "cohort": 2022}}, "any(state ne paid, cohort ne 2022)"),
    ({"not": {"any": [{"state": "paid"}, {"all": [{"cohort": 2022}, {"future_date": True}]}]}},
     "all(state ne paid, any(cohort ne 2022, future_date ne true))"),
])
def test_not_is_pushed_down_to_the_leaves(when, expected):
    (compiled,) = compile_rules([_rule(when)], vocabulary())
    assert render(compiled.condition) == expected


def test_not_over_an_ordering_of_a_nullable_field_keeps_null():
    fields = dict(fact_vocabulary(vocabulary()))
    fields["cohort"] = fields["cohort"]._replace(nullable=True)
    (compiled,) = compile_rules([_rule({"not": {"cohort": {"lt": 2025}}})], fields=fields)
    assert compiled.condition == AnyOf((Compare("cohort", "gte", 2025), Exists("cohort", False)))


def test_compile_rules_raises_rule_error_with_every_problem():
    rules = [_rule({"stat": "paid"}), _rule({"cohort": "x"})]
    with pytest.raises(RuleError) as caught:
        compile_rules(rules, vocabulary())
    assert len(caught.value.problems) == 2


def _rule(when):
    from tests.builders import rule
    return rule("r", when)
