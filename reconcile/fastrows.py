"""The fast row writer: a sheet's rows as the XML XlsxWriter writes, a string join a row.

Stage: write. In: one sheet being written (:class:`reconcile.write.SheetContext`: its
parts' XlsxWriter worksheets, layout and formats) and a :class:`reconcile.xlsxzip.Packer`.
Out: the rows' XML, deflated by the packer as it is made, and each part's dimension;
:mod:`reconcile.write` splices the rows into XlsxWriter's own XML for the sheet.

Why: through the cell API XlsxWriter spends about 10 µs a cell (bounds checks, a cell
tuple in a dict, attribute escaping, 30 regular expressions per formula, a file write
per cell): over three minutes for a million 22-column declarations, and 3.4 s of a
100,000-declaration run's 16 s for its ~870 small statement sheets (measured: the
statement sheets through the API made the write stage 6.6 s -> 10.1 s). This writes
the *same* bytes.

Which sheets (:func:`reconcile.write.fast_rows_for`): every sheet laid out in one
column block (not continued by columns) and without links: the streamed Declarations
and Findings sheets (up to a million rows) and the statement sheets. XlsxWriter's cell
API writes the others (the Summary and Providers sheets, with their links; a sheet
wider than Excel's columns; the long-text sheets), and every sheet when
``write_workbook(..., fast_rows=False)``.

It leans on XlsxWriter internals, all of them here and nowhere else in the tool:

* ``Format._get_xf_index()`` numbers a format (:func:`xf_index`);
* ``Worksheet._prepare_formula()`` rewrites newer functions (``_xlfn.`` prefixes);
* ``XMLwriter._escape_control_characters()`` escapes control characters as ``_xHHHH_``;
* ``xlsxwriter.worksheet.re_dynamic_function`` spots dynamic-array functions;
* ``Worksheet.merge``, the list ``merge_range`` keeps, takes the merged ranges of a
  sheet whose cells are written already (:func:`record_merge`: either writer's sheets);
* ``Worksheet.constant_memory`` says rows are flushed in order (:func:`flushes_rows`);

and on XlsxWriter's ``constant_memory`` XML being what it is (inline strings, no spans).
So XlsxWriter is pinned to one exact version in ``setup.cfg``, and the tests prove the
bytes equal: tests/report/test_write.py and test_golden.py compare this writer's
workbooks part by part with XlsxWriter's own for the version installed (every cell
kind, formulas, escapes, continuation sheets); tests/report/test_fastrows.py checks the
pin is the version installed and runs the same comparisons against the newest
XlsxWriter on PyPI (tests/report/newest_xlsxwriter.py), so a release that breaks this
module is known before the pin is raised.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import re_dynamic_function
from xlsxwriter.xmlwriter import XMLwriter

from reconcile import continuation, xlsxzip
from reconcile.sheets import Blank, Date, Formula, Money, Number, RowStream, Text, cell_ref
from reconcile.textsafe import clean

if TYPE_CHECKING:
    from reconcile.write import SheetContext

__all__ = ["flushes_rows", "record_merge", "stream_rows", "xf_index"]


def xf_index(fmt: Format) -> int:
    """The number XlsxWriter gives ``fmt`` in styles.xml (given now if it has none yet)."""
    index: int = fmt._get_xf_index()
    return index


def record_merge(worksheet: Any, merge: tuple[int, int, int, int]) -> None:
    """A merged range (first row, first column, last row, last column) on a sheet whose
    cells are written already: ``merge_range`` would write its first cell again (and
    ``constant_memory`` writes rows in order), so only the range is recorded, in the
    list ``merge_range`` keeps."""
    worksheet.merge.append(list(merge))


def flushes_rows(worksheet: Any) -> bool:
    """Whether ``worksheet`` writes its rows out in order (``constant_memory``)."""
    return bool(worksheet.constant_memory)


_NEEDS_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
# what a text may need: escaping, or cleaning (lone surrogates); a character class is
# three times faster than the pattern above
_ESCAPED_CHARACTER = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff\ud800-\udfff]")
_ROWS_PER_WRITE = 512


def _text_xml(text: str) -> str:
    """The ``<is>`` content of an inline string (already fitted), escaped as XlsxWriter does
    once the characters XML cannot hold are replaced (:func:`reconcile.textsafe.clean`)."""
    text = clean(text)
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


def _formula_xml(ws: Any, ref: str, style_attr: str, formula: str, value: Any) -> str:
    """A formula cell as XlsxWriter writes it (``write_formula`` then ``_write_cell``);
    ``value``: its cached result as the cell API is given it (``SheetContext.cached``)."""
    if (formula.startswith(("=", "{")) or "_xlfn." in formula
            or not _PLAIN_FUNCTIONS.issuperset(_FUNCTION_CALL.findall(formula))):
        if formula.startswith("{") or re_dynamic_function.search(formula):
            raise TypeError(f"{ref}: array formulas are not supported: {formula!r}")
        formula = ws._prepare_formula(formula)
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
    elif isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    delta = value - _EPOCH
    serial = delta.days + (delta.seconds + delta.microseconds / 1E6) / 86400
    return serial + 1 if serial > 59 else serial


def stream_rows(ctx: SheetContext, packer: xlsxzip.Packer) -> dict[str, str | None]:
    """A sheet's rows rendered as XML and deflated as they come (:class:`xlsxzip.Packer`);
    returns each part's dimension (the cells' range, as XlsxWriter would say it; None:
    no cell).

    The same XML as XlsxWriter's ``constant_memory`` mode writes (see the module doc),
    a row per string join. Every cell kind but links. Rows past Excel's limit go to the
    continuation parts (one column block: wider sheets take the cell API).
    """
    sheet, layout, formats = ctx.sheet, ctx.layout, ctx.formats
    xf: dict[str, str] = {}

    def style(name: str) -> str:
        attr = xf.get(name)
        if attr is None:
            attr = xf[name] = f' s="{xf_index(formats[name])}"'
        return attr

    defaults = {str: "text", Decimal: "money", int: "count", dt.datetime: "datetime",
                dt.date: "date"}
    column_styles = list(sheet.rows.styles) if isinstance(sheet.rows, RowStream) else []
    letters: list[str] = []
    raw_styles: list[dict[type, str]] = []  # per column: python type -> ' s="n"'

    def raw_style(c: int, kind: type) -> str:
        # made on first use, so formats are numbered in the order XlsxWriter would
        named = column_styles[c] if c < len(column_styles) else None
        attr = raw_styles[c][kind] = style(named or defaults[kind])
        return attr

    heights = dict(sheet.heights)
    maybe_escape = _ESCAPED_CHARACTER.search
    limit = continuation.MAX_TEXT // 2
    fit = ctx.fit
    parts: list[str] = []
    append = parts.append
    part = 0
    names = layout.parts
    packer.begin(names[0])
    write = packer.write
    dimensions: dict[str, str | None] = {}
    # the sheet's bounds per part, as XlsxWriter keeps them from the cells written
    bounds: list[list[Any]] = [[None, -1, None, -1] for _ in ctx.worksheets]
    note = layout.note if layout.split else None
    note_row = ctx.note_row

    def render(row: tuple[Any, ...], r: int, local: int) -> None:
        """Logical row ``r`` as local row ``local`` of the current part."""
        n = local + 1
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
                text = value.value
                if len(text) > limit:
                    text = fit(text, part, local, c)
                append(f'<c r="{letters[c]}{n}"{style(value.style)} t="inlineStr"><is>'
                       f"{_text_xml(text)}</is></c>")
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
                append(_formula_xml(ctx.worksheets[part], f"{letters[c]}{n}",
                                    style(value.style), ctx.formula(value.formula, part),
                                    ctx.cached(value.value)))
                continue
            else:
                raise TypeError(f"sheet {sheet.name!r} row {r + 1} column {c + 1}: "
                                f"{kind.__name__} cannot be streamed: {value!r}")
            # text
            if len(value) > limit:
                value = fit(value, part, local, c)
                append(f'<c r="{letters[c]}{n}"{st} t="inlineStr"><is>{_text_xml(value)}'
                       f"</is></c>")
            elif not plain or not value or value[0].isspace() or value[-1].isspace():
                append(f'<c r="{letters[c]}{n}"{st} t="inlineStr"><is>{_text_xml(value)}'
                       f"</is></c>")
            else:
                append(f'<c r="{letters[c]}{n}"{st} t="inlineStr"><is><t>{value}</t></is></c>')
        hi = width - 1
        if note is not None and local == note_row and width < layout.max_cols:
            # beside the header: what this part holds, where the sheet continues
            if width >= len(letters):
                letters.append(xl_col_to_name(width))
                raw_styles.append({})
            append(f'<c r="{letters[width]}{n}"{style("note")} t="inlineStr"><is>'
                   f"{_text_xml(note(part))}</is></c>")
            hi = width
        if len(parts) == start + 1:
            # no cell: XlsxWriter writes no row (or an empty one carrying a height)
            parts.pop()
            if height is not None:
                append(f'<row r="{n}" ht="{height:.16g}" customHeight="1"/>')
            return
        box = bounds[part]
        if box[0] is None:
            box[0] = local
        box[1] = local
        lo = 0
        while lo < width and row[lo] is None:
            lo += 1
        if hi == width - 1:
            while row[hi] is None:
                hi -= 1
        if box[2] is None or lo < box[2]:
            box[2] = lo
        box[3] = max(box[3], hi)
        append("</row>")

    def finish(part: int) -> None:
        write("".join(parts))
        parts.clear()
        packer.end(names[part])
        first_row, last_row, first_col, last_col = bounds[part]
        if first_row is None:
            dimensions[names[part]] = None  # XlsxWriter's own (no cell) stands
            return
        dimensions[names[part]] = (cell_ref(first_row, first_col)
                                   if (first_row, first_col) == (last_row, last_col) else
                                   f"{cell_ref(first_row, first_col)}:"
                                   f"{cell_ref(last_row, last_col)}")
        ctx.last_rows[part] = last_row

    header_rows: list[tuple[Any, ...]] = []
    header = layout.header
    next_break = ctx.next_break(0) if layout.row_blocks > 1 else layout.max_rows
    offset = 0
    for r, row in enumerate(sheet.iter_rows()):
        if r >= next_break:
            finish(part)
            part += 1
            if part >= len(ctx.worksheets):
                raise ctx.overflow(r)
            packer.begin(names[part])
            next_break += layout.rows_per
            offset += layout.rows_per
            for h, head in enumerate(header_rows):
                render(head, h, h)
        if r < header:
            header_rows.append(row)
            render(row, r, r)
        else:
            render(row, r, r - offset)
        if r % _ROWS_PER_WRITE == 0:
            write("".join(parts))
            parts.clear()
    finish(part)
    return dimensions
