"""Small stand-ins for the rulebook and the evaluation, written in the domain's terms.

They carry exactly the attributes the brief's contracts name (``Contract.bands``
of ``Band(name, min, max, per_participant, ...)``, ``CalendarStatement``, the
fee rules), so the calculation can be tested on its own; the end-to-end tests
use the real ``load_rulebook``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile.model import Declaration

D = Decimal
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; we run on 3.10)

TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
         "extended-1", "extended-2", "extended-3")
#: DOMAIN.md §Prices: started 20, retained 15 × 4, completed 20, extended 15 × 3
PROPORTIONS = {"started": D(20), "retained-1": D(15), "retained-2": D(15),
               "retained-3": D(15), "retained-4": D(15), "completed": D(20),
               "extended-1": D(15), "extended-2": D(15), "extended-3": D(15)}
MENTOR_PROPORTIONS = {"started": D(50), "completed": D(50)}


class Band(NamedTuple):
    name: str
    min: int
    max: int | None
    per_participant: Decimal
    output_payment_percentage: Decimal = D(60)
    service_fee_percentage: Decimal = D(40)


class MentorTerms(NamedTuple):
    payment_per_participant: Decimal


class Contract(NamedTuple):
    lead_provider: str
    cohort: int
    bands: tuple[Band, ...]
    recruitment_target: int = 4500
    vat_chargeable: bool = False
    set_up_fee: Decimal = D(0)
    uplift_amount: Decimal | None = None
    monthly_service_fee: Decimal | None = None
    mentor: MentorTerms | None = None
    vat_rate: Decimal | None = None
    version: str | None = None
    effective_from: str | None = None
    versions: tuple = ()

    @property
    def all_terms(self) -> tuple:
        return (self, *self.versions)

    @property
    def label(self) -> str:
        return self.version or (f"from {self.effective_from}" if self.effective_from
                                else "first terms")


class CalendarStatement(NamedTuple):
    cohort: int
    name: str
    cut_off_date: dt.date
    payment_date: dt.date
    output_fee: bool


class Fees(NamedTuple):
    proportions: dict
    mentor_flat_rate_proportions: dict
    vat_percentage: Decimal = D(20)
    output_payment_percentage: Decimal = D(60)
    service_fee_percentage: Decimal = D(40)


class Vocabulary(NamedTuple):
    declaration_types: tuple[str, ...] = TYPES


class Rulebook(NamedTuple):
    contracts: dict
    calendar: dict
    fees: Fees = Fees(PROPORTIONS, MENTOR_PROPORTIONS)
    vocabulary: Vocabulary = Vocabulary()
    banding: Any = None
    service_fee: Any = None


class Evaluation(NamedTuple):
    labels: tuple[frozenset, ...]


LP = "Example Teaching Institute"
COHORT = 2023

#: a calendar of six months: output-fee statements in February, May and July 2024
CALENDAR = (
    CalendarStatement(COHORT, "January 2024", dt.date(2023, 12, 31), dt.date(2024, 1, 25), False),
    CalendarStatement(COHORT, "February 2024", dt.date(2024, 1, 31), dt.date(2024, 2, 25), True),
    CalendarStatement(COHORT, "March 2024", dt.date(2024, 2, 29), dt.date(2024, 3, 25), False),
    CalendarStatement(COHORT, "April 2024", dt.date(2024, 3, 31), dt.date(2024, 4, 25), False),
    CalendarStatement(COHORT, "May 2024", dt.date(2024, 4, 30), dt.date(2024, 5, 25), True),
    CalendarStatement(COHORT, "June 2024", dt.date(2024, 5, 31), dt.date(2024, 6, 25), False),
    CalendarStatement(COHORT, "July 2024", dt.date(2024, 6, 30), dt.date(2024, 7, 25), True),
)

#: ECF's test bands of two (DOMAIN.md §Banding): A ≤2 £400, B 3–4 £300, C 5–6 £200, D 7–8 £100
BANDS_OF_TWO = (Band("A", 0, 2, D(400)), Band("B", 3, 4, D(300)), Band("C", 5, 6, D(200)),
                Band("D", 7, 8, D(100), D(100), D(0)))


def rulebook(*contracts: Contract, calendar=CALENDAR, **kw) -> Rulebook:
    if not contracts:
        contracts = (Contract(LP, COHORT, BANDS_OF_TWO, recruitment_target=8),)
    return Rulebook({(c.lead_provider, c.cohort): c for c in contracts},
                    {COHORT: calendar}, **kw)


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=UTC)


def decl(declaration_id: str, declaration_type: str = "started", *, state: str = "paid",
         date: str = "2024-01-10", created: str | None = None, participant: str | None = None,
         ptype: str = "ect", lead_provider: str | None = LP, **kw) -> Declaration:
    return Declaration(
        declaration_id=declaration_id,
        participant_id=participant or f"p-{declaration_id}",
        course_identifier="ecf-induction" if ptype == "ect" else "ecf-mentor",
        participant_type=ptype, declaration_type=declaration_type,
        declaration_date=at(date), state=state, cohort=kw.pop("cohort", COHORT),
        lead_provider=lead_provider, created_at=at(created) if created else None,
        file="test.csv", row=kw.pop("row", None), **kw)


def labelled(*pairs: tuple[Declaration, str]) -> tuple[tuple[Declaration, ...], Evaluation]:
    """Declarations with their labels written as "billable uplift" etc."""
    return (tuple(d for d, _ in pairs),
            Evaluation(tuple(frozenset(text.split()) for _, text in pairs)))
