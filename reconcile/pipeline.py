"""The only orchestrator: rules -> read -> evaluate -> calculate -> compare -> split ->
report -> json -> write.

Each stage takes data and returns data plus findings; findings pile up in the
:class:`~reconcile.result.RunResult` instead of being raised. A
:class:`~reconcile.errors.ReconcileError` (bad input, bad rules, bad usage) stops the
run before anything is written: the outputs the options ask for are committed
together at the very end (:mod:`reconcile.outputs`), after every other stage.

Every caller sequences a run through :func:`run`: the command line (``run``,
``expected``, ``split``, ``explain``, ``demo``), and whatever else needs a run. Each
stage's time is recorded in ``RunResult.timings``; an optional callback hears every
stage start and end (:class:`~reconcile.result.ProgressEvent`), e.g. for a progress
bar; without one, progress lines go to standard error unless ``options.quiet``.

Example (what ``reconcile expected --json out.json`` does)::

    result = run(RunOptions(declarations=Path("decl.csv"), json_out=Path("out.json")))
    print(result.calculation.statements[0].total)
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

from reconcile.calculate import calculate
from reconcile.compare import Comparison, compare
from reconcile.coverage import not_comparable, set_aside
from reconcile.findings import Finding, sort_key
from reconcile.history.follow import Recorder, with_history
from reconcile.history.location import ensure_folder
from reconcile.history.store import Store, open_store
from reconcile.inputfiles import (
    DFE_STATEMENTS,
    PARTICIPANTS,
    expand_inputs,
    identify_file,
    route_api_files,
)
from reconcile.jsonout import result_json
from reconcile.model import StatementKey
from reconcile.outputs import Outputs, check_output_paths
from reconcile.paths import bundled_rules_dir
from reconcile.read.inputs import read_inputs
from reconcile.read.partners import read_partners
from reconcile.remittance import remittance_workbooks, split_workbook
from reconcile.report import build_workbook
from reconcile.result import STAGES, ProgressCallback, ProgressEvent, RunOptions, RunResult
from reconcile.rulebook.evaluate import evaluate
from reconcile.rulebook.load import load_rulebook
from reconcile.scope import check_contracts, notices_in_scope, statements_in_scope
from reconcile.sheets import Workbook
from reconcile.split import SplitResult, select_statements, split_json, split_payments
from reconcile.write import write_workbook

__all__ = ["STAGES", "ProgressEvent", "RunOptions", "RunResult", "collector_paused",
           "input_paths", "print_progress", "run"]


def print_progress(event: ProgressEvent) -> None:
    """The progress lines on standard error: one when a stage starts, one when it ends.

    ``reconcile: <stage> done in <seconds>s`` is also what ``make bench`` reads.
    """
    if event.finished:
        print(f"reconcile: {event.stage} done in {event.seconds:.2f}s", file=sys.stderr,
              flush=True)
    elif event.note:
        print(f"reconcile: {event.note}", file=sys.stderr, flush=True)
    elif event.done is None:
        detail = f" {event.detail}" if event.detail else ""
        print(f"reconcile: {event.stage}{detail} ...", file=sys.stderr, flush=True)


Tick = Callable[[int, int], None]


class _Stages:
    """Times each stage and tells the progress callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.timings: list[tuple[str, float]] = []

        self.current = ""

    def _tell(self, event: ProgressEvent) -> None:
        if self.callback is not None:
            self.callback(event)

    def note(self, text: str) -> None:
        """One line of news within the current stage (e.g. each input file read)."""
        self._tell(ProgressEvent(self.current, "", note=text))

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[Tick]:
        """``with stages.stage("write", ...) as tick:`` ... ``tick(done, total)``."""
        assert name in STAGES, name
        start = time.perf_counter()
        self.current = name
        self._tell(ProgressEvent(name, detail))

        def tick(done: int, total: int) -> None:
            self._tell(ProgressEvent(name, detail, done, total))

        yield tick
        took = time.perf_counter() - start
        self.timings.append((name, took))
        self._tell(ProgressEvent(name, detail, seconds=took))


def run(options: RunOptions, progress: ProgressCallback | None = None) -> RunResult:
    """Every stage in order; builds and writes what ``options`` asks for, and records
    the run in ``options.history`` (committed together with the outputs).

    ``progress`` hears every stage (default: :func:`print_progress` unless
    ``options.quiet``). Bad input raises :class:`~reconcile.errors.ReconcileError`
    before anything is written.
    """
    with ExitStack() as closing:
        return _run(options, progress, closing)


