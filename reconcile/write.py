"""Render a :class:`reconcile.sheets.Workbook` value to ``.xlsx`` (the only xlsxwriter user).

Stage: write (last). In: a workbook value built by :mod:`reconcile.report` (or by
the split/remittance/template builders) and a path (the pipeline passes a
temporary path and renames it, :mod:`reconcile.outputs`). Out: the file.

What every workbook gets here, whoever built it:

* text from inputs is written as text: ``strings_to_formulas``,
  ``strings_to_urls`` and ``strings_to_numbers`` are off and :class:`Text` cells
  go through ``write_string``, so a provider's ``=cmd|...`` stays inert text;
* formulas carry the value Python computed as their cached result;
* every text is safe for XML and for its place (:func:`safe_workbook`): characters
  no file can hold (control characters, lone surrogates: :mod:`reconcile.textsafe`)
  become U+FFFD in cells, formulas, links, charts and document properties; sheet
  names keep only printable characters, within Excel's rules and unique
  (:func:`reconcile.sheets.safe_sheet_name`), and formulas, links and charts that
  name a renamed sheet follow it. So a sheet any builder adds is covered, whatever
  text reaches it;
* deterministic bytes: the document date is the value's fixed ``created`` date
  (XlsxWriter already stamps zip members with a fixed time), so the same value
  always gives the same file;
* bounded memory: ``constant_memory`` mode flushes each row as it is written, so
  a million-row Declarations sheet streams from its :class:`RowStream`;
* which writer writes which rows (:func:`fast_rows_for`): the fast row writer
  (:mod:`reconcile.fastrows`, the one module that leans on XlsxWriter internals)
  writes the rows of every sheet in one column block without links: the streamed
  Declarations and Findings sheets and the statement sheets. XlsxWriter's cell API
  writes the rows of the others (sheets with links: Summary, Providers; sheets
  continued by columns; the long-text sheets), and of every sheet when
  ``fast_rows=False`` (the tests compare the two). XlsxWriter writes every other
  part; :mod:`reconcile.xlsxzip` puts the zip together. The bytes are the same
  whichever writer wrote a sheet's rows (tests/report/test_write.py, test_golden.py);
* within Excel's limits: a sheet past 1,048,576 rows or 16,384 columns continues on
  "Name (2)", "Name (3)"... with its header repeated and a note, a text past 32,767
  characters continues on a sheet of its own, and formulas follow the rows they
  refer to (:mod:`reconcile.continuation`).

Example::

    from reconcile.sheets import Workbook, Sheet, Text, Money
    write_workbook(Workbook((Sheet("S", ((Text("Fee"), Money(Decimal("1.20"))),)),)),
                   Path("out.xlsx"))
"""

from __future__ import annotations

import datetime as dt
import html
import re
import tempfile
import zipfile
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from reconcile import __version__, continuation, fastrows, xlsxzip
from reconcile.sheets import (
    CELL_TYPES,
    STYLES,
    Blank,
    Cell,
    Date,
    Formula,
    Link,
    Money,
    Number,
    Plain,
    Ref,
    Row,
    RowStream,
    Series,
    Sheet,
    Text,
    Workbook,
    cell_ref,
    quote_sheet,
    safe_sheet_name,
)
from reconcile.textsafe import clean

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "constant_memory": True,
    # dates are written as dates, without timezone (Excel has none)
    "remove_timezone": True,
}


def write_workbook(book: Workbook, path: Path | str, *, fast_rows: bool = True) -> None:
    """Write ``book`` to ``path`` (overwriting it).

    XlsxWriter writes every part but the rows the fast row writer renders
    (:mod:`reconcile.fastrows`, the sheets :func:`fast_rows_for` picks), which are
    deflated on a second thread as they are made; :mod:`reconcile.xlsxzip` then puts
    the final zip together. ``fast_rows=False``: XlsxWriter alone writes the file (the
    tests compare the two: every part the same).
    """
    book = safe_workbook(book)
    plans = continuation.layouts(_size(sheet) for sheet in book.sheets)
    path = Path(path)
    if not fast_rows:
        _write_with_xlsxwriter(book, path, plans, None)
        return
    packer = xlsxzip.Packer()
    try:
        # XlsxWriter's zip, small without the rendered rows: in the temporary folder,
        # never beside the output
        with tempfile.NamedTemporaryFile(prefix="reconcile-", suffix=".xlsx",
                                         delete=False) as handle:
            parts = Path(handle.name)
        try:
            rendered = _write_with_xlsxwriter(book, parts, plans, packer)
            deflated = packer.finish()
            _assemble(parts, path, rendered, deflated, packer)
        finally:
            parts.unlink(missing_ok=True)
    finally:
        packer.close()


