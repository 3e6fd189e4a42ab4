"""The workbook as a value: sheets of rows of typed cells with style names (pure).

Stage: none of its own. :mod:`reconcile.report` (and the split and template
writers) *build* a :class:`Workbook` value; :mod:`reconcile.write` is the only
module that renders one to ``.xlsx`` (with xlsxwriter). Keeping the workbook a
plain value means it can be tested cell by cell without opening a file, and the
renderer can guarantee the same things for every workbook the tool writes: text
written as text (a provider's ``=HYPERLINK(...)`` stays text), £ formats, frozen
headers, deterministic bytes.

Cells are small immutable records; a row is a tuple of cells (``None`` leaves a
cell empty). Styles are names from :data:`STYLES` (e.g. ``"money"`` is
``£#,##0.00;-£#,##0.00``). A formula cell carries the value Python computed, so
the file shows the right figure before any spreadsheet recalculates it, and a
test can check that the spreadsheet's own result equals ours.

A sheet with very many rows (the Declarations sheet: up to a million) takes a
:class:`RowStream` instead of a tuple: a function that produces the rows when the
writer asks, so the rows never all sit in memory.

>>> sheet = Sheet("Totals", rows=(
...     (Text("Line", "header"), Text("Amount", "header")),
...     (Text("Output"), Money(Decimal("1194.00"))),
...     (Text("Service fee"), Money(Decimal("1086.21"))),
...     (Text("Total", "bold"), Formula("SUM(B2:B3)", Decimal("2280.21"), "money_total")),
... ), widths=(20, 14), freeze=(1, 0))
>>> sheet.cell(3, 1).formula
'SUM(B2:B3)'
>>> cell_ref(3, 1), column_letter(27)
('B4', 'AB')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

# --------------------------------------------------------------------------- styles

MONEY_FORMAT = "£#,##0.00;-£#,##0.00"
COUNT_FORMAT = "#,##0"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

_HEADER = {"bold": True, "bg_color": "#D9E1F2", "bottom": 1, "text_wrap": True,
           "valign": "top"}
_TOTAL = {"bold": True, "top": 1, "bottom": 6}

#: Every style a cell may name: format properties in XlsxWriter's vocabulary
#: (plain data; only :mod:`reconcile.write` turns them into formats).
STYLES: dict[str, dict[str, Any]] = {
    "text": {},
    "text_bold": {"bold": True},
    "status": {"bold": True, "indent": 1},
    "wrap": {"text_wrap": True, "valign": "top"},
    "note": {"italic": True, "font_color": "#595959"},
    "title": {"bold": True, "font_size": 14},
    "subtitle": {"bold": True, "font_size": 11, "font_color": "#1F3864"},
    "section": {"bold": True, "bg_color": "#EDEDED", "top": 1},
    "header": _HEADER,
    "header_right": {**_HEADER, "align": "right"},
    "count": {"num_format": COUNT_FORMAT},
    # a cohort or a year: a plain integer (2022, never "2,022")
    "year": {"num_format": "0", "align": "left"},
    "wrap_top": {"text_wrap": True, "valign": "top"},
    "text_top": {"valign": "top"},
    "year_top": {"num_format": "0", "align": "left", "valign": "top"},
    # a finding's figures, level with the first line of its wrapped message (and a
    # Summary row's cells, level with the first line of its wrapped note)
    "money_top": {"num_format": MONEY_FORMAT, "valign": "top"},
    "count_top": {"num_format": COUNT_FORMAT, "valign": "top"},
    "date_top": {"num_format": DATE_FORMAT, "align": "left", "valign": "top"},
    "link_top": {"font_color": "#0563C1", "underline": 1, "valign": "top"},
    "status_top": {"bold": True, "align": "left", "indent": 1, "valign": "top"},
    "count_bold": {"num_format": COUNT_FORMAT, "bold": True},
    "count_total": {"num_format": COUNT_FORMAT, **_TOTAL},
    "money": {"num_format": MONEY_FORMAT},
    "money_bold": {"num_format": MONEY_FORMAT, "bold": True},
    "money_total": {"num_format": MONEY_FORMAT, **_TOTAL},
    # a fee per declaration keeps the exact pennies-and-fractions visible
    "fee": {"num_format": "£#,##0.00##;-£#,##0.00##"},
    "date": {"num_format": DATE_FORMAT, "align": "left"},
    "datetime": {"num_format": DATETIME_FORMAT, "align": "left"},
    "link": {"font_color": "#0563C1", "underline": 1},
    "text_total": {**_TOTAL},
    # statement sheets (DfE's layout): a column group's title, a table's rows
    "group": {"bold": True, "align": "center", "bg_color": "#D9E1F2", "top": 1, "bottom": 1},
    "indent": {"indent": 1},
    "note_wrap": {"italic": True, "font_color": "#595959", "text_wrap": True,
                  "valign": "top"},
    # conditional-format styles (applied by ConditionalFormat, not to cells)
    "cf_bad": {"bg_color": "#FFC7CE", "font_color": "#9C0006"},
    "cf_warn": {"bg_color": "#FFEB9C", "font_color": "#9C5700"},
    "cf_good": {"bg_color": "#C6EFCE", "font_color": "#006100"},
}

# --------------------------------------------------------------------------- cells


class Text(NamedTuple):
    """Text, always written as text (never turned into a formula, number or link)."""

    value: str
    style: str = "text"


class Number(NamedTuple):
    """A count or other plain number (``int`` or ``Decimal``)."""

    value: int | Decimal
    style: str = "count"


class Money(NamedTuple):
    """An amount in pounds (``Decimal``), shown with the £ format."""

    value: Decimal
    style: str = "money"


class Date(NamedTuple):
    """A date or moment, written as a spreadsheet date."""

    value: dt.date | dt.datetime
    style: str = "date"


class Formula(NamedTuple):
    """A live formula (without the leading ``=``) and the value Python computed for it."""

    formula: str
    value: Decimal | int | str | bool | None
    style: str = "money"


class Link(NamedTuple):
    """A link to a place in the same workbook (sheet and cell)."""

    text: str
    sheet: str
    cell: str = "A1"
    style: str = "link"


class Blank(NamedTuple):
    """An empty cell that still carries a style (a border, a fill)."""

    style: str = "text"


Cell = Text | Number | Money | Date | Formula | Link | Blank
CELL_TYPES = (Text, Number, Money, Date, Formula, Link, Blank)
#: what a streamed row may hold instead of a cell (RowStream): text, money, a count, a date
Plain = str | Decimal | int | dt.date
#: a row: cells (None: an empty cell), or in a streamed sheet plain values too
Row = tuple[Cell | Plain | None, ...]


def cell_value(cell: Cell | None) -> object:
    """The value a cell shows (a formula's computed value), for tests and dumps."""
    if cell is None or isinstance(cell, Blank):
        return None
    if isinstance(cell, Link):
        return cell.text
    return cell.value


# --------------------------------------------------------------------------- sheet parts


class RowStream(NamedTuple):
    """Rows produced on demand (each call of ``produce`` starts again from the top).

    ``count`` is the number of rows it will produce, when known beforehand.

    For speed at a million rows, a row may hold *plain values* instead of cells
    (in any sheet; a streamed sheet can give their styles): ``str`` (text), ``Decimal`` (money), ``int`` (a count), ``datetime`` /
    ``date``; ``None`` leaves the cell empty. A plain value takes its column's
    style from ``styles`` (else the kind's default: text, money, count, date).
    Cells (e.g. a header row) may be mixed in.
    """

    produce: Callable[[], Iterator[Row]]
    #: the number of rows (tuple.count is never called on a stream)
    count: int | None = None  # type: ignore[assignment]  # tuple.count is never called
    styles: tuple[str | None, ...] = ()

    def cell(self, col: int, value: Cell | Plain | None) -> Cell | None:
        """The cell a plain value stands for in column ``col`` (for tests and dumps)."""
        if value is None or isinstance(value, CELL_TYPES):
            return value
        style = self.styles[col] if col < len(self.styles) else None
        if isinstance(value, str):
            return Text(value, style or "text")
        if isinstance(value, Decimal):
            return Money(value, style or "money")
        if isinstance(value, bool):
            raise TypeError(f"a bool is not a cell value: write 'yes'/'no' ({value!r})")
        if isinstance(value, int):
            return Number(value, style or "count")
        if isinstance(value, dt.datetime):
            return Date(value, style or "datetime")
        if isinstance(value, dt.date):
            return Date(value, style or "date")
        raise TypeError(f"not a cell value: {value!r}")


class AutoFilter(NamedTuple):
    """Filter buttons on ``first_row`` over columns ``first_col..last_col``.

    ``last_row`` None means "down to the last row written".
    """

    first_row: int
    first_col: int
    last_col: int
    last_row: int | None = None


class ConditionalFormat(NamedTuple):
    """A conditional format over a range, in XlsxWriter's vocabulary.

    ``kind`` ``cell`` compares each cell (``criteria`` like ``!=``, ``>``, ``==``,
    ``between``... with ``value``); ``formula`` applies a formula written for the
    top-left cell (``criteria`` like ``=$J2<>0``); ``text`` matches text
    (``criteria`` ``containing``/``begins with``, ``value`` the text).
    """

    first_row: int
    first_col: int
    last_row: int
    last_col: int
    kind: str
    criteria: str
    style: str
    value: Decimal | int | str | None = None


class Ref(NamedTuple):
    """A range of a sheet, for chart series: sheet name and zero-based corners."""

    sheet: str
    first_row: int
    first_col: int
    last_row: int
    last_col: int

    def formula(self) -> str:
        return (f"{quote_sheet(self.sheet)}!{cell_ref(self.first_row, self.first_col, True)}:"
                f"{cell_ref(self.last_row, self.last_col, True)}")


class Series(NamedTuple):
    name: str
    categories: Ref
    values: Ref
    color: str | None = None


class Chart(NamedTuple):
    """A chart placed with its top-left corner at ``anchor`` (row, col)."""

    kind: str  # column | bar | line
    title: str
    series: tuple[Series, ...]
    anchor: tuple[int, int]
    x_title: str = ""
    y_title: str = ""
    number_format: str = MONEY_FORMAT
    width: int = 720
    height: int = 360


class Sheet(NamedTuple):
    """One worksheet: its rows and how it is shown.

    ``widths`` are column widths from column A (None keeps the default);
    ``freeze`` is (rows, columns) kept in view when scrolling.
    """

    name: str
    rows: tuple[Row, ...] | RowStream
    widths: tuple[float | None, ...] = ()
    freeze: tuple[int, int] | None = None
    autofilter: AutoFilter | None = None
    conditional_formats: tuple[ConditionalFormat, ...] = ()
    charts: tuple[Chart, ...] = ()
    landscape: bool = False
    fit_to_width: bool = False
    tab_color: str | None = None
    hide_gridlines: bool = False
    #: (row, height in points) for rows that need more than one line (wrapped headers)
    heights: tuple[tuple[int, float], ...] = ()
    #: printing: rows (first, last) repeated at the top of every printed page
    repeat_rows: tuple[int, int] | None = None
    #: printing: a new page starts at each of these rows
    page_breaks: tuple[int, ...] = ()
    #: printing: the part printed (first row, first col, last row, last col); None: all
    print_area: tuple[int, int, int, int] | None = None
    #: cells merged into one: (first row, first col, last row, last col); the first
    #: cell holds the value, the others are written as Blank cells of the same style
    merges: tuple[tuple[int, int, int, int], ...] = ()

    def iter_rows(self) -> Iterator[Row]:
        """The rows as produced (a streamed row may hold plain values)."""
        if isinstance(self.rows, RowStream):
            return iter(self.rows.produce())
        return iter(self.rows)

    def iter_cells(self) -> Iterator[tuple[Cell | None, ...]]:
        """The rows with every plain value made a cell (its column's or kind's style)."""
        stream = self.rows if isinstance(self.rows, RowStream) else RowStream(lambda: iter(()))
        for row in self.iter_rows():
            yield tuple(stream.cell(c, v) for c, v in enumerate(row))

    @property
    def streamed(self) -> bool:
        return isinstance(self.rows, RowStream)

    def cell(self, row: int, col: int) -> Cell | Plain | None:
        """The cell (or plain value) at zero-based (row, col) of an in-memory sheet."""
        rows = self.rows
        if isinstance(rows, RowStream):
            raise TypeError(f"sheet {self.name!r} is streamed; iterate iter_rows()")
        if row >= len(rows) or col >= len(rows[row]):
            return None
        return rows[row][col]

    def values(self) -> list[list[object]]:
        """Every row's shown values (formulas as their computed value), for tests."""
        return [[cell_value(c) for c in row] for row in self.iter_cells()]


#: Document date written into every workbook: a constant, so that the same
#: inputs always give the same bytes (XlsxWriter would otherwise stamp "now").
FIXED_CREATED = dt.datetime(2000, 1, 1, 0, 0, 0)


class Workbook(NamedTuple):
    """The whole workbook: sheets in order, and document properties."""

    sheets: tuple[Sheet, ...]
    title: str = ""
    subject: str = ""
    comments: str = ""
    created: dt.datetime = FIXED_CREATED
    active: str | None = None  # name of the sheet shown on opening
    #: printed at the right of every page's footer (the sheet's name and the page
    #: number are at its left and centre), e.g. "Run of 2026-10-10"
    footer: str = ""

    def sheet(self, name: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.name == name:
                return sheet
        raise KeyError(f"no sheet named {name!r}; sheets: {[s.name for s in self.sheets]}")

    @property
    def sheet_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.sheets)


# --------------------------------------------------------------------------- addresses


def printable(sheet: Sheet, header_row: int | None = None) -> Sheet:
    """``sheet`` set up to print well on A4 (what every sheet of a workbook gets).

    Fitted to one page wide; landscape when its columns are wider than a portrait page;
    the table's header row (``header_row``, else the last frozen row) repeated at the
    top of every page. Settings the sheet already has are kept.
    """
    width = sum(w if w is not None else 8.43 for w in sheet.widths)
    repeat = sheet.repeat_rows
    if repeat is None:
        row = header_row if header_row is not None else (
            sheet.freeze[0] - 1 if sheet.freeze and sheet.freeze[0] > 0 else None)
        repeat = (row, row) if row is not None else None
    return sheet._replace(fit_to_width=True, landscape=sheet.landscape or width > PORTRAIT_WIDTH,
                          repeat_rows=repeat)


def top_aligned(cell: Any) -> Any:
    """``cell`` aligned to the top of a row made tall by wrapped text beside it (its
    style's ``_top`` twin, when there is one)."""
    style = getattr(cell, "style", None)
    if style is None or style.endswith("_top") or f"{style}_top" not in STYLES:
        return cell
    return cell._replace(style=f"{style}_top")


def wrapped_height(texts_and_widths: Iterable[tuple[str | None, float]],
                   line_points: float = 15.0) -> float | None:
    """The height (points) of a row whose wrapped texts have the given column widths, or
    None for one line. Spreadsheets do not fit a row to wrapped text written by a
    program (LibreOffice and Excel keep the default height until the row is edited),
    so rows with long wrapped text are given their height: a unit of column width is
    the width of a digit, and text averages about 1.2 characters to it (Calibri 11 in
    Excel; LibreOffice's substitutes fit more), less two for words not split."""
    lines = 1
    for text, width in texts_and_widths:
        if not text:
            continue
        per_line = max(1, int(width * 1.2) - 2)
        n = sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))
        lines = max(lines, n)
    return line_points * lines if lines > 1 else None


