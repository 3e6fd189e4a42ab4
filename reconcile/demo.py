"""The demo (``reconcile demo``): the whole job on the bundled sample data, in one command.

Stage: an entry point beside the pipeline (the CLI calls :func:`run_demo`; nothing
in the pipeline imports it).
In: the bundled sample (``samples/`` in a checkout, else
``sys.prefix/share/reconcile/samples``): ``declarations.xlsx``, the DfE statements
with planted discrepancies ``dfe-statements-planted.xlsx``, the sample contracts
``contracts/*.yaml`` and ``planted.json`` (what was planted, and the date the sample
is "as at").
Out: ``DIR/reconciliation.xlsx`` and ``DIR/result.json`` (what ``reconcile run``
writes), and a short summary on standard output: statements, expected against DfE
totals, findings by code, and which planted discrepancies were found.

Exit status: 0 when the job ran, even though it finds discrepancies. ``reconcile
run`` exits 1 on an ``error`` finding (like ``diff``) so that scripts notice; the
demo's DfE statements are *meant* to differ from what the declarations earn, and
finding those differences is the demonstration succeeding, so ``make demo`` must
not report it as a failure. A planted discrepancy the run did *not* find is printed
as ``MISSED`` in the summary (the tests in ``tests/samples`` fail on it). Bad or
missing sample files still exit 2 like any bad input.

Example::

    $ reconcile demo --out out/
    reconcile demo: bundled sample of 3,000 declarations, 2 lead providers, as at 2026-10-10
    ...
    planted discrepancies found: 6 of 6
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from reconcile import money
from reconcile.errors import Problem, UsageError
from reconcile.findings import Finding
from reconcile.history.follow import console_lines
from reconcile.model import DfeStatement, Source
from reconcile.paths import bundled_samples_dir, display_path
from reconcile.pipeline import RunOptions, RunResult, run

#: the files of the bundled sample the demo needs (samples/__init__.py describes them)
DECLARATIONS = "declarations.xlsx"
DFE_STATEMENTS = "dfe-statements-planted.xlsx"
CONTRACTS = "contracts"
MANIFEST = "planted.json"
#: the demo's own run history, in its output folder
HISTORY = "history.sqlite3"

REGENERATE = ("regenerate the sample in a checkout with: python -m samples.generate "
              "--out samples --declarations 3000 --seed 2026 --planted --api-json "
              "--assurance")


def samples_dir() -> Path:
    """The bundled sample: the checkout's ``samples/``, else the installed copy.

    Found like the rulebook (:mod:`reconcile.paths`): a checkout's folder beside the
    package, else ``sys.prefix/share/reconcile/samples`` (setup.cfg data_files).
    """
    return bundled_samples_dir()


def _sample_files(folder: Path) -> dict[str, Path]:
    files = {name: folder / name for name in (DECLARATIONS, DFE_STATEMENTS, CONTRACTS, MANIFEST)}
    problems = [Problem(Source(str(path)), "the bundled sample file is missing", REGENERATE)
                for path in files.values() if not path.exists()]
    if problems:
        raise UsageError(problems)
    return files


#: planted.json as read: the generator's settings and the planted discrepancies
Manifest = dict[str, Any]


def read_manifest(path: Path) -> Manifest:
    """``planted.json``: the generator's settings and the planted discrepancies."""
    try:
        manifest: Manifest = json.loads(path.read_text(encoding="utf-8"))
        dt.date.fromisoformat(manifest["generator"]["as_of"])
        if not isinstance(manifest["discrepancies"], list):
            raise TypeError("'discrepancies' is not a list")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError([Problem(Source(str(path)), f"cannot read the sample manifest: {error}",
                                  REGENERATE)]) from None
    return manifest


def _matches(entry: dict[str, Any], found: Finding) -> bool:
    """A finding reports a planted discrepancy: same code, provider, cohort, statement."""
    if found.code != entry["code"]:
        return False
    for key in ("lead_provider", "cohort", "statement"):
        value = getattr(found, key)
        if value is not None and entry.get(key) is not None and value != entry[key]:
            return False
    return found.statement == entry.get("statement")


def planted_found(manifest: Manifest, findings: Iterable[Finding]
                  ) -> list[tuple[dict[str, Any], Finding | None]]:
    """Each planted discrepancy with the finding that reports it (or None: missed)."""
    findings = tuple(findings)
    return [(entry, next((f for f in findings if _matches(entry, f)), None))
            for entry in manifest.get("discrepancies", ())]


def _dfe_total(statement: DfeStatement) -> Decimal | None:
    if statement.total is not None:
        return statement.total
    if statement.lines:
        return sum((line.amount for line in statement.lines), money.ZERO)
    return None