def _write_with_xlsxwriter(book: Workbook, path: Path, plans: dict[str, continuation.Layout],
                           packer: xlsxzip.Packer | None) -> dict[str, str | None]:
    """Every sheet through XlsxWriter (the rendered rows to ``packer``); returns the
    rendered sheets: name -> their cells' dimension (None: no cell)."""
    rendered: dict[str, str | None] = {}
    workbook = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    try:
        workbook.set_properties({
            "title": clean(book.title),
            "subject": clean(book.subject),
            "comments": clean(book.comments),
            "author": "reconcile",
            "company": "",
            "created": book.created,
        })
        workbook.set_custom_property("reconcile version", __version__)
        formats = _Formats(workbook)
        worksheets = {}
        for sheet in book.sheets:
            worksheets[sheet.name] = _write_sheet(workbook, sheet, formats, plans, packer,
                                                  rendered, book.footer)
        for sheet in book.sheets:
            for chart in sheet.charts:
                _insert_chart(workbook, worksheets[sheet.name], chart, plans[sheet.name],
                              plans)
        if book.active and book.active in worksheets:
            worksheets[book.active][0].activate()
    finally:
        workbook.close()
    return rendered


def _assemble(parts: Path, path: Path, rendered: dict[str, str | None],
              deflated: dict[str, xlsxzip.Deflated], packer: xlsxzip.Packer) -> None:
    """The final zip: XlsxWriter's parts in their order, rendered rows spliced in."""
    with zipfile.ZipFile(parts) as source, parts.open("rb") as raw:
        members = _sheet_members(source)
        with path.open("wb") as out:
            target = xlsxzip.ZipWriter(out)
            for info in source.infolist():
                name = members.get(info.filename)
                if name is not None and name in deflated:
                    pieces, crc, size, compressed = xlsxzip.spliced(
                        source.read(info), deflated[name], rendered[name], packer.file)
                    target.add_deflated(info.filename, pieces, crc, size, compressed)
                elif info.compress_type == zipfile.ZIP_DEFLATED:
                    # XlsxWriter's deflated bytes as they are (no second compression)
                    target.add_deflated(info.filename, [xlsxzip.raw_member(raw, info)],
                                        info.CRC, info.file_size, info.compress_size)
                else:
                    target.add(info.filename, source.read(info))
            target.close()