#: how many characters of column width an A4 portrait page holds at 100%
PORTRAIT_WIDTH = 100


def column_letter(col: int) -> str:
    """Zero-based column index to letters: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row: int, col: int, absolute: bool = False) -> str:
    """Zero-based (row, col) to A1 notation (``$A$1`` when absolute)."""
    if absolute:
        return f"${column_letter(col)}${row + 1}"
    return f"{column_letter(col)}{row + 1}"



def quote_sheet(name: str) -> str:
    """A sheet name as a formula reference prefix needs it: ``'May 2024'``."""
    return "'" + name.replace("'", "''") + "'"


def sheet_cell(sheet: str, row: int, col: int) -> str:
    """A reference to a cell of another sheet: ``'May 2024'!C7``."""
    return f"{quote_sheet(sheet)}!{cell_ref(row, col)}"


def sum_formula(col: int, first_row: int, last_row: int) -> str:
    """``SUM`` of a column over zero-based rows ``first_row..last_row`` (0 when empty)."""
    if last_row < first_row:
        return "0"
    return f"SUM({cell_ref(first_row, col)}:{cell_ref(last_row, col)})"


# --------------------------------------------------------------------------- sheet names

MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_RESERVED = {"history"}


def safe_sheet_name(wanted: str, taken: Iterable[str] = ()) -> str:
    """A valid sheet name close to ``wanted``, unique (case-insensitively) among ``taken``.

    Excel forbids ``[ ] : * ? / \\``, a leading or trailing apostrophe, the name
    "History" and more than 31 characters. Only printable characters are kept
    (control and format characters, lone surrogates and line breaks go; other
    spaces become plain spaces), so a name built from input text is always valid.

    >>> safe_sheet_name("Teach: First / May 2024")
    'Teach- First - May 2024'
    >>> safe_sheet_name("Summary", ["summary"])
    'Summary (2)'
    >>> safe_sheet_name("May\\x00 2024\\u202e\\ud800")
    'May 2024'
    """
    printable = "".join(c if c.isprintable() else " " if c.isspace() else ""
                        for c in wanted)
    name = " ".join(_BAD_SHEET_CHARS.sub("-", printable).split()).strip("'").strip() or "Sheet"
    if name.lower() in _RESERVED:
        name = f"{name} (sheet)"
    name = _truncate(name, MAX_SHEET_NAME)
    used = {t.lower() for t in taken}
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        suffix = f" ({n})"
        candidate = _truncate(name, MAX_SHEET_NAME - len(suffix)) + suffix
    return candidate


def _truncate(name: str, limit: int) -> str:
    """At most ``limit`` UTF-16 units (Excel's measure), no trailing space or apostrophe."""
    while len(name.encode("utf-16-le")) // 2 > limit:
        name = name[:-1]
    return name.rstrip().rstrip("'").rstrip() or "Sheet"
