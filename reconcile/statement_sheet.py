"""One statement's sheet, laid out as DfE's statement page lays it out (pure; report stage).

Stage: report (called by :func:`reconcile.report.build_workbook` for every statement
pair). In: a :class:`~reconcile.compare.StatementPair` (our lines beside DfE's), the
findings on the statement and the statement's contract terms (:func:`statement_terms`).
Out: a :class:`~reconcile.sheets.Sheet` and where its totals are (for the Summary).

The layout follows DfE's own finance pages, so that the sheet can be ticked off
line by line against DfE's screen or its "Save as PDF":

* ECF (``DFE-Digital/early-careers-framework``), ``app/views/finance/ecf/statements/
  show.html.erb``: a payment breakdown panel (``payment_breakdown/ecf.html.erb``:
  total, then output payment, service fee, uplift fees, clawbacks, additional
  adjustments, VAT; the milestone cut-off and payment dates; the counts "Total
  starts", retained, completed, extended, clawed back, voided), then the output
  payments table (``output_payments/ecf.html.erb``: a row per declaration type —
  started, retained 1 to 4, completed, and one "Extended" row when there are any —
  with the bands as columns, each type's count row followed by a "Fee per
  participant" row whose last column is the type's payments), the uplift fees
  (participants, fee per participant, payments) and the adjustments (clawbacks
  listed as "Clawback for <type> (Band: <letter>)" with the uplift clawbacks first,
  then the additional adjustments). Before the 2025 cohort ECTs and mentors are
  counted together in one table (``statement_calculator.rb`` has no participant
  filter).
* From the 2025 cohort (``cohort.mentor_funding?``) the same page shows an ECT
  table (banded, "Fee per ECT") and a mentor table (flat rate: participants, "Fee
  per mentor"), ECT and mentor clawbacks apart (``output_payments/ect_mentor.html.erb``,
  ``payment_breakdown/ect_mentor.html.erb``), as RECT's admin statement page does
  (``DFE-Digital/register-early-career-teachers-public``,
  ``app/components/admin/statements/output_payments_component/banded_presenter.rb``
  and ``flat_rate_presenter.rb``, which also fold extended-1..3 into "Extended").

Every figure appears three times side by side: **Expected** (ours), **DfE** and the
**Difference** (DfE − expected), each a group of columns (one per band, then
Payments). Differences, table totals and the breakdown are live formulas (the
breakdown points at the tables' totals, the net adds the breakdown). Below the
statement, on their own pages: every finding on the statement, then the statement's
lines one per participant type × declaration type × band, with a filter.

Example::

    sheet, cells = statement_sheet(pair, "May 2024", findings, statement_terms(rulebook, pair))
    cells.expected_total          # "'May 2024'!E14": the Summary points here
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile import money
from reconcile.calculate.fees import fee_table
from reconcile.compare import (
    ADJUSTMENT,
    CLAWBACK,
    OUTPUT,
    RECONCILE,
    SERVICE_FEE,
    UPLIFT,
    UPLIFT_CLAWBACK,
    VAT,
    LineComparison,
    StatementPair,
)
from reconcile.findings import Figure, Finding, sort_key
from reconcile.model import ExpectedStatement
from reconcile.sheets import (
    AutoFilter,
    Blank,
    Cell,
    ConditionalFormat,
    Date,
    Formula,
    Money,
    Number,
    Sheet,
    Text,
    cell_ref,
    sheet_cell,
    wrapped_height,
)

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook

ZERO = money.ZERO
EXPECTED, DFE, DIFFERENCE = 0, 1, 2
GROUP_TITLES = ("Expected (ours)", "DfE", "Difference (DfE − expected)")

#: widths: the label column, a band column, a Payments column
LABEL_WIDTH, BAND_WIDTH, PAYMENTS_WIDTH = 28, 12, 14
ROW_POINTS = 15.0  # a one-line row, in points (Calibri 11)
GAP_POINTS = 7.5  # a blank row between two tables
#: what one printed page holds, in points of rows at the scale a statement prints at
#: (A4 landscape less the margins, fitted to the width of three groups of columns)
PAGE_POINTS = 40 * ROW_POINTS


def _points(b: _Rows, first: int, last: int) -> float:
    tall = dict(b.heights)
    return sum(tall.get(r, ROW_POINTS) for r in range(first, last))


class Terms(NamedTuple):
    """What a statement's contract says, for the cells DfE shows without a line.

    DfE shows the fee per participant of every band, even where no declaration
    fell; ``banded`` holds them (declaration type -> fee per band, in ``bands``
    order). ``mentor_funding``: ECTs and mentors are shown in separate tables (the
    contract has a flat-rate mentor block: the 2025 cohort on).
    """

    bands: tuple[str, ...] = ()
    banded: Mapping[str, tuple[Decimal, ...]] = {}  # noqa: RUF012 (never mutated)
    flat_rate: Mapping[str, Decimal] = {}  # noqa: RUF012
    uplift: Decimal | None = None
    mentor_funding: bool = False
    vat_percentage: Decimal | None = None
    types: tuple[str, ...] = ()  # the vocabulary's declaration types, in order
    version: str | None = None  # the contract version applied to the statement


def statement_terms(rulebook: Rulebook, pair: StatementPair) -> Terms:
    """The contract terms of ``pair``'s statement (empty terms when there is none)."""
    types = tuple(rulebook.vocabulary.declaration_types)
    contracts = rulebook.contracts
    key = pair.key
    contract = contracts.get((key.lead_provider, key.cohort))
    if contract is None:
        wanted = (" ".join(key.lead_provider.split()).casefold(), key.cohort)
        contract = next((c for (lp, cohort), c in contracts.items()
                         if (" ".join(str(lp).split()).casefold(), cohort) == wanted), None)
    version = version_text(pair.expected) or None
    if contract is None:
        return Terms(types=types, version=version)
    try:
        table = fee_table(contract, rulebook.fees)
    except ValueError:
        return Terms(types=types, version=version)
    return Terms(table.band_names, table.banded, table.flat_rate, table.uplift,
                 bool(table.flat_rate), table.vat_percentage, types, version)


