"""Small stand-ins for the calculation's and rulebook's values, written like a statement.

The comparison is written against the brief's contract (``Calculation(statements,
attributions, findings)``, ``ExpectedStatement``...), so its tests build exactly
those values here, from lines as they appear on a statement.

Prices used throughout (DOMAIN.md, ECF sample contract): band A £995, band B
£979 per participant, 60% output: started (20%) A £119.40, B £117.48;
retained-1 (15%) A £89.55. Uplift £100. VAT 20%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from reconcile import money
from reconcile.model import (
    Attribution,
    CountAmount,
    DfeLine,
    DfeStatement,
    ExpectedStatement,
    PaymentLine,
    Source,
    StatementKey,
)

D = Decimal
LP = "Example Teaching Institute"
STARTED_A, STARTED_B, RETAINED_A = D("119.40"), D("117.48"), D("89.55")
TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
         "extended-1", "extended-2", "extended-3")


class Calculation(NamedTuple):
    statements: tuple
    attributions: tuple = ()
    findings: tuple = ()


class Vocabulary(NamedTuple):
    declaration_types: tuple = TYPES


class Fees(NamedTuple):
    vat_percentage: Decimal = D(20)


class Contract(NamedTuple):
    vat_chargeable: bool = True
    vat_rate: Decimal | None = None
    effective_from: str | None = None

    @property
    def all_terms(self) -> tuple["Contract", ...]:
        return (self,)


class Rulebook(NamedTuple):
    vocabulary: Vocabulary = Vocabulary()
    fees: Fees = Fees()
    contracts: dict = {(LP, 2023): Contract()}  # noqa: RUF012


RULEBOOK = Rulebook()


def key(name: str, cohort: int = 2023, provider: str = LP) -> StatementKey:
    return StatementKey(provider, cohort, name)


def expected(name: str, payment: dt.date, *, outputs=(), clawbacks=(), uplift=(0, "0"),
             uplift_clawback=(0, "0"), service_fee="0", adjustments="0", cohort=2023,
             output_fee=True, vat=True, statement_id=None, cut_off=None) -> ExpectedStatement:
    """An expected statement from lines ``(participant_type, declaration_type, band,
    count, fee)``; clawback fees are given positive and their amounts are negative."""
    out = tuple(PaymentLine(p, t, b, n, D(fee), money.line_amount(n, D(fee)))
                for p, t, b, n, fee in outputs)
    claw = tuple(PaymentLine(p, t, b, n, D(fee), -money.line_amount(n, D(fee)))
                 for p, t, b, n, fee in clawbacks)
    up = CountAmount(uplift[0], D(uplift[1]))
    upc = CountAmount(uplift_clawback[0], -D(uplift_clawback[1]))
    net = (sum((x.amount for x in out + claw), D("0.00")) + up.amount + upc.amount
           + D(service_fee) + D(adjustments))
    vat_amount = money.round_money(net * D("0.2")) if vat else D("0.00")
    return ExpectedStatement(
        key(name, cohort), statement_id, cut_off or payment.replace(day=1) - dt.timedelta(1),
        payment, output_fee, out, claw, up, upc, D(service_fee), D(adjustments), net,
        vat_amount, net + vat_amount)


def line(line_type: str, amount: str, ptype=None, dtype=None, band=None, count=None,
         fee=None, description=None, row=None) -> DfeLine:
    return DfeLine("?", line_type, D(amount), ptype, dtype, band, count,
                   D(fee) if fee is not None else None, description,
                   Source("dfe.xlsx", "Lines", row) if row else None)


def dfe(name: str, payment: dt.date, lines=(), *, total=None, cohort=2023, provider=LP,
        output_fee=True, statement_id=None, cut_off=None) -> DfeStatement:
    return DfeStatement(statement_id, provider, cohort, name,
                        cut_off or payment.replace(day=1) - dt.timedelta(1), payment,
                        output_fee, False, None, D(total) if total is not None else None,
                        tuple(lines), Source("dfe.xlsx", "Statements", 2))


def dfe_like(e: ExpectedStatement, *, total=True, **changes) -> DfeStatement:
    """DfE's statement exactly as we expect it (then tests change one thing)."""
    lines = [line("output", str(p.amount), p.participant_type, p.declaration_type, p.band,
                  p.count, str(p.fee_per_declaration)) for p in e.output_payments]
    lines += [line("clawback", str(p.amount), p.participant_type, p.declaration_type, p.band,
                   p.count, str(p.fee_per_declaration)) for p in e.clawbacks]
    if e.uplift.count:
        lines.append(line("uplift", str(e.uplift.amount), count=e.uplift.count))
    if e.uplift_clawback.count:
        lines.append(line("uplift_clawback", str(e.uplift_clawback.amount),
                          count=e.uplift_clawback.count))
    lines.append(line("service_fee", str(e.service_fee)))
    lines.append(line("vat", str(e.vat)))
    values = {"lines": tuple(lines), "total": str(e.total) if total else None}
    values.update(changes)
    return dfe(e.key.name, e.payment_date, values["lines"], total=values["total"],
               cohort=e.key.cohort, provider=e.key.lead_provider, output_fee=e.output_fee,
               statement_id=e.statement_id, cut_off=e.cut_off_date)


def attribution(declaration_id: str, statement: StatementKey, kind: str, fee: str,
                dtype="started", band="A", ptype="ect") -> Attribution:
    return Attribution(declaration_id, statement, kind, ptype, dtype, band, D(fee), D(0))
