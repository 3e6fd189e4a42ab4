"""One table of rule cases, run against every backend: they must give the same answers.

Each case is a condition (as a rule file writes it), a fact, and whether the rule
matches. The fields are a small vocabulary of every type, nullable and not, so the
cases pin down the language (conditions.py docstring), including null semantics:
``eq``/``in``/orderings are false for null, ``ne``/``not_in`` true, ``not`` is
the exact complement. A hypothesis test then compares the backends on random
conditions and facts.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.rulebook.conditions import compile_rules, holds
from reconcile.rulebook.engine import open_engine
from reconcile.rulebook.vocabulary import FactField

from .backends import BACKENDS, needs_durable
from tests.builders import rule

FIELDS = {f.name: f for f in (
    FactField("s", "str", False, ("a", "b", "c"), "enumerated text"),
    FactField("n", "int", False, None, "a number"),
    FactField("b", "bool", False, None, "a flag"),
    FactField("d", "date", False, None, "a date"),
    FactField("t", "str", False, None, "open text (digits in it)"),
    FactField("ns", "str", True, ("a", "b", "c"), "nullable text"),
    FactField("ni", "int", True, None, "nullable number"),
    FactField("nb", "bool", True, None, "nullable flag"),
    FactField("nd", "date", True, None, "nullable date"),
)}

BASE = {"s": "a", "n": 10, "b": True, "d": "2023-06-01", "t": "1",
        "ns": None, "ni": None, "nb": None, "nd": None}

def fact(**values):
    return {**BASE, **values}


# (condition, fact, matches)
CASES = [
    # eq: a scalar value and the explicit operator
    ({"s": "a"}, fact(), True),
    ({"s": "b"}, fact(), False),
    ({"s": {"eq": "a"}}, fact(), True),
    ({"n": 10}, fact(), True),
    ({"n": 10}, fact(n=11), False),
    ({"b": True}, fact(), True),
    ({"b": False}, fact(), False),
    ({"b": False}, fact(b=False), True),
    ({"d": "2023-06-01"}, fact(), True),
    # ne
    ({"s": {"ne": "a"}}, fact(), False),
    ({"s": {"ne": "b"}}, fact(), True),
    ({"b": {"ne": True}}, fact(b=False), True),
    ({"n": {"ne": 10}}, fact(n=9), True),
    # orderings on numbers: numeric, not text order (10 > 9)
    ({"n": {"gt": 9}}, fact(), True),
    ({"n": {"gt": 10}}, fact(), False),
    ({"n": {"gte": 10}}, fact(), True),
    ({"n": {"lt": 10}}, fact(), False),
    ({"n": {"lt": 11}}, fact(), True),
    ({"n": {"lte": 10}}, fact(), True),
    ({"n": {"lte": 9}}, fact(), False),
    ({"n": {"lt": 0}}, fact(n=-1), True),
    # orderings on dates (zero-padded ISO text)
    ({"d": {"lt": "2023-06-02"}}, fact(), True),
    ({"d": {"lt": "2023-06-01"}}, fact(), False),
    ({"d": {"lte": "2023-06-01"}}, fact(), True),
    ({"d": {"gt": "2023-05-31"}}, fact(), True),
    ({"d": {"gte": "2023-06-02"}}, fact(), False),
    ({"d": {"lt": "2023-10-01"}}, fact(d="2023-09-30"), True),
    # in / not_in
    ({"s": {"in": ["a", "b"]}}, fact(), True),
    ({"s": {"in": ["b", "c"]}}, fact(), False),
    ({"s": {"in": ["a"]}}, fact(), True),
    ({"n": {"in": [1, 10, 100]}}, fact(), True),
    ({"n": {"in": [1, 100]}}, fact(), False),
    ({"s": {"not_in": ["a", "b"]}}, fact(), False),
    ({"s": {"not_in": ["b", "c"]}}, fact(), True),
    ({"s": {"not_in": ["b"]}}, fact(), True),
    # ints and strings never mix: "1" as text is not the number 1
    ({"t": "1"}, fact(), True),
    ({"t": "1"}, fact(t="10"), False),
    ({"t": {"in": ["1", "2"]}}, fact(t="01"), False),
    ({"n": 1}, fact(n=1), True),
    # null: eq, in and orderings are false; ne and not_in true; exists tells
    ({"ns": "a"}, fact(), False),
    ({"ns": "a"}, fact(ns="a"), True),
    ({"ns": {"ne": "a"}}, fact(), True),
    ({"ns": {"ne": "a"}}, fact(ns="a"), False),
    ({"ns": {"ne": "a"}}, fact(ns="b"), True),
    ({"ns": {"in": ["a", "b"]}}, fact(), False),
    ({"ns": {"not_in": ["a", "b"]}}, fact(), True),
    ({"ns": {"not_in": ["a", "b"]}}, fact(ns="b"), False),
    ({"ns": {"not_in": ["a", "b"]}}, fact(ns="c"), True),
    ({"ni": {"lt": 5}}, fact(), False),
    ({"ni": {"gte": 5}}, fact(), False),
    ({"ni": {"lt": 5}}, fact(ni=4), True),
    ({"ni": 0}, fact(), False),
    ({"ni": 0}, fact(ni=0), True),
    ({"nb": False}, fact(), False),
    ({"nb": False}, fact(nb=False), True),
    ({"nb": {"ne": True}}, fact(), True),
    ({"nd": {"lt": "2030-01-01"}}, fact(), False),
    ({"ns": {"exists": True}}, fact(), False),
    ({"ns": {"exists": True}}, fact(ns="c"), True),
    ({"ns": {"exists": False}}, fact(), True),
    ({"ns": {"exists": False}}, fact(ns="c"), False),
    ({"ni": {"exists": True}}, fact(ni=0), True),  # 0 is a value, not null
    ({"nb": {"exists": True}}, fact(nb=False), True),  # false is a value, not null
    # several keys are ANDed
    ({"s": "a", "n": 10}, fact(), True),
    ({"s": "a", "n": 11}, fact(), False),
    # all / any
    ({"all": [{"s": "a"}, {"b": True}]}, fact(), True),
    ({"all": [{"s": "a"}, {"b": False}]}, fact(), False),
    ({"any": [{"s": "b"}, {"b": True}]}, fact(), True),
    ({"any": [{"s": "b"}, {"b": False}]}, fact(), False),
    ({"any": [{"s": "a"}, {"b": True}]}, fact(), True),  # both branches true: fires once
    ({"any": [{"ns": "a"}, {"ni": {"exists": False}}]}, fact(), True),
    ({"all": [{"any": [{"s": "a"}, {"s": "b"}]}, {"any": [{"n": 1}, {"n": 10}]}]}, fact(), True),
    ({"any": [{"all": [{"s": "b"}, {"n": 10}]}, {"all": [{"s": "a"}, {"n": 1}]}]}, fact(), False),
    # not over each operator, on plain and nullable fields
    ({"not": {"s": "a"}}, fact(), False),
    ({"not": {"s": "b"}}, fact(), True),
    ({"not": {"s": {"ne": "a"}}}, fact(), True),
    ({"not": {"n": {"lt": 10}}}, fact(), True),
    ({"not": {"n": {"lte": 10}}}, fact(), False),
    ({"not": {"n": {"gt": 9}}}, fact(), False),
    ({"not": {"n": {"gte": 11}}}, fact(), True),
    ({"not": {"s": {"in": ["a", "b"]}}}, fact(), False),
    ({"not": {"s": {"not_in": ["a", "b"]}}}, fact(), True),
    ({"not": {"ns": {"exists": True}}}, fact(), True),
    ({"not": {"ns": {"exists": False}}}, fact(), False),
    ({"not": {"ns": "a"}}, fact(), True),  # null is not a
    ({"not": {"ns": {"ne": "a"}}}, fact(), False),  # ... so "not ne" is false for it
    ({"not": {"ns": {"in": ["a"]}}}, fact(), True),
    ({"not": {"ns": {"not_in": ["a"]}}}, fact(), False),
    ({"not": {"ni": {"lt": 5}}}, fact(), True),  # not (null < 5) holds
    ({"not": {"ni": {"lt": 5}}}, fact(ni=5), True),
    ({"not": {"ni": {"lt": 5}}}, fact(ni=4), False),
    ({"not": {"ni": {"gte": 5}}}, fact(), True),
    ({"not": {"nd": {"gt": "2020-01-01"}}}, fact(), True),
    ({"not": {"nd": {"gt": "2020-01-01"}}}, fact(nd="2021-01-01"), False),
    ({"not": {"s": "a", "n": 11}}, fact(), True),  # De Morgan over the ANDed keys
    ({"not": {"any": [{"s": "b"}, {"n": 10}]}}, fact(), False),
    ({"not": {"all": [{"s": "a"}, {"n": 10}]}}, fact(), False),
    ({"not": {"not": {"s": "a"}}}, fact(), True),
    ({"s": "a", "not": {"any": [{"ns": {"exists": True}}, {"b": False}]}}, fact(), True),
]

IDS = [f"{i}:{when}" for i, (when, _, _) in enumerate(CASES)]


def _signature(engine, values):
    return tuple(values[f] for f in engine.fields)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("when, values, matches", CASES, ids=IDS)
def test_case(backend, when, values, matches):
    rules = compile_rules([rule("case", when)], fields=FIELDS)
    with open_engine(rules, backend=backend, fields=FIELDS,
                     signature_fields=tuple(FIELDS)) as engine:
        (fired,) = engine.evaluate([_signature(engine, values)])
        assert fired == (("case",) if matches else ())
        assert engine.problems == []


@pytest.mark.parametrize("when, values, matches", CASES, ids=IDS)
def test_case_by_the_reference_meaning(when, values, matches):
    """conditions.holds is the language's meaning written plainly; explanations use it."""
    (compiled,) = compile_rules([rule("case", when)], fields=FIELDS)
    assert holds(compiled.condition, values) is matches


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_case_at_once_many_rules_match_one_fact(backend):
    """All cases as one rulebook: each case's fact fires its rule as the table says,
    and results come in rule-file order whatever order the engine fires them in."""
    rules = compile_rules([rule(f"c{i}", when) for i, (when, _, _) in enumerate(CASES)],
                          fields=FIELDS)
    with open_engine(rules, backend=backend, fields=FIELDS,
                     signature_fields=tuple(FIELDS)) as engine:
        results = engine.evaluate([_signature(engine, values) for _, values, _ in CASES])
        assert engine.problems == []
    for i, (fired, (when, _, matches)) in enumerate(zip(results, CASES)):
        assert (f"c{i}" in fired) == matches, (i, when)
        assert list(fired) == sorted(fired, key=lambda rid: int(rid[1:]))
    # the base fact (case 0) satisfies many rules at once: at least every case that
    # the table says is true of it, and none it says is false of it
    base = [(f"c{i}", matches) for i, (_, values, matches) in enumerate(CASES) if values == BASE]
    assert {rid for rid, matches in base if matches} <= set(results[0])
    assert not {rid for rid, matches in base if not matches} & set(results[0])
    assert len(results[0]) > 30


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_rule_matching_is_an_empty_answer(backend):
    rules = compile_rules([rule("x", {"s": "c"}), rule("y", {"n": {"gt": 100}})], fields=FIELDS)
    with open_engine(rules, backend=backend, fields=FIELDS) as engine:
        assert engine.fields == ("s", "n")
        assert engine.evaluate([("a", 1), ("b", 2), ("c", 3)]) == [(), (), ("x",)]
        assert engine.problems == []


