"""Blank inputs for ``reconcile template KIND --out PATH`` (a writer, beside the read stage).

Kinds:

* ``declarations``: a workbook whose sheet ``Declarations`` has every column of
  README "Input: declarations" in the header row, a comment on each header saying what to write,
  drop-down lists (data validation) for the course, declaration type, state and the
  true/false columns, dates formatted as dates and ids as text; a sheet ``About``
  explains every column with an example;
* ``dfe-statements``: sheets ``Statements`` and ``Lines`` (README "Input: DfE statements") with
  drop-downs for line type, participant type, band, declaration type and booleans;
* ``contract``: a commented contract YAML in the format of README "Writing a contract".

The lists in the drop-downs come from the rulebook (vocabulary, bands of the bundled
contracts), so a template always matches the rules it will be read against. Files
are byte-identical on every run (fixed ``created`` date; xlsxwriter with
``strings_to_formulas`` off) and written atomically. A blank template read back has
no rows, which the readers refuse with a clear "no declarations below the header
row" error (exit 2): an empty input is almost always the wrong file.

Example::

    write_template("declarations", Path("my-declarations.xlsx"))
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, NamedTuple

import xlsxwriter

from reconcile.errors import Problem, UsageError
from reconcile.model import Source
from reconcile.outputs import write_atomically
from reconcile.read.columns import LINE_TYPES
from reconcile.rulebook.load import Rulebook, load_rulebook
from reconcile.rulebook.schema import VocabularyFile

KINDS = ("declarations", "dfe-statements", "contract")
#: the file name endings each kind is written as (the first is the one suggested)
EXTENSIONS = {"declarations": (".xlsx",), "dfe-statements": (".xlsx",),
              "contract": (".yaml", ".yml")}
#: every template carries this creation date, so regenerating gives identical bytes
CREATED = dt.datetime(2024, 1, 1)
DATA_ROWS = 1_048_575  # the last row of a sheet (0-based): drop-downs cover every row


class Column(NamedTuple):
    name: str
    required: str  # "yes", "no" or a condition
    help: str  # what to write (header comment and About sheet)
    example: str
    kind: str = "text"  # text, date, moment, number, integer, bool, list
    choices: tuple[str, ...] = ()
    width: int = 18


def declaration_columns(vocabulary: VocabularyFile) -> list[Column]:
    types = tuple(vocabulary.declaration_types)
    states = tuple(vocabulary.states)
    courses = tuple(vocabulary.courses)
    yes_no = ("TRUE", "FALSE")
    return [
        Column("declaration_id", "yes", "The declaration's id (the API's 'id'). Unique.",
               "5f1e2c3a-...", width=38),
        Column("participant_id", "yes", "The participant's id (the API's participant_id).",
               "a1b2c3d4-...", width=38),
        Column("course_identifier", "yes", "The course: " + ", ".join(
            f"{c} ({vocabulary.courses[c]})" for c in courses) + ".", courses[0], "list", courses),
        Column("declaration_type", "yes", "The milestone declared: " + ", ".join(types) + ".",
               types[0], "list", types),
        Column("declaration_date", "yes", "The date of the milestone, as a date (or RFC 3339 "
               "text such as 2023-10-01T09:30:00Z).", "2023-10-01", "date", width=16),
        Column("state", "yes", "The declaration's state: " + ", ".join(states) + ".",
               "paid", "list", states),
        Column("cohort", "yes", "The cohort's start year.", "2023", "integer", width=10),
        Column("lead_provider", "when several providers", "The lead provider, as named in its "
               "contract (lead_provider).", "Example Teaching Institute", width=28),
        Column("created_at", "no", "When it was submitted (date and time, UTC); decides the "
               "statement it belongs to.", "2023-10-03 09:15:00", "moment", width=20),
        Column("statement_id", "no", "The id of the statement DfE attached it to.", "", width=38),
        Column("statement_name", "no", "The name of that statement.", "November 2023"),
        Column("clawback_statement_id", "no", "The id of the statement its clawback is on.", "",
               width=38),
        Column("clawback_statement_name", "no", "The name of that statement.", "January 2024",
               width=24),
        Column("delivery_partner_id", "no", "The delivery partner's id.", "", width=38),
        Column("delivery_partner_name", "no", "The delivery partner's name.", "North Partners",
               width=24),
        Column("pupil_premium_uplift", "no", "TRUE if the participant has the pupil premium "
               "uplift (blank = FALSE).", "FALSE", "bool", yes_no, width=22),
        Column("sparsity_uplift", "no", "TRUE if the participant has the sparsity uplift "
               "(blank = FALSE).", "FALSE", "bool", yes_no),
        Column("schedule_identifier", "no", "The participant's schedule (blank: from "
               "--participants, else " + (vocabulary.default_schedule or "not assumed: the "
                                          "milestone dates are not checked") + ").",
               "ecf-standard-september", width=26),
        Column("teacher_reference_number", "no", "The teacher reference number (TRN).",
               "1234567", width=24),
    ]


def statement_columns() -> list[Column]:
    yes_no = ("TRUE", "FALSE")
    return [
        Column("statement_id", "yes", "The statement's id (the API's statement id, or any "
               "unique text the Lines sheet uses).", "s-nov23", width=38),
        Column("lead_provider", "yes", "The lead provider, as named in its contract.",
               "Example Teaching Institute", width=28),
        Column("cohort", "yes", "The cohort's start year.", "2023", "integer", width=10),
        Column("name", "yes", "The statement's name as DfE shows it (type it as text: "
               "'November 2023').", "November 2023"),
        Column("cut_off_date", "yes", "The milestone cut-off date.", "2023-10-31", "date",
               width=14),
        Column("payment_date", "yes", "The payment date.", "2023-11-25", "date", width=14),
        Column("output_fee", "yes", "TRUE if the statement carries output payments.", "TRUE",
               "bool", yes_no, width=12),
        Column("paid", "no", "TRUE once DfE has paid it (blank = FALSE).", "FALSE", "bool",
               yes_no, width=8),
        Column("vat_chargeable", "no", "TRUE if VAT is charged on it.", "TRUE", "bool", yes_no,
               width=14),
        Column("total", "no", "The total DfE will pay, VAT included.", "1500.48", "number",
               width=14),
        Column("contract_version", "no", "The contract version DfE calculated the statement "
               "with, e.g. 0.0.2 (shown beside the contract file's).", "0.0.1", width=16),
    ]


def line_columns(vocabulary: VocabularyFile, bands: tuple[str, ...]) -> list[Column]:
    ptypes = tuple(vocabulary.participant_types)
    return [
        Column("statement_id", "yes", "The id of the statement (Statements sheet) the line is on.",
               "s-nov23", width=38),
        Column("line_type", "yes", "The kind of line: " + ", ".join(LINE_TYPES) + ".",
               "output", "list", LINE_TYPES, width=16),
        Column("participant_type", "where it applies", "ect or mentor (output and clawback "
               "lines).", "ect", "list", ptypes),
        Column("declaration_type", "where it applies", "The declaration type of an output or "
               "clawback line.", "started", "list", tuple(vocabulary.declaration_types)),
        Column("band", "where it applies", "The band of an output or clawback line.", "A",
               "list", bands, width=8),
        Column("count", "where it applies", "The number of declarations (or participants).",
               "10", "integer", width=8),
        Column("fee_per_declaration", "where it applies", "The fee per declaration.", "119.40",
               "number", width=20),
        Column("amount", "yes", "The line's amount; clawbacks and deductions negative.",
               "1194.00", "number", width=14),
        Column("description", "no", "What the line is, e.g. for an adjustment.", "", width=30),
    ]


#: XlsxWriter's objects (it ships no types): a workbook, its formats
_Book = Any  # xlsxwriter.Workbook
_Format = Any  # xlsxwriter's Format


def _formats(book: _Book) -> dict[str, _Format]:
    return {
        "header": book.add_format({"bold": True, "bg_color": "#1D70B8", "font_color": "#FFFFFF",
                                   "border": 1, "text_wrap": True, "valign": "top"}),
        "text": book.add_format({"num_format": "@"}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "moment": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "number": book.add_format({"num_format": "#,##0.00"}),
        "integer": book.add_format({"num_format": "0"}),
        "bold": book.add_format({"bold": True}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
    }


def _data_sheet(book: _Book, formats: dict[str, _Format], name: str, columns: list[Column]) -> None:
    sheet = book.add_worksheet(name)
    sheet.freeze_panes(1, 0)
    for index, column in enumerate(columns):
        fmt = formats.get(column.kind) if column.kind in ("date", "moment", "number",
                                                           "integer") else formats["text"]
        if column.kind == "bool":
            fmt = None
        sheet.set_column(index, index, column.width, fmt)
        sheet.write_string(0, index, column.name, formats["header"])
        required = "required" if column.required == "yes" else (
            "optional" if column.required == "no" else column.required)
        sheet.write_comment(0, index, f"{column.name} ({required}): {column.help}"
                            + (f" Example: {column.example}" if column.example else ""),
                            {"x_scale": 2, "y_scale": 1.5})
        if column.choices:
            sheet.data_validation(1, index, DATA_ROWS, index, {
                "validate": "list", "source": list(column.choices),
                "error_title": f"Not a {column.name}",
                "error_message": ("Choose one of: " + ", ".join(column.choices))[:255],
                "error_type": "warning"})
        elif column.kind in ("date", "moment"):
            sheet.data_validation(1, index, DATA_ROWS, index, {
                "validate": "date", "criteria": ">", "value": dt.date(1950, 1, 1),
                "error_title": "Not a date",
                "error_message": "Enter a date, e.g. 2023-10-01.", "error_type": "warning"})
    sheet.autofilter(0, 0, 0, len(columns) - 1)


def _about_sheet(book: _Book, formats: dict[str, _Format], title: str,
                 sections: list[tuple[str, list[Column]]]
                 ) -> None:
    sheet = book.add_worksheet("About")
    sheet.set_column(0, 0, 26)
    sheet.set_column(1, 1, 22)
    sheet.set_column(2, 2, 80, formats["wrap"])
    sheet.set_column(3, 3, 28)
    sheet.write_string(0, 0, title, formats["bold"])
    row = 2
    for sheet_name, columns in sections:
        sheet.write_string(row, 0, f"Sheet {sheet_name}", formats["bold"])
        row += 1
        for index, text in enumerate(("column", "required", "what to write", "example")):
            sheet.write_string(row, index, text, formats["header"])
        row += 1
        for column in columns:
            sheet.write_row(row, 0, (column.name, column.required, column.help, column.example))
            row += 1
        row += 1


def _book(path: Path) -> _Book:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                           "strings_to_numbers": False,
                                           "strings_to_urls": False})
    book.set_properties({"title": "reconcile input template", "created": CREATED,
                         "comments": "Made by reconcile template"})
    return book


def render_declarations(path: Path, vocabulary: VocabularyFile) -> None:
    book = _book(path)
    formats = _formats(book)
    columns = declaration_columns(vocabulary)
    _data_sheet(book, formats, "Declarations", columns)
    _about_sheet(book, formats, "Declarations for reconcile: one row per declaration, header "
                 "in row 1 (column names are not case-sensitive; extra columns are ignored).",
                 [("Declarations", columns)])
    book.close()


def render_dfe_statements(path: Path, vocabulary: VocabularyFile, bands: tuple[str, ...]) -> None:
    book = _book(path)
    formats = _formats(book)
    statements = statement_columns()
    lines = line_columns(vocabulary, bands)
    _data_sheet(book, formats, "Statements", statements)
    _data_sheet(book, formats, "Lines", lines)
    _about_sheet(book, formats, "DfE statements for reconcile: one row per statement on "
                 "Statements, one row per money line on Lines (signed: clawbacks negative).",
                 [("Statements", statements), ("Lines", lines)])
    book.close()


CONTRACT_TEMPLATE = """\
# A call-off contract for reconcile (docs/rules.md, "Contracts"): one file per lead
# provider and cohort. Put it in rules/contracts/ or pass it with --contracts FILE.
# Check it with:  reconcile rules check --contracts THIS_FILE
# Money may be written as numbers or as text in quotes; it is read exactly.

