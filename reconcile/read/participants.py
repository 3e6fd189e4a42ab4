"""Participants (read stage): DfE's ``GET /api/v3/participants/ecf`` pages in, enrolments out.

In: one or more JSON files as the Lead Provider API returns them (a page
``{"data": [...]}``, a list of pages, a bare list, or one resource). Out: a
:class:`Participants` value: each participant's enrolments and the participant ids
DfE has retired, or a located :class:`~reconcile.errors.InputError`.

The shape, from DfE's serializer (``Api::V3::ECF::ParticipantSerializer`` in
DFE-Digital/early-careers-framework, and its published component schemas
``ECFParticipant``, ``ECFParticipantAttributes``, ``ECFEnrolment``,
``ParticipantIdChange``)::

    {"id": "<participant id>", "type": "participant",
     "attributes": {"full_name": ..., "teacher_reference_number": ..., "updated_at": ...,
                    "ecf_enrolments": [{"training_record_id", "email", "mentor_id",
                        "school_urn", "participant_type": "ect"|"mentor",
                        "cohort": "2023", "training_status", "participant_status",
                        "teacher_reference_number_validated", "eligible_for_funding",
                        "pupil_premium_uplift", "sparsity_uplift", "schedule_identifier",
                        "delivery_partner_id", "withdrawal", "deferral", "created_at",
                        "induction_end_date", "mentor_funding_end_date",
                        "cohort_changed_after_payments_frozen",
                        "mentor_ineligible_for_funding_reason"}, ...],
                    "participant_id_changes": [{"from_participant_id",
                        "to_participant_id", "changed_at"}, ...]}}

One enrolment per participant profile (an ECT profile, a mentor profile), each from
the profile's latest induction record with this provider: its cohort is the
participant's current cohort (a string), its schedule the current schedule. The
pages are "countless" (DfE's ``ApiPagination`` uses ``pagy_countless``): a page is
only ``{"data": [...]}``, so a full pull is several files, or one list of pages.

Retired ids: when DfE merges two participant records (``Identity::Transfer``), the
declarations move to the surviving participant and its ``participant_id_changes``
lists the old id (the history moves with it). So an old id maps to the participant
whose changes list it; an id that is itself a current participant is never remapped
(DfE has had records that changed back and forth).

Example::

    participants = read_participants([Path("participants-1.json")], rulebook.vocabulary)
    participants.enrolment("a1b2...", "ect", 2023).schedule_identifier
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, TypeAdapter, ValidationError

from reconcile.errors import PROBLEM_LIMIT, InputError, Problem
from reconcile.model import Source
from reconcile.read import values
from reconcile.read.apijson import load_json
from reconcile.read.guard import check_file
from reconcile.rulebook.schema import VocabularyFile

Text = StrictStr | None


class _Enrolment(BaseModel):
    """The attributes of ``ECFEnrolment`` this tool reads (types checked; others allowed)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    training_record_id: Text = None
    participant_type: StrictStr
    cohort: StrictStr | int | None = None
    pupil_premium_uplift: StrictBool | None = None
    sparsity_uplift: StrictBool | None = None
    schedule_identifier: Text = None
    delivery_partner_id: Text = None
    training_status: Text = None