class TotalCells(NamedTuple):
    """Where a statement sheet keeps its totals, for the Summary's formulas."""

    expected_total: str | None
    dfe_total: str | None
    expected_value: Decimal | None
    dfe_value: Decimal | None


# --------------------------------------------------------------------------- cells of a table


class _Side(NamedTuple):
    count: int  # type: ignore[assignment]  # a field named count: tuple.count never called
    amount: Decimal
    fees: tuple[Decimal, ...]  # the distinct fees of the lines (one, normally)
    present: bool  # a line exists on this side


def _side(lines: Iterable[LineComparison], expected: bool) -> _Side:
    count, amount, fees, present = 0, ZERO, [], False
    for line in lines:
        n = line.expected_count if expected else line.dfe_count
        fee = line.expected_fee if expected else line.dfe_fee
        value = line.expected_amount if expected else line.dfe_amount
        if n is None and value is None:
            continue
        present = True
        count += n or 0
        amount += value or ZERO
        if fee is not None and fee not in fees:
            fees.append(fee)
    return _Side(count, amount, tuple(fees), present)


def _fee(side: _Side) -> Decimal | None:
    """The fee per participant a cell shows: the lines' fee (their mean if they differ)."""
    if len(side.fees) == 1:
        return side.fees[0]
    if side.count:
        return side.amount / side.count
    return side.fees[0] if side.fees else None


def display_type(declaration_type: str) -> str:
    """The row a declaration type is shown on: extended-1..3 share DfE's "Extended" row
    (ECF ``event_types_for_display``; RECT ``BandedPresenter#grouped_outputs``)."""
    return "extended" if declaration_type.startswith("extended") else declaration_type


def type_label(declaration_type: str) -> str:
    """``retained-1`` -> "Retained 1", as DfE's page writes it."""
    return declaration_type.replace("-", " ").replace("_", " ").capitalize()


class Grid(NamedTuple):
    """One output table: rows (display types) × bands, each cell on both sides."""

    title: str
    fee_label: str
    total_label: str
    bands: tuple[str | None, ...]  # (None,) for the flat-rate table
    rows: tuple[str, ...]
    cells: Mapping[tuple[str, str | None], tuple[_Side, _Side]]
    fees: Mapping[tuple[str, str | None], Decimal]  # the contract's fee where no line

    def side(self, row: str, band: str | None, which: int) -> _Side:
        pair = self.cells.get((row, band))
        if pair is None:
            return _Side(0, ZERO, (), False)
        return pair[which]


def _ordered_types(terms: Terms, present: Iterable[str]) -> list[str]:
    rows = list(dict.fromkeys(display_type(t) for t in terms.types))
    for t in present:
        if t not in rows:
            rows.append(t)
    return rows


def output_grids(pair: StatementPair, terms: Terms) -> list[Grid]:
    """The output tables of a statement: one before 2025, ECT and mentor tables after."""
    lines = [ln for ln in pair.lines if ln.section == OUTPUT]
    banded = [ln for ln in lines if ln.band is not None]
    flat = [ln for ln in lines if ln.band is None]
    mentor_funding = terms.mentor_funding or bool(flat)
    grids = [_banded_grid(banded, terms, mentor_funding)]
    if mentor_funding:
        grids.append(_flat_grid(flat, terms))
    return grids


def _banded_grid(lines: list[LineComparison], terms: Terms, mentor_funding: bool) -> Grid:
    bands: list[str | None] = list(terms.bands)
    for ln in lines:
        if ln.band not in bands:
            bands.append(ln.band)
    groups: dict[tuple[str, str | None], list[LineComparison]] = defaultdict(list)
    for ln in lines:
        groups[(display_type(ln.declaration_type or ""), ln.band)].append(ln)
    cells = {k: (_side(v, True), _side(v, False)) for k, v in groups.items()}
    present = [k[0] for k in groups]
    rows = [t for t in _ordered_types(terms, present)
            if t != "extended" or any(t == k[0] and (c[0].count or c[1].count)
                                      for k, c in cells.items())]
    fees: dict[tuple[str, str | None], Decimal] = {}
    for declaration_type, per_band in terms.banded.items():
        row = display_type(declaration_type)
        for band, fee in zip(terms.bands, per_band):
            fees.setdefault((row, band), fee)  # "Extended": extended-1's fee, as ECF
    if mentor_funding:
        return Grid("Early career teacher (ECT) output payments", "Fee per ECT",
                    "ECTs output payment total", tuple(bands), tuple(rows), cells, fees)
    return Grid("Output payments", "Fee per participant", "Output payment total",
                tuple(bands), tuple(rows), cells, fees)


