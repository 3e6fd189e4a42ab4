"""The history store's safety: kills, two writers, an older schema, files that are not ours."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.history import store as store_module
from reconcile.history.snapshot import DeclarationSet, Scope, Snapshot, StatementRow
from reconcile.history.store import HistoryError, open_store

from .scenario import write_run

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def snapshot(n: int, as_of: str = "2024-09-01") -> Snapshot:
    """A run of ``n`` declarations of one provider, made here."""
    lines = sorted(f"{hashlib.sha256(b'%d' % i).hexdigest()}\x1fp{i}\x1fstarted\x1fpaid\x1fJanuary 2024\x1f\x1fdp-1\x1f"
                   f"January 2024\x1fA\x1f120.00\x1f\x1f0.00" for i in range(n))
    return Snapshot(
        dt.date.fromisoformat(as_of), "run", "test", "rules-hash", {},
        (Scope("Alpha Trust", 2023, "c-hash", {"bands": {"A": {"max": 6}}}),), (), (),
        (StatementRow("expected", "Alpha Trust", 2023, "January 2024", None, "2023-12-31",
                      "2024-01-25", True, False, D(120 * n), D(24 * n), D(144 * n)),),
        (), (DeclarationSet("Alpha Trust", 2023, lines),), ())


def record(path: Path, snap: Snapshot) -> int:
    with open_store(path) as store:
        run_id = store.reserve_run_id()
        with store.recording(run_id, snap):
            pass
        return run_id


CHILD = """
import sys, time
from pathlib import Path
from tests.history.test_store import snapshot
from reconcile.history.store import open_store
store = open_store(Path(sys.argv[1]))
run_id = store.reserve_run_id()
with store.recording(run_id, snapshot(100_000)):
    print("inside", flush=True)   # the run's rows are written, the outputs being published
    time.sleep(60)
