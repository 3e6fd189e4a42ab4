"""Sheets past Excel's limits, continued on "Name (2)", "Name (3)"... (pure; used by the writer).

Stage: write. Excel holds at most :data:`MAX_ROWS` rows and :data:`MAX_COLS` columns
in a sheet and :data:`MAX_TEXT` characters in a cell (Microsoft's "Excel
specifications and limits": 1,048,576 rows by 16,384 columns; 32,767 characters in
a cell). A file past them is refused or "repaired" by Excel, and the rows past the
limit are lost without a word. So the writer lays every sheet out first:

* **rows**: a sheet of more rows continues on ``Name (2)``, ``Name (3)``... Each part
  repeats the header (the sheet's frozen rows) and holds the next
  ``MAX_ROWS - header`` data rows; the first part keeps the sheet's own name;
* **columns**: a sheet of more columns continues the same way, each part repeating
  the key columns (the frozen columns) beside the next columns;
* **text**: a cell of more than :data:`MAX_TEXT` characters (counted in UTF-16
  units, as Excel counts them) keeps what fits, ending with a marker that names the
  sheet and row where the rest is; the rest goes, in pieces, to one more sheet after
  the parts (``Name (k)``), one piece a row;
* a note beside the header of every part says which rows (and columns) it holds and
  where the sheet continues;
* **formulas follow**: every reference to a cell of a continued sheet (in a formula,
  a conditional format, a link, an autofilter) is rewritten to the part and the cell
  where that row now is; a range that spans parts becomes one range per part, as
  the arguments of ``SUM``, ``COUNT``, ``MIN``, ``MAX``, ``SUBTOTAL``...; a call of
  ``COUNTIF``, ``SUMIF(S)``, ``SUMPRODUCT`` or ``ROWS`` whose ranges all run across the
  same parts becomes the sum of the call on each part (anything else across parts is
  refused, naming the formula).

The limits are module constants, read when a workbook is laid out, so a test can
inject a small one (``monkeypatch.setattr(continuation, "MAX_ROWS", 10)``) instead of
writing a million rows.

>>> layout = Layout("Declarations", n_rows=25, n_cols=3, header=1, key=0,
...                 max_rows=10, max_cols=16384, taken=())
>>> layout.parts, layout.locate(0, 0), layout.locate(9, 0), layout.locate(10, 2)
(('Declarations', 'Declarations (2)', 'Declarations (3)'), (0, 0, 0), (0, 9, 0), (1, 1, 2))
>>> translate("SUM('Declarations'!C2:C25)", "Totals", {"Declarations": layout})
"SUM('Declarations'!C2:C10,'Declarations (2)'!C2:C10,'Declarations (3)'!C2:C7)"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from reconcile.sheets import column_letter, quote_sheet, safe_sheet_name

#: Excel's own limits (Microsoft, "Excel specifications and limits"; XlsxWriter's
#: ``xls_rowmax``, ``xls_colmax`` and ``xls_strmax`` are the same numbers).
MAX_ROWS = 1_048_576
MAX_COLS = 16_384
MAX_TEXT = 32_767

#: functions whose arguments are lists of values: a range across parts becomes one
#: argument per part and the result is the same
LIST_FUNCTIONS = frozenset({"SUM", "COUNT", "COUNTA", "COUNTBLANK", "MIN", "MAX", "AVERAGE",
                            "PRODUCT", "AND", "OR", "SUBTOTAL"})

#: functions whose value over ranges cut at the same rows is the sum of their values
#: over the pieces: a call whose ranges run across parts becomes the sum of the call on
#: each part (``COUNTIF(A2:A30,"x")`` = ``COUNTIF(part 1,"x")+COUNTIF(part 2,"x")``;
#: ``SUMPRODUCT((A2:A30="x")*B2:B30)`` the same, every range cut alike)
ADDITIVE_FUNCTIONS = frozenset({"ROWS", "COUNTIF", "COUNTIFS", "SUMIF", "SUMIFS",
                                "SUMPRODUCT"})


class Block(NamedTuple):
    """One stretch of a dimension (rows or columns) that lands in one part."""

    number: int  # the part's block number along this dimension
    first: int  # logical, inclusive
    last: int  # logical, inclusive
    offset: int  # local = logical - offset


class Layout:
    """How one sheet is split into parts (``parts[row_block * col_blocks + col_block]``).

    ``header`` rows and ``key`` columns are repeated on every part; ``n_rows`` and
    ``n_cols`` are the sheet's size. With everything within the limits there is one
    part, named like the sheet, and every method is the identity.
    """

    def __init__(self, name: str, n_rows: int, n_cols: int, header: int, key: int,
                 max_rows: int, max_cols: int, taken: Iterable[str]) -> None:
        self.name = name
        self.n_rows, self.n_cols = n_rows, n_cols
        # a header as tall as the limit leaves no room for data: not repeated then
        self.header = header if 0 < header < max_rows // 2 else 0
        self.key = key if 0 < key < max_cols // 2 else 0
        self.max_rows, self.max_cols = max_rows, max_cols
        self.rows_per = max_rows - self.header
        self.cols_per = max_cols - self.key
        self.row_blocks = 1 if n_rows <= max_rows else -(-(n_rows - self.header)
                                                           // self.rows_per)
        self.col_blocks = 1 if n_cols <= max_cols else -(-(n_cols - self.key)
                                                           // self.cols_per)
        used = [t for t in taken if t.lower() != name.lower()]
        parts = [name]
        for k in range(2, self.row_blocks * self.col_blocks + 2):  # one more: long text
            parts.append(safe_sheet_name(_numbered(name, k), [*used, *parts]))
        self.parts: tuple[str, ...] = tuple(parts[:-1]) if self.split else (name,)
        #: the sheet for the rest of texts too long for a cell (made only when needed)
        self.text_sheet = parts[-1]

    @property
    def split(self) -> bool:
        return self.row_blocks * self.col_blocks > 1

    def row(self, r: int) -> tuple[int, int]:
        """(row block, local row) of logical row ``r``."""
        if r < self.header or self.row_blocks == 1:
            return 0, r
        block, within = divmod(r - self.header, self.rows_per)
        return block, self.header + within

    def col(self, c: int) -> tuple[int, int]:
        """(column block, local column) of logical column ``c``."""
        if c < self.key or self.col_blocks == 1:
            return 0, c
        block, within = divmod(c - self.key, self.cols_per)
        return block, self.key + within

    def part(self, row_block: int, col_block: int) -> int:
        return row_block * self.col_blocks + col_block

    def locate(self, r: int, c: int) -> tuple[int, int, int]:
        """(part, local row, local column) of logical cell (``r``, ``c``)."""
        rb, lr = self.row(r)
        cb, lc = self.col(c)
        return self.part(rb, cb), lr, lc

    def row_blocks_of(self, first: int, last: int) -> list[Block]:
        return _blocks(first, last, self.header, self.rows_per, self.row_blocks)

    def col_blocks_of(self, first: int, last: int) -> list[Block]:
        return _blocks(first, last, self.key, self.cols_per, self.col_blocks)

    def pieces(self, r1: int, c1: int, r2: int, c2: int
               ) -> list[tuple[int, int, int, int, int]]:
        """A logical range as (part, local r1, c1, r2, c2), one per part it touches."""
        out = []
        for rb in self.row_blocks_of(r1, r2):
            for cb in self.col_blocks_of(c1, c2):
                out.append((self.part(rb.number, cb.number), rb.first - rb.offset,
                            cb.first - cb.offset, rb.last - rb.offset, cb.last - cb.offset))
        return out

    def data_rows(self, part: int) -> tuple[int, int]:
        """The first and last data row numbers (1-based, below the header) of a part."""
        rb = part // self.col_blocks
        total = self.n_rows - self.header
        first = rb * self.rows_per + 1
        return first, min(total, first + self.rows_per - 1)

    def columns(self, part: int) -> tuple[int, int]:
        """The first and last logical columns (0-based) a part holds past its key columns."""
        cb = part % self.col_blocks
        first = self.key + cb * self.cols_per
        return first, min(self.n_cols - 1, first + self.cols_per - 1)

    def note(self, part: int) -> str:
        """What a part holds and where the sheet continues (beside its header)."""
        parts = self.parts
        first, last = self.data_rows(part)
        total = self.n_rows - self.header
        held = f"rows {first:,} to {last:,} of {total:,}" if self.row_blocks > 1 else ""
        if self.col_blocks > 1:
            lo, hi = self.columns(part)
            cols = f"columns {column_letter(lo)} to {column_letter(hi)}"
            held = f"{held}, {cols}" if held else cols
        limit = (f"Excel holds {self.max_rows:,} rows" if self.row_blocks > 1 else
                 f"Excel holds {self.max_cols:,} columns")
        text = (f"Too big for one sheet ({limit}): this sheet holds {held}"
                if part == 0 else f"Continued from '{parts[part - 1]}': this sheet holds {held}")
        if part + 1 < len(parts):
            return f"{text}; continued on '{parts[part + 1]}' (header repeated)."
        return f"{text}; the last part of '{self.name}'."


def _numbered(name: str, k: int) -> str:
    suffix = f" ({k})"
    while len((name + suffix).encode("utf-16-le")) // 2 > 31:
        name = name[:-1]
    return name.rstrip() + suffix


def _blocks(first: int, last: int, fixed: int, per: int, count: int) -> list[Block]:
    """Split logical [first, last] into blocks: the fixed (header/key) part stays in block 0."""
    if count == 1:
        return [Block(0, first, last, 0)]
    out: list[Block] = []
    if first < fixed:
        out.append(Block(0, first, min(last, fixed - 1), 0))
    lo = max(first, fixed)
    while lo <= last:
        block = (lo - fixed) // per
        end = min(last, fixed + (block + 1) * per - 1)
        offset = block * per
        if out and out[-1].number == block:  # the header and block 0's data: one stretch
            out[-1] = Block(block, out[-1].first, end, offset)
        else:
            out.append(Block(block, lo, end, offset))
        lo = end + 1
    return out


def layouts(sheets: Iterable[tuple[str, int, int, int, int]]) -> dict[str, Layout]:
    """A :class:`Layout` per sheet from (name, rows, columns, header rows, key columns)."""
    items = list(sheets)
    taken = [name for name, *_ in items]
    out: dict[str, Layout] = {}
    for name, n_rows, n_cols, header, key in items:
        layout = Layout(name, n_rows, n_cols, header, key, MAX_ROWS, MAX_COLS, taken)
        taken.extend(p for p in layout.parts[1:])
        if layout.split:
            taken.append(layout.text_sheet)
        out[name] = layout
    return out


# --------------------------------------------------------------------------- formulas

_TOKEN = re.compile(r"""
    (?P<string>"(?:[^"]|"")*")
  | (?P<function>(?<![\w.$'!])[A-Za-z_][\w.]*(?=\())
  | (?P<ref>(?<![\w.$'!])
        (?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?
        (?P<c1>\$?[A-Za-z]{1,3})(?P<r1>\$?[0-9]+)
        (?::(?P<c2>\$?[A-Za-z]{1,3})(?P<r2>\$?[0-9]+))?
        (?![\w(!]))
  | (?P<open>\()
  | (?P<close>\))
  | (?P<comma>,)
""", re.VERBOSE)


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _sheet_name(token: str) -> str:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return token


def _cell(c_text: str, r_text: str) -> tuple[int, bool, int, bool]:
    """(row, row absolute, column, column absolute) of A1 parts like ``$C`` and ``7``."""
    return (int(r_text.lstrip("$")) - 1, r_text.startswith("$"),
            _col_number(c_text.lstrip("$")), c_text.startswith("$"))


def _a1(r: int, r_abs: bool, c: int, c_abs: bool) -> str:
    return f"{'$' if c_abs else ''}{column_letter(c)}{'$' if r_abs else ''}{r + 1}"


def translate(formula: str, here: str, layouts: Mapping[str, Layout], part: int = 0,
              shift: tuple[int, int] = (0, 0)) -> str:
    """``formula`` (written on part ``part`` of sheet ``here``) with its references moved.

    Every reference to a cell of a continued sheet points at its part and local cell.
    ``shift`` moves relative references first (rows, columns): a conditional format's
    formula is written for the top-left cell of its range, which differs on each part.
    A formula that touches no continued sheet comes back unchanged.
    """
    if not any(lay.split for lay in layouts.values()):
        return formula
    formula = _distribute(formula, here, layouts, shift)
    out: list[str] = []
    pos = 0
    stack: list[str | None] = []  # the function of each open parenthesis (None: grouping)
    previous = ""  # the kind of the last significant token
    for m in _TOKEN.finditer(formula):
        kind = next(k for k in ("string", "function", "ref", "open", "close", "comma")
                    if m.group(k) is not None)
        out.append(formula[pos:m.start()])
        pos = m.end()
        text = m.group(0)
        if kind == "function":
            stack.append(text.upper())
            out.append(text)
            previous = "function"
            continue
        if kind == "open":
            if previous != "function":
                stack.append(None)
            out.append(text)
        elif kind == "close":
            if stack:
                stack.pop()
            out.append(text)
        elif kind == "ref":
            following = formula[m.end():].lstrip()[:1]
            whole_argument = (previous in ("open", "comma") and following in (")", ","))
            function = stack[-1] if stack else None
            out.append(_move(m, here, layouts, part, shift, whole_argument
                             and function in LIST_FUNCTIONS, formula))
        else:
            out.append(text)
        previous = kind
    out.append(formula[pos:])
    return "".join(out)


class _Ref(NamedTuple):
    """A reference of a formula, resolved: its sheet's layout and its logical corners."""

    layout: Layout | None
    r1: int
    r1_abs: bool
    c1: int
    c1_abs: bool
    r2: int
    r2_abs: bool
    c2: int
    c2_abs: bool


def _resolve(m: re.Match[str], here: str, layouts: Mapping[str, Layout],
             shift: tuple[int, int]) -> _Ref:
    sheet_token = m.group("sheet")
    target = _sheet_name(sheet_token) if sheet_token else here
    layout = layouts.get(target)
    if layout is None:
        # case-insensitive, as Excel matches sheet names
        layout = next((lay for n, lay in layouts.items() if n.lower() == target.lower()), None)
    r1, r1_abs, c1, c1_abs = _cell(m.group("c1"), m.group("r1"))
    if m.group("c2"):
        r2, r2_abs, c2, c2_abs = _cell(m.group("c2"), m.group("r2"))
    else:
        r2, r2_abs, c2, c2_abs = r1, r1_abs, c1, c1_abs
    if sheet_token is None:
        # relative references move with a conditional format's range
        r1 += 0 if r1_abs else shift[0]
        r2 += 0 if r2_abs else shift[0]
        c1 += 0 if c1_abs else shift[1]
        c2 += 0 if c2_abs else shift[1]
    return _Ref(layout, r1, r1_abs, c1, c1_abs, r2, r2_abs, c2, c2_abs)


def _distribute(formula: str, here: str, layouts: Mapping[str, Layout],
                shift: tuple[int, int]) -> str:
    """Each call of an :data:`ADDITIVE_FUNCTIONS` function whose ranges run across parts,
    as the sum of the call on each part (its ranges replaced by their pieces, named by
    part). Every range of such a call must be cut alike (the same pieces, the same
    shapes); a range on a sheet that is not cut, beside one that is, is refused."""
    tokens = list(_TOKEN.finditer(formula))
    out: list[str] = []
    pos = 0
    i = 0
    while i < len(tokens):
        m = tokens[i]
        name = m.group("function")
        if name is None or name.upper() not in ADDITIVE_FUNCTIONS:
            i += 1
            continue
        end = _closing(tokens, i)
        if end is None:
            break  # unbalanced: left to the spreadsheet to refuse
        refs = [t for t in tokens[i + 1:end] if t.group("ref") is not None]
        resolved = [(t, _resolve(t, here, layouts, shift)) for t in refs]
        cut = {t.start(): ref.layout.pieces(min(ref.r1, ref.r2), min(ref.c1, ref.c2),
                                             max(ref.r1, ref.r2), max(ref.c1, ref.c2))
               for t, ref in resolved if ref.layout is not None and ref.layout.split}
        cut = {start: pieces for start, pieces in cut.items() if len(pieces) > 1}
        if not cut:
            i += 1
            continue
        shapes = {tuple((r2 - r1, c2 - c1) for _, r1, c1, r2, c2 in pieces)
                  for pieces in cut.values()}
        uncut = [t.group(0) for t, ref in resolved if t.start() not in cut
                 and (ref.r1, ref.c1) != (ref.r2, ref.c2)]
        call = formula[m.start():tokens[end].end()]
        if len(shapes) > 1 or uncut:
            raise ValueError(
                f"the formula {formula!r} on sheet {here!r} has {call!r}, whose ranges run "
                f"past Excel's limits onto continuation sheets but are not cut alike "
                f"({', '.join(uncut) or 'different pieces'}): it cannot be summed part by part")
        terms = []
        for k in range(len(next(iter(cut.values())))):
            text: list[str] = []
            at = m.start()
            for t, ref in resolved:
                if t.start() not in cut:
                    continue
                p, a, b, c, d = cut[t.start()][k]
                assert ref.layout is not None
                text.append(formula[at:t.start()])
                text.append(_range(ref.layout.parts[p], a, ref.r1_abs, b, ref.c1_abs, c,
                                   ref.r2_abs, d, ref.c2_abs, t.group("c2")))
                at = t.end()
            text.append(formula[at:tokens[end].end()])
            terms.append("".join(text))
        out.append(formula[pos:m.start()])
        out.append("(" + "+".join(terms) + ")")
        pos = tokens[end].end()
        i = end + 1
    out.append(formula[pos:])
    return "".join(out)


def _closing(tokens: list[re.Match[str]], i: int) -> int | None:
    """The index of the token closing the call whose function is ``tokens[i]``."""
    depth = 0
    for j in range(i + 1, len(tokens)):
        if tokens[j].group("open") is not None:
            depth += 1
        elif tokens[j].group("close") is not None:
            depth -= 1
            if depth == 0:
                return j
    return None


def _move(m: re.Match[str], here: str, layouts: Mapping[str, Layout], part: int,
          shift: tuple[int, int], as_list: bool, formula: str) -> str:
    sheet_token = m.group("sheet")
    layout, r1, r1_abs, c1, c1_abs, r2, r2_abs, c2, c2_abs = _resolve(m, here, layouts, shift)
    if layout is None or not layout.split:
        if sheet_token is None and shift != (0, 0):
            return _range(None, r1, r1_abs, c1, c1_abs, r2, r2_abs, c2, c2_abs, m.group("c2"))
        return str(m.group(0))
    r1, r2 = min(r1, r2), max(r1, r2)
    c1, c2 = min(c1, c2), max(c1, c2)
    pieces = layout.pieces(r1, c1, r2, c2)
    qualify = sheet_token is not None or any(p != part for p, *_ in pieces)
    texts = [_range(layout.parts[p] if qualify else None, a, r1_abs, b, c1_abs, c, r2_abs, d,
                    c2_abs, m.group("c2"))
             for p, a, b, c, d in pieces]
    if len(texts) == 1:
        return texts[0]
    if not as_list:
        raise ValueError(
            f"the formula {formula!r} on sheet {here!r} refers to {m.group(0)}, which runs "
            f"past Excel's {layout.max_rows:,} rows and continues on "
            f"{', '.join(repr(p) for p in layout.parts[1:])}; only a whole argument of "
            f"{', '.join(sorted(LIST_FUNCTIONS))} can follow it there")
    return ",".join(texts)


def _range(sheet: str | None, r1: int, r1_abs: bool, c1: int, c1_abs: bool, r2: int,
           r2_abs: bool, c2: int, c2_abs: bool, is_range: object) -> str:
    prefix = f"{quote_sheet(sheet)}!" if sheet is not None else ""
    first = _a1(r1, r1_abs, c1, c1_abs)
    if not is_range and (r1, c1) == (r2, c2):
        return prefix + first
    return f"{prefix}{first}:{_a1(r2, r2_abs, c2, c2_abs)}"


def move_cell(cell: str, layout: Layout | None) -> tuple[str, str]:
    """A link's target cell (``A1`` text) on a continued sheet: (part name, local cell)."""
    if layout is None or not layout.split:
        return (layout.name if layout else ""), cell
    m = re.fullmatch(r"(\$?[A-Za-z]{1,3})(\$?[0-9]+)", cell)
    if m is None:
        return layout.name, cell
    r, r_abs, c, c_abs = _cell(m.group(1), m.group(2))
    p, lr, lc = layout.locate(r, c)
    return layout.parts[p], _a1(lr, r_abs, lc, c_abs)


# --------------------------------------------------------------------------- long text


def utf16_len(text: str) -> int:
    """Length in UTF-16 units (Excel's measure: a character past U+FFFF counts two)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def cut_utf16(text: str, units: int) -> tuple[str, str]:
    """``text`` split after at most ``units`` UTF-16 units, never inside a character."""
    if utf16_len(text) <= units:
        return text, ""
    if text.isascii():
        return text[:units], text[units:]
    head = text.encode("utf-16-le")[:units * 2].decode("utf-16-le", "ignore")
    return head, text[len(head):]


def text_pieces(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units each."""
    pieces = []
    while text:
        head, text = cut_utf16(text, limit)
        pieces.append(head)
    return pieces
