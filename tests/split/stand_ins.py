"""Stand-ins for the calculation's output, written the way the domain writes them.

A test lists the declarations of a statement as attributions (who, what, band,
fee, uplift); :func:`statement` builds the :class:`ExpectedStatement` whose lines
they add up to, exactly as the calculation does: one line per (participant type,
declaration type, band), amount = ``money.line_amount(count, fee)``, net = Σ lines
+ service fee + adjustments.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

from reconcile import money
from reconcile.model import (
    Attribution,
    CountAmount,
    ExpectedStatement,
    PaymentLine,
    StatementKey,
)
from reconcile.rulebook.split_schema import SplitPolicy, parse_split_policy

PROVIDER = "Example Teaching Institute"
TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
         "extended-1", "extended-2", "extended-3")


class Calc(NamedTuple):
    """Stand-in for reconcile.calculate.Calculation (same three fields)."""

    statements: tuple
    attributions: tuple
    findings: tuple = ()


def key(name: str = "May 2024", cohort: int = 2023) -> StatementKey:
    return StatementKey(PROVIDER, cohort, name)


def att(declaration_id: str, partner: str | None, kind: str = "output",
        declaration_type: str = "started", band: str | None = "A", fee: str = "119.40",
        uplift: str = "0", *, statement: StatementKey | None = None,
        participant: str | None = None, participant_type: str = "ect",
        name: str | None = None, unpaid: bool = False) -> Attribution:
    """One attribution; ``fee``/``uplift`` are given positive and signed by ``kind``."""
    sign = -1 if kind == "clawback" else 1
    return Attribution(declaration_id, statement or key(), kind, participant_type,
                       declaration_type, band, sign * Decimal(fee), sign * Decimal(uplift),
                       unpaid, partner, name if name is not None else (
                           partner.replace("dp-", "").title() + " Hub" if partner else None),
                       participant or f"p-{declaration_id}")


def statement(attributions, statement_key: StatementKey | None = None,
              service_fee: str = "0", adjustments: str = "0",
              payment_date: dt.date = dt.date(2024, 5, 25),
              output_fee: bool = True) -> ExpectedStatement:
    """The expected statement the attributions add up to (lines rounded once each)."""
    statement_key = statement_key or key()
    mine = [a for a in attributions if a.statement == statement_key]
    groups: dict[tuple, list] = defaultdict(list)
    for a in mine:
        if not a.unpaid:
            groups[(a.kind, a.participant_type, a.declaration_type, a.band)].append(a)
    lines = {"output": [], "clawback": []}
    for (kind, ptype, dtype, band), items in sorted(groups.items(), key=repr):
        fees = {a.fee for a in items}
        assert len(fees) == 1, "a line has one fee"
        fee = fees.pop()
        lines[kind].append(PaymentLine(ptype, dtype, band, len(items), abs(fee),
                                       money.line_amount(len(items), fee)))
    ups = [a for a in mine if a.kind == "output" and a.uplift]
    downs = [a for a in mine if a.kind == "clawback" and a.uplift]
    uplift = CountAmount(len(ups), money.round_money(sum((a.uplift for a in ups), Decimal(0))))
    uplift_clawback = CountAmount(len(downs), money.round_money(
        sum((-a.uplift for a in downs), Decimal(0))))
    service, adjust = Decimal(service_fee), Decimal(adjustments)
    net = (sum((line.amount for group in lines.values() for line in group), money.ZERO)
           + uplift.amount - uplift_clawback.amount + service + adjust)
    vat = money.round_money(net * Decimal("0.2"))
    return ExpectedStatement(statement_key, None, None, payment_date, output_fee,
                             tuple(lines["output"]), tuple(lines["clawback"]), uplift,
                             uplift_clawback, service, adjust, net, vat, net + vat)


RULES = Path(__file__).resolve().parents[2] / "rules"


def bundled_policy_text(**replace: str) -> str:
    """The bundled rules/split.yaml, with each ``old=new`` text replaced (which must be there)."""
    text = (RULES / "split.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def rulebook(policy: SplitPolicy | str = "") -> SimpleNamespace:
    """Stand-in rulebook carrying a split policy (YAML text or a policy)."""
    if isinstance(policy, str):
        policy = parse_split_policy(policy or "{}", "split.yaml", TYPES)
    return SimpleNamespace(split=policy, vocabulary=SimpleNamespace(declaration_types=TYPES))


# The worked example of docs/split-example.md: May 2024, three partners.
# North Hub: 5 started (band A), one with uplift; p-10 moved here from East Hub.
# South Hub: 3 started band A + 1 band B, one with uplift.
# East Hub: 2 started band A, 2 retained-1 band A, and the clawback of p-10's
# earlier started declaration (with its uplift), paid to East Hub before p-10 moved.
WORKED = (
    att("d-01", "dp-north", uplift="100"), att("d-02", "dp-north"), att("d-03", "dp-north"),
    att("d-04", "dp-north"), att("d-05", "dp-north", participant="p-10"),
    att("d-06", "dp-south", uplift="100"), att("d-07", "dp-south"), att("d-08", "dp-south"),
    att("d-09", "dp-south", band="B", fee="117.48"),
    att("d-10", "dp-east"), att("d-11", "dp-east"),
    att("d-12", "dp-east", declaration_type="retained-1", fee="89.55"),
    att("d-13", "dp-east", declaration_type="retained-1", fee="89.55"),
    att("d-00", "dp-east", kind="clawback", uplift="100", participant="p-10"),
)
WORKED_SERVICE_FEE = "1086.21"  # (£31,500) / 29, DOMAIN.md §Service fee


def worked_calculation() -> Calc:
    return Calc((statement(WORKED, service_fee=WORKED_SERVICE_FEE),), WORKED)