def _flat_grid(lines: list[LineComparison], terms: Terms) -> Grid:
    groups: dict[tuple[str, str | None], list[LineComparison]] = defaultdict(list)
    for ln in lines:
        groups[(display_type(ln.declaration_type or ""), None)].append(ln)
    cells = {k: (_side(v, True), _side(v, False)) for k, v in groups.items()}
    order = {t: i for i, t in enumerate(terms.types)}
    rows = list(dict.fromkeys([*(display_type(t) for t in sorted(
        terms.flat_rate, key=lambda t: order.get(t, len(order)))), *(k[0] for k in groups)]))
    fees: dict[tuple[str, str | None], Decimal] = {
        (display_type(t), None): fee for t, fee in terms.flat_rate.items()}
    return Grid("Mentor output payments", "Fee per mentor", "Mentors output payment total",
                (None,), tuple(rows), cells, fees)


class ClawbackRow(NamedTuple):
    label: str
    expected: _Side
    dfe: _Side
    codes: tuple[str, ...]


def clawback_tables(pair: StatementPair, terms: Terms) -> list[tuple[str, list[ClawbackRow]]]:
    """DfE's clawback lists: uplift clawbacks first, then each type and band (by band,
    then type, as ECF's ``clawbacks_breakdown``); ECT and mentor apart from 2025."""
    lines = [ln for ln in pair.lines if ln.section == CLAWBACK]
    uplift = [ln for ln in pair.lines if ln.section == UPLIFT_CLAWBACK]
    mentor_funding = terms.mentor_funding or any(ln.band is None for ln in pair.lines
                                                 if ln.section == OUTPUT)
    tables: list[tuple[str, list[LineComparison]]]
    if mentor_funding:
        tables = [("ECT clawbacks", [ln for ln in lines if ln.band is not None]),
                  ("Mentor clawbacks", [ln for ln in lines if ln.band is None])]
    else:
        tables = [("Clawbacks", lines)]
    order = {t: i for i, t in enumerate(terms.types)}
    band_order: dict[str | None, int] = {b: i for i, b in enumerate(terms.bands)}
    out = []
    for n, (title, members) in enumerate(tables):
        rows: list[ClawbackRow] = []
        if n == 0 and (uplift or terms.uplift is not None):
            rows.append(ClawbackRow("Uplift clawbacks", _side(uplift, True),
                                    _side(uplift, False),
                                    tuple(c for ln in uplift for c in ln.codes)))
        groups: dict[tuple[str | None, str], list[LineComparison]] = defaultdict(list)
        for ln in members:
            groups[(ln.band, ln.declaration_type or "")].append(ln)
        for band, declaration_type in sorted(groups, key=lambda k: (
                band_order.get(k[0], len(band_order)), k[0] or "",
                order.get(k[1], len(order)), k[1])):
            group = groups[(band, declaration_type)]
            label = f"Clawback for {type_label(declaration_type)}" + (
                f" (Band: {band})" if band else "")
            rows.append(ClawbackRow(label, _side(group, True), _side(group, False),
                                    tuple(dict.fromkeys(c for ln in group for c in ln.codes))))
        out.append((title, rows))
    return out


# --------------------------------------------------------------------------- the sheet


class _Layout(NamedTuple):
    bands: int  # band columns per group

    def start(self, group: int) -> int:
        return 1 + group * (self.bands + 1)

    def col(self, group: int, i: int) -> int:
        return self.start(group) + i

    def pay(self, group: int) -> int:
        return self.start(group) + self.bands

    @property
    def width(self) -> int:
        return 1 + 3 * (self.bands + 1)


class _Rows:
    """The sheet's rows as they are built, with merges, heights and breaks."""

    def __init__(self, layout: _Layout, has_expected: bool, has_dfe: bool) -> None:
        self.layout = layout
        self.has_expected = has_expected
        self.has_dfe = has_dfe
        self.rows: list[list[Cell | None]] = []
        self.merges: list[tuple[int, int, int, int]] = []
        self.heights: list[tuple[int, float]] = []
        self.money_rows: list[int] = []  # rows with a difference to colour

    def new(self) -> list[Cell | None]:
        row: list[Cell | None] = [None] * self.layout.width
        self.rows.append(row)
        return row

    @property
    def r(self) -> int:
        return len(self.rows) - 1

    def blank(self) -> None:
        """A gap between tables: half a row, so that a statement prints on one page
        (a blank cell in it: XlsxWriter writes no height for a row without a cell)."""
        self.rows.append([Blank("text")])
        self.heights.append((self.r, GAP_POINTS))

    def put(self, offset: int, expected: Any, dfe: Any, style: str,
            diff: str = "always") -> None:
        """The cell at ``offset`` in each group of the current row, and the difference.

        ``expected``/``dfe`` are values (Decimal/int), formulas (a (text, value)
        pair) or None. ``diff``: ``always`` (a missing side counts as 0), ``both`` (only
        when both sides have a value), ``never``.
        """
        row, r, lay = self.rows[-1], self.r, self.layout
        cols = [lay.start(g) + offset for g in (EXPECTED, DFE, DIFFERENCE)]
        values: list[Any] = []
        for group, value in ((EXPECTED, expected), (DFE, dfe)):
            shown = self.has_expected if group == EXPECTED else self.has_dfe
            if not shown or value is None:
                values.append(None)
                continue
            values.append(value[1] if isinstance(value, tuple) else value)
            row[cols[group]] = _cell(value, style)
        if not (self.has_expected and self.has_dfe) or diff == "never":
            return
        e, d = values
        if diff == "both" and (e is None or d is None):
            return
        if e is None:
            row[cols[EXPECTED]] = _cell(0 if style.startswith("count") else ZERO, style)
            e = 0
        if d is None:
            row[cols[DFE]] = _cell(0 if style.startswith("count") else ZERO, style)
            d = 0
        row[cols[DIFFERENCE]] = Formula(f"{cell_ref(r, cols[DFE])}-{cell_ref(r, cols[EXPECTED])}",
                                        d - e, style)
        self.money_rows.append(r)

    def header(self, label: str, columns: Sequence[str], payments: str = "Payments") -> None:
        """A table's header: its title, then the meaning of each group's columns."""
        row = self.new()
        row[0] = Text(label, "header")
        # "Fee per participant", "Early career teacher (ECT) output payments": two lines
        if any(wrapped_height(((c, BAND_WIDTH),)) for c in columns) or wrapped_height(
                ((label, LABEL_WIDTH),)):
            self.heights.append((self.r, 30))
        lay = self.layout
        for group in (EXPECTED, DFE, DIFFERENCE):
            if group == DFE and not self.has_dfe:
                continue
            if group == DIFFERENCE and not (self.has_dfe and self.has_expected):
                continue
            if group == EXPECTED and not self.has_expected:
                continue
            for i in range(lay.bands):
                row[lay.col(group, i)] = Text(columns[i] if i < len(columns) else "",
                                              "header_right")
            row[lay.pay(group)] = Text(payments, "header_right")


