"""Delivery-partner workbooks: remittance advice per partner, the split workbook, the sheet.

Stage: report (after split; pure). In: a :class:`reconcile.split.SplitResult`.
Out: workbook *values* (:mod:`reconcile.sheets`); the pipeline renders them to
``.xlsx`` with :mod:`reconcile.write`:

* :func:`partner_sheet` — the "Delivery partners" sheet: per statement and partner,
  declarations by type, output fees, uplifts, clawbacks, service-fee share,
  adjustments, retained share and amount payable, with the lead provider's row and
  a statement total whose live formulas show ``Σ amounts + retained = net``;
* :func:`split_workbook` — ``reconcile split --out``: how the split was made, that
  sheet, and every declaration's money;
* :func:`remittance_workbook` / :func:`remittance_workbooks` — ``reconcile split
  --per-partner DIR``: one workbook per delivery partner, ready to send: its
  statements (totals as live formulas over its declarations) and exactly its
  declarations. File names are safe and stable (``remittance-north-hub.xlsx``);
  the same inputs give the same bytes.

Declarations with no delivery partner get no remittance (there is nobody to send it
to); they are in the split workbook's "unassigned" rows and a finding.

Example::

    for file_name, build in remittance_workbooks(split_result).items():
        write_workbook(build(), folder / file_name)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from typing import Any

from reconcile import money
from reconcile.sheets import (
    Blank,
    Cell,
    Date,
    Formula,
    Money,
    Number,
    Row,
    RowStream,
    Sheet,
    Text,
    Workbook,
    cell_ref,
    printable,
    quote_sheet,
    sum_formula,
    wrapped_height,
)
from reconcile.split import (
    UNASSIGNED,
    DeclarationShare,
    PartnerShare,
    SplitResult,
    StatementSplit,
)

ZERO = money.ZERO
PARTNERS_SHEET = "Delivery partners"
LP_KEEPS = "Lead provider keeps"
#: a percentage such as 7.5 is shown as written (General), not rounded like a count
PERCENT_STYLE = "text"

#: the money columns of a partner's share, as (attribute, header)
_MONEY = (("output", "Output fees"), ("uplift", "Uplift fees"), ("clawbacks", "Clawbacks"),
          ("service_fee", "Service fee"), ("adjustments", "Adjustments"))


def _h(text: str, right: bool = False) -> Text:
    return Text(text, "header_right" if right else "header")


def _kind_text(share: DeclarationShare) -> str:
    if share.kind == "output":
        return "not paid: beyond the last band" if share.unpaid else "paid"
    return "clawback: nothing to take back" if share.unpaid else "clawed back"


def _policy_rows(result: SplitResult) -> tuple[Row, ...]:
    rows: list[Row] = [(Text("How the split is made", "subtitle"),)]
    rows.extend((Text(label, "text_bold"), Text(text)) for label, text in result.policy.describe())
    return tuple(rows)


# --------------------------------------------------------------------------- the sheet


def partner_sheet(result: SplitResult, name: str = PARTNERS_SHEET) -> Sheet:
    """Per statement × delivery partner: money, retained share, amount payable, counts.

    The money comes first and the declaration counts last, so that the printed page
    (up to "Amount payable") is legible: the counts are for the screen and the filter.
    Streamed (:class:`~reconcile.sheets.RowStream`): a national run has about a hundred
    thousand statement × partner rows, made as the writer asks for them rather than held
    as cells from the report stage to the write.
    """
    types = result.declaration_types
    policy = _policy_rows(result)
    # header, each statement's partners with the lead provider's row and its total,
    # a blank row, the policy, the note
    count = 1 + sum(len(st.partners) + 2 for st in result.statements) + 1 + len(policy) + 1
    # the id column as wide as the longest id (DfE's ids are 36-character UUIDs)
    id_width = min(40, max([14, *(len(p.delivery_partner_id or "") + 2
                                  for st in result.statements for p in st.partners)]))
    # the provider's and partners' names whole (not run into the next column), within
    # reason: the printed page is fitted to its width
    lp_width = min(32, max([14, *(len(st.key.lead_provider) + 1 for st in result.statements)]))
    name_width = min(36, max([18, len(LP_KEEPS) + 2, *(len(p.label) + 1
                                                      for st in result.statements
                                                      for p in st.partners)]))
    widths = (lp_width, 7, 15, 11, name_width, *(11 for _ in _MONEY), 11, 9, 11, 12,
              id_width, *(9 for _ in types), 9)
    return Sheet(name, RowStream(partial(_partner_rows, result, types, policy), count),
                 widths=widths, freeze=(1, 5), landscape=True, fit_to_width=True,
                 heights=((0, 30),), print_area=(0, 0, count - 1, _C_AMOUNT))


_PARTNER_HEAD = ("Lead provider", "Cohort", "Statement", "Payment date", "Delivery partner")
#: the partner sheet's columns: the money, gross, retained (after the retained
#: percentage) and the amount payable (the last printed)
_C_MONEY = len(_PARTNER_HEAD)
_C_GROSS = _C_MONEY + len(_MONEY)
_C_RET, _C_AMOUNT = _C_GROSS + 2, _C_GROSS + 3


def _partner_rows(result: SplitResult, types: tuple[str, ...], policy: tuple[Row, ...]
                  ) -> Iterator[Row]:
    """The rows of :func:`partner_sheet`, in order."""
    c_money, c_gross, c_ret, c_amount = _C_MONEY, _C_GROSS, _C_RET, _C_AMOUNT
    first_count = c_amount + 2  # c_amount + 1: the partner's id
    c_claw = first_count + len(types)
    yield (*(_h(h) for h in _PARTNER_HEAD), *(_h(h, True) for _, h in _MONEY),
           _h("Gross", True), _h("Retained %", True), _h("Retained", True),
           _h("Amount payable", True), _h("Delivery partner id"),
           *(_h(t, True) for t in types), _h("Clawed back", True))
    r = 1  # the row about to be yielded
    for st in result.statements:
        where = (Text(st.key.lead_provider), Number(st.key.cohort, "year"), Text(st.key.name),
                 Date(st.payment_date) if st.payment_date else None)
        first = r
        for p in st.partners:
            counts, clawed = dict(p.counts), dict(p.clawed_back)
            yield (
                *where, Text(p.label),
                *(Money(getattr(p, attr)) for attr, _ in _MONEY),
                Formula(f"SUM({cell_ref(r, c_money)}:{cell_ref(r, c_gross - 1)})", p.gross),
                Number(p.retained_percentage, PERCENT_STYLE), Money(p.retained),
                Formula(f"{cell_ref(r, c_gross)}-{cell_ref(r, c_ret)}", p.amount),
                Text(p.delivery_partner_id or ""), *(Number(counts.get(t, 0)) for t in types),
                Number(sum(clawed.values())))
            r += 1
        last = r - 1
        kept_gross = st.kept_service_fee + st.kept_adjustments
        yield (
            *where, Text(LP_KEEPS, "text_bold"),
            None, None, None, Money(st.kept_service_fee), Money(st.kept_adjustments),
            Formula(f"SUM({cell_ref(r, c_money)}:{cell_ref(r, c_gross - 1)})", kept_gross),
            None,
            Formula(f"{sum_formula(c_ret, first, last)}+{cell_ref(r, c_gross)}", st.retained,
                    "money_bold"),
            None)

        def total(col: int, value: Any, style: str = "money_total", upto: int = r,
                  first: int = first) -> Formula:
            return Formula(sum_formula(col, first, upto), value, style)

        yield (
            *(Blank("text_total") for _ in range(2)), Text(st.key.name, "text_total"),
            Blank("text_total"), Text("Statement total (net)", "text_total"),
            *(total(c_money + i, _column(st, attr) + (
                st.kept_service_fee if attr == "service_fee" else
                st.kept_adjustments if attr == "adjustments" else ZERO))
              for i, (attr, _) in enumerate(_MONEY)),
            total(c_gross, st.net), Blank("text_total"),
            Formula(cell_ref(r, c_ret), st.retained, "money_total"),
            total(c_amount, _column(st, "amount"), upto=last), Blank("text_total"),
            *(total(first_count + i, sum(dict(p.counts).get(ty, 0) for p in st.partners),
                    "count_total", last) for i, ty in enumerate(types)),
            total(c_claw,
                  sum(sum(dict(p.clawed_back).values()) for p in st.partners),
                  "count_total", last))
        r += 2
    yield ()
    yield from policy
    yield (Text("Each statement's total: amount payable + retained = gross = the "
                "statement's net (VAT is not split).", "note"),)


def _column(st: StatementSplit, attr: str) -> Decimal:
    return sum((getattr(p, attr) for p in st.partners), ZERO)


# --------------------------------------------------------------------------- split workbook

#: column styles of the streamed Declarations sheets: the exact fee keeps its fractions
SPLIT_STYLES = (None, "year", *(None,) * 9, "fee")  # the cohort a plain year, never 2,024
REMITTANCE_STYLES = (None, "year", *(None,) * 7, "fee")
_DECLARATION_HEAD = ("Lead provider", "Cohort", "Statement", "Delivery partner id",
                     "Delivery partner", "Declaration id", "Participant id", "Participant type",
                     "Declaration type", "Band", "Paid or clawed back", "Fee attributed",
                     "Output fee", "Uplift fee", "Clawback", "Total")


def _declaration_values(st: StatementSplit, d: DeclarationShare,
                        with_partner: bool) -> Row:
    """One declaration's row as plain values (streamed sheets: up to a million rows)."""
    output = d.amount if d.kind == "output" else ZERO
    uplift = d.uplift if d.kind == "output" else ZERO
    clawback = ZERO if d.kind == "output" else d.amount + d.uplift
    partner = ((d.delivery_partner_id or "",
                d.delivery_partner_name or d.delivery_partner_id or UNASSIGNED)
               if with_partner else ())
    return (st.key.lead_provider, st.key.cohort, st.key.name, *partner, d.declaration_id,
            d.participant_id or "", d.participant_type, d.declaration_type, d.band or "",
            _kind_text(d), d.fee, output, uplift, clawback, output + uplift + clawback)


