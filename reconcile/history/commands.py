"""``reconcile history list|show|diff|findings|note``: the history on the terminal (and JSON).

Stage: an entry point beside the pipeline (the CLI calls these; they read the store
through :mod:`reconcile.history.api` and print). Each returns the exit status: 0, or
2 through a :class:`~reconcile.errors.ReconcileError` (no store, no such run, a bad
fingerprint). ``--json PATH`` (``-`` for standard output) writes the same data as
JSON instead of the table.

Example::

    $ reconcile history findings --open --older-than 30
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from reconcile.history import api
from reconcile.history.changes import Change, summarise
from reconcile.history.location import store_path
from reconcile.history.store import Store, open_store
from reconcile.money import pounds, to_decimal
from reconcile.outputs import Outputs


def _open(history: Path | None) -> Store:
    path = store_path(history, no_history=False)
    assert path is not None
    return open_store(path, create=False)


def _emit(data: Any, json_out: Path | None, text: str) -> None:
    if json_out is None:
        click.echo(text)
        return
    outputs = Outputs()
    outputs.json(json_out, lambda: data)
    outputs.commit()


def _money(text: str | None) -> str:
    return pounds(to_decimal(text)) if text is not None else "-"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]],
           right: Sequence[int] = (), width: int | None = None,
           shrink: Sequence[int] = ()) -> str:
    """Rows in aligned columns; within ``width`` characters (when given) by cutting the
    ``shrink`` columns' texts short with an ellipsis, the widest first, down to
    :data:`NARROWEST` characters or their header's width (beyond that the lines stay
    wider)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in r]
                                             for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if width is not None:
        excess = sum(widths) + 2 * (len(widths) - 1) - width
        while excess > 0:
            narrowable = [i for i in shrink if widths[i] > max(NARROWEST, len(cells[0][i]))]
            if not narrowable:
                break
            widest = max(narrowable, key=lambda i: widths[i])
            cut = min(excess, widths[widest] - max(NARROWEST, len(cells[0][widest])))
            widths[widest] -= cut
            excess -= cut
    lines = []
    for n, r in enumerate(cells):
        shown = [v if len(v) <= widths[i] else v[:widths[i] - 1] + "…"
                 for i, v in enumerate(r)]
        parts = [v.rjust(widths[i]) if i in right else v.ljust(widths[i])
                 for i, v in enumerate(shown)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


#: the narrowest a column is cut to fit the terminal
NARROWEST = 12


def _terminal_width() -> int | None:
    """The terminal's width when printing to one (or ``$COLUMNS`` when set), else None:
    a table piped into a file keeps its whole texts (``--json`` has every field)."""
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _cohorts(cohorts: Sequence[int]) -> str:
    """``2022–2025`` for consecutive cohorts, else listed: ``2021, 2023``."""
    years = sorted(set(cohorts))
    if len(years) > 2 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}\u2013{years[-1]}"
    return ", ".join(map(str, years))


def _providers(names: Sequence[str]) -> str:
    """Two lead providers by name; more (a national run) counted."""
    return "; ".join(names) if len(names) <= 2 else f"{len(names)} lead providers"


# --------------------------------------------------------------------------- list


def command_list(history: Path | None, limit: int | None, json_out: Path | None) -> int:
    with _open(history) as store:
        runs = api.list_runs(store, limit)
        data = {"store": str(store.path), "runs": [api.run_row_json(r) for r in runs]}
        rows = [(r.run_id, r.as_of, r.command, ", ".join(Path(p).name for p in r.inputs),
                 _providers(r.providers), _cohorts(r.cohorts),
                 f"{r.declarations:,}", _money(_s(r.expected_total)), _money(_s(r.dfe_total)),
                 f"{r.errors}/{r.warnings}/{r.infos}", r.changes) for r in runs]
        text = (f"history: {store.path}: no runs recorded yet" if not runs else
                f"history: {store.path} ({len(runs)} run(s), newest first)\n" + _table(
                    ("run", "date", "command", "inputs", "lead providers", "cohorts",
                     "declarations", "expected", "DfE", "findings e/w/i", "changes"),
                    rows, right=(0, 6, 7, 8, 10), width=_terminal_width(), shrink=(3, 4)))
    _emit(data, json_out, text)
    return 0


def _s(value: Any) -> str | None:
    return str(value) if value is not None else None


# --------------------------------------------------------------------------- show


