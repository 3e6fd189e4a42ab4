"""Render a :class:`reconcile.sheets.Workbook` value to ``.xlsx`` (the only xlsxwriter user).

Stage: write (last). In: a workbook value built by :mod:`reconcile.report` (or by
the split/remittance/template builders) and a path (the pipeline passes a
temporary path and renames it, :mod:`reconcile.outputs`). Out: the file.

What every workbook gets here, whoever built it:

* text from inputs is written as text: ``strings_to_formulas``,
  ``strings_to_urls`` and ``strings_to_numbers`` are off and :class:`Text` cells
  go through ``write_string``, so a provider's ``=cmd|...`` stays inert text;
* formulas carry the value Python computed as their cached result;
* deterministic bytes: the document date is the value's fixed ``created`` date
  (XlsxWriter already stamps zip members with a fixed time), so the same value
  always gives the same file;
* bounded memory: ``constant_memory`` mode flushes each row as it is written, so
  a million-row Declarations sheet streams from its :class:`RowStream`.

Example::

    from reconcile.sheets import Workbook, Sheet, Text, Money
    write_workbook(Workbook((Sheet("S", ((Text("Fee"), Money(Decimal("1.20"))),)),)),
                   Path("out.xlsx"))
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import re_dynamic_function
from xlsxwriter.xmlwriter import XMLwriter

from reconcile import __version__
from reconcile.sheets import (
    CELL_TYPES,
    STYLES,
    Blank,
    Date,
    Formula,
    Link,
    Money,
    Number,
    RowStream,
    Sheet,
    Text,
    Workbook,
)

#: write streamed sheets with :func:`_stream_rows` (tests turn it off to compare)
STREAM_FAST = True

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": True,
    # dates are written as dates, without timezone (Excel has none)
    "remove_timezone": True,
}


def write_workbook(book: Workbook, path: Path | str) -> None:
    """Write ``book`` to ``path`` (overwriting it)."""
    workbook = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    try:
        workbook.set_properties({
            "title": book.title,
            "subject": book.subject,
            "comments": book.comments,
            "author": "reconcile",
            "company": "",
            "created": book.created,
        })
        workbook.set_custom_property("reconcile version", __version__)
        formats = _Formats(workbook)
        worksheets = {}
        for sheet in book.sheets:
            worksheets[sheet.name] = _write_sheet(workbook, sheet, formats)
        for sheet in book.sheets:
            for chart in sheet.charts:
                _insert_chart(workbook, worksheets[sheet.name], chart)
        if book.active and book.active in worksheets:
            worksheets[book.active].activate()
    finally:
        workbook.close()


class _Formats:
    """One xlsxwriter Format per style name, made on first use (in a stable order)."""

    def __init__(self, workbook) -> None:
        self._workbook = workbook
        self._made: dict[str, object] = {}

    def __getitem__(self, name: str):
        fmt = self._made.get(name)
        if fmt is None:
            try:
                properties = STYLES[name]
            except KeyError:
                raise KeyError(f"unknown style {name!r}; styles: {sorted(STYLES)}") from None
            fmt = self._made[name] = self._workbook.add_format(dict(properties))
        return fmt


def _write_sheet(workbook, sheet: Sheet, formats: _Formats):
    ws = workbook.add_worksheet(sheet.name)
    for col, width in enumerate(sheet.widths):
        if width is not None:
            ws.set_column(col, col, width)
    if sheet.freeze:
        ws.freeze_panes(*sheet.freeze)
    if sheet.landscape:
        ws.set_landscape()
    if sheet.fit_to_width:
        ws.fit_to_pages(1, 0)
    if sheet.tab_color:
        ws.set_tab_color(sheet.tab_color)
    if sheet.hide_gridlines:
        ws.hide_gridlines(2)
    ws.set_paper(9)  # A4: the statements are British
    if ws.constant_memory and STREAM_FAST and (sheet.streamed or not _has_links(sheet)):
        last_row = _stream_rows(ws, sheet, formats)
    else:
        for row, height in sorted(sheet.heights):  # before the rows: constant_memory
            ws.set_row(row, height)
        last_row = _write_rows(ws, sheet, formats)

    if sheet.autofilter is not None and last_row >= sheet.autofilter.first_row:
        af = sheet.autofilter
        bottom = af.last_row if af.last_row is not None else max(last_row, af.first_row)
        ws.autofilter(af.first_row, af.first_col, bottom, af.last_col)
    for cf in sheet.conditional_formats:
        options = {"type": cf.kind, "format": formats[cf.style]}
        if cf.kind == "formula":
            options["criteria"] = cf.criteria
        elif cf.kind == "text":
            options["criteria"] = cf.criteria
            options["value"] = cf.value
        else:
            options["criteria"] = cf.criteria
            options["value"] = cf.value
        ws.conditional_format(cf.first_row, cf.first_col, cf.last_row, cf.last_col, options)
    return ws


def _write_rows(ws, sheet: Sheet, formats: _Formats) -> int:
    """Every row in order (constant_memory needs row order); returns the last row index."""
    fmt_cache: dict[str, object] = {}

    def fmt(name: str):
        f = fmt_cache.get(name)
        if f is None:
            f = fmt_cache[name] = formats[name]
        return f

    write_string, write_number = ws.write_string, ws.write_number
    write_formula, write_datetime, write_blank = ws.write_formula, ws.write_datetime, ws.write_blank
    stream = sheet.rows if sheet.streamed else RowStream(lambda: iter(()))
    last_row = -1
    for r, row in enumerate(sheet.iter_rows()):
        for c, cell in enumerate(row):
            if cell is None:
                continue
            last_row = r
            kind = type(cell)
            if kind not in CELL_TYPES:
                try:
                    cell = stream.cell(c, cell)
                except TypeError as error:
                    raise TypeError(f"sheet {sheet.name!r} row {r + 1} column {c + 1}: "
                                    f"{error}") from None
                kind = type(cell)
            if kind is Text:
                write_string(r, c, cell.value, fmt(cell.style))
            elif kind is Money or kind is Number:
                # xlsxwriter formats the Decimal itself (f"{n:.16G}"): exact text
                write_number(r, c, cell.value, fmt(cell.style))
            elif kind is Formula:
                write_formula(r, c, cell.formula, fmt(cell.style), _cached(cell.value))
            elif kind is Date:
                value = cell.value
                if not isinstance(value, dt.datetime):
                    value = dt.datetime(value.year, value.month, value.day)
                write_datetime(r, c, value, fmt(cell.style))
            elif kind is Link:
                ws.write_url(r, c, f"internal:'{cell.sheet.replace(chr(39), chr(39) * 2)}'!"
                             f"{cell.cell}", fmt(cell.style), cell.text)
            elif kind is Blank:
                write_blank(r, c, None, fmt(cell.style))
            else:
                raise TypeError(f"sheet {sheet.name!r} row {r + 1} column {c + 1}: "
                                f"not a cell: {cell!r}")
    return last_row


# --------------------------------------------------------------------------- fast rows

_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_ESCAPED_CHARACTER = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]")  # 3x faster
_STRING_MAX = 32767
_ROWS_PER_WRITE = 512


def _text_xml(text: str) -> str:
    """The ``<is>`` content of an inline string, escaped as XlsxWriter escapes it."""
    if len(text) > _STRING_MAX // 2:
        encoded = text.encode("utf-16-le")
        if len(encoded) // 2 > _STRING_MAX:
            text = encoded[:_STRING_MAX * 2].decode("utf-16-le", "ignore")
    if _NEEDS_ESCAPE.search(text):
        text = XMLwriter._escape_control_characters(
            text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
    if text and (text[0].isspace() or text[-1].isspace()):
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


# Functions XlsxWriter leaves as written (no _xlfn. prefix, no dynamic array).
_PLAIN_FUNCTIONS = frozenset({
    "SUM", "AND", "OR", "NOT", "IF", "IFERROR", "ISNUMBER", "ISBLANK", "LEN", "ROUND",
    "ABS", "MIN", "MAX", "COUNT", "COUNTA", "COUNTIF", "SUMIF", "SUMPRODUCT", "AVERAGE"})
_FUNCTION_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9._]*)\(")
_FORMULA_ERRORS = ("#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!")


def _has_links(sheet: Sheet) -> bool:
    return any(type(cell) is Link for row in sheet.rows for cell in row)


def _formula_xml(ws, ref: str, style_attr: str, cell: Formula) -> str:
    """A formula cell as XlsxWriter writes it (``write_formula`` then ``_write_cell``)."""
    formula = cell.formula
    if (formula.startswith(("=", "{")) or "_xlfn." in formula
            or not _PLAIN_FUNCTIONS.issuperset(_FUNCTION_CALL.findall(formula))):
        if formula.startswith("{") or re_dynamic_function.search(formula):
            raise TypeError(f"{ref}: array formulas are not supported: {formula!r}")
        formula = ws._prepare_formula(formula)
    value = _cached(cell.value)
    attr = ""
    if isinstance(value, bool):
        attr, value = ' t="b"', 1 if value else 0
    elif isinstance(value, str):
        if value in _FORMULA_ERRORS:
            attr = ' t="e"'
        elif value:
            attr = ' t="str"'
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    formula = formula.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}"{style_attr}{attr}><f>{formula}</f><v>{value}</v></c>'


_EPOCH = dt.datetime(1899, 12, 31)


def _excel_serial(value: dt.date | dt.datetime) -> int | float:  # a day number, not money
    """Excel's serial day number, computed exactly as XlsxWriter computes it (the
    1900 leap-year bug included, time zone dropped), without its per-call checks."""
    if type(value) is dt.date:
        value = dt.datetime(value.year, value.month, value.day)
    elif value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    delta = value - _EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1E6) / 86400
    return serial + 1 if serial > 59 else serial


def _stream_rows(ws, sheet: Sheet, formats: _Formats) -> int:
    """A sheet's rows written as XML straight into XlsxWriter's row file.

    Why: through the cell API XlsxWriter spends about 10 µs a cell (bounds checks,
    a cell tuple in a dict, attribute escaping, 30 regular expressions per formula,
    one file write per cell): over three minutes for a million 22-column
    declarations. This writes the *same* XML that XlsxWriter's ``constant_memory``
    mode writes (inline strings, no spans; proven byte-equal by
    tests/report/test_write.py and test_golden.py), a row per string join. It relies
    on XlsxWriter internals present since 1.x: in ``constant_memory`` mode ``ws.fh``
    is the row-data file, ``dim_*`` bound the sheet, ``Format._get_xf_index()``
    numbers a format, ``_prepare_formula`` rewrites newer functions. Every cell kind
    but links (a sheet with links goes through the API).
    """
    xf: dict[str, str] = {}

    def style(name: str) -> str:
        attr = xf.get(name)
        if attr is None:
            attr = xf[name] = f' s="{formats[name]._get_xf_index()}"'
        return attr

    defaults = {str: "text", Decimal: "money", int: "count", dt.datetime: "datetime",
                dt.date: "date"}
    column_styles = list(sheet.rows.styles) if sheet.streamed else []
    letters: list[str] = []
    raw_styles: list[dict] = []  # per column: python type -> ' s="n"'

    def raw_style(c: int, kind: type) -> str:
        # made on first use, so formats are numbered in the order XlsxWriter would
        named = column_styles[c] if c < len(column_styles) else None
        attr = raw_styles[c][kind] = style(named or defaults[kind])
        return attr

    heights = dict(sheet.heights)
    maybe_escape = _ESCAPED_CHARACTER.search
    fh = ws.fh
    parts: list[str] = []
    append = parts.append
    first_row, last_row, first_col, last_col = None, -1, None, -1
    for r, row in enumerate(sheet.iter_rows()):
        n = r + 1
        height = heights.get(r)
        start = len(parts)
        append(f'<row r="{n}">' if height is None else
               f'<row r="{n}" ht="{height:.16g}" customHeight="1">')
        width = len(row)
        while width > len(letters):
            letters.append(xl_col_to_name(len(letters)))
            raw_styles.append({})
        # one check for the whole row's text (tab is not escaped, so it joins); a row
        # that may need escaping has each of its texts checked exactly (_text_xml)
        joined = "\t".join([v for v in row if type(v) is str])
        plain = not (maybe_escape(joined) or "_x" in joined)
        for c, value in enumerate(row):
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                st = raw_styles[c].get(str) or raw_style(c, str)
            elif kind is Text:
                append(f'<c r="{letters[c]}{n}"{style(value.style)} t="inlineStr"><is>'
                       f"{_text_xml(value.value)}</is></c>")
                continue
            elif kind is Decimal or kind is int:
                st = raw_styles[c].get(kind) or raw_style(c, kind)
                append(f'<c r="{letters[c]}{n}"{st}><v>{value:.16G}</v></c>')
                continue
            elif kind is Money or kind is Number:
                append(f'<c r="{letters[c]}{n}"{style(value.style)}><v>{value.value:.16G}</v></c>')
                continue
            elif kind is dt.datetime or kind is dt.date or kind is Date:
                if kind is Date:
                    st = style(value.style)
                    value = value.value
                else:
                    st = raw_styles[c].get(kind) or raw_style(c, kind)
                append(f'<c r="{letters[c]}{n}"{st}><v>{_excel_serial(value):.16G}</v></c>')
                continue
            elif kind is Blank:
                append(f'<c r="{letters[c]}{n}"{style(value.style)}/>')
                continue
            elif kind is Formula:
                append(_formula_xml(ws, f"{letters[c]}{n}", style(value.style), value))
                continue
            else:
                raise TypeError(f"sheet {sheet.name!r} row {n} column {c + 1}: "
                                f"{kind.__name__} cannot be streamed: {value!r}")
            # text
            if (not plain or not value or value[0].isspace() or value[-1].isspace()
                    or len(value) > _STRING_MAX // 2):
                append(f'<c r="{letters[c]}{n}"{st} t="inlineStr"><is>{_text_xml(value)}'
                       f"</is></c>")
            else:
                append(f'<c r="{letters[c]}{n}"{st} t="inlineStr"><is><t>{value}</t></is></c>')
        if len(parts) == start + 1:
            # no cell: XlsxWriter writes no row (or an empty one carrying a height)
            parts.pop()
            if height is not None:
                append(f'<row r="{n}" ht="{height:.16g}" customHeight="1"/>')
            continue
        # the sheet's bounds, as XlsxWriter keeps them from the cells written
        if first_row is None:
            first_row = r
        last_row = r
        lo = 0
        while row[lo] is None:
            lo += 1
        hi = width - 1
        while row[hi] is None:
            hi -= 1
        if first_col is None or lo < first_col:
            first_col = lo
        last_col = max(last_col, hi)
        append("</row>")
        if r % _ROWS_PER_WRITE == 0:
            fh.write("".join(parts))
            parts.clear()
    fh.write("".join(parts))
    if first_row is not None:
        ws._check_dimensions(first_row, first_col)
        ws._check_dimensions(last_row, last_col)
        # nothing of this sheet is left for XlsxWriter's own row flushing
        ws.previous_row = last_row + 1
    return last_row


def _cached(value):
    """A formula's cached result as xlsxwriter writes it (numbers as exact text)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        # xlsxwriter writes it with str(): make sure that is plain digits, never
        # an exponent ("1E+2"), and never "-0.00" (a text result would be "str")
        return Decimal(format(value, "f")) if value != 0 else 0
    return value


def _insert_chart(workbook, ws, chart) -> None:
    made = workbook.add_chart({"type": chart.kind})
    for series in chart.series:
        options = {
            "name": series.name,
            "categories": [series.categories.sheet, series.categories.first_row,
                           series.categories.first_col, series.categories.last_row,
                           series.categories.last_col],
            "values": [series.values.sheet, series.values.first_row, series.values.first_col,
                       series.values.last_row, series.values.last_col],
        }
        if series.color:
            options["fill"] = {"color": series.color}
            options["line"] = {"color": series.color}
        made.add_series(options)
    made.set_title({"name": chart.title})
    if chart.x_title:
        made.set_x_axis({"name": chart.x_title})
    made.set_y_axis({"name": chart.y_title, "num_format": chart.number_format,
                     "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    made.set_legend({"position": "bottom"})
    made.set_size({"width": chart.width, "height": chart.height})
    ws.insert_chart(xl_rowcol_to_cell(*chart.anchor), made)
