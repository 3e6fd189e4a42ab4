"""Column names and their aliases (read stage): which header means which field.

In: the header row of an input as the user wrote it. Out: a mapping from our field
name to the header's position, or a :class:`~reconcile.errors.InputError` naming a
missing column and the closest header present.

Headers match whatever their case, surrounding spaces and separators
(``Declaration Type``, ``declaration_type``, ``declaration-type`` are one name).
Besides the names of the README's "Input" sections, the DfE assurance-report headers
(docs/domain.md "Things that go wrong") and the v3 API attribute names are recognised.
Columns we do not know are ignored.

>>> header_key("  Declaration Created-At ")
'declaration_created_at'
>>> DECLARATION_ALIASES[header_key("Declaration Status")]
'state'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

from reconcile.errors import Problem
from reconcile.model import Source


def header_key(text: object) -> str:
    """Case, surrounding spaces and ``_``/space/``-``/``.`` separators do not matter."""
    return re.sub(r"[\s_\-.]+", "_", str(text).strip().lower()).strip("_")


# --- declarations (README "Input: declarations") ------------------------------------

#: field -> every header that means it (our names first, then DfE's).
DECLARATION_COLUMNS: dict[str, tuple[str, ...]] = {
    "declaration_id": ("declaration_id", "Declaration ID", "id"),
    "participant_id": ("participant_id", "Participant ID", "user_id"),
    "course_identifier": ("course_identifier", "course", "Course Identifier"),
    # "Type" in the assurance report is the participant type (ect/mentor), which
    # stands for the course (docs/domain.md "Things that go wrong").
    "participant_type": ("participant_type", "Type", "Participant Type"),
    "declaration_type": ("declaration_type", "Declaration Type"),
    "declaration_date": ("declaration_date", "Declaration Date"),
    "state": ("state", "Declaration Status", "Declaration State", "status"),
    "cohort": ("cohort", "Cohort Start Year", "cohort_year"),
    "lead_provider": ("lead_provider", "Lead Provider Name", "lead_provider_name"),
    "created_at": ("created_at", "Declaration Created At", "submitted_at"),
    "updated_at": ("updated_at", "Declaration Updated At", "last_updated"),
    "statement_id": ("statement_id", "Statement ID"),
    "statement_name": ("statement_name", "Statement Name", "statement"),
    "clawback_statement_id": ("clawback_statement_id", "Clawback Statement ID"),
    "clawback_statement_name": ("clawback_statement_name", "Clawback Statement Name",
                                "clawback_statement"),
    "delivery_partner_id": ("delivery_partner_id", "Delivery Partner ID"),
    "delivery_partner_name": ("delivery_partner_name", "Delivery Partner Name",
                              "delivery_partner"),
    "pupil_premium_uplift": ("pupil_premium_uplift", "Pupil Premium Uplift", "pupil_premium"),
    "sparsity_uplift": ("sparsity_uplift", "Sparsity Uplift", "sparsity"),
    "uplift_paid": ("uplift_paid", "Uplift Paid"),
    "schedule_identifier": ("schedule_identifier", "Schedule", "schedule_id"),
    "teacher_reference_number": ("teacher_reference_number", "TRN"),
}

#: Required columns; a missing ``course_identifier`` is fine when ``participant_type``
#: (the assurance report's "Type") is there, and a missing ``cohort`` when every
#: row's cohort can be found from its statement (see declarations.py).
DECLARATION_REQUIRED = ("declaration_id", "participant_id", "course_identifier",
                        "declaration_type", "declaration_date", "state", "cohort")

DECLARATION_ALIASES: dict[str, str] = {
    header_key(alias): field for field, aliases in DECLARATION_COLUMNS.items() for alias in aliases}


# --- DfE statements (README "Input: DfE statements") --------------------------------

STATEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "statement_id": ("statement_id", "Statement ID", "id"),
    "lead_provider": ("lead_provider", "Lead Provider Name", "lead_provider_name"),
    "cohort": ("cohort", "Cohort Start Year"),
    "name": ("name", "Statement Name", "statement"),
    "cut_off_date": ("cut_off_date", "Cut Off Date", "deadline_date", "Milestone Cut Off Date",
                     "deadline"),
    "payment_date": ("payment_date", "Payment Date"),
    "output_fee": ("output_fee", "Output Fee", "output"),
    "paid": ("paid", "Paid"),
    "vat_chargeable": ("vat_chargeable", "VAT Chargeable", "vat_registered"),
    "total": ("total", "Total", "total_incl_vat", "Total (incl. VAT)", "Total including VAT"),
    # the version of the contract DfE calculated the statement with (ECF statements
    # record contract_version; optional)
    "contract_version": ("contract_version", "Contract Version"),
}
STATEMENT_REQUIRED = ("statement_id", "cohort", "name", "output_fee")

LINE_COLUMNS: dict[str, tuple[str, ...]] = {
    "statement_id": ("statement_id", "Statement ID", "statement"),
    "line_type": ("line_type", "Line Type", "type"),
    "participant_type": ("participant_type", "Participant Type"),
    "declaration_type": ("declaration_type", "Declaration Type"),
    "band": ("band", "Band"),
    "count": ("count", "Participants", "number", "Number of Participants", "declarations"),
    "fee_per_declaration": ("fee_per_declaration", "Fee Per Declaration", "fee", "fee_per_participant",
                            "Fee per participant"),
    "amount": ("amount", "Amount", "payment"),
    "description": ("description", "Description", "note", "details"),
}
LINE_REQUIRED = ("statement_id", "line_type", "amount")

STATEMENT_ALIASES = {header_key(a): f for f, aliases in STATEMENT_COLUMNS.items() for a in aliases}
LINE_ALIASES = {header_key(a): f for f, aliases in LINE_COLUMNS.items() for a in aliases}

#: The money lines of a DfE statement (README "Input: DfE statements"): column vocabulary.
LINE_TYPES = ("output", "clawback", "uplift", "uplift_clawback", "service_fee", "adjustment", "vat")


def header_score(cells: Iterable[object], aliases: dict[str, str]) -> int:
    """How many distinct known columns a row's cells name (finding the header row).

    >>> header_score(["Declarations, May 2024", "", ""], DECLARATION_ALIASES)
    0
    >>> header_score(["Declaration ID", "Participant ID", "state", "notes"], DECLARATION_ALIASES)
    3
    """
    found = set()
    for cell in cells:
        if type(cell) is str and cell.strip():
            field = aliases.get(header_key(cell))
            if field is not None:
                found.add(field)
    return len(found)


class Header:
    """A header row matched to fields: ``positions[field]`` is the column index."""

    def __init__(self, cells: Iterable[object], aliases: dict[str, str], source: Source,
                 letters: bool = False) -> None:
        self.cells = [("" if c is None else str(c)).strip() for c in cells]
        self.aliases = aliases
        self.source = source
        self.letters = letters
        self.positions: dict[str, int] = {}
        self.problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, text in enumerate(self.cells):
            if not text:
                continue
            key = header_key(text)
            field = aliases.get(key)
            if key in seen and field is not None:
                first = seen[key]
                self.problems.append(Problem(
                    source._replace(column=self.label(index)),
                    f"the header {text!r} appears twice (also in column {self.label(first)})",
                    "delete or rename one of the two columns"))
                continue
            seen[key] = index
            if field is None:
                continue
            if field in self.positions:
                other = self.positions[field]
                self.problems.append(Problem(
                    source._replace(column=self.label(index)),
                    f"the headers {self.cells[other]!r} and {text!r} both mean {field}",
                    "keep one of the two columns and delete the other"))
                continue
            self.positions[field] = index

    def label(self, index: int) -> str:
        """How a column is named in messages: its header (and letter, in a workbook)."""
        text = self.cells[index] if index < len(self.cells) and self.cells[index] else ""
        if self.letters:
            letter = column_letter(index)
            return f"{text} ({letter})" if text else letter
        return text or f"#{index + 1}"

    def column_of(self, field: str) -> str:
        index = self.positions.get(field)
        return field if index is None else self.label(index)

    def missing(self, field: str, what: str = "column") -> Problem:
        """'required column X is missing' with the closest header that is present."""
        present = [c for c in self.cells if c]
        keys = {header_key(c): c for c in present}
        names = [header_key(a) for a, f in self.aliases.items() if f == field] or [field]
        guess = None
        for name in names:
            close = difflib.get_close_matches(name, list(keys), n=1, cutoff=0.6)
            if close:
                guess = keys[close[0]]
                break
        hint = (f"; the closest header present is {guess!r}: rename it to {field!r}" if guess
                else f"; the headers present are: {', '.join(repr(p) for p in present[:30])}")
        return Problem(self.source, f"the required {what} {field!r} is missing{hint}",
                       f"add a column headed {field!r} to the header row")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
