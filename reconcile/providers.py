"""Providers: every lead provider and cohort of a run in one view (pure; report stage).

Stage: report (beside :mod:`reconcile.report`). In: the run's statement pairs
(:class:`~reconcile.compare.Comparison`) and findings. Out: one
:class:`ProviderTotals` per lead provider and cohort, which become

* the **Providers** sheet, first in a workbook with more than one provider: one
  row per provider and cohort with the expected and DfE totals (VAT included), the
  difference (DfE − expected, over the statements compared), statements compared and
  differing, the open findings on its statements by severity (a finding accepted in
  the history is not open: it stays on the Findings sheet, not counted here), the open
  findings of the provider and cohort on no statement, the money at stake and a link to its rows of
  the Summary; sorted by the size of the difference, largest first. Every figure of
  the Summary's is a live formula over the provider's own Summary rows, so it is by
  construction the sum of those rows;
* the JSON result's ``providers`` block (the same figures, money as text);
* the first lines of the console summary: the providers that differ most.

*Money at stake* is what a finance officer would have to chase: the size of every
statement's difference (an overpayment and an underpayment do not cancel), plus the
whole expected total of a statement DfE's file does not have and the whole DfE total
of a statement nobody expected.

Example::

    rows = provider_totals(comparison, findings)
    rows[0].lead_provider, rows[0].difference      # the provider that differs most
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile import money
from reconcile.compare import (
    DFE_ADJUSTMENT,
    DIFFERS,
    MISSING,
    NO_DFE,
    NOT_EXPECTED,
    Comparison,
    StatementPair,
)
from reconcile.findings import Finding, Severity
from reconcile.model import normal_name as _norm
from reconcile.sheets import (
    AutoFilter,
    Blank,
    ConditionalFormat,
    Formula,
    Link,
    Money,
    Number,
    RowStream,
    Sheet,
    Text,
    cell_ref,
    quote_sheet,
    wrapped_height,
)

PROVIDERS = "Providers"
ZERO = money.ZERO

#: the statuses of a statement whose money does not match DfE's (as the Summary colours)
DIFFERING = (DIFFERS, DFE_ADJUSTMENT, MISSING, NOT_EXPECTED)


class ProviderTotals(NamedTuple):
    """One lead provider and cohort, summed over its statements."""

    lead_provider: str
    cohort: int | None
    statements: int
    expected: Decimal  # VAT included, over the statements compared (all, without DfE's)
    dfe: Decimal | None  # over the statements compared; None: no DfE money given
    difference: Decimal  # DfE − expected, over the statements compared
    compared: int  # statements with both sides' money
    differing: int  # statements whose status is one of DIFFERING
    errors: int  # findings on its statements, by severity
    warnings: int
    info: int
    elsewhere: int  # findings of this provider and cohort on none of its statements
    at_stake: Decimal

    def as_json(self) -> dict[str, Any]:
        return {
            "lead_provider": self.lead_provider,
            "cohort": self.cohort,
            "statements": self.statements,
            "statements_compared": self.compared,
            "statements_differing": self.differing,
            "expected": money.show(self.expected),
            "dfe": money.show(self.dfe) if self.dfe is not None else None,
            "difference": money.show(self.difference),
            "money_at_stake": money.show(self.at_stake),
            "findings": {"error": self.errors, "warning": self.warnings, "info": self.info,
                         "not_on_a_statement": self.elsewhere},
        }


def order_key(p: ProviderTotals) -> tuple[Decimal, Decimal, str, int]:
    """Largest difference first, then money at stake, then provider and cohort."""
    return (-abs(p.difference), -p.at_stake, p.lead_provider, p.cohort or 0)


def provider_totals(comparison: Comparison, findings: Iterable[Finding]) -> list[ProviderTotals]:
    """One :class:`ProviderTotals` per lead provider and cohort, largest difference first.

    ``comparison`` holds every statement pair (a run without DfE statements: the
    expected side alone, :func:`reconcile.compare.without_dfe`).
    """
    blocks: dict[tuple[str, int | None], list[StatementPair]] = {}
    names: dict[str, str] = {}
    statements: set[tuple[str, int, str]] = set()
    for pair in comparison.pairs:
        provider = pair.key.lead_provider
        names.setdefault(_norm(provider), provider)
        blocks.setdefault((provider, pair.key.cohort), []).append(pair)
        statements.add((_norm(provider), pair.key.cohort, _norm(pair.key.name)))
    on_statements: Counter[tuple[str, int | None, Severity]] = Counter()
    elsewhere: Counter[tuple[str, int | None]] = Counter()
    for f in findings:
        if not f.lead_provider:
            continue  # not a provider's (the rulebook's own notices)
        provider = names.setdefault(_norm(f.lead_provider), f.lead_provider)
        key = (_norm(f.lead_provider), f.cohort, _norm(f.statement))
        if f.statement and key in statements:
            on_statements[(provider, f.cohort, f.severity)] += 1
        else:
            elsewhere[(provider, f.cohort)] += 1
            blocks.setdefault((provider, f.cohort), [])
    out = []
    given = dfe_given(comparison.pairs)
    for (provider, cohort), pairs in blocks.items():
        # with DfE's statements, the totals are over the statements compared, so the
        # difference is the DfE total minus the expected total (as on the Summary)
        summed = [p for p in pairs if p.difference is not None] if given else pairs
        expected = sum((p.expected_total for p in summed if p.expected_total is not None), ZERO)
        dfe_totals = [p.dfe_total for p in summed if p.dfe_total is not None]
        compared = [p.difference for p in pairs if p.difference is not None]
        at_stake = sum((abs(d) for d in compared), ZERO)
        at_stake += sum((abs(p.expected_total) for p in pairs
                         if p.status == MISSING and p.expected_total is not None), ZERO)
        at_stake += sum((abs(p.dfe_total) for p in pairs
                         if p.status == NOT_EXPECTED and p.dfe_total is not None), ZERO)
        out.append(ProviderTotals(
            provider, cohort, len(pairs), expected,
            sum(dfe_totals, ZERO) if dfe_totals else None, sum(compared, ZERO), len(compared),
            sum(1 for p in pairs if p.status in DIFFERING),
            on_statements[(provider, cohort, Severity.ERROR)],
            on_statements[(provider, cohort, Severity.WARNING)],
            on_statements[(provider, cohort, Severity.INFO)],
            elsewhere[(provider, cohort)], at_stake))
    out.sort(key=order_key)
    return out


def dfe_given(pairs: Iterable[StatementPair]) -> bool:
    """Whether the run had DfE's statements (else every pair is the expected side alone)."""
    return any(p.status != NO_DFE for p in pairs)


