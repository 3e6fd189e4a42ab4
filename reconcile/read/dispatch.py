"""The reader of a declarations file (read stage): the checks of :mod:`.guard`, then
the workbook, CSV or API JSON reader its kind calls for.

In: a path. Out: the file's :class:`~reconcile.read.table.Table`, or an
:class:`~reconcile.errors.InputError` saying what is wrong and what to do.

Example::

    table = open_table(Path("decl.xlsx"), "Declarations")
"""

from __future__ import annotations

from pathlib import Path

from reconcile.errors import InputError, Problem
from reconcile.model import Source
from reconcile.read.apijson import read_declarations_json
from reconcile.read.columns import DECLARATION_ALIASES, header_score
from reconcile.read.csvfile import read_csv
from reconcile.read.guard import check_file
from reconcile.read.table import Limits, RawRow, Table
from reconcile.read.xlsx import stream_sheet


def _score(cells: RawRow) -> int:
    """The header row is the one naming most declaration columns."""
    return header_score(cells, DECLARATION_ALIASES)


def open_table(path: Path, sheet: str, *, limits: Limits | None = None,
               json_kind: str = "declarations", sheet_required: bool = False) -> Table:
    """The table of a declarations input, after :func:`~.guard.check_file`.

    ``sheet_required``: the sheet was named by the user (``--sheet``): a workbook
    without it is an error naming its sheets.
    """
    limits = limits or Limits.from_environment()
    name = str(path)
    kind = check_file(path, name, "declarations")
    if kind == "xlsx":
        # rows in chunks: a sheet can be big
        return stream_sheet(path, name, sheet, limits, required=sheet_required,
                            header_score=_score)
    size = path.stat().st_size
    if size > limits.max_text_bytes:
        raise InputError([Problem(
            Source(name), f"the file is {size / 1024 ** 2:,.0f} MB, more than the limit of "
                          f"{limits.max_text_bytes / 1024 ** 2:,.0f} MB",
            "split it, or raise the limit with RECONCILE_MAX_TEXT_BYTES")])
    if kind == "csv":
        return read_csv(path, name, limits, header_score=_score)
    return read_declarations_json(path, name, limits)
