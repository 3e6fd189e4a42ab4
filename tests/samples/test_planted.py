"""Planting known discrepancies in DfE statements: each change, to the penny.

Six statements that are identical but for their names go in; each planted
discrepancy lands on a different one, and the VAT (20%) and total follow the changed
lines as on DfE's statement page. The hidden reconcile amount is in the net (VAT is
charged on it) and the total, but on no line, so the total minus the lines is exactly
that amount (DOMAIN.md "A statement's total").

Every statement: output ect started band A 10 × £119.40 = £1,194.00, output ect
retained-1 band A 4 × £89.55 = £358.20, uplift 3 × £100 = £300.00, service fee
£1,098.28; net £2,950.48, VAT £590.10 (20% of net, £590.096 rounded half up),
total £3,540.58.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from samples.generate import (
    DfeLineRow,
    DfeStatementRow,
    line_label,
    plant_discrepancies,
)

D = Decimal
VAT = D(20)
NAMES = ("May 2024", "August 2024", "October 2024", "January 2025", "April 2025", "August 2025")


def _statement(name: str, paid: bool = True) -> DfeStatementRow:
    lines = (
        DfeLineRow("output", "ect", "started", "A", 10, D("119.40"), D("1194.00"), ""),
        DfeLineRow("output", "ect", "retained-1", "A", 4, D("89.55"), D("358.20"), ""),
        DfeLineRow("uplift", None, None, None, 3, D("100"), D("300.00"), ""),
        DfeLineRow("service_fee", None, None, None, None, None, D("1098.28"), ""),
        DfeLineRow("vat", None, None, None, None, None, D("590.10"), ""),
    )
    return DfeStatementRow(f"id-{name}", "Example LP", 2023, name, dt.date(2024, 4, 30),
                           dt.date(2024, 5, 25), True, paid, True, D("3540.58"), lines)


STATEMENTS = tuple(_statement(n) for n in NAMES) + (_statement("September 2026", paid=False),)


def _planted(seed: int = 1):
    changed, manifest = plant_discrepancies(STATEMENTS, seed, VAT)
    by_code = {entry["code"]: entry for entry in manifest}
    by_name = {s.name: s for s in changed}
    return changed, manifest, by_code, by_name


def _line(statement, line_type, declaration_type=None):
    return next(line for line in statement.lines if line.line_type == line_type
                and (declaration_type is None or line.declaration_type == declaration_type))


def test_six_discrepancies_on_six_different_paid_statements():
    changed, manifest, by_code, _ = _planted()
    assert sorted(by_code) == sorted([
        "OUTPUT_COUNT_MISMATCH", "OUTPUT_FEE_MISMATCH", "LINE_MISSING_FROM_DFE",
        "UNEXPLAINED_ADJUSTMENT", "HIDDEN_RECONCILE_AMOUNT", "STATEMENT_MISSING_FROM_DFE"])
    assert sorted(entry["statement"] for entry in manifest) == sorted(NAMES)
    assert len(changed) == 6  # one of seven is missing; the unpaid one is untouched
    assert _statement("September 2026", paid=False) in changed


def test_count_off_by_one():
    _, _, by_code, by_name = _planted()
    entry = by_code["OUTPUT_COUNT_MISMATCH"]
    assert (entry["line"], entry["expected"], entry["actual"]) == (
        "output ect started band A", "10", "9")
    statement = by_name[entry["statement"]]
    line = _line(statement, "output", "started")
    assert (line.count, line.amount) == (9, D("1074.60"))
    # net 2,950.48 - 119.40 = 2,831.08; VAT 566.216 -> 566.22
    assert _line(statement, "vat").amount == D("566.22")
    assert statement.total == D("3397.30")


def test_wrong_fee_per_declaration():
    _, _, by_code, by_name = _planted()
    entry = by_code["OUTPUT_FEE_MISMATCH"]
    assert (entry["line"], entry["expected"], entry["actual"]) == (
        "output ect started band A", "119.40", "117.01")
    statement = by_name[entry["statement"]]
    line = _line(statement, "output", "started")
    # 2% below: 119.40 x 0.98 = 117.012 -> 117.01; 10 x 117.01 = 1,170.10
    assert (line.count, line.fee_per_declaration, line.amount) == (10, D("117.01"), D("1170.10"))
    # net 2,926.58; VAT 585.316 -> 585.32
    assert statement.total == D("3511.90")


def test_missing_uplift_line():
    _, _, by_code, by_name = _planted()
    entry = by_code["LINE_MISSING_FROM_DFE"]
    assert entry["line"] == "uplift"
    assert (entry["expected"], entry["actual"]) == ("300.00", "0.00")
    statement = by_name[entry["statement"]]
    assert not [line for line in statement.lines if line.line_type == "uplift"]
    # net 2,650.48; VAT 530.096 -> 530.10
    assert statement.total == D("3180.58")


def test_unexplained_adjustment():
    _, _, by_code, by_name = _planted()
    entry = by_code["UNEXPLAINED_ADJUSTMENT"]
    statement = by_name[entry["statement"]]
    assert _line(statement, "adjustment").amount == D("1250.00")
    # net 4,200.48; VAT 840.096 -> 840.10
    assert (_line(statement, "vat").amount, statement.total) == (D("840.10"), D("5040.58"))


def test_hidden_reconcile_amount_is_on_no_line():
    _, _, by_code, by_name = _planted()
    entry = by_code["HIDDEN_RECONCILE_AMOUNT"]
    statement = by_name[entry["statement"]]
    visible = [line for line in statement.lines if line.line_type != "vat"]
    assert visible == [line for line in _statement(entry["statement"]).lines
                       if line.line_type != "vat"]
    # net 2,950.48 - 312.45 = 2,638.03; VAT 527.606 -> 527.61; total 3,165.64
    assert _line(statement, "vat").amount == D("527.61")
    assert statement.total == D("3165.64")
    assert statement.total - sum(line.amount for line in statement.lines) == D("-312.45")
    assert (entry["expected"], entry["actual"]) == ("0.00", "-312.45")


def test_missing_statement():
    _, _, by_code, by_name = _planted()
    entry = by_code["STATEMENT_MISSING_FROM_DFE"]
    assert entry["statement"] not in by_name
    assert entry["statement_id"] == f"id-{entry['statement']}"


def test_the_seed_decides_which_statement_gets_which():
    _, first, _, _ = _planted(1)
    _, again, _, _ = _planted(1)
    _, other, _, _ = _planted(2)
    assert first == again
    assert [e["statement"] for e in first] != [e["statement"] for e in other]


def test_line_labels_name_type_and_band():
    assert line_label(DfeLineRow("clawback", "ect", "retained-2", "C", 1, D(1), D(-1), "")) == \
        "clawback ect retained-2 band C"
    assert line_label(DfeLineRow("output", "mentor", "started", None, 1, D(500), D(500), "")) == \
        "output mentor started"