def _all_declarations(result: SplitResult) -> Iterator[Row]:
    yield tuple(_h(h, i >= 11) for i, h in enumerate(_DECLARATION_HEAD))
    for st in result.statements:
        for d in st.declarations:
            yield _declaration_values(st, d, True)


def split_workbook(result: SplitResult) -> Workbook:
    """``reconcile split --out``: the policy, the partner sheet, every declaration's money."""
    count = 1 + sum(len(st.declarations) for st in result.statements)
    about_rows: tuple[Row, ...] = (
        (Text("Delivery-partner split", "title"),),
        (Text("Each statement's expected net payment divided between delivery partners and "
              "the lead provider's retained share, to the penny. VAT is not split."),),
        (),
        *_policy_rows(result),
        (),
        (Text("Findings", "subtitle"),),
        *((Text(f.severity.value, "text_top"), Text(f.message, "wrap_top"))
          for f in result.findings),
    )
    widths = (30, 100)
    # a wrapped message's row as tall as its lines (spreadsheets do not fit it themselves)
    tall = tuple((r, height) for r, row in enumerate(about_rows)
                 if len(row) == 2 and isinstance(row[1], Text) and row[1].style == "wrap_top"
                 and (height := wrapped_height(((row[1].value, widths[1]),))) is not None)
    about = Sheet("About", about_rows, widths=widths, heights=tall)
    declarations = Sheet("Declarations", RowStream(lambda: _all_declarations(result), count,
                                                   SPLIT_STYLES),
                         widths=(28, 8, 16, 18, 30, 38, 38, 10, 12, 6, 30, 12, 12, 12, 12, 12),
                         freeze=(1, 0))
    return Workbook(tuple(printable(sheet) for sheet in (about, partner_sheet(result),
                                                         declarations)),
                    title="Delivery-partner split", subject="reconcile split",
                    active=PARTNERS_SHEET, footer="Delivery-partner split")


