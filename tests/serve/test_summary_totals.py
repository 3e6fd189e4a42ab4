"""The web page's Summary totals, as the workbook's: over the statements compared, the
others on a line of their own; a run given no DfE statements totals every statement."""

from __future__ import annotations

from decimal import Decimal

from reconcile.serve.views import RunView
from tests.report.scenario import build_result

D = Decimal


def test_a_run_without_dfe_totals_every_statement_it_expects():
    """The report scenario without DfE's statements: April 2024 £1,590.01 (2 x £119.40
    + £1,086.21 service fee, + 20% VAT) and May 2024 £3,669.37 ((10 x £119.40 + 4 x
    £89.55 + 2 x £119.40 - £119.40 + 3 x £100 + £1,086.21) x 1.2): £5,259.38."""
    totals = RunView(build_result(with_dfe=False)).summary({})["totals"]
    assert totals["expected"] == D("5259.38")
    assert totals["dfe"] == D("0") and totals["difference"] == D("0")
    assert totals["others"] is None


def test_with_dfe_the_total_is_over_the_statements_compared():
    """Both statements compared: the totals are the workbook's (expected £5,259.38, DfE
    £1,590.01 + £3,226.09 = £4,816.10, difference -£443.28), nothing on a line apart."""
    totals = RunView(build_result()).summary({})["totals"]
    assert (totals["expected"], totals["dfe"], totals["difference"]) == (
        D("5259.38"), D("4816.10"), D("-443.28"))
    assert totals["dfe"] - totals["expected"] == totals["difference"]
    assert totals["others"] is None
