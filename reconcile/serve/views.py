"""What each page shows, as plain values drawn from a finished run (pure; no HTML here).

Stage: report (the page's counterpart of :mod:`reconcile.report`). In: a
:class:`~reconcile.result.RunResult`. Out: rows, figures and links that the
templates lay out. Nothing is computed here that the pipeline did not compute: the
statements, lines, statuses and findings are the run's (``result.comparison``), the
notes on the Summary are the workbook's Summary notes, the
explanation of a declaration is ``reconcile explain``'s; this module only selects,
groups and orders them for a page.

* :meth:`RunView.summary` — every statement: expected, DfE, difference, status,
  findings by severity; filters by provider, cohort and status; totals of the rows
  shown (with no filter, the workbook's totals row); a chart per provider and cohort.
* :meth:`RunView.statement` — one statement laid out like DfE's payment breakdown
  (``app/components/finance/statements/`` of DfE's early-careers-framework service:
  output payments with declaration types as rows and bands as columns, a count row
  and a fee row per type; uplift fees; clawbacks; additional adjustments; VAT; total),
  our figures beside DfE's with the differences marked, its findings, and a link from
  each count to the declarations behind it.
* :meth:`RunView.findings`, :meth:`RunView.attributions`, :meth:`RunView.partners`.

Example::

    view = RunView(result)
    view.summary({"provider": "Harbour Lane Education Trust"})["totals"]["expected"]
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from functools import cached_property
from typing import Any, NamedTuple

from reconcile import money
from reconcile.compare import (
    ADJUSTMENT,
    CLAWBACK,
    OUTPUT,
    RECONCILE,
    SERVICE_FEE,
    UPLIFT,
    UPLIFT_CLAWBACK,
    VAT,
    Comparison,
    LineComparison,
    StatementPair,
    without_dfe,
)
from reconcile.explain import Explanation, explain_declaration
from reconcile.findings import CATALOGUE, Finding, Severity, sort_key
from reconcile.history.follow import FollowUp
from reconcile.model import Declaration
from reconcile.model import normal_name as _norm
from reconcile.providers import dfe_given
from reconcile.remittance import remittance_file_names
# the workbook's own note of each Summary row, so page and workbook say the same
from reconcile.report import _summary_note as summary_note
from reconcile.result import RunResult
from reconcile.serve.charts import bar_chart
from reconcile.split import StatementSplit

ZERO = money.ZERO
#: rows per page of the long lists (findings, declarations)
PAGE_SIZE = 100

#: the tag colour of each money status, most serious first (the order the filters list them)
STATUS_CLASSES = {"Differs": "red", "Missing from DfE": "red", "Not expected": "orange",
                  "DfE adjustment": "yellow", "OK": "green", "Dates only": "grey",
                  "Not in DfE file": "grey", "No DfE statement given": "grey"}
SEVERITY_CLASSES = {"error": "red", "warning": "yellow", "info": "blue"}
#: the Summary's "needs checking" filter: every status but those that agree (or have no
#: DfE money to agree with)
ATTENTION = "needs-checking"
CALM_STATUSES = frozenset({"OK", "Dates only", "Not in DfE file", "No DfE statement given"})


#: a statement by (provider, cohort, name), normalised: how findings find their statement
_StatementOf = tuple[str, int | None, str]


def statement_of(f: Finding) -> _StatementOf:
    """The statement a finding is about, as the workbook matches them."""
    return (_norm(f.lead_provider), f.cohort, _norm(f.statement))


def pair_of(pair: StatementPair) -> _StatementOf:
    return (_norm(pair.key.lead_provider), pair.key.cohort, _norm(pair.key.name))


def type_label(declaration_type: str | None) -> str:
    """``retained-1`` as DfE's statement page writes it: ``Retained 1``."""
    return (declaration_type or "").replace("-", " ").capitalize()