def summarise(result: RunResult, manifest: Manifest, files: dict[str, Path], written: tuple[Path, ...],
              sheets: tuple[str, ...] = ()) -> str:
    """The text the demo prints: a finance reader's first look at the result."""
    statements = result.calculation.statements
    providers = sorted({s.key.lead_provider for s in statements})
    generator = manifest["generator"]
    lines = [
        (f"reconcile demo: bundled sample of {len(result.declarations):,} declarations, "
         f"{len(providers)} lead provider(s), as at {generator['as_of']}"),
        f"  declarations:   {display_path(files[DECLARATIONS])}",
        (f"  DfE statements: {display_path(files[DFE_STATEMENTS])} "
         f"({len(manifest['discrepancies'])} discrepancies planted on purpose, "
         f"listed in {MANIFEST})"),
        "",
        f"{'':32}{'statements':>11}{'expected':>18}{'DfE':>18}{'DfE - expected':>16}",
    ]
    dfe_by_provider: dict[str, list[DfeStatement]] = {}
    for statement in result.dfe_statements:
        dfe_by_provider.setdefault(statement.lead_provider or "", []).append(statement)
    grand_count, grand_expected, grand_dfe = 0, money.ZERO, money.ZERO
    for provider in providers:
        mine = [s for s in statements if s.key.lead_provider == provider]
        expected = sum((s.total for s in mine), money.ZERO)
        theirs = [t for t in (_dfe_total(s) for s in dfe_by_provider.get(provider, ())) if
                  t is not None]
        dfe = sum(theirs, money.ZERO)
        grand_count += len(mine)
        grand_expected += expected
        grand_dfe += dfe
        lines.append(f"  {provider[:30]:30}{len(mine):>11,}{money.pounds(expected):>18}"
                     f"{money.pounds(dfe):>18}{money.pounds(dfe - expected):>16}")
    lines.append(f"  {'all (totals include VAT)':30}{grand_count:>11,}"
                 f"{money.pounds(grand_expected):>18}{money.pounds(grand_dfe):>18}"
                 f"{money.pounds(grand_dfe - grand_expected):>16}")
    lines += ["", "findings by code:"]
    by_code = Counter((f.severity.value, f.code) for f in result.findings)
    rank = {"error": 0, "warning": 1, "info": 2}
    for (severity, code), count in sorted(by_code.items(),
                                          key=lambda item: (rank[item[0][0]], item[0][1])):
        lines.append(f"  {severity:8} {code:36} {count:>7,}")
    if not by_code:
        lines.append("  none")
    pairs = planted_found(manifest, result.findings)
    found = sum(1 for _, f in pairs if f is not None)
    lines += ["", f"planted discrepancies found: {found} of {len(pairs)}"]
    for entry, finding in pairs:
        where = f"{entry['lead_provider']} / {entry['cohort']} / {entry['statement']}"
        line = f"  {entry['line']}" if entry.get("line") else ""
        lines.append(f"  {'found ' if finding else 'MISSED'} {entry['code']:28} {where}{line}")
    lines += ["", "wrote " + " and ".join(display_path(p) for p in written)]
    if sheets:
        then = f", then '{sheets[1]}'" if len(sheets) > 1 else ""
        lines.append(f"open {display_path(written[0])}: start at the '{sheets[0]}' sheet{then} "
                     "(every finding comes with a suggestion)")
    if result.history is not None:
        lines += [line.replace("reconcile: ", "", 1) for line in console_lines(result.history)]
    return "\n".join(lines)


def run_demo(out_dir: Path, engine: str = "auto", quiet: bool = False) -> str:
    """Run the whole job on the bundled sample, writing into ``out_dir``; the summary."""
    files = _sample_files(samples_dir())
    manifest = read_manifest(files[MANIFEST])
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError([Problem(Source(str(out_dir)), "this is a file, not a folder",
                                  "give --out a folder name")])
    workbook, result_file = out_dir / "reconciliation.xlsx", out_dir / "result.json"
    # the demo keeps a history of its own beside its outputs (never the user's store):
    # a second demo is compared with the first (the store's folder must exist first)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = run(RunOptions(
        declarations=(files[DECLARATIONS],), dfe_statements=(files[DFE_STATEMENTS],),
        contracts=(files[CONTRACTS],), engine=engine,
        # the sample is "as at" a fixed date, so the demo's result never changes
        as_of=dt.date.fromisoformat(manifest["generator"]["as_of"]),
        quiet=quiet, with_split=True, workbook=workbook, json_out=result_file,
        out_dir=out_dir, history=out_dir / HISTORY))
    sheets = tuple(sheet.name for sheet in result.workbook.sheets) if result.workbook else ()
    return summarise(result, manifest, files, (workbook, result_file), sheets)
