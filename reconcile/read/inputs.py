"""Every input of a run (read stage): the files the user named in, one read result out.

In: the files of ``--declarations``, ``--dfe-statements`` and ``--participants``
(each may be repeated and may name a folder:
:func:`reconcile.inputfiles.expand_inputs`), the rulebook's vocabulary and statement
calendar, ``--lead-provider`` and ``say`` (a progress callback naming each file as it
is read).
Out: a :class:`ReadResult`: the declarations and DfE statements of all the files,
each file's identity (:class:`~reconcile.inputfiles.InputFile`: path and SHA-256),
the findings about the inputs as a whole, and notes (what was read and how).

Each file is read by its own reader (:func:`reconcile.read.read_declaration_file`,
:func:`reconcile.read.read_dfe_statements`, :mod:`.participants`); the results are
merged afterwards (:mod:`.merge`), on finished records. DfE's statements are read
first: a declaration without a cohort (the v3 API gives none) takes its statement's.

What the declarations lack is filled in, each field from the first source that has
it: the declaration's own column; its statement (a cohort: DfE's statement of its
``statement_id``, or the cohort in an assurance report's file name); the
participant's enrolment for that course (and cohort) from ``--participants``
(schedule, cohort, pupil premium and sparsity flags, delivery partner (DfE's own
assurance report falls back to the participant's partner the same way), TRN); for a
cohort, the participant's other declarations of the course; then the rulebook's
documented default (``rules/vocabulary.yaml``). What is still unknown is said, not
assumed:

* no schedule: the milestone-date and schedule checks are not run on it
  (``window_position`` ``not_given``); one info finding, ``READ_SCHEDULE_NOT_GIVEN``,
  counts such declarations and names the fix;
* no cohort, on a declaration that moves no money (``no_payment_states``: submitted,
  voided, ineligible, which DfE attaches to no statement): it is left out, with one
  grouped info finding, ``READ_COHORT_NOT_GIVEN``; on any other declaration, a
  located input error (exit 2), as the money depends on it.

Participant ids DfE retired (``participant_id_changes``) are followed: a declaration
under an old id belongs to the participant now holding it, so duplicates are judged
across both.

DfE's statements list from the v3 API (``GET /api/v3/statements``) has no output-fee
flag and no lead provider (DfE's ``StatementSerializer``; the query returns only the
asking provider's output-fee statements). Each such statement takes ``output_fee``
from the statement calendar (same cohort and name; else true, as the API lists only
output-fee statements) and its provider from ``--lead-provider`` when given, else
from the declarations that name its statements, else from the declarations when
they are of one provider; otherwise the run stops asking for ``--lead-provider``.
With ``--lead-provider``, declarations of other providers (the API lists them for
participants who transferred) are left out, with one info finding.

Example::

    result = read_inputs([Path("pulls/")], [Path("statements.json")], rulebook.vocabulary,
                         participants=[Path("participants.json")])
    result.files[0].sha256
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from reconcile.errors import InputError, Problem, UsageError
from reconcile.findings import Finding, finding
from reconcile.inputfiles import (
    DECLARATIONS,
    DFE_STATEMENTS,
    PARTICIPANTS,
    InputFile,
    identify_inputs,
)
from reconcile.model import Declaration, DfeStatement, Source
from reconcile.model import normal_name as _norm
from reconcile.read import read_declaration_file, read_dfe_statements
from reconcile.read.convert import collect_notes
from reconcile.read.declarations import UNKNOWN_COHORT, FileDeclarations, cohort_problem
from reconcile.read.merge import merge_declarations
from reconcile.read.participants import NO_PARTICIPANTS, Participants, read_participants
from reconcile.read.table import Limits
from reconcile.rulebook.load import load_rulebook
from reconcile.rulebook.schema import CalendarStatement, VocabularyFile

#: the rulebook's statement calendar: cohort -> its statements by payment date
Calendar = dict[int, tuple[CalendarStatement, ...]]

_IDS_SHOWN = 5


class ReadResult(NamedTuple):
    declarations: tuple[Declaration, ...]
    dfe_statements: tuple[DfeStatement, ...]
    files: tuple[InputFile, ...]
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    #: when every declarations file is one of DfE's assurance reports: the statements
    #: they are reports of, (provider, cohort, statement) squeezed as the report's file
    #: name writes them (reconcile.read.assurance); None: the inputs cover every one
    coverage: frozenset[tuple[str, int, str]] | None = None


def _quiet(_text: str) -> None:
    return None


def read_inputs(declarations: Sequence[Path], dfe_statements: Sequence[Path] = (),
                vocabulary: VocabularyFile | None = None, *,
                participants: Sequence[Path] = (), calendar: Calendar | None = None,
                lead_provider: str | None = None, sheet: str | None = None,
                say: Callable[[str], None] = _quiet, limits: Limits | None = None,
                largest_amount: Decimal | None = None,
                largest_count: int | None = None) -> ReadResult:
    """Read every file (already expanded: no folders) and merge what they hold.

    ``largest_amount`` and ``largest_count`` (the rulebook's fees.yaml) bound every
    amount and count of DfE's statements: beyond them, a located input error. Without a ``vocabulary``
    both come from the bundled rulebook."""
    with collect_notes() as read_findings:  # what the readers noticed (text replaced)
        result = _read_inputs(declarations, dfe_statements, vocabulary,
                              participants=participants, calendar=calendar,
                              lead_provider=lead_provider, sheet=sheet, say=say, limits=limits,
                              largest_amount=largest_amount, largest_count=largest_count)
    return result._replace(findings=(*read_findings, *result.findings))


def _read_inputs(declarations: Sequence[Path], dfe_statements: Sequence[Path],
                 vocabulary: VocabularyFile | None, *, participants: Sequence[Path],
                 calendar: Calendar | None, lead_provider: str | None,
                 sheet: str | None, say: Callable[[str], None], limits: Limits | None,
                 largest_amount: Decimal | None, largest_count: int | None) -> ReadResult:
    if vocabulary is None:
        bundled = load_rulebook()
        vocabulary = bundled.vocabulary
        if largest_amount is None:
            largest_amount = bundled.fees.largest_amount
        if largest_count is None:
            largest_count = bundled.fees.largest_count
    dfe_files, dfe_notes = identify_inputs(dfe_statements, DFE_STATEMENTS)
    participant_files, participant_notes = identify_inputs(participants, PARTICIPANTS)
    declaration_files, declaration_notes = identify_inputs(declarations, DECLARATIONS)
    notes = [*dfe_notes, *participant_notes, *declaration_notes]
    findings: list[Finding] = []

    statements: list[DfeStatement] = []
    for number, file in enumerate(dfe_files, 1):
        say(_reading(file, number, len(dfe_files)))
        statements.extend(read_dfe_statements(Path(file.path), vocabulary, limits=limits,
                                              largest_amount=largest_amount,
                                              largest_count=largest_count))
    statements, differ = _distinct_statements(statements)
    findings.extend(differ)

    people = NO_PARTICIPANTS
    if participant_files:
        for number, file in enumerate(participant_files, 1):
            say(_reading(file, number, len(participant_files)))
        people = read_participants([Path(f.path) for f in participant_files], vocabulary)

    per_file: list[tuple[str, tuple[Declaration, ...]]] = []
    kinds: dict[str, FileDeclarations] = {}
    for number, file in enumerate(declaration_files, 1):
        say(_reading(file, number, len(declaration_files)))
        read = read_declaration_file(Path(file.path), vocabulary, dfe_statements=statements,
                                     limits=limits, defer_cohort=True, sheet=sheet)
        per_file.append((file.path, read.declarations))
        for note in read.notes:
            say(f"note: {note}")
        notes.extend(read.notes)
        kinds[file.path] = read._replace(declarations=())
        if len(declaration_files) > 1:
            notes.append(f"{file.path}: {len(read.declarations):,} declaration(s)")
    merged, merge_findings = merge_declarations(per_file, vocabulary.assurance_report)
    findings.extend(merge_findings)
    del per_file
    if lead_provider:
        # before any cohort is looked for: another provider's declarations (the API lists
        # them for participants who transferred) sit on statements not given here
        merged, others = _other_providers(merged, lead_provider)
        if others is not None:
            findings.append(others)

    merged, filled_notes = _fill_from_participants(merged, kinds, people)
    notes.extend(filled_notes)
    merged = _cohort_from_other_declarations(merged)
    merged, left_out = _unknown_cohorts(merged, kinds, vocabulary)
    if left_out is not None:
        findings.append(left_out)
    unscheduled = _schedule_not_given(merged, bool(participant_files))
    if unscheduled is not None:
        findings.append(unscheduled)
    unflagged = _flags_not_given(merged, kinds, people, vocabulary.recruitment_type)
    if unflagged is not None:
        findings.append(unflagged)

    statements = _api_statements(statements, merged, calendar, lead_provider)
    statements, overlap = _prefer_money(statements)
    if overlap:
        notes.append(f"{overlap} statement(s) of DfE's statements list (v3 API) are also in "
                     "a statements workbook: the workbook's, with its money, is compared")
    coverage = None
    if kinds and all(k.covers is not None for k in kinds.values()):
        coverage = frozenset().union(*(k.covers or () for k in kinds.values()))
        notes.append(f"the declarations are DfE's assurance reports of {len(coverage)} "
                     "statement(s)")
    return ReadResult(merged, tuple(statements),
                      (*declaration_files, *dfe_files, *participant_files),
                      tuple(findings), tuple(notes), coverage)


def _reading(file: InputFile, number: int, total: int) -> str:
    count = f" ({number} of {total})" if total > 1 else ""
    return f"reading {file.role} {file.path}{count}"


# --------------------------------------------------------------------------- statements


def _statement_content(s: DfeStatement) -> tuple[Any, ...]:
    """What a statement says, without where it was read nor when DfE last touched it."""
    lines = tuple(line._replace(source=None) for line in s.lines)
    return tuple(s._replace(source=None, lines=lines, updated_at=None))


_EARLIEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)  # noqa: UP017 (3.10)
_STATEMENT_FIELDS = [f for f in DfeStatement._fields if f not in ("source", "updated_at")]


def _file_of(s: DfeStatement) -> str:
    return s.source.file if s.source is not None else ""


def _distinct_statements(statements: list[DfeStatement]
                         ) -> tuple[list[DfeStatement], list[Finding]]:
    """DfE's statements of every file, each statement once.

    Given twice with the same details (two pulls of the statements list, last month's
    and this month's workbook), a statement counts once. The same statement (its id,
    else provider, cohort and name) in two files with different details: the copy DfE
    updated last (the API's ``updated_at``) is used, else the later file's, and one
    info finding per pair of files (``READ_SAME_STATEMENT_DIFFERS``) says which, as
    for declarations (:mod:`.merge`). A statement listed twice in one file is kept
    twice: that is DfE's file, and the comparison reports it
    (``STATEMENT_DUPLICATE_IN_DFE``). A statement of the API's list (dates only) and
    one of a workbook (with money) are not merged here (:func:`_prefer_money`).
    """
    seen: set[tuple[Any, ...]] = set()
    kept: list[DfeStatement] = []
    where: dict[tuple[Any, ...], int] = {}
    differs: dict[tuple[str, str], list[tuple[DfeStatement, DfeStatement]]] = {}
    for s in statements:
        content = _statement_content(s)
        if content in seen:
            continue
        seen.add(content)
        key = (_from_api(s), s.statement_id or (_norm(s.lead_provider), s.cohort, _norm(s.name)))
        at = where.get(key)
        if at is None or _file_of(kept[at]) == _file_of(s):
            where.setdefault(key, len(kept))
            kept.append(s)
            continue
        first = kept[at]
        later = (s.updated_at or _EARLIEST) >= (first.updated_at or _EARLIEST)
        chosen, other = (s, first) if later else (first, s)
        kept[at] = chosen
        files = (min(_file_of(first), _file_of(s)), max(_file_of(first), _file_of(s)))
        differs.setdefault(files, []).append((chosen, other))
    return kept, [_statements_differ(files, pairs) for files, pairs in differs.items()]


def _statements_differ(files: tuple[str, str],
                       pairs: list[tuple[DfeStatement, DfeStatement]]) -> Finding:
    shown = []
    for chosen, other in pairs[:_IDS_SHOWN]:
        field = next((f for f in _STATEMENT_FIELDS if getattr(chosen, f) != getattr(other, f)),
                     "lines")
        whose = f"{chosen.lead_provider}, " if chosen.lead_provider else ""
        shown.append(f"{chosen.name} ({whose}cohort {chosen.cohort}): {field} {_shown(chosen, field)} in {_file_of(chosen)} "
                     f"was used, not {_shown(other, field)} in {_file_of(other)}")
    more = f"; and {len(pairs) - _IDS_SHOWN:,} more" if len(pairs) > _IDS_SHOWN else ""
    n = len(pairs)
    return finding(
        "READ_SAME_STATEMENT_DIFFERS",
        f"{n:,} DfE statement{'s are' if n != 1 else ' is'} in both {files[0]} and {files[1]} "
        "with different details; each is compared once, from the copy DfE updated last "
        f"(updated_at), else from the file given later. {'; '.join(shown)}{more}.",
        lead_provider=pairs[0][0].lead_provider if n == 1 else None,
        cohort=pairs[0][0].cohort if n == 1 else None)


def _shown(s: DfeStatement, field: str) -> str:
    if field == "lines":
        return f"{len(s.lines)} line(s)"
    value = getattr(s, field)
    if isinstance(value, bool):
        return str(value).lower()
    return "blank" if value is None else str(value)


def _from_api(s: DfeStatement) -> bool:
    """A statement of the v3 API's statements list (JSON: no sheet, no money)."""
    return s.source is not None and s.source.sheet is None and not s.lines and s.total is None


def _api_statements(statements: list[DfeStatement], declarations: Sequence[Declaration],
                    calendar: Calendar | None, lead_provider: str | None
                    ) -> list[DfeStatement]:
    """The API list's statements with their output-fee flag and provider (module doc)."""
    if not any(_from_api(s) for s in statements):
        return statements
    output_fee: dict[tuple[int, str], bool] = {}
    for cohort, rows in (calendar or {}).items():
        for row in rows:
            output_fee[(int(cohort), _norm(row.name))] = bool(row.output_fee)
    provider_of: dict[str, set[str]] = defaultdict(set)
    providers = {d.lead_provider for d in declarations if d.lead_provider}
    for d in declarations:
        if d.lead_provider:
            for sid in (d.statement_id, d.clawback_statement_id):
                if sid:
                    provider_of[sid].add(d.lead_provider)
    by_file: dict[str, list[int]] = defaultdict(list)
    result = list(statements)
    for i, s in enumerate(statements):
        if _from_api(s):
            flag = output_fee.get((s.cohort, _norm(s.name)), True)
            result[i] = s._replace(output_fee=flag)
            if not s.lead_provider:
                by_file[s.source.file if s.source else ""].append(i)
    problems = []
    for file, indexes in by_file.items():
        named: set[str] = set()
        for i in indexes:
            named |= provider_of.get(result[i].statement_id or "", set())
        if lead_provider:
            provider = lead_provider
        elif len(named) == 1:
            provider = next(iter(named))
        elif len(providers) == 1:
            provider = next(iter(providers))
        elif not providers:
            continue  # declarations of no named provider: paired by cohort
        else:
            shown = ", ".join(repr(p) for p in sorted(named or providers))
            problems.append(Problem(
                Source(file), "DfE's statements list (v3 API) names no lead provider, and "
                f"the declarations are of several ({shown})",
                "name the provider whose statements these are with --lead-provider NAME"))
            continue
        for i in indexes:
            result[i] = result[i]._replace(lead_provider=provider)
    if problems:
        raise UsageError(problems)
    return result


def _prefer_money(statements: list[DfeStatement]) -> tuple[list[DfeStatement], int]:
    """A statement both in the API's list (dates only) and in a workbook (with money) is
    the workbook's; the API list's copy is dropped (counted for a note)."""
    api = [s for s in statements if _from_api(s)]
    if not api or len(api) == len(statements):
        return statements, 0
    ids, keys = set(), set()
    for s in statements:
        if not _from_api(s):
            if s.statement_id:
                ids.add(s.statement_id)
            keys.add((_norm(s.lead_provider), s.cohort, _norm(s.name)))
    kept = [s for s in statements if not _from_api(s) or not (
        s.statement_id in ids or (_norm(s.lead_provider), s.cohort, _norm(s.name)) in keys)]
    return kept, len(statements) - len(kept)


# --------------------------------------------------------------------------- participants


def _fill_from_participants(declarations: tuple[Declaration, ...],
                            kinds: dict[str, FileDeclarations],
                            people: Participants) -> tuple[tuple[Declaration, ...], list[str]]:
    """Follow retired ids; fill what a declaration's own file lacks from its enrolment."""
    if people is NO_PARTICIPANTS or not (people.enrolments or people.retired):
        return declarations, []
    retired = people.retired
    counts: Counter[str] = Counter()
    out = []
    for d in declarations:
        changes: dict[str, Any] = {}
        pid = retired.get(d.participant_id)
        if pid is not None:
            changes["participant_id"] = pid
            counts["retired"] += 1
        else:
            pid = d.participant_id
        fields = kinds[d.file].fields if d.file in kinds else frozenset()
        cohort = None if d.cohort == UNKNOWN_COHORT else d.cohort
        enrolment = people.enrolment(pid, d.participant_type, cohort)
        if enrolment is not None:
            if cohort is None and enrolment.cohort is not None:
                changes["cohort"] = enrolment.cohort
                counts["cohort"] += 1
            if d.schedule_identifier is None and enrolment.schedule_identifier:
                changes["schedule_identifier"] = enrolment.schedule_identifier
                counts["schedule"] += 1
            flagged = False
            for flag in ("pupil_premium_uplift", "sparsity_uplift"):
                value = getattr(enrolment, flag)
                if flag not in fields and value is not None and value != getattr(d, flag):
                    changes[flag] = value
                    flagged = True
            counts["flags"] += flagged
            if d.delivery_partner_id is None and d.delivery_partner_name is None and \
                    enrolment.delivery_partner_id:
                changes["delivery_partner_id"] = enrolment.delivery_partner_id
                counts["partner"] += 1
            if d.teacher_reference_number is None and enrolment.teacher_reference_number:
                changes["teacher_reference_number"] = enrolment.teacher_reference_number
        out.append(d._replace(**changes) if changes else d)
    notes = []
    if counts["retired"]:
        notes.append(f"{counts['retired']:,} declaration(s) under participant ids DfE has "
                     "retired (participant_id_changes) belong to the participant now holding "
                     "them")
    taken = [f"{what} for {counts[key]:,}" for key, what in (
        ("schedule", "the schedule"), ("cohort", "the cohort"),
        ("flags", "the pupil premium/sparsity flags"), ("partner", "the delivery partner"))
        if counts[key]]
    if taken:
        notes.append("from the participants (--participants): " + ", ".join(taken)
                     + " declaration(s)")
    return tuple(out), notes


def _cohort_from_other_declarations(declarations: tuple[Declaration, ...]
                                    ) -> tuple[Declaration, ...]:
    """A declaration with no cohort takes the cohort of its participant's other
    declarations of the same course, when they all have the same one."""
    if not any(d.cohort == UNKNOWN_COHORT for d in declarations):
        return declarations
    known: dict[tuple[str, str], set[int]] = defaultdict(set)
    for d in declarations:
        if d.cohort != UNKNOWN_COHORT:
            known[(d.participant_id, d.course_identifier)].add(d.cohort)
    out = []
    for d in declarations:
        if d.cohort == UNKNOWN_COHORT:
            cohorts = known.get((d.participant_id, d.course_identifier), set())
            if len(cohorts) == 1:
                d = d._replace(cohort=next(iter(cohorts)))
        out.append(d)
    return tuple(out)


def _unknown_cohorts(declarations: tuple[Declaration, ...], kinds: dict[str, FileDeclarations],
                     vocabulary: VocabularyFile
                     ) -> tuple[tuple[Declaration, ...], Finding | None]:
    """Declarations still without a cohort: left out with a finding when they move no
    money, else a located input error (every one, grouped per file)."""
    if not any(d.cohort == UNKNOWN_COHORT for d in declarations):
        return declarations, None
    lenient = set(vocabulary.no_payment_states)
    kept, left, needed = [], [], defaultdict(list)
    for d in declarations:
        if d.cohort != UNKNOWN_COHORT:
            kept.append(d)
        elif d.state in lenient:
            left.append(d)
        else:
            needed[(d.file, d.sheet)].append(d)
    if needed:
        problems = []
        for (file, sheet), rows in needed.items():
            kind = kinds.get(file)
            what, fix = cohort_problem(kind.kind if kind else "table",
                                       bool(kind and "cohort" in kind.fields))
            others = [str(d.row) for d in rows[1:]]
            if others:
                listed = ", ".join(others[:_IDS_SHOWN]) + (
                    f" and {len(others) - _IDS_SHOWN:,} more" if len(others) > _IDS_SHOWN else "")
                what = f"{what} (the same in row{'s' if len(others) > 1 else ''} {listed})"
            column = "cohort"
            problems.append(Problem(Source(file, sheet, rows[0].row, column), what, fix))
        raise InputError(problems)
    states = Counter(d.state for d in left)
    ids = tuple(d.declaration_id for d in left)
    shown = ", ".join(ids[:_IDS_SHOWN]) + (f" and {len(ids) - _IDS_SHOWN:,} more"
                                           if len(ids) > _IDS_SHOWN else "")
    by_state = ", ".join(f"{n:,} {state}" for state, n in sorted(states.items()))
    return tuple(kept), finding(
        "READ_COHORT_NOT_GIVEN",
        f"{len(ids):,} declaration(s) that move no money ({by_state}) have no cohort in any "
        f"input, so they are left out of the statements ({shown}). They would not be paid "
        "on any statement either way.",
        declaration_id=ids[0] if len(ids) == 1 else None, declaration_ids=ids)


def _other_providers(declarations: tuple[Declaration, ...], lead_provider: str
                     ) -> tuple[tuple[Declaration, ...], Finding | None]:
    mine = _norm(lead_provider)
    kept = [d for d in declarations if d.lead_provider is None or _norm(d.lead_provider) == mine]
    if len(kept) == len(declarations):
        return declarations, None
    others = Counter(d.lead_provider for d in declarations
                     if d.lead_provider is not None and _norm(d.lead_provider) != mine)
    ids = tuple(d.declaration_id for d in declarations
                if d.lead_provider is not None and _norm(d.lead_provider) != mine)
    listed = ", ".join(f"{name} ({n:,})" for name, n in sorted(others.items()))
    return tuple(kept), finding(
        "READ_OTHER_PROVIDERS",
        f"{len(ids):,} declaration(s) of other lead providers are left out: {listed}. "
        f"--lead-provider names {lead_provider}; DfE's API lists other providers' "
        "declarations of participants who transferred to you.",
        declaration_ids=ids)


def _flags_not_given(declarations: tuple[Declaration, ...], kinds: dict[str, FileDeclarations],
                     people: Participants, started: str) -> Finding | None:
    """Started declarations (``started``: the vocabulary's ``recruitment_type``) whose
    pupil premium and sparsity flags no input gives (the v3 API's declarations have only
    ``uplift_paid``, true only once an ECT's start is paid)."""
    flag_fields = {"pupil_premium_uplift", "sparsity_uplift"}
    ids = []
    for d in declarations:
        if d.declaration_type != started or d.uplift_paid:
            continue
        kind = kinds.get(d.file)
        if kind is not None and flag_fields & kind.fields:
            continue
        enrolment = people.enrolment(d.participant_id, d.participant_type, d.cohort)
        if enrolment is not None and (enrolment.pupil_premium_uplift is not None
                                      or enrolment.sparsity_uplift is not None):
            continue
        ids.append(d.declaration_id)
    if not ids:
        return None
    return finding(
        "READ_UPLIFT_FLAGS_NOT_GIVEN",
        f"{len(ids):,} started declaration(s) have no pupil premium or sparsity flag in any "
        "input (the v3 API's declarations say only uplift_paid, and only for an ECT's start "
        "once it is paid), so no uplift is expected on them; none was assumed.",
        declaration_ids=tuple(ids))


def _schedule_not_given(declarations: tuple[Declaration, ...],
                        had_participants: bool) -> Finding | None:
    ids = tuple(d.declaration_id for d in declarations if d.schedule_identifier is None)
    if not ids:
        return None
    fix = ("Some participants are not in the participants given: add their pages."
           if had_participants else
           "Give DfE's participants (--participants, the JSON of GET "
           "/api/v3/participants/ecf), or a schedule_identifier column.")
    return finding(
        "READ_SCHEDULE_NOT_GIVEN",
        f"{len(ids):,} of {len(declarations):,} declaration(s) have no schedule in any input "
        "(the v3 API's declarations carry none), so their declaration dates were not checked "
        "against the milestones of a schedule; none was assumed. The money is worked out "
        "as usual.",
        suggestion=fix, declaration_ids=ids)
