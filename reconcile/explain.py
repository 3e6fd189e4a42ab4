"""``reconcile explain``: why one declaration is (or is not) paid.

In: a finished :class:`~reconcile.pipeline.RunResult` and a declaration id.
Out: an :class:`Explanation` — the declaration as read (file, sheet, row), the
facts the rules saw, every rule that fired (with its file:line), the statement(s)
it is attributed to with band, fee and uplift, and its findings — rendered as text
for a person or as JSON.

Example::

    $ reconcile explain d-0001 --declarations decl.csv
    Declaration d-0001 (decl.csv, row 2)
      ect started, cohort 2023, state paid, declared 2023-10-02
    Rules that fired:
      billable      rules/eligibility.yaml:12   classify: billable
    Payments:
      Example Teaching Institute / 2023 / January 2024: output band A £119.40
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, NamedTuple

from reconcile.errors import Problem, UsageError
from reconcile.findings import Finding
from reconcile.model import Attribution, Declaration, Source
from reconcile.money import pounds, show
from reconcile.result import RunResult
from reconcile.rulebook.evaluate import explain_facts
from reconcile.rulebook.schema import Classify, FindingSpec


class FiredRule(NamedTuple):
    rule_id: str
    where: str
    outcome: str
    description: str


class Explanation(NamedTuple):
    declaration: Declaration
    facts: dict[str, Any]
    fired: tuple[FiredRule, ...]
    labels: tuple[str, ...]
    attributions: tuple[Attribution, ...]
    findings: tuple[Finding, ...]

    def as_json(self) -> dict[str, Any]:
        d = self.declaration
        return {
            "declaration": {
                **{k: _jsonable(v) for k, v in d._asdict().items()},
                "source": str(d.source),
            },
            "facts": self.facts,
            "labels": list(self.labels),
            "rules_fired": [r._asdict() for r in self.fired],
            "payments": [{
                "statement": a.statement.name, "lead_provider": a.statement.lead_provider,
                "cohort": a.statement.cohort, "kind": a.kind, "band": a.band,
                "fee": show(a.fee), "uplift": show(a.uplift), "unpaid": a.unpaid,
                "delivery_partner_id": a.delivery_partner_id,
            } for a in self.attributions],
            "findings": [f.as_json() for f in self.findings],
        }


def _jsonable(value: object) -> object:
    if isinstance(value, (dt.date, dt.time)):  # a datetime is a date
        return value.isoformat()
    return value


def _outcome(then: Classify | FindingSpec) -> str:
    if isinstance(then, Classify):
        return f"classify: {then.label}"
    return f"finding {then.code} ({then.severity.value})"


def explain_declaration(result: RunResult, declaration_id: str) -> Explanation:
    """Gather everything the run knows about one declaration."""
    wanted = declaration_id.strip()
    index = next((i for i, d in enumerate(result.declarations)
                  if d.declaration_id == wanted), None)
    if index is None:
        ids = [d.declaration_id for d in result.declarations]
        close = difflib.get_close_matches(wanted, ids, n=3)
        fix = (f"did you mean {', '.join(repr(c) for c in close)}?" if close
               else "check the id against the declaration_id column")
        shown = ", ".join(map(str, result.options.declarations))
        raise UsageError([Problem(Source(shown),
                                  f"no declaration with id {wanted!r}", fix)])
    declaration = result.declarations[index]
    rules_by_id = {rule.id: rule for rule in result.rulebook.rules}
    fired = tuple(
        FiredRule(rule_id, str(rules_by_id[rule_id].source),
                  _outcome(rules_by_id[rule_id].then), rules_by_id[rule_id].description)
        for rule_id in result.evaluation.fired[index])
    as_of = result.options.as_of
    facts = explain_facts(declaration, result.rulebook, as_of,
                          declarations=result.declarations)
    attributions = tuple(a for a in result.calculation.attributions
                         if a.declaration_id == wanted)
    findings = tuple(f for f in result.findings if names_declaration(f, wanted))
    return Explanation(declaration, facts, fired,
                       tuple(sorted(result.evaluation.labels[index])), attributions, findings)


def names_declaration(f: Finding, declaration_id: str) -> bool:
    """Is ``f`` about this declaration: its own, or a group's that lists it?

    A grouped finding (``CALC_OVER_CAPACITY``: several declarations beyond the last
    band on one statement) keeps every member in ``declaration_ids``; a finding
    from elsewhere that only names the id in its message counts too (the id as a
    whole word: ``d1`` is not found in ``d10``).
    """
    if f.declaration_id == declaration_id or declaration_id in f.declaration_ids:
        return True
    return re.search(rf"(?<![\w-]){re.escape(declaration_id)}(?![\w-])", f.message) is not None


def render_explanation(x: Explanation) -> str:
    d = x.declaration
    lines = [
        f"Declaration {d.declaration_id} ({d.source})",
        f"  {d.participant_type} {d.declaration_type}, participant {d.participant_id}, "
        f"cohort {d.cohort}, state {d.state}",
        f"  declared {d.declaration_date:%Y-%m-%d}"
        + (f", submitted {d.created_at:%Y-%m-%d %H:%M}" if d.created_at else "")
        + (f", provider {d.lead_provider}" if d.lead_provider else "")
        + (f", delivery partner {d.delivery_partner_name or d.delivery_partner_id}"
           if (d.delivery_partner_id or d.delivery_partner_name) else ""),
    ]
    if d.statement_name or d.statement_id:
        lines.append(f"  DfE statement: {d.statement_name or d.statement_id}")
    if d.clawback_statement_name or d.clawback_statement_id:
        lines.append(f"  DfE clawback statement: "
                     f"{d.clawback_statement_name or d.clawback_statement_id}")
    lines.append("Facts the rules saw:")
    width = max((len(k) for k in x.facts), default=0)
    lines.extend(f"  {k.ljust(width)}  {v}" for k, v in sorted(x.facts.items()))
    lines.append("Rules that fired:" if x.fired else "Rules that fired: none")
    for r in x.fired:
        lines.append(f"  {r.rule_id}  ({r.where})  {r.outcome}")
        if r.description:
            lines.append(f"      {r.description}")
    lines.append("Classified as: " + (", ".join(x.labels) if x.labels
                                      else "nothing (not billable, not refundable)"))
    if x.attributions:
        lines.append("Payments:")
        for a in x.attributions:
            band = f"band {a.band}" if a.band else ("unpaid: beyond the last band"
                                                    if a.unpaid else "flat rate")
            uplift = f", uplift {pounds(a.uplift)}" if a.uplift else ""
            lines.append(f"  {a.statement}: {a.kind} {band}, fee {pounds(a.fee)}{uplift}")
    else:
        lines.append("Payments: none on any statement")
    if x.findings:
        lines.append("Findings:")
        for f in x.findings:
            lines.append(f"  [{f.severity.value}] {f.code}: {f.message}")
            if f.suggestion:
                lines.append(f"      what to do: {f.suggestion}")
    return "\n".join(lines)
