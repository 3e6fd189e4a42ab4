"""Outputs never touch inputs, each other, devices or folders; faults of the machine
are the user's to fix (exit 2, the folder named); nothing half-written (issue 12)."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from reconcile import outputs
from reconcile.paths import bundled_rules_dir
from tests.hostile.files import (
    CONTRACTS,
    DECLARATIONS_XLSX,
    GOOD,
    STATEMENTS_XLSX,
    assert_refused,
    cli,
)


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """Copies of the inputs, so that a test that destroyed one would show it."""
    found = {"csv": tmp_path / "declarations.csv", "xlsx": tmp_path / "declarations.xlsx",
             "dfe": tmp_path / "dfe.xlsx", "contract": tmp_path / "contract.yaml"}
    shutil.copy(GOOD / "declarations.csv", found["csv"])
    shutil.copy(DECLARATIONS_XLSX, found["xlsx"])
    shutil.copy(STATEMENTS_XLSX, found["dfe"])
    shutil.copy(CONTRACTS / "example-teaching-institute-2023.yaml", found["contract"])
    return found


def _unchanged(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before, f"{path} was changed"


@pytest.mark.parametrize("command, clash, says", [
    (["run", "--declarations", "{csv}", "--out", "{tmp}/r.xlsx", "--json", "{csv}"],
     "csv", "--json names the file given as --declarations"),
    (["run", "--declarations", "{csv}", "--dfe-statements", "{dfe}", "--out", "{dfe}"],
     "dfe", "--out names the file given as --dfe-statements"),
    (["expected", "--declarations", "{csv}", "--contracts", "{contract}", "--json",
      "{contract}"], "contract", "--json names the file given as --contracts"),
    (["split", "--declarations", "{csv}", "--json", "{csv}"],
     "csv", "--json names the file given as --declarations"),
    (["explain", "d-0001", "--declarations", "{csv}", "--json", "{csv}"],
     "csv", "--json names the file given as --declarations"),
])
def test_an_output_that_is_an_input_is_refused_before_anything_is_read(
        tmp_path, inputs, command, clash, says):
    before = inputs[clash].read_bytes()
    words = [w.format(tmp=tmp_path, **inputs) for w in command]
    if "--contracts" not in words:
        words += ["--contracts", str(CONTRACTS)]
    assert_refused(cli(*words), says, str(inputs[clash]), outputs=(tmp_path / "r.xlsx",))
    _unchanged(inputs[clash], before)


def test_an_input_reached_by_another_path_a_link_or_a_hard_link_is_still_the_input(
        tmp_path, inputs):
    before = inputs["csv"].read_bytes()
    (tmp_path / "sub").mkdir()
    other_paths = [tmp_path / "sub" / ".." / "declarations.csv"]
    (tmp_path / "link.csv").symlink_to(inputs["csv"])
    other_paths.append(tmp_path / "link.csv")
    os.link(inputs["csv"], tmp_path / "hard.csv")
    other_paths.append(tmp_path / "hard.csv")
    for other in other_paths:
        result = cli("expected", "--declarations", inputs["csv"], "--json", other)
        assert_refused(result, "--json names the file given as --declarations")
    _unchanged(inputs["csv"], before)


def test_a_rules_file_is_an_input_too(tmp_path, inputs):
    rules = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), rules)
    target = rules / "fees.yaml"
    before = target.read_bytes()
    assert_refused(cli("expected", "--declarations", inputs["csv"], "--rules", rules,
                       "--json", target), "--json names the file given as --rules")
    _unchanged(target, before)


def test_out_and_json_the_same_file_is_refused(tmp_path, inputs):
    same = tmp_path / "same"
    assert_refused(cli("run", "--declarations", inputs["csv"], "--out", same, "--json", same),
                   "--out and --json name the same file", outputs=(same,))


def test_an_output_inside_a_folder_given_as_input_is_refused(tmp_path, inputs):
    folder = tmp_path / "pulls"
    folder.mkdir()
    shutil.copy(inputs["csv"], folder)
    assert_refused(cli("expected", "--declarations", folder, "--json", folder / "r.json"),
                   "--json is inside the folder given as --declarations",
                   outputs=(folder / "r.json",))
    assert_refused(cli("split", "--declarations", folder, "--per-partner", folder),
                   "--per-partner is the folder given as --declarations")
    assert sorted(p.name for p in folder.iterdir()) == ["declarations.csv"]


def test_a_device_a_fifo_or_a_folder_is_refused_and_left_as_it_was(tmp_path, inputs):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.json"
    folder.mkdir()
    for target, says in ((Path(os.devnull), "names a device"), (fifo, "names a FIFO"),
                         (folder, "is a directory")):  # click says so first
        assert_refused(cli("expected", "--declarations", inputs["csv"], "--json", target), says)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert folder.is_dir() and not list(folder.iterdir())


def test_standard_output_by_dash_or_dev_stdout(tmp_path, inputs):
    for name in ("-", "/dev/stdout"):
        result = cli("expected", "--declarations", inputs["csv"], "--json", name)
        assert result.exit_code in (0, 1), result.stderr
        assert result.stdout.lstrip().startswith("{")
    assert_refused(cli("run", "--declarations", inputs["csv"], "--out", "-", "--json", "-"),
                   "--out and --json both write to standard output")


def test_a_symbolic_link_is_written_through_to_its_target(tmp_path, inputs):
    target = tmp_path / "kept" / "result.json"
    target.parent.mkdir()
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "result.json"
    link.symlink_to(target)
    result = cli("expected", "--declarations", inputs["csv"], "--json", link)
    assert result.exit_code in (0, 1), result.stderr
    assert link.is_symlink() and target.read_text(encoding="utf-8").startswith("{")
    assert not list(target.parent.glob(".*.tmp")) and not list(tmp_path.glob(".*.tmp"))


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("code, says, fix", [
    (errno.EROFS, "is on a read-only disk", "choose a folder on a disk that can be written"),
    (errno.ENOSPC, "the disk of", "free some space"),
    (errno.EACCES, "permission to write in", "choose a folder you can write to"),
])
def test_a_fault_of_the_machine_while_writing_is_exit_2_naming_the_folder(
        tmp_path, inputs, monkeypatch, code, says, fix):
    def fail(src, dst):
        raise OSError(code, os.strerror(code), str(dst))

    monkeypatch.setattr(outputs.os, "replace", fail)
    out, json_out = tmp_path / "out" / "r.xlsx", tmp_path / "out" / "r.json"
    out.parent.mkdir()
    result = cli("run", "--declarations", inputs["csv"], "--out", out, "--json", json_out)
    assert_refused(result, says, str(out.parent), fix, "nothing was written",
                   outputs=(out, json_out))
    assert not list(out.parent.iterdir())


def test_a_folder_that_cannot_be_written_is_refused_before_the_work(tmp_path, inputs,
                                                                     monkeypatch):
    real_access = os.access

    def access(path, mode, **kw):
        if Path(path) == tmp_path / "locked" and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(outputs.os, "access", access)
    assert_refused(cli("expected", "--declarations", inputs["csv"], "--json",
                       tmp_path / "locked" / "r.json"), "you cannot write in the folder")


def _mount(where: Path, options: str) -> bool:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("options, says", [("size=48k", "is full"),
                                           ("ro,size=48k", "is on a read-only disk")])
def test_a_real_full_or_read_only_disk(tmp_path, inputs, options, says):
    """On a real small or read-only file system (where this machine lets the tests
    mount one: root in a container that allows it; skipped elsewhere)."""
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or shutil.which("mount") is None or not _mount(disk, options):
        pytest.skip("cannot mount a small file system here")
    try:
        out = disk / "r.xlsx"
        result = cli("run", "--declarations", DECLARATIONS_XLSX, "--dfe-statements",
                     STATEMENTS_XLSX, "--out", out)
        assert_refused(result, says, str(disk), outputs=(out,))
        assert not list(disk.iterdir())
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


# --------------------------------------------------------------------------- temporaries


def test_stale_temporary_files_of_a_killed_run_are_removed_by_the_next(tmp_path, inputs):
    out = tmp_path / "r.json"
    dead = tmp_path / f".{out.name}.reconcile-{2 ** 22 + 7}-x1y2.tmp"  # no such process
    alive = tmp_path / f".{out.name}.reconcile-1-a3b4.tmp"             # pid 1 runs
    someone_elses = tmp_path / f".{out.name}.other-1.tmp"
    for path in (dead, alive, someone_elses):
        path.write_text("partial", encoding="utf-8")
    result = cli("expected", "--declarations", inputs["csv"], "--json", out)
    assert result.exit_code in (0, 1), result.stderr
    assert out.exists() and not dead.exists()
    assert alive.exists() and someone_elses.exists()


# --------------------------------------------------------------------------- templates


def test_a_template_never_replaces_an_existing_file_unless_told_to(tmp_path, inputs):
    # the declarations workbook someone filled in, asked for again by mistake
    filled = inputs["xlsx"]
    before = filled.read_bytes()
    assert_refused(cli("template", "declarations", "--out", filled),
                   f"{filled}: already exists; it was left as it is", "--overwrite")
    _unchanged(filled, before)
    link = tmp_path / "link.xlsx"  # through a link: its target is the file that exists
    link.symlink_to(filled)
    assert_refused(cli("template", "declarations", "--out", link), "already exists")
    _unchanged(filled, before)
    assert not list(tmp_path.glob(".*.tmp"))

    result = cli("template", "declarations", "--out", filled, "--overwrite")
    assert result.exit_code == 0, result.stderr
    assert filled.read_bytes() != before and filled.stat().st_size > 0


def test_a_template_to_a_device_or_a_folder_is_refused(tmp_path):
    folder = tmp_path / "c.yaml"
    folder.mkdir()
    device = tmp_path / "dev.yaml"
    os.symlink(os.devnull, device)  # a name with the right ending that is /dev/null
    for target, says in ((folder, "is a directory"), (device, "names a device")):
        assert_refused(cli("template", "contract", "--out", target, "--overwrite"), says)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode) and folder.is_dir()


# --------------------------------------------------------------------------- the history


@pytest.mark.slow
def test_a_history_store_on_a_full_disk_is_exit_2_naming_the_folder_and_leaves_nothing(
        tmp_path, inputs):
    """A new store that cannot be made (100 kB: SQLite's first pages fit, the rest do
    not) is exit 2 saying the disk is full, not that the store may be damaged; the
    half-made store is removed, and no output is written."""
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or shutil.which("mount") is None or not _mount(disk, "size=100k"):
        pytest.skip("cannot mount a small file system here")
    try:
        out, store = tmp_path / "r.xlsx", disk / "h.sqlite3"
        result = cli("run", "--declarations", DECLARATIONS_XLSX, "--dfe-statements",
                     STATEMENTS_XLSX, "--out", out, "--history", store)
        assert_refused(result, f"{store}: cannot open the history store: the disk of {disk} "
                               "is full", "free some space", outputs=(out,))
        assert "may be damaged" not in result.stderr
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


@pytest.mark.parametrize("sqlite_says, says", [
    ("database or disk is full", "the disk of {folder} is full"),
    ("attempt to write a readonly database", "cannot be written (read-only)"),
    ("unable to open database file", "cannot be opened or made in {folder}"),
    ("disk I/O error", "the disk of {folder} failed to read or write"),
])
def test_sqlites_words_for_a_fault_of_the_machine_are_told_as_such(tmp_path, sqlite_says,
                                                                    says):
    import sqlite3

    from reconcile.history.store import _machine_fault

    what, fix = _machine_fault(tmp_path / "h.sqlite3", sqlite3.OperationalError(sqlite_says))
    assert says.format(folder=tmp_path) in what
    assert "--no-history" in fix
    assert _machine_fault(tmp_path / "h.sqlite3",
                          sqlite3.DatabaseError("database disk image is malformed")) is None
