"""The partners file (``reconcile split --partners FILE``): delivery partners' names and addresses.

Stage: read. In: a CSV or xlsx file with a header row naming (in any case, with
spaces, ``_`` or ``-``) ``delivery partner id`` and ``name``, and optionally
``email`` and ``address``; DfE's "Delivery Partner ID" / "Delivery Partner Name"
headers are read too. Out: delivery partner id → :class:`~reconcile.model.PartnerDetails`,
or an :class:`~reconcile.errors.InputError` naming the file, sheet, row, column and
value of every bad row (nothing is written).

Why: declarations from DfE's API carry the delivery partner's id only, so without
this file a remittance would be headed with a 36-character id (issue 17). The file
is the lead provider's own list, so its names win over those the declarations carry.

Example (CSV)::

    delivery_partner_id,name,email,address
    dp-0001,North Hub,finance@north.example,"1 High St, Leeds LS1 1AA"
"""

from __future__ import annotations

from pathlib import Path

from reconcile.errors import InputError, Problem
from reconcile.model import PartnerDetails, Source
from reconcile.read.columns import Header, header_key, header_score
from reconcile.read.csvfile import read_csv
from reconcile.read.guard import check_file
from reconcile.read.table import Limits, RawRow, Table, each_chunk
from reconcile.read.values import BadValue, is_blank, parse_text, show_value
from reconcile.read.xlsx import read_sheet

#: field -> the headers that mean it
PARTNER_COLUMNS: dict[str, tuple[str, ...]] = {
    "delivery_partner_id": ("delivery_partner_id", "Delivery Partner ID", "id",
                            "partner_id"),
    "name": ("name", "Delivery Partner Name", "delivery_partner_name", "delivery_partner",
             "partner_name"),
    "email": ("email", "e-mail", "email_address", "Delivery Partner Email"),
    "address": ("address", "postal_address", "Delivery Partner Address"),
}
PARTNER_ALIASES = {header_key(alias): field for field, aliases in PARTNER_COLUMNS.items()
                   for alias in aliases}
#: the sheet read in a workbook (else the sheet whose header names these columns)
SHEET = "Partners"
#: longest text kept in a cell (a name or address longer than this is a mistake)
MAX_TEXT = 500


def read_partners(path: Path) -> dict[str, PartnerDetails]:
    """Every partner of the file, by id; an InputError listing every bad row."""
    name = str(path)
    limits = Limits.from_environment()
    kind = check_file(path, name, "partners")
    if kind == "json":
        raise InputError([Problem(Source(name), "a partners file is a table, not JSON",
                                  "give a .csv or .xlsx file with the columns "
                                  "delivery_partner_id, name, email, address")])

    def score(cells: RawRow) -> int:
        return header_score(cells, PARTNER_ALIASES)

    table: Table
    if kind == "xlsx":
        table = read_sheet(path, name, SHEET, limits)
    else:
        table = read_csv(path, name, limits, header_score=score)
    # every row now (a partners file is small), so a CSV's file is closed before any check
    every = [(row, number) for rows, numbers, _ in each_chunk(table)
             for row, number in zip(rows, numbers)]
    header = Header(table.header, PARTNER_ALIASES, table.header_source, table.letters)
    problems = list(header.problems)
    for field in ("delivery_partner_id", "name"):
        if field not in header.positions:
            problems.append(header.missing(field))
    if problems:
        raise InputError(problems)
    found: dict[str, PartnerDetails] = {}
    for row, number in every:
        values: dict[str, str | None] = {}
        for field, index in header.positions.items():
            raw = row[index] if index < len(row) else None
            where = Source(name, table.sheet, number, header.label(index))
            try:
                text = parse_text(raw)
            except BadValue as bad:
                problems.append(Problem(where, bad.what, bad.fix))
                continue
            if text is not None and len(text) > MAX_TEXT:
                problems.append(Problem(where, f"the {field.replace('_', ' ')} is "
                                        f"{len(text):,} characters long",
                                        f"shorten it to at most {MAX_TEXT}"))
                continue
            values[field] = text
        pid = values.get("delivery_partner_id")
        id_at = Source(name, table.sheet, number, header.column_of("delivery_partner_id"))
        if pid is None:
            if any(not is_blank(v) for v in row):
                problems.append(Problem(id_at, "the delivery partner id is blank",
                                        "type the partner's id as the declarations "
                                        "give it (e.g. DfE's delivery_partner_id)"))
            continue
        if pid in found:
            first = found[pid].source
            problems.append(Problem(id_at, f"delivery partner id {show_value(pid)} is "
                                    f"listed twice (also on row {first.row if first else '?'})",
                                    "keep one row per partner"))
            continue
        email = values.get("email")
        if email is not None and ("@" not in email or " " in email):
            problems.append(Problem(
                Source(name, table.sheet, number, header.column_of("email")),
                f"{show_value(email)} is not an email address",
                "write one address, e.g. finance@partner.example, or leave it blank"))
        found[pid] = PartnerDetails(pid, values.get("name"), email, values.get("address"),
                                    id_at)
    if problems:
        raise InputError(problems)
    if not found:
        raise InputError([Problem(table.header_source, "the partners file lists no partner",
                                  "add one row per delivery partner under the header")])
    return found