class _IdChange(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    from_participant_id: StrictStr
    to_participant_id: StrictStr
    changed_at: Text = None


class _Attributes(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    full_name: Text = None
    teacher_reference_number: Text = None
    updated_at: Text = None
    ecf_enrolments: tuple[_Enrolment, ...] = ()
    participant_id_changes: tuple[_IdChange, ...] = ()


class _Participant(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr
    type: StrictStr = "participant"
    attributes: _Attributes


_PARTICIPANT = TypeAdapter(_Participant)


class Enrolment(NamedTuple):
    """One participant profile's enrolment with the provider (what a declaration lacks)."""

    participant_id: str
    participant_type: str
    cohort: int | None
    schedule_identifier: str | None
    pupil_premium_uplift: bool | None
    sparsity_uplift: bool | None
    delivery_partner_id: str | None
    teacher_reference_number: str | None
    source: Source


class Participants(NamedTuple):
    """Every participant's enrolments (by participant id) and the retired ids."""

    enrolments: dict[str, tuple[Enrolment, ...]]
    #: retired participant id -> the participant it now belongs to
    retired: dict[str, str]

    def current_id(self, participant_id: str) -> str:
        return self.retired.get(participant_id, participant_id)

    def enrolment(self, participant_id: str, participant_type: str,
                  cohort: int | None = None) -> Enrolment | None:
        """The enrolment of that participant and type; of that cohort when several."""
        mine = [e for e in self.enrolments.get(participant_id, ())
                if e.participant_type == participant_type]
        if cohort is not None and len(mine) > 1:
            same = [e for e in mine if e.cohort == cohort]
            mine = same or mine
        return mine[0] if len(mine) == 1 else None


NO_PARTICIPANTS = Participants({}, {})


def _resources(document: Any, name: str) -> list[Any]:
    fix = ('give the API\'s response as it came: {"data": [{"id": ..., "type": '
           '"participant", "attributes": {...}}]}')
    if isinstance(document, dict):
        if "data" in document:
            data = document["data"]
            return [data] if isinstance(data, dict) else data if isinstance(data, list) else \
                _fail(name, f"'data' is {type(data).__name__}, not a list", fix)
        if "errors" in document:
            _fail(name, "this is an API error response, not data: "
                  + json.dumps(document["errors"])[:200], "fix the API request and save its data")
        if "attributes" in document:
            return [document]
        _fail(name, "the JSON has no 'data' key, so it is not an API response", fix)
    if isinstance(document, list):
        if document and all(isinstance(p, dict) and "data" in p for p in document):
            pages: list[Any] = []
            for page in document:
                pages.extend(_resources(page, name))
            return pages
        return document
    _fail(name, f"the JSON is a {type(document).__name__}, not an API response", fix)
    return []


def _fail(name: str, what: str, fix: str) -> Any:
    raise InputError([Problem(Source(name), what, fix)])


def read_participants(paths: Sequence[Path], vocabulary: VocabularyFile) -> Participants:
    """Every participant of every file (pages in order); problems of all files together."""
    participant_types = set(vocabulary.participant_types)
    enrolments: dict[str, list[Enrolment]] = {}
    changes: list[tuple[str, str, str, Source]] = []  # (from, owner, changed_at, where)
    problems: list[Problem] = []
    for path in paths:
        name = str(path)
        kind = check_file(Path(path), name, "participants")
        if kind != "json":
            problems.append(Problem(Source(name), "participants are read from the API's JSON "
                                    "(GET /api/v3/participants/ecf), not from this file",
                                    "save the API's response as .json and give that"))
            continue
        resources = _resources(load_json(Path(path), name), name)
        if resources and isinstance(resources[0], dict) and resources[0].get("type") in (
                "participant-declaration", "statement"):
            problems.append(Problem(Source(name, row=1, column="type"),
                                    f"these are {resources[0]['type']}s, not participants",
                                    "give this file as --declarations or --dfe-statements, and "
                                    "the participants JSON as --participants"))
            continue
        for number, raw in enumerate(resources, 1):
            where = Source(name, row=number)
            try:
                resource = _PARTICIPANT.validate_python(raw)
            except ValidationError as error:
                problems.extend(_problems(error, where, raw))
                continue
            attributes = resource.attributes
            for index, enrolment in enumerate(attributes.ecf_enrolments):
                at = where._replace(column=f"ecf_enrolments.{index}")
                made = _enrolment(resource.id, attributes, enrolment, at, participant_types,
                                  problems)
                if made is not None:
                    enrolments.setdefault(resource.id, []).append(made)
            for change in attributes.participant_id_changes:
                changes.append((change.from_participant_id, resource.id,
                                change.changed_at or "", where))
        if len(problems) >= PROBLEM_LIMIT:
            break
    if problems:
        raise InputError(problems[:PROBLEM_LIMIT])
    return Participants({k: tuple(v) for k, v in enrolments.items()},
                        _retired(changes, set(enrolments)))


def _enrolment(participant_id: str, attributes: _Attributes, enrolment: _Enrolment,
               where: Source, participant_types: set[str], problems: list[Problem]
               ) -> Enrolment | None:
    ptype = enrolment.participant_type.strip().lower()
    if ptype not in participant_types:
        problems.append(Problem(where._replace(column=f"{where.column}.participant_type"),
                                f"{enrolment.participant_type!r} is not a participant type "
                                f"(participant {participant_id!r})",
                                "the API writes ect or mentor"))
        return None
    try:
        cohort = values.parse_cohort(enrolment.cohort)
    except values.BadValue as exc:
        problems.append(Problem(where._replace(column=f"{where.column}.cohort"),
                                f"{exc.what} (participant {participant_id!r})", exc.fix))
        return None
    schedule = enrolment.schedule_identifier
    return Enrolment(participant_id, ptype, cohort,
                     values.word_key(schedule) if schedule and schedule.strip() else None,
                     enrolment.pupil_premium_uplift, enrolment.sparsity_uplift,
                     (enrolment.delivery_partner_id or "").strip() or None,
                     (attributes.teacher_reference_number or "").strip() or None, where)


def _problems(error: ValidationError, where: Source, raw: Any) -> list[Problem]:
    found = []
    rid = raw.get("id") if isinstance(raw, dict) else None
    for item in error.errors()[:20]:
        path = ".".join(str(p) for p in item["loc"]) or None
        what = (f"{path!r} is missing" if item["type"] == "missing" else
                f"{json.dumps(item.get('input'))[:60]} is not valid here: {item['msg'].lower()}")
        if rid is not None:
            what += f" (participant {rid!r})"
        found.append(Problem(where._replace(column=path), what,
                             "give the participant as the API writes it (text in double "
                             "quotes, true/false or null)"))
    return found


def _retired(changes: list[tuple[str, str, str, Source]], current: set[str]) -> dict[str, str]:
    """Old id -> the participant now holding it; the latest change wins for an id listed
    twice; an id that is a current participant keeps its own declarations."""
    retired: dict[str, tuple[str, str]] = {}
    for old, owner, changed_at, _ in changes:
        if old == owner or old in current:
            continue
        seen = retired.get(old)
        if seen is None or changed_at >= seen[1]:
            retired[old] = (owner, changed_at)
    return {old: owner for old, (owner, _) in retired.items()}