def _sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Zip member -> sheet name, from the workbook part and its relationships."""
    book = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = dict(re.findall(r'<Relationship Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
    targets.update((rid, target) for target, rid in
                   re.findall(r'<Relationship [^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels))
    out = {}
    for attrs in re.findall(r"<sheet ([^>]*)/>", book):
        name = re.search(r'name="([^"]*)"', attrs)
        rid = re.search(r'r:id="([^"]*)"', attrs)
        if name and rid and rid.group(1) in targets:
            target = targets[rid.group(1)]
            member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            out[member] = html.unescape(name.group(1))
    return out


def _size(sheet: Sheet) -> tuple[str, int, int, int, int]:
    """(name, rows, columns, header rows, key columns) of a sheet, for its layout.

    A streamed sheet's rows are its stream's ``count`` (counted by a first pass when
    it has none); its columns are as many as its widths or column styles say.
    """
    header, key = sheet.freeze or (0, 0)
    if isinstance(sheet.rows, RowStream):
        n_rows = sheet.rows.count
        if n_rows is None:
            n_rows = sum(1 for _ in sheet.iter_rows())
        n_cols = max(len(sheet.widths), len(sheet.rows.styles))
    else:
        n_rows = len(sheet.rows)
        n_cols = max((len(row) for row in sheet.rows), default=0)
    return sheet.name, n_rows, n_cols, header, key


# --------------------------------------------------------------------------- safe text


def safe_workbook(book: Workbook) -> Workbook:
    """``book`` with valid, unique sheet names and every reference to a renamed sheet
    renamed with it (formulas, links, chart ranges, the active sheet).

    Builders make their names with :func:`reconcile.sheets.safe_sheet_name`, so this
    changes nothing for them; it is the guarantee for a name that is not (a new
    sheet named after input text, two sheets of the same name).
    """
    names = [s.name for s in book.sheets]
    taken: list[str] = []
    for name in names:
        taken.append(safe_sheet_name(name, taken))
    if taken == names:
        return book
    kept = {old for old, new in zip(names, taken) if old == new}
    renamed: dict[str, str] = {}
    for old, new in zip(names, taken):
        if old != new and old not in kept:  # a duplicate's references stay with the first
            renamed.setdefault(old, new)
    sheets = tuple(_renamed_sheet(sheet, new, renamed)
                   for sheet, new in zip(book.sheets, taken))
    active = renamed.get(book.active, book.active) if book.active else book.active
    return book._replace(sheets=sheets, active=active)


def _literal(text: str, _match: re.Match[str]) -> str:
    """A replacement taken as it is (no backslash or group references in it)."""
    return text


def _renamed_sheet(sheet: Sheet, name: str, renamed: dict[str, str]) -> Sheet:
    if not renamed:
        return sheet._replace(name=name)
    patterns = [(re.compile(re.escape(quote_sheet(old) + "!")
                            + "|" + r"(?<![\w.'])" + re.escape(old) + "!"),
                 quote_sheet(new) + "!") for old, new in renamed.items()]

    def formula(text: str) -> str:
        for pattern, replacement in patterns:
            text = pattern.sub(partial(_literal, replacement), text)
        return text

    def cell(value: Cell | Plain | None) -> Cell | Plain | None:
        if isinstance(value, Formula):
            return value._replace(formula=formula(value.formula))
        if isinstance(value, Link):
            return value._replace(sheet=renamed.get(value.sheet, value.sheet))
        return value

    def ref(r: Ref) -> Ref:
        return r._replace(sheet=renamed.get(r.sheet, r.sheet))

    rows: tuple[Row, ...] | RowStream
    if isinstance(sheet.rows, RowStream):
        stream = sheet.rows
        rows = stream._replace(
            produce=lambda: (tuple(map(cell, row)) for row in stream.produce()))
    else:
        rows = tuple(tuple(map(cell, row)) for row in sheet.rows)
    charts = tuple(chart._replace(series=tuple(
        Series(s.name, ref(s.categories), ref(s.values), s.color) for s in chart.series))
        for chart in sheet.charts)
    formats = tuple(cf._replace(criteria=formula(cf.criteria)) if cf.kind == "formula" else cf
                    for cf in sheet.conditional_formats)
    return sheet._replace(name=name, rows=rows, charts=charts, conditional_formats=formats)


class _Formats:
    """One xlsxwriter Format per style name, made on first use (in a stable order)."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._made: dict[str, object] = {}
        # every cell style numbered now, in STYLES' order: a style's number must not
        # depend on when a sheet's rows happen to be flushed (XlsxWriter numbers a
        # format when it writes a row out, and keeps an API-written sheet's last row
        # until the workbook closes; the fast writer numbers as it renders). The
        # conditional formats' styles are numbered apart, by XlsxWriter.
        for name in STYLES:
            if not name.startswith("cf_"):
                fastrows.xf_index(self[name])

    def __getitem__(self, name: str) -> Any:
        fmt = self._made.get(name)
        if fmt is None:
            try:
                properties = STYLES[name]
            except KeyError:
                raise KeyError(f"unknown style {name!r}; styles: {sorted(STYLES)}") from None
            fmt = self._made[name] = self._workbook.add_format(dict(properties))
        return fmt