def providers_json(comparison: Comparison, findings: Iterable[Finding]) -> list[dict[str, Any]]:
    """The JSON result's ``providers`` block: :meth:`ProviderTotals.as_json` of each."""
    return [p.as_json() for p in provider_totals(comparison, findings)]


def console_lines(comparison: Comparison, findings: Iterable[Finding], limit: int = 5) -> list[str]:
    """The providers that differ most, for the console summary (none with one provider)."""
    rows = provider_totals(comparison, findings)
    if len({r.lead_provider for r in rows}) < 2:
        return []
    differing = [r for r in rows if r.difference or r.differing]
    if not differing:
        return [f"reconcile: all {len(rows)} provider/cohort rows match DfE "
                f"(see the Providers sheet)"]
    lines = [f"reconcile: {len(differing)} of {len(rows)} provider/cohort rows differ from DfE; "
             f"largest first (see the Providers sheet):"]
    for r in differing[:limit]:
        cohort = f" {r.cohort}" if r.cohort is not None else ""
        lines.append(f"reconcile:   {r.lead_provider}{cohort}: DfE − expected "
                     f"{money.pounds(r.difference)}, {r.differing} of {r.statements} "
                     f"statement(s) differ, {money.pounds(r.at_stake)} at stake")
    if len(differing) > limit:
        lines.append(f"reconcile:   ... and {len(differing) - limit} more")
    return lines


# --------------------------------------------------------------------------- the sheet

HEADER = ("Lead provider", "Cohort", "Expected total", "DfE total",
          "Difference (DfE − expected)", "Statements", "Statements compared",
          "Statements differing", "Errors", "Warnings", "Info",
          "Findings on no statement", "Money at stake", "Summary rows")