"""


def test_a_run_killed_mid_write_leaves_a_readable_store_without_it(tmp_path):
    path = tmp_path / "history.sqlite3"
    first = record(path, snapshot(3))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "inside"
        # its rows are written (past SQLite's page cache, into the log), not committed
        assert Path(f"{path}-wal").stat().st_size > 1_000_000
        with open_store(path) as reader:
            assert reader.run_ids() == [first]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    with open_store(path) as store:
        assert store.run_ids() == [first]
        assert store.snapshot(first).declaration_count == 3
        assert store._query("PRAGMA integrity_check") == [("ok",)]
    # and the next run records as usual (number 2 was the killed run's: never used)
    assert record(path, snapshot(4)) == 3
    with open_store(path) as store:
        assert [r.declarations for r in store.runs()] == [4, 3]


def test_two_runs_at_once_both_land(tmp_path):
    store = tmp_path / "history.sqlite3"  # made by whichever of the two comes first
    commands = []
    for n in (1, 2):
        args = write_run(tmp_path / f"run{n}", 1)
        del args[args.index("--out"):args.index("--out") + 2]  # expected: no --out
        args[0] = "expected"
        commands.append([sys.executable, "-m", "reconcile", *args, "--history", str(store)])
    children = [subprocess.Popen(c, cwd=ROOT, stderr=subprocess.PIPE, text=True)
                for c in commands]
    errors = [child.communicate()[1] for child in children]
    assert [child.returncode for child in children] == [1, 1], errors  # DECL_DUPLICATE
    ids = sorted(json.loads((tmp_path / f"run{n}" / "result.json").read_text())
                 ["history"]["run_id"] for n in (1, 2))
    assert ids == [1, 2]
    with open_store(store) as opened:
        assert opened.run_ids() == [1, 2]
        assert [opened.snapshot(i).declaration_count for i in ids] == [9, 9]


def test_a_store_of_the_previous_schema_is_migrated_after_a_backup(tmp_path):
    """tests/history/data/history-v2.sqlite3 was made by reconcile at schema version 2
    (main at 3549708): runs 1 and 2 of tests/history/scenario.py, and a note (disputed)
    on run 2's January count mismatch. Run 3 migrates it, after a backup, and follows
    on from run 2 as if nothing had happened."""
    path = tmp_path / "history.sqlite3"
    shutil.copyfile(DATA / "history-v2.sqlite3", path)
    result = CliRunner().invoke(main, [*write_run(tmp_path / "run3", 3), "--history",
                                       str(path)])
    assert result.exit_code == 1, result.output
    with open_store(path, create=False) as store:
        assert store._query("PRAGMA user_version") == [(store_module.SCHEMA_VERSION,)]
        assert store.run_ids() == [1, 2, 3]
        with pytest.raises(sqlite3.DatabaseError, match="never edited"):
            store._db.execute("UPDATE notes SET text = 'changed'")
    backup = sqlite3.connect(tmp_path / "history.sqlite3.v2-backup")
    assert backup.execute("PRAGMA user_version").fetchone() == (2,)
    assert backup.execute("SELECT run_id FROM runs ORDER BY 1").fetchall() == [(1,), (2,)]
    assert backup.execute("SELECT count(*) FROM notes").fetchone() == (1,)
    backup.close()
    data = json.loads((tmp_path / "run3" / "result.json").read_text())
    history = data["history"]
    # run 3 is run 2's inputs a month on: compared with run 2, nothing changed but the
    # bundled rule files edited since the store was made (rules_changed, by file hash)
    changes = [c for c in history["changes"] if c["kind"] != "rules_changed"]
    assert (history["run_id"], history["previous_run_id"], changes) == (3, 2, [])
    assert [f["code"] for f in history["resolved_findings"]] == [
        "HISTORY_PAID_STATEMENT_CHANGED"]
    count = next(f for f in data["findings"] if f["code"] == "OUTPUT_COUNT_MISMATCH")
    assert (count["status"], count["first_seen"], count["age_days"]) == (
        "open", "2024-10-01", 31)
    assert (count["note"]["status"], count["note"]["text"], count["note"]["by"]) == (
        "disputed", "raised with DfE, ref 4471", "finance lead")
    # the ageing reads old and new runs alike: on 2024-11-01 the four findings first
    # seen on 2024-10-01 are 31 days old; their money at stake, line by line: April's
    # started line, DfE £240.00 against none of ours (LINE_NOT_EXPECTED), and
    # January's, DfE 3 x £120.00 against our 4 (the count mismatch, disputed: still
    # open), £120.00; DfE's January VAT is ours (£296.00; VAT_MISMATCH is DfE's VAT
    # against its own lines) and a moved declaration is no money: £360.00. The
    # notices of 2024-09-01 (61 days) stake none.
    ageing = json.loads(CliRunner().invoke(main, [
        "history", "findings", "--open", "--history", str(path), "--as-of", "2024-11-01",
        "--json", "-"]).output)
    assert [(b["band"], b["count"], b["money_at_stake"]) for b in ageing["ageing"]] == [
        ("0-30 days", 0, "0.00"), ("31-60 days", 4, "360.00"), ("61-90 days", 4, "0.00"),
        ("over 90 days", 0, "0.00")]


def test_an_empty_store_of_the_first_schema_is_migrated(tmp_path):
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(store_module.MIGRATIONS[0][1])
    db.execute(f"PRAGMA application_id = {store_module.APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    assert record(path, snapshot(5)) == 1
    with open_store(path, create=False) as store:
        assert store._query("PRAGMA user_version") == [(store_module.SCHEMA_VERSION,)]
        assert store.snapshot(1).declaration_count == 5
    assert (tmp_path / "history.sqlite3.v1-backup").exists()


@pytest.mark.parametrize("content", [
    b"declaration_id,participant_id\nd1,p1\n",                    # not SQLite at all
    b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\xde\xad" * 600,  # a damaged store
], ids=["text", "damaged"])
def test_a_file_that_is_not_a_store_is_refused_and_untouched(tmp_path, content):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(content)
    args = write_run(tmp_path / "run", 1)
    result = CliRunner().invoke(main, [*args, "--history", str(path)])
    assert result.exit_code == 2, result.output
    assert "history error" in result.output and str(path) in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == content
    assert not (tmp_path / "run" / "reconciliation.xlsx").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3", "run"]


def test_another_applications_database_and_a_newer_store_are_refused(tmp_path):
    other = tmp_path / "other.sqlite3"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE accounts (id INTEGER)")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(HistoryError, match="not a reconcile history store"):
        open_store(other)
    assert other.read_bytes() == before
    newer = tmp_path / "newer.sqlite3"
    record(newer, snapshot(1))
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="schema version 99, made by a newer reconcile"):
        open_store(newer)
    assert os.path.exists(newer)


# a real ``reconcile run`` (the whole pipeline, its real outputs), stopped at one moment
# of its write and killed there: the child says where it is, then waits to be killed
PAUSED_RUN = """
import os, sys, time
from reconcile.history import store as store_module
from reconcile.cli import main

