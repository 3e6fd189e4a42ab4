"""The ``reconcile`` command line: parse options, call the pipeline, exit 0/1/2.

Exit status (defined here, once): 0 done with no ``error`` finding; 1 done and
discrepancies of severity ``error`` found (like ``diff``); 2 bad input or usage,
with every problem on standard error and nothing written; 3 a bug in reconcile;
130 interrupted. Never a traceback for bad input: every
:class:`~reconcile.errors.ReconcileError` becomes a message.

Every command that reads declarations runs :func:`reconcile.pipeline.run`, the one
sequencer, with the options it was given. The stages are imported inside the
commands, not at the top: ``reconcile --help`` and a usage error then answer in a
twentieth of a second instead of the third of a second importing every stage takes.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from reconcile import __version__
from reconcile.errors import ReconcileError, UsageError
from reconcile.interrupts import Interrupted, exit_interrupted
from reconcile.outputs import environment_fault
from reconcile.money import MoneyError, to_decimal
from reconcile.result import RunOptions, RunResult


#: the exit statuses of every command
EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _fail(error: ReconcileError) -> NoReturn:
    click.echo(f"reconcile: {error.kind}:", err=True)
    click.echo(error.render(), err=True)
    sys.exit(EXIT_BAD_INPUT)


class _Group(click.Group):
    """Turns every ReconcileError raised by a command into a message and exit 2.

    Anything else is a bug in reconcile, not bad input: one line saying so and exit 3
    (the traceback only with RECONCILE_DEBUG=1, for the bug report).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ReconcileError as error:
            _fail(error)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except BrokenPipeError:
            # the reader went away (e.g. `reconcile rules show | head`): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_OK)
        except (KeyboardInterrupt, Interrupted) as stop:  # Ctrl-C, SIGTERM: 130, 143
            exit_interrupted(stop)
        except (OSError, MemoryError) as exc:
            fault = environment_fault(exc)  # a full disk, a read-only folder: exit 2
            if fault is not None:
                _fail(fault)
            _bug(exc)
            raise
        except Exception as exc:
            _bug(exc)
            raise


def _bug(exc: BaseException) -> None:
    """A bug in reconcile: one line saying so and exit 3 (with RECONCILE_DEBUG=1 the
    caller raises the exception instead, for the traceback)."""
    if os.environ.get("RECONCILE_DEBUG"):
        return
    click.echo(f"reconcile: internal error: {type(exc).__name__}: {exc}", err=True)
    click.echo("This is a bug in reconcile, not in your input; nothing was written. "
               "Rerun with RECONCILE_DEBUG=1 to see the traceback for a bug report.",
               err=True)
    sys.exit(EXIT_BUG)


