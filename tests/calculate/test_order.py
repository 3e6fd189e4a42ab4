"""The banding order (rules/banding.yaml ``order_by``): declaration_date, then created_at, then id.

The calculation sorts a statement's declarations on the first order field and then
re-sorts only the rows that tie on it (reconcile/calculate/__init__.py, ``_sorted``):
these tests pin that down against the plain sort on the whole key.
"""

from __future__ import annotations

import datetime as dt
import random

from reconcile.calculate import _Calculator, calculate

from tests.builders import BANDS_OF_TWO, COHORT, LP, at, contract, decl, labelled, six_months

UTC = dt.timezone.utc  # noqa: UP017 (runs on 3.10)


def test_ties_on_the_declaration_date_are_broken_by_created_at_then_id():
    # one statement (February 2024), six started declarations in bands of two:
    # A £48 (400 x 60% x 20%), B £36, C £24
    declarations, evaluation = labelled(
        (decl("e2", date="2024-01-13", created="2024-01-13T09:00:00"), "billable"),
        (decl("t-c", date="2024-01-10", created="2024-01-15T09:00:00"), "billable"),
        (decl("e1", date="2024-01-12", created="2024-01-12T09:00:00"), "billable"),
        (decl("t-b", date="2024-01-10", created="2024-01-14T09:00:00"), "billable"),
        (decl("e0", date="2024-01-09", created="2024-01-20T09:00:00"), "billable"),
        (decl("t-a", date="2024-01-10", created="2024-01-14T09:00:00"), "billable"))
    calc = calculate(declarations, evaluation, six_months(
        contract(LP, COHORT, BANDS_OF_TWO, recruitment_target=8)))
    # e0 (9 Jan) first; the three of 10 Jan by created_at (t-a and t-b tie: by id); then
    # e1, e2
    assert [(a.declaration_id, a.band, str(a.fee)) for a in calc.attributions] == [
        ("e0", "A", "48"), ("t-a", "A", "48"), ("t-b", "B", "36"), ("t-c", "B", "36"),
        ("e1", "C", "24"), ("e2", "C", "24")]


def test_the_two_step_sort_is_the_whole_keys_stable_sort():
    generator = random.Random(7)
    days = [at(f"2024-01-{d:02d}") for d in (3, 4, 5)]  # few dates: long runs of ties
    declarations = tuple(
        decl(f"d-{generator.randrange(40):02d}", date="2024-01-10",
             created=None if generator.random() < 0.2 else
             f"2024-01-{generator.randrange(10, 13)}T0{generator.randrange(3)}:00:00")
        ._replace(declaration_date=generator.choice(days)
                  + dt.timedelta(hours=generator.choice((0, 0, 0, 6))))
        for _ in range(400))
    labels = (frozenset({"billable"}),) * len(declarations)
    rows = list(declarations)
    members = list(range(len(rows)))
    generator.shuffle(members)  # as a statement's members come: any order
    for order in (("declaration_date", "created_at", "declaration_id"),
                  ("declaration_id",), ("declaration_date", "declaration_id"),
                  ("created_at", "declaration_id")):
        calculator = _Calculator(declarations, labels,
                                 six_months(banding={"order_by": list(order)}), (), None)
        keys = list(map(calculator.order_key, map(rows.__getitem__, members)))
        assert calculator._sorted(members) == list(map(
            members.__getitem__, sorted(range(len(members)), key=keys.__getitem__)))