class Cell(NamedTuple):
    """One figure of a statement: ours, DfE's, whether they differ, what it links to."""

    expected: Any
    dfe: Any
    differs: bool
    link: dict[str, str] | None = None

    @property
    def difference(self) -> Any:
        """DfE's figure minus ours (a missing side counts as nothing)."""
        if self.expected is None and self.dfe is None:
            return None
        zero = ZERO if isinstance(self.expected or self.dfe, Decimal) else 0
        return (self.dfe or zero) - (self.expected or zero)


def _cell(expected: Any, dfe: Any, has_dfe: bool, link: dict[str, str] | None = None) -> Cell:
    differs = has_dfe and (expected or 0) != (dfe or 0)
    return Cell(expected, dfe, differs, link)


class RunView:
    """The pages of one finished run (values computed once, on first use)."""

    def __init__(self, result: RunResult) -> None:
        self.result = result

    # ------------------------------------------------------------------ shared
    @cached_property
    def comparison(self) -> Comparison:
        return self.result.comparison or without_dfe(self.result.calculation)

    @cached_property
    def pairs(self) -> tuple[StatementPair, ...]:
        return self.comparison.pairs

    @cached_property
    def by_statement(self) -> dict[_StatementOf, list[Finding]]:
        found: dict[_StatementOf, list[Finding]] = defaultdict(list)
        for f in self.result.findings:
            if f.statement:
                found[statement_of(f)].append(f)
        return found

    @cached_property
    def declaration_types(self) -> tuple[str, ...]:
        return tuple(self.result.rulebook.vocabulary.declaration_types)

    @cached_property
    def pair_index(self) -> dict[_StatementOf, int]:
        return {pair_of(p): i for i, p in enumerate(self.pairs)}

    def index_of(self, provider: str | None, cohort: int | None, name: str | None) -> int | None:
        """The statement page of (provider, cohort, statement name), if there is one."""
        return self.pair_index.get((_norm(provider), cohort, _norm(name)))

    def statement_findings(self, pair: StatementPair) -> list[Finding]:
        """The pair's own findings and the run's on the statement, most serious first."""
        return sorted(dict.fromkeys([*pair.findings, *pair.related,
                                     *self.by_statement.get(pair_of(pair), ())]),
                      key=sort_key)

    @cached_property
    def has_dfe(self) -> bool:
        return any(p.dfe is not None for p in self.pairs)

    # ------------------------------------------------------------------ summary
    def summary(self, filters: Mapping[str, str]) -> dict[str, Any]:
        """The Summary page: statements, filters, totals and charts (see the module doc)."""
        provider = filters.get("provider") or ""
        cohort = filters.get("cohort") or ""
        status = filters.get("status") or ""
        counts: Counter[tuple[_StatementOf, Severity]] = Counter()
        for f in self.result.findings:
            if f.statement:
                counts[(statement_of(f), f.severity)] += 1
        rows: list[dict[str, Any]] = []
        charted: list[StatementPair] = []
        for i, pair in enumerate(self.pairs):
            if provider and pair.key.lead_provider != provider:
                continue
            if cohort and str(pair.key.cohort) != cohort:
                continue
            charted.append(pair)  # the charts show every statement of what is chosen
            if status == ATTENTION and pair.status in CALM_STATUSES:
                continue
            if status and status != ATTENTION and pair.status != status:
                continue
            key = pair_of(pair)
            output_fee = (pair.expected.output_fee if pair.expected else
                          pair.dfe is not None and pair.dfe.output_fee)
            rows.append({
                "index": i, "pair": pair, "provider": pair.key.lead_provider,
                "cohort": pair.key.cohort, "name": pair.key.name,
                "payment_date": pair.payment_date, "cut_off_date": pair.cut_off_date,
                "output_fee": output_fee,
                "expected": pair.expected_total,
                "dfe": pair.dfe_total if pair.has_money else None,
                "difference": pair.difference if pair.has_money else None,
                "errors": counts.get((key, Severity.ERROR), 0),
                "warnings": counts.get((key, Severity.WARNING), 0),
                "info": counts.get((key, Severity.INFO), 0),
                "status": pair.status, "status_class": STATUS_CLASSES.get(pair.status, "grey"),
                "note": summary_note(pair, self.by_statement.get(key, ())),
            })
        # as the workbook's Summary: the total of the statements compared (its difference
        # is its DfE total minus its expected total), the others on a line of their own
        # (a run given no DfE statements compares none: its total is the expected money)
        if dfe_given(self.pairs):
            compared = [r for r in rows if r["difference"] is not None]
            others = [r for r in rows if r["difference"] is None]
        else:
            compared, others = rows, []
        totals = {
            "expected": sum((r["expected"] for r in compared if r["expected"] is not None),
                            ZERO),
            "dfe": sum((r["dfe"] for r in compared if r["dfe"] is not None), ZERO),
            "others": ({
                "statuses": ", ".join(sorted({r["status"] for r in others})),
                "expected": sum((r["expected"] for r in others if r["expected"] is not None),
                                ZERO),
                "dfe": sum((r["dfe"] for r in others if r["dfe"] is not None), ZERO),
            } if others else None),
            "difference": sum((r["difference"] for r in rows if r["difference"] is not None),
                              ZERO),
            "errors": sum(r["errors"] for r in rows), "warnings": sum(r["warnings"] for r in rows),
            "info": sum(r["info"] for r in rows),
        }
        severities = Counter(f.severity.value for f in self.result.findings)
        statuses = Counter(p.status for p in self.pairs)
        return {
            "rows": rows, "totals": totals, "filtered": bool(provider or cohort or status),
            "filters": {"provider": provider, "cohort": cohort, "status": status},
            "providers": sorted({p.key.lead_provider for p in self.pairs}),
            "cohorts": sorted({p.key.cohort for p in self.pairs}),
            "statuses": [s for s in STATUS_CLASSES if statuses.get(s)],
            "status_counts": statuses, "severities": severities,
            "status_classes": STATUS_CLASSES, "attention": ATTENTION,
            "attention_count": sum(n for st, n in statuses.items() if st not in CALM_STATUSES),
            "charts": self._charts(charted),
            "declarations": len(self.result.declarations),
            "statements": len(self.pairs),
            "has_dfe": self.has_dfe,
            "history": self.result.history,
        }

    def _charts(self, pairs: Sequence[StatementPair]) -> list[dict[str, Any]]:
        """One chart per provider and cohort: expected and DfE per statement, in date order,
        the statements that need checking marked."""
        groups: dict[tuple[str, int], list[StatementPair]] = defaultdict(list)
        for pair in pairs:
            groups[(pair.key.lead_provider, pair.key.cohort)].append(pair)
        charts = []
        for (provider, cohort), members in groups.items():
            members = sorted(members, key=lambda p: (p.payment_date or dt.date.max, p.key.name))
            title = f"{provider}, cohort {cohort}: expected and DfE totals by statement"
            flagged = [p for p in members if p.status not in CALM_STATUSES]
            if flagged:
                title += "; needs checking: " + ", ".join(
                    f"{p.key.name} ({p.status})" for p in flagged)
            charts.append({"provider": provider, "cohort": cohort, "title": title,
                           "flagged": len(flagged),
                           "svg": bar_chart(title, [
                               (p.key.name, p.expected_total,
                                p.dfe_total if p.has_money else None,
                                None if p.status in CALM_STATUSES else p.status)
                               for p in members])})
        return charts

    # ------------------------------------------------------------------ statement
    def statement(self, index: int) -> dict[str, Any]:
        """One statement as DfE's payment breakdown lays it out, ours beside DfE's."""
        pair = self.pairs[index]
        has_dfe = pair.dfe is not None and pair.has_money
        by_section: dict[str, list[LineComparison]] = defaultdict(list)
        for line in pair.lines:
            by_section[line.section].append(line)
        e = pair.expected

        def total(section: str, side: str) -> Decimal:
            return sum((((x.expected_amount if side == "expected" else x.dfe_amount) or ZERO)
                        for x in by_section[section]), ZERO)

        def both(*sections: str) -> Cell:
            exp = sum((total(s, "expected") for s in sections), ZERO)
            dfe = sum((total(s, "dfe") for s in sections), ZERO) if has_dfe else None
            return _cell(exp, dfe, has_dfe)

        vat_exp = e.vat if e is not None else None
        vat_dfe = pair.dfe_vat if has_dfe else None
        if vat_dfe is None and has_dfe and pair.dfe_net is not None and pair.dfe_total is not None:
            vat_dfe = pair.dfe_total - pair.dfe_net
        headline = [
            ("Output payment", both(OUTPUT)),
            ("Service fee", both(SERVICE_FEE)),
            ("Uplift fees", both(UPLIFT)),
            ("Clawbacks", both(CLAWBACK, UPLIFT_CLAWBACK)),
            ("Additional adjustments", both(ADJUSTMENT, RECONCILE)),
            ("VAT", _cell(vat_exp, vat_dfe, has_dfe)),
        ]
        link = {"statement": str(index)}
        return {
            "index": index, "pair": pair, "has_dfe": has_dfe,
            "status_class": STATUS_CLASSES.get(pair.status, "grey"),
            "total": _cell(pair.expected_total, pair.dfe_total if has_dfe else None, has_dfe),
            "headline": headline,
            "counts": list(e.counts) if e is not None else [],
            "outputs": self._output_tables(by_section[OUTPUT], has_dfe, index),
            "uplift": [{"count": _cell(x.expected_count, x.dfe_count, has_dfe,
                                       {"statement": str(index), "kind": "output",
                                        "uplift": "yes"}),
                        "payments": _cell(x.expected_amount, x.dfe_amount, has_dfe)}
                       for x in by_section[UPLIFT]],
            "clawbacks": self._clawback_rows(by_section[CLAWBACK] + by_section[UPLIFT_CLAWBACK],
                                             has_dfe, index),
            "clawbacks_total": both(CLAWBACK, UPLIFT_CLAWBACK),
            "service_fee": [_cell(x.expected_amount, x.dfe_amount, has_dfe)
                            for x in by_section[SERVICE_FEE]],
            "adjustments": [{"label": x.description or x.label, "codes": list(x.codes),
                             "payments": _cell(x.expected_amount, x.dfe_amount, has_dfe)}
                            for x in by_section[ADJUSTMENT] + by_section[RECONCILE]],
            "adjustments_total": both(ADJUSTMENT, RECONCILE),
            "net": _cell(sum((x.expected_amount or ZERO for x in pair.lines if x.section != VAT),
                             ZERO) if e is not None else None,
                         pair.dfe_net if has_dfe else None, has_dfe),
            "vat": _cell(vat_exp, vat_dfe, has_dfe),
            "findings": self.statement_findings(pair),
            "link": link,
            "siblings": self._siblings(pair),
            "partner_split": self.result.split is not None and e is not None,
        }

    def _siblings(self, pair: StatementPair) -> list[tuple[int, str]]:
        """The other statements of the same provider and cohort (DfE's statement selector)."""
        return [(i, p.key.name) for i, p in enumerate(self.pairs)
                if p.key.lead_provider == pair.key.lead_provider
                and p.key.cohort == pair.key.cohort]

    def _output_tables(self, lines: Sequence[LineComparison], has_dfe: bool,
                       index: int) -> list[dict[str, Any]]:
        """Output payments per participant type: declaration types as rows, bands as columns.

        As DfE's page, each declaration type has a row of counts and a row of fees per
        participant, and its payments at the end; a mentor's flat rate is one column.
        """
        order = {t: i for i, t in enumerate(self.declaration_types)}
        by_type: dict[str | None, list[LineComparison]] = defaultdict(list)
        for line in lines:
            by_type[line.participant_type].append(line)
        tables = []
        # participant types in the vocabulary's order (rules/vocabulary.yaml), none last
        ptypes = {t: i for i, t in enumerate(self.result.rulebook.vocabulary.participant_types)}
        for ptype in sorted(by_type, key=lambda t: ptypes.get(t or "", len(ptypes))):
            group = by_type[ptype]
            bands = sorted({x.band for x in group if x.band is not None})
            flat = any(x.band is None for x in group)
            columns = [*bands, *([None] if flat else [])]
            rows = []
            types = sorted({x.declaration_type or "" for x in group},
                           key=lambda t: (order.get(t, len(order)), t))
            for dtype in types:
                mine = {x.band: x for x in group if (x.declaration_type or "") == dtype}
                counts: list[Any] = []
                fees: list[Any] = []
                for band in columns:
                    x = mine.get(band)
                    if x is None:
                        counts.append(None)
                        fees.append(None)
                        continue
                    target = {"statement": str(index), "kind": "output", "type": dtype,
                              **({"band": band} if band else {"band": "flat"}),
                              **({"ptype": ptype} if ptype else {})}
                    counts.append(_cell(x.expected_count, x.dfe_count, has_dfe, target))
                    fees.append(_cell(x.expected_fee, x.dfe_fee, has_dfe
                                      and x.dfe_fee is not None))
                exp_pay = sum((x.expected_amount or ZERO for x in mine.values()), ZERO)
                dfe_pay = sum((x.dfe_amount or ZERO for x in mine.values()), ZERO)
                codes = sorted({c for x in mine.values() for c in x.codes})
                rows.append({"label": type_label(dtype), "counts": counts, "fees": fees,
                             "payments": _cell(exp_pay, dfe_pay if has_dfe else None, has_dfe),
                             "codes": codes})
            exp_total = sum((x.expected_amount or ZERO for x in group), ZERO)
            dfe_total = sum((x.dfe_amount or ZERO for x in group), ZERO)
            title = {"ect": "Output payments: early career teachers",
                     "mentor": "Output payments: mentors"}.get(ptype or "", "Output payments")
            tables.append({"title": title, "participant_type": ptype,
                           "columns": [f"Band {b}" if b else "Flat rate" for b in columns],
                           "rows": rows,
                           "total": _cell(exp_total, dfe_total if has_dfe else None, has_dfe)})
        return tables

    def _clawback_rows(self, lines: Sequence[LineComparison], has_dfe: bool,
                       index: int) -> list[dict[str, Any]]:
        """Clawbacks as DfE's Adjustments table: "Clawback for started (Band A)"."""
        order = {t: i for i, t in enumerate(self.declaration_types)}
        rows = []
        for x in sorted(lines, key=lambda x: (x.section != UPLIFT_CLAWBACK,
                                              x.participant_type or "",
                                              order.get(x.declaration_type or "", 99),
                                              x.band or "")):
            if x.section == UPLIFT_CLAWBACK:
                label = "Uplift clawbacks"
                target = {"statement": str(index), "kind": "clawback", "uplift": "yes"}
            else:
                who = {"ect": "ECT ", "mentor": "mentor "}.get(x.participant_type or "", "")
                band = f" (Band {x.band})" if x.band else ""
                label = f"Clawback for {who}{x.declaration_type}{band}"
                target = {"statement": str(index), "kind": "clawback",
                          "type": x.declaration_type or "",
                          "band": x.band or "flat", **({"ptype": x.participant_type}
                                                        if x.participant_type else {})}
            rows.append({"label": label,
                         "count": _cell(x.expected_count, x.dfe_count, has_dfe, target),
                         "fee": _cell(x.expected_fee, x.dfe_fee, has_dfe and x.dfe_fee is not None),
                         "payments": _cell(x.expected_amount, x.dfe_amount, has_dfe),
                         "codes": list(x.codes)})
        return rows

    # ------------------------------------------------------------------ findings
    def findings(self, filters: Mapping[str, str], sort: str = "", page: int = 1,
                 notes: Any = None) -> dict[str, Any]:
        """Every finding, filtered and sorted, a page at a time.

        With a history, each finding has its status (new, open, reopened), first sighting,
        age and latest note; ``notes(fingerprints) -> {fingerprint: NoteRow}`` reads the
        notes as they are now (one added since the run shows at once).
        """
        wanted = {k: (filters.get(k) or "").strip() for k in
                  ("severity", "code", "provider", "cohort", "statement", "status", "q")}
        text = wanted["q"].casefold()
        rows = []
        for position, f in enumerate(self.result.findings):
            if wanted["severity"] and f.severity.value != wanted["severity"]:
                continue
            if wanted["code"] and f.code != wanted["code"]:
                continue
            if wanted["provider"] and (f.lead_provider or "") != wanted["provider"]:
                continue
            if wanted["cohort"] and str(f.cohort or "") != wanted["cohort"]:
                continue
            if wanted["statement"] and (f.statement or "") != wanted["statement"]:
                continue
            if wanted["status"] and self._status(f) != wanted["status"]:
                continue
            if text and text not in " ".join(filter(None, (
                    f.message, f.suggestion, f.code, f.declaration_id, f.line,
                    f.lead_provider, f.statement))).casefold():
                continue
            rows.append((position, f))
        key, reverse = _sort_key(sort)
        if sort.lstrip("-") == "age" and self.has_history:
            key = self._age
        if key is not None:
            rows.sort(key=lambda item: key(item[1]), reverse=reverse)
        total = len(rows)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        findings = self.result.findings
        history = self.result.history if self.has_history else None
        follow = {id(f): history.follow_up(f) for _, f in shown} if history else {}
        current = (notes([u.fingerprint for u in follow.values() if u is not None])
                   if notes is not None and follow else {})
        page_rows: list[dict[str, Any]] = []
        for _, f in shown:
            up = follow.get(id(f))
            note = (current.get(up.fingerprint) or up.note) if up is not None else None
            page_rows.append({"finding": f, "title": _title(f),
                         "severity_class": SEVERITY_CLASSES.get(f.severity.value, "grey"),
                         "statement_index": self.index_of(f.lead_provider, f.cohort,
                                                          f.statement),
                         "declaration_ids": _first_ids(f), "follow": up, "note": note})
        return {
            "rows": page_rows, "history": history,
            "statuses": Counter(self._status(f) for f in findings) if history else Counter(),
            "total": total, "all": len(findings), "page": page, "pages": pages,
            "filters": wanted, "sort": sort,
            "codes": sorted({f.code for f in findings}),
            "providers": sorted({f.lead_provider for f in findings if f.lead_provider}),
            "cohorts": sorted({f.cohort for f in findings if f.cohort is not None}),
            "statements": sorted({f.statement for f in findings if f.statement},
                                 key=_statement_sort),
            "severities": Counter(f.severity.value for f in findings),
        }

    @cached_property
    def has_history(self) -> bool:
        return self.result.history is not None

    def _follow_up(self, f: Finding) -> FollowUp | None:
        history = self.result.history
        return history.follow_up(f) if history is not None else None

    def _age(self, f: Finding) -> int:
        up = self._follow_up(f)
        return up.age_days if up is not None else -1

    def _status(self, f: Finding) -> str:
        """A finding's status in the history: new, open or reopened ('' without one)."""
        up = self._follow_up(f)
        return up.status if up is not None else ""

    # ------------------------------------------------------------------ declarations
    @cached_property
    def unpaid(self) -> list[tuple[Declaration, Finding | None]]:
        """Declarations the calculation put on no statement (not paid, nothing clawed
        back), in input order, each with the most serious finding about it: why."""
        placed = {a.declaration_id for a in self.result.calculation.attributions}
        why: dict[str, Finding] = {}
        for f in sorted(self.result.findings, key=sort_key):
            for d in f.declaration_ids or ((f.declaration_id,) if f.declaration_id else ()):
                why.setdefault(d, f)
        return [(d, why.get(d.declaration_id)) for d in self.result.declarations
                if d.declaration_id not in placed]

    def not_paid(self, filters: Mapping[str, str], page: int = 1) -> dict[str, Any]:
        """The Declarations page's "not paid" list (``kind=unpaid``)."""
        text = (filters.get("q") or "").strip()
        rows = [(d, f) for d, f in self.unpaid
                if not text or text in d.declaration_id or text in (d.participant_id or "")]
        total = len(rows)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        return {"rows": [{"declaration": d, "finding": f, "title": _title(f) if f else "",
                          "statement_index": self.index_of(f.lead_provider, f.cohort,
                                                           f.statement) if f else None}
                         for d, f in rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]],
                "total": total, "page": page, "pages": pages, "pair": None, "unpaid": True,
                "all_unpaid": len(self.unpaid),
                "filters": {"kind": "unpaid", "q": text}}

    def attributions(self, filters: Mapping[str, str], page: int = 1) -> dict[str, Any]:
        """The declarations behind a figure: attributions to a statement, line and band."""
        if filters.get("kind") == "unpaid":
            return self.not_paid(filters, page)
        index = filters.get("statement") or ""
        pair = self.pairs[int(index)] if index.isdigit() and int(index) < len(self.pairs) else None
        kind = filters.get("kind") or ""
        dtype = filters.get("type") or ""
        band = filters.get("band") or ""
        ptype = filters.get("ptype") or ""
        uplift = filters.get("uplift") == "yes"
        text = (filters.get("q") or "").strip()
        rows = []
        for a in self.result.calculation.attributions:
            if pair is not None and a.statement != pair.key:
                continue
            if kind and a.kind != kind:
                continue
            if dtype and a.declaration_type != dtype:
                continue
            if band and (a.band or "flat") != band and not (band == "flat" and a.band is None):
                continue
            if ptype and a.participant_type != ptype:
                continue
            if uplift and not a.uplift:
                continue
            if text and text not in a.declaration_id and text not in (a.participant_id or ""):
                continue
            rows.append(a)
        total = len(rows)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        what = []
        if kind:
            what.append({"output": "paid", "clawback": "clawed back"}.get(kind, kind))
        if ptype:
            what.append({"ect": "ECT", "mentor": "mentor"}.get(ptype, ptype))
        if dtype:
            what.append(type_label(dtype).lower())
        if band:
            what.append("flat rate" if band == "flat" else f"band {band}")
        if uplift:
            what.append("with an uplift")
        return {"rows": rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "total": total,
                "page": page, "pages": pages, "pair": pair, "unpaid": False,
                "all_unpaid": len(self.unpaid),
                "statement_index": int(index) if pair is not None else None,
                "what": " ".join(what), "filters": {k: filters.get(k) or "" for k in
                                                    ("statement", "kind", "type", "band",
                                                     "ptype", "uplift", "q")}}

    def explanation(self, declaration_id: str) -> Explanation:
        """``reconcile explain``'s explanation (raises UsageError for an unknown id)."""
        return explain_declaration(self.result, declaration_id)

    # ------------------------------------------------------------------ partners
    def _as_of(self) -> dt.date:
        return self.result.options.as_of or dt.date.today()

    def _latest_split(self, statements: Sequence[StatementSplit]) -> StatementSplit | None:
        """The statement a user most likely pays partners from now: the latest paid by the
        run's as-of date that gives partners anything (else the latest at all)."""
        day = self._as_of()
        shared = [s for s in statements if any(p.amount for p in s.partners)]
        for candidates in ([s for s in shared if _paid_by(s, day)], shared):
            if candidates:
                return max(candidates, key=lambda s: (s.payment_date or dt.date.min,
                                                      s.key.lead_provider, s.key.cohort))
        return None

    def partners(self, index: int | None) -> dict[str, Any]:
        """The split of one statement (or the list of statements to choose from)."""
        split = self.result.split
        if split is None:
            return {"available": False}
        statements = list(split.statements)
        chosen = None
        latest = False
        if index is not None and 0 <= index < len(self.pairs):
            key = self.pairs[index].key
            chosen = next((s for s in statements if s.key == key), None)
        elif index is None:  # none chosen: the latest statement paid by the run's date
            chosen = self._latest_split(statements)
            latest = chosen is not None
        if chosen is not None:
            index = self.pair_index.get((_norm(chosen.key.lead_provider), chosen.key.cohort,
                                         _norm(chosen.key.name)))
        return {"available": True, "statements": statements, "chosen": chosen,
                "latest": latest, "as_of": self._as_of(),
                "index": index, "files": remittance_file_names(split),
                "partners": split.partners(), "policy": split.policy,
                "pair_index": {s.key: self.pair_index.get((_norm(s.key.lead_provider),
                                                           s.key.cohort, _norm(s.key.name)))
                               for s in statements}}


