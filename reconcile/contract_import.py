"""``reconcile contracts import``: DfE's call-off contract CSVs -> contract YAML.

Stage: input (a reader and a writer of its own; the run does not use it).
In: one or more CSV files in the shape DfE's own importers read (ECF
``app/services/importers/create_call_off_contract.rb``: ``lead-provider-name,
cohort-start-year, uplift-target, uplift-amount, recruitment-target, revised-target,
set-up-fee, monthly-service-fee, band-a-min, band-a-max, band-a-per-participant`` ...
to band D; ``create_mentor_call_off_contract.rb``: ``lead-provider-name,
cohort-start-year, recruitment-target, payment-per-participant``). Which kind a file is
comes from its header row.
Out: one commented contract YAML per lead provider and cohort (docs/rules.md
"Contracts"), which ``reconcile rules check`` accepts; or every problem of every file
as ``file, row N, column X: what is wrong — how to fix`` (exit 2) and nothing written.

As DfE's importer: bands A to C are read from every row and band D only when its min,
max and price are all given, at 100% output and 0% service fee; a blank uplift amount
means no uplift fees (cohort 2025 on), a blank monthly service fee means it is
calculated. A mentor row adds flat-rate mentor funding (``mentor:``) to the contract of
the same provider and cohort. Unlike DfE's importer, which skips a provider and cohort
that already has a contract, a second row for the same one is an error here (one file
must say one thing). DfE keeps VAT registration per lead provider, not in these files:
``--vat-chargeable/--not-vat-chargeable`` says it (default: chargeable), and the YAML
says where it came from.

Example::

    reconcile contracts import call-off-contracts.csv mentor-contracts.csv --out contracts/
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from reconcile import money, textsafe
from reconcile.errors import InputError, Problem, RuleError, UsageError
from reconcile.model import Source
from reconcile.outputs import Outputs, check_output_paths
from reconcile.rulebook.load import load_rulebook
from reconcile.rulebook.schema import BandSplit, BandTerms, FeesFile, _band_issues, did_you_mean

#: the bands of DfE's call-off contract CSV (its band-a-* ... band-d-* columns)
BANDS = "abcd"
CALL_OFF_HEADERS = (
    "lead-provider-name", "cohort-start-year", "uplift-target", "uplift-amount",
    "recruitment-target", "revised-target", "set-up-fee", "monthly-service-fee",
    *(f"band-{x}-{what}" for x in BANDS for what in ("min", "max", "per-participant")))
MENTOR_HEADERS = ("lead-provider-name", "cohort-start-year", "recruitment-target",
                  "payment-per-participant")


class _Row(NamedTuple):
    file: str
    number: int  # the row in the file, header = 1
    values: dict[str, str]

    def source(self, column: str | None = None) -> Source:
        return Source(self.file, row=self.number, column=column)


class Imported(NamedTuple):
    """One contract to write: its file name and its YAML text."""

    name: str
    text: str
    lead_provider: str
    cohort: int


# --------------------------------------------------------------------------- reading


def _read_csv(path: Path, problems: list[Problem]) -> tuple[str, list[_Row]] | None:
    """(kind, rows) of one file, or None with the problems said."""
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(Source(shown), "file not found", "check the path"))
        return None
    except OSError as exc:
        problems.append(Problem(Source(shown), f"cannot be read: {exc.strerror}",
                                "check the path and permissions"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")  # Excel's "CSV" on Windows
        except UnicodeDecodeError as exc:
            problems.append(Problem(Source(shown), f"not a text file ({exc.reason})",
                                    "save it from the spreadsheet as CSV (UTF-8)"))
            return None
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        problems.append(Problem(Source(shown), f"not a readable CSV: {exc}",
                                "save it from the spreadsheet as CSV"))
        return None
    records = [r for r in records if any(cell.strip() for cell in r)] if records else []
    if not records:
        problems.append(Problem(Source(shown), "the file is empty",
                                "give DfE's contract CSV with its header row"))
        return None
    header = [cell.strip().lower() for cell in records[0]]
    kind, missing = _kind(header)
    if missing:
        expected = CALL_OFF_HEADERS if kind == "call-off" else MENTOR_HEADERS
        listed = ", ".join(f"{m!r}" + (f" ({hint})" if (hint := did_you_mean(
            m, [h for h in header if h not in expected], "")) else "") for m in missing)
        problems.append(Problem(Source(shown, row=1), (
            f"not DfE's call-off or mentor contract CSV: as the nearer, a {kind} CSV, "
            f"the header row lacks {listed}"),
            f"use the headers of DfE's {kind} importer: " + ", ".join(expected)))
        return None
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
            problems.append(Problem(Source(shown, row=number), (
                f"{len(record)} cells but {len(header)} headers"),
                "check for a comma inside a name without quotes"))
            continue
        rows.append(_Row(shown, number, {h: (record[i].strip() if i < len(record) else "")
                                         for i, h in enumerate(header)}))
    if not rows:
        problems.append(Problem(Source(shown), "there are no contracts below the header row",
                                "add one row per lead provider and cohort"))
    return kind, rows


def _kind(header: list[str]) -> tuple[str, list[str]]:
    """The kind of file its headers say, and the headers it lacks for that kind."""
    missing_call_off = [h for h in CALL_OFF_HEADERS if h not in header]
    missing_mentor = [h for h in MENTOR_HEADERS if h not in header]
    if not missing_call_off:
        return "call-off", []
    if not missing_mentor and not any(h.startswith("band-") for h in header):
        return "mentor", []
    # closer to which? the share of its headers present
    call_off = 1 - len(missing_call_off) / len(CALL_OFF_HEADERS)
    mentor = 1 - len(missing_mentor) / len(MENTOR_HEADERS)
    return ("call-off", missing_call_off) if call_off >= mentor else ("mentor", missing_mentor)


class _Cells:
    """Typed cells of one row; every problem collected."""

    def __init__(self, row: _Row, problems: list[Problem], largest: Decimal) -> None:
        self.row, self.problems, self.largest = row, problems, largest

    def _bad(self, column: str, what: str, fix: str) -> None:
        value = self.row.values.get(column, "")
        self.problems.append(Problem(self.row.source(column), f"{value!r} {what}", fix))

    def text(self, column: str) -> str | None:
        value = self.row.values.get(column, "")
        if not value:
            self.problems.append(Problem(self.row.source(column), "is blank",
                                         "write the lead provider's name as DfE writes it"))
            return None
        if textsafe.unsafe_in(value):
            self.problems.append(Problem(self.row.source(column), (
                f"{textsafe.clean(value)!r} holds characters no file can keep "
                f"({textsafe.describe(value)})"),
                "retype the name as DfE writes it"))
            return None
        return value

    def whole(self, column: str, *, blank_ok: bool = False, low: int = 0,
              fix: str = "write a whole number") -> int | None:
        value = self.row.values.get(column, "")
        if not value:
            if not blank_ok:
                self.problems.append(Problem(self.row.source(column), "is blank", fix))
            return None
        try:
            number = money.to_decimal(value)
        except money.MoneyError:
            self._bad(column, "is not a number", fix)
            return None
        if number != number.to_integral_value() or number < low:
            self._bad(column, "is not a whole number" if number >= low else "is too small",
                      fix)
            return None
        return int(number)

    def amount(self, column: str, *, blank_ok: bool = False,
               fix: str = "write an amount in pounds, e.g. 995 or 995.50") -> Decimal | None:
        value = self.row.values.get(column, "")
        if not value:
            if not blank_ok:
                self.problems.append(Problem(self.row.source(column), "is blank", fix))
            return None
        try:
            number = money.to_decimal(value)
        except money.MoneyError:
            self._bad(column, "is not an amount", fix)
            return None
        if number < 0:
            self._bad(column, "is negative", fix)
            return None
        if number > self.largest:
            self._bad(column, f"is more than {money.described(self.largest)}, the largest "
                      "amount the rules allow (fees.yaml largest_amount)", fix)
            return None
        return number


# ------------------------------------------------------------------------- contracts


class _Contract(NamedTuple):
    row: _Row
    lead_provider: str
    cohort: int
    fields: dict[str, Any]
    bands: tuple[BandTerms, ...]


def _call_off(row: _Row, problems: list[Problem], largest: Decimal,
              splits: Mapping[str, BandSplit]) -> _Contract | None:
    before = len(problems)
    cells = _Cells(row, problems, largest)
    provider = cells.text("lead-provider-name")
    cohort = cells.whole("cohort-start-year", low=2000, fix="write the cohort's start year, "
                                                             "e.g. 2023")
    fields: dict[str, Any] = {
        "uplift_target": cells.amount("uplift-target", blank_ok=True,
                                      fix="write the share as a number, e.g. 0.33"),
        "uplift_amount": cells.amount("uplift-amount", blank_ok=True),
        "recruitment_target": cells.whole("recruitment-target", low=1,
                                          fix="write the contracted number of participants"),
        "revised_target": cells.whole("revised-target", blank_ok=True,
                                      fix="write a whole number, or leave it blank"),
        "set_up_fee": cells.amount("set-up-fee", fix="write the set-up fee in pounds, 0 if "
                                                     "there is none"),
        "monthly_service_fee": cells.amount("monthly-service-fee", blank_ok=True,
                                            fix="write the monthly fee in pounds, or leave "
                                                "it blank to have it calculated"),
    }
    bands: list[BandTerms] = []
    columns: list[str] = []
    for letter in BANDS:
        names = [f"band-{letter}-{what}" for what in ("min", "max", "per-participant")]
        given = [bool(row.values.get(n)) for n in names]
        if not any(given) and letter != "a":
            continue  # DfE's importer: band D only when all three are given
        if not all(given):
            blank = [n for n, g in zip(names, given) if not g]
            problems.append(Problem(row.source(blank[0]), (
                f"band {letter.upper()} has no {', '.join(blank)}"),
                f"give band {letter.upper()}'s min, max and price per participant"
                + (", or none of them" if letter != "a" else "")))
            continue
        low = cells.whole(names[0], fix="write the band's lowest participant count, e.g. 0")
        high = cells.whole(names[1], low=1, fix="write the band's highest participant count")
        price = cells.amount(names[2])
        if low is None or high is None or price is None:
            continue
        # fees.yaml imported_band_splits (band D: 100/0); the others take band_split
        split = splits.get(letter.upper())
        bands.append(BandTerms(
            name=letter.upper(), min=low, max=high, per_participant=price,
            output_payment_percentage=split.output_payment_percentage if split else None,
            service_fee_percentage=split.service_fee_percentage if split else None))
        columns.append(letter)
    if len(problems) == before:
        for path, what, fix in _band_issues(tuple(bands), None, ()):
            item, field = path[1], (path[2] if len(path) > 2 else "min")
            problems.append(Problem(row.source(
                f"band-{columns[item]}-{field.replace('_', '-')}"), what, fix))
    if len(problems) != before or provider is None or cohort is None:
        return None
    return _Contract(row, provider, cohort, fields, tuple(bands))


def _mentor(row: _Row, problems: list[Problem], largest: Decimal
            ) -> tuple[str, int, Decimal, int] | None:
    before = len(problems)
    cells = _Cells(row, problems, largest)
    provider = cells.text("lead-provider-name")
    cohort = cells.whole("cohort-start-year", low=2000,
                         fix="write the cohort's start year, e.g. 2025")
    target = cells.whole("recruitment-target", low=1, fix="write the number of mentors")
    price = cells.amount("payment-per-participant", fix="write the payment per mentor in "
                                                        "pounds, e.g. 1000")
    if (len(problems) != before or provider is None or cohort is None or target is None
            or price is None):
        return None
    return provider, cohort, price, target


def _key(provider: str, cohort: int) -> tuple[str, int]:
    return " ".join(provider.split()).casefold(), cohort


def import_contracts(paths: Sequence[Path], *, vat_chargeable: bool = True,
                     fees: FeesFile | None = None) -> list[Imported]:
    """The contract YAML of every provider and cohort in DfE's CSVs (module doc); an
    amount beyond fees.yaml's ``largest_amount`` is a located error (the contract
    written would not pass ``rules check``). ``fees``: the bundled rules' unless given
    (its ``imported_band_splits`` are written into the bands they name)."""
    if fees is None:
        fees = load_rulebook().fees
    _check_band_splits(fees)
    largest = fees.largest_amount
    problems: list[Problem] = []
    contracts: dict[tuple[str, int], _Contract] = {}
    mentors: list[tuple[_Row, tuple[str, int, Decimal, int]]] = []
    for path in paths:
        read = _read_csv(Path(path), problems)
        if read is None:
            continue
        kind, rows = read
        for row in rows:
            if kind == "call-off":
                contract = _call_off(row, problems, largest, fees.imported_band_splits)
                if contract is None:
                    continue
                key = _key(contract.lead_provider, contract.cohort)
                if key in contracts:
                    first = contracts[key].row
                    problems.append(Problem(row.source("lead-provider-name"), (
                        f"a second contract for {contract.lead_provider}, cohort "
                        f"{contract.cohort} (the first is {first.file}, row {first.number})"),
                        "keep one row per lead provider and cohort"))
                    continue
                contracts[key] = contract
            else:
                mentor = _mentor(row, problems, largest)
                if mentor is not None:
                    mentors.append((row, mentor))
    mentor_of: dict[tuple[str, int], tuple[_Row, Decimal, int]] = {}
    for row, (provider, cohort, price, target) in mentors:
        key = _key(provider, cohort)
        if key not in contracts:
            problems.append(Problem(row.source("lead-provider-name"), (
                f"a mentor contract for {provider}, cohort {cohort}, without a call-off "
                "contract row for them"),
                "give DfE's call-off contract CSV too (a contract needs its bands), with "
                "the provider's name spelt the same way"))
        elif key in mentor_of:
            first = mentor_of[key][0]
            problems.append(Problem(row.source("lead-provider-name"), (
                f"a second mentor contract for {provider}, cohort {cohort} (the first is "
                f"{first.file}, row {first.number})"),
                "keep one row per lead provider and cohort"))
        else:
            mentor_of[key] = (row, price, target)
    if problems:
        raise InputError(problems)
    result = []
    names: dict[str, _Contract] = {}
    for key, contract in sorted(contracts.items()):
        name = f"{_slug(contract.lead_provider)}-{contract.cohort}.yaml"
        if name in names:
            other = names[name]
            problems.append(Problem(contract.row.source("lead-provider-name"), (
                f"{contract.lead_provider!r} and {other.lead_provider!r} (row "
                f"{other.row.number}) would both be written to {name}"),
                "check the two names: are they one provider spelt two ways?"))
        names[name] = contract
        result.append(Imported(name, _yaml(contract, mentor_of.get(key), vat_chargeable),
                               contract.lead_provider, contract.cohort))
    if problems:
        raise InputError(problems)
    return result


def _check_band_splits(fees: FeesFile) -> None:
    """Each band ``imported_band_splits`` names is one of the CSV's: a name matching
    none (``d`` for ``D``, say) would be written into no contract, silently."""
    known = [letter.upper() for letter in BANDS]
    unknown = [name for name in fees.imported_band_splits if name not in known]
    if unknown:
        raise RuleError([Problem(
            Source("fees.yaml"),
            f"imported_band_splits: {name!r} is not a band of DfE's contract CSV "
            f"(its bands are {', '.join(known)})",
            f"name one of {', '.join(known)}, in capitals") for name in unknown])


def write_contracts(paths: Sequence[Path], out: Path, *, vat_chargeable: bool = True,
                    overwrite: bool = False, echo: Callable[[str], None] | None = None
                    ) -> list[Path]:
    """Import and write, all or nothing: no file is written when any row is bad, an
    output never replaces an input, and an existing contract only with ``overwrite``."""
    imported = import_contracts(paths, vat_chargeable=vat_chargeable)
    targets = [out / item.name for item in imported]
    # The shared check: no output is an input (through any link), a device or a
    # folder, and the --out folder can be written.
    check_output_paths([("--out", target) for target in targets],
                       [("contract CSV", Path(p)) for p in paths],
                       folders=[("--out", out)])
    problems = []
    for target in targets:
        if target.exists() and not overwrite:
            problems.append(Problem(Source(str(target)), "already exists", (
                "choose another --out folder, or add --overwrite to replace it (a contract "
                "you edited, e.g. with versions, would be lost)")))
    if problems:
        raise UsageError(problems)
    outputs = Outputs()
    outputs.folder(out)
    for target, item in zip(targets, imported):
        outputs.text(target, item.text)
    outputs.commit()
    if echo is not None:
        for target, item in zip(targets, imported):
            echo(f"reconcile: wrote {target} ({item.lead_provider}, cohort {item.cohort})")
    return targets


# --------------------------------------------------------------------------- writing


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "contract"


_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,&()'/-]*$")


def _scalar(text: str) -> str:
    """A YAML scalar that reads back as this exact text."""
    if _PLAIN.match(text) and not text.endswith((" ", ":")) and ": " not in text \
            and text.lower() not in ("true", "false", "yes", "no", "null", "on", "off"):
        try:
            Decimal(text)
        except ArithmeticError:
            return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _number(value: Decimal | int | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    text = f"{value.normalize():f}"
    return text


def _yaml(contract: _Contract, mentor: tuple[_Row, Decimal, int] | None,
          vat_chargeable: bool) -> str:
    f = contract.fields
    row = contract.row
    source = f"{row.file}, row {row.number}"
    if mentor is not None:
        source += f", and {mentor[0].file}, row {mentor[0].number}"
    lines = [
        f"# Call-off contract of {contract.lead_provider}, cohort {contract.cohort}, imported",
        "# by `reconcile contracts import` from DfE's contract CSV (the columns of DfE's",
        "# importer, early-careers-framework app/services/importers/",
        "# create_call_off_contract.rb): " + source + ".",
        "# Check it with: reconcile rules check --contracts THIS_FILE (docs/rules.md",
        "# \"Contracts\"). When DfE issues a new contract version, add a `versions:` entry.",
        f"lead_provider: {_scalar(contract.lead_provider)}",
        f"cohort: {contract.cohort}",
        "# Not in DfE's contract CSV (DfE records VAT registration per lead provider):",
        "# given by --vat-chargeable / --not-vat-chargeable. Check it.",
        f"vat_chargeable: {'true' if vat_chargeable else 'false'}",
        f"recruitment_target: {contract.fields['recruitment_target']}",
    ]
    notes = []
    if f["uplift_target"] is not None:
        notes.append(f"uplift-target {_number(f['uplift_target'])}")
    if f["revised_target"] is not None:
        notes.append(f"revised-target {f['revised_target']}")
    if notes:
        lines.append(f"# DfE's CSV also says {' and '.join(notes)}: not used in payments.")
    lines += [
        f"set_up_fee: {_number(f['set_up_fee'])}",
        "# per eligible start; null: no uplift fees (a blank uplift-amount)",
        f"uplift_amount: {_number(f['uplift_amount'])}",
        "# null: calculated (a blank monthly-service-fee)",
        f"monthly_service_fee: {_number(f['monthly_service_fee'])}",
        "bands:",
    ]
    for band in contract.bands:
        text = (f"  - {{name: {band.name}, min: {band.min}, max: {band.max}, "
                f"per_participant: {_number(band.per_participant)}")
        if band.output_payment_percentage is not None:
            text += (f", output_payment_percentage: {band.output_payment_percentage}, "
                     f"service_fee_percentage: {band.service_fee_percentage}")
        lines.append(text + "}")
    if mentor is not None:
        _row, price, target = mentor
        lines += [
            "# Flat-rate mentor funding (DfE's mentor call-off contract, create_mentor_call_",
            f"# off_contract.rb; its recruitment target of {target} mentors is not used in "
            "payments).",
            "mentor:",
            f"  payment_per_participant: {_number(price)}",
        ]
    return "\n".join(lines) + "\n"
