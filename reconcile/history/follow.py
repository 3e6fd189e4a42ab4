"""The history stage of a run: changes since the previous run, findings followed across runs.

Stage: history (after compare and split, before report and write). In: the run's
result and an open :class:`~reconcile.history.store.Store`. Out: a
:class:`RunHistory` value (run id, previous run, changes, each finding's
fingerprint / status / first sighting / age / latest note, the findings resolved
since the previous run) that the JSON, the Changes sheet and the console show, and
a :class:`Recorder` that commits the run to the store together with the outputs.

A finding's ``status``: ``new`` (never recorded before), ``open`` (also in the
previous run), ``reopened`` (recorded in an earlier run, not in the previous one).
``first_seen`` is the date of the run that first recorded it (kept while it stays
open and when it reopens); ``age_days`` counts from there to this run's date. A
finding whose latest note has the status ``accepted`` is still listed, but no
longer makes the exit status 1.

The previous run is the newest recorded run, dated on or before this one, that
shares a (lead provider, cohort) with it; changes and resolved findings are
computed within this run's (lead provider, cohort) pairs only, so a run for one
provider is not told that the others' declarations were removed.

Example::

    recorder = start_recording(store, result, command="run")
    data["history"] = recorder.history.as_json()
    with recorder.recording():
        outputs.publish()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from reconcile.findings import Finding, finding, sort_key
from reconcile.history.changes import (
    CONTRACT_CHANGED,
    DECLARATION_ADDED,
    DECLARATION_CHANGED,
    DECLARATION_MOVED,
    DECLARATION_REMOVED,
    DECLARATION_STATE_CHANGED,
    DFE_STATEMENT_CHANGED,
    ERROR,
    EXPECTED_CHANGED,
    RULES_CHANGED,
    Change,
    compute_changes,
)
from reconcile.history.changes import summarise
from reconcile.history.snapshot import fingerprints
from reconcile.history.snapshot import (
    FindingRow,
    InputRow,
    Snapshot,
    finding_rows,
    snapshot_of,
)
from reconcile.history.store import NoteRow, Store, in_scope
from reconcile.money import ZERO, pounds
from reconcile.result import RunResult

NEW, OPEN, REOPENED = "new", "open", "reopened"
ACCEPTED = "accepted"
NOTE_STATUSES = ("disputed", "acknowledged", "accepted")


class FollowUp(NamedTuple):
    """What the history knows of one finding of this run."""

    fingerprint: str
    status: str
    first_seen: dt.date
    age_days: int
    note: NoteRow | None

    @property
    def accepted(self) -> bool:
        return self.note is not None and self.note.status == ACCEPTED

    def as_json(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "status": self.status,
                "first_seen": self.first_seen.isoformat(), "age_days": self.age_days,
                "note": self.note.as_json() if self.note is not None else None}


class Resolved(NamedTuple):
    """A finding of the previous run that this run no longer has."""

    finding: FindingRow
    first_seen: dt.date | None
    last_seen: dt.date
    note: NoteRow | None

    def as_json(self) -> dict[str, Any]:
        f = self.finding
        return {"fingerprint": f.fingerprint, "code": f.code, "severity": f.severity,
                "lead_provider": f.lead_provider, "cohort": f.cohort,
                "statement": f.statement, "declaration_id": f.declaration_id, "line": f.line,
                "message": f.message,
                "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "last_seen": self.last_seen.isoformat(),
                "note": self.note.as_json() if self.note is not None else None}


class RunHistory(NamedTuple):
    """This run in the history: what the JSON ``history`` block, the Changes sheet and
    the console show."""

    run_id: int
    as_of: dt.date
    previous_run_id: int | None
    previous_run_at: dt.date | None
    changes: tuple[Change, ...]
    resolved: tuple[Resolved, ...]
    #: each finding's follow-up, by ``id()`` of the run's Finding object (findings are
    #: values, and two can be equal; the result holds them for the run's lifetime)
    followed: dict[int, FollowUp]
    store: Path

    def follow_up(self, f: Finding) -> FollowUp | None:
        return self.followed.get(id(f))

    def is_accepted(self, f: Finding) -> bool:
        up = self.followed.get(id(f))
        return up is not None and up.accepted

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "previous_run_id": self.previous_run_id,
            "previous_run_at": (self.previous_run_at.isoformat()
                                if self.previous_run_at else None),
            "changes": [c.as_json() for c in self.changes],
            "resolved_findings": [r.as_json() for r in self.resolved],
            "store": str(self.store),
        }


def findings_json(findings: Sequence[Finding], history: RunHistory | None
                  ) -> list[dict[str, Any]]:
    """Each finding's JSON with the keys the history adds (docs/history.md): its
    ``fingerprint`` always; ``status``, ``first_seen``, ``age_days`` and ``note`` null
    without a history."""
    out = []
    for f, fp in zip(findings, fingerprints(findings)):
        up = history.follow_up(f) if history is not None else None
        extra = up.as_json() if up is not None else {
            "fingerprint": fp, "status": None, "first_seen": None, "age_days": None,
            "note": None}
        out.append({**f.as_json(), **extra})
    return out


class Recorder:
    """Commits one run to the store, together with the run's outputs."""

    def __init__(self, store: Store, snapshot: Snapshot, history: RunHistory,
                 statuses: Sequence[tuple[str, str]]) -> None:
        self.store = store
        self.snapshot = snapshot
        self.history = history
        self._statuses = statuses

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Insert the run; run the body (publish the outputs); commit. Any failure in
        the body leaves no trace of the run in the store."""
        with self.store.recording(self.history.run_id, self.snapshot, self.history.changes,
                                  self._statuses, self.history.previous_run_id):
            yield


def start_recording(store: Store, result: RunResult, command: str,
                    inputs: Sequence[InputRow] = ()) -> tuple[Recorder, tuple[Finding, ...]]:
    """The history of this run (nothing committed yet but its run number).

    Returns the recorder and the run's findings with the history's own findings
    (a paid DfE statement that changed) added, in the run's order.
    """
    snap = snapshot_of(result, command, inputs)
    as_of = snap.as_of
    scope = snap.scope_keys()
    run_id = store.reserve_run_id()
    previous = store.previous_run(scope, as_of, before_run=run_id)
    changes: tuple[Change, ...] = ()
    previous_snap = None
    if previous is not None:
        previous_snap = store.snapshot(previous[0], scope)
        changes = compute_changes(previous_snap, snap)
    findings = tuple(sorted((*result.findings, *paid_statement_findings(changes, previous)),
                            key=sort_key))
    snap = snap._replace(findings=finding_rows(findings, result.comparison))
    prints = [f.fingerprint for f in snap.findings]
    before = store.first_seen_in(previous[0]) if previous is not None else {}
    earlier = store.sightings([p for p in prints if p not in before], as_of, before_run=run_id)
    notes = store.latest_notes(
        [*prints, *(f.fingerprint for f in (previous_snap.findings if previous_snap else ()))])
    followed: dict[int, FollowUp] = {}
    statuses = []
    for f, fp in zip(findings, prints):
        if fp in before:
            status, first = OPEN, before[fp]
        elif fp in earlier:
            status, first = REOPENED, earlier[fp]
        else:
            status, first = NEW, as_of.isoformat()
        first_seen = dt.date.fromisoformat(first)
        followed[id(f)] = FollowUp(fp, status, first_seen, max((as_of - first_seen).days, 0),
                                   notes.get(fp))
        statuses.append((status, first))
    resolved: list[Resolved] = []
    if previous is not None and previous_snap is not None:
        now = set(prints)
        last_seen = dt.date.fromisoformat(previous[1])
        for row in previous_snap.findings:
            if row.fingerprint not in now and in_scope(row.lead_provider, row.cohort, scope):
                seen_first = before.get(row.fingerprint)
                resolved.append(Resolved(row, dt.date.fromisoformat(seen_first)
                                         if seen_first else None,
                                         last_seen, notes.get(row.fingerprint)))
    history = RunHistory(
        run_id=run_id, as_of=as_of,
        previous_run_id=previous[0] if previous else None,
        previous_run_at=dt.date.fromisoformat(previous[1]) if previous else None,
        changes=changes, resolved=tuple(resolved), followed=followed, store=store.path)
    return Recorder(store, snap, history, statuses), findings


def paid_statement_findings(changes: Sequence[Change], previous: tuple[int, str] | None
                            ) -> list[Finding]:
    """One error finding per DfE statement that changed after it was paid."""
    by_statement: dict[tuple[str | None, int | None, str | None], list[Change]] = {}
    for c in changes:
        if c.kind == DFE_STATEMENT_CHANGED and c.severity == ERROR:
            by_statement.setdefault((c.lead_provider, c.cohort, c.statement), []).append(c)
    out = []
    for (provider, cohort, statement), found in by_statement.items():
        total = sum((c.money_effect for c in found if c.money_effect is not None), ZERO)
        fields = ", ".join(c.field or "" for c in found)
        when = f"the run of {previous[1]}" if previous else "the previous run"
        out.append(finding(
            "HISTORY_PAID_STATEMENT_CHANGED",
            f"DfE's {statement} statement was already paid when {when} read it, and it has "
            f"changed since: {fields} (in all {pounds(total)})",
            lead_provider=provider, cohort=cohort, statement=statement,
            amount=total))
    return out



def with_history(result: RunResult, store: Store, command: str
                 ) -> tuple[RunResult, Recorder]:
    """The run's result with its history (and the history's findings) added, and the
    recorder that commits it with the outputs."""
    inputs = [InputRow(f.role, f.path, f.sha256, f.size) for f in result.inputs]
    recorder, findings = start_recording(store, result, command, inputs)
    return result._replace(findings=findings, history=recorder.history), recorder


#: how the console counts each kind of change: (one, many)
CHANGE_WORDS = {
    DFE_STATEMENT_CHANGED: ("DfE statement change", "DfE statement changes"),
    EXPECTED_CHANGED: ("expected payment change", "expected payment changes"),
    CONTRACT_CHANGED: ("contract change", "contract changes"),
    RULES_CHANGED: ("rules change", "rules changes"),
    DECLARATION_MOVED: ("declaration moved", "declarations moved"),
    DECLARATION_STATE_CHANGED: ("declaration's state changed", "declarations' states changed"),
    DECLARATION_ADDED: ("declaration added", "declarations added"),
    DECLARATION_REMOVED: ("declaration removed", "declarations removed"),
    DECLARATION_CHANGED: ("declaration changed", "declarations changed"),
}

#: how many changes to paid statements the console names (the Changes sheet has all)
PAID_SHOWN = 5


def console_lines(history: RunHistory) -> list[str]:
    """What the console says about the history after a run."""
    head = f"reconcile: history: run {history.run_id} recorded in {history.store}"
    if history.previous_run_id is None:
        return [head + " (the first run of these lead providers and cohorts)"]
    counts = summarise(history.changes)
    said = ", ".join(f"{n:,} {CHANGE_WORDS[kind][n != 1]}" for kind, n in counts.items())
    lines = [head, f"reconcile: since run {history.previous_run_id} of "
                   f"{history.previous_run_at}: {said or 'no changes'}"]
    paid = [c for c in history.changes if c.severity == ERROR]
    for c in paid[:PAID_SHOWN]:
        effect = f" ({pounds(c.money_effect)})" if c.money_effect else ""
        lines.append(f"reconcile:   PAID statement changed: {c.lead_provider} / {c.cohort} / "
                     f"{c.statement}: {c.field} {c.before or 'none'} -> "
                     f"{c.after or 'none'}{effect}")
    if len(paid) > PAID_SHOWN:
        lines.append(f"reconcile:   ... and {len(paid) - PAID_SHOWN:,} more on paid statements "
                     f"(the Changes sheet, or: reconcile history show {history.run_id})")
    statuses: dict[str, int] = {}
    accepted = 0
    for up in history.followed.values():
        statuses[up.status] = statuses.get(up.status, 0) + 1
        accepted += up.accepted
    parts = [f"{statuses.get(s, 0):,} {s}" for s in (NEW, OPEN, REOPENED)]
    parts.append(f"{len(history.resolved):,} resolved")
    if accepted:
        parts.append(f"{accepted:,} accepted (not counted in the exit status)")
    lines.append("reconcile: findings: " + ", ".join(parts))
    return lines
