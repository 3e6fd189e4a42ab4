"""Reading and annotating a history store: the API of ``reconcile history`` and the web page.

Stage: none (reads a store the runs wrote; adds notes). In: an open
:class:`~reconcile.history.store.Store`. Out: plain values, each with ``as_json()``:

* :func:`list_runs` — recorded runs, newest first;
* :func:`run_details` — one run: inputs, contracts, statements, findings, changes;
* :func:`run_changes` — a run's changes since its previous run (as recorded), or
  :func:`diff_runs` between any two runs;
* :func:`followed_findings` — every finding followed across runs with its status
  (``new``, ``open``, ``reopened``, or ``resolved``), first sighting, age, latest note
  and money at stake; :func:`ageing` groups the open ones by age band;
* :func:`add_note` — append a note (``disputed``, ``acknowledged``, ``accepted``).

Example::

    with open_store(path) as store:
        for f in followed_findings(store, open_only=True):
            print(f.fingerprint, f.age_days, f.row.code, f.money_at_stake)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile.errors import Problem, UsageError
from reconcile.history.changes import Change, compute_changes
from reconcile.history.follow import ACCEPTED, NOTE_STATUSES
from reconcile.history.snapshot import FindingRow, StatementRow
from reconcile.history.store import HistoryError, NoteRow, RunRow, Store, in_scope
from reconcile.model import Source
from reconcile.money import ZERO, show

RESOLVED = "resolved"
#: the ageing report's bands: (label, lowest age, highest age or None)
AGE_BANDS = (("0-30 days", 0, 30), ("31-60 days", 31, 60), ("61-90 days", 61, 90),
             ("over 90 days", 91, None))


def list_runs(store: Store, limit: int | None = None) -> list[RunRow]:
    """Recorded runs, newest first (by date, then run number)."""
    return store.runs(limit)


def run_row_json(run: RunRow) -> dict[str, Any]:
    return {"run_id": run.run_id, "date": run.as_of, "recorded_at": run.recorded_at,
            "command": run.command, "tool_version": run.tool_version,
            "declarations": run.declarations,
            "expected_total": show(run.expected_total) if run.expected_total is not None
            else None,
            "dfe_total": show(run.dfe_total) if run.dfe_total is not None else None,
            "findings": {"error": run.errors, "warning": run.warnings, "info": run.infos},
            "changes": run.changes, "previous_run_id": run.previous_run_id,
            "lead_providers": list(run.providers), "cohorts": list(run.cohorts),
            "inputs": list(run.inputs)}


def resolve_run(store: Store, given: str | int) -> int:
    """A run number from the command line: a number, ``latest`` or ``previous``."""
    text = str(given).strip().lower()
    if text in ("latest", "last", "previous"):
        runs = store.runs(2)
        index = 0 if text != "previous" else 1
        if len(runs) <= index:
            raise HistoryError([Problem(Source(str(store.path)),
                                        f"the history has no {text} run",
                                        "see the recorded runs with: reconcile history list")])
        return runs[index].run_id
    if not text.isdigit():
        raise UsageError([Problem(Source(str(given)), "a run is named by its number",
                                  "e.g. 12, latest or previous (see: reconcile history list)")])
    run_id = int(text)
    if store.run(run_id) is None:
        raise HistoryError([Problem(Source(str(store.path)),
                                    f"there is no run {run_id} in the history",
                                    "see the recorded runs with: reconcile history list")])
    return run_id


def run_details(store: Store, run_id: int) -> dict[str, Any]:
    """Everything ``history show`` prints of one run, as JSON data."""
    run = store.run(run_id)
    if run is None:
        raise HistoryError([Problem(Source(str(store.path)),
                                    f"there is no run {run_id} in the history",
                                    "see the recorded runs with: reconcile history list")])
    snap = store.snapshot(run_id)
    notes = store.latest_notes([f.fingerprint for f in snap.findings])
    findings = store.findings_of(run_id)
    for f in findings:
        note = notes.get(f["fingerprint"])
        f["note"] = note.as_json() if note is not None else None
    statements = []
    dfe = {(s.lead_provider, s.cohort, s.name): s for s in snap.statements if s.side == "dfe"}
    for s in snap.statements:
        if s.side != "expected":
            continue
        d = dfe.pop((s.lead_provider, s.cohort, s.name), None)
        statements.append(_statement_json(s, d))
    statements.extend(_statement_json(None, d) for d in dfe.values())
    statements.sort(key=lambda s: (s["lead_provider"], s["cohort"], s["payment_date"] or "",
                                   s["name"]))
    return {
        **run_row_json(run),
        "options": snap.options,
        "rules_hash": snap.rules_hash,
        "inputs": [{"role": i.role, "path": i.path, "sha256": i.sha256, "size": i.size}
                   for i in snap.inputs],
        "rule_files": [{"name": r.name, "sha256": r.sha256, "kind": r.kind}
                       for r in snap.rule_files],
        "contracts": [{"lead_provider": s.lead_provider, "cohort": s.cohort,
                       "contract_hash": s.contract_hash} for s in snap.scopes],
        "statements": statements,
        "findings_list": findings,
        "changes_list": store.changes_of(run_id),
    }


def _statement_json(expected: StatementRow | None, dfe: StatementRow | None
                    ) -> dict[str, Any]:
    s = expected or dfe
    assert s is not None  # one side at least
    return {"lead_provider": s.lead_provider, "cohort": s.cohort, "name": s.name,
            "payment_date": s.payment_date, "paid": bool(dfe.paid) if dfe else None,
            "expected_total": show(expected.total) if expected and expected.total is not None
            else None,
            "dfe_total": show(dfe.total) if dfe and dfe.total is not None else None}


def run_changes(store: Store, run_id: int) -> list[dict[str, Any]]:
    """A run's changes since its previous run, as recorded when it ran."""
    if store.run(run_id) is None:
        raise HistoryError([Problem(Source(str(store.path)),
                                    f"there is no run {run_id} in the history",
                                    "see the recorded runs with: reconcile history list")])
    return store.changes_of(run_id)


