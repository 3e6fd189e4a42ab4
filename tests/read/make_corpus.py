"""Generate the reader test corpus: good inputs in every accepted form, and bad inputs.

Run by hand from the repository root (the committed files are what the tests use)::

    .venv/bin/python tests/read/make_corpus.py

``tests/read/good/`` holds one small set of declarations (DECLARATIONS below) written
as an xlsx, a CSV with and without a byte-order mark, a Windows-1252 CSV, the v3 API
JSON (one page and a list of pages) and a DfE assurance report, plus DfE statements as
a workbook and as API JSON. ``tests/read/bad/`` holds one file per mistake, and
``tests/read/bad/manifest.json`` says for each: the CLI option it is given to, the
place the error must name, a phrase the message must contain, and environment
variables for the run (the huge-sheet case lowers the row limit).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import struct
import sys
import zipfile
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good"
BAD = HERE / "bad"
CREATED = dt.datetime(2024, 1, 1)

LP = "Example Teaching Institute"
# statement id, name, cohort, cut-off, payment date, output fee
STATEMENTS = [
    ("s-nov23", "November 2023", 2023, "2023-10-31", "2023-11-25", True),
    ("s-jan24", "January 2024", 2023, "2023-12-31", "2024-01-25", True),
    ("s-apr24", "April 2024", 2023, "2024-03-31", "2024-04-25", True),
]
NAMES = {s[0]: s[1] for s in STATEMENTS}

# id, participant, course, type, date, state, created_at, statement, clawback statement,
# dp id, dp name, pupil premium, sparsity, TRN
DECLARATIONS = [
    ("d-0001", "p-001", "ecf-induction", "started", "2023-10-02", "paid",
     "2023-10-03T09:15:00Z", "s-nov23", None, "dp-1", "North Partners", True, False, "1234567"),
    ("d-0002", "p-002", "ecf-induction", "started", "2023-10-05", "awaiting-clawback",
     "2023-10-06T10:00:00Z", "s-nov23", "s-jan24", "dp-1", "North Partners", False, True,
     "2345678"),
    ("d-0003", "p-003", "ecf-mentor", "started", "2023-11-20", "eligible",
     "2023-11-21T08:30:00Z", "s-jan24", None, "dp-2", "South Partners", False, False, "3456789"),
    ("d-0004", "p-001", "ecf-induction", "retained-1", "2024-01-15", "payable",
     "2024-01-16T12:00:00Z", "s-apr24", None, "dp-1", "North Partners", True, False, "1234567"),
    ("d-0005", "p-004", "ecf-mentor", "started", "2023-10-10", "clawed-back",
     "2023-10-11T16:45:00Z", "s-nov23", "s-jan24", "dp-2", "South Partners", False, False,
     "4567890"),
    ("d-0006", "p-005", "ecf-induction", "started", "2023-12-01", "voided",
     "2023-12-02T11:00:00Z", None, None, "dp-2", "Søuth Partners", False, False, "5678901"),
]
COLUMNS = ["declaration_id", "participant_id", "course_identifier", "declaration_type",
           "declaration_date", "state", "cohort", "lead_provider", "created_at", "statement_id",
           "statement_name", "clawback_statement_id", "clawback_statement_name",
           "delivery_partner_id", "delivery_partner_name", "pupil_premium_uplift",
           "sparsity_uplift", "schedule_identifier", "teacher_reference_number"]


def own_rows() -> list[list]:
    """DECLARATIONS in our own columns (INTERFACES.md §2), as text."""
    rows = []
    for (did, pid, course, dtype, date, state, created, sid, cid, dpid, dpname, pp, sp,
         trn) in DECLARATIONS:
        rows.append([did, pid, course, dtype, date, state, "2023", LP, created, sid or "",
                     NAMES.get(sid, ""), cid or "", NAMES.get(cid, ""), dpid, dpname,
                     "TRUE" if pp else "FALSE", "TRUE" if sp else "FALSE",
                     "ecf-standard-september", trn])
    return rows


def _book(path: Path) -> xlsxwriter.Workbook:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False})
    book.set_properties({"created": CREATED})
    return book


def write_xlsx(path: Path, header, rows, sheet="Declarations", *, typed=True, extra=None):
    """A declarations workbook; ``typed`` writes dates as date cells and flags as booleans."""
    book = _book(path)
    date_format = book.add_format({"num_format": "dd/mm/yyyy"})
    moment_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    ws = book.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            name = header[c] if c < len(header) else ""
            if typed and name == "declaration_date" and re.fullmatch(r"\d{4}-\d\d-\d\d", value):
                ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date_format)
            elif typed and name == "created_at" and value.endswith("Z"):
                ws.write_datetime(r, c, dt.datetime.fromisoformat(value[:-1]), moment_format)
            elif typed and name in ("pupil_premium_uplift", "sparsity_uplift") and value in (
                    "TRUE", "FALSE"):
                ws.write_boolean(r, c, value == "TRUE")
            elif typed and name == "cohort" and value.isdigit():
                ws.write_number(r, c, int(value))
            elif value == "":
                continue
            else:
                ws.write_string(r, c, value)
    if extra:
        extra(book, ws)
    book.close()


def write_csv(path: Path, header, rows, *, encoding="utf-8", delimiter=","):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


ASSURANCE_HEADER = [
    "Participant ID", "Participant Name", "TRN", "Type", "Mentor Profile ID", "Schedule",
    "Eligible For Funding", "Eligible For Funding Reason", "Sparsity Uplift",
    "Pupil Premium Uplift", "Sparsity And Pp", "Lead Provider Name", "Delivery Partner Name",
    "School Urn", "School Name", "Training Status", "Training Status Reason", "Declaration ID",
    "Declaration Status", "Declaration Type", "Declaration Date", "Declaration Created At",
    "Statement Name", "Statement ID", "Uplift Payable"]


def assurance_rows() -> list[list]:
    """The DfE assurance report: one row per statement line item, so a clawed-back
    declaration appears as paid on its first statement and again on its clawback one."""
    rows = []
    for (did, pid, course, dtype, date, state, created, sid, cid, _dpid, dpname, pp, sp,
         trn) in DECLARATIONS:
        kind = "ect" if course == "ecf-induction" else "mentor"
        base = [pid, f"Name {pid}", trn, kind, "", "ecf-standard-september", "true", "",
                str(sp).lower(), str(pp).lower(), str(pp and sp).lower(), LP, dpname,
                "100001", "A School", "active", "", did]
        tail = [dtype, f"{date}T00:00:00Z", created]
        if cid:  # paid on its first statement, refundable on its clawback statement
            rows.append(base + ["paid"] + tail + [NAMES[sid], sid, str(pp or sp).lower()])
            rows.append(base + [state.replace("-", "_")] + tail
                        + [NAMES[cid], cid, str(pp or sp).lower()])
        else:
            rows.append(base + [state.replace("-", "_")] + tail
                        + [NAMES.get(sid, ""), sid or "", str(pp or sp).lower()])
    return rows


def api_resources() -> list[dict]:
    resources = []
    for (did, pid, course, dtype, date, state, created, sid, cid, dpid, _dpname, pp, sp,
         _trn) in DECLARATIONS:
        resources.append({"id": did, "type": "participant-declaration", "attributes": {
            "participant_id": pid, "declaration_type": dtype,
            "declaration_date": f"{date}T00:00:00.000Z", "course_identifier": course,
            "state": state, "updated_at": created, "created_at": created,
            "delivery_partner_id": dpid, "statement_id": sid, "clawback_statement_id": cid,
            "ineligible_for_funding_reason": None, "mentor_id": None,
            "uplift_paid": bool(dtype == "started" and (pp or sp) and state != "voided"),
            "evidence_held": "training-event-attended", "has_passed": None,
            "lead_provider_name": LP}})
    return resources


def statements_json() -> dict:
    data = []
    for sid, name, cohort, cut, pay, _output in STATEMENTS:
        month, year = name.split()
        data.append({"id": sid, "type": "statement", "attributes": {
            "month": month, "year": year, "type": "ecf", "cohort": str(cohort),
            "cut_off_date": cut, "payment_date": pay, "paid": pay < "2024-02-01",
            "created_at": "2023-06-01T00:00:00Z", "updated_at": "2023-06-01T00:00:00Z"}})
    return {"data": data}


STATEMENT_HEADER = ["statement_id", "lead_provider", "cohort", "name", "cut_off_date",
                    "payment_date", "output_fee", "paid", "vat_chargeable", "total"]
LINE_HEADER = ["statement_id", "line_type", "participant_type", "declaration_type", "band",
               "count", "fee_per_declaration", "amount", "description"]
STATEMENT_ROWS = [
    ["s-nov23", LP, 2023, "November 2023", "2023-10-31", "2023-11-25", True, True, True,
     "1500.48"],
    ["s-jan24", LP, 2023, "January 2024", "2023-12-31", "2024-01-25", True, True, True, None],
    ["s-apr24", LP, 2023, "April 2024", "2024-03-31", "2024-04-25", True, False, True, None],
]
LINE_ROWS = [
    ["s-nov23", "output", "ect", "started", "A", 2, 119.4, 238.8, None],
    ["s-nov23", "uplift", None, None, None, 2, 100, 200, None],
    ["s-nov23", "service_fee", None, None, None, None, None, 811.6, None],
    ["s-nov23", "vat", None, None, None, None, None, 250.08, None],
    ["s-jan24", "clawback", "ect", "started", "A", 1, 119.4, -119.4, "d-0002"],
    ["s-jan24", "adjustment", None, None, None, None, None, "-25.00", "manual correction"],
]


def write_statements(path: Path, statements=STATEMENT_ROWS, lines=LINE_ROWS, *,
                     statement_header=STATEMENT_HEADER, line_header=LINE_HEADER,
                     sheets=("Statements", "Lines")):
    book = _book(path)
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for sheet_name, header, rows in zip(sheets, (statement_header, line_header),
                                        (statements, lines)):
        ws = book.add_worksheet(sheet_name)
        ws.write_row(0, 0, header)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d", value) and \
                        header[c].endswith("_date"):
                    ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date_format)
                else:
                    ws.write(r, c, value)
    book.close()


# --- bad files ------------------------------------------------------------------------

def _replace_in_zip(path: Path, part: str, change) -> None:
    """Rewrite one part of a zip (to make what xlsxwriter will not write)."""
    with zipfile.ZipFile(path) as source:
        items = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in items:
            if info.filename == part:
                data = change(data)
            target.writestr(info, data)


def _declared_size_bomb(path: Path) -> None:
    """A small zip whose central directory declares parts of ~4 GB each."""
    write_xlsx(path, COLUMNS, own_rows())
    data = bytearray(path.read_bytes())
    start = data.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", data, start + 16)[0]
    position = cd_offset
    while data[position:position + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, position + 28)
        struct.pack_into("<I", data, position + 24, 0xF0000000)  # uncompressed size
        position += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))


def _ratio_bomb(path: Path) -> None:
    """A workbook with a part that inflates over a thousand times (60 MB of zeros)."""
    write_xlsx(path, COLUMNS, own_rows())
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("xl/media/image1.bin", (2024, 1, 1, 0, 0, 0)),
                         b"\0" * (60 * 1024 * 1024), compress_type=zipfile.ZIP_DEFLATED,
                         compresslevel=9)


def _ole(path: Path, encrypted: bool) -> None:
    """The start of an OLE compound file (old .xls, or an encrypted .xlsx)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    names = ("EncryptionInfo", "EncryptedPackage") if encrypted else ("Workbook",)
    entries = b"".join(name.encode("utf-16-le").ljust(128, b"\0") for name in names)
    path.write_bytes(header + entries + b"\0" * 1024)


