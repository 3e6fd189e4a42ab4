"""Guards on a workbook's XML before python-calamine parses it (read stage).

calamine trusts two numbers it finds in the file and allocates memory for them at
once, before any check of ours could run; a damaged or malicious file of a few
hundred bytes then aborts the whole process (a Rust panic, exit 134):

* the shared-strings part's ``uniqueCount`` (``count="4294967295"`` asks for 100 GB);
* the cells' extent: a sheet is held as one rectangle from A1 to its last row and
  column, so a single cell at ``XFD1048576`` asks for 17 billion cells (550 GB),
  whatever ``<dimension>`` says (the element is optional, and may lie).

:func:`check_shared_strings` reads the first bytes of the shared-strings part;
:func:`scan_sheet` streams the sheet's XML once, finding the furthest row and column
any cell or row names (and, on the way, the formulas with no saved value, which
calamine shows as empty cells). Both compare with :class:`~.table.Limits` (rows,
columns, cells, strings) and raise a located :class:`~reconcile.errors.InputError`.

The scan costs about a quarter of calamine's own parse. Files as Excel, LibreOffice,
XlsxWriter and openpyxl write them (each ``<c`` and ``<row`` starting with
``r="..."``) are checked by two regular expressions that only pick out the
references that *could* be over a limit (two or more column letters, or a row
number as long as the row limit); anything else (a cell without a reference, a
namespace prefix, ``r='A1'``) is scanned element by element, the way calamine
reads it, which is slower but exact.

Example::

    formulas = scan_sheet(Path("decl.xlsx"), "xl/worksheets/sheet1.xml",
                          Source("decl.xlsx", "Declarations"), Limits())
"""

from __future__ import annotations

import re
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.table import (
    Limits,
    too_many_cells,
    too_many_columns,
    too_many_rows,
)

# A formula cell whose <f> is followed directly by an empty or missing <v>.
NO_CACHED_VALUE = re.compile(
    rb"<(?:\w+:)?c\s[^>]*?r=\"([A-Z]+\d+)\"[^>]*>\s*"
    rb"(?:<(?:\w+:)?f\b[^>]*/>|<(?:\w+:)?f\b[^>]*>[^<]*</(?:\w+:)?f>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>|</(?:\w+:)?c>)")
# Two patterns with a literal start, which the regex engine finds at memchr speed
# (one alternation would be ten times slower); ":f" is the rare namespaced <x:f>.
FORMULA = re.compile(rb"<f[\s>/]")
NAMESPACED_FORMULA = re.compile(rb":f[\s>/]")

#: the most formula cells listed
FORMULA_CELLS = 50

_SST = re.compile(rb"<(?:\w+:)?sst\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"""\b(count|uniqueCount)\s*=\s*["']\s*(\d*)""")
# every row and cell tag, opening or closing, with its attributes (the exact scan)
_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.-]*:)?(c|row)(?=[\s/>])([^>]*)>")
_REFERENCE = re.compile(rb"""(?:^|\s)r\s*=\s*["']\s*([A-Za-z]*)\s*(\d*)""")


def _fail(source: Source, what: str, fix: str) -> InputError:
    return InputError([Problem(source, what, fix)])


def letters_to_index(letters: str) -> int:
    """Column letters to a zero-based index: A → 0, AA → 26 (any case, as calamine)."""
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index - 1


def shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The zip part of the workbook's shared strings (from its relationships), if any."""
    try:
        rels = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        rels = b""
    for match in re.finditer(rb"<(?:\w+:)?Relationship\b([^>]*)>", rels):
        attributes = match.group(1)
        kind = re.search(rb"""Type\s*=\s*["']([^"']*)""", attributes)
        target = re.search(rb"""Target\s*=\s*["']([^"']*)""", attributes)
        if kind and target and kind.group(1).endswith(b"/sharedStrings"):
            name = target.group(1).decode("utf-8", "replace")
            return name.lstrip("/") if name.startswith("/") else "xl/" + name
    return "xl/sharedStrings.xml" if "xl/sharedStrings.xml" in archive.NameToInfo else None


