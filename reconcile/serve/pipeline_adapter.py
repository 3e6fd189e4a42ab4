"""The page's one call into the pipeline: what ``reconcile run`` does, for a run's folder.

Stage: entry point. In: a :class:`~reconcile.serve.runs.Run` (its folder holds the
inputs). Out: the :class:`~reconcile.result.RunResult`, with ``reconciliation.xlsx``
and ``result.json`` written in the folder by the pipeline's own atomic outputs; a
:class:`~reconcile.errors.ReconcileError` for bad input (nothing written).

The options are those ``reconcile run`` builds from::

    reconcile run --declarations NAME... [--dfe-statements NAME...]
                  [--participants NAME...] [--contracts NAME...] [--lead-provider NAME]
                  [--sheet NAME] [--tolerance POUNDS] [--as-of DATE]
                  --history ../../history.sqlite3
                  --out reconciliation.xlsx --json result.json

(``--no-history`` for the bundled sample: trying it is not part of the user's history)

run in the folder, so every input is recorded by its file name, as the command line
records the path it is given. The working folder is changed for the run: that is
process-wide, hence one run at a time (:data:`_CWD`).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from reconcile.options import run_options as options_of_run
from reconcile.result import ProgressCallback, ProgressEvent, RunOptions, RunResult
from reconcile.serve.reopen import recorded_history
from reconcile.serve.runs import HISTORY, RESULT, WORKBOOK, Rebuild, Run, RunStore

__all__ = ["execute_run", "in_folder", "rebuild_run", "run_options", "run_store"]


#: held while a run has changed the working folder
_CWD = threading.Lock()


def command_options(run: Run) -> dict[str, Any]:
    """The options ``reconcile run``'s command line parses for ``run``'s files."""
    extra = run.record.get("options") or {}
    return {
        "declarations": tuple(Path(n) for n in run.names("declarations")),
        "dfe_statements": tuple(Path(n) for n in run.names("dfe_statements")),
        "participants": tuple(Path(n) for n in run.names("participants")),
        "contracts": tuple(Path(n) for n in run.names("contracts")),
        "lead_provider": extra.get("lead_provider") or None,
        "sheet": extra.get("sheet") or None,
        "tolerance": Decimal(extra["tolerance"]) if extra.get("tolerance") else None,
        "as_of": run.as_of,
        "engine": "auto",
        "quiet": True,
        "out": Path(WORKBOOK),
        "json_out": Path(RESULT),
        # uploads are recorded in the data folder's history (its path as seen from the
        # run's folder, where the run is made); the sample is not the user's history
        "history": None if run.record.get("sample") else Path("..", "..", HISTORY),
        "no_history": bool(run.record.get("sample")),
    }


def run_options(run: Run) -> RunOptions:
    """The :class:`RunOptions` ``reconcile run`` makes of them
    (:func:`reconcile.options.run_options`, with the command line's own checks)."""
    options = command_options(run)
    return options_of_run(options, with_split=True, workbook=options["out"],
                        json_out=options["json_out"])


def run_store(data_dir: Path, execute: Callable[[Run], RunResult] | None = None,
              rebuild: Rebuild | None = None) -> RunStore:
    """The page's runs in ``data_dir``, run by :func:`execute_run` and made again by
    :func:`rebuild_run` (a test may give its own)."""
    return RunStore(data_dir, execute or execute_run, rebuild or rebuild_run)


def execute_run(run: Run) -> RunResult:
    """Run the pipeline for ``run`` in its folder; the result (its outputs are written)."""
    from reconcile import pipeline

    def progress(event: ProgressEvent) -> None:
        timings = list(run.record.get("timings") or ())
        if event.finished:
            timings.append((event.stage, event.seconds))
            run.update(timings=timings, done=None, total=None)
        elif event.done is not None:
            run.update(stage=event.stage, done=event.done, total=event.total)
        elif not event.note:
            run.update(stage=event.stage, done=None, total=None)

    with in_folder(run.folder):
        return pipeline.run(run_options(run), progress)


def judged_on(run: Run) -> dt.date:
    """The as-of date the run judged by: its own, or the day it ran (local time, as
    ``reconcile run`` takes today)."""
    if run.as_of is not None:
        return run.as_of
    created = dt.datetime.fromisoformat(str(run.record["created"]))
    return created.astimezone().date()


def rebuild_run(run: Run, history_path: Path, progress: ProgressCallback | None = None
                ) -> RunResult:
    """A finished run's result again (its pages, after the server let it go): the same
    pipeline and options in its folder, as of the day it judged by, writing nothing and
    recording no new history run; its history as recorded
    (:func:`reconcile.serve.reopen.recorded_history`). ``progress`` gets the events."""
    from reconcile import pipeline

    with in_folder(run.folder):  # the options' paths are checked where the files are
        options = run_options(run)._replace(
            as_of=judged_on(run), workbook=None, json_out=None, history=None,
            with_report=False, with_json=False)
        result = pipeline.run(options, progress)
    history_run = run.record.get("history_run_id")
    if history_run is not None and history_path.exists():
        result = recorded_history(result, history_path, int(history_run))
    return result


@contextmanager
def in_folder(folder: Path) -> Iterator[None]:
    """Work in ``folder`` (where the run's inputs are, by their own names); one at a time."""
    with _CWD:
        previous = os.getcwd()
        os.chdir(folder)
        try:
            yield
        finally:
            os.chdir(previous)