# The lead provider's name exactly as it appears in the declarations' lead_provider
# column (and DfE's "Lead Provider Name").
lead_provider: Your Lead Provider Name

# The cohort (start year) this contract funds.
cohort: 2025

# DfE's name of this version of the contract (optional), e.g. 0.0.1.
# version: 0.0.1

# true if DfE adds VAT to your statements.
vat_chargeable: true

# The VAT rate in per cent (optional; default 20, fees.yaml vat_percentage).
# vat_rate: 20

# The number of participants you are contracted to recruit; it sets the service fee.
recruitment_target: 4500

# Set-up fee already paid, deducted from the service fee (optional, default 0).
set_up_fee: 0

# Uplift fee per started declaration of a participant with the pupil premium or
# sparsity uplift. Omit it or write null when there is no uplift (cohort 2025 on).
uplift_amount: null

# An explicit monthly service fee that wins over the calculation (optional).
monthly_service_fee: null

# Bands in ascending order; min and max are inclusive participant counts, and
# per_participant is the price per participant. Optional per band:
# output_payment_percentage (default 60) and service_fee_percentage (default 40).
bands:
  - {name: A, min: 0, max: 2000, per_participant: 995}
  - {name: B, min: 2001, max: 4000, per_participant: 979}
  - {name: C, min: 4001, max: 5175, per_participant: 966}