# --------------------------------------------------------------------------- remittances

_REMIT_HEAD = ("Lead provider", "Cohort", "Statement", "Payment date", "Output fees",
               "Uplift fees", "Clawbacks", "Service fee", "Adjustments", "Gross", "Retained %",
               "Retained", "Amount payable")
#: the columns a remittance gains when DfE's statements are given
_DFE_HEAD = ("Your share of DfE's payment", "Difference (DfE − expected)", "Amount paid")
_TABLE_ROW = 5  # zero-based row of the remittance table's header


def _contact(details: Any) -> str:
    """The partner's email and address from the partners file (``--partners``)."""
    if details is None:
        return ""
    parts = [p for p in (details.email, " ".join((details.address or "").split())) if p]
    return "; ".join(parts)


_Remitted = dict[str | None, list[tuple[StatementSplit, PartnerShare, list[DeclarationShare]]]]


def _by_partner(result: SplitResult) -> _Remitted:
    """Partner → its (statement, share, declarations), in statement order: one pass."""
    found: _Remitted = {}
    for st in result.statements:
        mine: dict[str | None, list[DeclarationShare]] = {}
        for d in st.declarations:
            mine.setdefault(d.delivery_partner_id, []).append(d)
        for share in st.partners:
            found.setdefault(share.delivery_partner_id, []).append(
                (st, share, mine.get(share.delivery_partner_id, [])))
    return found


