"""The sample in DfE's own shapes: Lead Provider API v3 pulls and assurance reports.

Stage: none (the sample generator's writers; nothing in ``reconcile/`` imports it).
In: the generator's declaration rows, participant by participant (``samples.generate``
:data:`~samples.generate.COLUMNS`, then the statement of the first line item and when
DfE last changed it). Out, with ``--api-json`` (``api/<provider>/``, what each lead
provider's token gets from the v3 API):

* ``participant-declarations-<n>.json``: ``GET /api/v3/participant-declarations``,
  pages of :data:`PAGE_SIZE` ordered by ``created_at``. Each page is only
  ``{"data": [...]}``: DfE's ``ApiPagination`` uses pagy's "countless" pagination (no
  links, no meta). Each resource has exactly the attributes of DfE's
  ``Api::V3::ParticipantDeclarationSerializer`` (and the published
  ``ParticipantDeclarationAttributes`` schema): no cohort, schedule or uplift flags;
  ``statement_id`` is the statement of the billable line item, so null for submitted,
  voided and ineligible declarations; ``uplift_paid`` true only for an ECT start that is
  paid (or clawed back) with an uplift flag (``ParticipantDeclaration::ECF#uplift_paid?``);
  times in UTC with ``Z``;
* ``participants-ecf-<n>.json``: ``GET /api/v3/participants/ecf`` pages, one resource
  per participant as ``Api::V3::ECF::ParticipantSerializer`` writes it: one enrolment
  (``ECFEnrolment``) with the cohort as a string, the schedule, the uplift flags, the
  delivery partner of the latest induction record, and ``participant_id_changes`` where
  DfE merged two records of the participant;
* ``statements.json``: ``GET /api/v3/statements``: the provider's output-fee
  statements only, by payment date (``Api::V3::Finance::StatementsQuery`` selects
  ``.output``), with the attributes of ``Api::V3::Finance::StatementSerializer``
  (month, year, type, cohort, cut_off_date, payment_date, paid, created_at,
  updated_at): no output-fee flag, no provider, no money.

With ``--assurance`` (``assurance/``): one CSV per output-fee statement, DfE's
"Download declarations (CSV)" (``Finance::ECF::AssuranceReport::CsvSerializer`` and
``::Query``): its 25 columns, one row per statement line item of that statement (a
clawed-back declaration is ``paid`` in the report of the statement that paid it and
``clawed_back``/``awaiting_clawback`` in its clawback statement's; voided and
ineligible line items included; submitted declarations have none), "Type" holding
``ParticipantProfile::ECT``/``::Mentor``, "Declaration Status" with underscores,
booleans as Ruby writes them (``true``/``false``), rows by participant name, and the
file named ``ECF-Declarations-<provider>-Cohort<year>-<statement>.csv`` with the
non-word characters taken out, the only place the cohort appears. A statement with no
line items gets DfE's header alone. Reports are written for every output-fee statement
up to the sample's date and any later one with line items.

What the generator's rows do not hold (names, TRNs, schools, retired ids) is made up
per participant from ``random.Random(f"{seed}/person/{participant_id}")``, so adding
it changes no declaration. A few participants (:data:`RETIRED_SHARE`) have had two
records merged by DfE: the API shows the surviving id everywhere (DfE moves the
declarations, ``Identity::Transfer``) and lists the old one in
``participant_id_changes``, while the provider's own spreadsheet still holds the old
id on the declarations made before the merge.

Memory: the declarations of the API pages are held (as JSON text) to be ordered by
``created_at`` up to :data:`SORT_LIMIT` declarations, and written in the order made
beyond it; the assurance reports hold their rows (a sample-sized job).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import re
import uuid
import zlib
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

#: declarations (or participants) per API page: a pull with page[per_page]=1000
#: (DfE's default is 100, its maximum 3000: ApiPagination)
PAGE_SIZE = 1000
#: up to this many declarations the pages are ordered by created_at, as DfE's are
SORT_LIMIT = 300_000
#: the share of participants whose records DfE merged (participant_id_changes)
RETIRED_SHARE = 0.01

#: DfE's assurance report columns (Finance::ECF::AssuranceReport::CsvSerializer)
ASSURANCE_HEADERS = (
    "Participant ID", "Participant Name", "TRN", "Type", "Mentor Profile ID", "Schedule",
    "Eligible For Funding", "Eligible For Funding Reason", "Sparsity Uplift",
    "Pupil Premium Uplift", "Sparsity And Pp", "Lead Provider Name", "Delivery Partner Name",
    "School Urn", "School Name", "Training Status", "Training Status Reason",
    "Declaration ID", "Declaration Status", "Declaration Type", "Declaration Date",
    "Declaration Created At", "Statement Name", "Statement ID", "Uplift Payable",
)

FIRST_NAMES = ("Amira", "Ben", "Chloe", "Daniel", "Ella", "Farah", "George", "Hannah",
               "Isaac", "Jasmine", "Kwame", "Lucy", "Mohammed", "Niamh", "Oliver", "Priya",
               "Rhys", "Sophie", "Tomasz", "Zara")
LAST_NAMES = ("Ahmed", "Brown", "Carter", "Davies", "Evans", "Fletcher", "Green", "Hughes",
              "Iqbal", "Jones", "Khan", "Lewis", "Morgan", "Nowak", "Owen", "Patel", "Roberts",
              "Smith", "Taylor", "Williams")
SCHOOL_KINDS = ("Primary School", "Academy", "High School", "Church of England Primary School",
                "Community School")

_BILLABLE = ("eligible", "payable", "paid")
_REFUNDABLE = ("awaiting-clawback", "clawed-back")
_ECT, _MENTOR = "ecf-induction", "ecf-mentor"
_UTC = dt.timezone.utc  # noqa: UP017 (3.10)


def squeeze(text: str) -> str:
    """Ruby's ``gsub(/\\W/, '')``: what the report's file name keeps of a name."""
    return re.sub(r"\W", "", text)


def _z(moment: dt.datetime) -> str:
    return moment.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ruby(value: object) -> str:
    """A value as Ruby's CSV writes it: nil blank, booleans true/false."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


