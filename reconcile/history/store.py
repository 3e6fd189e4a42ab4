"""The history store: one SQLite file that remembers every run (standard library ``sqlite3``).

Stage: history (the only module that opens the store). In: a path; snapshots,
changes and followed findings to record. Out: recorded runs read back as
:class:`~reconcile.history.snapshot.Snapshot` values and plain rows.

Safety, because the store is the one output that outlives a run:

* **WAL mode, synchronous FULL.** A reader never blocks the writer; a committed run
  survives a crash; a run killed mid-write leaves only uncommitted frames in the
  ``-wal`` file, which SQLite discards when the store is next opened.
* **Append-only.** A run is inserted in one transaction (:meth:`Store.recording`),
  never updated; notes are appended, never edited. Run numbers come from
  :meth:`Store.reserve_run_id` (committed at once, so two runs at the same time get
  different numbers; a number whose run failed is simply never used).
* **Two writers.** Each waits for the other's transaction (busy timeout
  :data:`BUSY_TIMEOUT` seconds); both runs land.
* **Versioned schema.** ``PRAGMA user_version`` is the schema version;
  ``PRAGMA application_id`` marks the file as a reconcile history. An older store is
  copied to ``NAME.v<N>-backup`` (SQLite's online backup) and then migrated in place
  in one transaction (:data:`MIGRATIONS`). A store made by a newer reconcile is
  refused, not touched.
* **Never overwritten.** A file that is not SQLite, a corrupt store, or another
  application's database at the path is a :class:`HistoryError` (exit 2) and the
  file is left exactly as it was.

Example::

    store = open_store(Path("history.sqlite3"))
    run_id = store.reserve_run_id()
    with store.recording(run_id, snapshot, changes, followed):
        publish_outputs()           # the run is committed only if this succeeds
    store.close()
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from reconcile.errors import Problem, ReconcileError
from reconcile.history.snapshot import (
    DECLARATION_FIELDS,
    FindingRow,
    InputRow,
    LineRow,
    RuleFileRow,
    Scope,
    Snapshot,
    PackedDeclarations,
    StatementRow,
    packed_size,
)
from reconcile.model import Source
from reconcile.money import show

#: "RCNH": marks a SQLite file as a reconcile history store
APPLICATION_ID = 0x52434E48
#: seconds a run waits for another run's write to finish
BUSY_TIMEOUT = 600.0
SQLITE_HEADER = b"SQLite format 3\x00"


class HistoryError(ReconcileError):
    """The history store cannot be used (not a store, corrupt, newer, unwritable)."""

    kind = "history error"


#: The schema, one step per version: ``MIGRATIONS[n - 1]`` takes a store from version
#: ``n - 1`` to ``n``. Never edit a step that has been released; add one.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("runs, inputs, rules and contracts, statements, declarations, findings, changes", """
CREATE TABLE run_numbers (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    reserved_at TEXT NOT NULL
);
CREATE TABLE runs (
    run_id INTEGER PRIMARY KEY,
    as_of TEXT NOT NULL,              -- the run's date (--as-of, else the day it ran)
    recorded_at TEXT NOT NULL,        -- UTC, when it was recorded
    command TEXT NOT NULL,            -- run, expected or split
    tool_version TEXT NOT NULL,
    rules_hash TEXT NOT NULL,         -- SHA-256 over the rule files (contracts apart)
    options TEXT NOT NULL,            -- JSON
    declarations INTEGER NOT NULL,
    expected_total TEXT,
    dfe_total TEXT,
    errors INTEGER NOT NULL,
    warnings INTEGER NOT NULL,
    infos INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    previous_run_id INTEGER,
    paid_statements TEXT NOT NULL     -- JSON [[provider, cohort, statement], ...] DfE has
                                      -- paid declarations on (by their state)
);
CREATE INDEX runs_by_date ON runs (as_of, run_id);
CREATE TABLE run_scopes (
    run_id INTEGER NOT NULL,
    lead_provider TEXT NOT NULL,
    cohort INTEGER NOT NULL,
    contract_hash TEXT,
    contract TEXT,                    -- the contract's terms, JSON
    PRIMARY KEY (run_id, lead_provider, cohort)
) WITHOUT ROWID;
CREATE INDEX run_scopes_by_scope ON run_scopes (lead_provider, cohort, run_id);
CREATE TABLE inputs (
    run_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX inputs_by_run ON inputs (run_id);
CREATE TABLE rule_files (
    run_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,               -- rules or contract
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE TABLE statements (
    run_id INTEGER NOT NULL,
    side TEXT NOT NULL,               -- expected or dfe
    lead_provider TEXT NOT NULL,
    cohort INTEGER NOT NULL,
    name TEXT NOT NULL,
    statement_id TEXT,
    cut_off_date TEXT,
    payment_date TEXT,
    output_fee INTEGER NOT NULL,
    paid INTEGER NOT NULL,
    net TEXT,
    vat TEXT,
    total TEXT,
    PRIMARY KEY (run_id, side, lead_provider, cohort, name)
) WITHOUT ROWID;
CREATE TABLE statement_lines (
    run_id INTEGER NOT NULL,
    side TEXT NOT NULL,
    lead_provider TEXT NOT NULL,
    cohort INTEGER NOT NULL,
    statement TEXT NOT NULL,
    line TEXT NOT NULL,
    count INTEGER,
    fee TEXT,
    amount TEXT NOT NULL,
    PRIMARY KEY (run_id, side, lead_provider, cohort, statement, line)
) WITHOUT ROWID;
-- every declaration of a (lead provider, cohort): zlib-compressed UTF-8 text, one line
-- per declaration, its fields (named in "columns", reconcile.history.snapshot
-- DECLARATION_FIELDS) separated by the character 0x1F, a missing value empty; one row
-- per set keeps a 100,000-declaration run fast to record and to compare, and small
CREATE TABLE declaration_sets (
    run_id INTEGER NOT NULL,
    lead_provider TEXT NOT NULL,
    cohort INTEGER NOT NULL,
    declarations INTEGER NOT NULL,
    columns TEXT NOT NULL,            -- JSON list of the field names
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, lead_provider, cohort)
) WITHOUT ROWID;
CREATE TABLE findings (
    run_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    lead_provider TEXT,
    cohort INTEGER,
    statement TEXT,
    declaration_id TEXT,
    line TEXT,
    expected TEXT,
    actual TEXT,
    difference TEXT,
    message TEXT NOT NULL,
    amount TEXT,                      -- the money difference (when it is money)
    status TEXT NOT NULL,             -- new, open or reopened
    first_seen TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX findings_by_fingerprint ON findings (fingerprint, run_id);
CREATE TABLE changes (
    run_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    lead_provider TEXT,
    cohort INTEGER,
    statement TEXT,
    declaration_id TEXT,
    field TEXT,
    before TEXT,
    after TEXT,
    money_effect TEXT,
    paid_statement INTEGER NOT NULL,
    cause TEXT,
    severity TEXT NOT NULL,
    causes TEXT,
    detail TEXT,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
"""),
    ("notes on findings (appended, never edited); runs and notes made append-only", """
CREATE TABLE notes (
    note_id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,             -- disputed, acknowledged or accepted
    text TEXT NOT NULL,
    author TEXT NOT NULL,
    recorded_at TEXT NOT NULL,        -- UTC
    noted_on TEXT NOT NULL            -- the date it counts from (--as-of, else today)
);
CREATE INDEX notes_by_fingerprint ON notes (fingerprint, note_id);
CREATE TRIGGER notes_never_edited BEFORE UPDATE ON notes
    BEGIN SELECT RAISE(ABORT, 'notes are appended, never edited'); END;
CREATE TRIGGER notes_never_deleted BEFORE DELETE ON notes
    BEGIN SELECT RAISE(ABORT, 'notes are appended, never deleted'); END;
CREATE TRIGGER runs_never_edited BEFORE UPDATE ON runs
    BEGIN SELECT RAISE(ABORT, 'recorded runs are never edited'); END;
"""),
    ("each finding's money at stake (its statement line's difference)", """
ALTER TABLE findings ADD COLUMN at_stake TEXT;  -- DfE's line minus ours, else amount
"""),
)

SCHEMA_VERSION = len(MIGRATIONS)
#: the findings table's columns of a FindingRow, in its order
FINDING_COLUMNS = ("fingerprint, code, severity, lead_provider, cohort, statement, "
                   "declaration_id, line, expected, actual, difference, message, amount, "
                   "at_stake")


class RunRow(NamedTuple):
    """One recorded run, as ``history list`` shows it."""

    run_id: int
    as_of: str
    recorded_at: str
    command: str
    tool_version: str
    declarations: int
    expected_total: Decimal | None
    dfe_total: Decimal | None
    errors: int
    warnings: int
    infos: int
    changes: int
    previous_run_id: int | None
    providers: tuple[str, ...]
    cohorts: tuple[int, ...]
    inputs: tuple[str, ...]


class NoteRow(NamedTuple):
    """A note on a finding: what someone said about it, and the status they gave it."""

    note_id: int
    fingerprint: str
    status: str  # disputed, acknowledged or accepted
    text: str
    author: str
    recorded_at: str  # UTC
    noted_on: str  # the date it counts from

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "text": self.text, "by": self.author,
                "at": self.recorded_at, "noted_on": self.noted_on}


#: SQLite's words for a fault of the machine, not of the store (SQLITE_FULL,
#: SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR): what it means and how to fix it
_MACHINE_FAULTS = (
    ("database or disk is full", "the disk of {folder} is full; the store is as it was "
     "before this run", "free some space on that disk, or give --history a path on "
     "another disk; or use --no-history"),
    ("readonly database", "the history store or its folder {folder} cannot be written "
     "(read-only)", "make it writable, or give --history a path you can write; or use "
     "--no-history"),
    ("unable to open database file", "the history store cannot be opened or made in "
     "{folder}", "check that you can write in that folder, or give --history another "
     "path; or use --no-history"),
    ("disk i/o error", "the disk of {folder} failed to read or write; the store is as "
     "it was before this run", "check the disk (full, removed, a network share that "
     "dropped), or give --history a path on another disk; or use --no-history"),
)


def _machine_fault(path: Path, error: sqlite3.Error) -> tuple[str, str] | None:
    """(what, fix) when ``error`` is the machine's fault (exit 2, the folder named)."""
    text = str(error).lower()
    for words, what, fix in _MACHINE_FAULTS:
        if words in text:
            return what.format(folder=path.resolve().parent), fix
    return None


def _problem(path: Path, what: str, fix: str) -> HistoryError:
    return HistoryError([Problem(Source(str(path)), what, fix)])


def _dec(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


class Store:
    """An open history store. Use :func:`open_store`."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # ----------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, error: sqlite3.Error, doing: str) -> HistoryError:
        if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
            return _problem(self.path, f"{doing}: the history store stayed busy for "
                            f"{BUSY_TIMEOUT:.0f}s ({error})",
                            "another reconcile is writing to it; try again when it is done")
        fault = _machine_fault(self.path, error)
        if fault is not None:
            what, fix = fault
            return _problem(self.path, f"{doing}: {what}", fix)
        return _problem(self.path, f"{doing}: {error}",
                        "the history store may be damaged: move it aside (a new one is "
                        "made) or give another path with --history; or use --no-history")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as error:
            raise self._fail(error, "cannot read the history") from None

    # ----------------------------------------------------------------- writing

    def reserve_run_id(self) -> int:
        """A new run number, committed at once (a failed run leaves a gap, never a run)."""
        try:
            with self._transaction():
                cursor = self._db.execute("INSERT INTO run_numbers (reserved_at) VALUES (?)",
                                          (_now(),))
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as error:
            raise self._fail(error, "cannot record the run") from None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @contextmanager
    def recording(self, run_id: int, snapshot: Snapshot, changes: Sequence[Any] = (),
                  statuses: Sequence[tuple[str, str]] = (),
                  previous_run_id: int | None = None) -> Iterator[None]:
        """Insert the run, run the ``with`` body (publish the outputs), then commit.

        An exception in the body (an output that could not be written), an interrupt
        or a kill rolls the whole run back: the store has it completely or not at all.
        ``statuses`` are each finding's (status, first_seen), in the snapshot's order.
        """
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise self._fail(error, "cannot record the run") from None
        try:
            try:
                self._insert(run_id, snapshot, changes, statuses, previous_run_id)
            except sqlite3.Error as error:
                raise self._fail(error, "cannot record the run") from None
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            raise self._fail(error, "the outputs were written but the run could not be "
                                    "recorded") from None

    def _insert(self, run_id: int, snap: Snapshot, changes: Sequence[Any],
                statuses: Sequence[tuple[str, str]], previous_run_id: int | None) -> None:
        db = self._db
        expected = [s.total for s in snap.statements if s.side == "expected"
                    and s.total is not None]
        dfe = [s.total for s in snap.statements if s.side == "dfe" and s.total is not None]
        severities = [f.severity for f in snap.findings]
        db.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, snap.as_of.isoformat(), _now(), snap.command, snap.tool_version,
             snap.rules_hash, json.dumps(snap.options, sort_keys=True),
             snap.declaration_count, _text(sum(expected, Decimal(0))) if expected else None,
             _text(sum(dfe, Decimal(0))) if dfe else None, severities.count("error"),
             severities.count("warning"), severities.count("info"), len(changes),
             previous_run_id, json.dumps(sorted(snap.paid_statements))))
        db.executemany("INSERT INTO run_scopes VALUES (?,?,?,?,?)", [
            (run_id, s.lead_provider, s.cohort, s.contract_hash,
             json.dumps(s.contract, sort_keys=True) if s.contract is not None else None)
            for s in snap.scopes])
        db.executemany("INSERT INTO inputs VALUES (?,?,?,?,?)",
                       [(run_id, *row) for row in snap.inputs])
        db.executemany("INSERT INTO rule_files VALUES (?,?,?,?)",
                       [(run_id, *row) for row in snap.rule_files])
        db.executemany("INSERT INTO statements VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (run_id, s.side, s.lead_provider, s.cohort, s.name, s.statement_id, s.cut_off_date,
             s.payment_date, int(s.output_fee), int(s.paid), _text(s.net), _text(s.vat),
             _text(s.total)) for s in snap.statements])
        db.executemany("INSERT OR REPLACE INTO statement_lines VALUES (?,?,?,?,?,?,?,?,?)", [
            (run_id, ln.side, ln.lead_provider, ln.cohort, ln.statement, ln.line, ln.declarations,
             _text(ln.fee), str(ln.amount)) for ln in snap.lines])
        columns = json.dumps(list(DECLARATION_FIELDS))
        db.executemany("INSERT INTO declaration_sets VALUES (?,?,?,?,?,?)", [
            (run_id, d.lead_provider, d.cohort, d.size, columns, d.data)
            for d in snap.declarations])
        status_of = list(statuses) or [("new", snap.as_of.isoformat())] * len(snap.findings)
        db.executemany(f"INSERT INTO findings ({FINDING_COLUMNS}, status, first_seen, run_id, "
                       "seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [
                           (*f, *status_of[n], run_id, n) for n, f in enumerate(snap.findings)])
        db.executemany("INSERT INTO changes VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (run_id, n, c.kind, c.lead_provider, c.cohort, c.statement, c.declaration_id,
             c.field, c.before, c.after,
             show(c.money_effect) if c.money_effect is not None else None,
             int(c.paid_statement), c.cause,
             c.severity, json.dumps(list(c.causes)) if c.causes else None, c.detail)
            for n, c in enumerate(changes)])

    # ----------------------------------------------------------------- reading runs

    def previous_run(self, scope: Iterable[tuple[str, int]], as_of: dt.date,
                     before_run: int | None = None) -> tuple[int, str] | None:
        """The newest run, dated on or before ``as_of``, sharing a (provider, cohort)
        with ``scope``: (run id, its date)."""
        pairs = sorted(scope)
        if not pairs:
            return None
        where = " OR ".join(["(s.lead_provider = ? AND s.cohort = ?)"] * len(pairs))
        params: list[Any] = [v for pair in pairs for v in pair]
        sql = (f"SELECT r.run_id, r.as_of FROM runs r JOIN run_scopes s USING (run_id) "
               f"WHERE ({where}) AND r.as_of <= ?")
        params.append(as_of.isoformat())
        if before_run is not None:
            sql += " AND r.run_id < ?"
            params.append(before_run)
        rows = self._query(sql + " ORDER BY r.as_of DESC, r.run_id DESC LIMIT 1", params)
        return (rows[0][0], rows[0][1]) if rows else None

    def run_ids(self) -> list[int]:
        return [r[0] for r in self._query("SELECT run_id FROM runs ORDER BY run_id")]

    def runs(self, limit: int | None = None) -> list[RunRow]:
        """Recorded runs, newest first (by date, then number)."""
        sql = ("SELECT run_id, as_of, recorded_at, command, tool_version, declarations, "
               "expected_total, dfe_total, errors, warnings, infos, changes, previous_run_id "
               "FROM runs ORDER BY as_of DESC, run_id DESC")
        rows = self._query(sql + (f" LIMIT {int(limit)}" if limit else ""))
        if not rows:
            return []
        scopes: dict[int, list[tuple[str, int]]] = {}
        for run_id, provider, cohort in self._query(
                "SELECT run_id, lead_provider, cohort FROM run_scopes ORDER BY 1, 2, 3"):
            scopes.setdefault(run_id, []).append((provider, cohort))
        inputs: dict[int, list[str]] = {}
        for run_id, path in self._query("SELECT run_id, path FROM inputs ORDER BY rowid"):
            inputs.setdefault(run_id, []).append(path)
        out = []
        for r in rows:
            pairs = scopes.get(r[0], [])
            out.append(RunRow(r[0], r[1], r[2], r[3], r[4], r[5], _dec(r[6]), _dec(r[7]),
                              r[8], r[9], r[10], r[11], r[12],
                              tuple(sorted({p for p, _ in pairs})),
                              tuple(sorted({c for _, c in pairs})),
                              tuple(inputs.get(r[0], ()))))
        return out

    def run(self, run_id: int) -> RunRow | None:
        return next((r for r in self.runs() if r.run_id == run_id), None)

    def snapshot(self, run_id: int, scope: Iterable[tuple[str, int]] | None = None) -> Snapshot:
        """A recorded run read back, restricted to ``scope`` (provider, cohort) pairs."""
        run = self._query("SELECT as_of, command, tool_version, rules_hash, options, "
                          "paid_statements FROM runs WHERE run_id = ?", (run_id,))
        if not run:
            raise _problem(self.path, f"there is no run {run_id} in the history",
                           "see the recorded runs with: reconcile history list")
        as_of, command, version, rules_hash, options, paid = run[0]
        keep = frozenset(scope) if scope is not None else None

        def inside(provider: str, cohort: int) -> bool:
            return keep is None or (provider, cohort) in keep

        scopes = tuple(Scope(p, c, h, json.loads(t) if t is not None else None)
                       for p, c, h, t in self._query(
                           "SELECT lead_provider, cohort, contract_hash, contract FROM run_scopes"
                           " WHERE run_id = ? ORDER BY 1, 2", (run_id,)) if inside(p, c))
        inputs = tuple(InputRow(*r) for r in self._query(
            "SELECT role, path, sha256, size FROM inputs WHERE run_id = ? ORDER BY rowid",
            (run_id,)))
        rule_files = tuple(RuleFileRow(*r) for r in self._query(
            "SELECT name, sha256, kind FROM rule_files WHERE run_id = ? ORDER BY name",
            (run_id,)))
        statements = tuple(
            StatementRow(side, p, c, name, sid, cut, pay, bool(fee), bool(paid), _dec(net),
                         _dec(vat), _dec(total))
            for side, p, c, name, sid, cut, pay, fee, paid, net, vat, total in self._query(
                "SELECT side, lead_provider, cohort, name, statement_id, cut_off_date, "
                "payment_date, output_fee, paid, net, vat, total FROM statements "
                "WHERE run_id = ?", (run_id,)) if inside(p, c))
        lines = tuple(
            LineRow(side, p, c, s, line, count, _dec(fee), Decimal(amount))
            for side, p, c, s, line, count, fee, amount in self._query(
                "SELECT side, lead_provider, cohort, statement, line, count, fee, amount "
                "FROM statement_lines WHERE run_id = ?", (run_id,)) if inside(p, c))
        declarations = self._declarations(run_id, inside if keep is not None else None)
        findings = tuple(FindingRow(*r) for r in self._query(
            f"SELECT {FINDING_COLUMNS} FROM findings WHERE run_id = ? ORDER BY seq",
            (run_id,)))
        if keep is not None:
            findings = tuple(f for f in findings if in_scope(f.lead_provider, f.cohort, keep))
        return Snapshot(dt.date.fromisoformat(as_of), command, version, rules_hash,
                        json.loads(options), scopes, inputs, rule_files, statements, lines,
                        declarations, findings,
                        frozenset((p, c, n) for p, c, n in json.loads(paid) if inside(p, c)))

    def _declarations(self, run_id: int, inside: Any) -> tuple[PackedDeclarations, ...]:
        """A run's declaration sets as stored (packed: a national run's lines are hundreds
        of MB; the change computation unpacks one set at a time), each checked whole."""
        sets = []
        for provider, cohort, columns, data in self._query(
                "SELECT lead_provider, cohort, columns, data FROM declaration_sets "
                "WHERE run_id = ? ORDER BY 1, 2", (run_id,)):
            if inside is not None and not inside(provider, cohort):
                continue
            if json.loads(columns) != list(DECLARATION_FIELDS):
                raise _problem(self.path, f"run {run_id}'s declarations are in a layout this "
                                          "reconcile does not read",
                               "upgrade reconcile")
            try:
                size = packed_size(data)
            except (zlib.error, ValueError) as error:
                raise _problem(self.path, f"run {run_id}'s declarations cannot be read: "
                                          f"{error}",
                               "the history store is damaged: move it aside, or use "
                               "--no-history") from None
            sets.append(PackedDeclarations(provider, cohort, size, data))
        return tuple(sets)

    def findings_of(self, run_id: int) -> list[dict[str, Any]]:
        """A run's findings as recorded, with their status and first sighting."""
        rows = self._query(
            f"SELECT {FINDING_COLUMNS}, status, first_seen FROM findings WHERE run_id = ? "
            "ORDER BY seq", (run_id,))
        keys = (*FINDING_COLUMNS.split(", "), "status", "first_seen")
        return [dict(zip(keys, r)) for r in rows]

    def changes_of(self, run_id: int) -> list[dict[str, Any]]:
        """A run's changes since its previous run, as recorded (JSON-shaped rows)."""
        rows = self._query(
            "SELECT kind, lead_provider, cohort, statement, declaration_id, field, before, "
            "after, money_effect, paid_statement, cause, severity, causes, detail "
            "FROM changes WHERE run_id = ? ORDER BY seq", (run_id,))
        out = []
        for r in rows:
            data = {"kind": r[0], "lead_provider": r[1], "cohort": r[2], "statement": r[3],
                    "declaration_id": r[4], "field": r[5], "before": r[6], "after": r[7],
                    "money_effect": r[8], "paid_statement": bool(r[9]), "cause": r[10],
                    "severity": r[11]}
            if r[12]:
                data["causes"] = json.loads(r[12])
            if r[13]:
                data["detail"] = r[13]
            out.append(data)
        return out

    def inputs_of(self, run_id: int) -> list[InputRow]:
        return [InputRow(*r) for r in self._query(
            "SELECT role, path, sha256, size FROM inputs WHERE run_id = ? ORDER BY rowid",
            (run_id,))]

    # ----------------------------------------------------------------- findings across runs

    def sightings(self, fingerprints: Iterable[str], as_of: dt.date,
                  before_run: int | None = None) -> dict[str, str]:
        """For each fingerprint ever recorded (in runs dated on or before ``as_of``), the
        date it was first seen."""
        wanted = list(dict.fromkeys(fingerprints))
        if not wanted:
            return {}
        try:
            db = self._db
            db.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (fingerprint TEXT PRIMARY KEY)")
            db.execute("DELETE FROM wanted")
            db.executemany("INSERT OR IGNORE INTO wanted VALUES (?)", [(f,) for f in wanted])
            sql = ("SELECT f.fingerprint, MIN(f.first_seen) FROM wanted w "
                   "JOIN findings f ON f.fingerprint = w.fingerprint "
                   "JOIN runs r ON r.run_id = f.run_id WHERE r.as_of <= ?")
            params: list[Any] = [as_of.isoformat()]
            if before_run is not None:
                sql += " AND r.run_id < ?"
                params.append(before_run)
            rows = db.execute(sql + " GROUP BY f.fingerprint", params).fetchall()
            db.execute("DELETE FROM wanted")
        except sqlite3.Error as error:
            raise self._fail(error, "cannot read the history") from None
        return dict(rows)

    def first_seen_in(self, run_id: int) -> dict[str, str]:
        return dict(self._query("SELECT fingerprint, first_seen FROM findings WHERE run_id = ?",
                                (run_id,)))

    def snapshot_scopes(self, run_id: int) -> list[tuple[str, int]]:
        return [(p, c) for p, c in self._query(
            "SELECT lead_provider, cohort FROM run_scopes WHERE run_id = ?", (run_id,))]

    def statuses_of(self, run_ids: Iterable[int]) -> dict[tuple[int, str], str]:
        """(run, fingerprint) -> the status the run recorded (new, open, reopened)."""
        ids = sorted(set(run_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {(r, fp): status for r, fp, status in self._query(
            f"SELECT run_id, fingerprint, status FROM findings WHERE run_id IN ({marks})", ids)}

    def last_sightings(self) -> dict[str, tuple[FindingRow, str, int]]:
        """Every fingerprint ever recorded: its latest row, the date it was first seen,
        and the run that last recorded it."""
        out: dict[str, tuple[FindingRow, str, int]] = {}
        rows = self._query(
            "SELECT " + ", ".join(f"f.{c}" for c in FINDING_COLUMNS.split(", "))
            + ", f.first_seen, f.run_id FROM findings f JOIN runs r USING (run_id) "
            "ORDER BY r.as_of, r.run_id, f.seq")
        width = len(FindingRow._fields)
        for r in rows:
            fp = r[0]
            earlier = out.get(fp)
            first = r[width] if earlier is None else min(earlier[1], r[width])
            out[fp] = (FindingRow(*r[:width]), first, r[width + 1])
        return out

    # ----------------------------------------------------------------- notes

    def add_note(self, fingerprint: str, status: str, text: str, author: str,
                 noted_on: dt.date) -> NoteRow:
        """Append a note to a finding (a full fingerprint: see :meth:`find_fingerprint`)."""
        recorded_at = _now()
        try:
            with self._transaction():
                cursor = self._db.execute(
                    "INSERT INTO notes (fingerprint, status, text, author, recorded_at, "
                    "noted_on) VALUES (?,?,?,?,?,?)",
                    (fingerprint, status, text, author, recorded_at, noted_on.isoformat()))
        except sqlite3.Error as error:
            raise self._fail(error, "cannot record the note") from None
        return NoteRow(int(cursor.lastrowid or 0), fingerprint, status, text, author,
                       recorded_at, noted_on.isoformat())

    def notes(self, fingerprints: Iterable[str] | None = None) -> dict[str, list[NoteRow]]:
        """Every note of each fingerprint, oldest first (all fingerprints when None)."""
        rows = self._query("SELECT note_id, fingerprint, status, text, author, recorded_at, "
                           "noted_on FROM notes ORDER BY note_id")
        wanted = set(fingerprints) if fingerprints is not None else None
        out: dict[str, list[NoteRow]] = {}
        for r in rows:
            if wanted is None or r[1] in wanted:
                out.setdefault(r[1], []).append(NoteRow(*r))
        return out

    def latest_notes(self, fingerprints: Iterable[str] | None = None) -> dict[str, NoteRow]:
        return {fp: notes[-1] for fp, notes in self.notes(fingerprints).items()}

    def find_fingerprint(self, given: str) -> FindingRow:
        """The finding a (prefix of a) fingerprint names, as last recorded."""
        text = given.strip().lower()
        if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
            raise _problem(self.path, f"{given!r} is not a finding's fingerprint",
                           "copy it from the Findings sheet, the JSON result or: "
                           "reconcile history findings")
        rows = self._query(
            "SELECT DISTINCT fingerprint FROM findings WHERE fingerprint >= ? AND "
            "fingerprint < ? LIMIT 2", (text, text + "g"))
        if not rows:
            raise _problem(self.path, f"no finding with fingerprint {given} in the history",
                           "see the findings followed with: reconcile history findings")
        if len(rows) > 1:
            raise _problem(self.path, f"{given} is the start of more than one fingerprint",
                           "give more of it")
        found = self._query(
            f"SELECT {FINDING_COLUMNS} FROM findings WHERE fingerprint = ? "
            "ORDER BY run_id DESC LIMIT 1", (rows[0][0],))
        return FindingRow(*found[0])


def in_scope(provider: str | None, cohort: int | None,
             scope: frozenset[tuple[str, int]]) -> bool:
    """A finding belongs to a scope when its provider and cohort (where it has them) do."""
    if provider is None and cohort is None:
        return True
    key = " ".join(provider.split()).casefold() if provider else None
    for p, c in scope:
        if (key is None or " ".join(p.split()).casefold() == key) and (cohort is None
                                                                        or c == cohort):
            return True
    return False


def _text(value: Decimal | None) -> str | None:
    return str(value) if value is not None else None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017


# --------------------------------------------------------------------------- opening


def open_store(path: Path | str, *, create: bool = True) -> Store:
    """Open (or create) the store at ``path``, migrating an older one after a backup.

    Raises :class:`HistoryError` (exit 2) for a path that is a folder, a file that is
    not a reconcile history, a corrupt store, one of a newer reconcile, or a folder
    that does not exist; the file at the path is never changed in those cases.
    """
    path = Path(path)
    if path.is_dir():
        raise _problem(path, "this is a folder, not a history file",
                       "give a file name, e.g. --history history.sqlite3")
    exists = path.exists()
    if not exists and not create:
        raise _problem(path, "there is no history store here",
                       "run reconcile run/expected/split first, or give --history PATH")
    if not exists and not path.parent.exists():
        raise _problem(path, "the folder does not exist",
                       f"create {path.parent} first or choose another --history path")
    if exists:
        _check_header(path)
    try:
        db = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None,
                             check_same_thread=False)
    except sqlite3.Error as error:
        fault = _machine_fault(path, error)
        what, fix = fault or (str(error), "check the path and its permissions, or use "
                                          "--no-history")
        raise _problem(path, f"cannot open the history store: {what}", fix) from None
    store = Store(path, db)
    try:
        _prepare(store, exists)
    except HistoryError:
        db.close()
        _remove_new(path, exists)
        raise
    except sqlite3.Error as error:
        db.close()
        _remove_new(path, exists)
        raise store._fail(error, "cannot open the history store") from None
    return store


def _remove_new(path: Path, existed: bool) -> None:
    """A store this run began to make and could not finish (a full disk) is removed,
    with SQLite's files beside it: nothing is left of a run that stopped."""
    if existed:
        return
    for leftover in (path, *(path.with_name(path.name + end)
                             for end in ("-wal", "-shm", "-journal"))):
        try:
            leftover.unlink()
        except OSError:
            pass


def _check_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite touches it."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as error:
        raise _problem(path, f"cannot read the history store: {error.strerror}",
                       "check its permissions, or use --no-history") from None
    if head and head != SQLITE_HEADER:
        raise _problem(path, "this file is not a reconcile history store (not SQLite); it "
                             "was left as it is",
                       "give another path with --history (or RECONCILE_HISTORY), or "
                       "--no-history")


def _prepare(store: Store, existed: bool) -> None:
    db, path = store._db, store.path
    app, version = _identity(db)
    if existed and (app, version) == (0, 0):  # empty, another's, or being made now
        app, version, tables = _state(db)
        if (app, version) == (0, 0) and tables:
            raise _problem(path, "this SQLite database is not a reconcile history store; "
                                 "it was left as it is",
                           "give another path with --history (or RECONCILE_HISTORY), or "
                           "--no-history")
    if existed and (app, version) != (0, 0) and app != APPLICATION_ID:
        raise _problem(path, "this SQLite database is not a reconcile history store; it was "
                             "left as it is",
                       "give another path with --history (or RECONCILE_HISTORY), or "
                       "--no-history")
    if version > SCHEMA_VERSION:
        raise _problem(path, f"the history store is of schema version {version}, made by a "
                             f"newer reconcile (this one reads up to {SCHEMA_VERSION})",
                       "upgrade reconcile, or give another --history path")
    if existed:
        _check_intact(db, path)
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise _problem(path, f"the history store cannot use write-ahead logging ({mode})",
                       "put the store on a local disk (--history PATH)")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    if version < SCHEMA_VERSION:
        _migrate(store)


def _check_intact(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged store before anything is written to it: SQLite's
    ``PRAGMA quick_check`` (every page and b-tree read and checked, indexes not matched
    to their tables; about 50 ms for a 50 MB store). A store whose header is intact but
    whose pages are not would otherwise take the run's writes and be damaged further."""
    try:
        verdict = [" ".join(str(row[0]).replace("*** in database main ***", "").split())
                   for row in db.execute("PRAGMA quick_check(3)").fetchall()]
    except sqlite3.DatabaseError as error:
        verdict = [str(error)]
    if verdict != ["ok"]:
        raise _problem(path, "the history store is damaged (SQLite's check: "
                             f"{'; '.join(verdict)}); it was left as it is",
                       "move it aside (a new one is made at the next run) or give another "
                       "path with --history; or use --no-history")


def _identity(db: sqlite3.Connection) -> tuple[int, int]:
    """The store's application id and schema version."""
    app, version, _ = _state(db, tables=False)
    return app, version


def _state(db: sqlite3.Connection, tables: bool = True) -> tuple[int, int, int]:
    """The store's application id, schema version and (if asked) number of tables, read
    in one transaction (one snapshot): read one by one, another process creating the
    store in between could be seen half made (its version but not yet its id). The
    header's values are read by PRAGMA, which needs no schema (a damaged store's
    schema is reported by its integrity check, not here)."""
    own = not db.in_transaction
    if own:
        db.execute("BEGIN")
    try:
        app = int(db.execute("PRAGMA application_id").fetchone()[0])
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        count = (int(db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
                 if tables else 0)
    finally:
        if own:
            db.execute("COMMIT")
    return app, version, count


def _migrate(store: Store) -> None:
    """Bring the store to :data:`SCHEMA_VERSION`, under the write lock, after a backup."""
    db, path = store._db, store.path
    _, found = _identity(db)
    if found > 0:  # the copy first (SQLite's online backup: a consistent one)
        _backup(db, path, found)
    db.execute("BEGIN IMMEDIATE")
    try:
        app, version = _identity(db)  # again: another process may have migrated it
        if version < SCHEMA_VERSION:
            for step in range(version, SCHEMA_VERSION):
                _, script = MIGRATIONS[step]
                for statement in _statements(script):
                    db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def backup_path(path: Path, version: int) -> Path:
    """``history.sqlite3.v1-backup`` (then ``-2``, ``-3`` if taken)."""
    candidate = path.with_name(f"{path.name}.v{version}-backup")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.v{version}-backup-{n}")
        n += 1
    return candidate


def _backup(db: sqlite3.Connection, path: Path, version: int) -> None:
    target = backup_path(path, version)
    copy = sqlite3.connect(str(target))
    try:
        db.backup(copy)
    finally:
        copy.close()


def _statements(script: str) -> list[str]:
    """A migration script's statements (``executescript`` would commit the transaction)."""
    out, current = [], []
    for line in script.splitlines():
        current.append(line.split("--", 1)[0])
        joined = "\n".join(current).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            current = []
    return out