def remittance_workbook(result: SplitResult, partner: str,
                        _index: _Remitted | None = None) -> Workbook:
    """One delivery partner's remittance advice: its statements and exactly its declarations.

    (``_index``: :func:`_by_partner` of the result, when writing every partner's.)
    """
    entries = (_index if _index is not None else _by_partner(result)).get(partner)
    if not entries:
        raise KeyError(f"no share for delivery partner {partner!r}")
    mine = [(st, share) for st, share, _ in entries]
    label = mine[0][1].label
    providers = sorted({st.key.lead_provider for st, _ in mine})
    # where each statement's declarations sit in the Declarations sheet (the sums point there)
    header = tuple(_h(h, i >= 9) for i, h in enumerate(
        h for h in _DECLARATION_HEAD if h not in ("Delivery partner id", "Delivery partner")))
    ranges, row = [], 1
    for _, _, declarations in entries:
        ranges.append((row, row + len(declarations) - 1))
        row += len(declarations)

    def declaration_rows() -> Iterator[Row]:
        yield header
        for st, _, declarations in entries:
            for d in declarations:
                yield _declaration_values(st, d, False)

    decls = quote_sheet("Declarations")
    details = result.details(partner)
    with_dfe = any(st.dfe_net is not None for st, _ in mine)
    paid_dfe = any(st.paid == "dfe" for st, _ in mine)

    rows: list[Row] = [
        (Text(f"Remittance advice: {label}", "title"),),
        (Text(f"From {', '.join(providers)} to {label} (delivery partner id {partner})."),),
        (Text(_contact(details), "note"),),
        (Text("Your share of each DfE statement, worked out declaration by declaration "
              "(sheet Declarations). Amounts exclude VAT."
              + (" 'Your share of DfE's payment' divides what DfE paid on the statement "
                 "(its net) in proportion to the expected amounts; the difference is DfE's "
                 "minus expected. " + ("Amount paid is your share of DfE's payment where "
                                       "DfE's statement was given, else the expected amount."
                                       if paid_dfe else "Amount paid is the expected amount.")
                 if with_dfe else ""), "note"),),
        (Text("Statements", "subtitle"),),
        tuple(_h(h, i >= 4) for i, h in enumerate(
            (*_REMIT_HEAD[:-1], "Expected amount payable", *_DFE_HEAD) if with_dfe
            else _REMIT_HEAD)),
    ]
    for (st, p), (a, b) in zip(mine, ranges):
        r = len(rows)

        def over(col: int, value: Decimal, a: int = a, b: int = b) -> Formula:
            if b < a:
                return Formula("0", value)
            return Formula(f"SUM({decls}!{cell_ref(a, col)}:{cell_ref(b, col)})", value)

        dfe_cells: tuple[Cell | None, ...] = ()
        if with_dfe:
            if p.dfe_paid is None:
                dfe_cells = (None, None, Formula(cell_ref(r, 12), p.amount))
            else:
                chosen = 13 if st.paid == "dfe" else 12
                dfe_cells = (Money(p.dfe_paid),
                             Formula(f"{cell_ref(r, 13)}-{cell_ref(r, 12)}",
                                     p.dfe_paid - p.amount),
                             Formula(cell_ref(r, chosen), st.payable(p)))
        rows.append((
            Text(st.key.lead_provider), Number(st.key.cohort, "year"), Text(st.key.name),
            Date(st.payment_date) if st.payment_date else None,
            over(10, p.output), over(11, p.uplift), over(12, p.clawbacks),
            Money(p.service_fee), Money(p.adjustments),
            Formula(f"SUM({cell_ref(r, 4)}:{cell_ref(r, 8)})", p.gross),
            Number(p.retained_percentage, PERCENT_STYLE), Money(p.retained),
            Formula(f"{cell_ref(r, 9)}-{cell_ref(r, 11)}", p.amount), *dfe_cells))
    last = len(rows) - 1
    totals = {4: lambda p, st: p.output, 5: lambda p, st: p.uplift,
              6: lambda p, st: p.clawbacks, 7: lambda p, st: p.service_fee,
              8: lambda p, st: p.adjustments, 9: lambda p, st: p.gross,
              11: lambda p, st: p.retained, 12: lambda p, st: p.amount}
    if with_dfe:
        totals.update({13: lambda p, st: p.dfe_paid or ZERO,
                       14: lambda p, st: (p.dfe_paid - p.amount) if p.dfe_paid is not None
                       else ZERO,
                       15: lambda p, st: st.payable(p)})
    width = 16 if with_dfe else 13
    rows.append((
        Text("Total", "text_total"), *(Blank("text_total") for _ in range(3)),
        *(Formula(sum_formula(c, _TABLE_ROW + 1, last),
                  sum((totals[c](p, st) for st, p in mine), ZERO), "money_total")
          if c in totals else Blank("text_total") for c in range(4, width))))
    rows.append(())
    widths = (28, 7, 15, 12, 11, 11, 11, 11, 11, 11, 9, 11, 12,
              *((12, 12, 12) if with_dfe else ()))
    # the notes and the policy's words wrapped across the table's width (text running
    # past the last column would widen the printed page and shrink everything)
    merges: list[tuple[int, int, int, int]] = []
    heights: list[tuple[int, float]] = [(_TABLE_ROW, 45.0 if with_dfe else 30.0)]
    for r in (2, 3):
        first = rows[r][0] if rows[r] else None
        text = first.value if isinstance(first, Text) else ""
        rows[r] = (Text(text, "note_wrap"), *(Blank("note_wrap") for _ in widths[1:]))
        merges.append((r, 0, r, len(widths) - 1))
        height = wrapped_height(((text, sum(widths)),))
        if height is not None:
            heights.append((r, height))
    for policy_row in _policy_rows(result):
        r = len(rows)
        words = policy_row[1] if len(policy_row) == 2 else None
        if isinstance(words, Text):
            name = policy_row[0]
            rows.append((name, Text(words.value, "wrap_top"),
                         *(Blank("wrap_top") for _ in widths[2:])))
            merges.append((r, 1, r, len(widths) - 1))
            height = wrapped_height(((words.value, sum(widths[1:])),))
            if height is not None:
                heights.append((r, height))
        else:
            rows.append(policy_row)
    remittance = printable(Sheet("Remittance", tuple(rows), widths=widths,
                                 freeze=(_TABLE_ROW + 1, 0), landscape=True, fit_to_width=True,
                                 heights=tuple(heights), merges=tuple(merges),
                                 repeat_rows=(_TABLE_ROW, _TABLE_ROW)))
    declaration_sheet = printable(Sheet(
        "Declarations", RowStream(declaration_rows, row, REMITTANCE_STYLES),
        widths=(24, 7, 14, 37, 37, 9, 12, 5, 20, 11, 11, 10, 10, 11), freeze=(1, 0)))
    return Workbook((remittance, declaration_sheet), title=f"Remittance advice: {label}",
                    subject="reconcile split --per-partner", active="Remittance",
                    footer=f"Remittance advice: {label}")