WIDTHS = (32, 8, 15, 15, 15, 11, 11, 11, 8, 9, 7, 11, 15, 18)
(P_LP, P_COHORT, P_EXP, P_DFE, P_DIFF, P_STATEMENTS, P_COMPARED, P_DIFFERING, P_ERR, P_WARN,
 P_INFO, P_ELSEWHERE, P_STAKE, P_LINK) = range(len(HEADER))


class SummaryColumns(NamedTuple):
    """Where the Summary keeps what the Providers sheet sums (zero-based columns)."""

    lead_provider: int
    cohort: int
    expected: int
    dfe: int
    difference: int
    errors: int
    warnings: int
    info: int
    status: int


def providers_sheet(comparison: Comparison, findings: Sequence[Finding], summary: Sheet,
                    columns: SummaryColumns, accepted: int = 0) -> Sheet:
    """The Providers sheet; its figures are formulas over ``summary``'s rows.

    ``findings`` are the open ones, as the Summary counts them: ``accepted`` more were
    accepted in the history (still on the Findings sheet; the note says so).

    The Summary's rows of a provider and cohort are found in the Summary value
    itself (its provider and cohort cells), so the formulas point at exactly the rows
    the Summary shows, wherever its header is.
    """
    rows_of = _summary_rows(summary, columns)
    table = provider_totals(comparison, findings)
    given = dfe_given(comparison.pairs)
    s = quote_sheet(summary.name)
    note = ("Each row sums the provider's statements on the Summary (live formulas; the "
            "link opens its rows). Expected, DfE and Difference (DfE − expected) are over "
            "the statements compared. Money at stake adds up the size of every difference, "
            "and the whole total of a statement missing from DfE's file or not expected."
            if given else
            "Each row sums the provider's statements on the Summary (live formulas; the "
            "link opens its rows). No DfE statements were given: Expected is every "
            "statement's.")
    if accepted:
        note += (f" Errors, Warnings and Info count the open findings: {accepted:,} accepted "
                 "in the history are on the Findings sheet, not counted here.")
    rows: list[tuple[Any, ...]] = [
        (Text("Lead providers and cohorts, largest difference first", "title"),),
        # wrapped across the table: text running past its last column would widen the
        # printed page and shrink every figure on it
        (Text(note, "note_wrap"), *(Blank("note_wrap") for _ in HEADER[1:])),
    ]
    note_height = wrapped_height(((note, sum(WIDTHS)),))
    header = len(rows)
    rows.append(tuple(Text(h, "header_right" if P_EXP <= i <= P_STAKE and i != P_LINK
                           else "header") for i, h in enumerate(HEADER)))
    first = len(rows)
    for p in table:
        block = rows_of.get((_norm(p.lead_provider), p.cohort))
        row: list[Any] = [None] * len(HEADER)
        row[P_LP] = Text(p.lead_provider)
        row[P_COHORT] = Number(p.cohort, "text") if p.cohort is not None else Text("-")
        row[P_ELSEWHERE] = Number(p.elsewhere)
        if block is None:  # findings only: no statement of this provider and cohort
            row[P_EXP] = Money(ZERO)
            row[P_DIFF] = Money(ZERO)
            row[P_STAKE] = Money(ZERO)
            for c in (P_STATEMENTS, P_COMPARED, P_DIFFERING, P_ERR, P_WARN, P_INFO):
                row[c] = Number(0)
            rows.append(tuple(row))
            continue
        a, b = block

        def over(col: int, a: int = a, b: int = b) -> str:
            return f"{s}!{cell_ref(a, col)}:{cell_ref(b, col)}"

        status = over(columns.status)
        def compared(col: int) -> str:
            if not given:
                return f"SUM({over(col)})"
            return f"SUMPRODUCT(--ISNUMBER({over(columns.difference)}),{over(col)})"

        row[P_EXP] = Formula(compared(columns.expected), p.expected)
        if p.dfe is not None:
            row[P_DFE] = Formula(compared(columns.dfe), p.dfe)
        row[P_DIFF] = Formula(f"SUM({over(columns.difference)})", p.difference)
        row[P_STATEMENTS] = Formula(f"ROWS({over(columns.lead_provider)})", p.statements,
                                    "count")
        row[P_COMPARED] = Formula(f"COUNT({over(columns.difference)})", p.compared, "count")
        row[P_DIFFERING] = Formula("+".join(f'COUNTIF({status},"{x}")' for x in DIFFERING),
                                   p.differing, "count")
        row[P_ERR] = Formula(f"SUM({over(columns.errors)})", p.errors, "count")
        row[P_WARN] = Formula(f"SUM({over(columns.warnings)})", p.warnings, "count")
        row[P_INFO] = Formula(f"SUM({over(columns.info)})", p.info, "count")
        row[P_STAKE] = Formula(
            f"SUMPRODUCT(ABS({over(columns.difference)}))"
            f'+SUMPRODUCT(({status}="{MISSING}")*ABS({over(columns.expected)}))'
            f'+SUMPRODUCT(({status}="{NOT_EXPECTED}")*ABS({over(columns.dfe)}))', p.at_stake)
        row[P_LINK] = Link(f"rows {a + 1:,} to {b + 1:,}", summary.name, cell_ref(a, 0))
        rows.append(tuple(row))
    last = len(rows) - 1
    if table:
        rows.append((Text("Total", "text_total"), Text("", "text_total"),
                     *(Formula(f"SUM({cell_ref(first, c)}:{cell_ref(last, c)})",
                               _column_total(table, c),
                               "money_total" if c in (P_EXP, P_DFE, P_DIFF, P_STAKE)
                               else "count_total")
                       for c in range(P_EXP, P_STAKE + 1)),
                     Text("", "text_total")))
    cfs: tuple[ConditionalFormat, ...] = ()
    if table:
        cfs = (ConditionalFormat(first, P_DIFF, last, P_DIFF, "cell", "!=", "cf_bad", 0),
               ConditionalFormat(first, P_DIFFERING, last, P_DIFFERING, "cell", ">", "cf_bad",
                                 0),
               ConditionalFormat(first, P_ERR, last, P_ERR, "cell", ">", "cf_bad", 0),
               ConditionalFormat(first, P_WARN, last, P_WARN, "cell", ">", "cf_warn", 0))
    return Sheet(PROVIDERS, tuple(rows), widths=WIDTHS, freeze=(header + 1, 2),
                 heights=((header, 30), *(((1, note_height),) if note_height else ())),
                 merges=((1, 0, 1, len(HEADER) - 1),),
                 autofilter=AutoFilter(header, 0, P_LINK, last if table else header),
                 conditional_formats=cfs, landscape=True, fit_to_width=True,
                 tab_color="#1F3864")


