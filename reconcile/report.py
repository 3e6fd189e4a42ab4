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
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile import __version__, money
from reconcile.compare import (
    ADJUSTMENT,
    CLAWBACK,
    DFE_ADJUSTING,
    DFE_ADJUSTMENT,
    DIFFERS,
    MISSING,
    NOT_EXPECTED,
    OK,
    OUTPUT,
    RECONCILE,
    SERVICE_FEE,
    UPLIFT,
    UPLIFT_CLAWBACK,
    VAT,
    Comparison,
    LineComparison,
    StatementPair,
    without_dfe,
)
from reconcile.findings import CATALOGUE, Figure, Finding, Severity, sort_key
from reconcile.history.sheet import FINDING_COLUMNS, FINDING_WIDTHS, changes_sheet, finding_cells
from reconcile.model import ExpectedStatement
from reconcile.remittance import partner_sheet
from reconcile.result import PRESENTATION_OPTIONS
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
    RowStream,
    Series,
    Sheet,
    Text,
    Workbook,
    cell_ref,
    safe_sheet_name,
    sheet_cell,
    sum_formula,
)

SUMMARY, FINDINGS, DECLARATIONS, RULES, PARTNERS = (
    "Summary", "Findings", "Declarations", "Rules", "Delivery partners")
RESERVED = (SUMMARY, FINDINGS, DECLARATIONS, RULES, PARTNERS, "Providers")
ZERO = money.ZERO


def build_workbook(result: Any) -> Workbook:
    """The whole reconciliation workbook of a run (see the module docstring)."""
    comparison: Comparison = result.comparison or without_dfe(result.calculation)
    names = _statement_sheet_names(comparison.pairs)
    counts = _severity_counts(result.findings)
    by_statement: dict[tuple, list[Finding]] = defaultdict(list)
    for f in result.findings:
        if f.statement:
            by_statement[_statement_of(f)].append(f)
    statement_sheets = []
    totals: dict = {}
    for pair in comparison.pairs:
        sheet, cells = statement_sheet(pair, names[pair.key],
                                       by_statement.get(_pair_of(pair), ()))
        statement_sheets.append(sheet)
        totals[pair.key] = cells
    history = getattr(result, "history", None)
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
        from reconcile.providers import SummaryColumns, providers_sheet

        columns = SummaryColumns(S_LP, S_COHORT, S_EXP, S_DFE, S_DIFF, S_ERR, S_WARN, S_INFO,
                                 S_STATUS)
        sheets.insert(0, providers_sheet(comparison, result.findings, sheets[0], columns))
        active = sheets[0].name
    return Workbook(tuple(sheets), title="Reconciliation of DfE statements",
                    subject="ECF lead provider payments: expected against DfE",
                    comments=f"Written by reconcile {__version__}", active=active)


# --------------------------------------------------------------------------- names


