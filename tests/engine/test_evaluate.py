"""evaluate(): labels, fired rules and findings per declaration; one engine call per signature."""

import datetime as dt
import itertools

import pytest

from reconcile.errors import RuleError
from reconcile.findings import Severity
from reconcile.model import Source
from reconcile.rulebook import engine as engine_module
from reconcile.rulebook import evaluate as evaluate_module
from reconcile.rulebook.evaluate import check_rules, evaluate, explain_facts

from .backends import BACKENDS, needs_durable
from tests.builders import declaration, rule_specs, rules_rulebook

RULES = """\
rules:
  - id: billable
    description: Eligible, payable and paid declarations earn a fee.
    when:
      state: {in: [eligible, payable, paid]}
    then: {classify: billable}
  - id: refundable
    description: Clawed-back declarations are refunded.
    when:
      state: {in: [awaiting-clawback, clawed-back]}
    then: {classify: refundable}
  - id: uplift
    description: Started, flagged, under a contract with an uplift amount.
    when:
      declaration_type: started
      has_uplift_flag: true
      contract_uplift: true
    then: {classify: uplift}
  - id: milestone-before-start
    description: Dated before the milestone starts.
    when:
      window_position: before_start
      state: {ne: voided}
    then:
      finding: DECL_BEFORE_MILESTONE_START
      severity: error
      message: "The {declaration_type} declaration {declaration_id} is dated {declaration_date}, before its milestone starts on {milestone_start}."
      suggestion: "Enter a date on or after {milestone_start}, or void it."
  - id: duplicate
    description: One billable or submitted declaration per participant, course and type.
    when:
      duplicate: true
      state: {in: [submitted, eligible, payable, paid]}
    then:
      finding: DECL_DUPLICATE
      severity: warning
      message: "Another {declaration_type} declaration of this participant came first ({window_position})."
      suggestion: Void the duplicate.
"""

AS_OF = dt.date(2024, 1, 10)


@pytest.fixture(scope="module")
def rulebook():
    return rules_rulebook(rule_specs(RULES))


@pytest.mark.parametrize("backend", BACKENDS)
def test_labels_fired_rules_and_findings_per_declaration(rulebook, backend):
    declarations = [
        declaration("d1", state="paid", pupil_premium_uplift=True),      # billable, uplift
        declaration("d2", state="clawed-back", declaration_type="retained-1",
                    date="2023-02-01"),                                   # refundable
        declaration("d3", participant_id="p3", state="eligible", date="2022-05-20"),  # early
        declaration("d4", participant_id="p4", state="voided", date="2022-05-20"),  # voided
        declaration("d5", state="payable", participant_id="p1", date="2022-10-01",
                    sparsity_uplift=True),                                # duplicate of d1
    ]
    result = evaluate(declarations, rulebook, as_of=AS_OF, backend=backend)
    assert result.backend == backend
    assert result.labels == (frozenset({"billable", "uplift"}), frozenset({"refundable"}),
                             frozenset({"billable"}), frozenset(),
                             frozenset({"billable", "uplift"}))
    assert result.fired == (("billable", "uplift"), ("refundable",),
                            ("billable", "milestone-before-start"), (),
                            ("billable", "uplift", "duplicate"))
    early, dup = result.findings
    assert early.code == "DECL_BEFORE_MILESTONE_START"
    assert early.severity is Severity.ERROR
    assert early.message == ("The started declaration d3 is dated 2022-05-20, before its "
                             "milestone starts on 2022-06-01.")
    assert early.suggestion == "Enter a date on or after 2022-06-01, or void it."
    assert (early.declaration_id, early.lead_provider, early.cohort) == ("d3", "Provider A", 2022)
    assert early.source == Source("decl.csv", row=2)
    assert early.rule == "milestone-before-start (rules/eligibility.yaml:19)"
    assert dup.code == "DECL_DUPLICATE" and dup.severity is Severity.WARNING
    assert dup.message == "Another started declaration of this participant came first (within)."
    assert result.where("uplift") == "uplift (rules/eligibility.yaml:12)"