def diff_runs(store: Store, run_a: int, run_b: int) -> tuple[Change, ...]:
    """What changed from run A to run B, within the (provider, cohort) pairs they share."""
    a_scope = store.snapshot(run_a).scope_keys() if store.run(run_a) else None
    if a_scope is None or store.run(run_b) is None:
        missing = run_a if a_scope is None else run_b
        raise HistoryError([Problem(Source(str(store.path)),
                                    f"there is no run {missing} in the history",
                                    "see the recorded runs with: reconcile history list")])
    b = store.snapshot(run_b)
    shared = a_scope & b.scope_keys()
    return compute_changes(store.snapshot(run_a, shared), store.snapshot(run_b, shared))


# --------------------------------------------------------------------------- findings followed


class FollowedFinding(NamedTuple):
    """A finding as the history follows it: its latest sighting and where it stands."""

    row: FindingRow
    status: str  # new, open, reopened (still found by the latest run) or resolved
    first_seen: dt.date
    last_seen: dt.date
    last_run_id: int
    age_days: int
    note: NoteRow | None

    @property
    def fingerprint(self) -> str:
        return self.row.fingerprint

    @property
    def is_open(self) -> bool:
        """Still found by the latest run of its scope, and not accepted."""
        return self.status != RESOLVED and not (self.note is not None
                                                and self.note.status == ACCEPTED)

    @property
    def money_at_stake(self) -> Decimal:
        """The money the finding is about: its statement line's difference (DfE's minus
        ours) for a finding on a line, else its own money difference; none for counts
        and dates alone. Runs recorded before schema version 3 kept only the latter."""
        stake = self.row.at_stake if self.row.at_stake is not None else self.row.amount
        return abs(Decimal(stake)) if stake is not None else ZERO

    @property
    def line_key(self) -> tuple[Any, ...] | None:
        """The statement line the finding is on (two findings on one line, a count and
        a fee mismatch, stake the same money), or None."""
        r = self.row
        if r.line is None or r.statement is None:
            return None
        return (r.lead_provider, r.cohort, r.statement, r.line)

    def as_json(self) -> dict[str, Any]:
        r = self.row
        return {"fingerprint": r.fingerprint, "code": r.code, "severity": r.severity,
                "lead_provider": r.lead_provider, "cohort": r.cohort, "statement": r.statement,
                "declaration_id": r.declaration_id, "line": r.line, "message": r.message,
                "difference": r.difference, "status": self.status,
                "first_seen": self.first_seen.isoformat(),
                "last_seen": self.last_seen.isoformat(), "last_run_id": self.last_run_id,
                "age_days": self.age_days, "money_at_stake": show(self.money_at_stake),
                "note": self.note.as_json() if self.note is not None else None}


