"""A small reconciled run, built from values, for the workbook tests.

Two statements of one provider and cohort (prices in tests/builders.py):
April 2024, exactly as DfE has it; May 2024, where DfE counts 9 started
declarations in band A instead of 10 and adds a manual adjustment whose text
starts with ``=`` (it must stay text). Figures by hand:

  April: output ect started A 2 x £119.40 = £238.80, service fee £1,086.21,
         net £1,325.01, VAT £265.00 (265.002), total £1,590.01
  May (expected): as tests/compare/test_compare.py: net £3,057.81, VAT £611.56,
         total £3,669.37
  May (DfE): started A 9 (£1,074.60), adjustment -£250.00; net £2,688.41,
         VAT £537.68 (537.682), total £3,226.09; difference -£443.28
         (= (-£119.40 - £250.00) x 1.2)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
import dataclasses

from reconcile.compare import compare
from reconcile.findings import finding, sort_key
from reconcile.model import Declaration
from reconcile.pipeline import RunOptions, RunResult
from reconcile.rulebook.evaluate import Evaluation
from reconcile.rulebook.load import Rulebook
from tests.builders import (
    LP,
    RETAINED_A,
    STARTED_A,
    attribution,
    calculation,
    compare_rulebook,
    dfe_like,
    expected,
    line,
)

D = Decimal
UTC = dt.timezone.utc  # noqa: UP017 (Python 3.10)


def rulebook() -> Rulebook:
    """The real rulebook of the comparison, its file list fixed and its eligibility rules
    left off, so the Rules sheet reads the same wherever the tests run."""
    return dataclasses.replace(
        compare_rulebook(), rules=(),
        files=(("rules/fees.yaml", "ab" * 32), ("rules/contracts/eti-2023.yaml", "cd" * 32)))


def _declarations():
    out = []
    for i in range(12):
        out.append(Declaration(
            f"decl-{i:02d}", f"p-{i:02d}", "ecf-induction", "ect", "started",
            dt.datetime(2024, 2 if i < 2 else 4, 1 + i, 9, 30, tzinfo=UTC),
            "paid" if i < 2 else "eligible", 2023, LP,
            delivery_partner_id="dp-1", delivery_partner_name="=North Partners",
            pupil_premium_uplift=i in (2, 3, 4), file="decl.csv", row=i + 2))
    return tuple(out)


def build_result(with_dfe: bool = True) -> RunResult:
    """The run; ``with_dfe=False``: the same run given no DfE statements."""
    april = expected("April 2024", dt.date(2024, 4, 25),
                     outputs=(("ect", "started", "A", 2, STARTED_A),), service_fee="1086.21")
    may = expected("May 2024", dt.date(2024, 5, 25),
                   outputs=(("ect", "started", "A", 10, STARTED_A),
                            ("ect", "retained-1", "A", 4, RETAINED_A),
                            ("mentor", "started", "A", 2, STARTED_A)),
                   clawbacks=(("ect", "started", "A", 1, STARTED_A),),
                   uplift=(3, "300"), service_fee="1086.21")
    declarations = _declarations()
    attributions = tuple(
        attribution(d.declaration_id, april.key if i < 2 else may.key, "output", "119.40")
        for i, d in enumerate(declarations))
    calc_findings = (finding(
        "CALC_OVER_CAPACITY", "1 started declaration beyond band C is not paid (decl-11).",
        lead_provider=LP, cohort=2023, statement="May 2024", line="started",
        declaration_id="decl-11"),)
    calc = calculation((april, may), attributions, calc_findings)
    dfe_may = dfe_like(may, total=False)
    dfe_may = dfe_may._replace(lines=tuple(
        line("output", "1074.60", "ect", "started", "A", 9, "119.40", row=3)
        if x.line_type == "output" and x.participant_type == "ect"
        and x.declaration_type == "started" else x
        for x in dfe_may.lines if x.line_type != "vat") + (
        line("adjustment", "-250.00", description="=SUM(A1:A9) replacement mentor uplift"),
        line("vat", "537.68")), total=D("3226.09"))
    dfe_statements = (dfe_like(april), dfe_may) if with_dfe else ()
    book = rulebook()
    comparison = compare(calc, dfe_statements, book) if with_dfe else None
    evaluation = Evaluation(tuple(frozenset({"billable"}) for _ in declarations),
                            tuple(("billable",) for _ in declarations), (), "python", 3)
    findings = tuple(sorted((*calc.findings,
                             *(comparison.findings if comparison else ())), key=sort_key))
    options = RunOptions((Path("decl.csv"),), (Path("dfe.xlsx"),) if with_dfe else (),
                         as_of=dt.date(2024, 6, 1))
    return RunResult(options, book, declarations, dfe_statements, evaluation,
                     calc, comparison, None, findings, (("rules", 0.1),))


if __name__ == "__main__":  # python -m tests.report.scenario OUT.xlsx: look at it
    import sys

    from reconcile.report import build_workbook
    from reconcile.write import write_workbook

    write_workbook(build_workbook(build_result()), sys.argv[1])