class _Pounds(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A non-negative amount of money, read exactly (never through a float)."""

    name = "pounds"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            amount = to_decimal(str(value))
        except MoneyError:
            self.fail(f"{value!r} is not an amount of money, e.g. 0.05", param, ctx)
        if amount < 0:
            self.fail("a tolerance cannot be negative", param, ctx)
        return amount


class _Month(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2
    """A payment month, ``YYYY-MM`` (e.g. 2025-10)."""

    name = "month"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> str:
        try:
            return dt.datetime.strptime(str(value).strip(), "%Y-%m").strftime("%Y-%m")
        except ValueError:
            self.fail(f"{value!r} is not a month: write it as YYYY-MM, e.g. 2025-10",
                      param, ctx)


def _run_options(options: dict[str, Any], **more: Any) -> RunOptions:
    """:func:`reconcile.options.run_options` (imported when a command runs)."""
    from reconcile.options import run_options

    return run_options(options, **more)


def summary(result: RunResult) -> str:
    """The lines ``run`` and ``expected`` end with on standard error: with several
    providers, the ones that differ most first; then statements, declarations and
    findings by severity."""
    from reconcile.compare import without_dfe
    from reconcile.providers import console_lines

    by_severity = Counter(f.severity.value for f in result.findings)
    parts = [f"{len(result.calculation.statements)} statement(s)",
             f"{len(result.declarations):,} declaration(s)",
             ", ".join(f"{by_severity.get(s, 0)} {s}" for s in ("error", "warning", "info"))]
    leading = console_lines(result.comparison or without_dfe(result.calculation),
                            result.open_findings)
    return "\n".join([*leading, "reconcile: " + "; ".join(parts), *_history_lines(result)])


def _history_lines(result: RunResult) -> list[str]:
    """What the history says after a run: its number, the changes, findings by status."""
    if result.history is None:
        return []
    from reconcile.history.follow import console_lines as history_lines

    return history_lines(result.history)


def _finished(result: RunResult) -> NoReturn:
    """The summary on standard error (unless quiet); exit 1 on error findings."""
    if not result.options.quiet:
        click.echo(summary(result), err=True)
    sys.exit(EXIT_FINDINGS if result.has_errors else EXIT_OK)


rules_option = click.option(
    "--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Rulebook folder (default: the rules bundled with reconcile).")
contracts_option = click.option(
    "--contracts", multiple=True, type=click.Path(path_type=Path),
    help="Your contracts: YAML file or folder; may be repeated. Contracts in "
         "--rules DIR/contracts/ are loaded too (the bundled rules' example contracts are not).")
declarations_option = click.option(
    "--declarations", required=True, multiple=True, type=click.Path(path_type=Path),
    help="Declarations: .xlsx (sheet 'Declarations'), .csv (e.g. DfE's assurance reports), "
         "or v3 API .json pages. May be repeated, or name a folder (every .xlsx, .csv and "
         ".json in it, in name order).")
dfe_option = click.option(
    "--dfe-statements", "dfe_statements", multiple=True, type=click.Path(path_type=Path),
    help="DfE statements: .xlsx with sheets Statements and Lines, or v3 API statements .json. "
         "May be repeated, or name a folder.")
participants_option = click.option(
    "--participants", multiple=True, type=click.Path(path_type=Path),
    help="DfE's participants, v3 API .json pages (GET /api/v3/participants/ecf): each "
         "participant's schedule, cohort, uplift flags and retired ids, which the API's "
         "declarations lack. May be repeated, or name a folder.")
lead_provider_option = click.option(
    "--lead-provider", "lead_provider", metavar="NAME",
    help="The lead provider this run is for: the provider of a v3 API statements list "
         "(which names none); declarations of other providers are left out.")
sheet_option = click.option(
    "--sheet", metavar="NAME",
    help="The workbook sheet holding the declarations (default: 'Declarations', else the "
         "sheet whose headers are declarations).")
engine_option = click.option(
    "--engine", type=click.Choice(["auto", "durable", "python"]), default="auto", show_default=True,
    help="Rules engine backend: durable-rules where it imports, else the pure-Python one.")
as_of_option = click.option(
    "--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Today's date for date checks (default: today). Makes runs reproducible.")
progress_option = click.option(
    "--quiet", "-q", is_flag=True, help="No progress messages on standard error.")


_Command = TypeVar("_Command", bound=Callable[..., Any])


def history_options(command: _Command) -> _Command:
    """``--history PATH`` / ``--no-history`` (RECONCILE_HISTORY; default: the user's store)."""
    command = click.option(
        "--no-history", "no_history", is_flag=True,
        help="Do not record this run in the history (nor compare it with the previous run).")(
        command)
    return click.option(
        "--history", "history", type=click.Path(dir_okay=False, path_type=Path),
        help="History store to record the run in and compare with (default: "
             "$RECONCILE_HISTORY, else history.sqlite3 in your user data folder).")(command)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="reconcile")
def main() -> None:
    """What DfE should pay an ECF lead provider on each statement, and why.

    Outputs never replace an input or each other, and are written whole or not at
    all (a symbolic link is written through to its target). Ctrl-C or SIGTERM stops
    a run with nothing written.

    \b
    Start here:
      reconcile demo --out out/          the whole job on bundled sample data
      reconcile run --declarations decl.xlsx --dfe-statements dfe.xlsx \\
                    --contracts contracts/ --out recon.xlsx
      reconcile rules show               what the bundled rulebook says
    """


@main.command()
@declarations_option
@dfe_option
@participants_option
@lead_provider_option
@sheet_option
@rules_option
@contracts_option
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Reconciliation workbook to write (.xlsx; '-' for standard output). "
                   "Never an input file; a symbolic link is written through to its target.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON result here ('-' for standard output). Never an "
                   "input file; a symbolic link is written through to its target.")
@click.option("--tolerance", type=_Pounds(), default="0.00", show_default=True,
              help="Money differences up to this many pounds (after rounding to pence) "
                   "are not findings.")
@engine_option
@as_of_option
@history_options
@progress_option
def run(**options: Any) -> None:
    """Expected payments per statement, reconciled against DfE's statements.

    \b
    Example:
      reconcile run --declarations declarations.xlsx --contracts contracts/ \\
                    --dfe-statements dfe-statements.xlsx --out reconciliation.xlsx
    Exit status: 0 no discrepancy of severity error, 1 discrepancies, 2 bad input.
    """
    from reconcile import pipeline

    result = pipeline.run(_run_options(options, with_split=True, workbook=options["out"],
                                       json_out=options.get("json_out")))
    _finished(result)