def followed_findings(store: Store, as_of: dt.date | None = None, open_only: bool = False,
                      older_than: int | None = None) -> list[FollowedFinding]:
    """Every finding the history has followed, oldest first.

    A finding is current when the newest run of its (provider, cohort) still has it,
    else ``resolved``. ``open_only``: current and not accepted. ``older_than``: only
    those more than that many days old. Ages count to ``as_of`` (default today).
    """
    today = as_of or dt.date.today()
    runs = sorted(store.runs(), key=lambda r: (r.as_of, r.run_id))
    if not runs:
        return []
    order = {r.run_id: n for n, r in enumerate(runs)}
    run_date = {r.run_id: dt.date.fromisoformat(r.as_of) for r in runs}
    latest_for: dict[tuple[str, int], int] = {}
    for r in runs:
        for pair in store.snapshot_scopes(r.run_id):
            latest_for[pair] = r.run_id
    newest = runs[-1].run_id
    statuses = store.statuses_of(set(latest_for.values()) | {newest})
    notes = store.latest_notes()
    out = []
    for fp, (row, first_seen, last_run) in store.last_sightings().items():
        # the newest run of the (provider, cohort) pairs the finding is about decides
        # whether it is still there; a finding of none of them (a notice about another
        # cohort's calendar), the newest run
        owners = [run_id for pair, run_id in latest_for.items()
                  if in_scope(row.lead_provider, row.cohort, frozenset((pair,)))]
        decider = max(owners, key=order.__getitem__) if owners else newest
        first_date = dt.date.fromisoformat(first_seen)
        if last_run == decider:
            status = statuses.get((last_run, fp), "open")
            age = (today - first_date).days
        else:
            status = RESOLVED
            age = (run_date[last_run] - first_date).days
        out.append(FollowedFinding(row, status, first_date, run_date[last_run], last_run,
                                   max(age, 0), notes.get(fp)))
    if open_only:
        out = [f for f in out if f.is_open]
    if older_than is not None:
        out = [f for f in out if f.age_days > older_than]
    out.sort(key=lambda f: (-f.age_days, f.row.lead_provider or "", f.row.cohort or 0,
                            f.row.statement or "", f.row.code, f.fingerprint))
    return out


class AgeBand(NamedTuple):
    label: str
    findings: int
    money_at_stake: Decimal


def ageing(findings: Sequence[FollowedFinding]) -> list[AgeBand]:
    """Open findings by age band (0-30, 31-60, 61-90, over 90 days) and money at stake.

    A statement line's money is counted once, in the band of its oldest open finding
    (a count and a fee mismatch on one line are one line's money)."""
    open_findings = sorted((f for f in findings if f.is_open), key=lambda f: -f.age_days)
    staked: set[tuple[Any, ...]] = set()
    money: dict[int, Decimal] = {}
    for f in open_findings:
        key = f.line_key
        if key is not None:
            if key in staked:
                continue
            staked.add(key)
        money[id(f)] = f.money_at_stake
    bands = []
    for label, low, high in AGE_BANDS:
        members = [f for f in open_findings if f.age_days >= low
                   and (high is None or f.age_days <= high)]
        bands.append(AgeBand(label, len(members),
                             sum((money.get(id(f), ZERO) for f in members), ZERO)))
    return bands


def add_note(store: Store, fingerprint: str, status: str, text: str, by: str,
             on: dt.date | None = None) -> NoteRow:
    """Append a note to the finding a fingerprint (or a unique start of one) names."""
    if status not in NOTE_STATUSES:
        raise UsageError([Problem(Source(status), "not a note status",
                                  f"use one of {', '.join(NOTE_STATUSES)}")])
    if not text.strip():
        raise UsageError("a note needs some text: --text \"what was agreed, with whom\"")
    row = store.find_fingerprint(fingerprint)
    return store.add_note(row.fingerprint, status, text.strip(), by, on or dt.date.today())