@needs_durable
def test_both_backends_give_the_same_evaluation(rulebook):
    declarations = _many(2_000)
    python = evaluate(declarations, rulebook, as_of=AS_OF, backend="python")
    durable = evaluate(declarations, rulebook, as_of=AS_OF, backend="durable")
    assert python._replace(backend="durable") == durable


def _many(n):
    """Declarations cycling over 4 states x 3 types x 2 uplift flags x 2 dates."""
    kinds = list(itertools.product(("paid", "eligible", "voided", "clawed-back"),
                                   ("started", "retained-1", "completed"),
                                   (False, True), ("2022-09-10", "2022-05-10")))
    return [declaration(f"d{i}", participant_id=f"p{i}", state=state, declaration_type=kind,
                        pupil_premium_uplift=flag, date=date)
            for i, (state, kind, flag, date) in zip(range(n), itertools.cycle(kinds))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_each_distinct_signature_is_evaluated_once(rulebook, backend, monkeypatch):
    engines = []
    real_open = evaluate_module.open_engine

    def spy(*args, **kwargs):
        engines.append(real_open(*args, **kwargs))
        return engines[-1]

    monkeypatch.setattr(evaluate_module, "open_engine", spy)
    result = evaluate(_many(10_000), rulebook, as_of=AS_OF, backend=backend)
    # The rules read state, declaration_type, window_position, has_uplift_flag,
    # contract_uplift and duplicate. By hand: 2022-09-10 is within started's window
    # (2022-06-01..2022-12-31) and 2022-05-10 before it, but both are before
    # retained-1's and completed's (from 2023-01-01): windows per type 2 + 1 + 1 = 4;
    # x 4 states x 2 flags = 32 (one contract: contract_uplift always true; one
    # declaration per participant: duplicate always false).
    assert result.signatures == 32
    (engine,) = engines
    assert engine.evaluated == 32
    assert len(result.labels) == len(result.fired) == 10_000


@needs_durable
def test_an_engine_failure_becomes_a_finding_not_a_crash(rulebook, monkeypatch):
    real = engine_module.DurableBackend.evaluate

    def failing_on_paid(self, signatures):
        answers = real(self, signatures)
        state = self.fields.index("state")
        self.problems.extend(engine_module.EngineProblem(n, "durable", "error code: 303")
                             for n, s in enumerate(signatures) if s[state] == "paid")
        return answers

    monkeypatch.setattr(engine_module.DurableBackend, "evaluate", failing_on_paid)
    result = evaluate([declaration("a", state="paid"), declaration("b", participant_id="p2",
                                                                   state="paid")],
                      rulebook, as_of=AS_OF, backend="durable")
    (problem,) = result.findings
    assert problem.code == "RULE_ENGINE_ERROR"
    assert problem.message.startswith("The durable rules engine failed on 2 declaration(s) "
                                      "with the facts {'state': 'paid'")
    assert result.labels[0] == frozenset({"billable"})


def test_check_rules_passes_a_sound_rulebook(rulebook):
    assert set(check_rules(rulebook)) == set(engine_module.available_backends())


@needs_durable
def test_check_rules_catches_backends_that_drift_apart(rulebook, monkeypatch):
    real = engine_module._durable_condition

    def wrong_ne(node, program):  # a compiler bug: ne compiled as eq
        if getattr(node, "op", None) == "ne":
            return {node.field: node.value}
        return real(node, program)

    monkeypatch.setattr(engine_module, "_durable_condition", wrong_ne)
    with pytest.raises(RuleError) as caught:
        check_rules(rulebook)
    assert str(caught.value.problems[0]).startswith(
        "rules/eligibility.yaml:19: rule milestone-before-start: durable-rules and the Python "
        "engine disagree on all(window_position eq before_start, state ne voided)")


def test_explain_facts_shows_every_fact_field(rulebook):
    first = declaration("a", date="2022-09-01", state="paid")
    later = declaration("b", date="2022-09-15", state="eligible")
    facts = explain_facts(later, rulebook, AS_OF, declarations=[first, later])
    assert facts["duplicate"] is True
    assert facts["window_position"] == "within"
    assert facts["state"] == "eligible"
    assert facts["declaration_date"] == "2022-09-15"
    assert explain_facts(later, rulebook, AS_OF)["duplicate"] is False  # alone
