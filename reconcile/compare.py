"""Compare: expected statements against DfE's, line by line (pure).

Stage: compare (after calculate, before report). In: the
:class:`~reconcile.calculate` ``Calculation`` (expected statements, attributions,
findings), DfE's statements (:class:`~reconcile.model.DfeStatement`, with or
without money lines), the rulebook (declaration-type order, contracts' VAT terms)
and optionally the declarations (for DfE's own statement attachment). Out: a
:class:`Comparison` value: every statement pair with its compared lines, and the
``RECON`` findings. Nothing is mutated; rendering is :mod:`reconcile.report`'s job.

Statements fall into three buckets, as datacompy compares tables: expected only,
DfE only, and in both. They are paired by ``statement_id`` when both sides have
one, else by (lead provider, cohort, name), ignoring case and spacing; a DfE
statement without a lead provider (the v3 API's statement list) pairs when its
cohort has a single provider. Two DfE statements for one expected statement are
reported, never silently paired.

In a pair, line by line (docs/domain.md "A statement's total"):

* output payments and clawbacks per (participant type, declaration type, band):
  count, fee per declaration, amount. A count or fee that differs is reported as
  such; the amount is reported on its own only when count and fee agree (or DfE
  gives no count/fee) or DfE's line does not add up (count x fee != amount). When
  DfE gives no participant type for a section's lines, both sides are summed over
  participant types;
* uplift and uplift clawback (count, amount), service fee;
* each DfE additional adjustment is listed (info: not computed from declarations);
* VAT is checked against the contract's rate on DfE's own net, so that a line
  difference is reported once, on its line, not again as a VAT difference;
* when DfE states a total, it is checked against the sum of its own lines: the
  residual is DfE's hidden "reconcile amount" (docs/domain.md "A statement's total").

Differences within ``tolerance`` (default £0.00, after rounding to the penny)
are not findings. A DfE statement with metadata only (API JSON) is compared on
existence and dates. An expected statement DfE did not give is "missing" only
inside the span of DfE's statements for its provider and cohort (a gap in the
list); outside it (DfE's file covers one month, say) it is simply not compared.

A pair's ``status`` is about the statement's money only (:func:`_status`): ``OK``
(DfE's lines match ours), ``DfE adjustment`` (they match, and DfE's total differs
only by its own additional adjustments or hidden reconcile amount), ``Differs``,
or where DfE's side is missing. Findings about declarations (eligibility, banding,
placement) never change it; the Summary counts them beside it.

Example::

    comparison = compare(calculation, dfe_statements, rulebook)
    for pair in comparison.pairs:
        print(pair.key, pair.status, pair.difference)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile import money
from reconcile.findings import CATALOGUE, Finding, LineKey, Severity, finding
from reconcile.calculate import Calculation
from reconcile.model import (
    Attribution,
    Declaration,
    DfeLine,
    DfeStatement,
    ExpectedStatement,
    PaymentLine,
    Source,
    StatementKey,
)
from reconcile.model import normal_name as _norm

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook

ZERO = money.ZERO

# Sections of a statement, in the order DfE's statement page shows them
# (DfE's statement page: output payments, service fee, uplift fees, clawbacks, additional
# adjustments, VAT, total).
OUTPUT, SERVICE_FEE, UPLIFT, CLAWBACK, UPLIFT_CLAWBACK, ADJUSTMENT, RECONCILE, VAT = (
    "output", "service_fee", "uplift", "clawback", "uplift_clawback", "adjustment",
    "reconcile_amount", "vat")
SECTIONS = (OUTPUT, SERVICE_FEE, UPLIFT, CLAWBACK, UPLIFT_CLAWBACK, ADJUSTMENT, RECONCILE, VAT)

# Money statuses of a pair (the Summary sheet shows them; see _status).
OK, DFE_ADJUSTMENT, DIFFERS, DATES_ONLY, NOT_IN_DFE, MISSING, NOT_EXPECTED, NO_DFE = (
    "OK", "DfE adjustment", "Differs", "Dates only", "Not in DfE file",
    "Missing from DfE", "Not expected", "No DfE statement given")
#: a statement the declarations do not cover (reconcile.coverage): not compared
NOT_COVERED = "Not compared"
#: sections of DfE's own making: additional adjustments and the hidden reconcile amount
DFE_ADJUSTING = (ADJUSTMENT, RECONCILE)


class LineComparison(NamedTuple):
    """One line of a statement on both sides (``None``: that side has no such line).

    ``codes`` are the finding codes raised on this line; ``key`` tells it apart from
    the statement's other lines (section, participant type, declaration type, band; an
    adjustment's position), whatever its label says.
    """

    section: str
    label: str
    participant_type: str | None = None
    declaration_type: str | None = None
    band: str | None = None
    expected_count: int | None = None
    expected_fee: Decimal | None = None
    expected_amount: Decimal | None = None
    dfe_count: int | None = None
    dfe_fee: Decimal | None = None
    dfe_amount: Decimal | None = None
    description: str | None = None
    codes: tuple[str, ...] = ()
    #: which line this is (findings about it carry the same ``line_key``)
    key: LineKey = ()

    @property
    def difference(self) -> Decimal:
        """DfE's amount minus ours (a side without the line counts as zero)."""
        return (self.dfe_amount or ZERO) - (self.expected_amount or ZERO)

    @property
    def count_difference(self) -> int | None:
        if self.dfe_count is None and self.expected_count is None:
            return None
        return (self.dfe_count or 0) - (self.expected_count or 0)


class StatementPair(NamedTuple):
    """A statement on both sides (one side may be ``None``) and what comparing found.

    ``findings`` are this comparison's findings on the statement; ``related`` are
    the calculation's findings on it (over capacity, moved declarations, clawbacks
    valued at another band), so the statement's page shows them together.
    ``dfe_total`` is DfE's stated total, else the sum of its lines; ``hidden`` is
    DfE's total minus the sum of its own lines (its "reconcile amount").
    """

    key: StatementKey
    expected: ExpectedStatement | None
    dfe: DfeStatement | None
    lines: tuple[LineComparison, ...]
    findings: tuple[Finding, ...]
    related: tuple[Finding, ...]
    status: str
    dfe_net: Decimal | None = None
    dfe_vat: Decimal | None = None
    dfe_total: Decimal | None = None
    hidden: Decimal = ZERO

    @property
    def has_money(self) -> bool:
        """DfE gave money for this statement (lines or a total), not only metadata."""
        return self.dfe_total is not None

    @property
    def expected_total(self) -> Decimal | None:
        return self.expected.total if self.expected is not None else None

    @property
    def difference(self) -> Decimal | None:
        """DfE's total minus the expected total, when both are known."""
        if self.expected is None or self.dfe_total is None:
            return None
        return self.dfe_total - self.expected.total

    @property
    def payment_date(self) -> dt.date | None:
        if self.expected is not None and self.expected.payment_date:
            return self.expected.payment_date
        return self.dfe.payment_date if self.dfe is not None else None

    @property
    def cut_off_date(self) -> dt.date | None:
        if self.expected is not None and self.expected.cut_off_date:
            return self.expected.cut_off_date
        return self.dfe.cut_off_date if self.dfe is not None else None

    @property
    def statement_id(self) -> str | None:
        if self.dfe is not None and self.dfe.statement_id:
            return self.dfe.statement_id
        return self.expected.statement_id if self.expected is not None else None

    @property
    def all_findings(self) -> tuple[Finding, ...]:
        return self.findings + self.related


