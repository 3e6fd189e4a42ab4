"""DfE's assurance report (read stage): what one report is, and which statement it covers.

DfE's finance dashboard offers, on each statement, "Download declarations (CSV)": the
assurance report (DFE-Digital/early-careers-framework,
``Finance::ECF::AssuranceReport::CsvSerializer`` and ``...::Query``). It is one CSV
per statement, with 25 columns (:data:`HEADERS`), one row per statement line item of
that statement (voided and ineligible ones included; "Declaration Status" is the line
item's own state, with underscores), ordered by participant name, "Type" holding the
participant profile's class (``ParticipantProfile::ECT``, ``ParticipantProfile::Mentor``),
times as ISO 8601 in UTC (``2024-05-01T10:00:00Z``). The cohort is not a column: it is
only in the file name, which the serializer builds as
``ECF-Declarations-<provider name without non-word characters>-Cohort<year>-<statement
name without non-word characters>.csv``, e.g.
``ECF-Declarations-NorthbrookTeachingInstitute-Cohort2023-May2024.csv``.

A report covers its statement even when it has no rows (DfE writes the header alone
for a statement with no line items). Banding counts every earlier statement of the
cohort, so reports given alone can only be compared on statements whose earlier ones
are covered too (:mod:`reconcile.coverage`).

>>> statement_of_file_name("ECF-Declarations-NorthbrookTeachingInstitute-Cohort2023-May2024.csv")
('northbrookteachinginstitute', 2023, 'may2024')
>>> is_assurance_report(HEADERS)
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reconcile.read.columns import header_key

#: the 25 columns of DfE's assurance report, in its order (CsvSerializer::CSV_HEADERS)
HEADERS = (
    "Participant ID", "Participant Name", "TRN", "Type", "Mentor Profile ID", "Schedule",
    "Eligible For Funding", "Eligible For Funding Reason", "Sparsity Uplift",
    "Pupil Premium Uplift", "Sparsity And Pp", "Lead Provider Name", "Delivery Partner Name",
    "School Urn", "School Name", "Training Status", "Training Status Reason",
    "Declaration ID", "Declaration Status", "Declaration Type", "Declaration Date",
    "Declaration Created At", "Statement Name", "Statement ID", "Uplift Payable",
)
_KEYS = frozenset(header_key(h) for h in HEADERS)
#: the columns that make a file one statement's report (the rest may be trimmed)
_ESSENTIAL = frozenset(header_key(h) for h in (
    "Declaration ID", "Declaration Status", "Statement Name", "Statement ID"))

_FILE_NAME = re.compile(r"^ECF-Declarations-(\w+)-Cohort(\d{4})-(\w+)\.csv$", re.IGNORECASE)


def squeeze(text: str | None) -> str:
    """A name as the report's file name writes it: no non-word characters, any case."""
    return re.sub(r"\W", "", text or "").casefold()


def is_assurance_report(header: Iterable[object]) -> bool:
    """Whether a header row is DfE's assurance report's (its essential columns, and most
    of the 25)."""
    keys = {header_key(cell) for cell in header if cell not in (None, "")}
    return _ESSENTIAL <= keys and len(keys & _KEYS) >= 12


def statement_of_file_name(name: str) -> tuple[str, int, str] | None:
    """(provider, cohort, statement) as the file name writes them (squeezed), or None."""
    match = _FILE_NAME.match(name)
    if not match:
        return None
    return squeeze(match.group(1)), int(match.group(2)), squeeze(match.group(3))