def command_show(history: Path | None, run: str, json_out: Path | None,
                 show_all: bool) -> int:
    with _open(history) as store:
        run_id = api.resolve_run(store, run)
        data = api.run_details(store, run_id)
    lines = [f"run {data['run_id']} of {data['date']} ({data['command']}, reconcile "
             f"{data['tool_version']}, recorded {data['recorded_at']})",
             f"  previous run: {data['previous_run_id'] or 'none'}",
             f"  declarations: {data['declarations']:,}",
             f"  rules: {data['rules_hash'][:12]}", "", "inputs:"]
    lines += [f"  {i['role']:15} {i['path']}  sha256 {i['sha256'][:16]}  {i['size']:,} bytes"
              for i in data["inputs"]] or ["  none recorded"]
    lines += ["", "contracts:"]
    lines += [f"  {c['lead_provider']} / {c['cohort']}: "
              f"{(c['contract_hash'] or 'no contract')[:12]}" for c in data["contracts"]]
    lines += ["", _table(("lead provider", "cohort", "statement", "paid", "expected", "DfE"),
                         [(s["lead_provider"], s["cohort"], s["name"],
                           {True: "yes", False: "no", None: "-"}[s["paid"]],
                           _money(s["expected_total"]), _money(s["dfe_total"]))
                          for s in data["statements"]], right=(4, 5))]
    findings = data["findings_list"]
    by_status: dict[str, int] = {}
    for f in findings:
        by_status[f["status"]] = by_status.get(f["status"], 0) + 1
    lines += ["", f"findings: {len(findings):,} (" + ", ".join(
        f"{n} {s}" for s, n in sorted(by_status.items())) + ")"]
    changes = data["changes_list"]
    lines += ["", f"changes since the previous run: {len(changes):,}"]
    lines += _change_lines(changes, show_all)
    _emit(data, json_out, "\n".join(lines))
    return 0


def _change_lines(changes: Sequence[dict[str, Any]], show_all: bool, limit: int = 50
                  ) -> list[str]:
    shown = changes if show_all else changes[:limit]
    lines = []
    for c in shown:
        where = " / ".join(str(x) for x in (c["lead_provider"], c["cohort"], c["statement"])
                           if x is not None)
        subject = f" {c['declaration_id']}" if c["declaration_id"] else ""
        field = f" {c['field']}" if c["field"] else ""
        money = f" ({_money(c['money_effect'])})" if c["money_effect"] is not None else ""
        cause = f" [cause: {c['cause']}]" if c.get("cause") else ""
        paid = " PAID" if c["paid_statement"] else ""
        lines.append(f"  {c['severity']:7} {c['kind']:26} {where}{paid}{subject}{field}: "
                     f"{c['before'] or '-'} -> {c['after'] or '-'}{money}{cause}")
    if len(changes) > len(shown):
        lines.append(f"  ... and {len(changes) - len(shown):,} more (--all, or --json)")
    return lines


# --------------------------------------------------------------------------- diff


def command_diff(history: Path | None, run_a: str, run_b: str, json_out: Path | None,
                 show_all: bool) -> int:
    with _open(history) as store:
        a, b = api.resolve_run(store, run_a), api.resolve_run(store, run_b)
        changes: tuple[Change, ...] = api.diff_runs(store, a, b)
    listed = [c.as_json() for c in changes]
    data = {"from_run": a, "to_run": b, "changes": listed}
    counts = summarise(changes)
    head = (f"from run {a} to run {b}: " + (", ".join(
        f"{n:,} {k.replace('_', ' ')}" for k, n in counts.items()) or "no changes"))
    _emit(data, json_out, "\n".join([head, *_change_lines(listed, show_all)]))
    return 0


# --------------------------------------------------------------------------- findings


def command_findings(history: Path | None, open_only: bool, older_than: int | None,
                     as_of: dt.date | None, json_out: Path | None) -> int:
    with _open(history) as store:
        followed = api.followed_findings(store, as_of, open_only, older_than)
    bands = api.ageing(followed)
    today = as_of or dt.date.today()
    data = {"as_of": today.isoformat(),
            "ageing": [{"band": b.label, "count": b.findings,
                        "money_at_stake": str(b.money_at_stake)} for b in bands],
            "findings": [f.as_json() for f in followed]}
    lines = [f"open findings by age on {today.isoformat()} (accepted ones are not open):",
             _table(("age", "findings", "money at stake"),
                    [(b.label, b.findings, pounds(b.money_at_stake)) for b in bands],
                    right=(1, 2)), ""]
    lines.append(_table(
        ("fingerprint", "age", "status", "note", "code", "where", "difference"),
        [(f.fingerprint, f.age_days, f.status, f.note.status if f.note else "",
          f.row.code, " / ".join(str(x) for x in (f.row.lead_provider, f.row.cohort,
                                                  f.row.statement,
                                                  f.row.line or f.row.declaration_id)
                                 if x is not None),
          f.row.difference or "") for f in followed], right=(1,))
                 if followed else "no findings followed" + (" are open" if open_only else ""))
    _emit(data, json_out, "\n".join(lines))
    return 0


# --------------------------------------------------------------------------- note


def command_note(history: Path | None, fingerprint: str, status: str, text: str,
                 by: str | None, as_of: dt.date | None) -> int:
    author = by or os.environ.get("RECONCILE_USER") or _user()
    with _open(history) as store:
        row = store.find_fingerprint(fingerprint)
        note = api.add_note(store, row.fingerprint, status, text, author, as_of)
    where = " / ".join(str(x) for x in (row.lead_provider, row.cohort, row.statement)
                       if x is not None)
    click.echo(f"noted on {note.fingerprint} ({row.code}{', ' + where if where else ''}): "
               f"{note.status} by {note.author} on {note.noted_on}")
    if note.status == "accepted":
        click.echo("an accepted finding is still listed, but no longer makes the exit "
                   "status 1")
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