class Comparison(NamedTuple):
    """Every statement pair (expected-only, DfE-only and matched) and the findings."""

    pairs: tuple[StatementPair, ...]
    findings: tuple[Finding, ...]
    tolerance: Decimal = ZERO

    @property
    def matched(self) -> tuple[StatementPair, ...]:
        return tuple(p for p in self.pairs if p.expected is not None and p.dfe is not None)

    @property
    def dfe_only(self) -> tuple[StatementPair, ...]:
        return tuple(p for p in self.pairs if p.expected is None)

    def pair(self, key: StatementKey) -> StatementPair | None:
        """The pair of an expected statement's key (or of a DfE-only statement's)."""
        for p in self.pairs:
            if p.key == key:
                return p
        return None

    def dfe_json(self, key: StatementKey) -> dict[str, Any] | None:
        """The ``dfe`` block of the JSON result (docs/result.schema.json) for ``key``.

        Same keys as ``expected``, from DfE's statement, plus ``statement_id``,
        ``paid``, ``adjustment_lines`` and ``reconcile_amount`` (DfE's total minus
        its lines). ``None`` when DfE gave no statement, or only its metadata.
        """
        pair = self.pair(key)
        if pair is None or pair.dfe is None or not pair.has_money:
            return None
        return _dfe_block(pair)


# --------------------------------------------------------------------------- compare


def compare(calculation: Calculation, dfe_statements: Sequence[DfeStatement],
            rulebook: Rulebook, *, tolerance: Decimal = ZERO,
            declarations: Sequence[Declaration] = (),
            not_compared_keys: frozenset[StatementKey] = frozenset()) -> Comparison:
    """Pair expected and DfE statements, compare them line by line, collect findings.

    ``not_compared_keys``: expected statements the declarations do not cover
    (:mod:`reconcile.coverage`): shown, status ``Not compared``, never compared.
    """
    tolerance = money.to_decimal(tolerance)
    expected = tuple(calculation.statements)
    related = _related_findings(calculation.findings)
    context = _Context(rulebook, tolerance, calculation, *_clawback_index(calculation))


    matched, dfe_only, pair_findings = _pair(expected, dfe_statements)
    pairs: list[StatementPair] = []
    findings: list[Finding] = list(pair_findings)

    spans = _dfe_spans(matched, dfe_only)
    not_compared: dict[tuple[str, int], list[ExpectedStatement]] = defaultdict(list)
    for e in expected:
        d = matched.get(e.key)
        rel = related.get(_norm_key(e.key), ())
        if e.key in not_compared_keys:
            pair = StatementPair(e.key, e, None, _expected_lines_only(e), (), rel, NOT_COVERED)
        elif d is not None:
            pair = _compare_pair(e, d, rel, context)
        else:
            pair = _expected_only(e, rel, spans, not_compared)
        pairs.append(pair)
        findings.extend(pair.findings)
    for key, d in dfe_only:
        f = _not_expected(key, d)
        findings.extend(f)
        pairs.append(StatementPair(key, None, d, _dfe_only_lines(d, context), tuple(f),
                                   related.get(_norm_key(key), ()), NOT_EXPECTED,
                                   *_dfe_figures(d, None, context)[:3]))
    for (provider, cohort), statements in sorted(not_compared.items()):
        span = spans.get((_norm(provider), cohort))
        findings.append(_not_compared(provider, cohort, statements, span))
    findings.extend(_clawback_placement(calculation, expected, dfe_statements, declarations,
                                        context.clawbacks, context.paid_on))
    pairs.sort(key=lambda p: (p.key.lead_provider, p.key.cohort,
                              p.payment_date or dt.date.max, p.key.name))
    return Comparison(tuple(pairs), tuple(findings), tolerance)


def without_dfe(calculation: Calculation) -> Comparison:
    """The expected statements alone, as pairs (a run given no DfE statements)."""
    related = _related_findings(calculation.findings)
    pairs = [StatementPair(e.key, e, None, _expected_lines_only(e), (),
                           related.get(_norm_key(e.key), ()), NO_DFE)
             for e in calculation.statements]
    pairs.sort(key=lambda p: (p.key.lead_provider, p.key.cohort,
                              p.payment_date or dt.date.max, p.key.name))
    return Comparison(tuple(pairs), ())


class _Context(NamedTuple):
    rulebook: Rulebook
    tolerance: Decimal
    calculation: Calculation
    #: clawback attributions per statement, and the fee first paid for each of them
    clawbacks: dict[StatementKey, list[Attribution]] = {}  # noqa: RUF012 (never mutated)
    first_paid: dict[str, Decimal] = {}  # noqa: RUF012
    #: the statement that paid each clawed-back declaration (not beyond the last band)
    paid_on: dict[str, StatementKey] = {}  # noqa: RUF012

    def differ(self, a: Decimal | None, b: Decimal | None) -> bool:
        return abs(money.round_money(a or ZERO) - money.round_money(b or ZERO)) > self.tolerance

    def type_order(self, declaration_type: str | None) -> int:
        types = self.rulebook.vocabulary.declaration_types
        return types.index(declaration_type) if declaration_type in types else len(types)

    def vat_rate(self, e: ExpectedStatement | None, d: DfeStatement) -> Decimal | None:
        """Per cent of VAT on the net: the contract's terms (DfE's flag when it says)."""
        percentage = self.rulebook.fees.vat_percentage
        contracts = self.rulebook.contracts
        chargeable: bool | None = None
        if e is not None:
            contract = contracts.get((e.key.lead_provider, e.key.cohort))
            if contract is not None:
                # the terms of the statement's contract version (its own VAT rate, if any)
                contract = next((t for t in contract.all_terms
                                 if t.effective_from == e.terms_from), contract)
                chargeable = bool(contract.vat_chargeable)
                if contract.vat_rate is not None:
                    percentage = contract.vat_rate
        if chargeable is None and d.vat_chargeable is not None:
            chargeable = d.vat_chargeable
        if chargeable is None:
            return None
        return percentage if chargeable else ZERO


# --------------------------------------------------------------------------- pairing


def _norm_key(key: StatementKey) -> tuple[str, int, str]:
    return (_norm(key.lead_provider), key.cohort, _norm(key.name))


UNKNOWN_PROVIDER = "(provider not given)"


_Matched = dict[StatementKey, DfeStatement]
_DfeOnly = list[tuple[StatementKey, DfeStatement]]
#: per (provider, cohort): DfE's first and last payment date, and whether it lists any
#: statement that is not an output-fee one
_Span = tuple[dt.date, dt.date, bool]
#: the calculation's findings per (provider, cohort, statement name), normalised
_Related = dict[tuple[str, int, str], tuple[Finding, ...]]


