"""The engine adapter: isolation between rulebooks, cleanup, choice of backend, failures."""

import sys
import threading

import pytest

from reconcile.errors import RuleError, UsageError
from reconcile.rulebook import engine as engine_module
from reconcile.rulebook.conditions import compile_rules
from reconcile.rulebook.engine import (
    DurableBackend,
    PythonBackend,
    available_backends,
    choose_backend,
    open_engine,
)

from .backends import BACKENDS, needs_durable
from tests.builders import rule, vocabulary

VOCABULARY = vocabulary()


def _rules(*specs):
    return compile_rules([rule(rid, when, line=n + 1) for n, (rid, when) in enumerate(specs)],
                         VOCABULARY)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_rulebooks_with_the_same_rule_ids_in_one_process_answer_separately(backend):
    first = _rules(("pay", {"state": "paid"}), ("late", {"window_position": "after_cutoff"}))
    second = _rules(("pay", {"state": "eligible"}), ("late", {"window_position": "before_start"}))
    signatures = [("paid", "after_cutoff"), ("eligible", "before_start")]
    with open_engine(first, VOCABULARY, backend) as one, \
            open_engine(second, VOCABULARY, backend) as two:
        assert one.evaluate(signatures) == [("pay", "late"), ()]
        assert two.evaluate(signatures) == [(), ("pay", "late")]
        assert one.evaluate(signatures[:1]) == [("pay", "late")]  # still its own after both ran


@needs_durable
def test_two_thousand_loads_leave_no_threads_and_no_rulesets():
    rules = _rules(("pay", {"state": {"in": ["eligible", "payable", "paid"]}}),
                   ("no-family", {"schedule_family": {"exists": False}}))
    before = threading.active_count()
    for n in range(2000):
        with open_engine(rules, VOCABULARY, "durable") as engine:
            assert engine.evaluate([("paid", None), ("voided", "standard")]) == [
                ("pay", "no-family"), ()]
        if n == 0:
            host = engine._host
    assert threading.active_count() == before
    assert host._ruleset_directory == {}  # close() freed what it registered


@needs_durable
def test_results_come_in_rule_file_order_not_engine_order():
    rules = _rules(("c", {"state": "paid"}), ("a", {"cohort": {"gte": 2022}}),
                   ("b", {"not": {"declaration_type": "started"}}))
    with open_engine(rules, VOCABULARY, "durable") as engine:
        assert engine.evaluate([("paid", "completed", 2023)]) == [("c", "a", "b")]


@needs_durable
def test_more_rules_than_one_ruleset_holds_are_split_into_several():
    """600 tests of one field in one ruleset would hang durable-rules (guide §6)."""
    rules = _rules(*[(f"cohort-{year}", {"cohort": year}) for year in range(1500, 2700)])
    with open_engine(rules, VOCABULARY, "durable") as engine:
        assert len(engine._names) == 3  # 1,200 equality tests of one field, 400 per ruleset
        assert engine.evaluate([(1500,), (2023,), (2699,), (3000,)]) == [
            ("cohort-1500",), ("cohort-2023",), ("cohort-2699",), ()]


@needs_durable
def test_an_engine_error_is_a_problem_and_the_python_answer_is_used(monkeypatch):
    rules = _rules(("pay", {"state": "paid"}))
    with open_engine(rules, VOCABULARY, "durable") as engine:
        real = engine._host.assert_fact

        def flaky(name, fact):
            if fact.get("state") == "paid":
                raise RuntimeError("Could not assert event, error code: 303")
            return real(name, fact)

        monkeypatch.setattr(engine._host, "assert_fact", flaky)
        assert engine.evaluate([("voided",), ("paid",)]) == [(), ("pay",)]
        (problem,) = engine.problems
        assert problem.signature == 1
        assert problem.what == "RuntimeError: Could not assert event, error code: 303"


@needs_durable
def test_a_failing_action_is_a_problem_not_a_silent_miss(monkeypatch):
    def broken_recorder(hits, position):
        def action(c):
            raise ValueError("boom")
        return action

    monkeypatch.setattr(engine_module, "_recorder", broken_recorder)
    rules = _rules(("pay", {"state": "paid"}))
    with open_engine(rules, VOCABULARY, "durable") as engine:
        assert engine.evaluate([("paid",), ("voided",), ("paid",)]) == [("pay",), (), ("pay",)]
        assert [p.signature for p in engine.problems] == [0, 2]  # the state did not keep it
        assert "an action failed: exception caught boom" in engine.problems[0].what


@needs_durable
def test_a_rule_durable_refuses_is_a_rule_error_naming_it(monkeypatch):
    rules = _rules(("fine", {"state": "paid"}), ("odd", {"cohort": 2023}))
    real = engine_module._durable_condition

    def refuse_2023(node, program):
        if getattr(node, "value", None) == 2023:
            return {"$in": {"cohort": [2023]}}  # durable: error 202
        return real(node, program)

    monkeypatch.setattr(engine_module, "_durable_condition", refuse_2023)
    with pytest.raises(RuleError) as caught:
        DurableBackend(rules, engine_module.fact_vocabulary(VOCABULARY))
    (problem,) = caught.value.problems
    assert str(problem).startswith("rules/test.yaml:2: rule odd: durable-rules refuses its "
                                   "condition cohort eq 2023")


def test_durable_on_an_interpreter_without_it_is_a_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "durable", None)
    monkeypatch.setitem(sys.modules, "durable.engine", None)
    monkeypatch.setattr(sys, "version_info", (3, 13, 0, "final", 0))
    rules = _rules(("pay", {"state": "paid"}))
    with pytest.raises(UsageError) as caught:
        open_engine(rules, VOCABULARY, "durable")
    (problem,) = caught.value.problems
    assert str(problem).startswith(
        "--engine durable: durable-rules 2.0.28, its last release, does not import on "
        "Python 3.13 (only 3.10 to 3.12): ModuleNotFoundError")
    assert problem.fix.startswith("use --engine python")
    with pytest.raises(UsageError):  # the same check, for the CLI to make up front
        choose_backend("durable")
    assert choose_backend("auto") == "python"
    assert available_backends() == ("python",)
    engine = open_engine(rules, VOCABULARY, "auto")  # auto falls back quietly
    assert isinstance(engine, PythonBackend)
    assert engine.evaluate([("paid",)]) == [("pay",)]


def test_unknown_engine_name_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown engine 'drools'"):
        open_engine(_rules(("pay", {"state": "paid"})), VOCABULARY, "drools")


@pytest.mark.parametrize("backend", BACKENDS)
def test_facts_of_the_wrong_type_are_refused_not_coerced(backend):
    """durable-rules would match '2023' against 2023 (guide §2.1); we never let it."""
    with open_engine(_rules(("y", {"cohort": 2023})), VOCABULARY, backend) as engine:
        with pytest.raises(ValueError, match="cohort = '2023' is not int"):
            engine.evaluate([("2023",)])
        with pytest.raises(ValueError, match="cohort = True is not int"):
            engine.evaluate([(True,)])