moment = sys.argv[1]

def pause():
    print("paused", flush=True)
    time.sleep(120)

if moment == "reserved":            # its run number committed, nothing else written
    reserve = store_module.Store.reserve_run_id
    def reserved(self):
        number = reserve(self)
        pause()
        return number
    store_module.Store.reserve_run_id = reserved
elif moment == "inserted":          # its rows inserted (not committed), no output renamed
    insert = store_module.Store._insert
    def inserted(self, *args):
        insert(self, *args)
        pause()
    store_module.Store._insert = inserted
elif moment == "renamed":           # the workbook renamed into place, the JSON not yet
    replace = os.replace
    def renamed(source, target):
        replace(source, target)
        if str(target).endswith(".xlsx"):
            pause()
    os.replace = renamed
main(sys.argv[2:])
"""


@pytest.mark.parametrize("moment", ["reserved", "inserted", "renamed"])
def test_a_real_run_killed_during_its_write_leaves_no_partial_run(tmp_path, moment):
    store = tmp_path / "history.sqlite3"
    first = CliRunner().invoke(main, [*write_run(tmp_path / "run1", 1), "--history",
                                      str(store)])
    assert first.exit_code == 1, first.output  # run 1: DECL_DUPLICATE
    args = write_run(tmp_path / "run2", 2)
    child = subprocess.Popen([sys.executable, "-c", PAUSED_RUN, moment, *args,
                              "--history", str(store)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        assert child.stdout.readline().strip() == "paused"
        with open_store(store, create=False) as reader:  # a reader is never blocked
            assert reader.run_ids() == [1]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    with open_store(store, create=False) as opened:
        assert opened._query("PRAGMA integrity_check") == [("ok",)]
        assert opened.run_ids() == [1]  # run 2 (number 2) is not there, not even in part
        assert opened._query("SELECT count(*) FROM findings WHERE run_id <> 1") == [(0,)]
        assert opened._query("SELECT count(*) FROM declaration_sets WHERE run_id <> 1") == [
            (0,)]
    assert not (tmp_path / "run2" / "result.json").exists()
    # the same run again: recorded as run 3 and compared with run 1, the one that landed
    again = CliRunner().invoke(main, [*args, "--history", str(store)])
    assert again.exit_code == 1, again.output
    history = json.loads((tmp_path / "run2" / "result.json").read_text())["history"]
    assert (history["run_id"], history["previous_run_id"]) == (3, 1)
    # the changes planted in run 2 (tests/history/test_runs.py works them by hand)
    assert [c["kind"] for c in history["changes"]] == [
        "dfe_statement_changed", "expected_changed", "contract_changed", "expected_changed",
        "expected_changed", "declaration_moved", "declaration_state_changed",
        "declaration_added", "declaration_removed"]


def test_a_damaged_store_is_refused_before_anything_is_written_to_it(tmp_path):
    # a real store, its header intact and its inner pages overwritten: SQLite opens it,
    # and without a check the run's writes would land in it (and be checkpointed into it)
    path = tmp_path / "history.sqlite3"
    for n in range(3):
        record(path, snapshot(2_000))
    data = bytearray(path.read_bytes())
    assert len(data) > 16 * 4096 and not Path(f"{path}-wal").exists()
    for page in range(2, len(data) // 4096):
        data[page * 4096 + 8:page * 4096 + 200] = b"\xa5" * 192
    path.write_bytes(bytes(data))
    args = write_run(tmp_path / "run", 1)
    result = CliRunner().invoke(main, [*args, "--history", str(path)])
    assert result.exit_code == 2, result.output
    assert "history error" in result.output and "the history store is damaged" in result.output
    assert "it was left as it is" in result.output and "Traceback" not in result.output
    assert path.read_bytes() == bytes(data)
    assert not (tmp_path / "run" / "reconciliation.xlsx").exists()
    assert not (tmp_path / "run" / "result.json").exists()
    listed = CliRunner().invoke(main, ["history", "list", "--history", str(path)])
    assert listed.exit_code == 2 and "damaged" in listed.output
    assert path.read_bytes() == bytes(data)


def test_a_run_refused_for_bad_input_makes_no_store(tmp_path):
    args = write_run(tmp_path / "run", 1)
    declarations = Path(args[args.index("--declarations") + 1])
    declarations.write_text("declaration_id,participant_id\nd1,p1\n")
    store = tmp_path / "history.sqlite3"
    result = CliRunner().invoke(main, [*args, "--history", str(store)])
    assert result.exit_code == 2, result.output
    assert "input error" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no store, no -wal


def test_a_default_store_folder_that_cannot_be_made_is_a_located_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder would be")
    monkeypatch.delenv("RECONCILE_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    result = CliRunner().invoke(main, write_run(tmp_path / "run", 1))
    assert result.exit_code == 2, result.output
    assert f"{blocker}/reconcile: the folder for your run history cannot be made" in (
        result.output)
    assert "--no-history" in result.output
    assert not (tmp_path / "run" / "reconciliation.xlsx").exists()


def test_a_packed_run_is_recorded_as_the_lines_it_packs(tmp_path):
    """A run's declarations travel from its history stage to the store packed (one
    compressed text per provider and cohort, to keep a national run's memory down): the
    store holds the same rows either way, and reads the same lines back."""
    from reconcile.history.snapshot import PackedDeclarations, pack_lines

    plain = snapshot(5)
    lines = plain.declarations[0].lines
    packed = plain._replace(declarations=(
        PackedDeclarations("Alpha Trust", 2023, 5, pack_lines(lines)),))
    assert packed.declaration_count == plain.declaration_count == 5
    assert packed.declarations[0].lines == lines
    rows = []
    for name, snap in (("plain", plain), ("packed", packed)):
        path = tmp_path / f"{name}.sqlite3"
        record(path, snap)
        with open_store(path) as store:
            (read,) = store.snapshot(1).declarations  # packed as stored, checked whole
            assert (read.lead_provider, read.cohort, read.size, read.lines) == (
                "Alpha Trust", 2023, 5, lines)
        with closing(sqlite3.connect(path)) as db:  # sqlite3's own `with` does not close
            rows.append(db.execute("SELECT * FROM declaration_sets").fetchall())
    assert rows[0] == rows[1] and rows[0][0][3] == 5


def test_a_run_whose_declarations_are_damaged_is_refused_where_it_is_read(tmp_path):
    path = tmp_path / "history.sqlite3"
    record(path, snapshot(3))
    with closing(sqlite3.connect(path)) as db:  # the packed text cut short
        db.execute("UPDATE declaration_sets SET data = substr(data, 1, length(data) - 6)")
        db.commit()
    with open_store(path) as store, pytest.raises(HistoryError) as refused:
        store.snapshot(1)
    assert "run 1's declarations cannot be read" in str(refused.value)