def _run(options: RunOptions, progress: ProgressCallback | None,
         closing: ExitStack) -> RunResult:
    if progress is None and not options.quiet:
        progress = print_progress
    stages = _Stages(progress)
    options = options._replace(declarations=input_paths(options.declarations),
                               dfe_statements=input_paths(options.dfe_statements),
                               participants=input_paths(options.participants))
    # a folder of an API pull holds its participants and statements list too
    routed = route_api_files(options.declarations)
    declaration_files = routed.declarations
    dfe_files = _distinct(expand_inputs(options.dfe_statements, DFE_STATEMENTS)
                          + routed.dfe_statements)
    participant_files = _distinct(expand_inputs(options.participants, PARTICIPANTS)
                                  + routed.participants)
    if options.history is not None:
        ensure_folder(options.history)  # the default store's folder is made when needed
    check_outputs(options)  # before the work, not after it (the history store included)
    store: Store | None = None
    if options.history is not None and options.history.exists():
        # a store that cannot be used (not ours, damaged, newer) stops the run here; a
        # new one is made only when the run gets as far as the history stage, so a run
        # refused for bad input leaves no store behind
        store = closing.enter_context(open_store(options.history))
    as_of = options.as_of or dt.date.today()
    # One pause of the cyclic garbage collector, from reading to the history: these
    # stages build millions of small acyclic records (declarations, facts,
    # attributions, the history's rows), which the collector would otherwise walk
    # again and again as they accumulate (it more than doubled the reading and took
    # a third of the calculation at a million declarations). The report and the
    # writing run with it: they make garbage (XlsxWriter's objects) and little to keep.
    with collector_paused():
        with stages.stage("rules", "loading the rulebook"):
            # the bundled rules' example contracts are not the user's: a run's contracts
            # are the ones given (--contracts, or --rules DIR/contracts)
            rulebook = load_rulebook(options.rules_dir, options.contracts, example_contracts=False)
        count = len(declaration_files) + len(dfe_files) + len(participant_files)
        with stages.stage("read", f"{count} input file(s)"):
            # DfE's statements first: a declaration without a cohort (the v3 API has none)
            # takes it from the statement it is attached to.
            inputs = read_inputs(declaration_files, dfe_files, rulebook.vocabulary,
                                 participants=participant_files, calendar=rulebook.calendar,
                                 lead_provider=options.lead_provider, sheet=options.sheet,
                                 say=stages.note, largest_amount=rulebook.fees.largest_amount,
                                 largest_count=rulebook.fees.largest_count)
            declarations, dfe_statements = inputs.declarations, inputs.dfe_statements
            check_contracts(declarations, rulebook)  # a provider without a contract: exit 2
            dfe_statements, out_of_scope = statements_in_scope(dfe_statements, declarations)
            notes = (*rulebook.notes, *routed.notes, *inputs.notes,
                     *((out_of_scope,) if out_of_scope else ()))
        with stages.stage("evaluate", f"{len(declarations):,} declarations through the rules"):
            evaluation = evaluate(declarations, rulebook, as_of=as_of, backend=options.engine)
        with stages.stage("calculate", "expected payments per statement"):
            calculation = calculate(declarations, evaluation, rulebook, dfe_statements,
                                    as_of=as_of)
        comparison: Comparison | None = None
        uncovered: frozenset[StatementKey] = frozenset()
        note: Finding | None = None
        if dfe_statements:
            # assurance reports alone: only statements whose earlier ones are covered
            uncovered, note = not_comparable(calculation.statements, inputs.coverage)
            with stages.stage("compare", "expected against DfE"):
                comparison = compare(calculation, dfe_statements, rulebook,
                                     declarations=declarations, tolerance=options.tolerance,
                                     not_compared_keys=uncovered)
        split_result: SplitResult | None = None
        input_files = inputs.files
        if options.with_split:
            directory = None
            if options.partners is not None:
                directory = read_partners(options.partners)
                input_files = (*input_files, identify_file(options.partners, "partners"))
            dfe_nets = ({p.key: p.dfe_net for p in comparison.matched if p.dfe_net is not None}
                        if comparison is not None else {})
            with stages.stage("split", "delivery-partner shares"):
                split_result = split_payments(calculation, declarations, rulebook,
                                              dfe_nets=dfe_nets, directory=directory)
            # a month's remittances: checked now, before anything is written
            select_statements(split_result, options.split_statements, options.split_months)
        calculation_findings, note = set_aside(calculation.findings, calculation.statements,
                                             inputs.coverage, uncovered, note)
        coverage_findings = (note,) if note is not None else ()
        findings = [*inputs.findings, *evaluation.findings, *calculation_findings,
                    *coverage_findings]
        if comparison is not None:
            findings.extend(comparison.findings)
        if split_result is not None:
            # a declaration without a delivery partner is reported once, by the rule
            # no-delivery-partner (DECL_NO_DELIVERY_PARTNER); the split's own per-statement
            # note of it stays in the split's result (reconcile split --json)
            findings.extend(f for f in split_result.findings
                            if f.code != "SPLIT_NO_DELIVERY_PARTNER")
        findings.sort(key=sort_key)
        result = RunResult(options, rulebook, declarations, dfe_statements, evaluation,
                           calculation, comparison, split_result, tuple(findings), (),
                           inputs=input_files, notes=notes, as_of=as_of,
                           notices=notices_in_scope(rulebook.findings, declarations))
        recorder: Recorder | None = None
        if store is None and options.history is not None:
            store = closing.enter_context(open_store(options.history))
        if store is not None:
            with stages.stage("history", f"changes since the previous run ({store.path})"):
                result, recorder = with_history(result, store, _command(options))
    if options.with_report or options.workbook is not None:
        with stages.stage("report", "building the workbook"):
            result = result._replace(workbook=build_workbook(result))
    if options.with_json or options.json_out is not None:
        with stages.stage("json", "the JSON result"):
            result = result._replace(json=result_json(result))
    outputs = _outputs(result)
    publish = recorder.recording if recorder is not None else None
    if outputs.paths() or publish is not None:
        written = [str(path or "standard output") for path in outputs.paths()]
        if recorder is not None:
            written.append(f"run {recorder.history.run_id} to the history")
        with stages.stage("write", "writing " + " and ".join(written)) as tick:
            outputs.commit(tick, publish)
    return result._replace(timings=tuple(stages.timings))


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection within the block (the state before is restored).

    :func:`run` holds it over the stages that build a run's records; ``make bench``'s
    stage benches time those stages under it too, as the run does.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _distinct(paths: tuple[Path, ...]) -> tuple[Path, ...]:
    """The paths in order, each file once (named twice: in a folder and on its own)."""
    seen: set[Path] = set()
    kept = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            kept.append(path)
    return tuple(kept)