def _cell(value: Any, style: str) -> Formula | Number | Money:
    if isinstance(value, tuple):
        return Formula(value[0], value[1], style)
    if style.startswith("count"):
        return Number(value, style)
    return Money(value, style)


def _ref(r: int, c: int) -> str:
    return cell_ref(r, c)


def statement_sheet(pair: StatementPair, name: str, findings: Sequence[Finding] = (),
                    terms: Terms | None = None) -> tuple[Sheet, TotalCells]:
    """One statement in DfE's layout, expected beside DfE beside the difference.

    ``findings`` are the run's findings on this statement (the pair's own are added);
    ``terms`` the statement's contract (:func:`statement_terms`; without it, the bands
    and fees are those of the lines).
    """
    terms = terms or Terms()
    key, e, d = pair.key, pair.expected, pair.dfe
    has_dfe = d is not None and pair.has_money
    dfe_lines = d is not None and has_dfe and bool(d.lines)
    grids = output_grids(pair, terms)
    claws = clawback_tables(pair, terms)
    # at least three band columns: the line list below needs 13 columns
    n_bands = max([3, *(len(g.bands) for g in grids)])
    lay = _Layout(n_bands)
    b = _Rows(lay, e is not None, dfe_lines)

    # -- title and the statement's details (DfE's page: provider, statement, dates)
    b.new()[0] = Text(f"{key.name} — {key.lead_provider}, cohort {key.cohort}", "title")
    output_fee = e.output_fee if e is not None else d is not None and d.output_fee
    details = [
        ("Payment date", Date(pair.payment_date) if pair.payment_date else Text("-")),
        ("Milestone cut-off date",
         Date(pair.cut_off_date) if pair.cut_off_date else Text("-")),
        ("DfE statement id", Text(pair.statement_id or "-")),
        ("Output-fee statement", Text("yes" if output_fee else "no (service fee only)")),
        ("Contract version", Text(terms.version or "-")),
        ("DfE's contract version",
         Text(d.contract_version or "-") if d is not None else Text("-")),
        ("Contract", Text(_contract_text(terms))),
        ("VAT", Text(_vat_text(terms, e))),
    ]
    for i in range(0, len(details), 2):
        row = b.new()
        for j, (label, value) in enumerate(details[i:i + 2]):
            col = 0 if j == 0 else lay.start(DFE)
            row[col] = Text(label, "text_bold")
            row[col + (1 if j == 0 else 2)] = value
    row = b.new()
    row[0] = Text("Money status", "text_bold")
    row[1] = Text(pair.status, "text_bold")
    row[lay.start(DFE)] = Text("What it means", "text_bold")
    row[lay.start(DFE) + 2] = Text(_status_note(pair), "note")
    b.blank()

    # -- the column groups (expected, DfE, difference)
    row = b.new()
    for group in (EXPECTED, DFE, DIFFERENCE):
        first, last = lay.start(group), lay.pay(group)
        title = GROUP_TITLES[group]
        if group != EXPECTED and not dfe_lines:
            title = ("DfE: total only (no lines given)" if group == DFE and has_dfe
                     else "DfE: no statement given" if group == DFE else "")
        if group == EXPECTED and e is None:
            title = "Expected: none (we expect no such statement)"
        row[first] = Text(title, "group") if title else None
        for c in range(first + 1, last + 1):
            row[c] = Blank("group") if title else None
        if title:
            b.merges.append((b.r, first, b.r, last))
    group_row = b.r

    # The breakdown points at the tables' totals below it: lay the tables out first
    # (their rows depend only on the statement), then write the breakdown above them.
    breakdown_labels = _breakdown_labels(grids, claws, pair)
    top = len(b.rows)
    breakdown_end = top + len(breakdown_labels) + 5  # header, lines, net, VAT, total, DfE's
    first_table = breakdown_end + 1 + 4 + 1  # a blank row, the counts, a blank row
    tables = _Rows(lay, b.has_expected, b.has_dfe)
    tables.rows = [[] for _ in range(first_table)]
    refs = _tables(tables, grids, claws, pair, terms, output_fee)

    # -- the payment breakdown (DfE's panel: total first there; here the lines, then it)
    b.header("Payment breakdown", (), "Payments")
    net_parts: list[int] = []
    for label in breakdown_labels:
        b.new()[0] = Text(label, "indent")
        e_value, d_value = refs.get(label, (None, None))
        if label == "Service fee":
            e_value = e.service_fee if e is not None else None
            d_value = _single(pair, SERVICE_FEE)
        elif label.startswith("Reconcile amount"):
            e_value, d_value = ZERO, _single(pair, RECONCILE)
        b.put(lay.bands, e_value, d_value, "money")
        net_parts.append(b.r)
    net_row = len(b.rows)
    b.new()[0] = Text("Net (before VAT)", "text_bold")
    net_e = sum((_value(b.rows[r][lay.pay(EXPECTED)]) for r in net_parts), ZERO)
    net_d = sum((_value(b.rows[r][lay.pay(DFE)]) for r in net_parts), ZERO)

    def over(group: int) -> str:
        col = lay.pay(group)
        return f"SUM({_ref(net_parts[0], col)}:{_ref(net_parts[-1], col)})"

    b.put(lay.bands, (over(EXPECTED), net_e) if e is not None else None,
          (over(DFE), net_d) if dfe_lines else None, "money_bold")
    vat_e = e.vat if e is not None else None
    vat_d = pair.dfe_vat if has_dfe else None
    if vat_d is None and has_dfe and pair.dfe_net is not None and pair.dfe_total is not None:
        vat_d = pair.dfe_total - pair.dfe_net
    b.new()[0] = Text("VAT", "indent")
    b.put(lay.bands, vat_e, vat_d if dfe_lines else None, "money")
    vat_row = b.r
    b.new()[0] = Text("Total (VAT included)", "text_total")
    total_row = b.r
    total_e = (net_e + vat_e) if e is not None and vat_e is not None else None
    total_d: Decimal | None = (net_d + (vat_d or ZERO)) if dfe_lines else None

    def total_formula(group: int) -> str:
        col = lay.pay(group)
        return f"{_ref(net_row, col)}+{_ref(vat_row, col)}"

    if d is not None and has_dfe and not dfe_lines:
        total_d = d.total  # DfE gave a total and no lines: a figure, not a sum
    b.has_dfe = has_dfe
    b.put(lay.bands, (total_formula(EXPECTED), total_e) if e is not None else None,
          ((total_formula(DFE), total_d) if dfe_lines else total_d) if has_dfe else None,
          "money_total")
    b.has_dfe = dfe_lines
    for c in range(lay.width):
        if b.rows[total_row][c] is None:
            b.rows[total_row][c] = Blank("text_total")
    if d is not None and dfe_lines and d.total is not None and d.total != total_d:
        b.new()[0] = Text("DfE's total as stated on its statement", "note")
        b.rows[-1][lay.pay(DFE)] = Money(d.total)
    while len(b.rows) < breakdown_end:
        b.blank()
    b.blank()

    # -- the counts DfE shows (ECF payment_breakdown: total starts ... voided)
    _counts(b, pair)
    while len(b.rows) < first_table:
        b.blank()

    # -- the tables
    b.rows.extend(tables.rows[first_table:])
    b.merges.extend(tables.merges)
    b.heights.extend(tables.heights)  # the two-line headers ("Fee per participant")
    b.money_rows.extend(tables.money_rows)
    statement_end = len(b.rows) - 1

    # -- findings on the statement, then every line (for filtering), on their own pages
    on_statement = sorted(dict.fromkeys([*pair.findings, *pair.related, *findings]),
                          key=sort_key)
    # findings start a page; the line list follows them, or the statement when it fits
    breaks = []
    b.blank()
    if on_statement:
        breaks.append(len(b.rows))
        _findings(b, on_statement)
        b.blank()
    start = breaks[0] if breaks else 0
    if _points(b, start, len(b.rows)) + ROW_POINTS * (len(pair.lines) + 5) > PAGE_POINTS:
        breaks.append(len(b.rows))
    list_header = _line_list(b, pair, dfe_lines)
    last_line = len(b.rows) - 1

    cfs = []
    if b.has_expected and dfe_lines:
        first_diff = lay.start(DIFFERENCE)
        cfs.append(ConditionalFormat(
            group_row + 1, first_diff, statement_end, lay.pay(DIFFERENCE), "formula",
            f"=AND(ISNUMBER({_ref(group_row + 1, first_diff)}),"
            f"{_ref(group_row + 1, first_diff)}<>0)", "cf_bad"))
        for col in (C_CDIFF, C_DIFF):
            cfs.append(ConditionalFormat(list_header + 1, col, max(last_line, list_header + 1),
                                         col, "cell", "!=", "cf_bad", 0))
    widths = [LABEL_WIDTH]
    for _group in range(3):
        widths.extend([BAND_WIDTH] * lay.bands + [PAYMENTS_WIDTH])
    sheet = Sheet(name, tuple(tuple(r) for r in b.rows), widths=tuple(widths),
                  freeze=(group_row + 1, 1), conditional_formats=tuple(cfs), landscape=True,
                  fit_to_width=True, hide_gridlines=True, heights=tuple(b.heights),
                  autofilter=AutoFilter(list_header, 0, LINE_COLUMNS - 1,
                                        max(last_line, list_header)),
                  repeat_rows=(0, 0), page_breaks=tuple(breaks), merges=tuple(b.merges))
    cells = TotalCells(sheet_cell(name, total_row, lay.pay(EXPECTED)) if e is not None else None,
                       sheet_cell(name, total_row, lay.pay(DFE)) if has_dfe else None,
                       total_e, total_d)
    return sheet, cells


