"""What a run is asked to do (:class:`RunOptions`) and what it made (:class:`RunResult`).

Stage: none (the values :func:`reconcile.pipeline.run` takes and returns). The
report, the JSON and the explanation read a :class:`RunResult`; the history store
and the web page receive one from the pipeline. Each stage's own result keeps its
own type: :class:`~reconcile.rulebook.load.Rulebook`,
:class:`~reconcile.rulebook.evaluate.Evaluation`,
:class:`~reconcile.calculate.Calculation`, :class:`~reconcile.compare.Comparison`,
:class:`~reconcile.split.SplitResult`, :class:`~reconcile.sheets.Workbook`.

Progress: the pipeline tells an optional callback of every stage's start and end
(:class:`ProgressEvent`), with ``done``/``total`` where a stage can count its work.

Example::

    result = run(RunOptions(declarations=Path("decl.csv"), with_json=True))
    result.json["statements"][0]["expected"]["total"]      # '73747.25'
    dict(result.timings)["calculate"]                      # seconds
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile.findings import Finding, Severity
from reconcile.inputfiles import InputFile
from reconcile.model import Declaration, DfeStatement

if TYPE_CHECKING:  # the stages' result types, for annotations only
    from reconcile.calculate import Calculation
    from reconcile.compare import Comparison
    from reconcile.history.follow import RunHistory
    from reconcile.rulebook.evaluate import Evaluation
    from reconcile.rulebook.load import Rulebook
    from reconcile.sheets import Workbook
    from reconcile.split import SplitResult

#: every stage of a run, in order (a stage that has nothing to do is skipped)
STAGES = ("rules", "read", "evaluate", "calculate", "compare", "split", "history", "report",
          "json", "write")


class RunOptions(NamedTuple):
    """The inputs of one run, what to build, and where to write it (nothing by default).

    ``declarations`` and ``dfe_statements`` are files or folders, each may be several
    (a single path is accepted too)."""

    declarations: tuple[Path, ...]
    dfe_statements: tuple[Path, ...] = ()
    #: DfE's v3 participants pages (GET /api/v3/participants/ecf): files or folders
    participants: tuple[Path, ...] = ()
    #: the provider of a v3 API statements list (and of this run: others' declarations
    #: are left out)
    lead_provider: str | None = None
    #: the workbook sheet holding the declarations (default: found by its headers)
    sheet: str | None = None
    rules_dir: Path | None = None
    contracts: tuple[Path, ...] = ()
    engine: str = "auto"
    #: today's date for the date checks (None: today)
    as_of: dt.date | None = None
    #: no progress lines on standard error (when no progress callback is given)
    quiet: bool = True
    with_split: bool = False
    tolerance: Decimal = Decimal("0.00")
    #: build the reconciliation workbook value (implied by ``workbook``)
    with_report: bool = False
    #: build the JSON result value (implied by ``json_out``)
    with_json: bool = False
    #: write the reconciliation workbook here
    workbook: Path | None = None
    #: write the JSON result here (``-``: standard output)
    json_out: Path | None = None
    #: write the delivery-partner split as JSON here (``-``: standard output)
    split_json: Path | None = None
    #: write the delivery-partner split as a workbook here
    split_workbook: Path | None = None
    #: write one remittance workbook per delivery partner into this folder
    remittances: Path | None = None
    #: the delivery partners' names, emails and addresses (CSV or xlsx; ``--partners``)
    partners: Path | None = None
    #: the split's outputs limited to these statements (``--statement NAME``) and
    #: payment months (``--payment-month YYYY-MM``): a month's remittances
    split_statements: tuple[str, ...] = ()
    split_months: tuple[str, ...] = ()
    #: a folder of the outputs above, created (with its parents) only when writing
    out_dir: Path | None = None
    #: the history store the run is recorded in, committed with the outputs
    #: (reconcile.history; None: no history)
    history: Path | None = None


#: the options that say what to build, where to write it and what to show, not what
#: the run computes (the Rules sheet lists every other option, to reproduce the run)
PRESENTATION_OPTIONS = frozenset({
    "quiet", "with_report", "with_json", "workbook", "json_out", "split_json",
    "split_workbook", "remittances", "out_dir", "history", "split_statements", "partners",
    "split_months"})


class ProgressEvent(NamedTuple):
    """One step of a run, for a progress bar or a log.

    A stage sends one event when it starts (``seconds`` None), may send more while it
    works when it can count (``done`` of ``total``) or has news (``note``), and one
    when it ends (``seconds`` set). ``index`` is the stage's place in :data:`STAGES`.
    """

    stage: str
    detail: str
    done: int | None = None
    total: int | None = None
    seconds: float | None = None
    #: a line of news within the stage (e.g. each input file as it is read)
    note: str = ""

    @property
    def index(self) -> int:  # type: ignore[override]  # the stage's place, not tuple.index
        return STAGES.index(self.stage)

    @property
    def finished(self) -> bool:
        return self.seconds is not None


ProgressCallback = Callable[[ProgressEvent], None]


class RunResult(NamedTuple):
    """Everything one run read, found and built (what was written is on disk)."""

    options: RunOptions
    rulebook: Rulebook
    declarations: tuple[Declaration, ...]
    dfe_statements: tuple[DfeStatement, ...]
    evaluation: Evaluation
    calculation: Calculation
    comparison: Comparison | None
    split: SplitResult | None
    findings: tuple[Finding, ...]
    #: seconds per stage, in the order they ran (report, json and write included)
    timings: tuple[tuple[str, float], ...]
    #: every input file read: role, path, SHA-256 (reconcile.inputfiles.identify_file)
    inputs: tuple[InputFile, ...] = ()
    #: what the reading noticed (files of identical content, declarations per file)
    notes: tuple[str, ...] = ()
    #: notices about DfE's reference data (statement calendar, schedules) for the
    #: cohorts in scope: shown once, on the Rules sheet, not as findings
    notices: tuple[Finding, ...] = ()
    #: the reconciliation workbook (when asked for)
    workbook: Workbook | None = None
    #: the JSON result as plain data (when asked for)
    json: dict[str, Any] | None = None
    #: this run in the history: its changes, its findings followed (None: no history)
    history: RunHistory | None = None
    #: the date the date checks used (``options.as_of``, else the day of the run)
    as_of: dt.date | None = None

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        """The findings still open: every one, but those accepted in the history (its
        ``history note --status accepted``; without a history, none is)."""
        history = self.history
        if history is None:
            return self.findings
        return tuple(f for f in self.findings if not history.is_accepted(f))

    @property
    def has_errors(self) -> bool:
        """An ``error`` finding, unless accepted in the history (``history note``)."""
        history = self.history
        return any(f.severity is Severity.ERROR
                   and not (history is not None and history.is_accepted(f))
                   for f in self.findings)