class SheetContext:
    """One sheet being written: its parts' worksheets and the rest of over-long texts;
    what both row writers share (fitted texts, moved formulas, cached results)."""

    def __init__(self, workbook: Any, sheet: Sheet, layout: continuation.Layout,
                 plans: dict[str, continuation.Layout], formats: _Formats) -> None:
        self.workbook, self.sheet, self.layout, self.plans = workbook, sheet, layout, plans
        self.formats = formats
        self.worksheets = [_add_part(workbook, sheet, name) for name in layout.parts]
        self.any_split = any(plan.split for plan in plans.values())
        #: the continued sheets' names: a formula naming none of them (on a sheet that is
        #: not continued itself) is written as it is, without parsing it
        self.split_names = [n.lower() for n, plan in plans.items() if plan.split]
        #: rows of the long-text sheet: (part, cell, piece, of, text)
        self.text_rows: list[tuple[str, str, int, int, str]] = []
        #: the last row written on each part (-1: none)
        self.last_rows = [-1] * len(layout.parts)
        self.note_row = max(layout.header - 1, 0)

    def fit(self, text: str, part: int, r: int, c: int) -> str:
        """``text`` as it fits a cell (and XML: :func:`reconcile.textsafe.clean`); a longer
        one ends with a marker, its rest is kept."""
        text = clean(text)
        limit = continuation.MAX_TEXT
        if len(text) <= limit // 2 or continuation.utf16_len(text) <= limit:
            return text
        row = len(self.text_rows) + 2
        marker = (f" … [continued on sheet '{self.layout.text_sheet}' from row {row:,}]")
        head, rest = continuation.cut_utf16(text, limit - continuation.utf16_len(marker))
        pieces = continuation.text_pieces(rest, limit)
        where = cell_ref(r, c)
        for i, piece in enumerate(pieces, start=2):
            self.text_rows.append((self.layout.parts[part], where, i, len(pieces) + 1, piece))
        return head + marker

    def formula(self, formula: str, part: int) -> str:
        formula = clean(formula)
        if not self.any_split:
            return formula
        if not self.layout.split:
            lowered = formula.lower()
            if not any(name in lowered for name in self.split_names):
                return formula
        return continuation.translate(formula, self.sheet.name, self.plans, part)

    @staticmethod
    def cached(value: Any) -> Any:
        """A formula's cached result as XlsxWriter's ``write_formula`` is given it."""
        return _cached(value)

    def next_break(self, part: int) -> int:
        """The logical row where the part after ``part`` starts (past the last: the limit)."""
        layout = self.layout
        return layout.header + layout.rows_per * (part // layout.col_blocks + 1)

    def overflow(self, r: int) -> TypeError:
        return TypeError(
            f"sheet {self.sheet.name!r} produced row {r + 1:,}, more than the "
            f"{self.layout.n_rows:,} its stream said (RowStream count): its continuation "
            f"sheets were laid out for that many")


def _add_part(workbook: Any, sheet: Sheet, name: str) -> Any:
    ws = workbook.add_worksheet(name)
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
    return ws


def _write_sheet(workbook: Any, sheet: Sheet, formats: _Formats,
                 plans: dict[str, continuation.Layout], packer: xlsxzip.Packer | None = None,
                 rendered: dict[str, str | None] | None = None, footer: str = "") -> list[Any]:
    """Every part of ``sheet`` (one, unless it passes Excel's limits); returns them."""
    layout = plans[sheet.name]
    ctx = SheetContext(workbook, sheet, layout, plans, formats)
    first = ctx.worksheets[0]
    if packer is not None and rendered is not None and fast_rows_for(sheet, layout, first):
        rendered.update(fastrows.stream_rows(ctx, packer))
    else:
        for row, height in sorted(sheet.heights):  # before the rows: constant_memory
            for part, ws in enumerate(ctx.worksheets):
                rb, local = layout.row(row)
                if row < layout.header or rb == part // layout.col_blocks:
                    ws.set_row(local, height)
        _write_rows(ctx)
    for part, ws in enumerate(ctx.worksheets):
        last_row = ctx.last_rows[part]
        if sheet.autofilter is not None and last_row >= sheet.autofilter.first_row:
            af = sheet.autofilter
            bottom = af.last_row if af.last_row is not None else max(
                _logical_last(layout, part, last_row), af.first_row)
            span = _local_span(layout, part, af.first_row, af.first_col, bottom, af.last_col)
            if span is not None:
                ws.autofilter(*span)
        for cf in sheet.conditional_formats:
            span = _local_span(layout, part, cf.first_row, cf.first_col, cf.last_row,
                               cf.last_col)
            if span is None:
                continue
            criteria = cf.criteria
            if layout.split and cf.kind == "formula":
                top, left = _logical_cell(layout, part, span[0], span[1])
                criteria = continuation.translate(criteria, sheet.name, plans, part,
                                                  (top - cf.first_row, left - cf.first_col))
            options = {"type": cf.kind, "format": formats[cf.style], "criteria": criteria}
            if cf.kind != "formula":
                options["value"] = clean(cf.value) if isinstance(cf.value, str) else cf.value
            ws.conditional_format(*span, options)
    for ws in ctx.worksheets:
        _print_setup(ws, sheet, footer, whole=not layout.split)
    if ctx.text_rows:
        _write_text_sheet(workbook, ctx, formats)
    return ctx.worksheets


def fast_rows_for(sheet: Sheet, layout: continuation.Layout, worksheet: Any) -> bool:
    """Whether the fast row writer writes ``sheet``'s rows (the module doc says which)."""
    return (fastrows.flushes_rows(worksheet) and layout.col_blocks == 1
            and (sheet.streamed or not _has_links(sheet)))


def _has_links(sheet: Sheet) -> bool:
    return not isinstance(sheet.rows, RowStream) and any(
        type(cell) is Link for row in sheet.rows for cell in row)



#: page margins in inches (narrow: a statement's table is wide; the footer needs 0.3)
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.5, "bottom": 0.6}