def _paid_by(statement: StatementSplit, day: dt.date) -> bool:
    return statement.payment_date is not None and statement.payment_date <= day


_SORTS = {
    "severity": lambda f: (f.severity.rank, f.code),
    "code": lambda f: f.code,
    "provider": lambda f: (f.lead_provider or "", f.cohort or 0),
    "cohort": lambda f: (f.cohort or 0, f.lead_provider or ""),
    "statement": lambda f: (_statement_sort(f.statement or ""), f.lead_provider or ""),
    "difference": lambda f: _magnitude(f),
    "declaration": lambda f: f.declaration_id or "",
}


def _sort_key(sort: str) -> tuple[Any, bool]:
    """``code`` ascending, ``-difference`` descending; unknown: the run's own order."""
    reverse = sort.startswith("-")
    return _SORTS.get(sort.lstrip("-")), reverse


def sort_options() -> tuple[str, ...]:
    return tuple(_SORTS)


def _magnitude(f: Finding) -> tuple[int, Decimal]:
    """The size of a finding's difference, whatever its sign: money above counts above
    days (so that the largest sort first, money first), none below all."""
    if f.amount is not None:
        return (3, abs(f.amount))
    if f.count is not None:
        return (2, Decimal(abs(f.count)))
    if f.days is not None:
        return (1, Decimal(abs(f.days)))
    return (0, ZERO)