def _value(cell: Any) -> Decimal:
    if cell is None or isinstance(cell, Blank):
        return ZERO
    return Decimal(cell.value or 0)


def _single(pair: StatementPair, section: str) -> Decimal | None:
    line = next((ln for ln in pair.lines if ln.section == section), None)
    return line.dfe_amount if line is not None else None


def _contract_text(terms: Terms) -> str:
    parts = []
    if terms.bands:
        parts.append(f"bands {', '.join(terms.bands)}")
    if terms.mentor_funding:
        parts.append("mentors at a flat rate")
    return "; ".join(parts) if parts else "-"


def _vat_text(terms: Terms, e: Any) -> str:
    if terms.vat_percentage:
        return f"{terms.vat_percentage.normalize():f}% of the net (VAT chargeable)"
    if e is not None and e.vat:
        return "on the net (VAT chargeable)"
    return "none (not VAT chargeable)"


def _status_note(pair: StatementPair) -> str:
    if pair.dfe is None:
        return ("DfE's statements given do not include this statement."
                if pair.status != "No DfE statement given" else
                "No DfE statements were given: expected figures only.")
    if pair.expected is None:
        return "DfE's statement has no expected counterpart."
    if not pair.has_money:
        return "DfE gave this statement's metadata only (dates): its money is not compared."
    return "Difference = DfE − expected: negative means DfE pays less than we expect."


