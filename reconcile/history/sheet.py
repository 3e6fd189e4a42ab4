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

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from reconcile.history.changes import Change, summarise
from reconcile.sheets import (
    AutoFilter,
    ConditionalFormat,
    Date,
    Money,
    Number,
    RowStream,
    Sheet,
    Text,
    wrapped_height,
)

CHANGES = "Changes"
HEADER = ("Severity", "Change", "Lead provider", "Cohort", "Statement", "Paid statement",
          "Declaration", "Field", "Before", "After", "Money effect", "Cause", "Detail")
#: narrow enough to print one landscape page wide at a legible size (202 units, like the
#: Findings sheet's printed 212): long texts wrap, and their rows are given their height
WIDTHS = (9, 18, 16, 7, 13, 10, 20, 14, 16, 16, 12, 9, 42)
#: the resolved findings' table, under the changes' columns of the same kind and width
#: (its message in the wide Detail column); None: a column left empty
RESOLVED_HEADER = ("Fingerprint", "Code", "Lead provider", "Cohort", "Statement", None,
                   "Declaration or line", "First seen", "Last seen", "Note", None, None,
                   "Message")
#: rows of the sheet above the table of changes
TOP = 4
#: a sheet holds 1,048,576 rows; beyond this many changes the rest are in the JSON
ROW_LIMIT = 1_000_000
#: rows given the height of their wrapped text (beyond, one line each: no one prints more,
#: and a height per row of a million-row sheet would cost memory for nothing)
HEIGHTS_LIMIT = 50_000

if TYPE_CHECKING:
    from reconcile.history.follow import Resolved, RunHistory


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
        for c in changes:  # wrapped and top-aligned: a row is as tall as its longest text
            yield (Text(c.severity, "text_top"), _wrap(c.kind), _wrap(c.lead_provider),
                   Number(c.cohort, "year_top") if c.cohort is not None else None,
                   _wrap(c.statement), Text("yes" if c.paid_statement else "no", "text_top"),
                   _wrap(c.declaration_id), _wrap(c.field), _wrap(c.before), _wrap(c.after),
                   Money(c.money_effect, "money_top") if c.money_effect is not None else None,
                   _wrap(c.cause), _wrap(c.detail))
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
        yield tuple(Text(h or "", "header") for h in RESOLVED_HEADER)
        for r in resolved:
            f = r.finding
            yield (_wrap(f.fingerprint), _wrap(f.code), _wrap(f.lead_provider),
                   Number(f.cohort, "year_top") if f.cohort is not None else None,
                   _wrap(f.statement), None, _wrap(f.line or f.declaration_id),
                   Date(r.first_seen, "date_top") if r.first_seen else None,
                   Date(r.last_seen, "date_top"), _wrap(_note_text(r.note)), None, None,
                   _wrap(f.message))

    count = TOP + len(changes) + (1 if hidden else 0) + 2 + (len(resolved) + 1 if resolved
                                                              else 1)
    last = TOP + max(len(changes), 1) - 1
    cfs = (ConditionalFormat(TOP, 0, last, 0, "cell", "==", "cf_bad", '"error"'),
           ConditionalFormat(TOP, 0, last, 0, "cell", "==", "cf_warn", '"warning"'))
    return Sheet(CHANGES, RowStream(produce, count), widths=WIDTHS, freeze=(TOP, 0),
                 autofilter=AutoFilter(TOP - 1, 0, len(HEADER) - 1, TOP + len(changes) - 1
                                       if changes else TOP),
                 conditional_formats=cfs, tab_color="#7030A0", landscape=True,
                 fit_to_width=True, heights=_heights(changes, resolved, hidden),
                 repeat_rows=(TOP - 1, TOP - 1))


def _heights(changes: Sequence[Change], resolved: Sequence[Resolved],
             hidden: int) -> tuple[tuple[int, float], ...]:
    """The heights of the rows whose wrapped text needs more than one line."""
    heights = [(TOP - 1, _header_height(HEADER))]
    for r, c in enumerate(changes[:HEIGHTS_LIMIT], start=TOP):
        height = wrapped_height(zip((c.kind, c.lead_provider, c.statement, c.declaration_id,
                                     c.field, _str(c.before), _str(c.after), c.cause,
                                     c.detail), _WRAPPED))
        if height is not None:
            heights.append((r, height))
    # below the changes: the hidden note (if any), a blank row, the subtitle, the header
    first = TOP + len(changes) + (1 if hidden else 0) + 3
    if resolved and len(changes) < HEIGHTS_LIMIT:
        heights.append((first - 1, _header_height(RESOLVED_HEADER)))
        for r, item in enumerate(resolved[:HEIGHTS_LIMIT], start=first):
            f = item.finding
            height = wrapped_height(zip((f.fingerprint, f.code, f.lead_provider, f.statement,
                                         f.line or f.declaration_id, _str(_note_text(item.note)),
                                         f.message),
                                        (WIDTHS[0], WIDTHS[1], WIDTHS[2], WIDTHS[4],
                                         WIDTHS[6], WIDTHS[9], WIDTHS[12])))
            if height is not None:
                heights.append((r, height))
    return tuple(heights)


#: the widths of the wrapped columns of a change, in the order _heights gives their texts
_WRAPPED = (WIDTHS[1], WIDTHS[2], WIDTHS[4], WIDTHS[6], WIDTHS[7], WIDTHS[8], WIDTHS[9],
            WIDTHS[11], WIDTHS[12])


def _header_height(header: Sequence[str | None]) -> float:
    """A header row's height: its titles wrap in their columns (at least one line)."""
    return wrapped_height(zip(header, WIDTHS)) or 15.0


def _str(value: object) -> str | None:
    return str(value) if value is not None else None


def _wrap(value: object) -> Text | None:
    return Text(str(value), "wrap_top") if value is not None and value != "" else None


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
