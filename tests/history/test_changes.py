"""The change computation on snapshots made here (no run, no store)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from reconcile.history.changes import compute_changes
from reconcile.history.snapshot import LineRow, Snapshot, StatementRow, _clean, _well_formed

LP = "Alpha Trust"


def snap(total: str | None, lines: tuple[tuple[str, str], ...], paid: bool = True) -> Snapshot:
    """One DfE statement (January 2024) with ``lines`` (label, amount) and ``total``."""
    statement = StatementRow("dfe", LP, 2023, "January 2024", "s-1", "2023-12-31",
                             "2024-01-25", True, paid, None, None,
                             D(total) if total is not None else None)
    return Snapshot(dt.date(2024, 9, 1), "run", "v", "r", {}, (), (), (), (statement,),
                    tuple(LineRow("dfe", LP, 2023, "January 2024", label, None, None, D(amount))
                          for label, amount in lines), (), ())


def test_a_line_change_explains_the_total_and_a_hidden_change_is_reported():
    before = snap("1480.00", (("service_fee", "1000.00"), ("output ect started A", "480.00")))
    after = snap("1360.00", (("service_fee", "1000.00"), ("output ect started A", "360.00")))
    (line,) = compute_changes(before, after)
    assert (line.field, line.money_effect, line.severity) == (
        "output ect started A", D("-120.00"), "error")
    # the lines unchanged and the total down £50: DfE's own hidden amount moved
    hidden = snap("1430.00", (("service_fee", "1000.00"), ("output ect started A", "480.00")))
    (total,) = compute_changes(before, hidden)
    assert (total.field, total.before, total.after, total.money_effect) == (
        "total", "1480.00", "1430.00", D("-50.00"))


def test_dates_alone_are_not_dfe_changing_its_money():
    # the previous run read DfE's statement page; this one only the API's statement list
    before = snap("1480.00", (("service_fee", "1000.00"), ("output ect started A", "480.00")))
    assert compute_changes(before, snap(None, ())) == ()


def test_text_that_would_break_a_line_is_made_safe():
    assert not _well_formed(["a\x1fb"]) and _well_formed(["\x1f".join("x" * 12)])
    assert _clean("id\nwith\x1fbreaks") == "id\ufffdwith\ufffdbreaks"


def test_the_console_counts_changes_in_words_and_names_the_paid_ones_in_pounds():
    import datetime as dt
    from decimal import Decimal
    from pathlib import Path

    from reconcile.history.changes import KINDS, Change
    from reconcile.history.follow import CHANGE_WORDS, RunHistory, console_lines

    assert set(CHANGE_WORDS) == set(KINDS)  # every kind has its words

    def paid(n: int) -> Change:
        return Change("dfe_statement_changed", "Alpha", 2023, f"Month {n}", None,
                      "output ect started A", f"{n}00.00", f"{n}50.00", Decimal("50"), True,
                      severity="error")

    added = Change("declaration_added", "Alpha", 2023, "Month 1", "d9", None, None, "paid",
                   None, False)
    changes = (*(paid(n) for n in range(1, 8)), added)
    history = RunHistory(4, dt.date(2025, 2, 1), 3, dt.date(2025, 1, 1), changes, (), {},
                         Path("h.sqlite3"))
    lines = console_lines(history)
    assert lines[1] == ("reconcile: since run 3 of 2025-01-01: 7 DfE statement changes, "
                        "1 declaration added")
    assert lines[2] == ("reconcile:   PAID statement changed: Alpha / 2023 / Month 1: "
                        "output ect started A 100.00 -> 150.00 (£50.00)")
    assert len([line for line in lines if "PAID" in line]) == 5
    assert lines[7] == ("reconcile:   ... and 2 more on paid statements (the Changes sheet, "
                        "or: reconcile history show 4)")


def test_a_declarations_payment_and_clawback_shares_as_recorded():
    from reconcile.history.snapshot import shares
    from reconcile.model import Attribution, StatementKey

    jan, feb = StatementKey(LP, 2023, "January 2024"), StatementKey(LP, 2023, "February 2024")
    paid_on, clawed_on = shares([
        Attribution("d1", jan, "output", "ect", "started", "A", D("119.40"), D("0")),
        Attribution("d2", jan, "output", "ect", "started", "A", D("119.40"), D("0")),
        # two shares of one kind (rare) add up: 119.40 + 20.60 + 100.00 + 0.5
        Attribution("d3", jan, "output", "ect", "started", "A", D("119.40"), D("20.60")),
        Attribution("d3", feb, "output", "ect", "started", "B", D("100.00"), D("0.5")),
        Attribution("d1", feb, "clawback", "ect", "started", "A", D("-119.40"), D("0")),
        Attribution("d4", jan, "output", "mentor", "started", None, D("200"), D("0")),
    ])
    assert paid_on == {"d1": ("January 2024", "A", "119.40"),
                       "d2": ("January 2024", "A", "119.40"),
                       "d3": ("January 2024", "A", "240.50"),
                       "d4": ("January 2024", "", "200")}
    assert clawed_on == {"d1": ("February 2024", "A", "-119.40")}
    assert paid_on["d1"] is paid_on["d2"]  # one tuple for each distinct share
