"""The only orchestrator: read -> validate -> evaluate rules -> calculate -> compare -> report -> write.

Each stage takes data and returns data plus findings; findings pile up in the
:class:`RunResult` instead of being raised. A :class:`~reconcile.errors.ReconcileError`
(bad input, bad rules, bad usage) stops the run before anything is written:
outputs are committed together at the very end (:mod:`reconcile.outputs`).

The ``command_*`` functions are what the CLI calls; each returns the exit status.

Example (what ``reconcile expected`` does)::

    result = run(RunOptions(declarations=Path("decl.csv")))
    print(result.calculation.statements[0].total)
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from reconcile.errors import Problem, UsageError
from reconcile.findings import Finding, Severity, sort_key
from reconcile.outputs import Outputs

EXIT_OK, EXIT_FINDINGS = 0, 1


class RunOptions(NamedTuple):
    """What a run reads and how. ``declarations`` and ``dfe_statements`` are files or
    folders, each may be several (a single path is accepted too)."""

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
    as_of: dt.date | None = None
    quiet: bool = True
    with_split: bool = False
    tolerance: Decimal = Decimal("0.00")


class RunResult(NamedTuple):
    options: RunOptions
    rulebook: Any
    declarations: tuple
    dfe_statements: tuple
    evaluation: Any
    calculation: Any
    comparison: Any | None
    split: Any | None
    findings: tuple[Finding, ...]
    timings: tuple[tuple[str, float], ...]
    #: every input file read: role, path, SHA-256 (reconcile.inputfiles.identify_file)
    inputs: tuple = ()
    #: what the reading noticed (files of identical content, declarations per file)
    notes: tuple[str, ...] = ()
    #: notices about DfE's reference data (statement calendar, schedules) for the
    #: cohorts in scope: shown once, on the Rules sheet, not as findings
    notices: tuple[Finding, ...] = ()

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


class Progress:
    """Stage timings, and progress lines on standard error unless quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.timings: list[tuple[str, float]] = []

    def say(self, text: str) -> None:
        """One progress line (e.g. each input file as it is read)."""
        if not self.quiet:
            print(f"reconcile: {text}", file=sys.stderr, flush=True)

    @contextmanager
    def stage(self, name: str, detail: str = ""):
        start = time.perf_counter()
        if not self.quiet:
            print(f"reconcile: {name}{' ' + detail if detail else ''} ...", file=sys.stderr,
                  flush=True)
        yield
        took = time.perf_counter() - start
        self.timings.append((name, took))
        if not self.quiet:
            print(f"reconcile: {name} done in {took:.2f}s", file=sys.stderr, flush=True)


def input_paths(value: object) -> tuple[Path, ...]:
    """A run's paths of one input: none, one path, or several."""
    if value is None:
        return ()
    if isinstance(value, (str, Path)):
        return (Path(value),)
    return tuple(Path(v) for v in value)  # type: ignore[attr-defined]


