"""A finished run's pages again, after the server let its result go (or was restarted).

Stage: entry point (the page's side of ``reconcile run``). In: a finished
:class:`~reconcile.serve.runs.Run` (its folder keeps its inputs under their own names),
and the page's history store. Out: the :class:`~reconcile.result.RunResult` the pages are
drawn from, made by the same pipeline with the same options and as-of date, writing
nothing: the run's workbook and JSON stay the files it wrote, and the history gets no new
run. Its findings' status, age and notes are read back from the history as the run
recorded them (:func:`recorded_history`), with the history's own findings (a paid DfE
statement that changed) put back.

The server keeps the results of its last few runs in memory
(:data:`reconcile.serve.runs.KEEP_RESULTS`); any other finished run's page is rebuilt
this way when it is opened, with the progress page meanwhile.

The pipeline's side (the same options, nothing written) is
:func:`reconcile.serve.pipeline_adapter.rebuild_run`; this module reads the history.

Example::

    result = recorded_history(result, store.history_path, run.record["history_run_id"])
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from reconcile import history
from reconcile.findings import Finding, Severity, sort_key
from reconcile.history.changes import Change
from reconcile.history.follow import FollowUp, Resolved, RunHistory
from reconcile.history.snapshot import FindingRow, fingerprints
from reconcile.history.store import in_scope
from reconcile.result import RunResult

def recorded_history(result: RunResult, path: Path, run_id: int) -> RunResult:
    """``result`` with the history of run ``run_id`` as the store recorded it (read only):
    each finding's status and first sighting, the notes as they are now, the changes
    since the previous run and the findings that run resolved."""
    with history.open_store(path, create=False) as store:
        row = store.run(run_id)
        if row is None:
            return result
        recorded = store.findings_of(run_id)
        changes = store.changes_of(run_id)
        scope = frozenset(store.snapshot_scopes(run_id))
        previous = store.findings_of(row.previous_run_id) if row.previous_run_id else []
        previous_row = store.run(row.previous_run_id) if row.previous_run_id else None
        notes = store.latest_notes([r["fingerprint"] for r in (*recorded, *previous)])
    as_of = dt.date.fromisoformat(row.as_of)
    known = set(fingerprints(result.findings))
    # the history's own findings (a paid statement changed) are not the pipeline's
    extra = [Finding(code=r["code"], severity=Severity(r["severity"]), message=r["message"],
                     lead_provider=r["lead_provider"], cohort=r["cohort"],
                     statement=r["statement"], declaration_id=r["declaration_id"],
                     line=r["line"], amount=_money(r["amount"]))
             for r in recorded if r["fingerprint"] not in known]
    findings = tuple(sorted((*result.findings, *extra), key=sort_key))
    by_print = {r["fingerprint"]: r for r in recorded}
    followed: dict[int, FollowUp] = {}
    for f, fp in zip(findings, fingerprints(findings)):
        r = by_print.get(fp)
        if r is None:
            continue
        first = dt.date.fromisoformat(r["first_seen"])
        followed[id(f)] = FollowUp(fp, r["status"], first, max((as_of - first).days, 0),
                                   notes.get(fp))
    now = set(by_print)
    columns = FindingRow._fields
    resolved = tuple(
        Resolved(FindingRow(**{k: r[k] for k in columns if k in r}),
                 dt.date.fromisoformat(r["first_seen"]) if r.get("first_seen") else None,
                 dt.date.fromisoformat(previous_row.as_of), notes.get(r["fingerprint"]))
        for r in previous if previous_row is not None and r["fingerprint"] not in now
        and in_scope(r["lead_provider"], r["cohort"], scope))
    recorded_changes = tuple(
        Change(**{**c, "money_effect": _money(c["money_effect"]),
                  "causes": tuple(c.get("causes") or ())}) for c in changes)
    runs_history = RunHistory(
        run_id=run_id, as_of=as_of, previous_run_id=row.previous_run_id,
        previous_run_at=(dt.date.fromisoformat(previous_row.as_of)
                         if previous_row is not None else None),
        changes=recorded_changes, resolved=resolved, followed=followed, store=path)
    return result._replace(findings=findings, history=runs_history)


def _money(text: Any) -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        return None