def _pair(expected: tuple[ExpectedStatement, ...], dfe_statements: Iterable[DfeStatement]
          ) -> tuple[_Matched, _DfeOnly, list[Finding]]:
    by_id = {e.statement_id: e for e in expected if e.statement_id}
    by_key = {_norm_key(e.key): e for e in expected}
    providers: dict[int, set[str]] = defaultdict(set)
    for statement in expected:
        providers[statement.key.cohort].add(statement.key.lead_provider)
    matched: dict[StatementKey, DfeStatement] = {}
    dfe_only: list[tuple[StatementKey, DfeStatement]] = []
    findings: list[Finding] = []
    for d in dfe_statements:
        e: ExpectedStatement | None = by_id.get(d.statement_id) if d.statement_id else None
        if e is None:
            provider = d.lead_provider
            if not provider and len(providers.get(d.cohort, ())) == 1:
                provider = next(iter(providers[d.cohort]))
            e = by_key.get((_norm(provider), d.cohort, _norm(d.name))) if provider else None
        if e is None:
            dfe_only.append((StatementKey(d.lead_provider or UNKNOWN_PROVIDER, d.cohort, d.name),
                             d))
        elif e.key in matched:
            first = matched[e.key]
            findings.append(finding(
                "STATEMENT_DUPLICATE_IN_DFE",
                f"DfE's statements list {e.key.name} ({e.key.lead_provider}, cohort "
                f"{e.key.cohort}) twice: {_where(first)} and {_where(d)}. Only the first "
                f"is compared.",
                **_at(e.key), source=d.source))
        else:
            matched[e.key] = d
    return matched, dfe_only, findings


def _where(d: DfeStatement) -> str:
    if d.statement_id:
        return f"id {d.statement_id}"
    return str(d.source) if d.source else d.name


def _at(key: StatementKey, line: str | None = None, line_key: LineKey | None = None
        ) -> dict[str, Any]:
    """Where a finding is: the statement, and the line by its label and its key."""
    return {"lead_provider": key.lead_provider, "cohort": key.cohort, "statement": key.name,
            "line": line, "line_key": line_key}


def _dfe_spans(matched: _Matched, dfe_only: _DfeOnly) -> dict[tuple[str, int], _Span]:
    """Per (provider, cohort): DfE's first and last payment date, and whether it
    lists any non-output statement (the v3 API lists output-fee statements only); of
    the statements with money when DfE gave any."""
    spans: dict[tuple[str, int], list[Any]] = {}
    items = [(k, d) for k, d in matched.items()] + list(dfe_only)
    # where DfE gave money (a statements workbook) the span is the money's: the v3 API's
    # list of dates beside it reaches into months no workbook covers yet
    with_money = {(_norm(k.lead_provider), k.cohort) for k, d in items
                  if d.lines or d.total is not None}
    items = [(k, d) for k, d in items
             if (_norm(k.lead_provider), k.cohort) not in with_money or d.lines
             or d.total is not None]
    for key, d in items:
        span = spans.setdefault((_norm(key.lead_provider), key.cohort),
                                [dt.date.max, dt.date.min, False])
        if d.payment_date:
            span[0] = min(span[0], d.payment_date)
            span[1] = max(span[1], d.payment_date)
        span[2] = span[2] or not d.output_fee
    return {k: (v[0], v[1], v[2]) for k, v in spans.items()}