def _command(options: RunOptions) -> str:
    """The command a run is recorded as: split, run (a workbook) or expected."""
    if options.split_json or options.split_workbook or options.remittances:
        return "split"
    return "run" if options.workbook is not None else "expected"


def input_paths(value: Path | str | tuple[Path, ...] | None) -> tuple[Path, ...]:
    """A run's paths of one input: none, one path, or several."""
    if value is None:
        return ()
    if isinstance(value, (str, Path)):
        return (Path(value),)
    return tuple(Path(v) for v in value)


def check_outputs(options: RunOptions,
                  extra: Sequence[tuple[str, Path | None]] = ()) -> None:
    """Fail before any work when an output cannot be written where it is asked for, or
    would replace an input or another output (:func:`reconcile.outputs.check_output_paths`);
    ``extra`` are a command's own outputs, ``(option, path)``."""
    workbook_label = "--out" if options.workbook is not None else "the workbook"
    check_output_paths(
        [(workbook_label, options.workbook), ("--json", options.json_out),
         ("--json" if options.json_out is None else "the split JSON", options.split_json),
         ("--out" if options.workbook is None else "the split workbook",
          options.split_workbook), ("--history", options.history), *extra],
        [*(("--declarations", p) for p in options.declarations),
         *(("--dfe-statements", p) for p in options.dfe_statements),
         *(("--participants", p) for p in options.participants),
         *((("--partners", options.partners),) if options.partners is not None else ()),
         *(("--contracts", p) for p in options.contracts),
         ("--rules", options.rules_dir or bundled_rules_dir()),
         *(("--rules", p) for p in _yaml_files(options.rules_dir or bundled_rules_dir()))],
        folders=[("--per-partner", options.remittances), ("--out", options.out_dir)])


def _yaml_files(folder: Path) -> list[Path]:
    """The rules folder's YAML files and its contracts' (an output must not replace one)."""
    if not folder.is_dir():
        return []
    return [*folder.glob("*.y*ml"), *(folder / "contracts").glob("*.y*ml")]


def _outputs(result: RunResult) -> Outputs:
    """What the options ask to write, in order: workbook, JSON, split JSON, split
    workbook, remittances. Each file is rendered only when committed."""
    options, outputs = result.options, Outputs()
    if options.out_dir is not None:
        outputs.folder(options.out_dir)
    workbook, json_value, split = result.workbook, result.json, result.split
    if split is not None:  # the split's outputs: the statements asked for (all by default)
        split = select_statements(split, options.split_statements, options.split_months)
    if options.workbook is not None and workbook is not None:
        outputs.file(options.workbook, lambda tmp: write_workbook(workbook, tmp))
    if options.json_out is not None and json_value is not None:
        outputs.json(options.json_out, lambda: json_value)
    if split is not None:
        if options.split_json is not None:
            outputs.json(options.split_json, lambda: split_json(split))
        if options.split_workbook is not None:
            outputs.file(options.split_workbook,
                         lambda tmp: write_workbook(split_workbook(split), tmp))
        if options.remittances is not None:
            _add_remittances(outputs, options.remittances, split)
    return outputs


def _add_remittances(outputs: Outputs, folder: Path, split: SplitResult) -> None:
    """One remittance workbook per delivery partner in ``folder`` (made at commit)."""
    outputs.folder(folder)
    for file_name, build in remittance_workbooks(split).items():
        outputs.file(folder / file_name, partial(_write_built, build))


def _write_built(build: Callable[[], Workbook], path: Path) -> None:
    write_workbook(build(), path)