# --------------------------------------------------------------------------- random


_VALUES = {"s": ["a", "b", "c"], "n": [-1, 0, 1, 9, 10, 11],
           "b": [True, False], "d": ["2023-01-01", "2023-06-01", "2023-12-31"],
           "t": ["1", "10", "a"], "ns": ["a", "b", "c"], "ni": [0, 5, 9],
           "nb": [True, False], "nd": ["2023-01-01", "2024-01-01"]}


def _leaf(field):
    spec = FIELDS[field]
    value = st.sampled_from(_VALUES[field])
    ops = ["eq", "ne", "in", "not_in"]
    if spec.type in ("int", "date"):
        ops += ["lt", "lte", "gt", "gte"]
    leaves = [st.tuples(st.sampled_from(ops), value, st.lists(value, min_size=1, max_size=3))
              .map(lambda t, f=field: {f: {t[0]: t[2]} if t[0] in ("in", "not_in")
                                       else {t[0]: t[1]}})]
    if spec.nullable:
        leaves.append(st.booleans().map(lambda v, f=field: {f: {"exists": v}}))
    return st.one_of(leaves)


_conditions = st.recursive(
    st.sampled_from(list(FIELDS)).flatmap(_leaf),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
        inner.map(lambda x: {"not": x}),
    ),
    max_leaves=6,
)
_facts = st.fixed_dictionaries({
    f: (st.one_of(st.none(), st.sampled_from(v)) if FIELDS[f].nullable else st.sampled_from(v))
    for f, v in _VALUES.items()})


@needs_durable
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions=st.lists(_conditions, min_size=1, max_size=4),
       facts=st.lists(_facts, min_size=1, max_size=6))
def test_backends_agree_on_random_conditions_and_facts(conditions, facts):
    rules = compile_rules([rule(f"r{i}", c) for i, c in enumerate(conditions)], fields=FIELDS)
    answers = []
    for backend in ("python", "durable"):
        with open_engine(rules, backend=backend, fields=FIELDS) as engine:
            answers.append(engine.evaluate([_signature(engine, f) for f in facts]))
            assert engine.problems == []
    assert answers[0] == answers[1]