def check_shared_strings(archive: zipfile.ZipFile, name: str, limits: Limits) -> None:
    """Refuse a shared-strings part that declares more texts than it can hold.

    Each text takes at least five bytes (``<si/>``), so a ``uniqueCount`` above a
    fifth of the part's size is a lie; any count above the limit of texts (or of
    cells, for ``count``) is refused too.
    """
    part = shared_strings_part(archive)
    if part is None or part not in archive.NameToInfo:
        return
    size = archive.getinfo(part).file_size
    try:
        with archive.open(part) as stream:
            head = stream.read(8192)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise _fail(Source(name), f"the workbook is damaged ({exc})",
                    "open it in Excel and save it again") from None
    match = _SST.search(head)
    if not match:
        return
    for key, digits in _ATTRIBUTE.findall(match.group(1)):
        if not digits:
            continue
        declared = int(digits) if len(digits) <= 18 else 10 ** 18
        most = limits.max_strings if key == b"uniqueCount" else limits.max_cells
        if key == b"uniqueCount" and declared > size // 5 + 1:
            raise _fail(Source(name), f"the workbook says it holds {declared:,} different texts, "
                                      f"but its text part ({size:,} bytes) has room for at most "
                                      f"{size // 5 + 1:,} (a damaged or malicious file)",
                        "do not use this file; export the workbook again from its source")
        if declared > most:
            what = "different texts" if key == b"uniqueCount" else "text cells"
            variable = "RECONCILE_MAX_STRINGS" if key == b"uniqueCount" else "RECONCILE_MAX_CELLS"
            raise _fail(Source(name), f"the workbook says it holds {declared:,} {what}, more "
                                      f"than the limit of {most:,}",
                        f"split the workbook, or raise the limit with {variable}")


class _Extent:
    """The furthest row and column (1-based) named in a sheet's XML, fed piece by piece."""

    def __init__(self, limits: Limits, exact: bool = False) -> None:
        self.limits = limits
        # References shorter than these are within the row and column limits by their
        # length alone; longer ones are read exactly.
        self.row_digits = len(str(limits.max_rows + 1))
        self.letters = len(_column_name(max(limits.max_columns, 1) - 1))
        self.cell = re.compile(
            rb'<c(?: r="([A-Za-z]*\d{%d,}|[A-Za-z]{%d,})|(?! r=")[\s>/])'
            % (self.row_digits, self.letters))
        self.row = re.compile(rb'<row(?: r="(\d{%d,})"|(?! r=")[\s>/])' % self.row_digits)
        self.max_row = 0
        self.max_col = 0
        self.exact = exact  # counting element by element (calamine's own rule)
        self.row_index = 0  # calamine's current row and column, in the exact count
        self.col_index = 0

    def feed(self, xml: bytes) -> bool:
        """Take in the next piece of XML; False when the quick count cannot read it
        (a cell or row without ``r="..."`` first): then only the exact count can."""
        if self.exact:
            self._exactly(xml)
            return True
        cells = self.cell.findall(xml)
        rows = self.row.findall(xml)
        if b"" in cells or b"" in rows:
            return False
        for reference in set(cells):
            self._cell(reference)
        for number in rows:
            self.max_row = max(self.max_row, int(number))
        return True

    def _cell(self, reference: bytes) -> None:
        letters = reference.rstrip(b"0123456789")
        digits = reference[len(letters):]
        self.max_col = max(self.max_col, letters_to_index(letters.decode()) + 1)
        if digits:
            self.max_row = max(self.max_row, int(digits))

    def _exactly(self, xml: bytes) -> None:
        """Positions as calamine gives them: a row's ``r`` sets the row, each ``</row>``
        moves to the next; a cell's ``r`` sets its place, a cell without one follows
        the previous cell of its row."""
        for closing, tag, attributes in _TAG.findall(xml):
            if tag == b"row":
                if closing:
                    self.row_index += 1
                    self.col_index = 0
                    continue
                found = _REFERENCE.search(attributes)
                if found and found.group(2):
                    self.row_index = int(found.group(2)[:19]) - 1
                self.max_row = max(self.max_row, self.row_index + 1)
                if attributes.endswith(b"/"):  # <row r="5"/>: opened and closed
                    self.row_index += 1
                    self.col_index = 0
                continue
            if closing:
                continue
            found = _REFERENCE.search(attributes)
            row = self.row_index
            if found and found.group(1):
                self.col_index = letters_to_index(found.group(1)[:12].decode())
                if found.group(2):
                    row = int(found.group(2)[:19]) - 1
            self.max_row = max(self.max_row, row + 1)
            self.max_col = max(self.max_col, self.col_index + 1)
            self.col_index += 1

    def bounds(self) -> tuple[int, int]:
        """The furthest row and column; unless exact, as far as the references too
        short to be read (fewer digits or letters than the thresholds) may reach."""
        rows, cols = self.max_row, self.max_col
        if not self.exact:
            rows = max(rows, 10 ** (self.row_digits - 1) - 1)
            if self.letters > 1:
                cols = max(cols, letters_to_index("Z" * (self.letters - 1)) + 1)
        return rows, cols

    def check(self, source: Source) -> bool:
        """Raise if over a limit; False when only an exact count can tell (then rescan)."""
        limits = self.limits
        rows, cols = self.bounds()
        if self.max_row > limits.max_rows + 1:
            raise InputError([too_many_rows(source, self.max_row, limits)])
        if self.max_col > limits.max_columns:
            raise InputError([too_many_columns(source, self.max_col, limits)])
        if rows * cols > limits.max_cells:
            if not self.exact:
                return False
            raise InputError([too_many_cells(source, rows, cols, limits)])
        return True