_Clawbacks = list[tuple[str, list[ClawbackRow]]]


def _breakdown_labels(grids: list[Grid], claws: _Clawbacks, pair: StatementPair) -> list[str]:
    labels = []
    if len(grids) == 1:
        labels.append("Output payment")
    else:
        labels.extend(("ECTs output payment", "Mentors output payment"))
    labels.append("Service fee")
    labels.append("Uplift fees")
    labels.extend(title for title, _ in claws)
    labels.append("Additional adjustments")
    if any(ln.section == RECONCILE for ln in pair.lines):
        labels.append("Reconcile amount (in DfE's total, not shown as a line)")
    return labels


_BREAKDOWN_OF = {"Output payment total": "Output payment",
                 "ECTs output payment total": "ECTs output payment",
                 "Mentors output payment total": "Mentors output payment"}


#: a total's (expected, DfE) cells: each a (formula, value) pair, a value, or None
_TotalRefs = tuple[Any, Any]


def _tables(b: _Rows, grids: list[Grid], claws: _Clawbacks, pair: StatementPair,
            terms: Terms, output_fee: bool) -> dict[str, _TotalRefs]:
    """Output, uplift, clawback and adjustment tables from the current row; returns the
    breakdown label -> (expected, DfE) formula pairs pointing at their totals."""
    lay = b.layout
    refs: dict[str, _TotalRefs] = {}
    if not output_fee and not any(ln.section in (OUTPUT, CLAWBACK, UPLIFT, UPLIFT_CLAWBACK)
                                  for ln in pair.lines):
        # a service-fee-only statement: DfE's page has nothing in these tables either
        zero = (ZERO if b.has_expected else None, ZERO if b.has_dfe else None)
        for label in (*_BREAKDOWN_OF.values(), "Uplift fees", *(t for t, _ in claws)):
            refs[label] = zero
        b.new()[0] = Text("Not an output-fee statement: the service fee only, no output "
                          "payments, uplifts or clawbacks.", "note")
        b.blank()
        claws = []
        grids = []

    def total_refs(r: int, e_value: Decimal, d_value: Decimal) -> _TotalRefs:
        return ((_ref(r, lay.pay(EXPECTED)), e_value) if b.has_expected else None,
                (_ref(r, lay.pay(DFE)), d_value) if b.has_dfe else None)

    for grid in grids:
        b.header(grid.title, [f"Band {x}" if x else "Participants" for x in grid.bands])
        first = len(b.rows)
        sums = [ZERO, ZERO]
        for row_type in grid.rows:
            b.new()[0] = Text(type_label(row_type), "text_bold")
            for i, band in enumerate(grid.bands):
                e_side = grid.side(row_type, band, EXPECTED)
                d_side = grid.side(row_type, band, DFE)
                b.put(i, e_side.count, d_side.count, "count")
            b.new()[0] = Text(grid.fee_label, "indent")
            e_amount = d_amount = ZERO
            for i, band in enumerate(grid.bands):
                e_side = grid.side(row_type, band, EXPECTED)
                d_side = grid.side(row_type, band, DFE)
                e_fee = _fee(e_side) if e_side.present else grid.fees.get((row_type, band))
                b.put(i, e_fee, _fee(d_side) if d_side.present else None, "fee", "both")
                e_amount += e_side.amount
                d_amount += d_side.amount
            b.put(lay.bands, e_amount, d_amount, "money")
            sums[0] += e_amount
            sums[1] += d_amount
        last = len(b.rows) - 1
        b.new()[0] = Text(grid.total_label, "text_bold")
        r = b.r

        def col_sum(group: int, first: int = first, last: int = last) -> str:
            col = lay.pay(group)
            return f"SUM({_ref(first, col)}:{_ref(last, col)})" if last >= first else "0"

        b.put(lay.bands, (col_sum(EXPECTED), sums[0]), (col_sum(DFE), sums[1]), "money_bold")
        refs[_BREAKDOWN_OF[grid.total_label]] = total_refs(r, *sums)
        b.blank()

    # uplift fees (ECF uplift.html.erb: participants, fee per participant, payments)
    uplift = [ln for ln in pair.lines if ln.section == UPLIFT]
    if "Uplift fees" in refs:
        pass
    elif uplift or terms.uplift is not None:
        b.header("Uplift fees", ("Participants", "Fee per participant"))
        e_side, d_side = _side(uplift, True), _side(uplift, False)
        b.new()[0] = Text("Uplift fees", "indent")
        b.put(0, e_side.count, d_side.count, "count")
        e_fee = terms.uplift if terms.uplift is not None else (
            e_side.amount / e_side.count if e_side.count else None)
        d_fee = (d_side.amount / d_side.count) if d_side.count else None
        b.put(1, e_fee, d_fee, "fee", "both")
        b.put(lay.bands, e_side.amount, d_side.amount, "money")
        refs["Uplift fees"] = total_refs(b.r, e_side.amount, d_side.amount)
        b.blank()
    else:
        refs["Uplift fees"] = (ZERO if b.has_expected else None, ZERO if b.has_dfe else None)

    # clawbacks (ECF adjustments.html.erb / clawbacks.html.erb)
    for title, rows in claws:
        b.header(title, ("Participants", "Fee per participant"))
        first = len(b.rows)
        sums = [ZERO, ZERO]
        for claw in rows:
            b.new()[0] = Text(claw.label, "indent")
            b.put(0, claw.expected.count, claw.dfe.count, "count")
            e_fee = _fee(claw.expected)
            if e_fee is None and claw.label == "Uplift clawbacks" and terms.uplift is not None:
                e_fee = terms.uplift
            d_fee = _fee(claw.dfe)
            if d_fee is None and claw.dfe.count:
                d_fee = abs(claw.dfe.amount) / claw.dfe.count
            # DfE shows a clawback's fee negative (ECF clawbacks_breakdown: fee: -fee)
            b.put(1, -abs(e_fee) if e_fee is not None else None,
                  -abs(d_fee) if d_fee is not None else None, "fee", "both")
            b.put(lay.bands, claw.expected.amount, claw.dfe.amount, "money")
            sums[0] += claw.expected.amount
            sums[1] += claw.dfe.amount
        if not rows:
            b.new()[0] = Text("None.", "note")
        last = len(b.rows) - 1
        b.new()[0] = Text(f"{title} total", "text_bold")

        def claw_sum(group: int, first: int = first, last: int = last) -> str:
            col = lay.pay(group)
            return f"SUM({_ref(first, col)}:{_ref(last, col)})"

        b.put(lay.bands, (claw_sum(EXPECTED), sums[0]), (claw_sum(DFE), sums[1]),
              "money_bold")
        refs[title] = total_refs(b.r, *sums)
        b.blank()

    # additional adjustments (ECF additional_adjustments/table.html.erb)
    adjustments = [ln for ln in pair.lines if ln.section == ADJUSTMENT]
    b.header("Additional adjustments", ())
    first = len(b.rows)
    sums = [ZERO, ZERO]
    for ln in adjustments:
        b.new()[0] = Text(ln.description or ln.label, "indent")
        b.put(lay.bands, ln.expected_amount, ln.dfe_amount, "money")
        sums[0] += ln.expected_amount or ZERO
        sums[1] += ln.dfe_amount or ZERO
    if not adjustments:
        b.new()[0] = Text("None.", "note")
    last = len(b.rows) - 1
    b.new()[0] = Text("Additional adjustments total", "text_bold")

    def adj_sum(group: int) -> str:
        col = lay.pay(group)
        return f"SUM({_ref(first, col)}:{_ref(last, col)})"

    b.put(lay.bands, (adj_sum(EXPECTED), sums[0]), (adj_sum(DFE), sums[1]), "money_bold")
    refs["Additional adjustments"] = total_refs(b.r, *sums)
    return refs


