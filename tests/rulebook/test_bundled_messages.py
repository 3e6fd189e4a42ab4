"""The bundled rules' date findings say what the tool does with the declaration.

A declaration dated outside its milestone window would normally have been refused
by DfE's API; when DfE has it in a billable state, the expected figures still count
it (the tool flags, it never drops; DfE's own service pays a billable declaration).
The message and suggestion must say so, not that it is "not paid".
"""

from __future__ import annotations

import datetime as dt

import pytest

from reconcile.rulebook.evaluate import evaluate
from reconcile.rulebook.load import load_rulebook
from tests.builders import declaration

AS_OF = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def rulebook():
    return load_rulebook()


# Cohort 2023, ecf-standard-september, started: start 2023-06-01, end 2023-12-31
# (rules/schedules.yaml).
@pytest.mark.parametrize("date, code, shown", [
    ("2024-01-28", "DECL_AFTER_MILESTONE_CUTOFF", "ended on 2023-12-31"),
    ("2023-05-20", "DECL_BEFORE_MILESTONE_START", "starts on 2023-06-01"),
])
def test_a_paid_declaration_outside_its_window_is_flagged_and_counted(rulebook, date, code,
                                                                      shown):
    late = declaration("d-late", date=date, state="paid", cohort=2023,
                       lead_provider="Example Teaching Institute")
    result = evaluate([late], rulebook, as_of=AS_OF, backend="python")
    assert "billable" in result.labels[0]  # counted in the expected figures
    (found,) = [f for f in result.findings if f.code == code]
    assert shown in found.message
    assert "DfE's API would normally have refused this date; it is paid" in found.message
    assert "counted in the expected figures" in found.message
    assert "not paid" not in found.message + found.suggestion
    assert "If DfE accepted it by mistake, void it and resubmit it with the right date, or " \
        "ask DfE contract management about it." in found.suggestion


def test_a_submitted_one_names_its_state_so_the_reader_sees_it_is_not_counted(rulebook):
    waiting = declaration("d-wait", date="2024-01-28", state="submitted", cohort=2023,
                          lead_provider="Example Teaching Institute")
    result = evaluate([waiting], rulebook, as_of=AS_OF, backend="python")
    assert "billable" not in result.labels[0]
    (found,) = [f for f in result.findings if f.code == "DECL_AFTER_MILESTONE_CUTOFF"]
    assert "it is submitted, and a billable (eligible, payable or paid) declaration is " \
        "counted" in found.message