class Person(NamedTuple):
    """What DfE knows of a participant that the declaration rows do not say."""

    full_name: str
    trn: str
    email: str
    school_urn: str
    school_name: str
    training_record_id: str
    #: the id DfE retired when it merged this participant's two records, or None
    retired_id: str | None
    #: the delivery partner of the latest induction record (DfE's assurance report
    #: falls back to it when the declaration has none)
    partner: tuple[str | None, str | None]


class People:
    """Each participant's :class:`Person`, the same for a seed whatever is written."""

    def __init__(self, seed: int, namespace: uuid.UUID, partners: dict) -> None:
        self.seed, self.namespace, self.partners = seed, namespace, partners

    def retired_id(self, participant_id: str) -> str | None:
        """The id DfE retired for this participant (merged records), for a few of them."""
        if zlib.crc32(f"{self.seed}/retired/{participant_id}".encode()) % 10_000 >= \
                RETIRED_SHARE * 10_000:
            return None
        return str(uuid.uuid5(self.namespace, f"retired/{participant_id}"))

    def recorded_ids(self, rows: list[tuple]) -> list[str]:
        """The participant id each row has in the provider's own records: the retired id
        on the declarations made before DfE merged the records."""
        if not rows:
            return []
        pid = rows[0][1]
        retired = self.retired_id(pid)
        if retired is None or len(rows) < 2:
            return [pid] * len(rows)
        cut = 1 + zlib.crc32(f"{retired}/cut".encode()) % (len(rows) - 1)
        return [retired] * cut + [pid] * (len(rows) - cut)

    def person(self, participant_id: str, lead_provider: str,
               partner: tuple[str | None, str | None]) -> Person:
        rng = random.Random(f"{self.seed}/person/{participant_id}")
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        town = rng.choice(("Eastfield", "Kingsmere", "Marston", "Riverside", "Castlegate",
                           "Fenwick", "Lowmoor", "Norbury"))
        urn = str(100000 + rng.randrange(50000))
        retired = self.retired_id(participant_id)
        if partner[0] is None:  # no partner on the declarations: the induction record's
            choices = self.partners.get(lead_provider) or ()
            if choices:
                chosen = rng.choice(choices)[0]
                partner = (chosen.id, chosen.name)
        return Person(f"{first} {last}", str(rng.randrange(1000000, 10000000)),
                      f"{first.lower()}.{last.lower()}{rng.randrange(100)}@{town.lower()}"
                      ".sch.example.uk", urn, f"{town} {rng.choice(SCHOOL_KINDS)}",
                      str(uuid.uuid5(self.namespace, f"profile/{participant_id}")), retired,
                      partner)


