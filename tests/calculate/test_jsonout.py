"""jsonout.result_json: exactly INTERFACES.md §5, plus the documented extensions."""

import datetime as dt
import json
import re
from decimal import Decimal as D
from pathlib import Path
from typing import NamedTuple

from reconcile.calculate import calculate
from reconcile.findings import finding
from reconcile.jsonout import result_json
from reconcile.model import DfeStatement, StatementKey
from reconcile.pipeline import RunOptions, RunResult

from tests.builders import BANDS_OF_TWO, LP, contract, decl, evaluation, labelled, six_months


def run_result(calculation, comparison=None, findings=()):
    """The run's result around a calculation (the JSON reads the calculation, the
    comparison and the findings)."""
    return RunResult(RunOptions((Path("d.csv"),)), six_months(), (), (), evaluation(()),
                     calculation, comparison, None, tuple(findings), ())


def small_calculation():
    terms = contract(LP, 2023, BANDS_OF_TWO, recruitment_target=8, vat_chargeable=True,
                        uplift_amount=D(100), monthly_service_fee=D("10.005"))
    declarations, evaluation = labelled(
        (decl("a", created="2024-01-05", delivery_partner_id="dp-1"), "billable uplift"),
        (decl("b", created="2024-01-05", state="clawed-back",
              clawback_statement_name="May 2024"), "refundable"))
    return calculate(declarations, evaluation, six_months(terms))


def test_statements_in_the_shape_of_interfaces_5():
    data = result_json(run_result(small_calculation()))
    assert set(data) == {"run", "statements", "findings", "declarations", "providers",
                         "history"}
    february = next(s for s in data["statements"] if s["name"] == "February 2024")
    assert february == {
        "lead_provider": LP, "cohort": 2023, "name": "February 2024", "statement_id": None,
        "cut_off_date": "2024-01-31", "payment_date": "2024-02-25", "output_fee": True,
        "expected": {
            "output_payments": [{"participant_type": "ect", "declaration_type": "started",
                                 "band": "A", "count": 2, "fee_per_declaration": "48.00",
                                 "fee_per_declaration_exact": "48", "amount": "96.00"}],
            "clawbacks": [],
            "uplift": {"count": 1, "amount": "100.00"},
            "uplift_clawback": {"count": 0, "amount": "0.00"},
            # the monthly fee of £10.005 rounds half up, once
            "service_fee": "10.01", "adjustments": "0.00",
            "net": "206.01", "vat": "41.20", "total": "247.21",
            # b, paid here and clawed back on May, is in state clawed-back: DfE counts it
            # on both statements (ECF statement_calculator.rb clawed_back_count)
            "counts": {"started": 2, "retained": 0, "completed": 0, "extended": 0,
                       "voided": 0, "clawed_back": 1, "awaiting_clawback": 0},
            "contract_version": None, "terms_from": None,
        },
        "dfe": None,
        # no DfE statement given: no difference, and the Summary's status says so
        "difference": None,
        "status": "No DfE statement given",
    }
    may = next(s for s in data["statements"] if s["name"] == "May 2024")
    assert may["expected"]["clawbacks"] == [
        {"participant_type": "ect", "declaration_type": "started", "band": "A", "count": 1,
         "fee_per_declaration": "48.00", "fee_per_declaration_exact": "48",
         "amount": "-48.00"}]
    # the whole thing is JSON (no Decimal, no date objects)
    json.dumps(data)


def test_statement_order_is_provider_cohort_payment_date():
    other = contract("Another Provider", 2023, BANDS_OF_TWO, recruitment_target=8)
    mine = contract(LP, 2023, BANDS_OF_TWO, recruitment_target=8)
    declarations, evaluation = labelled(
        (decl("a", created="2024-04-05"), "billable"),
        (decl("b", created="2024-01-05", lead_provider="Another Provider"), "billable"))
    data = result_json(run_result(calculate(declarations, evaluation, six_months(mine, other))))
    keys = [(s["lead_provider"], s["payment_date"]) for s in data["statements"]]
    assert keys == sorted(keys)
    assert keys[0][0] == "Another Provider"


def test_findings_and_declarations_blocks():
    calc = small_calculation()
    extra = finding("OUTPUT_COUNT_MISMATCH", "Band A started: DfE counts 1, we expect 2",
                    statement="February 2024", expected=2, actual=1, count=-1)
    data = result_json(run_result(calc, findings=(extra,)))
    (shown,) = data["findings"]
    assert shown.items() >= extra.as_json().items()
    # without a history: a fingerprint, nothing followed (INTERFACES §7)
    assert re.fullmatch("[0-9a-f]{16}", shown["fingerprint"])
    assert [shown[k] for k in ("status", "first_seen", "age_days", "note")] == [None] * 4
    assert data["declarations"][0] == {
        "declaration_id": "a", "participant_id": "p-a", "lead_provider": LP, "cohort": 2023,
        "statement": "February 2024", "kind": "output", "participant_type": "ect",
        "declaration_type": "started", "band": "A", "fee": "48.00", "uplift": "100.00",
        "unpaid": False, "delivery_partner_id": "dp-1", "delivery_partner_name": None}
    assert len(data["declarations"]) == 3  # a; b paid; b clawed back


class _Pair(NamedTuple):
    key: StatementKey
    dfe: DfeStatement | None
    expected: object = None
    status: str = "Not expected"
    difference: D | None = None


class _Comparison:
    """What jsonout reads of the compare stage: dfe_json(key), the DfE-only pairs and
    every pair (none here: the providers block is tested in tests/report/test_providers.py)."""

    def __init__(self, blocks: dict, dfe_only=()):
        self.blocks = blocks
        self.dfe_only = tuple(dfe_only)
        self.pairs = ()

    def dfe_json(self, key):
        return self.blocks.get(key)


def test_dfe_block_comes_from_the_comparison_and_dfe_only_statements_follow():
    calc = small_calculation()
    february = next(s.key for s in calc.statements if s.key.name == "February 2024")
    stray = DfeStatement("st-9", LP, 2023, "December 2023", dt.date(2023, 11, 30),
                         dt.date(2023, 12, 25), False)
    comparison = _Comparison(
        {february: {"total": "247.21"}, StatementKey(LP, 2023, "December 2023"): None},
        [_Pair(StatementKey(LP, 2023, "December 2023"), stray)])
    data = result_json(run_result(calc, comparison))
    by_name = {s["name"]: s for s in data["statements"]}
    assert by_name["February 2024"]["dfe"] == {"total": "247.21"}
    assert by_name["January 2024"]["dfe"] is None
    assert data["statements"][-1] == {
        "lead_provider": LP, "cohort": 2023, "name": "December 2023", "statement_id": "st-9",
        "cut_off_date": "2023-11-30", "payment_date": "2023-12-25", "output_fee": False,
        "expected": None, "dfe": None, "difference": None, "status": "Not expected"}
