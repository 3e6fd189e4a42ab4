"""A run's options from a command's (stage: none; beside the pipeline).

The command line (``reconcile run``, ``expected``, ``split``, ``explain``) and the web
page (``reconcile serve``, which runs what ``reconcile run`` would) turn their options
into a :class:`~reconcile.result.RunOptions` here, after the checks that need no work:
the engine this Python can run, the input files there.

Example::

    run_options({"declarations": ("decl.csv",), "no_history": True}, json_out=Path("-"))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from reconcile.errors import Problem, UsageError
from reconcile.history.location import store_path
from reconcile.inputfiles import DECLARATIONS, DFE_STATEMENTS, PARTICIPANTS, expand_inputs
from reconcile.pipeline import input_paths
from reconcile.result import RunOptions
from reconcile.rulebook.engine import choose_backend


def run_options(options: Mapping[str, Any], **more: Any) -> RunOptions:
    """The pipeline's options from a command's (click's names), with ``more`` set on them.

    A :class:`~reconcile.errors.UsageError` for an engine this Python cannot run or an
    input that is not there (every such problem at once)."""
    as_of = options.get("as_of")
    json_out = options.get("json_out")
    result = RunOptions(
        declarations=input_paths(options["declarations"]),
        dfe_statements=input_paths(options.get("dfe_statements")),
        participants=input_paths(options.get("participants")),
        lead_provider=options.get("lead_provider") or None,
        sheet=options.get("sheet") or None,
        rules_dir=options.get("rules_dir"),
        contracts=tuple(options.get("contracts") or ()),
        engine=options.get("engine") or "auto",
        as_of=as_of.date() if isinstance(as_of, dt.datetime) else as_of,
        quiet=options.get("quiet", False) or str(json_out) == "-",
        tolerance=options.get("tolerance") or Decimal("0.00"),
        history=history_path(options),
    )._replace(**more)
    choose_backend(result.engine)  # fails on an engine this Python cannot run
    problems: list[Problem] = []
    for paths, role in ((result.declarations, DECLARATIONS),
                        (result.dfe_statements, DFE_STATEMENTS),
                        (result.participants, PARTICIPANTS)):
        try:
            expand_inputs(paths, role)
        except UsageError as error:
            problems.extend(error.problems)
    if problems:
        raise UsageError(problems)
    return result


def history_path(options: Mapping[str, Any]) -> Path | None:
    """The store a command records in: none for a command without the history options
    (explain), else --history, $RECONCILE_HISTORY or the user's (reconcile.history)."""
    if "no_history" not in options:
        return None
    return store_path(options.get("history"), bool(options.get("no_history")))