def _formulas(path: Path) -> None:
    def extra(book, ws):
        ws.write_formula(2, 6, "=2022+1")   # G3: cohort as a formula
        ws.write_formula(4, 6, "=2022+1")   # G5
    write_xlsx(path, COLUMNS, own_rows(), extra=extra)
    # xlsxwriter stores a cached value 0; remove it as a program that never
    # calculated the sheet would (a formula with no saved value).
    _replace_in_zip(path, "xl/worksheets/sheet1.xml",
                    lambda xml: re.sub(rb"(</f>)<v>0</v>", rb"\1", xml))


def _merged(path: Path) -> None:
    def extra(book, ws):
        ws.merge_range("F4:F5", "paid")
    write_xlsx(path, COLUMNS, own_rows(), extra=extra)


def _changed(rows, row, column, value):
    rows = [list(r) for r in rows]
    rows[row][COLUMNS.index(column)] = value
    return rows


def bad_files() -> dict[str, dict]:
    """Write every bad file; return the manifest."""
    rows = own_rows()
    m: dict[str, dict] = {}

    def case(name, where, says, option="--declarations", env=None):
        m[name] = {"option": option, "where": where, "says": says, **({"env": env} if env else {})}

    def csv_case(name, data_rows, where, says, header=COLUMNS, **kw):
        write_csv(BAD / name, header, data_rows, **kw)
        case(name, where, says)

    csv_case("misspelt_state.csv", _changed(rows, 1, "state", "payed"),
             "row 3, column state", "did you mean")
    csv_case("misspelt_type.csv", _changed(rows, 0, "declaration_type", "retained1"),
             "row 2, column declaration_type", "did you mean 'retained-1'")
    csv_case("state_with_spaces_typo.csv", _changed(rows, 4, "state", "awaiting clawbak"),
             "row 6, column state", "awaiting-clawback")
    csv_case("bad_date.csv", _changed(rows, 2, "declaration_date", "2023-13-01"),
             "row 4, column declaration_date", "not a real date")
    csv_case("us_date.csv", _changed(rows, 3, "declaration_date", "01/15/2024"),
             "row 5, column declaration_date", "month/day/year")
    csv_case("bad_created_at.csv", _changed(rows, 0, "created_at", "yesterday"),
             "row 2, column created_at", "not a date")
    csv_case("missing_column.csv", [r[:3] + r[4:] for r in rows],
             "row 1", "'declaration_type' is missing",
             header=COLUMNS[:3] + COLUMNS[4:])
    csv_case("misspelt_header.csv", rows, "row 1", "closest header present is 'declaraton_date'",
             header=[("declaraton_date" if c == "declaration_date" else c) for c in COLUMNS])
    csv_case("duplicate_header.csv", [r + ["paid"] for r in rows], "column state",
             "appears twice", header=COLUMNS + ["State"])
    csv_case("duplicate_ids.csv", _changed(rows, 3, "declaration_id", "d-0001"),
             "row 5, column declaration_id", "appears in rows 2 and 5")
    csv_case("bad_boolean.csv", _changed(rows, 2, "pupil_premium_uplift", "maybe"),
             "row 4, column pupil_premium_uplift", "not true or false")
    csv_case("blank_participant.csv", _changed(rows, 4, "participant_id", "  "),
             "row 6, column participant_id", "blank")
    csv_case("non_integer_cohort.csv", _changed(rows, 1, "cohort", "2022.5"),
             "row 3, column cohort", "not a whole number")
    csv_case("cohort_not_a_year.csv", _changed(rows, 1, "cohort", "23"),
             "row 3, column cohort", "not a cohort start year")
    csv_case("wrong_course.csv", _changed(rows, 2, "course_identifier", "ecf-mentoring"),
             "row 4, column course_identifier", "did you mean 'ecf-mentor'")
    csv_case("wrong_delimiter.csv", rows, "row 1", "separated by '|'", delimiter="|")
    ragged = [list(r) for r in rows]
    ragged[2] = ragged[2] + ["extra", "values"]
    csv_case("ragged_row.csv", ragged, "row 4", "values but the header has")
    (BAD / "unterminated_quote.csv").write_text(
        ",".join(COLUMNS) + "\r\n" + ",".join(rows[0]) + "\r\n" + '"d-0002,p-002\r\n',
        encoding="utf-8")
    case("unterminated_quote.csv", "row 3", "cannot be read here")
    (BAD / "empty.csv").write_bytes(b"")
    case("empty.csv", "empty.csv", "the file is empty")
    (BAD / "blank_lines.csv").write_text("\r\n\r\n  \r\n", encoding="utf-8")
    case("blank_lines.csv", "blank_lines.csv", "the file is empty")
    write_csv(BAD / "header_only.csv", COLUMNS, [])
    case("header_only.csv", "row 1", "no declarations below the header")
    (BAD / "binary.csv").write_bytes(b"\x00\x01\x02PK" * 100)
    case("binary.csv", "binary.csv", "not text")
    write_csv(BAD / "declarations.json.csv", COLUMNS, rows)
    (BAD / "csv_named.json").write_bytes((BAD / "declarations.json.csv").read_bytes())
    (BAD / "declarations.json.csv").unlink()
    case("csv_named.json", "csv_named.json", "does not start with")

    # assurance report mistakes
    write_csv(BAD / "ECF-Declarations-LP-Cohort2023-type_mismatch.csv", ASSURANCE_HEADER + [
        "Course Identifier"], [r + ["ecf-induction"] for r in assurance_rows()])
    case("ECF-Declarations-LP-Cohort2023-type_mismatch.csv", "row 5, column Type",
         "does not match the course")
    pair = assurance_rows()
    pair[2][0] = "p-999"  # the clawback row of d-0002 names another participant
    write_csv(BAD / "ECF-Declarations-LP-Cohort2023-pair_mismatch.csv", ASSURANCE_HEADER, pair)
    case("ECF-Declarations-LP-Cohort2023-pair_mismatch.csv", "row 4, column Participant ID",
         "participant_id values differ")
    write_csv(BAD / "assurance-report-no-cohort.csv", ASSURANCE_HEADER, assurance_rows())
    case("assurance-report-no-cohort.csv", "row 2, column cohort", "no cohort column")

    # workbooks
    write_xlsx(BAD / "text_date_weird.xlsx", COLUMNS,
               _changed(rows, 1, "declaration_date", "5th Oct 2023"))
    case("text_date_weird.xlsx", "sheet Declarations, row 3, column declaration_date (E)",
         "'5th Oct 2023' is not a date")
    write_xlsx(BAD / "number_as_date.xlsx", COLUMNS, rows,
               extra=lambda book, ws: ws.write_number(6, 4, 12))
    case("number_as_date.xlsx", "sheet Declarations, row 7, column declaration_date (E)",
         "is a number, not a date")
    write_xlsx(BAD / "blank_required.xlsx", COLUMNS, _changed(rows, 2, "declaration_type", ""))
    case("blank_required.xlsx", "sheet Declarations, row 4, column declaration_type (D)",
         "required value is blank")
    write_xlsx(BAD / "many_errors.xlsx", COLUMNS,
               [_changed(rows, 0, "state", "unknown")[0]] * 300)
    case("many_errors.xlsx", "sheet Declarations, row 2, column state (F)",
         "the same in rows 3, 4, 5, 6, 7 and 294 more")
    (BAD / "not_a_zip.xlsx").write_bytes((",".join(COLUMNS) + "\r\n").encode())
    case("not_a_zip.xlsx", "not_a_zip.xlsx", "plain text (CSV?)")
    (BAD / "damaged.xlsx").write_bytes(b"PK\x03\x04" + b"\x14\x00" * 40)
    case("damaged.xlsx", "damaged.xlsx", "damaged")
    with zipfile.ZipFile(BAD / "ods_named.xlsx", "w") as archive:
        for part, text in (("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
                           ("content.xml", "<office:document-content/>")):
            archive.writestr(zipfile.ZipInfo(part, (2024, 1, 1, 0, 0, 0)), text)
    case("ods_named.xlsx", "ods_named.xlsx", "OpenDocument")
    _ole(BAD / "encrypted.xlsx", encrypted=True)
    case("encrypted.xlsx", "encrypted.xlsx", "encrypted (password-protected)")
    _ole(BAD / "old_format.xls", encrypted=False)
    case("old_format.xls", "old_format.xls", "Excel 97-2003")
    _declared_size_bomb(BAD / "zip_bomb_declared.xlsx")
    case("zip_bomb_declared.xlsx", "zip_bomb_declared.xlsx", "would unpack to")
    _ratio_bomb(BAD / "zip_bomb_ratio.xlsx")
    case("zip_bomb_ratio.xlsx", "zip_bomb_ratio.xlsx", "zip bomb")
    _formulas(BAD / "formulas_no_cached_value.xlsx")
    case("formulas_no_cached_value.xlsx", "sheet Declarations, row 3, column G",
         "formula with no saved value (G3, G5)")
    _merged(BAD / "merged_cells.xlsx")
    case("merged_cells.xlsx", "sheet Declarations, row 4, column F", "F4:F5 are merged")
    write_xlsx(BAD / "huge_sheet.xlsx", COLUMNS, rows * 12)
    case("huge_sheet.xlsx", "sheet Declarations", "more than the limit of 50",
         env={"RECONCILE_MAX_ROWS": "50"})
    book = _book(BAD / "empty_sheet.xlsx")
    book.add_worksheet("Declarations")
    book.close()
    case("empty_sheet.xlsx", "sheet Declarations", "the sheet is empty")

    # API JSON
    text = json.dumps({"data": api_resources()}, indent=2)
    (BAD / "truncated.json").write_text(text[: len(text) // 2], encoding="utf-8")
    case("truncated.json", "truncated.json:", "cut short")
    (BAD / "wrong_shape.json").write_text(json.dumps({"declarations": api_resources()}),
                                          encoding="utf-8")
    case("wrong_shape.json", "wrong_shape.json", "no 'data' key")
    wrong = api_resources()
    wrong[3]["attributes"]["declaration_date"] = 20240115
    (BAD / "wrong_field_type.json").write_text(json.dumps({"data": wrong}), encoding="utf-8")
    case("wrong_field_type.json", "row 4, column attributes.declaration_date",
         "20240115 is not valid here")
    wrong = api_resources()
    del wrong[1]["attributes"]
    (BAD / "no_attributes.json").write_text(json.dumps({"data": wrong}), encoding="utf-8")
    case("no_attributes.json", "row 2, column attributes", "'attributes' is missing")
    wrong = api_resources()
    wrong[2]["attributes"]["state"] = "clawedback"
    (BAD / "bad_state-cohort2023.json").write_text(json.dumps({"data": wrong}), encoding="utf-8")
    case("bad_state-cohort2023.json", "row 3, column state", "did you mean 'clawed-back'")
    (BAD / "statements_as_declarations.json").write_text(json.dumps(statements_json()),
                                                         encoding="utf-8")
    case("statements_as_declarations.json", "row 1, column type", "these are statements")
    (BAD / "error_response.json").write_text(json.dumps(
        {"errors": [{"title": "Unauthorized", "detail": "HTTP Token: Access denied"}]}),
        encoding="utf-8")
    case("error_response.json", "error_response.json", "API error response")

    # DfE statements
    s = "--dfe-statements"
    write_statements(BAD / "statements_unknown_statement.xlsx",
                     lines=LINE_ROWS + [["s-may24", "output", "ect", "started", "A", 1, 119.4,
                                         119.4, None]])
    case("statements_unknown_statement.xlsx", "sheet Lines, row 8, column statement_id (A)",
         "'s-may24' is not on the Statements sheet", s)
    lines = [list(r) for r in LINE_ROWS]
    lines[1][1] = "uplifts"
    write_statements(BAD / "statements_bad_line_type.xlsx", lines=lines)
    case("statements_bad_line_type.xlsx", "sheet Lines, row 3, column line_type (B)",
         "did you mean 'uplift'", s)
    lines = [list(r) for r in LINE_ROWS]
    lines[0][7] = "23B.80"
    write_statements(BAD / "statements_bad_amount.xlsx", lines=lines)
    case("statements_bad_amount.xlsx", "sheet Lines, row 2, column amount (H)",
         "not an amount of money", s)
    lines = [list(r) for r in LINE_ROWS]
    lines[4][5] = 1.5
    write_statements(BAD / "statements_fractional_count.xlsx", lines=lines)
    case("statements_fractional_count.xlsx", "sheet Lines, row 6, column count (F)",
         "not a whole number", s)
    write_statements(BAD / "statements_missing_sheet.xlsx", sheets=("Sheet1", "Lines"))
    case("statements_missing_sheet.xlsx", "statements_missing_sheet.xlsx",
         "no sheet named 'Statements'", s)
    statements = [list(r) for r in STATEMENT_ROWS]
    statements[2][0] = "s-jan24"
    write_statements(BAD / "statements_duplicate_id.xlsx", statements=statements)
    case("statements_duplicate_id.xlsx", "sheet Statements, row 4, column statement_id (A)",
         "also in row 3", s)
    statements = [list(r) for r in STATEMENT_ROWS]
    statements[1][5] = "31/02/2024"
    write_statements(BAD / "statements_bad_date.xlsx", statements=statements)
    case("statements_bad_date.xlsx", "sheet Statements, row 3, column payment_date (F)",
         "not a real date", s)
    statements = [list(r) for r in STATEMENT_ROWS]
    statements[0][6] = None
    write_statements(BAD / "statements_blank_output_fee.xlsx", statements=statements)
    case("statements_blank_output_fee.xlsx", "sheet Statements, row 2, column output_fee (G)",
         "required value is blank", s)
    wrong = statements_json()
    wrong["data"][1]["attributes"]["paid"] = "yes"
    (BAD / "statements_wrong_type.json").write_text(json.dumps(wrong), encoding="utf-8")
    case("statements_wrong_type.json", "row 2, column attributes.paid", '"yes" is not valid', s)
    wrong = statements_json()
    wrong["data"][0]["attributes"]["cut_off_date"] = "30th April"
    (BAD / "statements_bad_date.json").write_text(json.dumps(wrong), encoding="utf-8")
    case("statements_bad_date.json", "row 1, column cut_off_date", "not a date", s)
    write_csv(BAD / "statements.csv", STATEMENT_HEADER, [[str(v) for v in r]
                                                         for r in STATEMENT_ROWS])
    case("statements.csv", "statements.csv", "not from a CSV file", s)
    return m


def good_files() -> None:
    rows = own_rows()
    write_xlsx(GOOD / "declarations.xlsx", COLUMNS, rows)
    write_csv(GOOD / "declarations.csv", COLUMNS, rows)
    write_csv(GOOD / "declarations-bom.csv", COLUMNS, rows, encoding="utf-8-sig")
    write_csv(GOOD / "declarations-windows-1252.csv", COLUMNS, rows, encoding="cp1252")
    # an export with its own habits: Title Case headers, spaces, Yes/No, DD/MM/YYYY,
    # underscores in states, a blank row, columns we do not know, another column order
    messy_header = ["Notes", "Declaration ID", "Participant ID", "Course Identifier",
                    "Declaration Type", "Declaration Date", "Declaration Status", "Cohort",
                    "Lead Provider Name", "Declaration Created At", "Statement ID",
                    "Statement Name", "Clawback Statement ID", "Clawback Statement Name",
                    "Delivery Partner ID", "Delivery Partner Name", "Pupil Premium Uplift",
                    "Sparsity Uplift", "Schedule", "TRN"]
    messy = []
    for r in rows:
        y, mo, d = r[4].split("-")
        messy.append(["checked", f" {r[0]} ", r[1], r[2].upper(), r[3].replace("-", " "),
                      f"{d}/{mo}/{y}", r[5].replace("-", "_"), "2023.0", r[7], r[8], r[9],
                      r[10], r[11], r[12], r[13], r[14],
                      "Yes" if r[15] == "TRUE" else "no", "y" if r[16] == "TRUE" else "",
                      r[17], r[18]])
    messy.insert(3, [""] * len(messy_header))
    write_csv(GOOD / "declarations-messy.csv", messy_header, messy)
    resources = api_resources()
    (GOOD / "declarations.json").write_text(json.dumps({"data": resources}, indent=2) + "\n",
                                            encoding="utf-8")
    pages = [{"data": resources[:4], "links": {"next": "page 2"}}, {"data": resources[4:]}]
    (GOOD / "declarations-pages-cohort2023.json").write_text(json.dumps(pages, indent=2) + "\n",
                                                             encoding="utf-8")
    write_csv(GOOD / "ECF-Declarations-Example-Cohort2023-April 2024.csv", ASSURANCE_HEADER,
              assurance_rows())
    write_statements(GOOD / "dfe-statements.xlsx")
    (GOOD / "statements.json").write_text(json.dumps(statements_json(), indent=2) + "\n",
                                          encoding="utf-8")


def main() -> int:
    GOOD.mkdir(exist_ok=True)
    BAD.mkdir(exist_ok=True)
    for old in BAD.iterdir():
        old.unlink()
    good_files()
    manifest = bad_files()
    (BAD / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n",
                                       encoding="utf-8")
    print(f"wrote {len(list(GOOD.iterdir()))} good and {len(manifest)} bad files",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