def _print_setup(ws: Any, sheet: Sheet, footer: str, whole: bool = True) -> None:
    """How a sheet prints: margins, repeated header rows, a footer with the sheet's name,
    the page number and ``footer`` (the run); page breaks, print area and merged cells
    when the sheet is ``whole`` (not laid over continuation sheets)."""
    ws.set_margins(**MARGINS)
    ws.set_start_page(1)  # each sheet's pages are numbered from 1 (&P)
    right = f"&R{footer.replace('&', '&&')}" if footer else ""
    ws.set_footer(f"&L&A&CPage &P{right}", {"margin": 0.25})
    if sheet.repeat_rows is not None:
        ws.repeat_rows(*sheet.repeat_rows)
    if not whole:
        return
    if sheet.page_breaks:
        ws.set_h_pagebreaks(sorted(sheet.page_breaks))
    if sheet.print_area is not None:
        ws.print_area(*sheet.print_area)
    for merge in sheet.merges:
        fastrows.record_merge(ws, merge)  # the cells were written with the rows


def _logical_cell(layout: continuation.Layout, part: int, r: int, c: int) -> tuple[int, int]:
    """The logical cell of local (``r``, ``c``) on ``part``."""
    rb, cb = divmod(part, layout.col_blocks)
    row = r if r < layout.header else r + rb * layout.rows_per
    col = c if c < layout.key else c + cb * layout.cols_per
    return row, col


def _logical_last(layout: continuation.Layout, part: int, local_row: int) -> int:
    return _logical_cell(layout, part, local_row, 0)[0]


def _local_span(layout: continuation.Layout, part: int, r1: int, c1: int, r2: int, c2: int
                ) -> tuple[int, int, int, int] | None:
    """The local rectangle of a logical range on ``part``; header rows and key columns
    are on every part. None when the range does not reach the part."""
    rb, cb = divmod(part, layout.col_blocks)
    rows = _span(layout.row_blocks_of(r1, r2), rb, r1, r2, layout.header)
    cols = _span(layout.col_blocks_of(c1, c2), cb, c1, c2, layout.key)
    if rows is None or cols is None:
        return None
    return rows[0], cols[0], rows[1], cols[1]


def _span(blocks: list[continuation.Block], index: int, first: int, last: int,
          fixed: int) -> tuple[int, int] | None:
    lo = hi = None
    if first < fixed:  # header rows / key columns: repeated on every part
        lo, hi = first, min(last, fixed - 1)
    for block in blocks:
        if block.number == index and block.last >= fixed:
            start = max(block.first, fixed) - block.offset
            lo = start if lo is None else lo
            hi = block.last - block.offset
    if lo is None or hi is None:
        return None
    return lo, hi


_TEXT_HEADER = ("Sheet", "Cell", "Piece", "Of", "Text (continued)")