def _counts(b: _Rows, pair: StatementPair) -> None:
    """DfE's counts across: total starts, retained, completed, extended, voided, clawed
    back (and any other count the calculation gives, e.g. awaiting clawback)."""
    e = pair.expected
    names = list(dict(e.counts)) if e is not None and e.counts else [
        "started", "retained", "completed", "extended"]
    row = b.new()
    row[0] = Text("Declarations on the statement", "header")
    b.heights.append((b.r, 30))
    for i, what in enumerate(names, start=1):
        if i < b.layout.width:
            row[i] = Text(_count_label(what), "header_right")
    expected = dict(e.counts) if e is not None else {}
    outputs = [ln for ln in pair.lines if ln.section == OUTPUT]
    dfe: dict[str, int] = {}
    for what in names:
        members = [ln for ln in outputs if ln.declaration_type and (
            ln.declaration_type == what or ln.declaration_type.startswith(what + "-"))]
        if members and b.has_dfe:
            dfe[what] = sum(ln.dfe_count or 0 for ln in members)
        elif b.has_dfe and what in ("started", "retained", "completed", "extended"):
            dfe[what] = 0
    rows = []
    for label, values in (("Expected (ours)", expected), ("DfE (from its lines)", dfe)):
        row = b.new()
        row[0] = Text(label, "indent")
        rows.append(b.r)
        if (label.startswith("DfE") and not b.has_dfe) or (
                label.startswith("Expected") and not b.has_expected):
            row[1] = Text("-")
            continue
        for i, what in enumerate(names, start=1):
            if what in values and i < b.layout.width:
                row[i] = Number(values[what])
    row = b.new()
    row[0] = Text("Difference (DfE − expected)", "indent")
    if b.has_dfe and b.has_expected:
        for i, what in enumerate(names, start=1):
            if what in dfe and what in expected and i < b.layout.width:
                row[i] = Formula(f"{_ref(rows[1], i)}-{_ref(rows[0], i)}",
                                 dfe[what] - expected[what], "count")


def _count_label(what: str) -> str:
    text = what.replace("_", " ").replace("-", " ")
    return f"Total {text}" if text in ("started", "retained", "completed", "extended",
                                        "voided", "clawed back") else text.capitalize()


