"""The Summary's charts answer a question (issue 17): one small chart per lead provider
and cohort, expected beside DfE by statement in payment-date order, never one chart
of hundreds of bars. Checked on the demo's workbook (2 providers × 4 cohorts, 215
statements): each chart's bars are exactly the rows of its provider and cohort.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reconcile.pipeline import RunOptions, run
from reconcile.report import build_workbook
from reconcile.sheets import Date, Link, Number, Text

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def summary():
    result = run(RunOptions((SAMPLES / "declarations.xlsx",),
                            (SAMPLES / "dfe-statements-planted.xlsx",),
                            contracts=(SAMPLES / "contracts",), as_of=dt.date(2026, 10, 10)))
    return build_workbook(result).sheet("Summary"), result


def _value(cell):
    return cell.value if isinstance(cell, (Text, Number, Date)) else (
        cell.text if isinstance(cell, Link) else None)


def test_one_chart_per_provider_and_cohort_in_payment_date_order(summary):
    sheet, result = summary
    groups = {(p.key.lead_provider, p.key.cohort) for p in result.comparison.pairs}
    assert len(groups) == 8  # Harbour Lane and Northbrook, cohorts 2022 to 2025
    assert len(sheet.charts) == len(groups)
    seen = set()
    for chart in sheet.charts:
        assert [s.name for s in chart.series] == ["Expected total", "DfE total"]
        categories = chart.series[0].categories
        assert categories.sheet == "Summary"
        rows = [sheet.rows[r] for r in range(categories.first_row, categories.last_row + 1)]
        group = {(_value(row[0]), _value(row[1])) for row in rows}
        assert len(group) == 1, f"{chart.title}: rows of {group}"
        (provider, cohort), = group
        assert chart.title == f"Cohort {cohort}: {provider}"
        dates = [_value(row[3]) for row in rows]
        assert dates == sorted(dates), f"{chart.title}: not in payment-date order"
        # every statement of the provider and cohort is a bar, and nothing else
        assert len(rows) == sum(1 for p in result.comparison.pairs
                                if (p.key.lead_provider, p.key.cohort) == (provider, cohort))
        assert len(rows) <= 34  # a small chart: the demo's longest cohort has 34 statements
        seen.add((provider, cohort))
    assert seen == groups
