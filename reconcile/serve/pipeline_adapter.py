"""The page's one call into the pipeline: what ``reconcile run`` does, for a run's folder.

Stage: entry point. In: a :class:`~reconcile.serve.runs.Run` (its folder holds the
inputs). Out: the :class:`~reconcile.result.RunResult`, with ``reconciliation.xlsx``
and ``result.json`` written in the folder by the pipeline's own atomic outputs; a
:class:`~reconcile.errors.ReconcileError` for bad input (nothing written).

The options are those ``reconcile run`` builds from::

    reconcile run --declarations NAME... [--dfe-statements NAME...]
                  [--participants NAME...] [--contracts NAME...] [--lead-provider NAME]
                  [--sheet NAME] [--tolerance POUNDS] [--as-of DATE]
                  --out reconciliation.xlsx --json result.json

run in the folder, so every input is recorded by its file name, as the command line
records the path it is given. The working folder is changed for the run: that is
process-wide, hence one run at a time (:data:`_CWD`).
"""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from reconcile.serve.runs import RESULT, RUNNING, WORKBOOK, Run

#: the stages of a run, in order, as the progress page lists them
STAGES = ("rules", "read", "evaluate", "calculate", "compare", "split", "report", "write")

#: what the progress page says of each stage
STAGE_TEXT = {
    "rules": "Loading the rules and contracts",
    "read": "Reading your files",
    "evaluate": "Checking each declaration against the rules",
    "calculate": "Working out the expected payments",
    "compare": "Comparing with DfE's statements",
    "split": "Dividing the payments between delivery partners",
    "report": "Building the workbook",
    "json": "Building the JSON result",
    "write": "Writing the workbook and the JSON",
}

#: held while a run has changed the working folder
_CWD = threading.Lock()


def command_options(run: Run) -> dict[str, Any]:
    """The options ``reconcile run``'s command line would give the pipeline for ``run``."""
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
    }


def execute_run(run: Run) -> Any:
    """Run the pipeline for ``run`` in its folder; the result (outputs are written)."""
    options = command_options(run)
    with _CWD:
        previous = os.getcwd()
        os.chdir(run.folder)
        try:
            return _run(run, options)
        finally:
            os.chdir(previous)


def _run(run: Run, options: dict[str, Any]) -> Any:
    """What ``reconcile run`` does once its options are parsed (``pipeline.command_run``)."""
    import time

    from reconcile import pipeline
    from reconcile.jsonout import result_json
    from reconcile.outputs import Outputs
    from reconcile.report import build_workbook
    from reconcile.write import write_workbook

    opts = pipeline._checked(options, with_split=True)  # the command line's own checks
    outputs = Outputs()
    book: Any = None
    result: Any = None
    outputs.file(options["out"], lambda tmp: write_workbook(book, tmp))
    outputs.json(options["json_out"], lambda: result_json(result))
    outputs.check_writable()
    run.update(stage="rules")
    result = pipeline.run(opts)
    timings = list(result.timings)
    run.update(timings=timings, stage="report", status=RUNNING)
    start = time.perf_counter()
    book = build_workbook(result)
    timings.append(("report", time.perf_counter() - start))
    run.update(timings=list(timings), stage="write")
    start = time.perf_counter()
    outputs.commit()
    timings.append(("write", time.perf_counter() - start))
    run.update(timings=timings)
    return result