def figure(value: Any) -> str:
    """A finding's expected or actual figure for people: money as ``£1,234.50``, a
    count with its thousands, words as they are."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return money.pounds(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def difference(f: Finding) -> str:
    """A finding's difference (DfE's minus ours) for people: ``-£97.20``, ``-1``, ``+3
    days``; with its sign, as the workbook's Findings sheet."""
    if f.amount is not None:
        return money.pounds(f.amount)
    if f.count is not None:
        return f"{f.count:+,}" if f.count else "0"
    if f.days is not None:
        return f"{f.days:+,} day{'s' if abs(f.days) != 1 else ''}"
    return ""


_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1)}


def _statement_sort(name: str) -> tuple[int, int, str]:
    """"May 2024" in date order; anything else after, by name."""
    match = re.fullmatch(r"\s*([A-Za-z]+)\s+(\d{4})\s*", name or "")
    if match and match.group(1).lower() in _MONTHS:
        return (int(match.group(2)), _MONTHS[match.group(1).lower()], "")
    return (9999, 99, name or "")


def _title(f: Finding) -> str:
    info = CATALOGUE.get(f.code)
    return info.title if info else f.code.replace("_", " ").capitalize()


def _first_ids(f: Finding, limit: int = 5) -> tuple[str, ...]:
    ids: Iterable[str] = f.declaration_ids or ((f.declaration_id,) if f.declaration_id else ())
    return tuple(ids)[:limit]