def _column_name(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The XML again, cut just before the last cell (or tag) of each chunk, so that no
    cell is ever split between two pieces."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        low = max(0, len(data) - 65536)
        cut = max(data.rfind(b"<c", low), data.rfind(b":c", low))
        if cut > 0 and data[cut] == 58:  # ":": the tag starts at the "<" before it
            cut = data.rfind(b"<", low, cut)
        if cut <= 0:
            cut = data.rfind(b"<", low)
        if cut <= 0:
            cut = len(data)
        carry = data[cut:]
        yield data[:cut]
    if carry:
        yield carry


# a tag with a namespace prefix (<x:c>, <x:row>, <x:f>): rare, read by the exact count
_PREFIXED = re.compile(rb":(?:c|row|f)[\s>/]")
_PREFIXED_TAG = re.compile(rb"<[A-Za-z_][\w.-]*:(c|row|f)[\s>/]")


def scan_sheet(chunks: Iterable[bytes], source: Source, limits: Limits, *,
               rescan: Callable[[], Iterable[bytes]] | None = None) -> list[str]:
    """Check the sheet's extent; return the cells holding a formula with no saved value.

    ``chunks`` is the sheet's XML, streamed; ``rescan()`` gives it again from the
    start, for the exact count when the quick one cannot decide (a tag it does not
    read, or a sheet whose shorter references could add up to too many cells: more
    than about 100 columns).
    """
    extent = _Extent(limits)
    missing: list[str] = []
    quick = True
    for piece in _pieces(chunks):
        prefixed = _PREFIXED.search(piece) is not None
        if (prefixed and _PREFIXED_TAG.search(piece)) or not extent.feed(piece):
            quick = False  # a tag the quick count does not read
            break
        _formulas(piece, missing, prefixed)
    if quick and extent.check(source):
        return missing
    if rescan is None:
        raise _fail(source, "the sheet's size cannot be checked", "export the workbook again")
    extent = _Extent(limits, exact=True)
    missing = []
    for piece in _pieces(rescan()):
        extent.feed(piece)
        _formulas(piece, missing, True)
    extent.check(source)
    return missing


def _formulas(piece: bytes, missing: list[str], prefixed: bool) -> None:
    if len(missing) < FORMULA_CELLS and (FORMULA.search(piece) or prefixed):
        for match in NO_CACHED_VALUE.finditer(piece):
            cell = match.group(1).decode()
            if cell not in missing:
                missing.append(cell)


def sheet_chunks(path: Path, part: str,
                 inflate: Callable[[Path, str, threading.Event | None], Iterable[bytes]]
                 ) -> Iterator[bytes]:
    """The part's XML as ``inflate`` gives it, refusing more bytes than the zip declares."""
    with zipfile.ZipFile(path) as archive:
        limit = archive.getinfo(part).file_size + (1 << 22)
    read = 0
    for chunk in inflate(path, part, None):
        read += len(chunk)
        if read > limit:
            raise _fail(Source(str(path)), "the sheet unpacks to more than its declared size "
                                           "(a damaged or malicious file)",
                        "export the workbook again from its source")
        yield chunk
