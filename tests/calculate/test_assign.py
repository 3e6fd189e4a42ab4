"""Statement assignment: :func:`place` of one declaration, and the loop over many.

The calendar is builders.CALENDAR (cohort 2023): January 2024 (index 0, cut-off
2023-12-31), February (1, output fee, cut-off 2024-01-31), March (2), April (3),
May (4, output fee, cut-off 2024-04-30), June (5), July (6, output fee, cut-off
2024-06-30, paid 2024-07-25).
"""

from __future__ import annotations

from reconcile.calculate.assign import (
    ContractCalendar,
    Note,
    Placement,
    StatementDirectory,
    _Resolver,
    assign_statements,
    place,
)
from tests.builders import COHORT, LP, decl, six_months

BOOK = six_months()
CALENDAR = ContractCalendar(LP, COHORT, BOOK.calendar[COHORT], {})
RESOLVER = _Resolver(CALENDAR, StatementDirectory(()))


def test_a_billable_declaration_goes_to_the_next_output_statement_after_it() -> None:
    # submitted 2024-02-10: the first output-fee cut-off on or after it is May's (4)
    d = decl("d1", date="2024-02-10")
    assert place(d, False, True, False, CALENDAR, RESOLVER) == Placement(4, None, None, 4)


def test_a_statement_given_is_kept_and_noted_as_moved() -> None:
    d = decl("d1", date="2024-02-10", statement_name="July 2024")
    assert place(d, False, True, False, CALENDAR, RESOLVER) == Placement(
        6, None, None, 6, (Note("moved", 4, 6),))


def test_an_unknown_statement_is_noted_and_the_calendar_decides() -> None:
    d = decl("d1", date="2024-01-05", statement_name="Smarch 2024")
    assert place(d, False, True, False, CALENDAR, RESOLVER) == Placement(
        1, None, None, 1, (Note("unknown", label="Smarch 2024"),))


def test_a_clawback_without_its_statement_is_assumed_on_the_next_output_statement() -> None:
    # paid on February (paid 2024-02-25): the first output cut-off on or after it is May's
    d = decl("d1", date="2024-01-10", state="clawed-back")
    assert place(d, False, True, True, CALENDAR, RESOLVER) == Placement(
        1, 4, None, 4, (Note("assumed", 1, 4),))


def test_a_clawback_with_no_output_statement_after_its_payment() -> None:
    # paid on July (2024-07-25): no output-fee statement follows it in the six months
    d = decl("d1", date="2024-06-01", state="clawed-back")
    assert place(d, False, True, True, CALENDAR, RESOLVER) == Placement(
        6, None, None, 6, (Note("no_clawback_statement", 6),))


def test_a_declaration_after_the_last_output_cut_off_has_no_statement() -> None:
    d = decl("d1", date="2024-07-01")
    assert place(d, False, True, False, CALENDAR, RESOLVER) == Placement(
        None, None, None, None, (Note("no_output"),))


def test_a_voided_declaration_counts_on_the_statement_given_and_reaches_it() -> None:
    voided = decl("d1", date="2024-01-10", state="voided", statement_name="May 2024")
    assert place(voided, True, False, False, CALENDAR, RESOLVER) == Placement(None, None, 4, 4)
    # not billable and no statement given: it reaches where it would be paid, uncounted
    waiting = decl("d2", date="2024-01-10", state="submitted")
    assert place(waiting, False, False, False, CALENDAR, RESOLVER) == Placement(None, None, None, 1)


def test_the_statements_shown_reach_the_furthest_of_every_spelling_of_a_provider() -> None:
    # two spellings of one provider, one contract: July (6) for one, February (1) for the
    # other; the contract's statements run to July whichever comes last in the file
    far = decl("d1", date="2024-06-01")
    near = decl("d2", date="2024-01-10", lead_provider=f"  {LP.upper()} ")
    for order in ((far, near), (near, far)):
        labels = (frozenset({"billable"}),) * 2
        assignment = assign_statements(order, labels, BOOK)
        assert assignment.last_attached == {(LP, COHORT): 6}
        assert sorted(p for p in assignment.payment if p is not None) == [1, 6]