def _evidence(declaration_type: str, cohort: int) -> str | None:
    """``evidence_held`` as DfE's EvidenceHeldValidator allows it (not needed for a start
    before 2025; the detailed types from 2025)."""
    if cohort < 2025:
        return None if declaration_type == "started" else "training-event-attended"
    if declaration_type in ("retained-2", "completed"):
        return "75-percent-engagement-met"
    return "training-event-attended"


class DfeShapes:
    """Collects the rows of each participant and writes the API pulls and reports."""

    def __init__(self, out: Path, seed: int, namespace: uuid.UUID, partners: dict,
                 reference: Any, as_of: dt.date, *, api: bool, assurance: bool,
                 total: int) -> None:
        self.out, self.api, self.assurance = out, api, assurance
        self.reference, self.as_of = reference, as_of
        self.people = People(seed, namespace, partners)
        self.sorted = total <= SORT_LIMIT
        self.declarations: dict[str, list] = defaultdict(list)  # provider -> records
        self.pages: dict[str, int] = defaultdict(int)
        self.participants: dict[str, list] = defaultdict(list)
        self.participant_pages: dict[str, int] = defaultdict(int)
        self.cohorts: dict[str, set[int]] = defaultdict(set)
        self.items: dict[tuple[str, int, str], list] = defaultdict(list)  # report rows
        self.paths: list[Path] = []

    # --- per participant -------------------------------------------------------------

    def add(self, rows: list[tuple]) -> None:
        """One participant's rows (all of them, in order)."""
        if not rows:
            return
        first = rows[0]
        pid, course, cohort, lead_provider = first[1], first[2], first[6], first[7]
        person = self.people.person(pid, lead_provider, (first[13], first[14]))
        self.cohorts[lead_provider].add(cohort)
        if self.api:
            for row in rows:
                self._declaration(lead_provider, row)
            self._participant(lead_provider, pid, course, cohort, rows, person)
        if self.assurance:
            for row in rows:
                self._line_items(row, person)

    def _declaration(self, lead_provider: str, row: tuple) -> None:
        (did, pid, course, dtype, declared, state, cohort, lp, created, sid, _sname, claw_id,
         _claw_name, partner_id, _partner_name, pupil_premium, sparsity, _schedule,
         _line_item, changed) = row
        uplift_paid = (course == _ECT and dtype == "started"
                       and state in ("paid", *_REFUNDABLE) and bool(pupil_premium or sparsity))
        record = {"id": did, "type": "participant-declaration", "attributes": {
            "participant_id": pid, "declaration_type": dtype, "declaration_date": declared,
            "course_identifier": course, "mentor_id": None, "state": state,
            "updated_at": _z(changed), "created_at": created,
            "delivery_partner_id": partner_id,
            # the statement of the billable line item: none when submitted, voided or
            # ineligible; a clawed-back declaration keeps its paid one
            "statement_id": sid if state in (*_BILLABLE, *_REFUNDABLE) else None,
            "clawback_statement_id": claw_id if state in _REFUNDABLE else None,
            "ineligible_for_funding_reason": "duplicate_declaration" if state == "ineligible"
            else None,
            "uplift_paid": uplift_paid, "evidence_held": _evidence(dtype, cohort),
            "has_passed": None, "lead_provider_name": lp}}
        text = json.dumps(record)
        store = self.declarations[lead_provider]
        store.append((created, did, text))
        if not self.sorted and len(store) >= PAGE_SIZE:
            self._write_page(lead_provider, "participant-declarations", store, self.pages)

    def _participant(self, lead_provider: str, pid: str, course: str, cohort: int,
                     rows: list[tuple], person: Person) -> None:
        first = rows[0]
        pupil_premium, sparsity, schedule = first[15], first[16], first[17]
        created = dt.datetime.fromisoformat(first[8].replace("Z", "+00:00"))
        profile_made = created - dt.timedelta(days=30)
        changes = []
        if person.retired_id is not None and len(rows) > 1:
            cut = self.people.recorded_ids(rows).count(person.retired_id)
            merged = dt.datetime.fromisoformat(rows[cut][8].replace("Z", "+00:00"))
            changes.append({"from_participant_id": person.retired_id, "to_participant_id": pid,
                            "changed_at": _z(merged - dt.timedelta(hours=1))})
        updated = max(row[19] for row in rows)
        enrolment = {
            "training_record_id": person.training_record_id, "email": person.email,
            "mentor_id": None, "school_urn": person.school_urn,
            "participant_type": "ect" if course == _ECT else "mentor",
            "cohort": str(cohort), "training_status": "active", "participant_status": "active",
            "teacher_reference_number_validated": True, "eligible_for_funding": True,
            "pupil_premium_uplift": bool(pupil_premium), "sparsity_uplift": bool(sparsity),
            "schedule_identifier": schedule, "delivery_partner_id": person.partner[0],
            "withdrawal": None, "deferral": None, "created_at": _z(profile_made),
            "induction_end_date": None, "mentor_funding_end_date": None,
            "cohort_changed_after_payments_frozen": False,
            "mentor_ineligible_for_funding_reason": None}
        resource = {"id": pid, "type": "participant", "attributes": {
            "full_name": person.full_name, "teacher_reference_number": person.trn,
            "updated_at": _z(updated), "ecf_enrolments": [enrolment],
            "participant_id_changes": changes}}
        store = self.participants[lead_provider]
        store.append((None, pid, json.dumps(resource)))
        if len(store) >= PAGE_SIZE:
            self._write_page(lead_provider, "participants-ecf", store, self.participant_pages)

    def _line_items(self, row: tuple, person: Person) -> None:
        state, lp, cohort, sid, sname = row[5], row[7], row[6], row[9], row[10]
        line_item = row[18]
        items: list[tuple[str, str, str]] = []  # (statement id, name, line item state)
        if state in _BILLABLE:
            items.append((sid, sname, state))
        elif state in _REFUNDABLE:
            items.append((sid, sname, "paid"))
            items.append((row[11], row[12], state))
        elif state in ("voided", "ineligible") and line_item is not None:
            items.append((line_item.id, line_item.name, state))
        for statement_id, name, item_state in items:
            key = (lp, cohort, name)
            self.items[key].append((person.full_name, row[0], self._report_row(
                row, person, item_state.replace("-", "_"), name, statement_id)))

    def _report_row(self, row: tuple, person: Person, status: str, name: str,
                    statement_id: str) -> list[str]:
        (did, pid, course, dtype, declared, _state, _cohort, lp, created, *_rest) = row
        pupil_premium, sparsity, schedule = bool(row[15]), bool(row[16]), row[17]
        ect = course == _ECT
        return [_ruby(v) for v in (
            pid, person.full_name, person.trn,
            "ParticipantProfile::ECT" if ect else "ParticipantProfile::Mentor",
            None, schedule, True, None, sparsity, pupil_premium, sparsity and pupil_premium,
            lp, person.partner[1], person.school_urn, person.school_name, "active", None,
            did, status, dtype, declared, created, name, statement_id,
            sparsity or pupil_premium)]

    # --- files -------------------------------------------------------------------------

    def _folder(self, lead_provider: str) -> Path:
        from samples.generate import slug

        folder = self.out / "api" / slug(lead_provider)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _write_page(self, lead_provider: str, stem: str, store: list, counter: dict) -> None:
        counter[lead_provider] += 1
        path = self._folder(lead_provider) / f"{stem}-{counter[lead_provider]}.json"
        with path.open("w", encoding="utf-8") as handle:
            handle.write('{"data": [\n' + ",\n".join(text for _, _, text in store) + "\n]}\n")
        self.paths.append(path)
        store.clear()

    def close(self, statement_id) -> list[Path]:
        """Write what is held; ``statement_id(lp, cohort, name)`` names DfE's statements."""
        if self.api:
            for lead_provider in sorted(self.cohorts):
                store = self.declarations.pop(lead_provider, [])
                if self.sorted:
                    store.sort(key=lambda item: (item[0], item[1]))
                for start in range(0, len(store), PAGE_SIZE):
                    self._write_page(lead_provider, "participant-declarations",
                                     store[start:start + PAGE_SIZE], self.pages)
                people = self.participants.pop(lead_provider, [])
                if people:
                    self._write_page(lead_provider, "participants-ecf", people,
                                     self.participant_pages)
                self._statements(lead_provider, statement_id)
        if self.assurance:
            self._reports(statement_id)
        return self.paths

    def _output_rows(self, cohort: int) -> list:
        return [r for r in self.reference.calendars.get(cohort, ()) if r.output_fee]

    def _statements(self, lead_provider: str, statement_id) -> None:
        rows = []
        for cohort in sorted(self.cohorts[lead_provider]):
            for r in self._output_rows(cohort):
                month, year = r.name.split()[0], r.name.split()[-1]
                made = dt.datetime(cohort, 5, 1, 9, tzinfo=_UTC)
                paid = r.payment <= self.as_of
                updated = (dt.datetime.combine(r.payment, dt.time(2), _UTC) if paid else made)
                rows.append((r.payment, cohort, {
                    "id": statement_id(lead_provider, cohort, r.name), "type": "statement",
                    "attributes": {"month": month, "year": year, "type": "ecf",
                                   "cohort": str(cohort), "cut_off_date": r.cut_off.isoformat(),
                                   "payment_date": r.payment.isoformat(), "paid": paid,
                                   "created_at": _z(made), "updated_at": _z(updated)}}))
        rows.sort(key=lambda item: (item[0], item[1]))
        path = self._folder(lead_provider) / "statements.json"
        path.write_text(json.dumps({"data": [r for _, _, r in rows]}, indent=2) + "\n",
                        encoding="utf-8")
        self.paths.append(path)

    def _reports(self, statement_id) -> None:
        folder = self.out / "assurance"
        folder.mkdir(parents=True, exist_ok=True)
        for lead_provider in sorted(self.cohorts):
            for cohort in sorted(self.cohorts[lead_provider]):
                for r in self._output_rows(cohort):
                    key = (lead_provider, cohort, r.name)
                    items = self.items.get(key, [])
                    if not items and r.cut_off > self.as_of:
                        continue  # a statement still to come, with nothing on it yet
                    items.sort(key=lambda item: (item[0], item[1]))
                    name = (f"ECF-Declarations-{squeeze(lead_provider)}-Cohort{cohort}-"
                            f"{squeeze(r.name)}.csv")
                    path = folder / name
                    with path.open("w", newline="", encoding="utf-8") as handle:
                        writer = csv.writer(handle, lineterminator="\n")
                        writer.writerow(ASSURANCE_HEADERS)
                        writer.writerows(item[2] for item in items)
                    self.paths.append(path)