# Flat-rate mentor funding (cohort 2025 on): delete this block if mentors are
# banded with ECTs under your contract.
mentor:
  payment_per_participant: 1000

# Later versions of the terms (optional), earliest first. DfE changes a contract from
# a given statement on by a new contract version; each version names the first
# statement with its terms and gives only what changes (any term but lead_provider
# and cohort); everything else is the previous version's. For example:
# versions:
#   - from: January 2026         # a statement of the cohort's calendar, by name
#     version: 0.0.2             # DfE's name for it (optional)
#     monthly_service_fee: 0     # the service fee ends from January 2026
#   - from: April 2026
#     recruitment_target: 5000
#     bands:                     # the whole list of bands from April 2026
#       - {name: A, min: 0, max: 2000, per_participant: 995}
#       - {name: B, min: 2001, max: 3500, per_participant: 979}
#       - {name: C, min: 3501, max: 5000, per_participant: 966}
"""


def _contract_template(path: Path) -> None:
    path.write_text(CONTRACT_TEMPLATE, encoding="utf-8")


def write_template(kind: str, out: Path | str, rulebook: Rulebook | None = None, *,
                   overwrite: bool = False) -> None:
    """Write the blank template of ``kind`` to ``out``, atomically (checked as every
    output is: :func:`reconcile.outputs.check_output_paths`).

    An existing file is refused unless ``overwrite``: a blank template written over the
    workbook someone filled in would lose their work."""
    if kind not in KINDS:
        raise UsageError([Problem(Source(str(kind)), "no such template",
                                  "choose one of: " + ", ".join(KINDS))])
    out = Path(out)
    endings = EXTENSIONS[kind]
    if out.suffix.lower() not in endings:
        # a workbook written as .yaml (or YAML as .xlsx) opens as garbage, or not at all
        what = "an Excel workbook" if endings[0] == ".xlsx" else "a YAML file"
        raise UsageError([Problem(
            Source("--out"),
            f"the {kind} template is {what}, but {str(out)!r} ends in "
            f"{repr(out.suffix) if out.suffix else 'no extension'}",
            f"give a file name ending in {' or '.join(endings)}, e.g. --out "
            f"{out.with_suffix(endings[0])}")])
    if not overwrite and out.exists():
        raise UsageError([Problem(Source(str(out)), "already exists; it was left as it is",
                                  "give --out a new file name, or add --overwrite to replace "
                                  "it (what was filled in would be lost)")])
    if kind == "contract":
        write_atomically(out, _contract_template)
        return
    rulebook = rulebook or load_rulebook()
    if kind == "declarations":
        write_atomically(out, lambda tmp: render_declarations(tmp, rulebook.vocabulary))
        return
    bands = tuple(sorted({band.name for contract in rulebook.contracts.values()
                          for band in contract.bands}))
    write_atomically(out, lambda tmp: render_dfe_statements(tmp, rulebook.vocabulary, bands))
