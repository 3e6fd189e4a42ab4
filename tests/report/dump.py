"""A rendered workbook as text, cell by cell, read back with openpyxl (for golden files).

Per sheet: its view (frozen panes, filter, charts, conditional formats), then every
non-empty cell as ``A1 <TAB> value-or-formula <TAB> number format``. Strings are
JSON-quoted so that spaces and a leading ``=`` show; formulas start with ``=`` unquoted.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl


def dump_workbook(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    out: list[str] = []
    for ws in wb.worksheets:
        charts = len(getattr(ws, "_charts", ()))
        rules = sum(len(r.rules) for r in ws.conditional_formatting)
        out.append(f"== {ws.title} | freeze {ws.freeze_panes} | filter {ws.auto_filter.ref} "
                   f"| charts {charts} | conditional formats {rules}")
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None:
                    continue
                out.append(f"{cell.coordinate}\t{_show(cell)}\t{cell.number_format}")
    return "\n".join(out) + "\n"


def _show(cell) -> str:
    value = cell.value
    if cell.data_type == "f":
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return repr(value)
