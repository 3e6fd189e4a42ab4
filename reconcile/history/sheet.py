"""The Changes sheet: what changed since the previous run, and the findings resolved (pure).

Stage: report (the workbook builder puts it right after Summary when the run has a
history). In: the run's :class:`~reconcile.history.follow.RunHistory`. Out: a
:class:`~reconcile.sheets.Sheet` value:

* a title naming this run and the previous one (their numbers and dates), and one
  line counting the changes by kind;
* one row per change, most serious first: severity, kind, provider, cohort,
  statement, whether it was paid, declaration, field, before, after, money effect,
  cause and detail; filters on the header, changes to paid statements highlighted;
* **Resolved since last run**: the previous run's findings this run no longer has.

Also the history columns of the Findings sheet (:data:`FINDING_COLUMNS`,
:func:`finding_cells`): fingerprint, status, first seen, age and the latest note.

Example::

    sheet = changes_sheet(result.history)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from reconcile.history.changes import summarise
from reconcile.sheets import (
    AutoFilter,
    ConditionalFormat,
    Date,
    Money,
    Number,
    RowStream,
    Sheet,
    Text,
)

CHANGES = "Changes"
HEADER = ("Severity", "Change", "Lead provider", "Cohort", "Statement", "Paid statement",
          "Declaration", "Field", "Before", "After", "Money effect", "Cause", "Detail")
WIDTHS = (9, 26, 26, 8, 16, 9, 38, 28, 22, 30, 14, 10, 60)
RESOLVED_HEADER = ("Fingerprint", "Code", "Lead provider", "Cohort", "Statement",
                   "Declaration or line", "Message", "First seen", "Last seen", "Note")
#: rows of the sheet above the table of changes
TOP = 4
#: a sheet holds 1,048,576 rows; beyond this many changes the rest are in the JSON
ROW_LIMIT = 1_000_000

if TYPE_CHECKING:
    from reconcile.history.follow import RunHistory


def _title(history: RunHistory) -> str:
    if history.previous_run_id is None:
        return (f"Changes: run {history.run_id} of {history.as_of.isoformat()} is the first "
                f"recorded run of these lead providers and cohorts, so nothing to compare")
    return (f"Changes since run {history.previous_run_id} of "
            f"{history.previous_run_at.isoformat() if history.previous_run_at else '?'} "
            f"(this is run {history.run_id} of {history.as_of.isoformat()})")


def _counts(history: RunHistory) -> str:
    counts = summarise(history.changes)
    words = ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in counts.items())
    resolved = f"; {len(history.resolved):,} finding(s) resolved" if history.resolved else ""
    return (words or "no changes") + resolved + f". History: {history.store}"


def changes_sheet(history: RunHistory) -> Sheet:
    """The Changes sheet of a run (see the module docstring)."""
    changes = history.changes[:ROW_LIMIT]
    hidden = len(history.changes) - len(changes)
    resolved = history.resolved

    def produce() -> Iterator[tuple[Any, ...]]:
        yield (Text(_title(history), "title"),)
        yield (Text(_counts(history), "note"),)
        yield (Text("Paid statements that changed are red; every change is also in the "
                    "JSON result and in: reconcile history show "
                    f"{history.run_id}", "note"),)
        yield tuple(Text(h, "header") for h in HEADER)
        for c in changes:
            yield (Text(c.severity), Text(c.kind), _text(c.lead_provider),
                   Number(c.cohort, "text") if c.cohort is not None else None,
                   _text(c.statement), Text("yes" if c.paid_statement else "no"),
                   _text(c.declaration_id), _text(c.field), _text(c.before), _text(c.after),
                   Money(c.money_effect) if c.money_effect is not None else None,
                   _text(c.cause), _text(c.detail))
        if hidden:
            yield (Text(f"... and {hidden:,} more changes (a sheet holds about a million rows)"
                        f": see the JSON result or reconcile history show {history.run_id}",
                        "note"),)
        yield ()
        yield (Text("Resolved since last run", "subtitle"),)
        if not resolved:
            yield (Text("none" if history.previous_run_id is not None
                        else "no previous run", "note"),)
            return
        yield tuple(Text(h, "header") for h in RESOLVED_HEADER)
        for r in resolved:
            f = r.finding
            yield (Text(f.fingerprint), Text(f.code), _text(f.lead_provider),
                   Number(f.cohort, "text") if f.cohort is not None else None,
                   _text(f.statement), _text(f.line or f.declaration_id), Text(f.message),
                   Date(r.first_seen) if r.first_seen else None, Date(r.last_seen),
                   _text(_note_text(r.note)))

    count = TOP + len(changes) + (1 if hidden else 0) + 2 + (len(resolved) + 1 if resolved
                                                              else 1)
    last = TOP + max(len(changes), 1) - 1
    cfs = (ConditionalFormat(TOP, 0, last, 0, "cell", "==", "cf_bad", '"error"'),
           ConditionalFormat(TOP, 0, last, 0, "cell", "==", "cf_warn", '"warning"'))
    return Sheet(CHANGES, RowStream(produce, count), widths=WIDTHS, freeze=(TOP, 0),
                 autofilter=AutoFilter(TOP - 1, 0, len(HEADER) - 1, TOP + len(changes) - 1
                                       if changes else TOP),
                 conditional_formats=cfs, tab_color="#7030A0", landscape=True,
                 fit_to_width=True)


def _text(value: object) -> Text | None:
    return Text(str(value)) if value is not None and value != "" else None


def _note_text(note: Any) -> str | None:
    if note is None:
        return None
    return f"{note.status}: {note.text} ({note.author}, {note.noted_on})"


# --------------------------------------------------------------------------- Findings columns

FINDING_COLUMNS = ("Fingerprint", "Status", "First seen", "Age (days)", "Note")
FINDING_WIDTHS = (18, 9, 11, 8, 50)


def finding_cells(history: RunHistory | None, finding: Any) -> tuple[Any, ...]:
    """The history columns of one Findings row (empty without history)."""
    up = history.follow_up(finding) if history is not None else None
    if up is None:
        return (None,) * len(FINDING_COLUMNS)
    return (Text(up.fingerprint), Text(up.status), Date(up.first_seen),
            Number(up.age_days), _text(_note_text(up.note)))