def _column_total(table: list[ProviderTotals], col: int) -> Decimal | int:
    field = {P_EXP: "expected", P_DFE: "dfe", P_DIFF: "difference", P_STATEMENTS: "statements",
             P_COMPARED: "compared", P_DIFFERING: "differing", P_ERR: "errors",
             P_WARN: "warnings", P_INFO: "info", P_ELSEWHERE: "elsewhere",
             P_STAKE: "at_stake"}[col]
    values = [getattr(p, field) for p in table]
    if col in (P_EXP, P_DFE, P_DIFF, P_STAKE):
        return sum((v for v in values if v is not None), ZERO)
    return int(sum(values))


def _summary_rows(summary: Sheet, columns: SummaryColumns
                  ) -> dict[tuple[str, int | None], tuple[int, int]]:
    """(provider, cohort) -> the first and last zero-based Summary rows of its statements.

    A statement row has the provider as text and the cohort as a number; the Summary
    keeps a provider's cohort together (the pairs are sorted so).
    """
    found: dict[tuple[str, int | None], tuple[int, int]] = {}
    rows: tuple[tuple[Any, ...], ...] = (() if isinstance(summary.rows, RowStream)
                                         else summary.rows)
    for r, row in enumerate(rows):
        if len(row) <= max(columns.lead_provider, columns.cohort):
            continue
        lp, cohort = row[columns.lead_provider], row[columns.cohort]
        if type(lp) is not Text or type(cohort) is not Number:
            continue
        key = (_norm(lp.value), int(cohort.value))
        a, _ = found.get(key, (r, r))
        found[key] = (a, r)
    return found