@main.command()
@declarations_option
@participants_option
@lead_provider_option
@sheet_option
@rules_option
@contracts_option
@click.option("--json", "json_out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the JSON result ('-' for standard output). Never an "
                   "input file; a symbolic link is written through to its target.")
@click.option("--dfe-statements", "dfe_statements", multiple=True,
              type=click.Path(path_type=Path),
              help="Optional: DfE statements, used only for statement ids (and cohorts). "
                   "May be repeated, or name a folder.")
@engine_option
@as_of_option
@history_options
@progress_option
def expected(**options: Any) -> None:
    """Expected payments only: every statement, line and total, as JSON.

    \b
    Example:
      reconcile expected --declarations declarations.csv --contracts contracts/ \\
                         --json expected.json
    """
    from reconcile import pipeline

    result = pipeline.run(_run_options(options, json_out=options["json_out"]))
    _finished(result)


@main.command()
@declarations_option
@dfe_option
@participants_option
@lead_provider_option
@sheet_option
@rules_option
@contracts_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the split as JSON ('-' for standard output). Never an input "
                   "file; a symbolic link is written through to its target.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the split as a workbook (.xlsx). Never an input file; a "
                   "symbolic link is written through to its target.")
@click.option("--per-partner", "per_partner", type=click.Path(file_okay=False, path_type=Path),
              help="Write one remittance workbook per delivery partner into this folder "
                   "(made if missing; never a folder of inputs).")
@click.option("--partners", "partners", type=click.Path(dir_okay=False, path_type=Path),
              help="Your delivery partners (.csv or .xlsx with columns delivery_partner_id, "
                   "name, email, address): remittances are headed with their names and "
                   "addresses (DfE's API gives partners' ids only).")
@click.option("--statement", "statements", multiple=True, metavar="NAME",
              help="Only this statement (e.g. 'October 2025'), for every provider and cohort: "
                   "one payment's remittances. May be repeated.")
@click.option("--payment-month", "payment_months", multiple=True, type=_Month(),
              metavar="YYYY-MM",
              help="Only the statements paid in this month (e.g. 2025-10). May be repeated.")
@engine_option
@as_of_option
@history_options
@progress_option
def split(**options: Any) -> None:
    """Divide each statement's payment between the delivery partners.

    With --dfe-statements, each partner's part of what DfE actually paid is shown
    beside the expected amounts; rules/split.yaml (paid: basis) says which is paid.

    \b
    Example:
      reconcile split --declarations declarations.xlsx --contracts contracts/ \\
                      --dfe-statements dfe-statements.xlsx --partners partners.csv \\
                      --payment-month 2025-10 --per-partner remittances/
    """
    from reconcile import pipeline

    run_options = _run_options(
        options, with_split=True, split_json=options.get("json_out"),
        split_workbook=options.get("out"), remittances=options.get("per_partner"),
        partners=options.get("partners"), split_statements=tuple(options["statements"]),
        split_months=tuple(options["payment_months"]))
    if not (options.get("json_out") or options.get("out") or options.get("per_partner")):
        raise UsageError("say where to write the split: --json, --out and/or --per-partner")
    result = pipeline.run(run_options)
    # exit 1 on error findings, as for run; no summary line (the split is the output)
    if not result.options.quiet and result.history is not None:
        click.echo("\n".join(_history_lines(result)), err=True)
    sys.exit(EXIT_FINDINGS if result.has_errors else EXIT_OK)


@main.command()
@click.argument("declaration_id")
@declarations_option
@dfe_option
@participants_option
@lead_provider_option
@sheet_option
@rules_option
@contracts_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the explanation as JSON ('-' for standard output).")
@engine_option
@as_of_option
def explain(**options: Any) -> None:
    """Why one declaration is (not) paid: its facts, the rules that fired, statement, band, fee.

    \b
    Example:
      reconcile explain 5f1e...c2 --declarations declarations.xlsx --contracts contracts/
    """
    from reconcile import pipeline
    from reconcile.explain import explain_declaration, render_explanation
    from reconcile.outputs import Outputs

    run_options = _run_options(options, quiet=True)
    pipeline.check_outputs(run_options, [("--json", options.get("json_out"))])
    result = pipeline.run(run_options)
    explanation = explain_declaration(result, options["declaration_id"])
    if options.get("json_out"):
        outputs = Outputs()
        outputs.json(options["json_out"], explanation.as_json)
        outputs.commit()
    if str(options.get("json_out")) != "-":
        click.echo(render_explanation(explanation))
    sys.exit(EXIT_OK)


