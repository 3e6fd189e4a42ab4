"""The fact vocabulary: what the eligibility rules can ask about a declaration.

Stage: rules (read when the rules are checked at load, compiled and evaluated).
In: the rulebook's vocabulary (``rules/vocabulary.yaml``).
Out: every *fact field* (name, type, nullable, allowed values, meaning) that
``rules/eligibility.yaml`` conditions are checked against; :mod:`reconcile.rulebook.facts`
derives each declaration's values of them.

Facts are low-cardinality on purpose (docs/rules.md "eligibility.yaml"):
``window_position`` says where the declaration date falls in its milestone window
instead of carrying the date itself, so a million declarations collapse into a
few hundred distinct signatures and the rules engine evaluates each one once.

>>> fields = fact_vocabulary(None)
>>> fields["window_position"].allowed[:3]
('before_start', 'within', 'after_cutoff')
>>> fields["cohort"].type
'int'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from reconcile.rulebook.schema import VocabularyFile

#: the value types of the condition language; dates are zero-padded ISO text
#: ("2023-06-01") so that durable-rules and Python both compare them as strings
FIELD_TYPES = ("str", "int", "bool", "date")

#: where a declaration date falls in its milestone window
#: (docs/domain.md "Validation of a declaration"):
#: before_start: before the milestone's start date; after_cutoff: after the end of
#: its milestone date; open_ended: the milestone has no milestone date (non-standard
#: schedules: no date validation); not_in_schedule: the schedule has no milestone
#: of this declaration type; unknown_schedule: no such schedule for the cohort;
#: not_given: no input says the participant's schedule (nothing can be checked).
WINDOW_POSITIONS = ("before_start", "within", "after_cutoff", "open_ended",
                    "not_in_schedule", "unknown_schedule", "not_given")

#: schedule families (docs/domain.md, reference schedules: ecf-standard-september, ...)
SCHEDULE_FAMILIES = ("standard", "extended", "reduced", "replacement")

#: message placeholders that come from the declaration itself, not from its facts
DECLARATION_PLACEHOLDERS = ("declaration_id", "participant_id", "declaration_date",
                            "milestone_start", "milestone_date", "statement",
                            "lead_provider")


class FactField(NamedTuple):
    """One field of a declaration's facts, as rule conditions see it."""

    name: str
    type: str  # one of FIELD_TYPES
    nullable: bool  # may be null (absent); see conditions.py "Null semantics"
    allowed: tuple[str, ...] | None  # the enumerated values, or None for any value of the type
    doc: str


def fact_vocabulary(vocabulary: VocabularyFile | None) -> dict[str, FactField]:
    """Every fact field, in a stable order; enumerations come from the rulebook.

    ``vocabulary`` is the rulebook's vocabulary (``states``, ``declaration_types``,
    ``courses``, ``participant_types``, ``schedule_families``); ``None`` (a
    vocabulary.yaml that did not load) leaves those fields open, so the rules'
    conditions are still checked as far as they can be.
    """
    fields = (
        FactField("state", "str", False,
                  vocabulary.states if vocabulary is not None else None,
                  "the declaration's state, dasherized (paid, awaiting-clawback, ...)"),
        FactField("declaration_type", "str", False,
                  vocabulary.declaration_types if vocabulary is not None else None,
                  "started, retained-1..4, completed, extended-1..3"),
        FactField("participant_type", "str", False,
                  vocabulary.participant_types if vocabulary is not None else None,
                  "ect or mentor"),
        FactField("course_identifier", "str", False,
                  tuple(vocabulary.courses) if vocabulary is not None else None,
                  "ecf-induction or ecf-mentor"),
        FactField("cohort", "int", False, None, "the cohort's start year, e.g. 2023"),
        FactField("schedule_identifier", "str", True, None,
                  "e.g. ecf-standard-september; null when no input gives the schedule"),
        FactField("schedule_family", "str", True,
                  vocabulary.schedule_families if vocabulary is not None
                  else SCHEDULE_FAMILIES,
                  "standard, extended, reduced or replacement; null for an unknown schedule"),
        FactField("window_position", "str", False, WINDOW_POSITIONS,
                  "where declaration_date falls in the milestone window of its schedule"),
        FactField("future_date", "bool", False, None,
                  "declaration_date is after the as-of date (today by default)"),
        FactField("declaration_date", "date", False, None,
                  "the declaration date (YYYY-MM-DD); many distinct values, so a rule "
                  "that uses it makes evaluation slower: prefer window_position"),
        FactField("has_uplift_flag", "bool", False, None,
                  "pupil premium or sparsity uplift (either, counted once; the "
                  "API's uplift_paid counts as one)"),
        FactField("pupil_premium_uplift", "bool", False, None, "pupil premium uplift flag"),
        FactField("sparsity_uplift", "bool", False, None, "sparsity uplift flag"),
        FactField("contract_found", "bool", False, None,
                  "a contract exists for the lead provider and cohort"),
        FactField("contract_uplift", "bool", False, None,
                  "the contract (any of its versions) has an uplift_amount (false without a contract)"),
        FactField("mentor_flat_rate", "bool", False, None,
                  "the contract has a mentor block: flat-rate mentor funding "
                  "(false without a contract)"),
        FactField("duplicate", "bool", False, None,
                  "another billable-or-submitted declaration of the same participant, "
                  "course and type comes earlier (declaration_date, created_at, "
                  "declaration_id)"),
        FactField("has_delivery_partner", "bool", False, None,
                  "delivery_partner_id or delivery_partner_name is given"),
        FactField("has_statement", "bool", False, None,
                  "statement_id or statement_name is given"),
        FactField("has_clawback_statement", "bool", False, None,
                  "clawback_statement_id or clawback_statement_name is given"),
        FactField("output_statement_available", "bool", False, None,
                  "the cohort has an output-fee statement whose cut-off is on or after "
                  "the day the declaration was submitted (created_at, else its date)"),
    )
    return {f.name: f for f in fields}