def run(options: RunOptions) -> RunResult:
    """Every stage in order; returns the whole result (nothing is written here)."""
    from reconcile.calculate import calculate
    from reconcile.inputfiles import DECLARATIONS, DFE_STATEMENTS, expand_inputs
    from reconcile.read.inputs import read_inputs
    from reconcile.rulebook.evaluate import evaluate
    from reconcile.rulebook.load import load_rulebook
    from reconcile.scope import check_contracts, notices_in_scope, statements_in_scope

    from reconcile.inputfiles import PARTICIPANTS

    options = options._replace(declarations=input_paths(options.declarations),
                               dfe_statements=input_paths(options.dfe_statements),
                               participants=input_paths(options.participants))
    progress = Progress(options.quiet)
    as_of = options.as_of or dt.date.today()
    declaration_files = expand_inputs(options.declarations, DECLARATIONS)
    dfe_files = expand_inputs(options.dfe_statements, DFE_STATEMENTS)
    participant_files = expand_inputs(options.participants, PARTICIPANTS)
    with progress.stage("rules", "loading the rulebook"):
        # the bundled rules' example contracts are not the user's: a run's contracts
        # are the ones given (--contracts, or --rules DIR/contracts)
        rulebook = load_rulebook(options.rules_dir, options.contracts, example_contracts=False)
    count = len(declaration_files) + len(dfe_files) + len(participant_files)
    with progress.stage("read", f"{count} input file(s)"):
        # DfE's statements first: a declaration without a cohort (the v3 API has none)
        # takes it from the statement it is attached to.
        inputs = read_inputs(declaration_files, dfe_files, rulebook.vocabulary,
                             participants=participant_files, calendar=rulebook.calendar,
                             lead_provider=options.lead_provider, sheet=options.sheet,
                             say=progress.say)
        declarations, dfe_statements = inputs.declarations, inputs.dfe_statements
        check_contracts(declarations, rulebook)  # a provider without a contract: exit 2
        dfe_statements, out_of_scope = statements_in_scope(dfe_statements, declarations)
        notes = (*rulebook.notes, *inputs.notes, *((out_of_scope,) if out_of_scope else ()))
    with progress.stage("evaluate", f"{len(declarations):,} declarations through the rules"):
        evaluation = evaluate(declarations, rulebook, as_of=as_of, backend=options.engine)
    with progress.stage("calculate", "expected payments per statement"):
        calculation = calculate(declarations, evaluation, rulebook, dfe_statements,
                                as_of=as_of)
    comparison = None
    coverage_findings: tuple[Finding, ...] = ()
    if dfe_statements:
        from reconcile.compare import compare
        from reconcile.coverage import not_comparable

        # assurance reports alone: only statements whose earlier ones are covered
        uncovered, note = not_comparable(calculation.statements, inputs.coverage)
        coverage_findings = (note,) if note is not None else ()
        with progress.stage("compare", "expected against DfE"):
            comparison = compare(calculation, dfe_statements, rulebook,
                                 declarations=declarations, tolerance=options.tolerance,
                                 not_compared_keys=uncovered)
    split_result = None
    if options.with_split:
        from reconcile.split import split_payments

        with progress.stage("split", "delivery-partner shares"):
            split_result = split_payments(calculation, declarations, rulebook)
    findings = [*inputs.findings, *evaluation.findings, *calculation.findings,
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
    return RunResult(options, rulebook, declarations, dfe_statements, evaluation, calculation,
                     comparison, split_result, tuple(findings), tuple(progress.timings),
                     inputs.files, notes, notices_in_scope(rulebook.findings, declarations))


def _exit_status(result: RunResult) -> int:
    return EXIT_FINDINGS if result.has_errors else EXIT_OK


def _summary(result: RunResult) -> str:
    from collections import Counter

    from reconcile.compare import without_dfe
    from reconcile.providers import console_lines

    by_severity = Counter(f.severity.value for f in result.findings)
    parts = [f"{len(result.calculation.statements)} statement(s)",
             f"{len(result.declarations):,} declaration(s)",
             ", ".join(f"{by_severity.get(s, 0)} {s}" for s in ("error", "warning", "info"))]
    # several providers: the ones that differ most lead (reconcile.providers)
    leading = console_lines(result.comparison or without_dfe(result.calculation),
                            result.findings)
    return "\n".join([*leading, "reconcile: " + "; ".join(parts)])


def _options(**options) -> RunOptions:
    as_of = options.get("as_of")
    return RunOptions(
        declarations=input_paths(options["declarations"]),
        dfe_statements=input_paths(options.get("dfe_statements")),
        participants=input_paths(options.get("participants")),
        lead_provider=options.get("lead_provider") or None,
        sheet=options.get("sheet") or None,
        rules_dir=options.get("rules_dir"),
        contracts=tuple(options.get("contracts") or ()),
        engine=options.get("engine") or "auto",
        as_of=as_of.date() if isinstance(as_of, dt.datetime) else as_of,
        quiet=options.get("quiet", False) or str(options.get("json_out")) == "-",
        tolerance=options.get("tolerance") or Decimal("0.00"),
    )


def _check_engine(engine: str) -> None:
    """Fail on an engine this Python cannot run before any input is read."""
    from reconcile.rulebook.engine import choose_backend

    choose_backend(engine)


def _checked(options: dict, *, with_split: bool = False) -> RunOptions:
    """The run's options, after the checks that need no work: engine, input files."""
    from reconcile.inputfiles import DECLARATIONS, DFE_STATEMENTS, PARTICIPANTS, expand_inputs

    opts = _options(**options)._replace(with_split=with_split)
    _check_engine(opts.engine)
    problems: list[Problem] = []
    for paths, role in ((opts.declarations, DECLARATIONS), (opts.dfe_statements, DFE_STATEMENTS),
                        (opts.participants, PARTICIPANTS)):
        try:
            expand_inputs(paths, role)
        except UsageError as error:
            problems.extend(error.problems)
    if problems:
        raise UsageError(problems)
    return opts


def command_expected(**options) -> int:
    opts = _checked(options)
    from reconcile.jsonout import result_json

    outputs = Outputs()
    result = run(opts)
    outputs.json(options["json_out"], lambda: result_json(result))
    outputs.commit()
    if not opts.quiet:
        print(_summary(result), file=sys.stderr)
    return _exit_status(result)


def command_run(**options) -> int:
    from reconcile.jsonout import result_json
    from reconcile.report import build_workbook
    from reconcile.write import write_workbook

    opts = _checked(options, with_split=True)
    outputs = Outputs()
    outputs.file(options["out"], lambda tmp: write_workbook(book, tmp))
    if options.get("json_out"):
        outputs.json(options["json_out"], lambda: result_json(result))
    outputs.check_writable()  # before the work, not after it
    result = run(opts)
    progress = Progress(opts.quiet)
    with progress.stage("report", "building the workbook"):
        book = build_workbook(result)
    with progress.stage("write", f"writing {options['out']}"):
        outputs.commit()
    if not opts.quiet:
        print(_summary(result), file=sys.stderr)
    return _exit_status(result)


def command_split(**options) -> int:
    from reconcile.split import split_json, write_remittances, write_split_workbook

    opts = _checked(options, with_split=True)
    if not (options.get("json_out") or options.get("out") or options.get("per_partner")):
        raise UsageError("say where to write the split: --json, --out and/or --per-partner")
    result = run(opts)
    outputs = Outputs()
    if options.get("json_out"):
        outputs.json(options["json_out"], lambda: split_json(result.split))
    if options.get("out"):
        outputs.file(options["out"], lambda tmp: write_split_workbook(result.split, tmp))
    if options.get("per_partner"):
        write_remittances(result, options["per_partner"], outputs)
    outputs.commit()
    return _exit_status(result)  # INTERFACES §1: 1 when error findings, as for run


def command_explain(**options) -> int:
    from reconcile.explain import explain_declaration, render_explanation

    opts = _checked(options)
    result = run(opts._replace(quiet=True))
    explanation = explain_declaration(result, options["declaration_id"])
    if options.get("json_out"):
        outputs = Outputs()
        outputs.json(options["json_out"], explanation.as_json)
        outputs.commit()
    if str(options.get("json_out")) != "-":
        print(render_explanation(explanation))
    return EXIT_OK


def command_rules_check(rules_dir: Path | None, contracts: Sequence[Path]) -> int:
    from reconcile.rulebook.load import load_rulebook

    rulebook = load_rulebook(rules_dir, tuple(contracts))  # every file problem, file:line
    from reconcile.rulebook.evaluate import check_rules

    check_rules(rulebook)  # then the rules compile into every available engine backend
    print(f"reconcile: rulebook OK: {rulebook.summary()}")
    for note in rulebook.notes:
        print(f"reconcile: note: {note}")
    return EXIT_OK


def command_rules_show(rules_dir: Path | None, contracts: Sequence[Path]) -> int:
    from reconcile.rulebook.load import load_rulebook
    from reconcile.rulebook.show import render_rulebook

    print(render_rulebook(load_rulebook(rules_dir, tuple(contracts))))
    return EXIT_OK


def command_template(kind: str, out: Path) -> int:
    from reconcile.templates import write_template

    write_template(kind, out)
    return EXIT_OK


def command_demo(out_dir: Path, engine: str = "auto", quiet: bool = False) -> int:
    from reconcile.demo import run_demo

    return run_demo(out_dir, engine=engine, quiet=quiet)