def _related_findings(findings: Iterable[Finding]) -> _Related:
    by_key: dict[tuple[str, int, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.statement and f.lead_provider is not None and f.cohort is not None:
            by_key[(_norm(f.lead_provider), f.cohort, _norm(f.statement))].append(f)
    return {k: tuple(v) for k, v in by_key.items()}


# --------------------------------------------------------------------------- one side only


def _expected_only(e: ExpectedStatement, related: tuple[Finding, ...],
                   spans: dict[tuple[str, int], _Span],
                   not_compared: dict[tuple[str, int], list[ExpectedStatement]]
                   ) -> StatementPair:
    span = spans.get((_norm(e.key.lead_provider), e.key.cohort))
    lines = _expected_lines_only(e)
    if span is None or e.payment_date is None or not span[0] <= e.payment_date <= span[1]:
        not_compared[(e.key.lead_provider, e.key.cohort)].append(e)
        return StatementPair(e.key, e, None, lines, (), related, NOT_IN_DFE)
    first, last, lists_non_output = span
    if not (e.output_fee or lists_non_output):
        # DfE's list holds output-fee statements only (as the v3 API's does: its
        # statements query selects output statements): a service-fee-only month is not
        # missing from it, it is simply not in such a list
        not_compared[(e.key.lead_provider, e.key.cohort)].append(e)
        return StatementPair(e.key, e, None, lines, (), related, NOT_IN_DFE)
    # DfE's list has statements before and after this one, but not this one.
    f = finding(
        "STATEMENT_MISSING_FROM_DFE",
        f"We expect a statement {e.key.name} for {e.key.lead_provider}, cohort "
        f"{e.key.cohort}, paid {e.payment_date} ({money.pounds(e.total)}), between DfE's "
        f"statements of {first} and {last}, but DfE's statements do not include it.",
        **_at(e.key), expected=e.total, actual=None,
        amount=-e.total)
    return StatementPair(e.key, e, None, lines, (f,), related, MISSING)


def _not_compared(provider: str, cohort: int, statements: list[ExpectedStatement],
                  span: _Span | None) -> Finding:
    names = sorted(statements, key=lambda e: e.payment_date or dt.date.max)
    listed = ", ".join(e.key.name for e in names[:6]) + (" ..." if len(names) > 6 else "")
    if span is None:
        where = "DfE's statements include none for this provider and cohort"
    elif not span[2]:
        where = (f"DfE's statements given (paid {span[0]} to {span[1]}) are output-fee "
                 "statements only, as the v3 API lists them, and these are outside them or "
                 "carry the service fee only")
    else:
        where = (f"they fall outside the DfE statements given (paid {span[0]} to {span[1]})")
    return finding(
        "STATEMENTS_NOT_COMPARED",
        f"{len(names)} expected statement(s) of {provider}, cohort {cohort}, were not "
        f"compared: {where}. ({listed})",
        lead_provider=provider, cohort=cohort)


def _not_expected(key: StatementKey, d: DfeStatement) -> tuple[Finding, ...]:
    why = ("DfE's statement names no lead provider and its cohort has several (or none) "
           "in the expected statements" if key.lead_provider == UNKNOWN_PROVIDER else
           "no expected statement has this provider, cohort and name")
    return (finding(
        "STATEMENT_NOT_EXPECTED",
        f"DfE's statement {d.name} (cohort {d.cohort}, paid {d.payment_date}) has no "
        f"expected counterpart: {why}.",
        **_at(key), actual=d.total,
        source=d.source),) + _calendar_findings(key, d)


def _calendar_findings(key: StatementKey, d: DfeStatement,
                       calendar_cut_off: dt.date | None = None) -> tuple[Finding, ...]:
    """DfE's cut-off on or after its payment date (docs/domain.md "Things that go wrong").
    On the day itself
    it is plausible (the first statement of a cohort), so info, as the rulebook's
    calendar check says; ``calendar_cut_off`` is the date the calculation used."""
    if d.cut_off_date and d.payment_date and d.cut_off_date >= d.payment_date:
        same_day = d.cut_off_date == d.payment_date
        used = (f" The statement calendar has {calendar_cut_off}."
                if calendar_cut_off and calendar_cut_off != d.cut_off_date else "")
        return (finding(
            "CAL_CUTOFF_ON_PAYMENT_DATE" if same_day else "CAL_CUTOFF_AFTER_PAYMENT",
            f"DfE's statement {d.name} has cut-off date {d.cut_off_date}, "
            f"{'on' if same_day else 'after'} its payment date {d.payment_date}.{used}",
            **_at(key, "cut-off date"),
            expected=str(calendar_cut_off) if calendar_cut_off else None,
            actual=str(d.cut_off_date), source=d.source),)
    return ()


# --------------------------------------------------------------------------- a matched pair


class _Agg(NamedTuple):
    """One payment line's figures on one side (``number``: its declarations)."""

    number: int | None
    fee: Decimal | None
    amount: Decimal
    fee_varies: bool
    source: Source | None


def _compare_pair(e: ExpectedStatement, d: DfeStatement, related: tuple[Finding, ...],
                  context: _Context) -> StatementPair:
    key = e.key
    findings: list[Finding] = list(_metadata_findings(e, d))
    if not d.lines and d.total is None:
        status = _status(findings, (), None, context, dates_only=True)
        return StatementPair(key, e, d, _expected_lines_only(e), tuple(findings), related,
                             status)

    lines: list[LineComparison] = []
    if d.lines:
        notes = _clawback_notes(e, d, context)
        for section in (OUTPUT, CLAWBACK):
            new_lines, new_findings = _compare_payment_lines(e, d, section, context, notes)
            lines.extend(new_lines)
            findings.extend(new_findings)
        for section in (SERVICE_FEE, UPLIFT, UPLIFT_CLAWBACK):
            line, f = _compare_single(e, d, section, context)
            if line is not None:
                lines.append(line)
            findings.extend(f)
        new_lines, new_findings = _compare_adjustments(e, d, context)
        lines.extend(new_lines)
        findings.extend(new_findings)
    net, vat, total, hidden = _dfe_figures(d, e, context)
    if d.lines:
        if d.total is not None and context.differ(hidden, ZERO):
            findings.append(finding(
                "HIDDEN_RECONCILE_AMOUNT",
                f"DfE's total for {key.name} is {money.pounds(d.total)}, but its lines "
                f"add up to {money.pounds(d.total - hidden)}: {money.pounds(hidden)} is "
                f"in the total without being shown as a line.",
                **_at(key, "reconcile amount", (RECONCILE,)), expected=ZERO,
                actual=hidden, amount=hidden, source=d.source))
            lines.append(LineComparison(RECONCILE, "reconcile amount (in DfE's total only)",
                                        expected_amount=ZERO, dfe_amount=hidden,
                                        key=(RECONCILE,)))
        vat_line, vat_findings = _compare_vat(e, d, net, vat, context)
        lines.append(vat_line)
        findings.extend(vat_findings)
    elif d.total is not None and context.differ(d.total, e.total):
        # DfE gave a total and no lines: the total is all we can compare.
        findings.append(finding(
            "TOTAL_MISMATCH",
            f"DfE's total for {key.name} is {money.pounds(d.total)}; we expect "
            f"{money.pounds(e.total)}. DfE's statement as given has no lines to compare.",
            **_at(key, "total"), expected=e.total, actual=d.total,
            amount=d.total - e.total, source=d.source))
        lines = list(_expected_lines_only(e))
    lines = _attach_codes(lines, findings)
    status = _status(findings, lines, None if total is None else total - e.total, context)
    return StatementPair(key, e, d, tuple(lines), tuple(findings), related, status,
                         net, vat, total, hidden)


def _metadata_findings(e: ExpectedStatement, d: DfeStatement) -> list[Finding]:
    key = e.key
    out: list[Finding] = []
    anomaly = _calendar_findings(key, d, e.cut_off_date)
    if anomaly and d.cut_off_date != e.cut_off_date:
        # DfE's own calendar row is faulty (and differs from the calendar's)
        out.extend(anomaly)
    for what, ours, theirs in (("cut-off date", e.cut_off_date, d.cut_off_date),
                               ("payment date", e.payment_date, d.payment_date)):
        if what == "cut-off date" and anomaly:
            continue  # reported above, or the rulebook reports the same calendar row
        if ours and theirs and ours != theirs:
            out.append(finding(
                "STATEMENT_DATES_DIFFER",
                f"DfE's {what} for {key.name} is {theirs}; the statement calendar "
                f"(rules/calendars.yaml) says {ours}.",
                **_at(key, what), expected=str(ours), actual=str(theirs),
                days=(theirs - ours).days, source=d.source))
    if (d.contract_version and e.contract_version
            and _norm(d.contract_version) != _norm(e.contract_version)):
        # ECF statements record the contract version they are calculated with; ours is
        # the contract file's version for this statement (its versions: entries)
        version = e.contract_version + (f" (from {e.terms_from})" if e.terms_from else "")
        out.append(finding(
            "CONTRACT_VERSION_DIFFERS",
            f"DfE calculated {key.name} with contract version {d.contract_version}; the "
            f"contract file gives version {version} for it.",
            **_at(key, "contract version"), expected=e.contract_version,
            actual=d.contract_version, source=d.source))
    if e.output_fee != d.output_fee:
        out.append(finding(
            "STATEMENT_OUTPUT_FEE_DIFFERS",
            f"DfE's statement {key.name} is {'an' if d.output_fee else 'not an'} output-fee "
            f"statement; the calendar says it is {'' if e.output_fee else 'not '}one.",
            **_at(key, "output fee"), expected=str(e.output_fee).lower(),
            actual=str(d.output_fee).lower(), source=d.source))
    return out


def _line_label(section: str, participant_type: str | None, declaration_type: str | None,
                band: str | None) -> str:
    who = participant_type or "all participants"
    band_text = f"band {band}" if band else "flat rate"
    return f"{section} {who} {declaration_type} {band_text}"


_PaymentKey = tuple[str | None, str | None, str | None]


def _payment_key(line: PaymentLine | DfeLine, collapse: bool) -> _PaymentKey:
    return (None if collapse else line.participant_type, line.declaration_type, line.band)


def _expected_payment_aggs(lines: Iterable[PaymentLine], collapse: bool
                           ) -> dict[_PaymentKey, _Agg]:
    out: dict[_PaymentKey, list[Any]] = {}
    for line in lines:
        k = _payment_key(line, collapse)
        agg = out.setdefault(k, [0, set(), ZERO])
        agg[0] += line.count
        agg[1].add(line.fee_per_declaration)
        agg[2] += line.amount
    return {k: _Agg(c, next(iter(fees)) if len(fees) == 1 else None, a, len(fees) > 1, None)
            for k, (c, fees, a) in out.items()}


def _dfe_payment_aggs(lines: Iterable[DfeLine], collapse: bool, negative: bool
                      ) -> dict[_PaymentKey, _Agg]:
    out: dict[_PaymentKey, list[Any]] = {}
    for line in lines:
        k = _payment_key(line, collapse)
        agg = out.setdefault(k, [None, set(), ZERO, line.source])
        if line.count is not None:
            agg[0] = (agg[0] or 0) + line.count
        if line.fee_per_declaration is not None:
            agg[1].add(abs(line.fee_per_declaration))
        # clawbacks are deductions: a clawback typed as a positive amount means the same
        agg[2] += -abs(line.amount) if negative else line.amount
    return {k: _Agg(c, next(iter(fees)) if len(fees) == 1 else None, a, len(fees) > 1, s)
            for k, (c, fees, a, s) in out.items()}


_CODES = {
    OUTPUT: ("OUTPUT_COUNT_MISMATCH", "OUTPUT_FEE_MISMATCH", "OUTPUT_AMOUNT_MISMATCH"),
    CLAWBACK: ("CLAWBACK_COUNT_MISMATCH", "CLAWBACK_FEE_MISMATCH", "CLAWBACK_AMOUNT_MISMATCH"),
}
_WHAT = {OUTPUT: "output payments", CLAWBACK: "clawbacks"}


def _compare_payment_lines(e: ExpectedStatement, d: DfeStatement, section: str,
                           context: _Context, notes: dict[tuple[str | None, str | None], str]
                           ) -> tuple[list[LineComparison], list[Finding]]:
    dfe_lines = [line for line in d.lines if line.line_type == section]
    ours = e.output_payments if section == OUTPUT else e.clawbacks
    # DfE may not split banded lines by participant type: then compare the sums.
    collapse = any(line.participant_type is None for line in dfe_lines)
    exp = _expected_payment_aggs(ours, collapse)
    dfe = _dfe_payment_aggs(dfe_lines, collapse, negative=section == CLAWBACK)
    count_code, fee_code, amount_code = _CODES[section]
    keys = sorted(set(exp) | set(dfe), key=lambda k: (
        k[0] or "", context.type_order(k[1]), k[1] or "", k[2] is None, k[2] or ""))
    lines: list[LineComparison] = []
    findings: list[Finding] = []
    for k in keys:
        ptype, dtype, band = k
        label = _line_label(section, ptype, dtype, band)
        x, y = exp.get(k), dfe.get(k)
        lines.append(LineComparison(
            section, label, ptype, dtype, band,
            x.number if x else None, x.fee if x else None, x.amount if x else None,
            y.number if y else None, y.fee if y else None, y.amount if y else None,
            key=(section, *k)))
        where = {**_at(e.key, label, (section, *k)), "source": y.source if y else d.source}
        trace = _trace(e.key, section, ptype, dtype, band, (x.number or 0) if x else 0)
        note = notes.get((ptype, dtype), "") if section == CLAWBACK else ""
        severity = Severity.WARNING if note else None
        if y is None:
            if x is not None and not (x.number == 0 and x.amount == 0):
                findings.append(finding(
                    "LINE_MISSING_FROM_DFE",
                    f"We expect {x.number} {dtype} declaration(s) of {ptype or 'participants'} "
                    f"in {_band_words(band)} on {e.key.name} ({money.pounds(x.amount)}), but "
                    f"DfE's statement has no such {_WHAT[section][:-1]} line.{note}",
                    f"{CATALOGUE['LINE_MISSING_FROM_DFE'].suggestion} {trace}",
                    severity=severity, **where, expected=x.amount,
                    actual=ZERO, amount=-x.amount))
            continue
        if x is None or (x.number == 0 and x.amount == 0):
            if y.amount != 0 or (y.number or 0) != 0:
                findings.append(finding(
                    "LINE_NOT_EXPECTED",
                    f"DfE's statement {e.key.name} has {_count_words(y.number)}{dtype} "
                    f"{_WHAT[section]} of {ptype or 'participants'} in {_band_words(band)} "
                    f"({money.pounds(y.amount)}); we expect none there.{note}",
                    severity=severity, **where, expected=ZERO,
                    actual=y.amount, amount=y.amount))
            continue
        reported = False
        if y.number is not None and y.number != x.number:
            reported = True
            findings.append(finding(
                count_code,
                f"{label}: DfE counts {y.number}, we expect {x.number} "
                f"({money.pounds(y.amount - x.amount)} on the line).{note}",
                f"{CATALOGUE[count_code].suggestion} {trace}",
                severity=severity, **where, expected=x.number, actual=y.number,
                count=y.number - (x.number or 0)))
        if y.fee is not None and x.fee is not None and context.differ(y.fee, x.fee):
            reported = True
            findings.append(finding(
                fee_code,
                f"{label}: DfE's fee per declaration is {money.pounds(y.fee)}, the contract "
                f"gives {money.pounds(x.fee)} ({money.pounds((y.fee - x.fee) * (x.number or 0))} "
                f"over {x.number} declaration(s)).{note}",
                severity=severity, **where, expected=x.fee,
                actual=y.fee, amount=y.fee - x.fee))
        adds_up = True
        if y.number is not None and y.fee is not None:
            own = money.line_amount(y.number, y.fee)
            own = -own if section == CLAWBACK else own
            adds_up = not context.differ(own, y.amount)
        if context.differ(y.amount, x.amount) and (not reported or not adds_up):
            tail = ("" if adds_up else
                    f" DfE's own count x fee is {money.pounds(own)}, not its amount.")
            findings.append(finding(
                amount_code,
                f"{label}: DfE pays {money.pounds(y.amount)}, we expect "
                f"{money.pounds(x.amount)}.{tail}{note}",
                severity=severity, **where, expected=x.amount,
                actual=y.amount, amount=y.amount - x.amount))
    return lines, findings


def _trace(key: StatementKey, section: str, ptype: str | None, dtype: str | None,
           band: str | None, count: int) -> str:
    """Where the declarations of a line are: the workbook's Declarations sheet filter."""
    statement, band_column = (("Expected statement", "Band") if section == OUTPUT
                              else ("Clawback statement", "Clawback band"))
    who = f", Participant type = {ptype}" if ptype else ""
    return (f"They are in the Declarations sheet: filter {statement} = {key.name}, "
            f"Declaration type = {dtype}{who}, {band_column} = {band or 'flat rate'} "
            f"({count} declaration(s) expected).")


def _band_words(band: str | None) -> str:
    return f"band {band}" if band else "the flat rate"


def _count_words(count: int | None) -> str:
    return f"{count} " if count is not None else ""


_SINGLE = {
    SERVICE_FEE: ("service fee", "SERVICE_FEE_MISMATCH"),
    UPLIFT: ("uplift", "UPLIFT_MISMATCH"),
    UPLIFT_CLAWBACK: ("uplift clawback", "UPLIFT_CLAWBACK_MISMATCH"),
}
_WORDS = {SERVICE_FEE: "service fee", UPLIFT: "uplift fees", UPLIFT_CLAWBACK: "uplift clawbacks"}


def _compare_single(e: ExpectedStatement, d: DfeStatement, section: str,
                    context: _Context) -> tuple[LineComparison | None, list[Finding]]:
    label, code = _SINGLE[section]
    words = _WORDS[section]
    dfe_lines = [line for line in d.lines if line.line_type == section]
    if section == SERVICE_FEE:
        x_count, x_amount = None, e.service_fee
    else:
        ours = e.uplift if section == UPLIFT else e.uplift_clawback
        x_count, x_amount = ours.count, ours.amount
    if not dfe_lines:
        if x_amount == 0 and not x_count:
            return None, []
        f = finding(
            "LINE_MISSING_FROM_DFE",
            f"We expect {words} of {money.pounds(x_amount)}"
            f"{f' ({x_count} declaration(s))' if x_count else ''} on {e.key.name}, but "
            f"DfE's statement has no {label} line.",
            **_at(e.key, label, (section,)), expected=x_amount, actual=ZERO,
            amount=-x_amount, source=d.source)
        return (LineComparison(section, label, expected_count=x_count,
                               expected_amount=x_amount, codes=(f.code,), key=(section,)), [f])
    counts = [line.count for line in dfe_lines if line.count is not None]
    y_count = sum(counts) if counts else None
    y_amount = sum((-abs(line.amount) if section == UPLIFT_CLAWBACK else line.amount
                    for line in dfe_lines), ZERO)
    line = LineComparison(section, label, expected_count=x_count, expected_amount=x_amount,
                          dfe_count=y_count, dfe_amount=y_amount, key=(section,))
    count_differs = x_count is not None and y_count is not None and x_count != y_count
    if context.differ(y_amount, x_amount) or count_differs:
        counts_text = (f" (DfE {y_count} declaration(s), we expect {x_count})"
                       if count_differs else "")
        f = finding(
            code,
            f"{e.key.name}: DfE's {words} {'is' if section == SERVICE_FEE else 'are'} "
            f"{money.pounds(y_amount)}, we expect {money.pounds(x_amount)}{counts_text}.",
            **_at(e.key, label, (section,)), expected=x_amount, actual=y_amount,
            amount=y_amount - x_amount, source=dfe_lines[0].source)
        return line, [f]
    return line, []


def _compare_adjustments(e: ExpectedStatement, d: DfeStatement,
                         context: _Context) -> tuple[list[LineComparison], list[Finding]]:
    dfe_lines = [line for line in d.lines if line.line_type == ADJUSTMENT]
    lines: list[LineComparison] = []
    findings: list[Finding] = []
    if e.adjustments != 0:
        lines.append(LineComparison(ADJUSTMENT, "adjustments (expected)",
                                    expected_amount=e.adjustments, key=(ADJUSTMENT,)))
    for n, line in enumerate(dfe_lines, start=1):
        text = (line.description or "").strip() or "(no description)"
        label = f"adjustment: {text}"
        lines.append(LineComparison(ADJUSTMENT, label, dfe_amount=line.amount,
                                    description=line.description, key=(ADJUSTMENT, n)))
        findings.append(finding(
            "UNEXPLAINED_ADJUSTMENT",
            f"DfE's statement {e.key.name} has an additional adjustment of "
            f"{money.pounds(line.amount)}: \"{text}\". Adjustments are manual and not "
            f"computed from declarations; it is in DfE's total but not in ours.",
            **_at(e.key, label, (ADJUSTMENT, n)), expected=ZERO, actual=line.amount,
            amount=line.amount, source=line.source))
    dfe_sum = sum((line.amount for line in dfe_lines), ZERO)
    if e.adjustments != 0 and context.differ(dfe_sum, e.adjustments):
        findings.append(finding(
            "ADJUSTMENT_MISMATCH",
            f"{e.key.name}: DfE's additional adjustments add up to {money.pounds(dfe_sum)}, "
            f"we expect {money.pounds(e.adjustments)}.",
            **_at(e.key, "adjustments", (ADJUSTMENT,)), expected=e.adjustments,
            actual=dfe_sum, amount=dfe_sum - e.adjustments,
            source=d.source))
    return lines, findings


def _dfe_figures(d: DfeStatement, e: ExpectedStatement | None, context: _Context
                 ) -> tuple[Decimal | None, Decimal | None, Decimal | None, Decimal]:
    """DfE's (net, VAT, total, hidden reconcile amount) as its statement gives them.

    With VAT lines, the hidden amount is the total minus every line: DfE's VAT is
    on its net including the reconcile amount (ECF statement calculator). Without
    VAT lines, the net is taken back out of the total at the contract's VAT rate.
    """
    if not d.lines and d.total is None:
        return None, None, None, ZERO
    lines_net = sum((_signed(line) for line in d.lines if line.line_type != VAT), ZERO)
    vat_lines = [line for line in d.lines if line.line_type == VAT]
    if vat_lines:
        vat = sum((line.amount for line in vat_lines), ZERO)
        if d.total is None:
            return lines_net, vat, lines_net + vat, ZERO
        hidden = d.total - lines_net - vat
        return lines_net + hidden, vat, d.total, hidden
    if d.total is None:
        return lines_net, None, lines_net, ZERO
    rate = context.vat_rate(e, d)
    if rate is None or not d.lines:
        return (None if not d.lines else lines_net), None, d.total, ZERO
    net = money.round_money(d.total * 100 / (100 + rate))
    return net, d.total - net, d.total, net - lines_net


def _signed(line: DfeLine) -> Decimal:
    if line.line_type in (CLAWBACK, UPLIFT_CLAWBACK):
        return -abs(line.amount)
    return line.amount


def _compare_vat(e: ExpectedStatement, d: DfeStatement, net: Decimal | None,
                 vat: Decimal | None,
                 context: _Context) -> tuple[LineComparison, list[Finding]]:
    label = "VAT"
    given = any(line.line_type == VAT for line in d.lines)
    line = LineComparison(VAT, label, expected_amount=e.vat, dfe_amount=vat, key=(VAT,))
    if not given and d.total is None:
        if e.vat == 0:
            return line, []
        f = finding(
            "VAT_NOT_GIVEN",
            f"We expect VAT of {money.pounds(e.vat)} on {e.key.name}; DfE's statement as "
            f"given has neither a VAT line nor a total.",
            **_at(e.key, label, (VAT,)), expected=e.vat,
            actual=None, source=d.source)
        return line._replace(codes=(f.code,)), [f]
    if not given:
        return line, []  # VAT was taken out of DfE's total at the contract rate
    # DfE gave a VAT line: its net and VAT are the lines' (_dfe_figures)
    assert net is not None and vat is not None
    rate = context.vat_rate(e, d)
    findings: list[Finding] = []
    if rate is not None:
        due = money.round_money(money.percent_of(net, rate))
        if context.differ(vat, due):
            findings.append(finding(
                "VAT_MISMATCH",
                f"{e.key.name}: DfE's VAT is {money.pounds(vat)}; {rate.normalize():f}% of "
                f"DfE's own net {money.pounds(net)} is {money.pounds(due)}"
                f"{' (the contract is not VAT chargeable)' if rate == 0 else ''}.",
                **_at(e.key, label, (VAT,)), expected=due, actual=vat,
                amount=vat - due, source=d.source))
    elif d.vat_chargeable is not None and (e.vat != 0) != d.vat_chargeable:
        findings.append(finding(
            "VAT_MISMATCH",
            f"{e.key.name}: DfE's statement says VAT chargeable "
            f"{str(d.vat_chargeable).lower()}, our calculation "
            f"{'charges' if e.vat else 'does not charge'} VAT.",
            **_at(e.key, label, (VAT,)), expected=e.vat, actual=vat,
            amount=vat - e.vat, source=d.source))
    return line, findings


def _expected_lines_only(e: ExpectedStatement) -> tuple[LineComparison, ...]:
    def payment(section: str, p: PaymentLine) -> LineComparison:
        return LineComparison(
            section, _line_label(section, p.participant_type, p.declaration_type, p.band),
            p.participant_type, p.declaration_type, p.band, p.count, p.fee_per_declaration,
            p.amount, key=(section, p.participant_type, p.declaration_type, p.band))

    lines = [payment(OUTPUT, p) for p in e.output_payments]
    if e.service_fee or not e.output_fee:
        lines.append(LineComparison(SERVICE_FEE, "service fee", expected_amount=e.service_fee,
                                    key=(SERVICE_FEE,)))
    if e.uplift.count or e.uplift.amount:
        lines.append(LineComparison(UPLIFT, "uplift", expected_count=e.uplift.count,
                                    expected_amount=e.uplift.amount, key=(UPLIFT,)))
    lines += [payment(CLAWBACK, p) for p in e.clawbacks]
    if e.uplift_clawback.count or e.uplift_clawback.amount:
        lines.append(LineComparison(UPLIFT_CLAWBACK, "uplift clawback",
                                    expected_count=e.uplift_clawback.count,
                                    expected_amount=e.uplift_clawback.amount,
                                    key=(UPLIFT_CLAWBACK,)))
    if e.adjustments:
        lines.append(LineComparison(ADJUSTMENT, "adjustments (expected)",
                                    expected_amount=e.adjustments, key=(ADJUSTMENT,)))
    lines.append(LineComparison(VAT, "VAT", expected_amount=e.vat, key=(VAT,)))
    return tuple(lines)


def _dfe_only_lines(d: DfeStatement, context: _Context) -> tuple[LineComparison, ...]:
    lines: list[LineComparison] = []
    adjustments = 0
    for line in sorted(d.lines, key=lambda x: (SECTIONS.index(x.line_type)
                                               if x.line_type in SECTIONS else 99,
                                               x.participant_type or "",
                                               context.type_order(x.declaration_type),
                                               x.band or "")):
        key: LineKey = (line.line_type,)
        if line.line_type in (OUTPUT, CLAWBACK):
            label = _line_label(line.line_type, line.participant_type, line.declaration_type,
                                line.band)
            key = (line.line_type, line.participant_type, line.declaration_type, line.band)
        elif line.line_type == ADJUSTMENT:
            label = f"adjustment: {line.description or '(no description)'}"
            adjustments += 1
            key = (ADJUSTMENT, adjustments)
        else:
            label = line.line_type.replace("_", " ")
        lines.append(LineComparison(line.line_type, label, line.participant_type,
                                    line.declaration_type, line.band, dfe_count=line.count,
                                    dfe_fee=line.fee_per_declaration, dfe_amount=_signed(line),
                                    description=line.description, key=key))
    return tuple(lines)


# --------------------------------------------------------------------------- explanations


def _clawback_index(calculation: Calculation) -> tuple[
        dict[StatementKey, list[Attribution]], dict[str, Decimal], dict[str, StatementKey]]:
    """Clawback attributions by statement; for each clawed-back declaration the fee it
    was first paid and the statement that paid it (two passes over the attributions,
    whatever the number of statements; dictionaries of clawbacks only)."""
    attributions = calculation.attributions
    by_statement: dict[StatementKey, list[Attribution]] = defaultdict(list)
    for a in attributions:
        if a.kind == "clawback":
            by_statement[a.statement].append(a)
    if not by_statement:
        return {}, {}, {}
    ids = {a.declaration_id for clawed in by_statement.values() for a in clawed}
    first_paid: dict[str, Decimal] = {}
    paid_on: dict[str, StatementKey] = {}
    for a in attributions:
        if a.declaration_id in ids and a.kind == "output":
            first_paid[a.declaration_id] = a.fee
            if not a.unpaid:
                paid_on[a.declaration_id] = a.statement
    return dict(by_statement), first_paid, paid_on


def _clawback_notes(e: ExpectedStatement, d: DfeStatement, context: _Context
                    ) -> dict[tuple[str | None, str | None], str]:
    """Per (participant type, declaration type): a note when DfE's clawbacks equal the
    fees originally paid rather than the top-band fees we (and DfE's method) use.

    The calculation reports such clawbacks as CALC_CLAWBACK_BAND_DIFFERS; here the
    difference on DfE's statement is explained by it (docs/domain.md "Banding", step 3).
    """
    clawed = context.clawbacks.get(e.key)
    if not clawed:
        return {}
    first_paid = context.first_paid
    ours: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    original: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for a in clawed:
        if a.declaration_id not in first_paid:
            return {}
        ours[(a.participant_type, a.declaration_type)] += a.fee
        original[(a.participant_type, a.declaration_type)] -= abs(first_paid[a.declaration_id])
    collapse = any(line.participant_type is None
                   for line in d.lines if line.line_type == CLAWBACK)
    dfe: dict[tuple[str | None, str | None], Decimal] = defaultdict(lambda: ZERO)
    for line in d.lines:
        if line.line_type == CLAWBACK:
            dfe[(None if collapse else line.participant_type, line.declaration_type)] -= abs(
                line.amount)
    notes: dict[tuple[str | None, str | None], str] = {}
    for ptype, dtype in original:
        k = (None if collapse else ptype, dtype)
        if k in notes:
            continue
        ours_k = sum((v for (p, t), v in ours.items() if t == dtype
                      and (collapse or p == ptype)), ZERO)
        orig_k = sum((v for (p, t), v in original.items() if t == dtype
                      and (collapse or p == ptype)), ZERO)
        if context.differ(ours_k, orig_k) and not context.differ(dfe.get(k, ZERO), orig_k):
            notes[k] = (
                f" Explained: DfE valued these clawbacks at the fees first paid "
                f"({money.pounds(orig_k)}); DfE's banding method takes them from the top "
                f"band filled ({money.pounds(ours_k)}), see CALC_CLAWBACK_BAND_DIFFERS.")
    return notes


def _clawback_placement(calculation: Calculation, expected: tuple[ExpectedStatement, ...],
                        dfe_statements: Sequence[DfeStatement],
                        declarations: Sequence[Declaration],
                        clawbacks: dict[StatementKey, list[Attribution]],
                        paid_on: dict[str, StatementKey]) -> list[Finding]:
    """Clawbacks on a statement of another cohort, or before the statement that paid.

    From the calculation's attributions (the statements it placed each declaration
    on) and, when given, the declarations' own DfE statement ids/names.
    """
    dates = {e.key: e.payment_date for e in expected}
    out: dict[tuple[str, str], Finding] = {}
    # The calculation already reports a clawback statement of another cohort (and
    # expects the clawback on the declaration's own cohort): not again here.
    reported = {(_norm(f.lead_provider), f.cohort) for f in calculation.findings
                if f.code == "CLAWBACK_OTHER_COHORT"}
    for clawed in clawbacks.values():
        for a in clawed:
            pay_key = paid_on.get(a.declaration_id)
            if pay_key is None:
                continue
            claw_key = a.statement
            _placement(out, a.declaration_id, pay_key.lead_provider, pay_key.cohort,
                       pay_key.name, dates.get(pay_key), claw_key.lead_provider,
                       claw_key.cohort, claw_key.name, dates.get(claw_key), None)
    if declarations and dfe_statements:
        by_id = {d.statement_id: d for d in dfe_statements if d.statement_id}
        by_name: dict[tuple[str, int, str], DfeStatement] = {}
        for d in dfe_statements:
            by_name.setdefault((_norm(d.lead_provider), d.cohort, _norm(d.name)), d)
        for decl in declarations:
            claw = _dfe_statement(decl, by_id, by_name, clawback=True)
            if claw is None:
                continue
            pay = _dfe_statement(decl, by_id, by_name, clawback=False)
            provider = decl.lead_provider or claw.lead_provider or ""
            _placement(out, decl.declaration_id, provider, decl.cohort,
                       pay.name if pay else None, pay.payment_date if pay else None,
                       provider, claw.cohort, claw.name, claw.payment_date, decl.source,
                       other_cohort=(_norm(provider), decl.cohort) not in reported)
    return list(out.values())


def _dfe_statement(decl: Declaration, by_id: dict[str, DfeStatement],
                   by_name: dict[tuple[str, int, str], DfeStatement], *, clawback: bool
                   ) -> DfeStatement | None:
    sid = decl.clawback_statement_id if clawback else decl.statement_id
    name = decl.clawback_statement_name if clawback else decl.statement_name
    if sid and sid in by_id:
        return by_id[sid]
    if name:
        for provider in (_norm(decl.lead_provider), ""):
            found = by_name.get((provider, decl.cohort, _norm(name)))
            if found is not None:
                return found
        # a clawback on another cohort's statement: look it up by name in any cohort
        matches = [d for (p, _c, n), d in by_name.items()
                   if n == _norm(name) and p in (_norm(decl.lead_provider), "")]
        if len(matches) == 1:
            return matches[0]
    return None


def _placement(out: dict[tuple[str, str], Finding], declaration_id: str, provider: str,
               pay_cohort: int, pay_name: str | None, pay_date: dt.date | None,
               claw_provider: str, claw_cohort: int, claw_name: str,
               claw_date: dt.date | None, source: Source | None,
               other_cohort: bool = True) -> None:
    where: dict[str, Any] = {"lead_provider": claw_provider, "cohort": claw_cohort,
                             "statement": claw_name,
             "declaration_id": declaration_id, "source": source, "line": "clawback"}
    if (other_cohort and claw_cohort != pay_cohort
            and (declaration_id, "CLAWBACK_OTHER_COHORT") not in out):
        out[(declaration_id, "CLAWBACK_OTHER_COHORT")] = finding(
            "CLAWBACK_OTHER_COHORT",
            f"Declaration {declaration_id} (cohort {pay_cohort}) is clawed back on "
            f"{claw_name}, a statement of cohort {claw_cohort}.",
            **where, expected=pay_cohort, actual=claw_cohort)
    if (pay_date and claw_date and claw_date < pay_date
            and (declaration_id, "CLAWBACK_BEFORE_PAYMENT") not in out):
        out[(declaration_id, "CLAWBACK_BEFORE_PAYMENT")] = finding(
            "CLAWBACK_BEFORE_PAYMENT",
            f"Declaration {declaration_id} is clawed back on {claw_name} (paid {claw_date}), "
            f"before the statement that paid it, {pay_name} ({pay_date}).",
            **where, expected=f"after {pay_date}", actual=str(claw_date))


# --------------------------------------------------------------------------- bookkeeping


def _attach_codes(lines: list[LineComparison], findings: list[Finding]) -> list[LineComparison]:
    """Each line's codes: those of the findings about it (by line key)."""
    codes: dict[LineKey, list[str]] = defaultdict(list)
    for f in findings:
        if f.line_key is not None:
            codes[f.line_key].append(f.code)
    return [line._replace(codes=tuple(dict.fromkeys(line.codes + tuple(codes.get(line.key,
                                                                               ())))))
            for line in lines]


def _status(findings: list[Finding], lines: Sequence[LineComparison],
            difference: Decimal | None, context: _Context, dates_only: bool = False) -> str:
    """The money status of a matched pair, from its own comparison only.

    ``Differs``: an error on the statement's money (a count, fee, amount, line or
    total), or a line of ours that DfE's differs from; ``DfE adjustment``: every
    line of ours matches and DfE's total differs only by its additional adjustments
    and hidden reconcile amount (with the VAT on them); ``OK``: the same money line
    by line. The calculation's and the declarations' findings (``related``, DECL_*)
    are counted beside the status on the Summary, never folded into it: a statement
    whose money matches is ``OK`` even when a declaration on it needs a look.
    """
    if dates_only:
        return DATES_ONLY
    if any(f.severity is Severity.ERROR for f in findings):
        return DIFFERS
    if any(line.dfe_amount is not None or line.dfe_count is not None for line in lines):
        for line in lines:  # DfE gave lines: ours must match them one by one
            if line.section in (*DFE_ADJUSTING, VAT):
                continue  # VAT follows the net; checked on DfE's own net (VAT_MISMATCH)
            counts_differ = (line.dfe_count is not None and line.expected_count is not None
                             and line.dfe_count != line.expected_count)
            if counts_differ or context.differ(line.dfe_amount, line.expected_amount):
                return DIFFERS
    adjusted = sum(((line.dfe_amount or ZERO) - (line.expected_amount or ZERO)
                    for line in lines if line.section in DFE_ADJUSTING), ZERO)
    if context.differ(adjusted, ZERO):
        return DFE_ADJUSTMENT
    if difference is not None and context.differ(difference, ZERO):
        return DIFFERS
    return OK


def _dfe_block(pair: StatementPair) -> dict[str, Any]:
    """DfE's side of a statement in the shape of the JSON ``expected`` block."""
    d = pair.dfe
    assert d is not None  # Comparison.dfe_json: a pair with DfE's money
    outputs: list[dict[str, Any]] = []
    clawbacks: list[dict[str, Any]] = []
    for line in d.lines:
        if line.line_type not in (OUTPUT, CLAWBACK):
            continue
        row = {"participant_type": line.participant_type,
               "declaration_type": line.declaration_type, "band": line.band,
               "count": line.count,
               "fee_per_declaration": money.show(abs(line.fee_per_declaration))
               if line.fee_per_declaration is not None else None,
               "amount": money.show(_signed(line))}
        (outputs if line.line_type == OUTPUT else clawbacks).append(row)

    def count_amount(section: str) -> dict[str, Any]:
        lines = [x for x in d.lines if x.line_type == section]
        counts = [x.count for x in lines if x.count is not None]
        return {"count": sum(counts) if counts else (0 if not lines else None),
                "amount": money.show(sum((_signed(x) for x in lines), ZERO))}

    def total_of(section: str) -> str | None:
        return money.show(sum((x.amount for x in d.lines if x.line_type == section), ZERO))

    return {
        "statement_id": d.statement_id,
        "paid": d.paid,
        "contract_version": d.contract_version,
        "output_payments": outputs,
        "clawbacks": clawbacks,
        "uplift": count_amount(UPLIFT),
        "uplift_clawback": count_amount(UPLIFT_CLAWBACK),
        "service_fee": total_of(SERVICE_FEE),
        "adjustments": total_of(ADJUSTMENT),
        "adjustment_lines": [{"description": x.description, "amount": money.show(x.amount)}
                             for x in d.lines if x.line_type == ADJUSTMENT],
        "reconcile_amount": money.show(pair.hidden),
        "net": money.show(pair.dfe_net),
        "vat": money.show(pair.dfe_vat),
        "total": money.show(pair.dfe_total),
    }