def _write_text_sheet(workbook: Any, ctx: SheetContext, formats: _Formats) -> None:
    """The rest of texts too long for a cell, one piece of at most 32,767 characters a row."""
    ws = workbook.add_worksheet(ctx.layout.text_sheet)
    ws.set_column(0, 0, 24)
    ws.set_column(4, 4, 120)
    ws.freeze_panes(1, 0)
    ws.set_paper(9)
    header = formats["header"]
    for c, title in enumerate(_TEXT_HEADER):
        ws.write_string(0, c, title, header)
    text, count = formats["text"], formats["count"]
    for r, (part, cell, piece, of, rest) in enumerate(ctx.text_rows, start=1):
        ws.write_string(r, 0, part, text)
        ws.write_string(r, 1, cell, text)
        ws.write_number(r, 2, piece, count)
        ws.write_number(r, 3, of, count)
        ws.write_string(r, 4, rest, text)


def _write_rows(ctx: SheetContext) -> None:
    """Every row in order through XlsxWriter's cell API (constant_memory needs row order)."""
    sheet, layout, formats = ctx.sheet, ctx.layout, ctx.formats
    fmt_cache: dict[str, object] = {}

    def fmt(name: str) -> Any:
        f = fmt_cache.get(name)
        if f is None:
            f = fmt_cache[name] = formats[name]
        return f

    stream = sheet.rows if isinstance(sheet.rows, RowStream) else RowStream(lambda: iter(()))
    worksheets = ctx.worksheets
    header_rows: list[tuple[Any, ...]] = []
    row_block = 0
    next_break = ctx.next_break(0) if layout.row_blocks > 1 else layout.max_rows

    def put(r: int, row: tuple[Any, ...]) -> None:
        """Logical row ``r`` onto the parts of the current row block."""
        local = r if r < layout.header else layout.row(r)[1]
        for c, cell in enumerate(row):
            if cell is None:
                continue
            kind = type(cell)
            if kind not in CELL_TYPES:
                try:
                    cell = stream.cell(c, cell)
                except TypeError as error:
                    raise TypeError(f"sheet {sheet.name!r} row {r + 1} column {c + 1}: "
                                    f"{error}") from None
                kind = type(cell)
            if layout.col_blocks == 1:
                targets: tuple[tuple[int, int], ...] = ((0, c),)
            elif c < layout.key:
                targets = tuple((cb, c) for cb in range(layout.col_blocks))
            else:
                targets = (layout.col(c),)
            for cb, lc in targets:
                part = row_block * layout.col_blocks + cb
                _put_cell(ctx, worksheets[part], part, local, lc, cell, kind, fmt, r, c)
                if local > ctx.last_rows[part]:
                    ctx.last_rows[part] = local
        if layout.split and local == ctx.note_row:
            for cb in range(layout.col_blocks):
                part = row_block * layout.col_blocks + cb
                width = _part_width(layout, part) if layout.col_blocks > 1 else len(row)
                if width < layout.max_cols:
                    worksheets[part].write_string(local, width, layout.note(part), fmt("note"))

    for r, row in enumerate(sheet.iter_rows()):
        if r >= next_break:
            row_block += 1
            if row_block >= layout.row_blocks:
                raise ctx.overflow(r)
            next_break += layout.rows_per
            for h, head in enumerate(header_rows):
                put(h, head)
        if r < layout.header:
            header_rows.append(row)
        put(r, row)


def _part_width(layout: continuation.Layout, part: int) -> int:
    """How many columns a part of a sheet split by columns holds (the note goes beside)."""
    first, last = layout.columns(part)
    return layout.key + last - first + 1


