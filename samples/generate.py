"""Generate realistic, seeded lead-provider data: declarations, contracts, DfE statements.

Stage: none (a development and demo tool; nothing in ``reconcile/`` imports it).
In: a seed and a number of declarations. Out: a folder of input files for
``reconcile run``::

    python -m samples.generate --out DIR --declarations 3000 --seed 2026 --planted

writes ``DIR/declarations.xlsx`` (INTERFACES.md §2), ``DIR/contracts/*.yaml``
(§4), ``DIR/dfe-statements.xlsx`` (§3) and, with ``--planted``,
``DIR/dfe-statements-planted.xlsx`` and ``DIR/planted.json``. ``--csv`` adds
``declarations.csv``; ``--api-json`` each provider's Lead Provider API v3 pull in
``DIR/api/<provider>/`` (declarations pages, participants pages, statements list) and
``--assurance`` DfE's assurance report of every statement in ``DIR/assurance/``, both
exactly as DfE writes them (:mod:`samples.dfe_shapes`).

What the data looks like (every date comes from the bundled rulebook's statement
calendars and schedules, ``rules/calendars.yaml`` and ``rules/schedules.yaml``):

* two lead providers, each with its delivery partners; a few participants have no
  delivery partner (DOMAIN.md: the partner is stamped only since 2022-09);
* cohorts 2022-2025; ECTs on standard, extended and reduced schedules, mentors
  banded with ECTs up to 2024 and on the flat rate (started + completed only) in
  2025 (DOMAIN.md "Mentors");
* participants drop off over retained-1..4 and completed; extended ECTs declare
  extended-1..3; declaration dates fall inside the milestone windows;
* ``created_at`` decides the statement: a declaration attaches to its cohort's next
  output-fee statement whose cut-off is on or after the day it was submitted
  (DOMAIN.md "Statement"); its state follows that statement (paid, payable, eligible)
  as at ``--as-of``; recent ones wait in ``submitted``;
* pupil-premium/sparsity flags before 2025 (none from 2025: no uplift);
* voids before payment (``voided``) and after it: clawbacks on a later output-fee
  statement, ``awaiting-clawback`` or ``clawed-back`` with ``clawback_statement_name``;
  some participants re-declare after a clawback (DOMAIN.md "things that go wrong");
* ineligible duplicates (DfE made the second declaration ``ineligible``);
* anomalies the tool must flag (off with ``--clean``): a few declaration dates
  outside their milestone window and a few billable duplicates;
* contracts sized to the data, one of them (``OVER_CAPACITY``) with bands too small
  for its declarations, so some are beyond the last band and unpaid.

The DfE side is produced by the project's own calculation: the generator runs
``reconcile.pipeline.run`` on the declarations it wrote and writes the expected
statements in DfE's format. The consistent workbook therefore matches by
construction; it tests the comparison and the plumbing, not the calculation (the
calculation is tested against DOMAIN.md's worked examples). ``--planted`` then
changes copies of a few statements in known ways, recorded in ``planted.json``.

Everything is deterministic: one ``random.Random(seed)``, ids made from it, no
set/dict iteration order that depends on hashing, and the xlsx ``created`` date
fixed, so the same seed gives byte-identical files. Declarations are generated
participant by participant and written with xlsxwriter's constant-memory mode, so
writing them takes the same few tens of megabytes for a thousand or a million
(``make bench`` measures it); the DfE side needs what the pipeline needs.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import xlsxwriter

#: The moment the sample data is "as at": statements paid on or before it are paid.
AS_OF = dt.date(2026, 10, 10)

#: xlsx document properties are fixed so that files are byte-identical per seed.
FIXED_CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)

#: Bumped when the generator's output changes for the same seed (bench cache key).
GENERATOR_VERSION = 1

#: declarations an xlsx sheet holds below its header: Excel's 1,048,576 rows less one
#: (reconcile.continuation.MAX_ROWS; XlsxWriter would silently drop the rest)
XLSX_DATA_ROWS = 1_048_575


class TooManyForXlsx(ValueError):
    """More declarations than one xlsx sheet holds, and no CSV or JSON asked for."""

#: Namespace for the uuid5 ids of statements and delivery partners (stable names).
NAMESPACE = uuid.UUID("6f1c2a4e-6b0d-4c61-9d0e-5a2f3b9c8e10")

#: Declarations columns (INTERFACES.md §2), in the order written.
COLUMNS = (
    "declaration_id", "participant_id", "course_identifier", "declaration_type",
    "declaration_date", "state", "cohort", "lead_provider", "created_at",
    "statement_id", "statement_name", "clawback_statement_id", "clawback_statement_name",
    "delivery_partner_id", "delivery_partner_name", "pupil_premium_uplift",
    "sparsity_uplift", "schedule_identifier",
)

STATEMENT_COLUMNS = ("statement_id", "lead_provider", "cohort", "name", "cut_off_date",
                     "payment_date", "output_fee", "paid", "vat_chargeable", "total",
                     "contract_version")
LINE_COLUMNS = ("statement_id", "line_type", "participant_type", "declaration_type", "band",
                "count", "fee_per_declaration", "amount", "description")

COHORTS = (2022, 2023, 2024, 2025)
#: from this cohort mentors are paid the flat rate and nobody gets an uplift (the
#: contracts written below say so; the generator only shapes the data to match)
FLAT_RATE_FROM = 2025

ECT_COURSE, MENTOR_COURSE = "ecf-induction", "ecf-mentor"


# --- the rulebook's calendars and schedules ------------------------------------------------

class CalendarRow(NamedTuple):
    name: str
    cut_off: dt.date
    payment: dt.date
    output_fee: bool


class Reference(NamedTuple):
    """What the generator needs from the rulebook: calendars, schedules, type order."""

    calendars: dict  # cohort -> tuple[CalendarRow, ...] in payment-date order
    schedules: dict  # (identifier, cohort) -> {declaration_type: (start, end | None)}
    declaration_types: tuple[str, ...]
    source: str


def load_reference(rules_dir: Path | None = None) -> Reference:
    """Calendars and schedules from the bundled rulebook (``load_rulebook``)."""
    try:
        from reconcile.rulebook.load import load_rulebook
    except ImportError:  # the rulebook loader is not there yet: read the YAML itself
        return _reference_from_yaml(rules_dir)
    rulebook = load_rulebook(rules_dir)
    calendars = {}
    for cohort, rows in rulebook.calendar.items():
        calendars[int(cohort)] = tuple(sorted(
            (CalendarRow(r.name, r.cut_off_date, r.payment_date, bool(r.output_fee))
             for r in rows), key=lambda r: (r.payment, r.cut_off)))
    schedules = {}
    for (identifier, cohort), schedule in rulebook.schedules.items():
        schedules[(identifier, int(cohort))] = {
            kind: (m.start_date, m.milestone_date) for kind, m in schedule.milestones.items()}
    return Reference(calendars, schedules, tuple(rulebook.vocabulary.declaration_types),
                     str(rulebook.directory))


_DECLARATION_TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4",
                      "completed", "extended-1", "extended-2", "extended-3")


def _reference_from_yaml(rules_dir: Path | None) -> Reference:
    """The same from ``rules/calendars.yaml`` and ``rules/schedules.yaml`` directly."""
    import yaml

    folder = Path(rules_dir) if rules_dir else Path(__file__).resolve().parent.parent / "rules"
    calendar_doc = yaml.safe_load((folder / "calendars.yaml").read_text(encoding="utf-8"))
    correct = (calendar_doc.get("policy") or {}).get("faulty_cut_off") == "correct"
    calendars = {}
    for cohort, rows in calendar_doc["cohorts"].items():
        parsed = []
        for r in rows:
            cut_off, payment = r["cut_off"], r["payment"]
            if correct and cut_off > payment:  # the policy: last day of the month before
                cut_off = payment.replace(day=1) - dt.timedelta(days=1)
            parsed.append(CalendarRow(r["name"], cut_off, payment, bool(r["output_fee"])))
        calendars[int(cohort)] = tuple(sorted(parsed, key=lambda r: (r.payment, r.cut_off)))
    schedule_doc = yaml.safe_load((folder / "schedules.yaml").read_text(encoding="utf-8"))
    schedules = {}
    for s in schedule_doc["schedules"]:
        schedules[(s["identifier"], int(s["cohort"]))] = {
            m["declaration_type"]: (m["start"], m["end"]) for m in s["milestones"]}
    return Reference(calendars, schedules, _DECLARATION_TYPES, str(folder))


# --- sample content: providers, partners, contracts --------------------------------------

class ProviderSpec(NamedTuple):
    name: str
    share: float
    vat_chargeable: bool
    partner_towns: tuple[str, ...]
    #: band prices per cohort: tuple of (band name, per participant, output %, service %)
    prices: dict
    set_up_fee: dict
    monthly_service_fee: dict


PROVIDERS = (
    ProviderSpec(
        "Northbrook Teaching Institute", 0.62, True,
        ("Eastfield", "Kingsmere", "Ashby Vale", "Holloway Cross", "Pennine Edge",
         "Marston", "Riverside", "Oakhurst", "Saltcombe", "Whitley Bay"),
        {2022: (("A", 995, None, None), ("B", 979, None, None), ("C", 966, None, None)),
         # band D: participants over the band C target, 100% output (DOMAIN.md "Prices")
         2023: (("A", 1010, None, None), ("B", 990, None, None), ("C", 975, None, None),
                ("D", 950, 100, 0)),
         2024: (("A", 1025, None, None), ("B", 1005, None, None), ("C", 990, None, None)),
         2025: (("A", 1040, None, None), ("B", 1020, None, None), ("C", 1000, None, None))},
        {2022: 0, 2023: 0, 2024: 0, 2025: 0},
        {},
    ),
    ProviderSpec(
        "Harbour Lane Education Trust", 0.38, False,
        ("Castlegate", "Fenwick", "Lowmoor", "Bramhall", "Tidewater", "Greyfriars",
         "Elmstead", "Norbury"),
        {2022: (("A", 1100, None, None), ("B", 1080, None, None), ("C", 1060, None, None)),
         2023: (("A", 1110, None, None), ("B", 1090, None, None), ("C", 1070, None, None)),
         2024: (("A", 1120, None, None), ("B", 1100, None, None), ("C", 1080, None, None)),
         2025: (("A", 1130, None, None), ("B", 1110, None, None), ("C", 1090, None, None))},
        {2022: 1500, 2023: 0, 2024: 0, 2025: 0},
        # an explicit monthly figure wins over the calculation (INTERFACES.md §4)
        {2023: 2400},
    ),
)

#: the contract whose bands are too small for its declarations (CALC_OVER_CAPACITY)
OVER_CAPACITY = (PROVIDERS[1].name, 2024)
#: contracts with a later version (docs/rules.md "Contract versions"), as DfE made them:
#: the service fee stopped part-way (ECF oneoffs/change_service_fees.rb) and a band C
#: added by lowering band B's max (ECF oneoffs/add_band_c.rb)
FEE_STOPPED = (PROVIDERS[0].name, 2022)
BAND_C_ADDED = (PROVIDERS[0].name, 2024)

#: names of the further providers of a national sample (``--providers N``): fictional
MORE_PROVIDER_PLACES = (
    "Westmoor", "Calderbrook", "Fairhaven", "Millbridge", "Stonegate", "Ravenshaw",
    "Thornbury Vale", "Kestrel Moor", "Ashcombe", "Linden Cross", "Brackenfield",
    "Hollins Park", "Seaton Reach", "Whitcombe", "Elder Bank", "Marlow Heath", "Copperfield",
    "Larkspur", "Granton", "Wyvern")
MORE_PROVIDER_KINDS = ("Teaching Institute", "Education Trust", "Teacher Development Network",
                       "School of Education", "Learning Partnership")


def providers(count: int = 2) -> tuple[ProviderSpec, ...]:
    """The lead providers of a sample: the two above, then ``count - 2`` more like them.

    The further ones take the prices of the first two a few pounds apart, fictional
    names and towns, and market shares that shrink down the list (the first two keep
    theirs relative to each other); two providers give exactly :data:`PROVIDERS`.
    """
    if count <= len(PROVIDERS):
        return PROVIDERS[:max(count, 1)]
    made = list(PROVIDERS)
    for i in range(len(PROVIDERS), count):
        base = PROVIDERS[i % 2]
        place = MORE_PROVIDER_PLACES[(i - 2) % len(MORE_PROVIDER_PLACES)]
        kind = MORE_PROVIDER_KINDS[(i - 2) % len(MORE_PROVIDER_KINDS)]
        rounds = (i - 2) // len(MORE_PROVIDER_PLACES)
        name = f"{place} {kind}" + (f" {rounds + 1}" if rounds else "")
        step = 5 * (i - 1)
        prices = {cohort: tuple((band, price + step, out, service)
                                for band, price, out, service in bands)
                  for cohort, bands in base.prices.items()}
        towns = tuple(f"{place} {t}" for t in ("North", "South", "East", "West", "Central"))
        made.append(base._replace(name=name, share=base.share / (i ** 0.7),
                                  vat_chargeable=i % 3 != 0, partner_towns=towns,
                                  prices=prices, set_up_fee=dict.fromkeys(base.set_up_fee, 0),
                                  monthly_service_fee={}))
    total = sum(p.share for p in made)
    return tuple(p._replace(share=p.share / total) for p in made)

COHORT_SHARE = {2022: 0.23, 2023: 0.26, 2024: 0.27, 2025: 0.24}
UPLIFT_AMOUNT = 100          # contracts up to cohort 2024 (INTERFACES.md §4)
MENTOR_PAYMENT = 1000        # flat-rate mentor funding from 2025

PARTNER_KINDS = ("Teaching School Hub", "Learning Trust", "Teaching School Alliance",
                 "School of Education", "Schools Partnership")

# schedule mix: (identifier, weight)
ECT_SCHEDULES = (("ecf-standard-september", 78), ("ecf-standard-january", 9),
                 ("ecf-standard-april", 4), ("ecf-extended-september", 5),
                 ("ecf-reduced-september", 4))
MENTOR_SCHEDULES = (("ecf-standard-september", 85), ("ecf-standard-january", 8),
                    ("ecf-replacement-september", 7))
FLAT_RATE_MENTOR_SCHEDULES = (("ecf-standard-september", 1),)


class Profile(NamedTuple):
    """Probabilities that shape the data (sample content, not payment rules)."""

    mentor_share: float = 0.28
    no_partner: float = 0.02
    pupil_premium: float = 0.18
    sparsity: float = 0.07
    keep_ect: float = 0.95          # chance to reach the next milestone
    keep_mentor: float = 0.91
    keep_extended: float = 0.85
    submitted_recent: float = 0.15  # recent declarations still waiting for eligibility
    recent_days: int = 45
    void: float = 0.012             # a declaration is voided (or clawed back if paid)
    redeclare: float = 0.25         # after a clawback the participant re-declares
    ineligible_duplicate: float = 0.003
    outside_window: float = 0.0015  # anomaly: date outside the milestone window
    billable_duplicate: float = 0.0008  # anomaly: a second billable declaration
    mean_lag_days: float = 6.0      # declaration_date -> created_at


DEFAULT_PROFILE = Profile()


class Partner(NamedTuple):
    id: str | None
    name: str | None


class Statement(NamedTuple):
    id: str
    name: str
    cut_off: dt.date
    payment: dt.date


class GenerateResult(NamedTuple):
    out: Path
    declarations: int
    participants: int
    counts: dict          # (declaration_type, state) -> count
    contracts: tuple[Path, ...]
    files: tuple[Path, ...]
    seconds: dict         # step -> seconds
    peak_mb: dict         # step -> peak resident memory of the process so far (MB)
    anomalies: tuple[dict, ...]
    planted: tuple[dict, ...]


def statement_id(lead_provider: str, cohort: int, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"statement/{lead_provider}/{cohort}/{name}"))


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


# --- the declarations ---------------------------------------------------------------------

class _Attacher:
    """Next output-fee statement of a cohort on or after a day, per provider."""

    def __init__(self, reference: Reference, lead_provider: str, cohort: int) -> None:
        rows = [r for r in reference.calendars.get(cohort, ()) if r.output_fee]
        self.statements = [Statement(statement_id(lead_provider, cohort, r.name), r.name,
                                     r.cut_off, r.payment) for r in rows]
        self._cache: dict[dt.date, Statement | None] = {}

    def next_after(self, day: dt.date, paid_after: dt.date | None = None) -> Statement | None:
        key = (day, paid_after)
        if key in self._cache:
            return self._cache[key]
        found = None
        for statement in self.statements:
            if statement.cut_off >= day and (paid_after is None or statement.payment > paid_after):
                found = statement
                break
        self._cache[key] = found
        return found


class _Step(NamedTuple):
    declaration_type: str
    start: dt.date
    end: dt.date
    dated: bool  # the schedule gives a milestone date (window validated by the rules)


def _season_start(identifier: str, cohort: int) -> dt.date:
    if identifier.endswith("january"):
        return dt.date(cohort + 1, 1, 6)
    if identifier.endswith("april"):
        return dt.date(cohort + 1, 4, 15)
    return dt.date(cohort, 9, 5)


def _steps(reference: Reference, identifier: str, cohort: int, participant: str) -> tuple:
    """The milestones a participant declares, in order, with the window of each."""
    milestones = reference.schedules[(identifier, cohort)]
    order = [t for t in reference.declaration_types if t in milestones]
    extended = [t for t in order if t.startswith("extended")]
    if participant == "flat_rate_mentor":
        kinds = [t for t in order if t in ("started", "completed")]
    elif participant == "mentor":
        kinds = [t for t in order if not t.startswith("extended")]
    else:
        # extended ECTs declare the extension points before completing
        kinds = [t for t in order if t != "completed" and not t.startswith("extended")]
        kinds += extended + (["completed"] if "completed" in order else [])
    base = _season_start(identifier, cohort)
    step_days = 95 if "reduced" in identifier else 121
    steps = []
    for index, kind in enumerate(kinds):
        start, end = milestones[kind]
        if end is not None:
            lo = start
            if kind == "started" and start < base <= end:
                lo = base  # declared once the school year has started
            steps.append(_Step(kind, lo, end, True))
            continue
        # no milestone date (non-standard and 2025 schedules): space them a term apart
        position = 3 * index if participant == "flat_rate_mentor" else index
        lo = max(start, base + dt.timedelta(days=position * step_days))
        steps.append(_Step(kind, lo, lo + dt.timedelta(days=step_days - 25), False))
    return tuple(steps)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


#: datetime.UTC exists only from Python 3.11; we run on 3.10 too
UTC = dt.timezone.utc  # noqa: UP017


def _moment(day: dt.date, seconds: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(seconds=seconds)


def _rfc3339(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: random.Random, weighted: tuple) -> str:
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


#: _emit's default line item: the statement the declaration is on
_SAME = object()


class _Contract(NamedTuple):
    lead_provider: str
    cohort: int
    attacher: _Attacher


class DeclarationStream:
    """Yields declaration rows (tuples in :data:`COLUMNS` order), participant by participant.

    Keeps only counters (per contract started declarations for sizing the bands,
    counts by type and state, the anomalies planted), so memory is constant in N.
    """

    def __init__(self, reference: Reference, total: int, seed: int, *, as_of: dt.date = AS_OF,
                 anomalies: bool = True, profile: Profile = DEFAULT_PROFILE,
                 lead_providers: tuple[ProviderSpec, ...] = PROVIDERS) -> None:
        self.reference = reference
        self.total = total
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.as_of_end = _moment(as_of, 86399)
        self.recent = _moment(as_of - dt.timedelta(days=profile.recent_days), 0)
        self.anomalies = anomalies
        self.p = profile
        self.counts: Counter = Counter()
        self.banded_started: Counter = Counter()  # (lead_provider, cohort) -> count
        self.planted_anomalies: list[dict] = []
        self._pending: dict[str, dict] = {}  # anomalies of rows not yet written
        self.participants = 0
        self.contracts = [
            (_Contract(lp.name, cohort, _Attacher(reference, lp.name, cohort)),
             lp.share * COHORT_SHARE[cohort])
            for lp in lead_providers for cohort in COHORTS if cohort in reference.calendars]
        self.partners = {lp.name: self._partners(lp, total) for lp in lead_providers}
        self._steps_cache: dict = {}

    @staticmethod
    def _partners(lp: ProviderSpec, total: int) -> tuple:
        """Delivery partners with Zipf-like weights; more of them for bigger data."""
        wanted = max(5, min(120, round((total ** 0.5) / 6)))
        names = []
        for i in range(wanted):
            towns = len(lp.partner_towns)
            town = lp.partner_towns[i % towns]
            kind = PARTNER_KINDS[(i + i // towns) % len(PARTNER_KINDS)]
            round_ = i // (towns * len(PARTNER_KINDS))
            names.append(f"{town} {kind}" + (f" {round_ + 1}" if round_ else ""))
        return tuple((Partner(str(uuid.uuid5(NAMESPACE, f"partner/{lp.name}/{n}")), n), 1 / (i + 1))
                     for i, n in enumerate(names))

    def _steps(self, identifier: str, cohort: int, participant: str) -> tuple:
        key = (identifier, cohort, participant)
        if key not in self._steps_cache:
            self._steps_cache[key] = _steps(self.reference, identifier, cohort, participant)
        return self._steps_cache[key]

    def __iter__(self) -> Iterator[tuple]:
        emitted = 0
        while emitted < self.total:
            for row in self._participant():
                self._count(row)
                yield row
                emitted += 1
                if emitted >= self.total:
                    return

    def _count(self, row: tuple) -> None:
        """Counters of what is written (the last participant may be cut short)."""
        declaration_type, state, cohort, course = row[3], row[5], row[6], row[2]
        self.counts[(declaration_type, state)] += 1
        if declaration_type == "started" and state in (
                "eligible", "payable", "paid", "awaiting-clawback", "clawed-back") and (
                course == ECT_COURSE or cohort < FLAT_RATE_FROM):
            self.banded_started[(row[7], cohort)] += 1
        anomaly = self._pending.pop(row[0], None)
        if anomaly is not None:
            self.planted_anomalies.append(anomaly)

    # one participant: their declarations in date order
    def _participant(self) -> list[tuple]:
        rng, p = self.rng, self.p
        contract = _pick(rng, self.contracts)
        lead_provider, cohort, attacher = contract
        self.participants += 1
        mentor = rng.random() < p.mentor_share
        if mentor and cohort >= FLAT_RATE_FROM:
            kind, schedules, course = "flat_rate_mentor", FLAT_RATE_MENTOR_SCHEDULES, MENTOR_COURSE
        elif mentor:
            kind, schedules, course = "mentor", MENTOR_SCHEDULES, MENTOR_COURSE
        else:
            kind, schedules, course = "ect", ECT_SCHEDULES, ECT_COURSE
        schedule = _pick(rng, schedules)
        if (schedule, cohort) not in self.reference.schedules:
            schedule = "ecf-standard-september"
        participant_id = _uuid(rng)
        partner = (Partner(None, None) if rng.random() < p.no_partner
                   else _pick(rng, self.partners[lead_provider]))
        uplift_possible = cohort < FLAT_RATE_FROM and "replacement" not in schedule
        pupil_premium = uplift_possible and rng.random() < p.pupil_premium
        sparsity = uplift_possible and rng.random() < p.sparsity
        keep = {"ect": p.keep_ect, "mentor": p.keep_mentor,
                "flat_rate_mentor": p.keep_mentor}[kind]
        fixed = (participant_id, course, cohort, lead_provider, partner.id, partner.name,
                 pupil_premium, sparsity, schedule)
        rows: list[tuple] = []
        for index, step in enumerate(self._steps(schedule, cohort, kind)):
            if index and rng.random() >= (p.keep_extended if step.declaration_type.startswith(
                    "extended") else keep):
                break
            span = (step.end - step.start).days
            day = step.start + dt.timedelta(days=rng.randint(0, max(span, 0)))
            anomaly = None
            if self.anomalies and step.dated and rng.random() < p.outside_window:
                if rng.random() < 0.5:
                    day, anomaly = step.start - dt.timedelta(days=rng.randint(1, 30)), "before_start"
                else:
                    day, anomaly = step.end + dt.timedelta(days=rng.randint(1, 30)), "after_cutoff"
            declared = _moment(day, rng.randint(8 * 3600, 18 * 3600))
            created = declared + dt.timedelta(days=rng.expovariate(1 / p.mean_lag_days),
                                              seconds=rng.randint(0, 3600))
            if created > self.as_of_end:
                break  # not submitted yet
            outcome = self._declare(rows, fixed, attacher, step.declaration_type, declared,
                                    created, anomaly)
            if outcome == "stop":
                break
        return rows

    def _declare(self, rows, fixed, attacher, declaration_type, declared, created, anomaly) -> str:
        """Append a declaration (and its duplicates); ``stop`` ends the participant."""
        rng, p = self.rng, self.p
        statement = attacher.next_after(created.date())
        if statement is None:
            return "stop"  # the cohort has no output-fee statement left: cannot declare
        declaration_id = _uuid(rng)
        if created >= self.recent and rng.random() < p.submitted_recent:
            self._emit(rows, fixed, declaration_id, declaration_type, declared, created,
                       "submitted", None, None)
            return "stop"
        state = self._state(statement)
        outcome = "next"
        claw = None
        if rng.random() < p.void:
            # half are corrections soon after submission (usually before payment: voided),
            # half come later, after payment (a clawback)
            days = rng.randint(1, 30) if rng.random() < 0.5 else rng.randint(31, 400)
            voided = created + dt.timedelta(days=days, seconds=rng.randint(0, 86399))
            if voided <= self.as_of_end:
                if statement.payment < voided.date():
                    # paid before the void: clawed back on a later output-fee statement
                    claw = attacher.next_after(voided.date(), paid_after=statement.payment)
                    if claw is not None:
                        state = ("clawed-back" if claw.payment <= self.as_of
                                 else "awaiting-clawback")
                        outcome = "redeclare" if rng.random() < p.redeclare else "stop"
                else:
                    # voided before payment: its line item on the statement is voided
                    # (DfE's VoidParticipantDeclaration), and the API shows no statement
                    self._emit(rows, fixed, declaration_id, declaration_type, declared,
                               created, "voided", None, None, line_item=statement,
                               changed=voided)
                    if anomaly:
                        self._note(anomaly, declaration_id, fixed, declaration_type)
                    return "stop"
        changed = None
        if claw is not None:
            changed = (_moment(claw.payment, 2 * 3600) if state == "clawed-back" else voided)
        self._emit(rows, fixed, declaration_id, declaration_type, declared, created, state,
                   statement, claw, changed=changed)
        if anomaly:
            self._note(anomaly, declaration_id, fixed, declaration_type)
        if outcome == "redeclare":
            again = voided + dt.timedelta(days=rng.randint(3, 40))
            if again <= self.as_of_end:
                statement = attacher.next_after(again.date())
                if statement is not None:
                    self._emit(rows, fixed, _uuid(rng), declaration_type, declared, again,
                               self._state(statement), statement, None)
                    return "next"
            return "stop"
        if outcome == "stop":
            return "stop"
        # a second declaration for the same milestone
        if rng.random() < p.ineligible_duplicate:
            later = created + dt.timedelta(days=rng.randint(1, 20))
            if later <= self.as_of_end:
                # DfE attaches an ineligible declaration too (its line item, ineligible)
                self._emit(rows, fixed, _uuid(rng), declaration_type, declared, later,
                           "ineligible", None, None, line_item=attacher.next_after(later.date()))
        elif self.anomalies and state in ("paid", "payable", "eligible") and \
                rng.random() < p.billable_duplicate:
            later = created + dt.timedelta(days=rng.randint(1, 20))
            again = attacher.next_after(later.date())
            if later <= self.as_of_end and again is not None:
                duplicate_id = _uuid(rng)
                self._emit(rows, fixed, duplicate_id, declaration_type, declared, later,
                           self._state(again), again, None)
                self._note("duplicate", duplicate_id, fixed, declaration_type,
                           original=declaration_id)
        return "next"

    def _state(self, statement: Statement) -> str:
        if statement.payment <= self.as_of:
            return "paid"
        if statement.cut_off < self.as_of:
            return "payable"
        return "eligible"

    def _note(self, kind, declaration_id, fixed, declaration_type, **more) -> None:
        self._pending[declaration_id] = {
            "kind": kind, "declaration_id": declaration_id, "participant_id": fixed[0],
            "lead_provider": fixed[3], "cohort": fixed[2], "declaration_type": declaration_type,
            **more}

    def _emit(self, rows, fixed, declaration_id, declaration_type, declared, created, state,
              statement, claw, *, line_item=_SAME, changed=None) -> None:
        """A row: the :data:`COLUMNS`, then (internal, for DfE's shapes) the statement of
        the declaration's first line item (None: submitted, never attached) and when DfE
        last changed it (``updated_at``)."""
        (participant_id, course, cohort, lead_provider, partner_id, partner_name,
         pupil_premium, sparsity, schedule) = fixed
        if line_item is _SAME:
            line_item = statement
        if changed is None:
            changed = self._changed(statement, state, created)
        rows.append((
            declaration_id, participant_id, course, declaration_type, _rfc3339(declared), state,
            cohort, lead_provider, _rfc3339(created),
            statement.id if statement else None, statement.name if statement else None,
            claw.id if claw else None, claw.name if claw else None,
            partner_id, partner_name, pupil_premium, sparsity, schedule,
            line_item, changed))

    def _changed(self, statement: Statement | None, state: str,
                 created: dt.datetime) -> dt.datetime:
        """When DfE last changed a declaration: paid when its statement was, payable the
        day after the cut-off (DfE's daily job), else when it was made."""
        if statement is not None and state == "paid":
            return _moment(statement.payment, 2 * 3600)
        if statement is not None and state == "payable":
            return _moment(statement.cut_off + dt.timedelta(days=1), 2 * 3600)
        return created


# --- writers --------------------------------------------------------------------------------

_WORKBOOK_OPTIONS = {"constant_memory": True, "strings_to_formulas": False,
                     "strings_to_urls": False, "strings_to_numbers": False}


def _workbook(path: Path, title: str) -> xlsxwriter.Workbook:
    book = xlsxwriter.Workbook(str(path), _WORKBOOK_OPTIONS)
    book.set_properties({"title": title, "author": "reconcile sample generator",
                         "created": FIXED_CREATED})
    return book


class _Writers:
    """The declarations in xlsx and csv (the provider's own records), and in DfE's shapes
    (API pulls, assurance reports: :mod:`samples.dfe_shapes`), a participant at a time."""

    def __init__(self, out: Path, csv_file: bool, xlsx: bool = True, *, people=None,
                 shapes=None) -> None:
        self.people, self.shapes = people, shapes
        self.pending: list[tuple] = []
        self.paths: list[Path] = []
        self.book = None
        self.row = 1
        if xlsx:
            self.paths.append(out / "declarations.xlsx")
            self.book = _workbook(self.paths[0], "Lead provider declarations (sample)")
            self.sheet = self.book.add_worksheet("Declarations")
            self.bold = self.book.add_format({"bold": True})
            self.sheet.write_row(0, 0, COLUMNS, self.bold)
            self.sheet.freeze_panes(1, 0)
        self.csv = None
        if csv_file:
            self.paths.append(out / "declarations.csv")
            # closed in close(): the writers live as long as the stream, not a block
            self._csv_handle = open(self.paths[-1], "w", newline="", encoding="utf-8")  # noqa: SIM115
            self.csv = csv.writer(self._csv_handle, lineterminator="\n")
            self.csv.writerow(COLUMNS)

    def write(self, row: tuple) -> None:
        if self.pending and self.pending[0][1] != row[1]:
            self._flush()
        self.pending.append(row)

    def _flush(self) -> None:
        rows, self.pending = self.pending, []
        if self.shapes is not None:
            self.shapes.add(rows)
        recorded = self.people.recorded_ids(rows) if self.people else [r[1] for r in rows]
        for row, pid in zip(rows, recorded):
            self._record(row[:1] + (pid,) + row[2:len(COLUMNS)])

    def _record(self, row: tuple) -> None:
        """One row of the provider's own records (xlsx, csv)."""
        if self.book is not None:
            sheet, r = self.sheet, self.row
            write_string = sheet.write_string
            for c, value in enumerate(row):
                if value is None:
                    continue
                if value is True or value is False:
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, int):
                    sheet.write_number(r, c, value)
                else:
                    write_string(r, c, value)
            self.row = r + 1
        if self.csv is not None:
            self.csv.writerow(["" if v is None else ("true" if v is True else "false")
                               if isinstance(v, bool) else v for v in row])

    def close(self) -> None:
        self._flush()
        if self.book is not None:
            self.sheet.autofilter(0, 0, max(self.row - 1, 1), len(COLUMNS) - 1)
            self.book.close()
        if self.csv is not None:
            self._csv_handle.close()
        if self.shapes is not None:
            self.paths.extend(self.shapes.close(statement_id))


def _bands(started: int, fractions: tuple[float, ...]) -> list[tuple[int, int]]:
    """(min, max) per band sized to the data: each band ends at a fraction of the starts."""
    bounds, low = [], 0
    for fraction in fractions:
        high = max(round(started * fraction), low + 1 if low else 1)
        bounds.append((low, high))
        low = high + 1
    return bounds


#: where each band ends, as a fraction of the contract's banded starts
NORMAL_BANDS = (0.45, 0.85, 1.15)
WITH_BAND_D = (0.4, 0.7, 0.95, 1.2)     # band D: "over the original band C target"
SMALL_BANDS = (0.3, 0.6, 0.9)           # OVER_CAPACITY: a tenth of the starts unpaid


def version_start(reference: Reference, cohort: int, as_of: dt.date = AS_OF) -> str:
    """The statement a generated contract version starts from: the middle output-fee
    statement of the cohort paid by ``as_of`` (so the sample shows both versions)."""
    rows = [r for r in reference.calendars[cohort] if r.output_fee and r.payment <= as_of]
    return rows[len(rows) // 2].name


def _band_lines(band_rows: list, indent: str = "  ") -> list[str]:
    lines = []
    for (name, price, output_pct, service_pct), (low, high) in band_rows:
        extra = ""
        if output_pct is not None:
            extra = (f", output_payment_percentage: {output_pct}, "
                     f"service_fee_percentage: {service_pct}")
        lines.append(f"{indent}- {{name: {name}, min: {low}, max: {high}, "
                     f"per_participant: {price}{extra}}}")
    return lines


def write_contracts(out: Path, started: Counter, reference: Reference,
                    lead_providers: tuple[ProviderSpec, ...] = PROVIDERS) -> tuple[Path, ...]:
    """One contract YAML per provider and cohort (INTERFACES.md §4), sized to the data;
    two of them with a later version (FEE_STOPPED, BAND_C_ADDED)."""
    folder = out / "contracts"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for lp in lead_providers:
        for cohort in COHORTS:
            if cohort not in reference.calendars:
                continue
            count = started.get((lp.name, cohort), 0)
            over = (lp.name, cohort) == OVER_CAPACITY
            prices = lp.prices[cohort]
            fractions = SMALL_BANDS if over else WITH_BAND_D if len(prices) == 4 else NORMAL_BANDS
            band_rows = list(zip(prices, _bands(count, fractions)))
            target = max(10, round(count * (0.9 if over else 1.0) / 10) * 10)
            lines = [
                f"# Sample call-off contract: {lp.name}, cohort {cohort}.",
                "# Written by samples/generate.py; the bands are sized to the sample's started",
                "# declarations" + (": deliberately too small, so some declarations fall"
                                     " beyond the last band (CALC_OVER_CAPACITY)." if over
                                     else "."),
                f"lead_provider: {lp.name}",
                f"cohort: {cohort}",
                f"vat_chargeable: {'true' if lp.vat_chargeable else 'false'}",
                f"recruitment_target: {target}",
            ]
            lines.append(f"set_up_fee: {lp.set_up_fee.get(cohort, 0)}")
            if cohort < FLAT_RATE_FROM:
                lines.append(f"uplift_amount: {UPLIFT_AMOUNT}")
            else:
                lines.append("uplift_amount: null   # no uplift fees from cohort 2025")
            monthly = lp.monthly_service_fee.get(cohort)
            lines.append(f"monthly_service_fee: {monthly if monthly is not None else 'null'}")
            lines.append("bands:")
            key = (lp.name, cohort)
            if key == BAND_C_ADDED and len(band_rows) == 3:
                # the first terms have bands A and B, B running to where C will end
                (a, a_range), (b, b_range), (c, c_range) = band_rows
                lines += _band_lines([(a, a_range), (b, (b_range[0], c_range[1]))])
            else:
                lines += _band_lines(band_rows)
            if cohort >= FLAT_RATE_FROM:
                lines.append("mentor:")
                lines.append(f"  payment_per_participant: {MENTOR_PAYMENT}")
            if key == FEE_STOPPED:
                lines[5:5] = ["version: 0.0.1"]
                lines += [
                    "# DfE stopped the service fee from the statement below by a new contract",
                    "# version, as it did for the 2021 contracts from October 2023.",
                    "versions:",
                    f"  - from: {version_start(reference, cohort)}",
                    "    version: 0.0.2",
                    "    monthly_service_fee: 0",
                ]
            elif key == BAND_C_ADDED and len(band_rows) == 3:
                lines[5:5] = ["version: 0.0.1"]
                lines += [
                    "# DfE added a band C from the statement below by a new contract version:",
                    "# band B's max lowered, band C added, the target raised to C's max.",
                    "versions:",
                    f"  - from: {version_start(reference, cohort)}",
                    "    version: 0.0.2",
                    f"    recruitment_target: {band_rows[2][1][1]}",
                    "    bands:",
                    *_band_lines(band_rows, "      "),
                ]
            path = folder / f"{slug(lp.name)}-{cohort}.yaml"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            paths.append(path)
    return tuple(paths)


# --- the DfE side ---------------------------------------------------------------------------

class DfeLineRow(NamedTuple):
    line_type: str
    participant_type: str | None
    declaration_type: str | None
    band: str | None
    count: int | None
    fee_per_declaration: Decimal | None
    amount: Decimal
    description: str


class DfeStatementRow(NamedTuple):
    statement_id: str
    lead_provider: str
    cohort: int
    name: str
    cut_off_date: dt.date | None
    payment_date: dt.date | None
    output_fee: bool
    paid: bool
    vat_chargeable: bool
    total: Decimal
    lines: tuple[DfeLineRow, ...]
    #: the contract version DfE records on the statement (ECF contract_version)
    contract_version: str | None = None


def line_label(line: DfeLineRow) -> str:
    """How a line is named in findings and in planted.json: ``output ect started band A``."""
    parts = [line.line_type]
    if line.participant_type:
        parts.append(line.participant_type)
    if line.declaration_type:
        parts.append(line.declaration_type)
    if line.band:
        parts.append(f"band {line.band}")
    return " ".join(parts)


def dfe_statements_from(calculation, rulebook, as_of: dt.date) -> tuple[DfeStatementRow, ...]:
    """DfE's statements as DfE would publish them: the expected ones, in DfE's format."""
    contracts = rulebook.contracts
    statements = []
    for expected in calculation.statements:
        key = expected.key
        contract = contracts.get((key.lead_provider, key.cohort))
        if contract is not None:  # the terms of the statement's contract version
            contract = next((t for t in contract.all_terms
                             if t.effective_from == expected.terms_from), contract)
        vat = bool(contract.vat_chargeable) if contract is not None else expected.vat != 0
        lines = [DfeLineRow("output", pl.participant_type, pl.declaration_type, pl.band, pl.count,
                            pl.fee_per_declaration, pl.amount,
                            f"{pl.declaration_type} output payment")
                 for pl in expected.output_payments]
        lines += [DfeLineRow("clawback", pl.participant_type, pl.declaration_type, pl.band,
                             pl.count, pl.fee_per_declaration, pl.amount,
                             f"{pl.declaration_type} clawback")
                  for pl in expected.clawbacks]
        uplift_fee = contract.uplift_amount if contract is not None else None
        if expected.uplift.count or expected.uplift.amount:
            lines.append(DfeLineRow("uplift", None, None, None, expected.uplift.count, uplift_fee,
                                    expected.uplift.amount, "Uplift fees"))
        if expected.uplift_clawback.count or expected.uplift_clawback.amount:
            lines.append(DfeLineRow("uplift_clawback", None, None, None,
                                    expected.uplift_clawback.count, uplift_fee,
                                    expected.uplift_clawback.amount, "Uplift clawbacks"))
        if expected.service_fee:
            lines.append(DfeLineRow("service_fee", None, None, None, None, None,
                                    expected.service_fee, "Service fee"))
        if expected.adjustments:
            lines.append(DfeLineRow("adjustment", None, None, None, None, None,
                                    expected.adjustments, "Additional adjustments"))
        if expected.vat:
            lines.append(DfeLineRow("vat", None, None, None, None, None, expected.vat, "VAT"))
        sid = expected.statement_id or statement_id(key.lead_provider, key.cohort, key.name)
        statements.append(DfeStatementRow(
            sid, key.lead_provider, key.cohort, key.name, expected.cut_off_date,
            expected.payment_date, bool(expected.output_fee),
            expected.payment_date is not None and expected.payment_date <= as_of, vat,
            expected.total, tuple(lines), expected.contract_version))
    return tuple(statements)


def _restate(statement: DfeStatementRow, lines: list[DfeLineRow], vat_percentage: Decimal,
             hidden: Decimal = Decimal(0)) -> DfeStatementRow:
    """A statement with changed lines: VAT and total follow them, as on DfE's page.

    ``hidden`` is a reconcile amount: part of the net (and so of the VAT and the
    total) without a line of its own.
    """
    from reconcile import money

    lines = [line for line in lines if line.line_type != "vat"]
    net = sum((line.amount for line in lines), Decimal(0)) + hidden
    vat = money.round_money(money.percent_of(net, vat_percentage)) if statement.vat_chargeable \
        else Decimal(0)
    if vat:
        lines.append(DfeLineRow("vat", None, None, None, None, None, vat, "VAT"))
    return statement._replace(lines=tuple(lines), total=net + vat)


def plant_discrepancies(statements: tuple[DfeStatementRow, ...], seed: int,
                        vat_percentage: Decimal) -> tuple[tuple[DfeStatementRow, ...], list]:
    """Copies of the statements with six known discrepancies, and their manifest."""
    from reconcile import money

    rng = random.Random(f"planted/{seed}")
    candidates = [i for i, s in enumerate(statements)
                  if s.paid and s.output_fee and any(l.line_type == "output" for l in s.lines)]
    rng.shuffle(candidates)
    used: set[int] = set()
    result = list(statements)
    manifest: list[dict] = []

    def take(predicate) -> int | None:
        for i in candidates:
            if i not in used and predicate(result[i]):
                used.add(i)
                return i
        return None

    def note(i: int, code: str, line: str | None, expected, actual, what: str) -> None:
        s = statements[i]
        manifest.append({"code": code, "lead_provider": s.lead_provider, "cohort": s.cohort,
                         "statement": s.name, "statement_id": s.statement_id, "line": line,
                         "expected": None if expected is None else str(expected),
                         "actual": None if actual is None else str(actual),
                         "description": what})

    # 1. a count off by one in a band
    i = take(lambda s: any(l.line_type == "output" and (l.count or 0) >= 2 for l in s.lines))
    if i is not None:
        s = result[i]
        lines = list(s.lines)
        j = next(k for k, l in enumerate(lines) if l.line_type == "output" and l.count >= 2)
        old = lines[j]
        lines[j] = old._replace(count=old.count - 1,
                                amount=money.line_amount(old.count - 1, old.fee_per_declaration))
        result[i] = _restate(s, lines, vat_percentage)
        note(i, "OUTPUT_COUNT_MISMATCH", line_label(old), old.count, old.count - 1,
             "DfE counted one declaration fewer on this line")
    # 2. a wrong fee per participant (an old price: 2% lower)
    i = take(lambda s: any(l.line_type == "output" and l.band for l in s.lines))
    if i is not None:
        s = result[i]
        lines = list(s.lines)
        j = next(k for k, l in enumerate(lines) if l.line_type == "output" and l.band)
        old = lines[j]
        fee = money.round_money(old.fee_per_declaration * Decimal("0.98"))
        lines[j] = old._replace(fee_per_declaration=fee, amount=money.line_amount(old.count, fee))
        result[i] = _restate(s, lines, vat_percentage)
        note(i, "OUTPUT_FEE_MISMATCH", line_label(old), money.show(old.fee_per_declaration),
             money.show(fee), "DfE used a fee per declaration 2% below the contract's")
    # 3. a missing uplift line (the comparison reports the line as missing)
    i = take(lambda s: any(l.line_type == "uplift" and l.amount for l in s.lines))
    if i is not None:
        s = result[i]
        old = next(l for l in s.lines if l.line_type == "uplift")
        result[i] = _restate(s, [l for l in s.lines if l is not old], vat_percentage)
        note(i, "LINE_MISSING_FROM_DFE", "uplift", money.show(old.amount), "0.00",
             "DfE's statement has no uplift line")
    # 4. an unexplained additional adjustment
    i = take(lambda s: True)
    if i is not None:
        s = result[i]
        amount = Decimal("1250.00")
        adjustment = DfeLineRow("adjustment", None, None, None, None, None, amount,
                                "Additional adjustment: manual mentor training declarations")
        result[i] = _restate(s, [*s.lines, adjustment], vat_percentage)
        note(i, "UNEXPLAINED_ADJUSTMENT", "adjustment", "0.00", money.show(amount),
             "an adjustment line the declarations do not explain")
    # 5. a hidden reconcile amount: in the net (so VAT is charged on it, as in ECF's
    #    statement calculator) and the total, but on no line (DOMAIN.md "A statement's total")
    i = take(lambda s: True)
    if i is not None:
        s = result[i]
        hidden = Decimal("-312.45")
        result[i] = _restate(s, list(s.lines), vat_percentage, hidden)
        note(i, "HIDDEN_RECONCILE_AMOUNT", None, "0.00", money.show(hidden),
             "the total is the lines plus -312.45 (and VAT on it) shown on no line")
    # 6. a missing statement
    i = take(lambda s: True)
    if i is not None:
        note(i, "STATEMENT_MISSING_FROM_DFE", None, None, None,
             "the statement is not in DfE's list")
        result[i] = None
    return tuple(s for s in result if s is not None), manifest


def write_dfe_statements(path: Path, statements: tuple[DfeStatementRow, ...], title: str) -> None:
    """The DfE statements workbook (INTERFACES.md §3): sheets Statements and Lines."""
    book = _workbook(path, title)
    bold = book.add_format({"bold": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    money_format = book.add_format({"num_format": "#,##0.00"})
    sheet = book.add_worksheet("Statements")
    sheet.write_row(0, 0, STATEMENT_COLUMNS, bold)
    for r, s in enumerate(statements, start=1):
        sheet.write_string(r, 0, s.statement_id)
        sheet.write_string(r, 1, s.lead_provider)
        sheet.write_number(r, 2, s.cohort)
        sheet.write_string(r, 3, s.name)
        if s.cut_off_date:
            sheet.write_datetime(r, 4, dt.datetime.combine(s.cut_off_date, dt.time()), day)
        if s.payment_date:
            sheet.write_datetime(r, 5, dt.datetime.combine(s.payment_date, dt.time()), day)
        sheet.write_boolean(r, 6, s.output_fee)
        sheet.write_boolean(r, 7, s.paid)
        sheet.write_boolean(r, 8, s.vat_chargeable)
        # a spreadsheet cell holds a binary double; a two-decimal amount round-trips
        # exactly through its shortest repr, which is how reconcile.money reads it
        sheet.write_number(r, 9, float(s.total), money_format)
        if s.contract_version:
            sheet.write_string(r, 10, s.contract_version)
    sheet = book.add_worksheet("Lines")
    sheet.write_row(0, 0, LINE_COLUMNS, bold)
    r = 1
    for s in statements:
        for line in s.lines:
            sheet.write_string(r, 0, s.statement_id)
            sheet.write_string(r, 1, line.line_type)
            for c, text in ((2, line.participant_type), (3, line.declaration_type),
                            (4, line.band)):
                if text:
                    sheet.write_string(r, c, text)
            if line.count is not None:
                sheet.write_number(r, 5, line.count)
            if line.fee_per_declaration is not None:
                sheet.write_number(r, 6, float(line.fee_per_declaration))
            sheet.write_number(r, 7, float(line.amount), money_format)
            sheet.write_string(r, 8, line.description)
            r += 1
    book.close()


# --- the whole job --------------------------------------------------------------------------

def generate(out: Path, declarations: int, seed: int, *, planted: bool = False,
             csv_file: bool = False, api_json: bool = False, assurance: bool = False,
             anomalies: bool = True,
             dfe: bool = True, as_of: dt.date = AS_OF, rules_dir: Path | None = None,
             engine: str = "auto", quiet: bool = True, lead_providers: int = 2
             ) -> GenerateResult:
    """Write a sample into ``out``; see the module docstring for what it holds.

    More declarations than an xlsx sheet holds (:data:`XLSX_DATA_ROWS`) are written as
    CSV or JSON only, with a note; asked for as xlsx alone, they are refused
    (:class:`TooManyForXlsx`) before anything is written.
    """
    out = Path(out)
    xlsx = declarations <= XLSX_DATA_ROWS
    if not xlsx and not (csv_file or api_json):
        raise TooManyForXlsx(
            f"{declarations:,} declarations do not fit one xlsx sheet: Excel holds "
            f"{XLSX_DATA_ROWS + 1:,} rows ({XLSX_DATA_ROWS:,} below the header). Add --csv "
            f"(or --api-json) to write them as CSV (or JSON); no xlsx is written past the "
            f"limit")
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    def say(text: str) -> None:
        if not quiet:
            print(f"samples: {text}", file=sys.stderr, flush=True)

    if not xlsx:
        # said even when quiet: a file the user may expect is not written
        written = [n for n, on in (("declarations.csv", csv_file),
                                   ("the API pages in api/", api_json)) if on]
        print(f"samples: note: {declarations:,} declarations pass Excel's "
              f"{XLSX_DATA_ROWS + 1:,} rows: declarations.xlsx is not written, only "
              f"{' and '.join(written)}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    reference = load_reference(rules_dir)
    specs = providers(lead_providers)
    stream = DeclarationStream(reference, declarations, seed, as_of=as_of, anomalies=anomalies,
                               lead_providers=specs)
    from samples.dfe_shapes import DfeShapes, People

    people = People(seed, NAMESPACE, stream.partners)
    shapes = (DfeShapes(out, seed, NAMESPACE, stream.partners, reference, as_of, api=api_json,
                        assurance=assurance, total=declarations)
              if api_json or assurance else None)
    writers = _Writers(out, csv_file, xlsx, people=people, shapes=shapes)
    written = 0
    for row in stream:
        writers.write(row)
        written += 1
        if not quiet and written % 100_000 == 0:
            say(f"{written:,} declarations")
    writers.close()
    contracts = write_contracts(out, stream.banded_started, reference, specs)
    seconds["declarations"] = time.perf_counter() - start
    peak_mb = {"declarations": _peak_mb()}
    say(f"{written:,} declarations of {stream.participants:,} participants in "
        f"{seconds['declarations']:.1f}s")
    files = [*writers.paths, *contracts]
    manifest: list[dict] = []
    if dfe:
        start = time.perf_counter()
        from reconcile.pipeline import RunOptions, run

        if xlsx or csv_file:
            own = (out / ("declarations.xlsx" if xlsx else "declarations.csv"),)
            participants: tuple[Path, ...] = ()
        else:  # the API pages alone: their participants give schedules and cohorts
            own = tuple(sorted((out / "api").rglob("participant-declarations-*.json")))
            participants = tuple(sorted((out / "api").rglob("participants-ecf-*.json")))
        result = run(RunOptions(declarations=own, participants=participants,
                                rules_dir=rules_dir, contracts=(out / "contracts",),
                                engine=engine, as_of=as_of, quiet=quiet))
        seconds["calculation"] = time.perf_counter() - start
        start = time.perf_counter()
        statements = dfe_statements_from(result.calculation, result.rulebook, as_of)
        files.append(out / "dfe-statements.xlsx")
        write_dfe_statements(files[-1], statements, "DfE statements (sample, consistent)")
        if planted:
            vat_percentage = result.rulebook.fees.vat_percentage
            changed, manifest = plant_discrepancies(statements, seed, vat_percentage)
            files.append(out / "dfe-statements-planted.xlsx")
            write_dfe_statements(files[-1], changed, "DfE statements (sample, planted)")
        seconds["dfe"] = time.perf_counter() - start
        peak_mb["dfe"] = _peak_mb()
    if planted:
        over = [{"code": "CALC_OVER_CAPACITY", "lead_provider": OVER_CAPACITY[0],
                 "cohort": OVER_CAPACITY[1]}]
        files.append(out / "planted.json")
        files[-1].write_text(json.dumps({
            "generator": {"seed": seed, "declarations": written, "as_of": as_of.isoformat(),
                          "anomalies": anomalies, "version": GENERATOR_VERSION,
                          "command": ("python -m samples.generate --out DIR "
                                      f"--declarations {declarations} --seed {seed} --planted"
                                      + ("" if anomalies else " --clean")
                                      + (" --api-json" if api_json else "")
                                      + (" --assurance" if assurance else "")
                                      + (f" --providers {lead_providers}"
                                         if lead_providers != 2 else ""))},
            "discrepancies": manifest,
            "declaration_anomalies": stream.planted_anomalies,
            "contract_findings": over if OVER_CAPACITY in stream.banded_started else [],
        }, indent=2) + "\n", encoding="utf-8")
    return GenerateResult(out, written, stream.participants, dict(stream.counts),
                          contracts, tuple(files), seconds, peak_mb,
                          tuple(stream.planted_anomalies), tuple(manifest))


def _peak_mb() -> float | None:
    """Peak resident memory of this process so far, in MB (None where unknown)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m samples.generate",
        description="Generate seeded, realistic lead-provider declarations, contracts and "
                    "DfE statements.")
    parser.add_argument("--out", required=True, type=Path, help="folder to write into")
    parser.add_argument("--declarations", type=int, default=3000, help="how many (default 3000)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    parser.add_argument("--planted", action="store_true",
                        help="also write dfe-statements-planted.xlsx and planted.json")
    parser.add_argument("--csv", action="store_true", help="also write declarations.csv")
    parser.add_argument("--api-json", action="store_true",
                        help="also write each provider's v3 API pull in api/<provider>/: "
                             "declarations pages, participants pages, statements list")
    parser.add_argument("--assurance", action="store_true",
                        help="also write DfE's assurance report of every output-fee "
                             "statement in assurance/")
    parser.add_argument("--clean", action="store_true",
                        help="no anomalies (dates outside windows, billable duplicates)")
    parser.add_argument("--no-dfe", action="store_true",
                        help="declarations and contracts only (no run of the calculation)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF,
                        help=f"the date the data is as at (default {AS_OF})")
    parser.add_argument("--rules", type=Path, default=None, help="rulebook folder")
    parser.add_argument("--providers", type=int, default=2,
                        help="how many lead providers (default 2; more for a national sample)")
    parser.add_argument("--quiet", "-q", action="store_true")
    args = parser.parse_args(argv)
    if args.declarations < 1:
        parser.error("--declarations must be at least 1")
    if args.providers < 1:
        parser.error("--providers must be at least 1")
    try:
        result = generate(args.out, args.declarations, args.seed, planted=args.planted,
                          csv_file=args.csv, api_json=args.api_json, assurance=args.assurance,
                          anomalies=not args.clean,
                          dfe=not args.no_dfe, as_of=args.as_of, rules_dir=args.rules,
                          quiet=args.quiet, lead_providers=args.providers)
    except TooManyForXlsx as error:
        parser.error(str(error))
    if not args.quiet:
        took = ", ".join(f"{k} {v:.1f}s" for k, v in result.seconds.items())
        print(f"samples: wrote {', '.join(str(p) for p in result.files[:4])}"
              f"{' ...' if len(result.files) > 4 else ''} ({took})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