# --------------------------------------------------------------------------- findings and lines

LINE_HEADER = ("Line", "Participants", "Declaration type", "Band", "Expected count",
               "Expected fee per declaration", "Expected amount", "DfE count",
               "DfE fee per declaration", "DfE amount", "Count difference (DfE − expected)",
               "Difference (DfE − expected)", "Findings")
LINE_COLUMNS = len(LINE_HEADER)
(C_LINE, C_PTYPE, C_DTYPE, C_BAND, C_ECOUNT, C_EFEE, C_EAMOUNT, C_DCOUNT, C_DFEE, C_DAMOUNT,
 C_CDIFF, C_DIFF, C_CODES) = range(LINE_COLUMNS)


def _findings(b: _Rows, on_statement: list[Finding]) -> None:
    row = b.new()
    row[0] = Text(f"Findings on this statement ({len(on_statement)})", "section")
    for c in range(1, b.layout.width):
        row[c] = Blank("section")
    if not on_statement:
        b.new()[0] = Text("None.", "note")
        return
    message_col = 7
    row = b.new()
    for c, title in enumerate(("Line", "Severity", "Code", "", "Expected", "Actual",
                               "Difference", "Message and what to do")):
        row[c] = Text(title, "header_right" if 4 <= c <= 6 else "header")
    row[3] = Blank("header")
    b.merges.append((b.r, 2, b.r, 3))
    for c in range(message_col + 1, b.layout.width):
        row[c] = Blank("header")
    b.merges.append((b.r, message_col, b.r, b.layout.width - 1))
    message_width = sum(
        BAND_WIDTH if (c - 1) % (b.layout.bands + 1) < b.layout.bands else PAYMENTS_WIDTH
        for c in range(message_col, b.layout.width))
    for f in on_statement:
        row = b.new()
        text = f.message + (f" What to do: {f.suggestion}" if f.suggestion else "")
        row[0] = Text(f.line or "-", "wrap_top")
        row[1] = Text(f.severity.value, "wrap_top")
        row[2] = Text(f.code, "wrap_top")
        row[3] = Blank("wrap_top")
        b.merges.append((b.r, 2, b.r, 3))
        row[4], row[5], row[6] = (figure_cell(f.expected, True),
                                  figure_cell(f.actual, True), difference_cell(f, True))
        row[message_col] = Text(text, "wrap_top")
        for c in range(message_col + 1, b.layout.width):
            row[c] = Blank("wrap_top")
        b.merges.append((b.r, message_col, b.r, b.layout.width - 1))
        height = wrapped_height(((text, message_width), (f.code, 2 * BAND_WIDTH),
                                 (f.line, LABEL_WIDTH)), ROW_POINTS)
        if height is not None:
            b.heights.append((b.r, height))


def _line_list(b: _Rows, pair: StatementPair, has_dfe: bool) -> int:
    """Every line of the statement, one row each, with a filter; returns the header row."""
    row = b.new()
    row[0] = Text("Every line of this statement (filter here)", "section")
    for c in range(1, b.layout.width):
        row[c] = Blank("section")
    header = len(b.rows)
    b.rows.append([Text(h, "header_right" if C_ECOUNT <= i <= C_DIFF else "header")
                   for i, h in enumerate(LINE_HEADER)])
    b.heights.append((header, 45))
    for line in pair.lines:
        b.rows.append(list(_line_row(len(b.rows), line, has_dfe)))
    return header


def _short_label(line: LineComparison) -> str:
    if line.section in (OUTPUT, CLAWBACK):
        what = "Output" if line.section == OUTPUT else "Clawback"
        return f"{what}: {type_label(line.declaration_type or '')}"
    if line.section == ADJUSTMENT:
        return line.description or line.label
    return _HEADINGS.get(line.section) or (line.label[:1].upper() + line.label[1:])


_HEADINGS = {SERVICE_FEE: "Service fee", UPLIFT: "Uplift fees",
             UPLIFT_CLAWBACK: "Uplift clawbacks", VAT: "VAT",
             RECONCILE: "Reconcile amount (in DfE's total only)"}


def _line_row(r: int, line: LineComparison, has_dfe: bool) -> tuple[Cell | None, ...]:
    cells: list[Cell | None] = [None] * LINE_COLUMNS
    cells[C_LINE] = Text(_short_label(line))
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


def figure_cell(value: Figure | None, top: bool = False) -> Cell | None:
    """A finding's expected or actual figure as a cell: money, a number, or words
    (``top``: words aligned to the top of a row made tall by a wrapped message)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return Money(value, "money_top" if top else "money")
    if isinstance(value, int):
        return Number(value, "count_top" if top else "count")
    return Text(value, "text_top" if top else "text")


def difference_cell(f: Finding, top: bool = False) -> Cell | None:
    """A finding's difference as a cell: money, a number of declarations, or days."""
    if f.amount is not None:
        return Money(f.amount, "money_top" if top else "money")
    if f.count is not None:
        return Number(f.count, "count_top" if top else "count")
    if f.difference is None:
        return None
    return Text(f.difference, "text_top" if top else "text")


def version_text(e: ExpectedStatement | None) -> str:
    """Our contract version of a statement: '0.0.2 (terms from October 2023)'."""
    if e is None:
        return ""
    version, since = e.contract_version, e.terms_from
    if not (version or since):
        return ""
    since_text = f"terms from {since}" if since else "the contract's first terms"
    return f"{version} ({since_text})" if version else since_text