def _initials(provider: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", provider)
    return "".join(w[0].upper() for w in words) or provider[:6]


def _statement_sheet_names(pairs: Sequence[StatementPair]) -> dict:
    """Short, unique, valid sheet names: "May 2024", with cohort and provider when needed."""
    providers = {p.key.lead_provider for p in pairs}
    cohorts = {(p.key.lead_provider, p.key.cohort) for p in pairs}
    many_cohorts = len(cohorts) > len(providers)
    taken = list(RESERVED)
    names = {}
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


def _norm(text: object) -> str:
    return " ".join(str(text or "").split()).casefold()


def _statement_of(f: Finding) -> tuple:
    return (_norm(f.lead_provider), f.cohort, _norm(f.statement))


def _pair_of(pair: StatementPair) -> tuple:
    return (_norm(pair.key.lead_provider), pair.key.cohort, _norm(pair.key.name))


def _severity_counts(findings: Sequence[Finding]) -> Counter:
    counts: Counter = Counter()
    for f in findings:
        if f.statement:
            counts[(_statement_of(f), f.severity)] += 1
    return counts


# --------------------------------------------------------------------------- statement


# columns of a statement sheet
(C_LINE, C_PTYPE, C_DTYPE, C_BAND, C_ECOUNT, C_EFEE, C_EAMOUNT, C_DCOUNT, C_DFEE, C_DAMOUNT,
 C_CDIFF, C_DIFF, C_CODES) = range(13)
STATEMENT_HEADER = ("Line", "Participants", "Declaration type", "Band", "Expected count",
                    "Expected fee per declaration", "Expected amount", "DfE count",
                    "DfE fee per declaration", "DfE amount", "Count difference (DfE − expected)",
                    "Difference (DfE − expected)", "Findings")
STATEMENT_WIDTHS = (44, 12, 16, 7, 11, 14, 15, 10, 14, 15, 14, 15, 40)

_SECTION_TITLES = (
    (OUTPUT, "Output payments"),
    (SERVICE_FEE, "Service fee"),
    (UPLIFT, "Uplift fees"),
    (CLAWBACK, "Clawbacks"),
    (UPLIFT_CLAWBACK, "Uplift clawbacks"),
    (ADJUSTMENT, "Additional adjustments"),
    (RECONCILE, "Reconcile amount (in DfE's total, not shown as a line)"),
)


class TotalCells(NamedTuple):
    """Where a statement sheet keeps its totals, for the Summary's formulas."""

    expected_total: str | None
    dfe_total: str | None
    expected_value: Decimal | None
    dfe_value: Decimal | None


def _short_label(line: LineComparison) -> str:
    if line.section in (OUTPUT, CLAWBACK):
        return (line.declaration_type or "").replace("-", " ").capitalize()
    if line.section == ADJUSTMENT:
        return line.description or line.label
    return _HEADINGS.get(line.section) or (line.label[:1].upper() + line.label[1:])


_HEADINGS = {SERVICE_FEE: "Service fee", UPLIFT: "Uplift fees",
             UPLIFT_CLAWBACK: "Uplift clawbacks"}


def statement_sheet(pair: StatementPair, name: str,
                    findings: Sequence[Finding] = ()) -> tuple[Sheet, TotalCells]:
    """One statement: expected beside DfE, line by line, with live totals.

    ``findings`` are the run's findings on this statement (the pair's own are added).
    """
    key, e, d = pair.key, pair.expected, pair.dfe
    has_dfe_money = d is not None and pair.has_money
    rows: list[tuple] = []
    rows.append((Text(f"{key.name} — {key.lead_provider}, cohort {key.cohort}", "title"),))
    rows.append((Text("Payment date", "text_bold"),
                 Date(pair.payment_date) if pair.payment_date else Text("-")))
    rows.append((Text("Cut-off date", "text_bold"),
                 Date(pair.cut_off_date) if pair.cut_off_date else Text("-")))
    rows.append((Text("DfE statement id", "text_bold"), Text(pair.statement_id or "-")))
    output_fee = e.output_fee if e is not None else d.output_fee
    rows.append((Text("Output-fee statement", "text_bold"), Text("yes" if output_fee else "no")))
    version = _version_text(e)
    if version or (d is not None and d.contract_version):
        # which contract version the statement is calculated with (docs/rules.md
        # "Contract versions"), beside the one DfE's statement names
        rows.append((Text("Contract version", "text_bold"), Text(version or "-"),
                     Text(f"DfE: {d.contract_version}" if d is not None and d.contract_version
                          else "", "note")))
    rows.append((Text("Money status", "text_bold"), Text(pair.status, "text_bold"),
                 Text(_status_note(pair), "note")))
    rows.append(())
    header_row = len(rows)
    rows.append(tuple(Text(h, "header_right" if C_ECOUNT <= i <= C_DIFF else "header")
                      for i, h in enumerate(STATEMENT_HEADER)))

    by_section: dict[str, list[LineComparison]] = defaultdict(list)
    for line in pair.lines:
        by_section[line.section].append(line)
    net_parts_e: list[str] = []
    net_parts_d: list[str] = []
    net_value_e = ZERO
    net_value_d = ZERO
    for section, title in _SECTION_TITLES:
        lines = by_section.get(section, [])
        if not lines and section != OUTPUT:
            continue
        if section in (OUTPUT, CLAWBACK, ADJUSTMENT):
            # several lines under a heading; a single-line section is its own heading
            rows.append((Text(title, "section"), *(Blank("section") for _ in range(12))))
        first = len(rows)
        for line in lines:
            rows.append(_line_row(len(rows), line, has_dfe_money,
                                  section not in (OUTPUT, CLAWBACK, ADJUSTMENT)))
            net_value_e += line.expected_amount or ZERO
            net_value_d += line.dfe_amount or ZERO
        last = len(rows) - 1
        if not lines:
            rows.append((Text("(none)", "note"),))
            continue
        if len(lines) > 1:
            exp_sum = sum((x.expected_amount or ZERO for x in lines), ZERO)
            dfe_sum = sum((x.dfe_amount or ZERO for x in lines), ZERO)
            r = len(rows)
            rows.append(_subtotal_row(r, f"{title}: subtotal", first, last, exp_sum, dfe_sum,
                                      has_dfe_money))
            net_parts_e.append(cell_ref(r, C_EAMOUNT))
            net_parts_d.append(cell_ref(r, C_DAMOUNT))
        else:
            net_parts_e.append(cell_ref(first, C_EAMOUNT))
            net_parts_d.append(cell_ref(first, C_DAMOUNT))

    rows.append(())
    net_row = len(rows)
    rows.append(_total_row(net_row, "Net (before VAT)", net_parts_e, net_parts_d,
                           net_value_e, net_value_d, has_dfe_money, "money_bold"))
    vat_line = next((x for x in by_section.get(VAT, ())), None)
    vat_row = len(rows)
    vat_e = e.vat if e is not None else None
    vat_d = pair.dfe_vat if has_dfe_money else None
    if vat_d is None and has_dfe_money and pair.dfe_net is not None:
        vat_d = pair.dfe_total - pair.dfe_net
    rows.append(_vat_row(vat_row, vat_e, vat_d, has_dfe_money, vat_line))
    total_row = len(rows)
    total_e = (net_value_e + vat_e) if e is not None else None
    total_d = (net_value_d + (vat_d or ZERO)) if has_dfe_money else None
    row = list(_total_row(total_row, "Total (VAT included)",
                          [cell_ref(net_row, C_EAMOUNT), cell_ref(vat_row, C_EAMOUNT)],
                          [cell_ref(net_row, C_DAMOUNT), cell_ref(vat_row, C_DAMOUNT)],
                          total_e, total_d, has_dfe_money, "money_total",
                          expected=e is not None))
    if has_dfe_money and not d.lines:
        # DfE gave a total and no lines: its total is a figure, not a sum
        total_d = d.total
        row[C_DAMOUNT] = Money(d.total, "money_total")
        if total_e is not None:
            row[C_DIFF] = Formula(f"{cell_ref(total_row, C_DAMOUNT)}-"
                                  f"{cell_ref(total_row, C_EAMOUNT)}", total_d - total_e,
                                  "money_total")
    rows.append(tuple(row))
    if has_dfe_money and d.total is not None:
        rows.append((Text("DfE's total as stated on its statement", "note"),
                     *([None] * (C_DAMOUNT - 1)), Money(d.total)))

    if e is not None and e.counts:
        rows.append(())
        rows.append((Text("Declarations on this statement (expected)", "section"),
                     Blank("section")))
        for what, n in e.counts:
            rows.append((Text(what.replace("_", " ").capitalize()), Number(n)))

    # dict.fromkeys, not a set: drops repeats but keeps a fixed order for findings that
    # tie on the sort key (a set's order changes between processes: not byte-identical)
    on_statement = sorted(dict.fromkeys([*pair.findings, *pair.related, *findings]),
                          key=sort_key)
    rows.append(())
    rows.append((Text(f"Findings on this statement ({len(on_statement)})", "section"),
                 *(Blank("section") for _ in range(12))))
    if on_statement:
        rows.append((Text("Line", "header"), Text("Severity", "header"), Text("Code", "header"),
                     Blank("header"), Text("Expected", "header_right"),
                     Text("Actual", "header_right"), Text("Difference", "header_right"),
                     Text("Message", "header")))
        for f in on_statement:
            # the message is last so that it reads on across the empty cells to its right
            rows.append((Text(f.line or "-"), Text(f.severity.value), Text(f.code), None,
                         _figure(f.expected), _figure(f.actual), _difference(f),
                         Text(f.message)))
    else:
        rows.append((Text("None.", "note"),))

    last_line_row = total_row
    cfs = (
        ConditionalFormat(header_row + 1, C_DIFF, last_line_row, C_DIFF, "cell", "!=",
                          "cf_bad", 0),
        ConditionalFormat(header_row + 1, C_CDIFF, last_line_row, C_CDIFF, "cell", "!=",
                          "cf_bad", 0),
        ConditionalFormat(header_row + 1, C_CODES, last_line_row, C_CODES, "formula",
                          f'=LEN({cell_ref(header_row + 1, C_CODES)})>0', "cf_warn"),
    )
    sheet = Sheet(name, tuple(rows), widths=STATEMENT_WIDTHS, freeze=(header_row + 1, 1),
                  conditional_formats=cfs if has_dfe_money else (), landscape=True,
                  fit_to_width=True, heights=((header_row, 42),))
    cells = TotalCells(sheet_cell(name, total_row, C_EAMOUNT) if e is not None else None,
                       sheet_cell(name, total_row, C_DAMOUNT) if has_dfe_money else None,
                       total_e, total_d)
    return sheet, cells


def _version_text(e: ExpectedStatement | None) -> str:
    """Our contract version of a statement: '0.0.2 (terms from October 2023)'."""
    if e is None or not (e.contract_version or e.terms_from):
        return ""
    since = f"terms from {e.terms_from}" if e.terms_from else "the contract's first terms"
    return f"{e.contract_version} ({since})" if e.contract_version else since


def _versions_rows(calculation: Any) -> list[tuple]:
    """Rules sheet: which contract version applied to which statements."""
    runs: list[list] = []
    for e in getattr(calculation, "statements", ()) or ():
        tag = (e.key.lead_provider, e.key.cohort, e.contract_version, e.terms_from)
        if runs and runs[-1][0] == tag:
            runs[-1][2] = e.key.name
        else:
            runs.append([tag, e.key.name, e.key.name])
    if not any(tag[2] or tag[3] for tag, _first, _last in runs):
        return []
    rows: list[tuple] = [(), (Text("Contract versions by statement", "header"),
                              Text("Version", "header"), Text("Statements", "header"))]
    for (provider, cohort, version, since), first, last in runs:
        label = version or (f"from {since}" if since else "first terms")
        rows.append((Text(f"{provider}, cohort {cohort}"), Text(label),
                     Text(first if first == last else f"{first} to {last}")))
    return rows


def _status_note(pair: StatementPair) -> str:
    if pair.status == "Not compared":
        return ("Not compared: the assurance reports given do not cover this statement "
                "and every earlier one of its cohort (STATEMENTS_NOT_COVERED).")
    if pair.dfe is None:
        return ("DfE's statements given do not include this statement."
                if pair.status != "No DfE statement given" else
                "No DfE statements were given: expected figures only.")
    if pair.expected is None:
        return "DfE's statement has no expected counterpart."
    if not pair.has_money:
        return "DfE gave this statement's metadata only (dates): its money is not compared."
    return "Difference = DfE − expected: negative means DfE pays less than we expect."


def _line_row(r: int, line: LineComparison, has_dfe: bool, heading: bool = False) -> tuple:
    cells: list = [None] * 13
    cells[C_LINE] = Text(_short_label(line), "text_bold" if heading else "text")
    if line.section in (OUTPUT, CLAWBACK):
        cells[C_PTYPE] = Text(line.participant_type or "all")
        cells[C_DTYPE] = Text(line.declaration_type or "")
        cells[C_BAND] = Text(line.band or "flat rate")
    if line.expected_count is not None:
        cells[C_ECOUNT] = Number(line.expected_count)
    if line.expected_fee is not None:
        cells[C_EFEE] = Money(line.expected_fee, "fee")
    if line.expected_amount is not None:
        cells[C_EAMOUNT] = Money(line.expected_amount)
    if has_dfe:
        if line.dfe_count is not None:
            cells[C_DCOUNT] = Number(line.dfe_count)
        if line.dfe_fee is not None:
            cells[C_DFEE] = Money(line.dfe_fee, "fee")
        if line.dfe_amount is not None:
            cells[C_DAMOUNT] = Money(line.dfe_amount)
        if line.count_difference is not None:
            cells[C_CDIFF] = Formula(f"{cell_ref(r, C_DCOUNT)}-{cell_ref(r, C_ECOUNT)}",
                                     line.count_difference, "count")
        cells[C_DIFF] = Formula(f"{cell_ref(r, C_DAMOUNT)}-{cell_ref(r, C_EAMOUNT)}",
                                line.difference)
    if line.codes:
        cells[C_CODES] = Text(", ".join(line.codes))
    return tuple(cells)


def _subtotal_row(r: int, label: str, first: int, last: int, exp_sum: Decimal,
                  dfe_sum: Decimal, has_dfe: bool) -> tuple:
    cells: list = [None] * 13
    cells[C_LINE] = Text(label, "text_bold")
    cells[C_EAMOUNT] = Formula(sum_formula(C_EAMOUNT, first, last), exp_sum, "money_bold")
    if has_dfe:
        cells[C_DAMOUNT] = Formula(sum_formula(C_DAMOUNT, first, last), dfe_sum, "money_bold")
        cells[C_DIFF] = Formula(f"{cell_ref(r, C_DAMOUNT)}-{cell_ref(r, C_EAMOUNT)}",
                                dfe_sum - exp_sum, "money_bold")
    return tuple(cells)


def _total_row(r: int, label: str, parts_e: list[str], parts_d: list[str],
               value_e: Decimal | None, value_d: Decimal | None, has_dfe: bool, style: str,
               expected: bool = True) -> tuple:
    cells: list = [None] * 13
    cells[C_LINE] = Text(label, "text_total" if style == "money_total" else "text_bold")
    if expected and value_e is not None:
        cells[C_EAMOUNT] = Formula("SUM(" + ",".join(parts_e) + ")" if parts_e else "0",
                                   value_e, style)
    if has_dfe and value_d is not None:
        cells[C_DAMOUNT] = Formula("SUM(" + ",".join(parts_d) + ")" if parts_d else "0",
                                   value_d, style)
        if expected and value_e is not None:
            cells[C_DIFF] = Formula(f"{cell_ref(r, C_DAMOUNT)}-{cell_ref(r, C_EAMOUNT)}",
                                    value_d - value_e, style)
    return tuple(cells)


def _vat_row(r: int, vat_e: Decimal | None, vat_d: Decimal | None, has_dfe: bool,
             line: LineComparison | None) -> tuple:
    cells: list = [None] * 13
    cells[C_LINE] = Text("VAT")
    if vat_e is not None:
        cells[C_EAMOUNT] = Money(vat_e)
    if has_dfe and vat_d is not None:
        cells[C_DAMOUNT] = Money(vat_d)
        if vat_e is not None:
            cells[C_DIFF] = Formula(f"{cell_ref(r, C_DAMOUNT)}-{cell_ref(r, C_EAMOUNT)}",
                                    vat_d - vat_e)
    if line is not None and line.codes:
        cells[C_CODES] = Text(", ".join(line.codes))
    return tuple(cells)


def _figure(value: Figure | None) -> Cell | None:
    """A finding's expected or actual figure as a cell: money, a number, or words."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return Money(value)
    if isinstance(value, int):
        return Number(value)
    return Text(value)


def _difference(f: Finding) -> Cell | None:
    """A finding's difference as a cell: money, a number of declarations, or days."""
    if f.amount is not None:
        return Money(f.amount)
    if f.count is not None:
        return Number(f.count)
    return Text(f.difference) if f.difference is not None else None


# --------------------------------------------------------------------------- summary

SUMMARY_HEADER = ("Lead provider", "Cohort", "Statement", "Payment date", "Cut-off date",
                  "Output fee", "Expected total", "DfE total", "Difference (DfE − expected)",
                  "Errors", "Warnings", "Info", "Money status", "What it means")
SUMMARY_WIDTHS = (30, 8, 18, 12, 12, 9, 15, 15, 15, 8, 9, 7, 19, 60)
(S_LP, S_COHORT, S_NAME, S_PAY, S_CUT, S_OUT, S_EXP, S_DFE, S_DIFF, S_ERR, S_WARN, S_INFO,
 S_STATUS, S_NOTE) = range(14)


def summary_sheet(result: Any, comparison: Comparison, names: dict, totals: dict,
                  counts: Counter, by_statement: dict | None = None) -> Sheet:
    """``counts``: (statement, severity) -> findings; ``by_statement``: the findings."""
    pairs = comparison.pairs
    by_statement = by_statement or {}
    n_by = Counter(f.severity for f in result.findings)
    options = getattr(result, "options", None)
    rows: list[tuple] = [
        (Text("Reconciliation of DfE statements: expected against DfE", "title"),),
        (Text(f"{len(pairs)} statement(s); {len(result.declarations):,} declaration(s); "
              f"findings: {n_by.get(Severity.ERROR, 0)} error(s), "
              f"{n_by.get(Severity.WARNING, 0)} warning(s), {n_by.get(Severity.INFO, 0)} info "
              f"(see Findings).", "note"),),
        (Text(_status_line(pairs), "note"),),
        (Text(_inputs_line(options), "note"),),
        (Text("Difference = DfE − expected: negative means DfE pays less than the "
              "declarations and contract earn. Each statement's sheet shows it line by line. "
              "Filter Lead provider to see one provider: the Total row adds up the rows shown.",
              "note"),),
    ]
    header = len(rows)
    rows.append(tuple(Text(h, "header_right" if S_EXP <= i <= S_INFO else "header")
                      for i, h in enumerate(SUMMARY_HEADER)))
    first = len(rows)
    sum_e = sum_d = ZERO
    for pair in pairs:
        r = len(rows)
        cells = totals[pair.key]
        k = _pair_of(pair)
        output_fee = pair.expected.output_fee if pair.expected else pair.dfe.output_fee
        row = [Text(pair.key.lead_provider), Number(pair.key.cohort, "text"),
               Link(pair.key.name, names[pair.key]),
               Date(pair.payment_date) if pair.payment_date else None,
               Date(pair.cut_off_date) if pair.cut_off_date else None,
               Text("yes" if output_fee else "no"),
               None, None, None,
               Number(counts.get((k, Severity.ERROR), 0)),
               Number(counts.get((k, Severity.WARNING), 0)),
               Number(counts.get((k, Severity.INFO), 0)),
               Text(pair.status, "status"),
               Text(_summary_note(pair, by_statement.get(k, ())), "note")]
        if cells.expected_total is not None:
            row[S_EXP] = Formula(cells.expected_total, cells.expected_value)
            sum_e += cells.expected_value
        if cells.dfe_total is not None:
            row[S_DFE] = Formula(cells.dfe_total, cells.dfe_value)
            sum_d += cells.dfe_value
        if cells.expected_total is not None and cells.dfe_total is not None:
            row[S_DIFF] = Formula(f"{cell_ref(r, S_DFE)}-{cell_ref(r, S_EXP)}",
                                  cells.dfe_value - cells.expected_value)
        rows.append(tuple(row))
    last = len(rows) - 1
    total_row = len(rows)
    rows.append((Text("Total", "text_total"), *(Blank("text_total") for _ in range(5)),
                 Formula(_shown_sum(S_EXP, first, last), sum_e, "money_total"),
                 Formula(_shown_sum(S_DFE, first, last), sum_d, "money_total"),
                 Formula(_shown_sum(S_DIFF, first, last),
                         sum(((totals[p.key].dfe_value - totals[p.key].expected_value)
                              for p in pairs if totals[p.key].dfe_total is not None
                              and totals[p.key].expected_total is not None), ZERO),
                         "money_total"),
                 *(Formula(_shown_sum(c, first, last),
                           sum(counts.get((_pair_of(p), s), 0) for p in pairs), "count_total")
                   for c, s in ((S_ERR, Severity.ERROR), (S_WARN, Severity.WARNING),
                                (S_INFO, Severity.INFO))),
                 Blank("text_total"), Blank("text_total")))
    cfs = ()
    charts = ()
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
        charts = (Chart(
            "column", "Expected against DfE, by statement",
            (Series("Expected total", Ref(SUMMARY, first, S_NAME, last, S_NAME),
                    Ref(SUMMARY, first, S_EXP, last, S_EXP), "#4472C4"),
             Series("DfE total", Ref(SUMMARY, first, S_NAME, last, S_NAME),
                    Ref(SUMMARY, first, S_DFE, last, S_DFE), "#ED7D31")),
            anchor=(total_row + 2, 0), y_title="£ (VAT included)",
            width=min(1400, max(720, 48 * len(pairs))), height=380),)
    return Sheet(SUMMARY, tuple(rows), widths=SUMMARY_WIDTHS, freeze=(header + 1, 3),
                 heights=((header, 30),),
                 autofilter=AutoFilter(header, 0, S_NOTE, last if pairs else header),
                 conditional_formats=cfs, charts=charts, landscape=True, fit_to_width=True,
                 tab_color="#1F3864")


def _shown_sum(col: int, first: int, last: int) -> str:
    """The sum of the rows shown: filtering the Summary by provider totals that provider."""
    if last < first:
        return "0"
    return f"SUBTOTAL(109,{cell_ref(first, col)}:{cell_ref(last, col)})"


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


def _about_declarations(f: Finding) -> bool:
    """A finding about one or more declarations rather than the statement's money."""
    return bool(f.declaration_id or f.declaration_ids or f.code.startswith("DECL_"))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _status_line(pairs: Sequence[StatementPair]) -> str:
    counts = Counter(p.status for p in pairs)
    order = (DIFFERS, MISSING, NOT_EXPECTED, DFE_ADJUSTMENT, OK,
             "Dates only", "Not in DfE file", "Not compared", "No DfE statement given")
    parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
    return "Statements: " + (", ".join(parts) if parts else "none") + "."


def _shorten(text: str, limit: int = 110) -> str:
    """A message short enough for one Summary cell (the Findings sheet has it whole)."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _paths_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return str(value)


def _inputs_line(options: Any) -> str:
    if options is None:
        return ""
    parts = [f"Declarations: {_paths_text(options.declarations)}"]
    parts.append(f"DfE statements: {_paths_text(options.dfe_statements) or '(none given)'}")
    if getattr(options, "as_of", None):
        parts.append(f"as of {options.as_of}")
    return "; ".join(parts) + ". Rules and versions: see the Rules sheet."


# --------------------------------------------------------------------------- findings

FINDINGS_HEADER = ("Severity", "Code", "What", "Lead provider", "Cohort", "Statement", "Line",
                   "Declaration", "Expected", "Actual", "Difference", "Message",
                   "What to do", "Source", "Rule")
FINDINGS_WIDTHS = (9, 28, 36, 26, 8, 16, 30, 24, 12, 12, 12, 80, 60, 36, 30)


def findings_sheet(findings: Sequence[Finding], history: Any = None) -> Sheet:
    ordered = sorted(findings, key=sort_key)
    # with a run history: fingerprint, status, first seen, age, note (reconcile.history)
    header = FINDINGS_HEADER + (FINDING_COLUMNS if history is not None else ())

    def produce() -> Iterator[tuple]:
        yield tuple(Text(h, "header") for h in header)
        for f in ordered:
            info = CATALOGUE.get(f.code)
            yield (Text(f.severity.value), Text(f.code), Text(info.title if info else ""),
                   Text(f.lead_provider) if f.lead_provider else None,
                   Number(f.cohort, "text") if f.cohort is not None else None,
                   Text(f.statement) if f.statement else None,
                   Text(f.line) if f.line else None,
                   Text(f.declaration_id) if f.declaration_id else None,
                   _figure(f.expected), _figure(f.actual), _difference(f),
                   Text(f.message), Text(f.suggestion) if f.suggestion else None,
                   Text(str(f.source)) if f.source else None,
                   Text(f.rule) if f.rule else None,
                   *(finding_cells(history, f) if history is not None else ()))

    n = len(ordered)
    cfs = (ConditionalFormat(1, 0, max(n, 1), 0, "cell", "==", "cf_bad", '"error"'),
           ConditionalFormat(1, 0, max(n, 1), 0, "cell", "==", "cf_warn", '"warning"'))
    widths = FINDINGS_WIDTHS + (FINDING_WIDTHS if history is not None else ())
    return Sheet(FINDINGS, RowStream(produce, n + 1), widths=widths, freeze=(1, 2),
                 autofilter=AutoFilter(0, 0, len(header) - 1),
                 conditional_formats=cfs, tab_color="#C00000")


# --------------------------------------------------------------------------- declarations

DECLARATIONS_HEADER = (
    "Declaration", "Participant", "Participant type", "Declaration type", "Declaration date",
    "State", "Cohort", "Lead provider", "Delivery partner", "Uplift flag",
    "DfE statement (input)", "Expected statement", "Band", "Fee", "Uplift",
    "Clawback statement", "Clawback band", "Clawback fee", "Uplift clawback",
    "Rules fired", "Findings", "Source row")
DECLARATIONS_WIDTHS = (24, 20, 10, 13, 12, 16, 8, 24, 24, 8, 20, 16, 6, 12, 10, 16, 8, 12,
                       10, 40, 30, 10)


def declarations_sheet(result: Any) -> Sheet:
    """Every declaration and what it earns, streamed row by row (bounded memory).

    Rows are plain values (see :class:`~reconcile.sheets.RowStream`): a million
    declarations are a million small tuples produced as the writer asks.
    """
    declarations = result.declarations
    calculation = result.calculation
    evaluation = result.evaluation
    findings = result.findings

    def produce() -> Iterator[tuple]:
        paid: dict[str, Any] = {}
        clawed: dict[str, Any] = {}
        for a in getattr(calculation, "attributions", ()) or ():
            if a.kind == "clawback":
                clawed[a.declaration_id] = a
            else:
                paid[a.declaration_id] = a
        codes: dict[str, list[str]] = defaultdict(list)
        for f in findings:
            for member in f.declaration_ids or ((f.declaration_id,) if f.declaration_id
                                                 else ()):
                codes[member].append(f.code)
        fired = getattr(evaluation, "fired", None) or ()
        n_fired = len(fired)
        joined: dict[tuple, str] = {}
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

    styles = tuple("text" if h in ("Cohort", "Source row") else
                   "date" if h == "Declaration date" else None for h in DECLARATIONS_HEADER)
    return Sheet(DECLARATIONS, RowStream(produce, len(declarations) + 1, styles),
                 widths=DECLARATIONS_WIDTHS, freeze=(1, 1),
                 autofilter=AutoFilter(0, 0, len(DECLARATIONS_HEADER) - 1))


def _naive(moment: dt.datetime) -> dt.datetime:
    """Excel has no time zones: the UTC wall time (inputs are normalised to UTC)."""
    return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment


# --------------------------------------------------------------------------- rules


def rules_sheet(result: Any, comparison: Comparison) -> Sheet:
    options = getattr(result, "options", None)
    rulebook = getattr(result, "rulebook", None)
    evaluation = getattr(result, "evaluation", None)
    rows: list[tuple] = [
        (Text("How this workbook was made (to reproduce the run)", "title"),),
        (),
        (Text("Tool", "header"), Text("Value", "header")),
        (Text("reconcile version"), Text(__version__)),
        (Text("Rules engine backend"), Text(str(getattr(evaluation, "backend", "-")))),
        (Text("Distinct fact signatures evaluated"),
         Number(getattr(evaluation, "signatures", 0) or 0)),
        (Text("Tolerance for differences"), Money(comparison.tolerance)),
    ]
    if options is not None:
        for field in options._fields:
            value = getattr(options, field)
            if field in PRESENTATION_OPTIONS:
                continue
            if isinstance(value, tuple):
                value = ", ".join(str(v) for v in value) or "-"
            rows.append((Text(f"option: {field}"), Text("-" if value is None else str(value))))
    inputs = getattr(result, "inputs", ()) or ()
    if inputs:
        rows.append(())
        rows.append((Text("Input files read", "header"), Text("SHA-256", "header"),
                     Text("What", "header"), Text("Bytes", "header")))
        for file in inputs:
            rows.append((Text(file.path), Text(file.sha256), Text(file.role), Number(file.size)))
    notes = getattr(result, "notes", ()) or ()
    if notes:
        rows.append(())
        rows.append((Text("Notes on the inputs", "header"),))
        for note in notes:
            rows.append((Text(note),))
    notices = getattr(result, "notices", ()) or ()
    if notices:
        rows.append(())
        rows.append((Text("Notices about DfE's reference data (cohorts of this run)", "header"),
                     Text("Code", "header"), Text("Where", "header")))
        for f in notices:
            rows.append((Text(f.message), Text(f.code),
                         Text(str(f.source)) if f.source else None))
    rows.extend(_versions_rows(getattr(result, "calculation", None)))
    rows.append(())
    rows.append((Text("Rule and contract files read", "header"), Text("SHA-256", "header")))
    for path, digest in getattr(rulebook, "files", ()) or ():
        rows.append((Text(str(path)), Text(digest)))
    specs = getattr(rulebook, "rules", ()) or ()
    if specs:
        rows.append(())
        rows.append((Text("Eligibility rules", "header"), Text("Outcome", "header"),
                     Text("Where", "header"), Text("Description", "header")))
        for spec in specs:
            then = spec.then
            outcome = (f"classify {then.label}" if hasattr(then, "label")
                       else f"finding {getattr(then, 'code', '?')} "
                            f"({getattr(then, 'severity', '?')})")
            rows.append((Text(spec.id), Text(outcome), Text(str(spec.source)),
                         Text(spec.description)))
    return Sheet(RULES, tuple(rows), widths=(60, 68, 34, 90), tab_color="#7F7F7F")


# --------------------------------------------------------------------------- split hook


def _partner_sheet(result: Any) -> Sheet | None:
    """The Delivery partners sheet of the split (:func:`reconcile.remittance.partner_sheet`)."""
    if getattr(result, "split", None) is None:
        return None
    return partner_sheet(result.split, PARTNERS)
