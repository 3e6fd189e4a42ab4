"""Small stand-ins for the rulebook's objects (duck-typed like RuleSpec, Vocabulary, ...).

The engine is written against attribute names only (team brief, "Rulebook"), so
its tests build exactly what they need here instead of loading rules/*.yaml.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from reconcile.model import Declaration, Source
from reconcile.rulebook.yamlsrc import parse_yaml

STATES = ("submitted", "eligible", "payable", "paid", "voided", "ineligible",
          "awaiting-clawback", "clawed-back")
TYPES = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
         "extended-1", "extended-2", "extended-3")


class Vocabulary(NamedTuple):
    declaration_types: tuple = TYPES
    states: tuple = STATES
    courses: dict = {"ecf-induction": "ect", "ecf-mentor": "mentor"}  # noqa: RUF012
    participant_types: tuple = ("ect", "mentor")
    default_schedule: str = "ecf-standard-september"


class Classify(NamedTuple):
    label: str


class FindingSpec(NamedTuple):
    code: str
    severity: str
    message: str
    suggestion: str = ""


class RuleSpec(NamedTuple):
    id: str
    description: str
    when: dict
    then: object
    source: Source
    when_lines: dict


def rules_from_yaml(text: str, file: str = "rules/eligibility.yaml") -> tuple[RuleSpec, ...]:
    """RuleSpecs from eligibility-style YAML, with the lines of every ``when`` node."""
    doc = parse_yaml(text, file)
    specs = []
    for i, raw in enumerate(doc.data["rules"]):
        base = ("rules", i, "when")
        lines = {path[len(base):]: line for path, line in doc.lines.items()
                 if path[:len(base)] == base}
        then = raw["then"]
        if "classify" in then:
            outcome = Classify(then["classify"])
        else:
            outcome = FindingSpec(then["finding"], then.get("severity", "error"),
                                  then.get("message", ""), then.get("suggestion", ""))
        specs.append(RuleSpec(raw["id"], raw.get("description", ""), raw["when"], outcome,
                              Source(file, line=doc.line_of(("rules", i))), lines))
    return tuple(specs)


def rule(rule_id: str, when: dict, then: object = None, line: int = 1,
         file: str = "rules/test.yaml") -> RuleSpec:
    return RuleSpec(rule_id, "", when, then or Classify("billable"),
                    Source(file, line=line), {})


class Milestone(NamedTuple):
    declaration_type: str
    start_date: dt.date
    milestone_date: dt.date | None
    payment_date: dt.date | None


class Schedule(NamedTuple):
    identifier: str
    cohort: int
    family: str
    milestones: dict


class CalendarStatement(NamedTuple):
    cohort: int
    name: str
    cut_off_date: dt.date
    payment_date: dt.date
    output_fee: bool


class MentorTerms(NamedTuple):
    payment_per_participant: Decimal


class Contract(NamedTuple):
    lead_provider: str
    cohort: int
    uplift_amount: Decimal | None = Decimal(100)
    mentor: MentorTerms | None = None

    @property
    def all_terms(self) -> tuple["Contract", ...]:
        return (self,)


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


#: DfE's ecf-standard-september schedule for cohort 2022 and the non-standard
#: ecf-extended-september for 2023, copied from the public schedules CSV
#: (reference/ecf-schedules.csv): type, start, milestone date, payment date.
SCHEDULE_ROWS = """\
ecf-standard-september,2022,started,2022-06-01,2022-12-31,2022-11-30
ecf-standard-september,2022,retained-1,2023-01-01,2023-03-31,2023-04-30
ecf-standard-september,2022,retained-2,2023-04-01,2023-07-31,2023-08-31
ecf-standard-september,2022,retained-3,2023-08-01,2023-12-31,2024-01-31
ecf-standard-september,2022,retained-4,2024-01-01,2024-03-31,2024-04-30
ecf-standard-september,2022,completed,2024-04-01,2024-07-31,2024-08-31
ecf-extended-september,2023,started,2023-09-01,,2023-09-01
ecf-extended-september,2023,completed,2023-09-01,,2023-09-01
ecf-extended-september,2023,extended-1,2023-09-01,,2023-09-01
"""


class Rulebook:
    """Just what facts/evaluate read: vocabulary, rules, schedules, calendar, contracts."""

    def __init__(self, rules=(), schedules=None, calendar=None, contracts=None,
                 vocabulary=None):
        self.vocabulary = vocabulary or Vocabulary()
        self.rules = tuple(rules)
        if schedules is None:
            schedules = {}
            for row in SCHEDULE_ROWS.splitlines():
                ident, cohort, kind, start, milestone, payment = row.split(",")
                key = (ident, int(cohort))
                family = ident.split("-")[1]  # ecf-standard-september -> standard
                schedules.setdefault(key, Schedule(ident, int(cohort), family, {}))
                schedules[key].milestones[kind] = Milestone(kind, _date(start), _date(milestone),
                                                            _date(payment))
        self.schedules = schedules
        self.calendar = calendar if calendar is not None else {
            2022: (CalendarStatement(2022, "January 2023", dt.date(2022, 12, 31),
                                     dt.date(2023, 1, 25), True),
                   CalendarStatement(2022, "February 2023", dt.date(2023, 1, 31),
                                     dt.date(2023, 2, 25), False),
                   CalendarStatement(2022, "May 2023", dt.date(2023, 4, 30),
                                     dt.date(2023, 5, 25), True)),
        }
        self.contracts = contracts if contracts is not None else {
            ("Provider A", 2022): Contract("Provider A", 2022),
            ("Provider A", 2025): Contract("Provider A", 2025, None, MentorTerms(Decimal(1000))),
        }

    def schedule_for(self, schedule_identifier, cohort):
        return self.schedules.get((schedule_identifier, cohort))

    def statements_for(self, cohort):
        return self.calendar.get(cohort, ())

    def contract_for(self, lead_provider, cohort):
        return self.contracts.get((lead_provider, cohort))


def declaration(declaration_id="d1", *, participant_id="p1", course="ecf-induction",
                declaration_type="started", date="2022-09-15", state="eligible",
                cohort=2022, lead_provider="Provider A", created_at=None,
                schedule="ecf-standard-september", **more) -> Declaration:
    """A declaration with sensible defaults; dates as text for readable tests."""
    def moment(text):
        if text is None or isinstance(text, dt.datetime):
            return text
        if len(text) == 10:
            text += "T12:00:00"
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc)  # noqa: UP017 (dt.UTC is 3.11+)

    participant_type = {"ecf-induction": "ect", "ecf-mentor": "mentor"}[course]
    return Declaration(declaration_id, participant_id, course, participant_type,
                       declaration_type, moment(date), state, cohort, lead_provider,
                       moment(created_at), schedule_identifier=schedule, file="decl.csv",
                       row=2, **more)

