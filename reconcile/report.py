"""Report: a run's result as a reconciliation workbook *value* (pure; no xlsxwriter here).

Stage: report (after compare and split, before write). In: the pipeline's
``RunResult`` (options, rulebook, declarations, DfE statements, evaluation,
calculation, comparison, split, findings). Out: a :class:`reconcile.sheets.Workbook`
that :func:`reconcile.write.write_workbook` renders. One file a person can read
top-down:

1. **Summary** — one row per statement: provider, cohort, statement (a link to
   its sheet), dates, expected total, DfE total, difference (DfE − expected),
   findings by severity, the money status (OK, Differs, DfE adjustment, Missing
   from DfE, ...) and what it means, with the findings on the statement that the
   status does not cover counted in words; differences red, OK green; a totals row
   of live formulas; a chart of expected against DfE by statement.
2. **Findings** — every finding, filterable, by severity then amount.
3. **One sheet per statement**, in the order of DfE's statement page (output
   payments by declaration type and band, service fee, uplift fees, clawbacks,
   additional adjustments, VAT, total): expected beside DfE beside the difference;
   differences, subtotals, net and total are live formulas carrying our figures.
4. **Delivery partners** — :func:`reconcile.remittance.partner_sheet` (the split
   stage's sheet) when the run has a split.
5. **Declarations** — every declaration with its expected statement, band, fee,
   uplift, clawback, the rules that fired and its findings; streamed (a million
   rows never sit in memory as cells).
6. **Rules** — tool version, engine backend, options, and every rule and contract
   file read with its SHA-256, so the run can be reproduced.

Example::

    book = build_workbook(result)
    write_workbook(book, Path("reconciliation.xlsx"))
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from reconcile import __version__, money
from reconcile.compare import (
    DFE_ADJUSTING,
    DFE_ADJUSTMENT,
    DIFFERS,
    MISSING,
    NO_DFE,
    NOT_EXPECTED,
    OK,
    Comparison,
    StatementPair,
    without_dfe,
)
from reconcile.findings import CATALOGUE, Finding, Severity, sort_key
from reconcile.history.sheet import FINDING_COLUMNS, FINDING_WIDTHS, changes_sheet, finding_cells
from reconcile.model import normal_name as _norm
from reconcile.statement_sheet import (
    _status_note,
    statement_sheet,
    statement_terms,
)
from reconcile.statement_sheet import difference_cell as _difference
from reconcile.statement_sheet import figure_cell as _figure
from reconcile.remittance import partner_sheet
from reconcile.history.follow import RunHistory
from reconcile.result import PRESENTATION_OPTIONS, RunOptions, RunResult
from reconcile.rulebook.schema import Classify
from reconcile.calculate import Calculation
from reconcile.model import Attribution, StatementKey
from reconcile.providers import SummaryColumns, providers_sheet
from reconcile.statement_sheet import TotalCells
from reconcile.sheets import (
    AutoFilter,
    Blank,
    Cell,
    Chart,
    ConditionalFormat,
    Date,
    Formula,
    Link,
    Money,
    Number,
    Ref,
    Row,
    RowStream,
    Series,
    Sheet,
    Text,
    Workbook,
    cell_ref,
    printable,
    safe_sheet_name,
    top_aligned,
    wrapped_height,
)

SUMMARY, FINDINGS, DECLARATIONS, RULES, PARTNERS = (
    "Summary", "Findings", "Declarations", "Rules", "Delivery partners")
RESERVED = (SUMMARY, FINDINGS, DECLARATIONS, RULES, PARTNERS, "Providers")
ZERO = money.ZERO


#: a statement's findings are found by (provider, cohort, statement name), normalised
_StatementOf = tuple[str, int | None, str]


def build_workbook(result: RunResult) -> Workbook:
    """The whole reconciliation workbook of a run (see the module docstring)."""
    comparison: Comparison = result.comparison or without_dfe(result.calculation)
    names = _statement_sheet_names(comparison.pairs)
    # the Summary's and the Providers sheet's findings by severity are the open ones:
    # a finding accepted in the history is still on the Findings sheet, not counted
    open_findings = result.open_findings
    counts = _severity_counts(open_findings)
    by_statement: dict[_StatementOf, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.statement:
            by_statement[_statement_of(f)].append(f)
    statement_sheets = []
    totals: dict[StatementKey, TotalCells] = {}
    for pair in comparison.pairs:
        sheet, cells = statement_sheet(pair, names[pair.key],
                                       by_statement.get(_pair_of(pair), ()),
                                       statement_terms(result.rulebook, pair))
        statement_sheets.append(sheet)
        totals[pair.key] = cells
    history = result.history
    sheets = [summary_sheet(result, comparison, names, totals, counts, by_statement),
              *((changes_sheet(history),) if history is not None else ()),
              findings_sheet(result.findings, history), *statement_sheets]
    partner = _partner_sheet(result)
    if partner is not None:
        sheets.append(partner)
    sheets.append(declarations_sheet(result))
    sheets.append(rules_sheet(result, comparison))
    active = SUMMARY
    if len({p.key.lead_provider for p in comparison.pairs}) > 1:
        # national runs: every provider and cohort in one view, first (reconcile.providers)
        columns = SummaryColumns(S_LP, S_COHORT, S_EXP, S_DFE, S_DIFF, S_ERR, S_WARN, S_INFO,
                                 S_STATUS)
        sheets.insert(0, providers_sheet(comparison, open_findings, sheets[0], columns,
                                         accepted=len(result.findings) - len(open_findings)))
        active = sheets[0].name
    sheets = [printable(sheet) for sheet in sheets]
    return Workbook(tuple(sheets), title="Reconciliation of DfE statements",
                    subject="ECF lead provider payments: expected against DfE",
                    comments=f"Written by reconcile {__version__}", active=active,
                    footer=run_footer(result))


def run_footer(result: RunResult) -> str:
    """The right of every printed page's footer: the run's date (its as-of date)."""
    as_of = result.options.as_of or dt.date.today()
    return f"Reconciliation as of {as_of.isoformat()}"


# --------------------------------------------------------------------------- names


def _initials(provider: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", provider)
    return "".join(w[0].upper() for w in words) or provider[:6]


def _statement_sheet_names(pairs: Sequence[StatementPair]) -> dict[StatementKey, str]:
    """Short, unique, valid sheet names: "May 2024", with cohort and provider when needed."""
    providers = {p.key.lead_provider for p in pairs}
    cohorts = {(p.key.lead_provider, p.key.cohort) for p in pairs}
    many_cohorts = len(cohorts) > len(providers)
    taken = list(RESERVED)
    names: dict[StatementKey, str] = {}
    for pair in pairs:
        parts = []
        if len(providers) > 1:
            parts.append(_initials(pair.key.lead_provider))
        if many_cohorts:
            parts.append(str(pair.key.cohort))
        parts.append(pair.key.name)
        name = safe_sheet_name(" ".join(parts), taken)
        taken.append(name)
        names[pair.key] = name
    return names


def _statement_of(f: Finding) -> _StatementOf:
    return (_norm(f.lead_provider), f.cohort, _norm(f.statement))


def _pair_of(pair: StatementPair) -> _StatementOf:
    return (_norm(pair.key.lead_provider), pair.key.cohort, _norm(pair.key.name))


def _severity_counts(findings: Sequence[Finding]) -> Counter[tuple[_StatementOf, Severity]]:
    counts: Counter[tuple[_StatementOf, Severity]] = Counter()
    for f in findings:
        if f.statement:
            counts[(_statement_of(f), f.severity)] += 1
    return counts


# --------------------------------------------------------------------------- statement
# One sheet per statement, in DfE's layout: reconcile/statement_sheet.py.


def _versions_rows(calculation: Calculation) -> list[Row]:
    """Rules sheet: which contract version applied to which statements."""
    runs: list[list[Any]] = []
    for e in calculation.statements:
        tag = (e.key.lead_provider, e.key.cohort, e.contract_version, e.terms_from)
        if runs and runs[-1][0] == tag:
            runs[-1][2] = e.key.name
        else:
            runs.append([tag, e.key.name, e.key.name])
    if not any(tag[2] or tag[3] for tag, _first, _last in runs):
        return []
    rows: list[Row] = [(), (Text("Contract versions by statement", "header"),
                              Text("Version", "header"), Text("Statements", "header"))]
    for (provider, cohort, version, since), first, last in runs:
        label = version or (f"from {since}" if since else "first terms")
        rows.append((Text(f"{provider}, cohort {cohort}"), Text(label),
                     Text(first if first == last else f"{first} to {last}")))
    return rows


# --------------------------------------------------------------------------- summary

SUMMARY_HEADER = ("Lead provider", "Cohort", "Statement", "Payment date", "Cut-off date",
                  "Output fee", "Expected total", "DfE total", "Difference (DfE − expected)",
                  "Errors", "Warnings", "Info", "Money status", "What it means")
SUMMARY_WIDTHS = (26, 7, 16, 11, 11, 7, 14, 14, 14, 7, 8, 6, 15, 44)
(S_LP, S_COHORT, S_NAME, S_PAY, S_CUT, S_OUT, S_EXP, S_DFE, S_DIFF, S_ERR, S_WARN, S_INFO,
 S_STATUS, S_NOTE) = range(14)


def summary_sheet(result: RunResult, comparison: Comparison, names: dict[StatementKey, str],
                  totals: dict[StatementKey, TotalCells],
                  counts: Counter[tuple[_StatementOf, Severity]],
                  by_statement: dict[_StatementOf, list[Finding]] | None = None) -> Sheet:
    """``counts``: (statement, severity) -> findings; ``by_statement``: the findings."""
    pairs = comparison.pairs
    by_statement = by_statement or {}
    n_by = Counter(f.severity for f in result.findings)
    options = result.options
    rows: list[Row] = [
        (Text("Reconciliation of DfE statements: expected against DfE", "title"),),
        (Text(f"{len(pairs)} statement(s); {len(result.declarations):,} declaration(s); "
              f"findings: {n_by.get(Severity.ERROR, 0)} error(s), "
              f"{n_by.get(Severity.WARNING, 0)} warning(s), {n_by.get(Severity.INFO, 0)} info"
              f"{_elsewhere(result.findings)} (see Findings){_accepted(result)}.", "note"),),
        (Text(_status_line(pairs), "note"),),
        (Text(_inputs_line(options), "note"),),
        (Text("Difference = DfE − expected: negative means DfE pays less than the "
              "declarations and contract earn. Each statement's sheet shows it line by line. "
              "Filter Lead provider to see one provider: the Total row adds up the rows shown."
              if not _compared(pairs, totals)[1] else
              "Difference = DfE − expected: negative means DfE pays less than earned. Each "
              "statement's sheet shows it line by line. The Total row adds up the statements "
              "compared (filtered: those shown); the others are on the row below it.",
              "note"),),
    ]
    header = len(rows)
    rows.append(tuple(Text(h, "header_right" if S_EXP <= i <= S_INFO else "header")
                      for i, h in enumerate(SUMMARY_HEADER)))
    first = len(rows)
    sum_e = sum_d = ZERO
    tall: list[tuple[int, float]] = []
    for pair in pairs:
        r = len(rows)
        cells = totals[pair.key]
        k = _pair_of(pair)
        output_fee = (pair.expected.output_fee if pair.expected else
                      pair.dfe is not None and pair.dfe.output_fee)
        note = _summary_note(pair, by_statement.get(k, ()))
        row: list[Cell | None] = [Text(pair.key.lead_provider), Number(pair.key.cohort, "year"),
               Link(pair.key.name, names[pair.key]),
               Date(pair.payment_date) if pair.payment_date else None,
               Date(pair.cut_off_date) if pair.cut_off_date else None,
               Text("yes" if output_fee else "no"),
               None, None, None,
               Number(counts.get((k, Severity.ERROR), 0)),
               Number(counts.get((k, Severity.WARNING), 0)),
               Number(counts.get((k, Severity.INFO), 0)),
               Text(pair.status, "status"),
               Text(note, "note_wrap")]
        # wrapped, never overflowing: overflowing text widens the printed page
        height = wrapped_height(((note, SUMMARY_WIDTHS[S_NOTE]),))
        if height is not None:
            tall.append((r, height))
        if cells.expected_total is not None and cells.expected_value is not None:
            row[S_EXP] = Formula(cells.expected_total, cells.expected_value)
            sum_e += cells.expected_value
        if cells.dfe_total is not None and cells.dfe_value is not None:
            row[S_DFE] = Formula(cells.dfe_total, cells.dfe_value)
            sum_d += cells.dfe_value
        if (cells.expected_total is not None and cells.dfe_total is not None
                and cells.expected_value is not None and cells.dfe_value is not None):
            row[S_DIFF] = Formula(f"{cell_ref(r, S_DFE)}-{cell_ref(r, S_EXP)}",
                                  cells.dfe_value - cells.expected_value)
        if height is not None:  # the row's figures level with the note's first line
            row = [top_aligned(c) for c in row]
        rows.append(tuple(row))
    last = len(rows) - 1
    # The Total row adds up the statements compared (both sides' money), so its
    # Difference is its DfE total minus its Expected total; the statements not compared
    # (missing from DfE, not expected, not covered) are added up on a line of their own.
    compared, others = _compared(pairs, totals)

    def money_sum(col: int, value: Any, is_compared: bool) -> Formula:
        if not others:
            return Formula(_shown_sum(col, first, last), value, "money_total")
        return Formula(_shown_sum_where(col, first, last, S_DIFF, is_compared), value,
                       "money_total")

    def total_of(chosen: list[StatementPair], side: str) -> Any:
        values = (getattr(totals[p.key], f"{side}_value") for p in chosen
                  if getattr(totals[p.key], f"{side}_total") is not None)
        return sum((v for v in values if v is not None), ZERO)

    both = [p for p in compared if totals[p.key].dfe_total is not None
            and totals[p.key].expected_total is not None]
    rows.append((Text("Total", "text_total"), *(Blank("text_total") for _ in range(5)),
                 money_sum(S_EXP, total_of(compared, "expected"), True),
                 money_sum(S_DFE, total_of(compared, "dfe"), True),
                 Formula(_shown_sum(S_DIFF, first, last),
                         total_of(both, "dfe") - total_of(both, "expected"), "money_total"),
                 *(Formula(_shown_sum(c, first, last),
                           sum(counts.get((_pair_of(p), s), 0) for p in pairs), "count_total")
                   for c, s in ((S_ERR, Severity.ERROR), (S_WARN, Severity.WARNING),
                                (S_INFO, Severity.INFO))),
                 Blank("text_total"), Blank("text_total")))
    if others:
        statuses = ", ".join(sorted({p.status for p in others}))
        rows.append((Text(f"Not compared ({statuses})", "text_total"),
                     *(Blank("text_total") for _ in range(5)),
                     money_sum(S_EXP, total_of(others, "expected"), False),
                     money_sum(S_DFE, total_of(others, "dfe"), False),
                     *(Blank("text_total") for _ in range(S_NOTE - S_DIFF + 1))))
    cfs: tuple[ConditionalFormat, ...] = ()
    charts: tuple[Chart, ...] = ()
    if pairs:
        cfs = (
            # a blank difference (nothing to compare) is neither red nor green
            ConditionalFormat(first, S_DIFF, last, S_DIFF, "formula",
                              f"=AND(ISNUMBER({cell_ref(first, S_DIFF)}),"
                              f"{cell_ref(first, S_DIFF)}<>0)", "cf_bad"),
            ConditionalFormat(first, S_DIFF, last, S_DIFF, "formula",
                              f"=AND(ISNUMBER({cell_ref(first, S_DIFF)}),"
                              f"{cell_ref(first, S_DIFF)}=0)", "cf_good"),
            ConditionalFormat(first, S_ERR, last, S_ERR, "cell", ">", "cf_bad", 0),
            ConditionalFormat(first, S_WARN, last, S_WARN, "cell", ">", "cf_warn", 0),
            ConditionalFormat(first, S_STATUS, last, S_STATUS, "cell", "==", "cf_good", '"OK"'),
            ConditionalFormat(first, S_STATUS, last, S_STATUS, "cell", "==", "cf_warn",
                              f'"{DFE_ADJUSTMENT}"'),
            ConditionalFormat(first, S_STATUS, last, S_STATUS, "cell", "==", "cf_bad",
                              f'"{DIFFERS}"'),
            ConditionalFormat(first, S_STATUS, last, S_STATUS, "cell", "==", "cf_bad",
                              f'"{MISSING}"'),
            ConditionalFormat(first, S_STATUS, last, S_STATUS, "cell", "==", "cf_warn",
                              f'"{NOT_EXPECTED}"'),
        )
        charts = _summary_charts(pairs, first, len(rows) + 1)
    breaks = (len(rows) + 1,) if charts else ()
    return Sheet(SUMMARY, tuple(rows), widths=SUMMARY_WIDTHS, freeze=(header + 1, 3),
                 heights=((header, 30), *tall),
                 autofilter=AutoFilter(header, 0, S_NOTE, last if pairs else header),
                 conditional_formats=cfs, charts=charts, landscape=True, fit_to_width=True,
                 tab_color="#1F3864", page_breaks=breaks)


#: Summary charts: two across, each this many pixels, a chart row every CHART_ROWS rows
CHART_SIZE, CHART_ROWS, CHART_SECOND_COLUMN = (640, 300), 17, 7


def _summary_charts(pairs: Sequence[StatementPair], first: int, top: int
                    ) -> tuple[Chart, ...]:
    """One small chart per provider and cohort: expected and DfE totals by statement, in
    payment-date order (the Summary's order), so that each chart answers "where does
    DfE differ from us this year?" instead of one chart of hundreds of bars."""
    groups: dict[tuple[str, int], list[int]] = {}
    for i, pair in enumerate(pairs):
        groups.setdefault((pair.key.lead_provider, pair.key.cohort), []).append(first + i)
    charts = []
    for n, ((provider, cohort), rows) in enumerate(groups.items()):
        a, b = rows[0], rows[-1]
        if b - a + 1 != len(rows):  # not contiguous: the Summary's order says otherwise
            continue
        names = Ref(SUMMARY, a, S_NAME, b, S_NAME)
        charts.append(Chart(
            "column", f"Cohort {cohort}: {provider}",  # never a leading "=" (a formula)
            (Series("Expected total", names, Ref(SUMMARY, a, S_EXP, b, S_EXP), "#4472C4"),
             Series("DfE total", names, Ref(SUMMARY, a, S_DFE, b, S_DFE), "#ED7D31")),
            anchor=(top + (n // 2) * CHART_ROWS, 0 if n % 2 == 0 else CHART_SECOND_COLUMN),
            y_title="£ (VAT included)", width=CHART_SIZE[0], height=CHART_SIZE[1]))
    return tuple(charts)


def _compared(pairs: Sequence[StatementPair], totals: dict[Any, Any]
              ) -> tuple[list[StatementPair], list[StatementPair]]:
    """The statements with both sides' money, and the others when DfE's statements were
    given (a run without them has nothing compared: its Total is the expected money)."""
    compared = [p for p in pairs if totals[p.key].dfe_total is not None
                and totals[p.key].expected_total is not None
                and totals[p.key].dfe_value is not None
                and totals[p.key].expected_value is not None]
    if all(p.status == NO_DFE for p in pairs):
        return list(pairs), []
    return compared, [p for p in pairs if p not in compared]


def _shown_sum(col: int, first: int, last: int) -> str:
    """The sum of the rows shown: filtering the Summary by provider totals that provider."""
    if last < first:
        return "0"
    return f"SUBTOTAL(109,{cell_ref(first, col)}:{cell_ref(last, col)})"


def _shown_sum_where(col: int, first: int, last: int, test_col: int, number: bool) -> str:
    """The sum of the rows shown whose ``test_col`` holds a number (``number``) or not:
    SUBTOTAL of each row on its own (OFFSET by the row's place in the range), so rows a
    filter hides count as 0. Only whole ranges, no single cell: a Summary too long for
    one sheet is continued, and the call becomes the sum of the call on each part
    (reconcile.continuation).

    >>> _shown_sum_where(6, 6, 7, 8, True)
    'SUMPRODUCT(SUBTOTAL(109,OFFSET(G7:G8,ROW(G7:G8)-MIN(ROW(G7:G8)),0,1)),--ISNUMBER(I7:I8))'
    """
    if last < first:
        return "0"
    cells = f"{cell_ref(first, col)}:{cell_ref(last, col)}"
    test = f"ISNUMBER({cell_ref(first, test_col)}:{cell_ref(last, test_col)})"
    return (f"SUMPRODUCT(SUBTOTAL(109,OFFSET({cells},ROW({cells})-MIN(ROW({cells})),0,1)),"
            f"--{test if number else f'NOT({test})'})")


def _summary_note(pair: StatementPair, findings: Sequence[Finding] = ()) -> str:
    """What the money status means, then the findings it does not cover.

    ``findings`` are the run's findings on the statement (what the Errors and
    Warnings columns count). The first part explains the status (the line that
    differs, DfE's adjustments, or why nothing is compared); the second counts the
    errors and warnings left (and how many are about declarations), so a row with
    an error never reads as if nothing needed a look: "Money matches DfE line by
    line; 1 declaration finding to check (see Findings)."
    """
    own = sorted(pair.findings, key=sort_key)
    adjusting = {line.key for line in pair.lines if line.section in DFE_ADJUSTING}
    covered: set[Finding] = set()
    if pair.status == OK:
        text = "Money matches DfE line by line"
    elif pair.status == DFE_ADJUSTMENT:
        amount = sum(((line.dfe_amount or ZERO) - (line.expected_amount or ZERO)
                      for line in pair.lines if line.section in DFE_ADJUSTING), ZERO)
        covered = {f for f in own if f.line_key in adjusting}
        codes = ", ".join(dict.fromkeys(f.code for f in own if f in covered))
        text = (f"Every line matches; the difference is DfE's own adjustments "
                f"({money.pounds(amount)} before VAT" + (f", {codes}" if codes else "")
                + "): confirm them with DfE")
    elif pair.status in (DIFFERS, MISSING, NOT_EXPECTED) and own:
        covered = {own[0]}  # the most important: the line that differs, the statement
        text = _shorten(own[0].message).rstrip(".")
    elif pair.status == DIFFERS:
        text = f"DfE's total differs from ours by {money.pounds(pair.difference or ZERO)}"
    else:
        text = _status_note(pair).rstrip(".")
    rest = [f for f in dict.fromkeys((*own, *findings))
            if f not in covered and f.severity is not Severity.INFO]
    if not rest:
        return text + "."
    on_declarations = sum(_about_declarations(f) for f in rest)
    more = "more " if covered & set(own) else ""
    if on_declarations == len(rest):
        left = _count(len(rest), "declaration finding")
    elif on_declarations:
        left = f"{_count(len(rest), f'{more}finding')} ({on_declarations} on declarations)"
    else:
        left = _count(len(rest), f"{more}finding")
    return f"{text}; {left} to check (see Findings)."


def _accepted(result: RunResult) -> str:
    """What the Summary's note says of the findings accepted in the history (if any)."""
    accepted = len(result.findings) - len(result.open_findings)
    if not accepted:
        return ""
    return (f"; {accepted:,} of them accepted in the history: the Errors, Warnings and "
            "Info columns count the open ones")


def _about_declarations(f: Finding) -> bool:
    """A finding about one or more declarations rather than the statement's money."""
    return bool(f.declaration_id or f.declaration_ids or f.code.startswith("DECL_"))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _elsewhere(findings: Sequence[Finding]) -> str:
    """The findings on no statement, which the Summary's rows do not count, by severity."""
    counts = Counter(f.severity for f in findings if not f.statement)
    if not counts:
        return ""
    parts = [f"{counts[s]} {s.value}" for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
             if counts.get(s)]
    return f" ({', '.join(parts)} on no statement)"


def _status_line(pairs: Sequence[StatementPair]) -> str:
    counts = Counter(p.status for p in pairs)
    order = (DIFFERS, MISSING, NOT_EXPECTED, DFE_ADJUSTMENT, OK,
             "Dates only", "Not in DfE file", "Not compared", "No DfE statement given")
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    return "Statements: " + (", ".join(parts) if parts else "none") + "."


def _shorten(text: str, limit: int = 110) -> str:
    """A message short enough for one Summary cell (the Findings sheet has it whole)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _paths_text(paths: tuple[Path, ...]) -> str:
    return ", ".join(str(v) for v in paths)


def _inputs_line(options: RunOptions) -> str:
    parts = [f"Declarations: {_paths_text(options.declarations)}"]
    parts.append(f"DfE statements: {_paths_text(options.dfe_statements) or '(none given)'}")
    if options.as_of:
        parts.append(f"as of {options.as_of}")
    return "; ".join(parts) + ". Rules and versions: see the Rules sheet."


# --------------------------------------------------------------------------- findings

FINDINGS_HEADER = ("Severity", "Code", "What", "Lead provider", "Cohort", "Statement", "Line",
                   "Declaration", "Expected", "Actual", "Difference", "Message",
                   "What to do", "Source", "Rule")
FINDINGS_WIDTHS = (9, 22, 16, 14, 7, 12, 16, 14, 10, 10, 10, 42, 30, 30, 24)
#: the printed columns: up to "What to do" (Source and Rule are for the screen)
FINDINGS_PRINTED = FINDINGS_HEADER.index("What to do")


def findings_sheet(findings: Sequence[Finding], history: RunHistory | None = None) -> Sheet:
    ordered = sorted(findings, key=sort_key)
    # with a run history: fingerprint, status, first seen, age, note (reconcile.history)
    header = FINDINGS_HEADER + (FINDING_COLUMNS if history is not None else ())

    def produce() -> Iterator[Row]:
        yield tuple(Text(h, "header") for h in header)
        for f in ordered:
            info = CATALOGUE.get(f.code)
            # wrapped and top-aligned: a finding's row is as tall as its message
            yield (Text(f.severity.value, "text_top"), Text(f.code, "wrap_top"),
                   Text(info.title if info else "", "wrap_top"),
                   Text(f.lead_provider, "wrap_top") if f.lead_provider else None,
                   Number(f.cohort, "year_top") if f.cohort is not None else None,
                   Text(f.statement, "wrap_top") if f.statement else None,
                   Text(f.line, "wrap_top") if f.line else None,
                   Text(f.declaration_id, "wrap_top") if f.declaration_id else None,
                   _figure(f.expected, True), _figure(f.actual, True), _difference(f, True),
                   Text(f.message, "wrap_top"),
                   Text(f.suggestion, "wrap_top") if f.suggestion else None,
                   Text(str(f.source), "wrap_top") if f.source else None,
                   Text(f.rule, "wrap_top") if f.rule else None,
                   *(finding_cells(history, f) if history is not None else ()))

    n = len(ordered)
    heights = []
    wide = dict(zip(FINDINGS_HEADER, FINDINGS_WIDTHS))
    for r, f in enumerate(ordered, start=1):
        height = wrapped_height(((f.message, wide["Message"]),
                                 (f.suggestion, wide["What to do"]),
                                 (f.line, wide["Line"]), (f.declaration_id, wide["Declaration"]),
                                 (f.lead_provider, wide["Lead provider"])))
        if height is not None:
            heights.append((r, height))
    cfs = (ConditionalFormat(1, 0, max(n, 1), 0, "cell", "==", "cf_bad", '"error"'),
           ConditionalFormat(1, 0, max(n, 1), 0, "cell", "==", "cf_warn", '"warning"'))
    widths = FINDINGS_WIDTHS + (FINDING_WIDTHS if history is not None else ())
    return Sheet(FINDINGS, RowStream(produce, n + 1), widths=widths, freeze=(1, 2),
                 autofilter=AutoFilter(0, 0, len(header) - 1),
                 conditional_formats=cfs, tab_color="#C00000", heights=tuple(heights),
                 print_area=(0, 0, max(n, 1), FINDINGS_PRINTED))


# --------------------------------------------------------------------------- declarations

DECLARATIONS_HEADER = (
    "Declaration", "Participant", "Participant type", "Declaration type", "Declaration date",
    "State", "Cohort", "Lead provider", "Delivery partner", "Uplift flag",
    "DfE statement (input)", "Expected statement", "Band", "Fee", "Uplift",
    "Clawback statement", "Clawback band", "Clawback fee", "Uplift clawback",
    "Rules fired", "Findings", "Source row")
DECLARATIONS_WIDTHS = (22, 18, 10, 13, 12, 16, 8, 20, 22, 8, 16, 16, 6, 11, 9, 16, 8, 12,
                       10, 40, 30, 10)
#: the printed columns: up to the uplift (what each declaration earns); the clawback,
#: rules, findings and source columns are for the screen and the filter, so that the
#: printed page stays legible (all 22 columns fitted to one page print at 4 points)
DECLARATIONS_PRINTED = DECLARATIONS_HEADER.index("Uplift")


def declarations_sheet(result: RunResult) -> Sheet:
    """Every declaration and what it earns, streamed row by row (bounded memory).

    Rows are plain values (see :class:`~reconcile.sheets.RowStream`): a million
    declarations are a million small tuples produced as the writer asks.
    """
    declarations = result.declarations
    calculation = result.calculation
    evaluation = result.evaluation
    findings = result.findings

    def produce() -> Iterator[Row]:
        paid: dict[str, Attribution] = {}
        clawed: dict[str, Attribution] = {}
        for attribution in calculation.attributions:
            if attribution.kind == "clawback":
                clawed[attribution.declaration_id] = attribution
            else:
                paid[attribution.declaration_id] = attribution
        codes: dict[str, list[str]] = defaultdict(list)
        for f in findings:
            for member in f.declaration_ids or ((f.declaration_id,) if f.declaration_id
                                                 else ()):
                codes[member].append(f.code)
        fired = evaluation.fired
        n_fired = len(fired)
        joined: dict[tuple[str, ...], str | None] = {}
        yield tuple(Text(h, "header") for h in DECLARATIONS_HEADER)
        for i, d in enumerate(declarations):
            a = paid.get(d.declaration_id)
            c = clawed.get(d.declaration_id)
            rules = fired[i] if i < n_fired else ()
            rules_text = joined.get(rules)
            if rules_text is None:
                rules_text = joined[rules] = ", ".join(rules) or None
            found = codes.get(d.declaration_id)
            yield (
                d.declaration_id, d.participant_id, d.participant_type, d.declaration_type,
                d.declaration_date, d.state, d.cohort, d.lead_provider,
                d.delivery_partner_name or d.delivery_partner_id,
                "yes" if d.pupil_premium_uplift or d.sparsity_uplift else "no",
                d.statement_name or d.statement_id,
                a.statement.name if a is not None else None,
                (a.band or ("unpaid" if a.unpaid else "flat rate")) if a is not None else None,
                a.fee if a is not None else None,
                a.uplift if a is not None and a.uplift else None,
                c.statement.name if c is not None else None,
                (c.band or "flat rate") if c is not None else None,
                c.fee if c is not None else None,
                c.uplift if c is not None and c.uplift else None,
                rules_text,
                ", ".join(found) if found else None,
                d.row,
            )

    styles = tuple("year" if h == "Cohort" else "text" if h == "Source row" else
                   "date" if h == "Declaration date" else None for h in DECLARATIONS_HEADER)
    return Sheet(DECLARATIONS, RowStream(produce, len(declarations) + 1, styles),
                 widths=DECLARATIONS_WIDTHS, freeze=(1, 1),
                 autofilter=AutoFilter(0, 0, len(DECLARATIONS_HEADER) - 1),
                 landscape=True, print_area=(0, 0, len(declarations), DECLARATIONS_PRINTED))



# --------------------------------------------------------------------------- rules


def rules_sheet(result: RunResult, comparison: Comparison) -> Sheet:
    options, rulebook, evaluation = result.options, result.rulebook, result.evaluation
    rows: list[Row] = [
        (Text("How this workbook was made (to reproduce the run)", "title"),),
        (),
        (Text("Tool", "header"), Text("Value", "header")),
        (Text("reconcile version"), Text(__version__)),
        (Text("Rules engine backend"), Text(str(evaluation.backend))),
        (Text("Distinct fact signatures evaluated"), Number(evaluation.signatures or 0)),
        (Text("Tolerance for differences"), Money(comparison.tolerance)),
    ]
    for field, value in options._asdict().items():
        if field in PRESENTATION_OPTIONS:
            continue
        if isinstance(value, tuple):
            value = ", ".join(str(v) for v in value) or "-"
        rows.append((Text(f"option: {field}"), Text("-" if value is None else str(value))))
    inputs = result.inputs
    if inputs:
        rows.append(())
        rows.append((Text("Input files read", "header"), Text("SHA-256", "header"),
                     Text("What", "header"), Text("Bytes", "header")))
        for file in inputs:
            rows.append((Text(file.path), Text(file.sha256), Text(file.role), Number(file.size)))
    notes = result.notes
    if notes:
        rows.append(())
        rows.append((Text("Notes on the inputs", "header"),))
        for note in notes:
            rows.append((Text(note),))
    notices = result.notices
    if notices:
        rows.append(())
        rows.append((Text("Notices about DfE's reference data (cohorts of this run)", "header"),
                     Text("Code", "header"), Text("Where", "header")))
        for f in notices:
            rows.append((Text(f.message), Text(f.code),
                         Text(str(f.source)) if f.source else None))
    rows.extend(_versions_rows(result.calculation))
    rows.append(())
    rows.append((Text("Rule and contract files read", "header"), Text("SHA-256", "header")))
    for path, digest in rulebook.files:
        rows.append((Text(str(path)), Text(digest)))
    specs = rulebook.rules
    if specs:
        rows.append(())
        rows.append((Text("Eligibility rules", "header"), Text("Outcome", "header"),
                     Text("Where", "header"), Text("Description", "header")))
        for spec in specs:
            then = spec.then
            outcome = (f"classify {then.label}" if isinstance(then, Classify)
                       else f"finding {then.code} ({then.severity})")
            rows.append((Text(spec.id), Text(outcome), Text(str(spec.source)),
                         Text(spec.description)))
    return _wrapped(Sheet(RULES, tuple(rows), widths=RULES_WIDTHS, tab_color="#7F7F7F"))


RULES_WIDTHS = (44, 66, 28, 56)


def _wrapped(sheet: Sheet) -> Sheet:
    """Long texts wrapped in their column (row heights set), never overflowing: text
    running past the last column widens the printed page and shrinks everything."""
    rows: list[Row] = []
    heights: list[tuple[int, float]] = []
    for r, row in enumerate(sheet.iter_rows()):
        cells = tuple(Text(c.value, "wrap_top") if isinstance(c, Text) and c.style == "text"
                      else c for c in row)
        rows.append(cells)
        widths = sheet.widths
        height = wrapped_height((c.value, width) for i, c in enumerate(cells)
                                if isinstance(c, Text) and i < len(widths)
                                and (width := widths[i]) is not None)
        if height is not None:
            heights.append((r, height))
    return sheet._replace(rows=tuple(rows), heights=(*sheet.heights, *heights))


# --------------------------------------------------------------------------- split hook


def _partner_sheet(result: RunResult) -> Sheet | None:
    """The Delivery partners sheet of the split (:func:`reconcile.remittance.partner_sheet`)."""
    if result.split is None:
        return None
    return partner_sheet(result.split, PARTNERS)
