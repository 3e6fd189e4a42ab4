"""The JSON result of a run (docs/result.schema.json), as plain data.

Stage: output (pure: builds a dict; :mod:`reconcile.outputs` writes it).
In: a :class:`~reconcile.pipeline.RunResult`.
Out: ``{"statements": [...], "findings": [...], "declarations": [...]}``:

* ``statements`` — one per expected statement, ordered by lead provider, cohort
  and payment date: ``lead_provider``, ``cohort``, ``name``, ``statement_id``,
  ``payment_date``, ``output_fee``, ``expected`` {``output_payments``,
  ``clawbacks``, ``uplift``, ``uplift_clawback``, ``service_fee``,
  ``adjustments``, ``net``, ``vat``, ``total``} and ``dfe`` (DfE's figures in the
  same keys, from the comparison: ``comparison.dfe_json(key)``; ``null`` without
  DfE statements). Extensions: ``cut_off_date``, ``expected.counts`` (started, retained, completed, extended, voided,
  clawed_back, awaiting_clawback), ``expected.contract_version`` and
  ``expected.terms_from`` (the contract version applied) and, on each line, ``fee_per_declaration_exact`` (the unrounded
  fee). DfE statements with no expected counterpart follow, with
  ``expected: null``. Signs: clawback and uplift-clawback amounts are negative.
* ``run`` — an extension (issue 17): tool version, as-of date, engine, tolerance,
  options, inputs with their SHA-256, rule files and a rulebook hash
  (:func:`run_json`). Each statement also gains ``difference`` (DfE's total minus the
  expected total, null when either is missing) and ``status`` (the Summary's money
  status: OK, DfE adjustment, Differs, Dates only, Missing from DfE, Not expected,
  No DfE statement given, Not compared). The JSON Schema of the whole result is
  ``docs/result.schema.json``.
* ``findings`` — every finding of the run (``Finding.as_json()``), in the run's
  order (severity first).
* ``providers`` — an extension: one entry per lead provider and cohort, largest
  difference first (:mod:`reconcile.providers`: expected, DfE, difference, statements
  compared and differing, open findings by severity (those accepted in the history
  left out), money at stake).
* ``history`` — this run in the run history (docs/history.md; ``null`` with
  ``--no-history``): ``run_id``, ``previous_run_id``, ``previous_run_at``, ``changes``
  and ``resolved_findings`` (:mod:`reconcile.history`); each finding also gains
  ``fingerprint``, ``status``, ``first_seen``, ``age_days`` and ``note``.
* ``declarations`` — an extension: every attribution (declaration × statement it
  is paid or refunded on) with band, fee, uplift, unpaid flag and delivery
  partner, so the statement lines can be checked declaration by declaration.

Money is text with two decimals (``money.show``); counts are integers; dates are
``YYYY-MM-DD``.

Example::

    data = result_json(run(RunOptions(declarations=Path("decl.csv"))))
    data["statements"][0]["expected"]["total"]      # '73747.25'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from reconcile import __version__
from reconcile.compare import NO_DFE, Comparison, StatementPair, without_dfe
from reconcile.history.follow import findings_json  # the history's keys (docs/history.md)
from reconcile.model import Attribution, CountAmount, DfeStatement, ExpectedStatement, PaymentLine
from reconcile.money import show
from reconcile.providers import providers_json
from reconcile.result import PRESENTATION_OPTIONS, RunResult


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _exact(value: Decimal) -> str:
    """An exact Decimal as plain text without exponent or trailing zeros: ``111.1113``."""
    return f"{value.normalize():f}"


def line_json(line: PaymentLine) -> dict[str, Any]:
    return {
        "participant_type": line.participant_type,
        "declaration_type": line.declaration_type,
        "band": line.band,
        "count": line.count,
        "fee_per_declaration": show(line.fee_per_declaration),
        "fee_per_declaration_exact": _exact(line.fee_per_declaration),
        "amount": show(line.amount),
    }


def _count_amount(value: CountAmount) -> dict[str, Any]:
    return {"count": value.count, "amount": show(value.amount)}


def expected_json(statement: ExpectedStatement) -> dict[str, Any]:
    """The ``expected`` block of one statement."""
    return {
        "output_payments": [line_json(ln) for ln in statement.output_payments],
        "clawbacks": [line_json(ln) for ln in statement.clawbacks],
        "uplift": _count_amount(statement.uplift),
        "uplift_clawback": _count_amount(statement.uplift_clawback),
        "service_fee": show(statement.service_fee),
        "adjustments": show(statement.adjustments),
        "net": show(statement.net),
        "vat": show(statement.vat),
        "total": show(statement.total),
        "counts": dict(statement.counts),
        # the contract version the statement is calculated with: DfE's name for it (or
        # null) and its first statement (null: the contract's first terms)
        "contract_version": statement.contract_version,
        "terms_from": statement.terms_from,
    }


def _money_status(pair: StatementPair | None) -> dict[str, Any]:
    """The Summary's money status of a statement and its difference (DfE's total minus
    ours; null when either side has no money)."""
    if pair is None:
        return {"difference": None, "status": NO_DFE}
    difference = pair.difference
    return {"difference": show(difference) if difference is not None else None,
            "status": pair.status}


def statement_json(statement: ExpectedStatement, comparison: Comparison | None = None
                   ) -> dict[str, Any]:
    """One expected statement; its DfE block, difference and status from ``comparison``."""
    pair = comparison.pair(statement.key) if comparison is not None else None
    return _statement_json(statement, comparison, pair)


def _statement_json(statement: ExpectedStatement, comparison: Comparison | None,
                    pair: StatementPair | None) -> dict[str, Any]:
    key = statement.key
    return {
        "lead_provider": key.lead_provider,
        "cohort": key.cohort,
        "name": key.name,
        "statement_id": statement.statement_id,
        "cut_off_date": _date(statement.cut_off_date),
        "payment_date": _date(statement.payment_date),
        "output_fee": statement.output_fee,
        "expected": expected_json(statement),
        # the compare stage fills this: DfE's figures in the same keys (None: no DfE
        # statement, or DfE's metadata only)
        "dfe": comparison.dfe_json(key) if comparison is not None else None,
        **_money_status(pair),
    }


def _dfe_only_json(pair: StatementPair, d: DfeStatement, comparison: Comparison
                   ) -> dict[str, Any]:
    return {
        "lead_provider": pair.key.lead_provider,
        "cohort": pair.key.cohort,
        "name": pair.key.name,
        "statement_id": d.statement_id,
        "cut_off_date": _date(d.cut_off_date),
        "payment_date": _date(d.payment_date),
        "output_fee": d.output_fee,
        "expected": None,
        "dfe": comparison.dfe_json(pair.key),
        **_money_status(pair),
    }


def attribution_json(a: Attribution, money: Any = show) -> dict[str, Any]:
    """One declaration's share on one statement. ``money`` shows an amount (a cached
    :func:`money.show` when there are a million of them)."""
    statement = a.statement
    return {
        "declaration_id": a.declaration_id,
        "participant_id": a.participant_id,
        "lead_provider": statement.lead_provider,
        "cohort": statement.cohort,
        "statement": statement.name,
        "kind": a.kind,
        "participant_type": a.participant_type,
        "declaration_type": a.declaration_type,
        "band": a.band,
        "fee": money(a.fee),
        "uplift": money(a.uplift),
        "unpaid": a.unpaid,
        "delivery_partner_id": a.delivery_partner_id,
        "delivery_partner_name": a.delivery_partner_name,
    }


class _Shown(dict[Decimal, str | None]):
    """``money.show`` memoised: a statement's shares take a handful of distinct values,
    so a million attributions share a few strings instead of making two million."""

    def __missing__(self, amount: Decimal) -> str | None:
        text = self[amount] = show(amount)
        return text


def _statement_order(statement: ExpectedStatement) -> tuple[str, int, dt.date, str]:
    return (statement.key.lead_provider, statement.key.cohort,
            statement.payment_date or dt.date.max, statement.key.name)


def result_json(run_result: RunResult) -> dict[str, Any]:
    """docs/result.schema.json for a finished run (see the module doc)."""
    calculation = run_result.calculation
    comparison = run_result.comparison
    shown = _Shown().__getitem__
    pairs = {p.key: p for p in comparison.pairs} if comparison is not None else {}
    statements = [_statement_json(s, comparison, pairs.get(s.key))
                  for s in sorted(calculation.statements, key=_statement_order)]
    if comparison is not None:
        dfe_only = [(p, p.dfe) for p in comparison.dfe_only if p.dfe is not None]
        dfe_only.sort(key=lambda pd: (pd[0].key.lead_provider or "", pd[0].key.cohort,
                                      pd[1].payment_date or dt.date.max, pd[0].key.name))
        statements.extend(_dfe_only_json(p, d, comparison) for p, d in dfe_only)
    history = run_result.history
    return {
        "run": run_json(run_result),
        "statements": statements,
        "findings": findings_json(run_result.findings, history),
        "declarations": [attribution_json(a, shown) for a in calculation.attributions],
        "providers": providers_json(comparison or without_dfe(calculation),
                                    run_result.open_findings),
        "history": history.as_json() if history is not None else None,
    }


def rulebook_sha256(files: Iterable[tuple[str, str]]) -> str:
    """One SHA-256 for the rule and contract files a run read: of their own SHA-256s,
    sorted, one a line. It depends on what the files say, not where they are, so the
    same rulebook in another folder (or uploaded to the web page) has the same hash."""
    lines = "".join(f"{digest}\n" for digest in sorted(digest for _, digest in files))
    return hashlib.sha256(lines.encode("ascii")).hexdigest()


def run_json(run_result: RunResult) -> dict[str, Any]:
    """The ``run`` block: what a script needs to tell runs apart and reproduce one.

    ``tool`` and ``version``; ``as_of`` (the date the date checks used); ``engine``
    (the rules engine backend that ran); ``tolerance``; ``options`` (every option
    that changes what the run computes, as the Rules sheet lists them: paths as given);
    ``inputs`` (every input file read: role, path, SHA-256, bytes); ``rule_files``
    (every rule and contract file read, with its SHA-256) and ``rulebook_sha256``
    (:func:`rulebook_sha256`).
    """
    options = run_result.options
    shown_options: dict[str, Any] = {}
    for field, value in options._asdict().items():
        if field in PRESENTATION_OPTIONS or field in ("as_of", "tolerance", "engine"):
            continue
        if isinstance(value, tuple):
            shown_options[field] = [str(v) for v in value]
        elif value is None or isinstance(value, (bool, int)):
            shown_options[field] = value
        else:
            shown_options[field] = str(value)
    files = run_result.rulebook.files
    as_of = options.as_of
    return {
        "tool": "reconcile",
        "version": __version__,
        "as_of": _date(as_of),
        "engine": run_result.evaluation.backend,
        "tolerance": show(options.tolerance),
        "options": shown_options,
        "inputs": [f.as_json() for f in run_result.inputs],
        "rule_files": [{"file": name, "sha256": digest} for name, digest in files],
        "rulebook_sha256": rulebook_sha256(files),
    }
