"""The split on the real rulebook (rules/*.yaml) and the real calculation.

Only the rules engine is stood in for: each declaration comes with its labels
("billable uplift"...), as the evaluation would give them. Cohort 2023 of the
bundled example contract: band A £995 (started 119.40, retained-1 89.55), uplift
£100; output-fee statements January 2024 (cut-off 2023-12-31) and April 2024.
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from typing import NamedTuple

from reconcile.calculate import calculate
from reconcile.model import Declaration
from reconcile.rulebook.load import load_rulebook
from reconcile.split import split_payments
from tests.builders import RULES, bundled_policy_text

D = Decimal
LP = "Example Teaching Institute"
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; we run on 3.10)


class Labels(NamedTuple):
    labels: tuple[frozenset, ...]


def decl(did: str, participant: str, dtype: str, created: str, partner: str | None,
         state: str = "paid", **kw) -> Declaration:
    moment = dt.datetime.fromisoformat(created).replace(tzinfo=UTC)
    return Declaration(did, participant, "ecf-induction", "ect", dtype, moment, state, 2023,
                       lead_provider=LP, created_at=moment, delivery_partner_id=partner,
                       delivery_partner_name=(partner.replace("dp-", "").title() + " Hub"
                                              if partner else None), **kw)


#: p-7 started with West Hub (paid January 2024, with an uplift), was voided and
#: clawed back in April 2024 after moving to North Hub, who declared retained-1.
CASE = (
    (decl("w-1", "p-7", "started", "2023-12-01", "dp-west", "clawed-back",
          pupil_premium_uplift=True, clawback_statement_name="April 2024"),
     "refundable uplift"),
    (decl("n-1", "p-7", "retained-1", "2024-03-01", "dp-north"), "billable"),
    (decl("n-2", "p-8", "started", "2023-12-02", "dp-north"), "billable"),
    (decl("s-1", "p-9", "started", "2023-12-03", "dp-south"), "billable"),
    (decl("u-1", "p-10", "started", "2023-12-04", None), "billable"),
)


def run_split(rules_dir=None):
    rulebook = load_rulebook(rules_dir)
    declarations = tuple(d for d, _ in CASE)
    labels = Labels(tuple(frozenset(text.split()) for _, text in CASE))
    calculation = calculate(declarations, labels, rulebook)
    return calculation, split_payments(calculation, declarations, rulebook)


def named(result, name):
    [found] = [s for s in result.statements if s.key.name == name]
    return found


def parts(split):
    return {p.delivery_partner_id: p for p in split.partners}


def test_clawback_is_charged_to_the_partner_paid_for_it_after_the_participant_moved():
    calculation, result = run_split()
    assert result.policy.source.endswith("split.yaml")  # the rulebook's own policy
    january, april = named(result, "January 2024"), named(result, "April 2024")
    assert (parts(january)["dp-west"].output, parts(january)["dp-west"].uplift) == (
        D("119.40"), D("100.00"))
    west, north = parts(april)["dp-west"], parts(april)["dp-north"]
    assert (west.output_clawbacks, west.uplift_clawbacks) == (D("-119.40"), D("-100.00"))
    assert (north.output, north.clawbacks) == (D("89.55"), D("0.00"))
    # started to date in April: West 1 − 1 = 0, North 1, South 1, unassigned 1
    assert west.service_fee == D("0.00")
    assert [p.delivery_partner_id for p in april.partners] == ["dp-north", "dp-south",
                                                              "dp-west", None]
    fee = next(s for s in calculation.statements if s.key.name == "April 2024").service_fee
    thirds = [parts(april)[p].service_fee for p in ("dp-north", "dp-south", None)]
    assert sum(thirds) == fee and max(thirds) - min(thirds) <= D("0.01")
    for split in result.statements:
        assert sum(p.amount for p in split.partners) + split.retained == split.net


def test_unassigned_declaration_is_kept_and_reported():
    _, result = run_split()
    january = named(result, "January 2024")
    assert parts(january)[None].output == D("119.40")
    [found] = [f for f in result.findings if f.code == "SPLIT_NO_DELIVERY_PARTNER"]
    assert found.statement == "January 2024" and found.declaration_id == "u-1"


def test_service_fee_before_any_start_is_kept_by_the_lead_provider():
    _, result = run_split()
    early = [s for s in result.statements if s.payment_date < dt.date(2024, 1, 25)]
    assert early, "the calendar starts before the first output-fee statement"
    for split in early:
        assert split.partners == () and split.retained == split.net == split.kept_service_fee


def test_a_tmp_copy_of_the_rules_with_another_split_policy(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "split.yaml").write_text(bundled_policy_text(**{
        "percentage: 0": "percentage: 12.5",
        "basis: declarations_to_date": "basis: lead_provider"}), encoding="utf-8")
    _, bundled = run_split()
    _, changed = run_split(rules)
    april_before, april_after = named(bundled, "April 2024"), named(changed, "April 2024")
    assert april_before.retained == D("0.00")
    north = parts(april_after)["dp-north"]
    # no service fee shared; 12.5% of 89.55 = 11.19375 -> 11.19
    assert (north.service_fee, north.retained, north.amount) == (D("0.00"), D("11.19"),
                                                                 D("78.36"))
    west = parts(april_after)["dp-west"]
    assert west.retained == D("-27.43")  # 12.5% of −219.40 = −27.425 -> half up −27.43
    assert april_after.kept_service_fee == april_after.net - sum(
        p.gross for p in april_after.partners)
    assert sum(p.amount for p in april_after.partners) + april_after.retained == april_after.net