_UNSAFE = re.compile(r"[^a-z0-9]+")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                     *(f"lpt{i}" for i in range(10))}


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _UNSAFE.sub("-", ascii_text.lower()).strip("-")[:60].strip("-")


def remittance_file_names(result: SplitResult) -> dict[str, str]:
    """Delivery partner id → a safe, unique file name made from its name.

    Only letters, digits and ``-`` (any system, any shell); two partners with the same
    name are told apart by their ids; the same partners always get the same names.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    partners = [(pid, name) for pid, name in result.partners() if pid is not None]
    clash = {s for s in (_slug(name or pid) for pid, name in partners)
             if [_slug(n or p) for p, n in partners].count(s) > 1}
    for n, (pid, name) in enumerate(partners, start=1):
        slug = _slug(name or pid) or _slug(pid) or f"partner-{n}"
        if slug in clash and _slug(pid) and _slug(pid) != slug:
            slug = f"{slug}-{_slug(pid)}"
        if slug in _WINDOWS_RESERVED:
            slug = f"{slug}-partner"
        candidate, k = slug, 1
        while candidate in taken:
            k += 1
            candidate = f"{slug}-{k}"
        taken.add(candidate)
        names[pid] = f"remittance-{candidate}.xlsx"
    return names


def remittance_workbooks(result: SplitResult) -> dict[str, Callable[[], Workbook]]:
    """File name → how to build that delivery partner's remittance workbook.

    One per delivery partner with a share (never for declarations without one), named
    by :func:`remittance_file_names`; each is built only when called, so a run with
    hundreds of partners holds one remittance at a time.
    """
    index = _by_partner(result)
    return {file_name: partial(remittance_workbook, result, pid, index)
            for pid, file_name in remittance_file_names(result).items()}
