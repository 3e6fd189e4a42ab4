"""The one sequencer: ``pipeline.run`` runs every stage, builds the report and JSON
values, writes what the options ask for, times every stage and tells a progress
callback.

Input: the split CLI test's five declarations of cohort 2023 (bundled rules, the
example contract), as at 2024-05-01.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from pathlib import Path

import pytest

from reconcile.errors import ReconcileError, UsageError
from reconcile.outputs import dump_json
from reconcile.pipeline import STAGES, ProgressEvent, RunOptions, collector_paused, run
from tests.split.test_split_cli import CSV, EXAMPLES


def options(declarations: Path, **more: object) -> RunOptions:
    return RunOptions((declarations,), contracts=(Path(EXAMPLES),))._replace(**more)


@pytest.fixture
def declarations(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_every_stage_is_timed_and_heard_in_order(declarations, tmp_path):
    heard: list[ProgressEvent] = []
    result = run(options(declarations, as_of=dt.date(2024, 5, 1), with_split=True,
                         workbook=tmp_path / "r.xlsx", json_out=tmp_path / "r.json",
                         history=tmp_path / "history.sqlite3"),
                 heard.append)
    ran = [name for name, _ in result.timings]
    # no DfE statements: no compare stage; everything else, history, report and write
    # included
    assert ran == [s for s in STAGES if s != "compare"]
    assert all(seconds >= 0 for _, seconds in result.timings)
    starts = [e.stage for e in heard if not e.finished and e.done is None and not e.note]
    ends = [e.stage for e in heard if e.finished]
    assert starts == ends == ran
    assert [e.index for e in heard if e.finished] == sorted(e.index for e in heard if e.finished)
    # the read stage names each file it reads
    assert [(e.stage, e.note) for e in heard if e.note] == [
        ("read", f"reading declarations {declarations}")]
    # the write stage counts its files
    assert [(e.done, e.total) for e in heard if e.stage == "write" and e.done is not None] == [
        (0, 2), (1, 2), (2, 2)]


def test_the_collector_is_paused_once_from_the_rules_to_the_history(declarations, tmp_path):
    """One pause of the cyclic garbage collector in run(): the stages that build the run's
    records run without it, the report and the writing with it, and it is on after."""
    collecting: dict[str, bool] = {}

    def hear(event: ProgressEvent) -> None:
        if not event.finished and event.done is None and not event.note:
            collecting[event.stage] = gc.isenabled()

    assert gc.isenabled()
    run(options(declarations, as_of=dt.date(2024, 5, 1), with_split=True,
                workbook=tmp_path / "r.xlsx", json_out=tmp_path / "r.json",
                history=tmp_path / "history.sqlite3"), hear)
    assert collecting == {"rules": False, "read": False, "evaluate": False,
                          "calculate": False, "split": False, "history": False,
                          "report": True, "json": True, "write": True}
    assert gc.isenabled()
    # a run stopped by bad input leaves the collector as it found it
    with pytest.raises(ReconcileError):
        run(options(tmp_path / "missing.csv"))
    assert gc.isenabled()
    # and a caller that paused it keeps it paused
    with collector_paused():
        run(options(declarations, as_of=dt.date(2024, 5, 1)))
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_values_built_are_the_files_written(declarations, tmp_path):
    result = run(options(declarations, with_split=True, workbook=tmp_path / "r.xlsx",
                         json_out=tmp_path / "r.json"))
    assert result.workbook is not None and result.json is not None
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == dump_json(result.json)
    assert result.workbook.sheet("Summary") is not None
    assert (tmp_path / "r.xlsx").stat().st_size > 0


def test_values_without_files_and_nothing_by_default(declarations, tmp_path):
    bare = run(options(declarations))
    assert bare.workbook is None and bare.json is None
    assert [name for name, _ in bare.timings] == ["rules", "read", "evaluate", "calculate"]
    built = run(options(declarations, with_report=True, with_json=True))
    assert built.workbook is not None
    assert json.loads(dump_json(built.json))["statements"]
    assert [name for name, _ in built.timings][-2:] == ["report", "json"]
    assert list(tmp_path.iterdir()) == [declarations]


def test_an_output_that_cannot_be_written_stops_the_run_before_any_stage(declarations,
                                                                          tmp_path):
    heard: list[ProgressEvent] = []
    with pytest.raises(UsageError, match="the folder does not exist"):
        run(options(declarations, json_out=tmp_path / "no" / "r.json"), heard.append)
    assert heard == []


def test_quiet_prints_nothing_and_progress_lines_otherwise(declarations, capsys):
    run(options(declarations, quiet=True))
    assert capsys.readouterr().err == ""
    run(options(declarations, quiet=False))
    err = capsys.readouterr().err
    assert "reconcile: rules loading the rulebook ..." in err
    assert "reconcile: calculate done in " in err
