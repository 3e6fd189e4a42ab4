"""Convert DfE's public schedule and statement CSVs into the rulebook's YAML.

A maintenance tool, run by hand when DfE publishes new schedules or statement
dates; nothing in the package, the tests or the Makefile calls it. It takes the
CSV path as an argument and writes YAML to standard output::

    python tools/convert_reference.py schedules path/to/ecf-schedules.csv > rules/schedules.yaml
    python tools/convert_reference.py calendars path/to/ecf-statements.csv > rules/calendars.yaml

Every row is converted, faulty ones included: dates written without leading
zeros (``2022-1-25``) become ISO dates; a statement whose cut-off is on or after
its payment date is copied *as written* (the rulebook loader flags it and the
calendar policy at the top of ``calendars.yaml`` decides which cut-off is used).
The header comments and the ``policy:`` block of ``calendars.yaml`` are written
from the templates below: keep them in step with the bundled files.

Input columns (ECF ``db/data/schedules/schedules.csv`` and
``db/data/statements/statements.csv``):

* schedules: type, schedule-identifier, schedule-name, schedule-cohort-year,
  milestone-name, milestone-declaration-type, milestone-start-date,
  milestone-date, milestone-payment-date
* statements: type, name, cohort, deadline_date, payment_date, output_fee
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from pathlib import Path

FAMILY_ORDER = ("standard", "extended", "reduced", "replacement")
START_ORDER = ("september", "january", "april")

SCHEDULES_HEADER = """\
# Every DfE schedule per cohort with its milestone windows.
#
# Converted from DfE's public schedule data (ECF db/data/schedules/schedules.csv,
# see DOMAIN.md "Reference data") with tools/convert_reference.py; every row is
# kept, faulty ones included (the loader flags them, see below).
#
# A schedule is identified by (identifier, cohort). Each milestone gives:
#   start: first day a declaration of this type may be dated (declaration_date)
#   end:   the milestone date: the last day (inclusive) a declaration may be dated;
#          null for non-standard and 2025 schedules, which have no date validation
#          (DOMAIN.md "Validation of a declaration")
#   payment: the milestone payment date
# Known anomalies in the source, loaded as written and reported by
# `reconcile rules check` / `rules show`:
#   - standard-september started milestones of 2022-2024 end (31 Dec) after their
#     payment date (30 Nov): CAL_MILESTONE_AFTER_PAYMENT (info);
#   - the 2021 standard-january schedule has no `completed` milestone:
#     CAL_SCHEDULE_INCOMPLETE (info).
"""

CALENDARS_HEADER = """\
# The statement calendar per cohort: one statement a month per lead provider.
#
# Converted from DfE's public statement data (ECF db/data/statements/statements.csv,
# see DOMAIN.md "Reference data") with tools/convert_reference.py; every row is
# kept as written, dates normalised to YYYY-MM-DD.
#   cut_off:    the deadline date: a declaration submitted (created_at) on or before
#               it attaches to this statement if it is the next output-fee one
#   payment:    the payment date
#   output_fee: only output-fee statements carry declarations; every statement
#               carries the service fee (DOMAIN.md "Service fee")
#
# Faulty rows: DfE's data has statements whose cut-off is on or after the payment
# date (every January from 2023: "January 2023", cohort 2021, cut-off 2023-12-31,
# a year typo; RECT cc16040 fixed the same rows in its database). They are loaded as
# written and reported as CAL_CUTOFF_AFTER_PAYMENT; `policy` decides the cut-off
# the calculation uses.
policy:
  # correct: use the last day of the month before the payment month (the pattern of
  #          every sound row: cut-off 31 Dec, payment 25 Jan) for a cut-off that is
  #          AFTER its payment date;
  # keep:    use the cut-off as written.
  faulty_cut_off: correct
  # A cut-off ON the payment date (November 2021 and November 2022, the first
  # statement of their cohorts: both 30 Nov) is plausible rather than a typo: it is
  # reported (CAL_CUTOFF_AFTER_PAYMENT) but kept unless this says `correct`.
  same_day_cut_off: keep
"""


def iso(text: str) -> str:
    """``2022-1-25`` -> ``2022-01-25``; empty -> ``null``."""
    text = text.strip()
    if not text:
        return "null"
    year, month, day = (int(part) for part in text.split("-"))
    return dt.date(year, month, day).isoformat()


def schedules(path: Path) -> str:
    groups: dict[tuple[int, str], dict] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if not any(row.values()):
                continue
            key = (int(row["schedule-cohort-year"]), row["schedule-identifier"])
            group = groups.setdefault(key, {"name": row["schedule-name"],
                                            "family": row["type"].removeprefix("ecf_"),
                                            "milestones": []})
            group["milestones"].append(
                (row["milestone-declaration-type"], iso(row["milestone-start-date"]),
                 iso(row["milestone-date"]), iso(row["milestone-payment-date"])))

    def order(key: tuple[int, str]) -> tuple:
        cohort, identifier = key
        _, family, start = identifier.split("-")
        return cohort, FAMILY_ORDER.index(family), START_ORDER.index(start)

    out = [SCHEDULES_HEADER, "schedules:"]
    for cohort, identifier in sorted(groups, key=order):
        group = groups[(cohort, identifier)]
        out.append(f"  - identifier: {identifier}")
        out.append(f"    cohort: {cohort}")
        out.append(f"    name: {group['name']}")
        out.append(f"    family: {group['family']}")
        out.append("    milestones:")
        for declaration_type, start, end, pay in group["milestones"]:
            out.append(f"      - {{declaration_type: {declaration_type}, start: {start}, "
                       f"end: {end}, payment: {pay}}}")
    return "\n".join(out) + "\n"


def calendars(path: Path) -> str:
    cohorts: dict[int, list[str]] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if not any((value or "").strip() for value in row.values()):
                continue
            output_fee = row["output_fee"].strip().lower()
            if output_fee not in ("true", "false"):
                raise SystemExit(f"{path}: output_fee {row['output_fee']!r} is not true/false")
            cohorts.setdefault(int(row["cohort"]), []).append(
                f"    - {{name: {row['name'].strip()}, cut_off: {iso(row['deadline_date'])}, "
                f"payment: {iso(row['payment_date'])}, output_fee: {output_fee}}}")
    out = [CALENDARS_HEADER, "cohorts:"]
    for cohort in sorted(cohorts):
        out.append(f"  {cohort}:")
        out.extend(cohorts[cohort])
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("schedules", "calendars"):
        print(__doc__, file=sys.stderr)
        return 2
    convert = schedules if argv[1] == "schedules" else calendars
    sys.stdout.write(convert(Path(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
