"""Checks before parsing (read stage): is this file what it claims to be, and safe to open?

In: a path. Out: its kind (``xlsx``, ``csv``, ``json``), or an
:class:`~reconcile.errors.InputError` that says what the file really is and what to do.
The readers call these checks; :func:`reconcile.read.dispatch.open_table` picks the
reader of a file after them.

Refused, each with its own message: a missing or empty file; content that does not
match the extension (a CSV saved as ``.xlsx``, a workbook named ``.csv``); an old
Excel 97-2003 ``.xls``; an encrypted (password-protected) workbook; a damaged zip;
a zip that is not a workbook (``.docx``, ``.ods``); a zip bomb (declared
uncompressed size over :attr:`Limits.max_unzipped_bytes`, or a part that inflates
more than :attr:`Limits.max_ratio` times); a sheet over :attr:`Limits.max_rows`
rows or :attr:`Limits.max_columns` columns; a text file over
:attr:`Limits.max_text_bytes`. Limits (:class:`~reconcile.read.table.Limits`) can be
changed by environment variables (``RECONCILE_MAX_ROWS`` ...).

Example::

    kind = check_file(Path("decl.xlsx"), "decl.xlsx", "declarations")   # 'xlsx'
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.table import Limits

_ZIP = b"PK\x03\x04"
_EMPTY_ZIP = b"PK\x05\x06"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm")
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv")
JSON_EXTENSIONS = (".json",)


def _fail(name: str, what: str, fix: str) -> InputError:
    return InputError([Problem(Source(name), what, fix)])


def sniff(head: bytes) -> str:
    """What the first bytes say the file is: zip, ole, json, text, binary or empty."""
    if not head:
        return "empty"
    if head.startswith((_ZIP, _EMPTY_ZIP)):
        return "zip"
    if head.startswith(_OLE):
        return "ole"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text:
        return "blank"
    if text[:1] in (b"{", b"["):
        return "json"
    if b"\x00" in head[:4096]:
        return "binary"
    return "text"


def _is_encrypted(path: Path) -> bool:
    # An encrypted .xlsx is an OLE compound file holding an "EncryptionInfo" stream
    # (its directory entry names are UTF-16LE).
    with path.open("rb") as handle:
        data = handle.read(1 << 20)
    return "EncryptionInfo".encode("utf-16-le") in data or b"EncryptedPackage" in data \
        or "EncryptedPackage".encode("utf-16-le") in data


def check_file(path: Path, name: str, expected: str) -> str:
    """The file's real kind ('xlsx', 'csv' or 'json'), or an InputError saying why not.

    ``expected`` is what the caller reads ("declarations" or "DfE statements"), for messages.
    """
    if not path.exists():
        raise _fail(name, "file not found", "check the path and the file name")
    if path.is_dir():
        raise _fail(name, "this is a folder, not a file", f"give the {expected} file itself")
    suffix = path.suffix.lower()
    with path.open("rb") as handle:
        head = handle.read(8192)
    kind = sniff(head)
    if kind in ("empty", "blank"):
        raise _fail(name, "the file is empty",
                    f"export the {expected} again (the file has no content)")
    if kind == "ole":
        if _is_encrypted(path):
            raise _fail(name, "the workbook is encrypted (password-protected), so it cannot be read",
                        "open it in Excel, remove the password (File > Info > Protect Workbook > "
                        "Encrypt with Password, clear it) and save it as .xlsx")
        raise _fail(name, "this is an old Excel 97-2003 workbook (.xls), which is not read",
                    "open it in Excel and save it as 'Excel Workbook (.xlsx)'")
    if suffix == ".xls":
        raise _fail(name, "files named .xls are not read",
                    "open it in Excel and save it as 'Excel Workbook (.xlsx)'")
    if suffix in WORKBOOK_EXTENSIONS:
        if kind == "zip":
            return "xlsx"
        if kind == "text":
            raise _fail(name, f"the file is named {suffix} but it is plain text (CSV?), not a workbook",
                        "rename it to .csv, or open it in Excel and save it as .xlsx")
        if kind == "json":
            raise _fail(name, f"the file is named {suffix} but it holds JSON, not a workbook",
                        "rename it to .json")
        raise _fail(name, f"the file is named {suffix} but it is not an Excel workbook "
                          "(it is damaged or of another kind)",
                    "open it in Excel and save it again as 'Excel Workbook (.xlsx)'")
    if suffix in TEXT_EXTENSIONS:
        if kind == "zip":
            raise _fail(name, f"the file is named {suffix} but it is a workbook or other zip file",
                        "rename it to .xlsx if it is an Excel workbook, or save it as CSV")
        if kind == "json":
            raise _fail(name, f"the file is named {suffix} but it holds JSON",
                        "rename it to .json")
        if kind == "binary":
            raise _fail(name, f"the file is named {suffix} but it is not text",
                        "export the data again as CSV")
        return "csv"
    if suffix in JSON_EXTENSIONS:
        if kind == "json":
            return "json"
        if kind == "zip":
            raise _fail(name, "the file is named .json but it is a workbook or other zip file",
                        "rename it to .xlsx if it is an Excel workbook")
        raise _fail(name, "the file is named .json but does not start with '{' or '['",
                    "give the JSON exactly as the API returned it")
    raise _fail(name, f"files named {suffix or '(no extension)'} are not read",
                "give an .xlsx workbook, a .csv file or the API's .json")


def check_zip(path: Path, name: str, limits: Limits) -> zipfile.ZipFile:
    """Open a workbook's zip after checking it is a workbook and not a zip bomb."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _fail(name, f"the workbook is damaged and cannot be opened ({exc})",
                    "open it in Excel and save it again as 'Excel Workbook (.xlsx)', "
                    "or export it again") from None
    try:
        members = archive.infolist()
        names = {m.filename for m in members}
        if "xl/workbook.xml" not in names:
            what = "an OpenDocument spreadsheet (.ods)" if "content.xml" in names else (
                "a Word document" if "word/document.xml" in names else "a zip file")
            raise _fail(name, f"this is {what}, not an Excel workbook",
                        "open it in Excel (or LibreOffice) and save it as 'Excel Workbook (.xlsx)'")
        total = sum(m.file_size for m in members)
        if total > limits.max_unzipped_bytes:
            raise _fail(name, f"the workbook would unpack to {total / 1024 ** 2:,.0f} MB, more "
                              f"than the limit of {limits.max_unzipped_bytes / 1024 ** 2:,.0f} MB "
                              "(a damaged or malicious file, or far too much data)",
                        "check the file; split a genuinely large workbook, or raise the limit "
                        "with RECONCILE_MAX_UNZIPPED_BYTES")
        for member in members:
            if member.file_size > limits.ratio_floor and \
                    member.file_size > limits.max_ratio * max(member.compress_size, 1):
                raise _fail(name, f"the part {member.filename} inflates "
                                  f"{member.file_size // max(member.compress_size, 1):,} times "
                                  "(a zip bomb or a damaged file)",
                            "do not use this file; export the workbook again from its source")
            if member.flag_bits & 0x1:
                raise _fail(name, "the workbook's zip is encrypted",
                            "save it again from Excel without a password")
    except InputError:
        archive.close()
        raise
    return archive