@main.group(cls=_Group)
def rules() -> None:
    """Check or show the rulebook (fees, banding, service fee, eligibility, calendars)."""


@rules.command("check")
@click.argument("rules_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@contracts_option
def rules_check(rules_dir: Path | None, contracts: tuple[Path, ...]) -> None:
    """Validate rule and contract YAML: exit 0, or every error as file:line and exit 2.

    \b
    Example:
      reconcile rules check my-rules/
    """
    from reconcile.rulebook.evaluate import check_rules
    from reconcile.rulebook.load import load_rulebook

    rulebook = load_rulebook(rules_dir, tuple(contracts))  # every file problem, file:line
    check_rules(rulebook)  # then the rules compile into every available engine backend
    click.echo(f"reconcile: rulebook OK: {rulebook.summary()}")
    for note in rulebook.notes:
        click.echo(f"reconcile: note: {note}")
    sys.exit(EXIT_OK)


@rules.command("show")
@click.argument("rules_dir", required=False, type=click.Path(file_okay=False, path_type=Path))
@contracts_option
def rules_show(rules_dir: Path | None, contracts: tuple[Path, ...]) -> None:
    """A readable listing of what the rulebook says, for a finance reader.

    \b
    Example:
      reconcile rules show | less
    """
    from reconcile.rulebook.load import load_rulebook
    from reconcile.rulebook.show import render_rulebook

    click.echo(render_rulebook(load_rulebook(rules_dir, tuple(contracts))))
    sys.exit(EXIT_OK)


@main.group(cls=_Group)
def contracts() -> None:
    """Make contract YAML from DfE's own contract files."""


@contracts.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder for the contract YAML files (made if missing).")
@click.option("--vat-chargeable/--not-vat-chargeable", default=True, show_default=True,
              help="VAT registration of the lead providers (not in DfE's contract CSVs).")
@click.option("--overwrite", is_flag=True,
              help="Replace contract files that already exist in --out.")
def contracts_import(files: tuple[Path, ...], out: Path, vat_chargeable: bool,
                     overwrite: bool) -> None:
    """DfE's call-off (and mentor) contract CSVs -> one contract YAML per provider and cohort.

    The CSVs have the headers of DfE's contract importers (lead-provider-name,
    cohort-start-year, uplift-target, ..., band-d-per-participant; mentor:
    lead-provider-name, cohort-start-year, recruitment-target, payment-per-participant).
    A bad row stops the import (exit 2) with its file, row, column and value; nothing is
    written.

    \b
    Example:
      reconcile contracts import call-off.csv mentor.csv --out my-contracts/
      reconcile rules check --contracts my-contracts/
    """
    from reconcile.contract_import import write_contracts

    write_contracts(files, out, vat_chargeable=vat_chargeable, overwrite=overwrite,
                    echo=lambda line: click.echo(line, err=True))
    sys.exit(EXIT_OK)


@main.group(cls=_Group)
def history() -> None:
    """The run history: runs, what changed since last month, findings followed over time.

    \b
    Every run, expected and split is recorded (unless --no-history) in
    --history PATH, else $RECONCILE_HISTORY, else history.sqlite3 in your user data folder.
    """


store_option = click.option(
    "--history", "history", type=click.Path(dir_okay=False, path_type=Path),
    help="History store (default: $RECONCILE_HISTORY, else the one in your user data folder).")
json_option = click.option(
    "--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
    help="Write it as JSON instead ('-' for standard output).")


@history.command("list")
@store_option
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N runs.")
@json_option
def history_list(history: Path | None, limit: int | None, json_out: Path | None) -> None:
    """Recorded runs, newest first: date, inputs, providers, totals, findings, changes."""
    from reconcile.history.commands import command_list

    sys.exit(command_list(history, limit, json_out))


@history.command("show")
@click.argument("run")
@store_option
@click.option("--all", "show_all", is_flag=True, help="Every change, not the first 50.")
@json_option
def history_show(run: str, history: Path | None, show_all: bool, json_out: Path | None) -> None:
    """One run: inputs and their SHA-256, contracts, statements, findings, changes.

    RUN is a run number, or latest.
    """
    from reconcile.history.commands import command_show

    sys.exit(command_show(history, run, json_out, show_all))


@history.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@store_option
@click.option("--all", "show_all", is_flag=True, help="Every change, not the first 50.")
@json_option
def history_diff(run_a: str, run_b: str, history: Path | None, show_all: bool,
                 json_out: Path | None) -> None:
    """What changed from RUN_A to RUN_B (within the providers and cohorts both cover)."""
    from reconcile.history.commands import command_diff

    sys.exit(command_diff(history, run_a, run_b, json_out, show_all))


@history.command("findings")
@store_option
@click.option("--open", "open_only", is_flag=True,
              help="Only findings still open (found by the latest run, not accepted).")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), metavar="DAYS",
              help="Only findings first seen more than DAYS days ago.")