def _put_cell(ctx: SheetContext, ws: Any, part: int, r: int, c: int, cell: Any, kind: type,
              fmt: Any, lr: int,
              lc: int) -> None:
    """One cell through XlsxWriter's API (``lr``, ``lc``: its logical place, for errors)."""
    if kind is Text:
        ws.write_string(r, c, ctx.fit(cell.value, part, r, c), fmt(cell.style))
    elif kind is Money or kind is Number:
        # xlsxwriter formats the Decimal itself (f"{n:.16G}"): exact text
        ws.write_number(r, c, cell.value, fmt(cell.style))
    elif kind is Formula:
        ws.write_formula(r, c, ctx.formula(cell.formula, part), fmt(cell.style),
                         _cached(cell.value))
    elif kind is Date:
        value = cell.value
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day)
        ws.write_datetime(r, c, value, fmt(cell.style))
    elif kind is Link:
        target, where = continuation.move_cell(cell.cell, ctx.plans.get(cell.sheet))
        target = target or cell.sheet
        ws.write_url(r, c, f"internal:'{target.replace(chr(39), chr(39) * 2)}'!{where}",
                     fmt(cell.style), ctx.fit(cell.text, part, r, c))
    elif kind is Blank:
        ws.write_blank(r, c, None, fmt(cell.style))
    else:
        raise TypeError(f"sheet {ctx.sheet.name!r} row {lr + 1} column {lc + 1}: "
                        f"not a cell: {cell!r}")


def _chart_pieces(ref: Any, plans: dict[str, continuation.Layout]) -> list[list[Any]]:
    """A chart series' range as XlsxWriter takes it, one per part it lies on."""
    layout = plans.get(ref.sheet)
    if layout is None or not layout.split:
        return [[ref.sheet, ref.first_row, ref.first_col, ref.last_row, ref.last_col]]
    return [[layout.parts[part], r1, c1, r2, c2] for part, r1, c1, r2, c2
            in layout.pieces(ref.first_row, ref.first_col, ref.last_row, ref.last_col)]


def _cached(value: Any) -> Any:
    """A formula's cached result as xlsxwriter writes it (numbers as exact text)."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        # xlsxwriter writes it with str(): make sure that is plain digits, never
        # an exponent ("1E+2"), and never "-0.00" (a text result would be "str")
        return Decimal(format(value, "f")) if value != 0 else 0
    if isinstance(value, str):
        return clean(value)
    return value


def _insert_chart(workbook: Any, worksheets: list[Any], chart: Any, layout: continuation.Layout,
                  plans: dict[str, continuation.Layout]) -> None:
    """``chart`` on the part of its sheet that holds its anchor. A chart whose series run
    across continuation sheets (a chart series is one range of one sheet) is drawn once
    per part they run over, one below the other, each title saying which rows it shows."""
    pieces = [(_chart_pieces(s.categories, plans), _chart_pieces(s.values, plans))
              for s in chart.series]
    count = len(pieces[0][1]) if pieces else 1
    if any(len(c) != count or len(v) != count for c, v in pieces):
        raise ValueError(f"the chart {chart.title!r} has series cut into different pieces by "
                         f"continuation sheets: they cannot be drawn part by part")
    # an anchor below the sheet's last row (a Summary's charts) stays below its last part
    row_block, row = layout.row(chart.anchor[0])
    if row_block >= layout.row_blocks:
        row += (row_block - layout.row_blocks + 1) * layout.rows_per
        row_block = layout.row_blocks - 1
    col_block, col = layout.col(chart.anchor[1])
    part = layout.part(row_block, min(col_block, layout.col_blocks - 1))
    rows_tall = -(-chart.height // 20) + 1  # XlsxWriter's default row: 20 pixels
    for k in range(count):
        made = workbook.add_chart({"type": chart.kind})
        for series, (categories, values) in zip(chart.series, pieces):
            options: dict[str, Any] = {
                "name": clean(series.name),
                "categories": categories[k],
                "values": values[k],
            }
            if series.color:
                options["fill"] = {"color": series.color}
                options["line"] = {"color": series.color}
            made.add_series(options)
        title = clean(chart.title)
        if count > 1:
            sheet_name, r1, _, r2, _ = pieces[0][1][k]
            title += f" ({k + 1} of {count}: '{sheet_name}' rows {r1 + 1:,} to {r2 + 1:,})"
        made.set_title({"name": title})
        if chart.x_title:
            made.set_x_axis({"name": clean(chart.x_title)})
        made.set_y_axis({"name": clean(chart.y_title), "num_format": chart.number_format,
                         "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        made.set_legend({"position": "bottom"})
        made.set_size({"width": chart.width, "height": chart.height})
        worksheets[part].insert_chart(xl_rowcol_to_cell(row + k * rows_tall, col), made)