@as_of_option
@json_option
def history_findings(history: Path | None, open_only: bool, older_than: int | None,
                     as_of: dt.datetime | None, json_out: Path | None) -> None:
    """Ageing report: findings followed across runs, by age band, with money at stake."""
    from reconcile.history.commands import command_findings

    sys.exit(command_findings(history, open_only, older_than,
                              as_of.date() if as_of is not None else None, json_out))


@history.command("note")
@click.argument("fingerprint")
@click.option("--status", required=True,
              type=click.Choice(["disputed", "acknowledged", "accepted"]),
              help="Where the finding stands; accepted ones no longer make the exit status 1.")
@click.option("--text", required=True, help="What was said or agreed, and with whom.")
@click.option("--by", help="Who says so (default: $RECONCILE_USER, else your login name).")
@store_option
@as_of_option
def history_note(fingerprint: str, status: str, text: str, by: str | None,
                 history: Path | None, as_of: dt.datetime | None) -> None:
    """Add a note to a finding (appended, never edited); it carries to later runs.

    \b
    Example:
      reconcile history note 3f9a1c2b --status disputed --text "raised with DfE, ref 123"
    """
    from reconcile.history.commands import command_note

    sys.exit(command_note(history, fingerprint, status, text, by,
                          as_of.date() if as_of is not None else None))


@main.command()
@click.argument("kind", type=click.Choice(["declarations", "dfe-statements", "contract"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the blank template (a new file; a symbolic link is "
                   "written through to its target).")
@click.option("--overwrite", is_flag=True,
              help="Replace the file at --out if there is one (what was filled in is lost).")
def template(kind: str, out: Path, overwrite: bool) -> None:
    """Write a blank input: declarations or dfe-statements workbook, or contract YAML.

    An existing file at --out is left as it is (it may be the one you filled in)
    unless you add --overwrite.

    \b
    Example:
      reconcile template declarations --out my-declarations.xlsx
    """
    from reconcile.templates import write_template

    write_template(kind, out, overwrite=overwrite)
    sys.exit(EXIT_OK)


@main.command()
@click.option("--out", "out_dir", default="out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reconciliation workbook and JSON.")
@engine_option
@progress_option
def demo(**options: Any) -> None:
    """Run the whole job on the bundled sample data and print a short summary.

    \b
    Example:
      reconcile demo --out out/
    """
    from reconcile.demo import run_demo

    # exit 0 even with error findings: finding the planted discrepancies is the demo
    # succeeding (reconcile/demo.py says more)
    click.echo(run_demo(options["out_dir"], engine=options["engine"], quiet=options["quiet"]))
    sys.exit(EXIT_OK)


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this computer can reach 127.0.0.1; "
                   "another address lets other computers reach the page (they still "
                   "need the token).")
@click.option("--no-browser", "no_browser", is_flag=True,
              help="Do not open the page in a browser.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for uploads, runs and kept contracts "
                   "(default: $XDG_DATA_HOME/reconcile/serve, i.e. "
                   "~/.local/share/reconcile/serve).")
@click.option("--max-upload-mb", "max_upload_mb", type=click.FloatRange(min=0, min_open=True),
              default=500, show_default=True,
              help="Largest upload (all the files of one run together), in MB.")
def serve(port: int, host: str, no_browser: bool, data_dir: Path | None,
          max_upload_mb: float) -> None:
    """A local web page: upload this month's files, read the answer, download the workbook.

    \b
    The first line printed is the page's address, with a secret token made at each
    start:  reconcile: serving on http://127.0.0.1:8765/?token=...
    Scripts send the token as 'Authorization: Bearer TOKEN' (see the README).
    Example:
      reconcile serve
    """
    from reconcile.serve import serve as start

    sys.exit(start(host=host, port=port, open_browser=not no_browser, data_dir=data_dir,
                   max_upload_mb=max_upload_mb))
