"""The rulebook's shapes: pydantic models of every rules file, and the values it holds.

Stage: rules (loaded by :mod:`reconcile.rulebook.load`, the single gate).
In: the plain data of one YAML file (from :mod:`reconcile.rulebook.yamlsrc`).
Out: a frozen, validated model, or pydantic errors that the loader turns into
``file:line: what is wrong — how to fix``.

Two layers live here:

* **file models** (``*File``): exactly what a file may contain, ``frozen=True,
  extra="forbid"``; each field's ``description`` doubles as the fix hint of an
  error about it. Their ``issues()`` methods add the checks a type cannot express
  (percentages adding up, bands contiguous); an issue is ``(path, what, fix)``
  with the path into the YAML document, so the loader can name the exact line.
* **rulebook values** that the other stages use (:class:`Band`,
  :class:`Contract`, :class:`Schedule`, :class:`Milestone`,
  :class:`CalendarStatement`, :class:`RuleSpec`), immutable named tuples built by
  the loader once every file is valid.

Money and percentages are exact ``Decimal``: written in YAML as whole numbers,
numbers with a fraction (``yamlsrc`` reads those as Decimal) or text
(``"995.50"``); a binary float is refused. Percentages are numbers of per cent
(``20`` = 20%).

>>> fees = FeesFile.model_validate({
...     "band_split": {"output_payment_percentage": 60, "service_fee_percentage": 40},
...     "proportions": {"started": 20, "completed": "80"},
...     "core_milestones": ["started", "completed"],
...     "mentor_flat_rate_proportions": {"started": 50, "completed": 50},
...     "vat_percentage": 20, "uplift": {"amount": "contract", "eligibility_rule": "uplift"},
...     "largest_amount": 1000000000, "largest_count": 10000000})
>>> band = Band("A", 0, 2000, Decimal(995), Decimal(60), Decimal(40))
>>> fees.output_fee(band, "started")
Decimal('119.4')
>>> band.capacity
2000
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)
from pydantic_core import PydanticCustomError

from reconcile import money
from reconcile.findings import Severity
from reconcile.model import Source
from reconcile.rulebook.yamlsrc import YamlPath

HUNDRED = Decimal(100)
#: the most fees.yaml's largest_amount may be: not a rule of DfE's but the range in
#: which this program calculates money exactly (``money.round_money`` works to 40
#: digits; a line of a million declarations at this fee still has 34)
MONEY_CEILING = Decimal(10) ** 15

#: an issue found by a check: (path into the YAML document, what is wrong, how to fix)
Issue = tuple[YamlPath, str, str]

# --------------------------------------------------------------------------- types


def _exact_number(value: Any) -> Decimal:
    """Money or a percentage: int, Decimal or text; never a float or a yes/no."""
    if isinstance(value, (bool, float)) or not isinstance(
            value, (int, Decimal, str)):
        raise PydanticCustomError(
            "exact_number", "{value} is not a number",
            {"value": repr(value) if not isinstance(value, (dict, list)) else "a list or mapping",
             "fix": "write a number such as 995 or 995.50"})
    try:
        return money.to_decimal(value)
    except money.MoneyError:
        raise PydanticCustomError(
            "exact_number", "{value} is not a number",
            {"value": repr(value), "fix": "write a number such as 995 or 995.50"}) from None


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _plain_date(value: Any) -> dt.date:
    """A calendar date written YYYY-MM-DD (YAML reads it as a date already)."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("plain_date", "{value} is a moment, not a date",
                                  {"value": str(value), "fix": "write the date alone: YYYY-MM-DD"})
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "plain_date", "{value} is not a real date",
                {"value": repr(value), "fix": "check the month and day"}) from None
    raise PydanticCustomError("plain_date", "{value} is not a date",
                              {"value": repr(value),
                               "fix": "write the date as YYYY-MM-DD, e.g. 2023-01-25"})


Number = Annotated[Decimal, BeforeValidator(_exact_number)]
Money = Annotated[Decimal, BeforeValidator(_exact_number), Field(ge=0)]
Percent = Annotated[Decimal, BeforeValidator(_exact_number), Field(ge=0, le=100)]
Date = Annotated[dt.date, BeforeValidator(_plain_date)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: lowercase words joined by '-': declaration types, states, courses, schedules
Dashed = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
#: lowercase words joined by '_' or '-': participant types, policy names, families
Word = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+([-_][a-z0-9]+)*$")]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")]
Cohort = Annotated[int, Field(ge=2000, le=2100)]

#: what a pattern means, for error messages (pattern -> plain words)
PATTERN_WORDS = {
    r"^[a-z0-9]+(-[a-z0-9]+)*$": "lowercase words joined by '-' (e.g. retained-1)",
    r"^[a-z0-9]+([-_][a-z0-9]+)*$": "lowercase words joined by '_' or '-' (e.g. flat_rate)",
    r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$": "capital words joined by '_' (e.g. DECL_FUTURE_DATE)",
}

#: classification labels the calculation reads (vocabulary, not rules: brief)
LABELS = ("billable", "refundable", "uplift", "flat_rate")


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"

# --------------------------------------------------------------------- vocabulary


class AssuranceStates(Strict):
    """DfE's assurance report's clawback pair (``vocabulary.yaml`` ``assurance_report``).

    The report has one row per statement line item (``Finance::ECF::AssuranceReport::
    Query`` reports ``statement_line_items.state``), so a clawed-back declaration is in
    it twice: in ``paid_state`` on the statement that paid it, and in one of
    ``refund_states`` on its clawback statement. A declaration in any of these states has
    been paid on its statement.
    """

    paid_state: Dashed = Field(
        description="the state on the statement that paid a declaration, e.g. paid")
    refund_states: tuple[Dashed, ...] = Field(
        min_length=1, description="the states on its clawback statement, e.g. "
                                  "[awaiting-clawback, clawed-back]")

    @property
    def paid_states(self) -> frozenset[str]:
        """The states of a declaration paid on its statement (paid, or since refunded)."""
        return frozenset((self.paid_state, *self.refund_states))


class StatementCounts(Strict):
    """The states DfE's statement counts on lines of their own (``vocabulary.yaml``
    ``statement_counts``; ECF's ``statement_calculator.rb``: ``voided_count``,
    ``clawed_back_count``, and those awaiting clawback shown apart)."""

    voided: Dashed = Field(description="the state counted as voided where DfE put it, "
                                       "e.g. voided")
    clawed_back: Dashed = Field(description="the state counted as clawed back, e.g. "
                                            "clawed-back")
    awaiting_clawback: Dashed = Field(description="the state counted as awaiting "
                                                  "clawback, e.g. awaiting-clawback")


class VocabularyFile(Strict):
    """``rules/vocabulary.yaml``: the names every other file and input uses."""

    description: str = ""
    declaration_types: tuple[Dashed, ...] = Field(
        min_length=1, description="the declaration types in order, e.g. [started, retained-1]")
    states: tuple[Dashed, ...] = Field(
        min_length=1, description="declaration states, dasherized (awaiting-clawback)")
    participant_types: tuple[Word, ...] = Field(min_length=1, description="e.g. [ect, mentor]")
    courses: dict[Dashed, Word] = Field(
        min_length=1, description="course identifier -> participant type, e.g. ecf-induction: ect")
    report_types: dict[Word, Dashed] = Field(
        default_factory=dict,
        description="DfE assurance report 'Type' value -> course identifier, e.g. ect: ecf-induction")
    schedule_families: tuple[Word, ...] = Field(
        min_length=1, description="schedule families, e.g. [standard, extended, reduced, replacement]")
    default_schedule: Dashed | None = Field(
        default=None,
        description="schedule of a declaration no input gives one for, e.g. "
                    "ecf-standard-september; null (the default): not assumed, the checks "
                    "that need a schedule are not run")
    no_payment_states: tuple[Dashed, ...] = Field(
        default=(),
        description="states in which a declaration moves no money (the v3 API gives such "
                    "a declaration no statement): one without a cohort is left out with a "
                    "note rather than refused, e.g. [submitted, voided, ineligible]")
    statement_counts: StatementCounts = Field(
        description="the states a statement counts on lines of their own: voided, "
                    "clawed_back, awaiting_clawback")
    recruitment_type: Dashed = Field(
        description="the type of a participant's start: recruitment (the service fee's "
                    "target) is counted by it, and its uplift flags are looked for, e.g. started")
    assurance_report: AssuranceStates = Field(
        description="DfE's assurance report's clawback pair: paid_state (on the statement "
                    "that paid a declaration) and refund_states (on its clawback statement)")

    def participant_type_of(self, course_identifier: str) -> str | None:
        return self.courses.get(course_identifier)

    def state(self, text: str) -> str | None:
        """The dasherized state for ``text`` (``clawed_back``/``Clawed-Back`` accepted)."""
        state = text.strip().lower().replace("_", "-")
        return state if state in self.states else None

    def course_of_report_type(self, value: str) -> str | None:
        """The course of a DfE assurance report 'Type' value (``ECT`` -> ``ecf-induction``)."""
        return self.report_types.get(value.strip().lower())

    def issues(self) -> Iterator[Issue]:
        yield from _duplicates(self.declaration_types, ("declaration_types",), "declaration type")
        yield from _duplicates(self.states, ("states",), "state")
        yield from _duplicates(self.participant_types, ("participant_types",), "participant type")
        for course, participant_type in self.courses.items():
            if participant_type not in self.participant_types:
                yield (("courses", course), f"courses: {participant_type!r} is not a participant type",
                       _did_you_mean(participant_type, self.participant_types,
                                     "add it to participant_types"))
        for value, course in self.report_types.items():
            if value != value.lower():
                yield (("report_types", value), f"report_types: {value!r} must be lowercase",
                       "write it in lowercase: values are matched ignoring case")
            if course not in self.courses:
                yield (("report_types", value), f"report_types: {course!r} is not a course",
                       _did_you_mean(course, tuple(self.courses), "add it to courses"))
        for item, state in enumerate(self.no_payment_states):
            yield from self._state_issue(("no_payment_states", item), "no_payment_states", state)
        for field, state in self.statement_counts:
            yield from self._state_issue(("statement_counts", field),
                                         f"statement_counts: {field}", state)
        if self.recruitment_type not in self.declaration_types:
            yield (("recruitment_type",),
                   f"recruitment_type: {self.recruitment_type!r} is not a declaration type",
                   _did_you_mean(self.recruitment_type, self.declaration_types,
                                 "add it to declaration_types"))
        report = self.assurance_report
        yield from self._state_issue(("assurance_report", "paid_state"),
                                     "assurance_report: paid_state", report.paid_state)
        for item, state in enumerate(report.refund_states):
            path = ("assurance_report", "refund_states", item)
            yield from self._state_issue(path, "assurance_report: refund_states", state)
            if state == report.paid_state:
                yield (path, f"assurance_report: {state!r} is both the paid state and a "
                             "refund state", "a refund state is the state on the clawback "
                             "statement: remove it from refund_states")
        yield from _duplicates(report.refund_states, ("assurance_report", "refund_states"),
                               "state")

    def _state_issue(self, path: YamlPath, where: str, state: str) -> Iterator[Issue]:
        if state not in self.states:
            yield (path, f"{where}: {state!r} is not a state",
                   _did_you_mean(state, self.states, "add it to states"))

# --------------------------------------------------------------------------- fees


class BandSplit(Strict):
    output_payment_percentage: Percent = Field(
        description="share of a band's price paid as output fees, e.g. 60")
    service_fee_percentage: Percent = Field(
        description="share of a band's price paid as the service fee, e.g. 40")


class UpliftTerms(Strict):
    amount: Literal["contract"] = Field(
        description="where the uplift amount comes from: contract (its uplift_amount)")
    eligibility_rule: Dashed = Field(
        description="id of the eligibility.yaml rule that classifies a declaration 'uplift'")
    notes: str = ""


class FeesFile(Strict):
    """``rules/fees.yaml``: what each declaration is worth, as shares of a price."""

    description: str = ""
    band_split: BandSplit = Field(
        description="default output/service split of a band: output_payment_percentage, "
                    "service_fee_percentage")
    imported_band_splits: dict[str, BandSplit] = Field(
        default_factory=dict,
        description="band name -> the split `reconcile contracts import` writes into that "
                    "band of a contract it makes from DfE's CSV (DfE's importer: D 100/0)")
    proportions: dict[Dashed, Percent] = Field(
        min_length=1, description="declaration type -> per cent of the band output price")
    core_milestones: tuple[Dashed, ...] = Field(
        min_length=1, description="the declaration types whose proportions make up 100%")
    mentor_flat_rate_proportions: dict[Dashed, Percent] = Field(
        description="declaration type -> per cent of a flat-rate mentor's payment_per_participant")
    vat_percentage: Percent = Field(description="VAT rate in per cent, e.g. 20")
    uplift: UpliftTerms = Field(description="amount: contract, eligibility_rule: uplift")
    largest_amount: Annotated[Money, Field(gt=0)] = Field(
        description="the most money one price, fee, contract value or DfE statement line "
                    "may hold, in pounds, e.g. 1000000000; a larger figure is refused as a "
                    "typing mistake")
    largest_count: int = Field(
        gt=0, le=10 ** 12, description="the most declarations one DfE statement line may "
                                       "count, e.g. 10000000; a larger count is refused")

    def proportion(self, declaration_type: str) -> Decimal:
        """Per cent of the band output price a declaration of this type earns (20 for started)."""
        return self.proportions[declaration_type]

    def mentor_proportion(self, declaration_type: str) -> Decimal:
        """Per cent of a flat-rate mentor payment (0 for a type that earns nothing)."""
        return self.mentor_flat_rate_proportions.get(declaration_type, Decimal(0))

    def output_fee(self, band: Band, declaration_type: str) -> Decimal:
        """Exact output fee per declaration in ``band`` (docs/domain.md "Prices"):
        £995 A started -> 119.4."""
        return money.percent_of(band.output_price, self.proportion(declaration_type))

    def mentor_fee(self, payment_per_participant: Decimal, declaration_type: str) -> Decimal:
        """Exact flat-rate mentor fee: £1,000 started -> 500."""
        return money.percent_of(payment_per_participant, self.mentor_proportion(declaration_type))

    def vat(self, net: Decimal) -> Decimal:
        """VAT on ``net`` at the rulebook's rate, exact (round it where shown)."""
        return money.percent_of(net, self.vat_percentage)

    def issues(self, vocabulary: VocabularyFile | None) -> Iterator[Issue]:
        if self.largest_amount > MONEY_CEILING:
            yield (("largest_amount",),
                   f"largest_amount: {money.described(self.largest_amount)} is more than "
                   f"{money.described(MONEY_CEILING)}, beyond which this program cannot "
                   "calculate money to the penny",
                   f"write at most {MONEY_CEILING} (the bundled rules say 1000000000)")
        split = self.band_split
        total = split.output_payment_percentage + split.service_fee_percentage
        if total != HUNDRED:
            yield (("band_split",),
                   (f"band_split: output {_pct(split.output_payment_percentage)} + service "
                   f"{_pct(split.service_fee_percentage)} = {_pct(total)}, not 100%"),
                   "make the two percentages add up to 100 (e.g. 60 and 40)")
        for name, imported in self.imported_band_splits.items():
            total = imported.output_payment_percentage + imported.service_fee_percentage
            if total != HUNDRED:
                yield (("imported_band_splits", name),
                       (f"imported_band_splits: {name}: output "
                        f"{_pct(imported.output_payment_percentage)} + service "
                        f"{_pct(imported.service_fee_percentage)} = {_pct(total)}, not 100%"),
                       "make the two percentages add up to 100 (e.g. 100 and 0)")
        for item, declaration_type in enumerate(self.core_milestones):
            if declaration_type not in self.proportions:
                yield (("core_milestones", item),
                       f"core_milestones: {declaration_type!r} has no proportion",
                       f"add '{declaration_type}: <per cent>' under proportions")
        core = _sum(self.proportions.get(t, Decimal(0)) for t in self.core_milestones)
        if core != HUNDRED:
            listed = ", ".join(f"{t} {_pct(self.proportions.get(t, Decimal(0)))}"
                               for t in self.core_milestones)
            yield (("proportions",),
                   f"proportions: the core milestones add up to {_pct(core)}, not 100% ({listed})",
                   ("adjust them so that they add up to 100, e.g. started 20, retained-1..4 15, "
                   "completed 20 (DfE's ECF payment rules; see docs/rules.md)"))
        mentor = _sum(self.mentor_flat_rate_proportions.values())
        if self.mentor_flat_rate_proportions and mentor != HUNDRED:
            yield (("mentor_flat_rate_proportions",),
                   f"mentor_flat_rate_proportions add up to {_pct(mentor)}, not 100%",
                   "make them add up to 100, e.g. started 50, completed 50")
        if vocabulary is None:
            return
        known = vocabulary.declaration_types
        for key in ("proportions", "mentor_flat_rate_proportions"):
            for declaration_type in getattr(self, key):
                if declaration_type not in known:
                    yield ((key, declaration_type),
                           f"{key}: {declaration_type!r} is not a declaration type",
                           _did_you_mean(declaration_type, known, "see vocabulary.yaml"))
        for item, declaration_type in enumerate(self.core_milestones):
            if declaration_type not in known:
                yield (("core_milestones", item),
                       f"core_milestones: {declaration_type!r} is not a declaration type",
                       _did_you_mean(declaration_type, known, "see vocabulary.yaml"))
        for declaration_type in known:
            if declaration_type not in self.proportions:
                yield (("proportions",), f"proportions: {declaration_type!r} has no proportion",
                       (f"add '{declaration_type}: <per cent>' (a declaration type of "
                       "vocabulary.yaml must have a fee)"))

# ------------------------------------------------------------------------ banding


class RefundPolicy(Strict):
    order: Literal["top_band_first"] = Field(
        description="which band a refund is taken from first: top_band_first")
    take_from: tuple[Literal["this_statement_additions", "previous_fill"], ...] = Field(
        min_length=1,
        description="where refunds are taken from, in order: this_statement_additions, previous_fill")


class BandingFile(Strict):
    """``rules/banding.yaml``: how declarations fill a contract's bands."""

    description: str = ""
    count_per: Literal["declaration_type"] = Field(
        description="bands are filled separately per: declaration_type")
    cumulative_over: Literal["provider_cohort"] = Field(
        description="counts accumulate over the statements of one: provider_cohort")
    statement_order: Literal["payment_date"] = Field(
        description="order of a provider+cohort's statements: payment_date")
    order_by: tuple[Literal["declaration_date", "created_at", "declaration_id",
                            "participant_id"], ...] = Field(
        min_length=1, description="order of the declarations of one statement, e.g. "
                                  "[declaration_date, created_at, declaration_id]")
    refunds: RefundPolicy = Field(description="order: top_band_first, take_from: [...]")
    beyond_last_band: Literal["unpaid"] = Field(
        description="what happens past the last band's max: unpaid (no fee, and a finding)")
    min_counts_from: int = Field(
        ge=0, le=1, description="the lowest participant number a band counts from: 1 "
                                "(a band with min 0 holds participants 1..max)")
    attribution: Literal["band", "blended"] = Field(
        description="fee attributed to each declaration: band (its band's fee) or blended "
                    "(the statement line's average)")
    banded_participant_types: dict[Word, Literal["always", "never", "without_flat_rate"]] = Field(
        description="participant type -> always, never or without_flat_rate (banded unless the "
                    "contract has a flat-rate mentor block)")
    previous_fill: Literal["ecf", "rect"] = Field(
        default="ecf",
        description="how earlier statements fill the bands: ecf (earlier billable - earlier "
                    "refundable, then laid over the bands) or rect (earlier billable capped at "
                    "the bands' capacity, then the earlier refunds removed)")

    def banded(self, participant_type: str, flat_rate: bool) -> bool:
        """Whether declarations of ``participant_type`` fill bands under a contract
        with (``flat_rate=True``) or without a flat-rate mentor block."""
        policy = self.banded_participant_types.get(participant_type, "never")
        return policy == "always" or (policy == "without_flat_rate" and not flat_rate)

    def issues(self, vocabulary: VocabularyFile | None) -> Iterator[Issue]:
        yield from _duplicates(self.order_by, ("order_by",), "ordering field")
        yield from _duplicates(self.refunds.take_from, ("refunds", "take_from"), "place")
        if vocabulary is None:
            return
        for participant_type in self.banded_participant_types:
            if participant_type not in vocabulary.participant_types:
                yield (("banded_participant_types", participant_type),
                       f"banded_participant_types: {participant_type!r} is not a participant type",
                       _did_you_mean(participant_type, vocabulary.participant_types,
                                     "see vocabulary.yaml"))
        for participant_type in vocabulary.participant_types:
            if participant_type not in self.banded_participant_types:
                yield (("banded_participant_types",),
                       f"banded_participant_types: {participant_type!r} is missing",
                       f"add '{participant_type}: always', 'never' or 'without_flat_rate'")

# -------------------------------------------------------------------- service fee


class Tranche(Strict):
    percentage: Percent = Field(description="per cent of the total service fee, e.g. 90")
    months: int = Field(gt=0, description="number of monthly statements it is spread over, e.g. 29")


class ServiceFeePolicy(Strict):
    description: Text = Field(description="what the policy does and where it comes from")
    tranches: tuple[Tranche, ...] = Field(
        min_length=1, description="list of {percentage, months}: how the total is paid out")
    set_up_fee_deduction: Literal["spread_over_band_a", "none"] = Field(
        description="how a contract's set_up_fee reduces the total: spread_over_band_a or none")
    paid_on: Literal["every_statement", "month_position"] = Field(
        description="every_statement (each statement of the cohort's calendar gets the "
                    "monthly amount; the months only divide the total, as DfE pays it) or "
                    "month_position (the n-th statement gets the tranches that cover month n)")

    @property
    def number_of_payments(self) -> int:
        """The longest tranche's months: the divisor of the monthly amount (29 for DfE)."""
        return max(t.months for t in self.tranches)

    def _pays(self, tranche: Tranche, payment_number: int) -> bool:
        if self.paid_on == "every_statement":
            return payment_number >= 1
        return 1 <= payment_number <= tranche.months

    def share(self, payment_number: int) -> Decimal:
        """The fraction (0..1) of the total paid on the ``payment_number``-th statement
        (1-based): each tranche pays percentage / months on each statement it covers
        (every statement, or its first ``months`` under ``month_position``)."""
        return _sum(t.percentage / (HUNDRED * t.months) for t in self.tranches
                    if self._pays(t, payment_number))

    def monthly_amount(self, total: Decimal, payment_number: int) -> Decimal:
        """The exact service fee of the ``payment_number``-th statement (1-based) out of
        ``total``: total × percentage / (100 × months) per tranche that pays on it; with
        one tranche of 100% over 29, exactly total / 29."""
        return _sum(total * t.percentage / (HUNDRED * t.months) for t in self.tranches
                    if self._pays(t, payment_number))


class UnderTarget(Strict):
    threshold_percentage: Percent = Field(
        description="recruitment under this per cent of the target counts as under target, e.g. 75")
    reduction: Literal["none", "pro_rata"] = Field(
        description="none (no automatic reduction) or pro_rata (service fee x recruited / target)")
    recruited: Literal["billable_started"] = Field(
        description="what counts as recruited: billable_started")


class ServiceFeeFile(Strict):
    """``rules/service_fee.yaml``: how the monthly service fee is worked out."""

    description: str = ""
    selected: Word = Field(description="the name of the policy in use, one of policies")
    policies: dict[Word, ServiceFeePolicy] = Field(min_length=1, description="name -> policy")
    contract_monthly_fee_wins: bool = Field(
        description="true: a contract's monthly_service_fee replaces the calculated one")
    under_target: UnderTarget = Field(description="threshold_percentage, reduction, recruited")

    @property
    def policy(self) -> ServiceFeePolicy:
        """The selected policy."""
        return self.policies[self.selected]

    def issues(self) -> Iterator[Issue]:
        if self.selected not in self.policies:
            yield (("selected",), f"selected: {self.selected!r} is not one of the policies",
                   _did_you_mean(self.selected, tuple(self.policies),
                                 "name one of: " + ", ".join(self.policies)))
        for name, policy in self.policies.items():
            total = _sum(t.percentage for t in policy.tranches)
            if total != HUNDRED:
                yield (("policies", name, "tranches"),
                       f"policies.{name}.tranches: the percentages add up to {_pct(total)}, not 100%",
                       "make the tranches add up to 100 (e.g. 90 over 29 months + 10 over 40)")

# -------------------------------------------------------------------- eligibility


class Classify(Strict):
    """``then: {classify: billable}``: the declaration gets a label."""

    label: Literal["billable", "refundable", "uplift", "flat_rate"] = Field(
        alias="classify", description="one of billable, refundable, uplift, flat_rate")


class FindingSpec(Strict):
    """``then: {finding: CODE, severity, message, suggestion}``: a finding is reported."""

    code: Code = Field(alias="finding",
                       description="a stable code in capitals, e.g. DECL_BEFORE_MILESTONE_START")
    severity: Severity = Field(description="error, warning or info")
    message: Text = Field(description="plain English; may use {declaration_type} etc.")
    suggestion: Text = Field(description="the corrective action, in plain English")


def _then_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        if "classify" in value:
            return "Classify"
        if "finding" in value:
            return "FindingSpec"
    return None


Then = Annotated[
    Annotated[Classify, Tag("Classify")] | Annotated[FindingSpec, Tag("FindingSpec")],
    Discriminator(_then_kind, custom_error_type="then_kind",
                  custom_error_message="'then' must say 'classify: <label>' or "
                                       "'finding: <CODE>' with severity, message, suggestion")]


class RuleEntry(Strict):
    id: Dashed = Field(description="a unique name: lowercase words joined by '-'")
    description: Text = Field(description="what the rule means, citing DfE's published "
                                          "guidance or docs/rules.md")
    when: dict[str, Any] = Field(min_length=1, description="the condition (see docs/rules.md, "
                                                           "eligibility.yaml)")
    then: Then = Field(description="{classify: label} or {finding: CODE, severity, message, "
                                   "suggestion}")


class EligibilityFile(Strict):
    """``rules/eligibility.yaml``: condition -> outcome rules, evaluated per declaration."""

    description: str = ""
    rules: tuple[RuleEntry, ...] = Field(min_length=1, description="the list of rules")

    def issues(self) -> Iterator[Issue]:
        seen: dict[str, int] = {}
        for item, rule in enumerate(self.rules):
            if rule.id in seen:
                yield (("rules", item, "id"), f"rule id {rule.id!r} is used twice",
                       f"rename one of them (the other is rule {seen[rule.id] + 1} of the list)")
            seen.setdefault(rule.id, item)

# ---------------------------------------------------------------------- schedules


class MilestoneRow(Strict):
    declaration_type: Dashed = Field(description="e.g. started")
    start: Date = Field(description="first day a declaration may be dated, YYYY-MM-DD")
    end: Date | None = Field(description="milestone date: last day a declaration may be dated, "
                                         "or null for no date check")
    payment: Date = Field(description="milestone payment date, YYYY-MM-DD")


class ScheduleEntry(Strict):
    identifier: Dashed = Field(description="e.g. ecf-standard-september")
    cohort: Cohort = Field(description="the cohort's start year, e.g. 2023")
    name: Text = Field(description="e.g. ECF Standard September")
    family: Word = Field(description="standard, extended, reduced or replacement")
    milestones: tuple[MilestoneRow, ...] = Field(
        min_length=1, description="list of {declaration_type, start, end, payment}")


class SchedulesFile(Strict):
    """``rules/schedules.yaml``: DfE's schedules per cohort with their milestone windows."""

    description: str = ""
    schedules: tuple[ScheduleEntry, ...] = Field(min_length=1, description="list of schedules")

    def issues(self, vocabulary: VocabularyFile | None) -> Iterator[Issue]:
        seen: dict[tuple[str, int], int] = {}
        for item, schedule in enumerate(self.schedules):
            key = (schedule.identifier, schedule.cohort)
            if key in seen:
                yield (("schedules", item, "identifier"),
                       (f"schedule {schedule.identifier} for cohort {schedule.cohort} is "
                       "defined twice"), "remove or merge one of them")
            seen.setdefault(key, item)
            types_seen: set[str] = set()
            for row_number, row in enumerate(schedule.milestones):
                path = ("schedules", item, "milestones", row_number)
                if row.declaration_type in types_seen:
                    yield (path, (f"{schedule.identifier} {schedule.cohort}: "
                                 f"{row.declaration_type!r} appears twice"),
                           "keep one milestone per declaration type")
                types_seen.add(row.declaration_type)
                if row.end is not None and row.end < row.start:
                    yield (path + ("end",), (f"{schedule.identifier} {schedule.cohort} "
                                            f"{row.declaration_type}: the milestone date "
                                            f"{row.end} is before its start {row.start}"),
                           "check the two dates")
                if vocabulary is not None and row.declaration_type not in \
                        vocabulary.declaration_types:
                    yield (path + ("declaration_type",),
                           f"{row.declaration_type!r} is not a declaration type",
                           _did_you_mean(row.declaration_type, vocabulary.declaration_types,
                                         "see vocabulary.yaml"))
            if vocabulary is not None and schedule.family not in vocabulary.schedule_families:
                yield (("schedules", item, "family"),
                       f"{schedule.family!r} is not a schedule family",
                       _did_you_mean(schedule.family, vocabulary.schedule_families,
                                     "see schedule_families in vocabulary.yaml"))

# ---------------------------------------------------------------------- calendars


class CalendarRow(Strict):
    name: Text = Field(description="the statement's name, e.g. May 2023")
    cut_off: Date = Field(description="the deadline date, YYYY-MM-DD")
    payment: Date = Field(description="the payment date, YYYY-MM-DD")
    output_fee: bool = Field(description="true if the statement carries declarations")


class CalendarPolicy(Strict):
    faulty_cut_off: Literal["correct", "keep"] = Field(
        description="a cut-off after its payment date: correct (last day of the month before "
                    "the payment month) or keep")
    same_day_cut_off: Literal["correct", "keep"] = Field(
        description="a cut-off on its payment date: correct or keep")


class CalendarsFile(Strict):
    """``rules/calendars.yaml``: the statement calendar per cohort."""

    description: str = ""
    policy: CalendarPolicy = Field(description="faulty_cut_off, same_day_cut_off")
    cohorts: dict[Cohort, tuple[CalendarRow, ...]] = Field(
        min_length=1, description="cohort -> list of {name, cut_off, payment, output_fee}")

    def issues(self) -> Iterator[Issue]:
        for cohort, rows in self.cohorts.items():
            seen: set[str] = set()
            for item, row in enumerate(rows):
                if row.name.lower() in seen:
                    yield (("cohorts", cohort, item, "name"),
                           f"cohort {cohort}: statement {row.name!r} appears twice",
                           "keep one row per statement name")
                seen.add(row.name.lower())

# ---------------------------------------------------------------------- contracts


class BandTerms(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)] = \
        Field(description="the band's name, e.g. A")
    min: int = Field(ge=0, description="lowest participant count of the band (0 or 1 for the "
                                       "first band, then the previous max + 1)")
    max: int = Field(ge=1, description="highest participant count of the band (inclusive)")
    per_participant: Money = Field(description="price per participant in pounds, e.g. 995")
    output_payment_percentage: Percent | None = Field(
        default=None, description="per cent of the price paid as output fees (default 60)")
    service_fee_percentage: Percent | None = Field(
        default=None, description="per cent of the price paid as service fee (default 40)")


class MentorTerms(Strict):
    """Flat-rate mentor funding of a contract (cohort 2025 on)."""

    payment_per_participant: Money = Field(description="price per mentor in pounds, e.g. 1000")


def _label(value: Any) -> Any:
    """A version label as written: ``0.0.3`` is text in YAML, ``1.0`` a number: keep both."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    return value


#: DfE's name of a contract version, e.g. 0.0.3 (ECF statements record contract_version)
Label = Annotated[str, BeforeValidator(_label),
                  StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]

#: the terms a contract version may change: every term but lead_provider and cohort
VERSION_TERMS = ("vat_chargeable", "vat_rate", "recruitment_target", "set_up_fee",
                 "uplift_amount", "monthly_service_fee", "bands", "mentor")
#: the terms that may be set to null (none from that statement on)
NULLABLE_TERMS = ("vat_rate", "uplift_amount", "monthly_service_fee", "mentor")


class ContractVersionFile(Strict):
    """A later version of a contract's terms: from a statement on, some terms change;
    every term it does not give is the previous version's."""

    from_: Text = Field(alias="from", description=(
        "the first statement (by name, of this provider and cohort) with these terms, "
        "e.g. October 2023"))
    version: Label | None = Field(
        default=None, description="DfE's contract version of these terms, e.g. 0.0.3")
    vat_chargeable: bool | None = Field(default=None, description="true or false")
    vat_rate: Percent | None = Field(default=None, description="VAT rate in per cent, e.g. 20")
    recruitment_target: int | None = Field(
        default=None, gt=0, description="contracted number of participants, e.g. 4500")
    set_up_fee: Money | None = Field(default=None, description="set-up fee in pounds")
    uplift_amount: Money | None = Field(
        default=None, description="uplift fee per eligible start, or null for none from here")
    monthly_service_fee: Money | None = Field(
        default=None, description="a monthly service fee (0 ends it), or null to calculate it")
    bands: tuple[BandTerms, ...] | None = Field(
        default=None, min_length=1,
        description="the whole list of bands from this statement on, ascending")
    mentor: MentorTerms | None = Field(
        default=None, description="{payment_per_participant: 1000} for flat-rate mentors")

    @property
    def changes(self) -> dict[str, Any]:
        """The terms this version sets (a null included), by name."""
        return {name: getattr(self, name) for name in VERSION_TERMS
                if name in self.model_fields_set}


class ContractFile(Strict):
    """A call-off contract (README "Writing a contract"), with its later versions."""

    lead_provider: Text = Field(description="the lead provider's name as in the declarations")
    cohort: Cohort = Field(description="the cohort's start year, e.g. 2023")
    version: Label | None = Field(
        default=None, description="DfE's contract version of these terms, e.g. 0.0.1")
    vat_chargeable: bool = Field(description="true if VAT is added to the statements")
    vat_rate: Percent | None = Field(
        default=None, description="VAT rate in per cent when VAT chargeable, e.g. 20 "
                                  "(default: fees.yaml vat_percentage)")
    recruitment_target: int = Field(gt=0, description="contracted number of participants, e.g. 4500")
    set_up_fee: Money = Field(default=Decimal(0), description="set-up fee in pounds (default 0)")
    uplift_amount: Money | None = Field(
        default=None, description="uplift fee per eligible started declaration, or null for none")
    monthly_service_fee: Money | None = Field(
        default=None, description="an explicit monthly service fee, or null to calculate it")
    bands: tuple[BandTerms, ...] = Field(
        min_length=1, description="list of {name, min, max, per_participant}, ascending")
    mentor: MentorTerms | None = Field(
        default=None, description="{payment_per_participant: 1000} for flat-rate mentors")
    versions: tuple[ContractVersionFile, ...] = Field(
        default=(), description="later versions, earliest first: each {from: <statement>, "
                                "the terms that change}")

    def terms(self) -> dict[str, Any]:
        """The base terms by name (what a version may change)."""
        return {name: getattr(self, name) for name in VERSION_TERMS}

    def version_terms(self) -> list[dict[str, Any]]:
        """The whole terms of each version: the previous version's, updated by its own."""
        result = []
        terms = self.terms()
        for version in self.versions:
            terms = {**terms, **version.changes}
            result.append(terms)
        return result

    def money_issues(self, largest: Decimal) -> Iterator[Issue]:
        """Every amount of the contract and its versions within ``largest``
        (fees.yaml ``largest_amount``), and so is its whole value."""
        yield from _money_issues(self.terms(), largest, (), "", self.terms())
        for item, (version, whole) in enumerate(zip(self.versions, self.version_terms())):
            yield from _money_issues(version.changes, largest, ("versions", item),
                                     f"the version from {version.from_}: ", whole)

    def issues(self, default_split: BandSplit | None) -> Iterator[Issue]:
        yield from _band_issues(self.bands, default_split, ())
        for item, version in enumerate(self.versions):
            path = ("versions", item)
            for name, value in version.changes.items():
                if value is None and name not in NULLABLE_TERMS:
                    yield (path + (name,), f"versions: {name} of the version from "
                           f"{version.from_} is null",
                           f"give a value, or leave {name} out to keep the previous one")
            if "mentor" in version.changes and \
                    (version.mentor is None) != (self.mentor is None):
                yield (path + ("mentor",),
                       f"the version from {version.from_} "
                       + ("removes" if version.mentor is None else "adds")
                       + " flat-rate mentor funding",
                       "a version may change mentor.payment_per_participant, not add or remove "
                       "the mentor block: DfE funds mentors at a flat rate by cohort "
                       "(a separate mentor contract), not from a statement on")
            if version.bands is not None:
                yield from _band_issues(version.bands, default_split, path)


def _money_issues(terms: Mapping[str, Any], largest: Decimal, prefix: YamlPath,
                  said: str, whole: Mapping[str, Any]) -> Iterator[Issue]:
    """The amounts among ``terms`` (a contract's or a version's own) over ``largest``,
    and the contract's value from its ``whole`` terms (a version's: the previous ones
    updated by its own) when ``terms`` change it."""
    limit = money.described(largest)
    fix = ("check the figure: pounds, e.g. 995 or 995.50 (raise largest_amount in fees.yaml "
           "only if a real contract needs more)")
    found: list[tuple[YamlPath, str, Decimal]] = []
    for name in ("set_up_fee", "uplift_amount", "monthly_service_fee"):
        value = terms.get(name)
        if value is not None:
            found.append(((name,), name, value))
    for item, band in enumerate(terms.get("bands") or ()):
        found.append((("bands", item, "per_participant"),
                      f"bands[{band.name}].per_participant", band.per_participant))
    mentor = terms.get("mentor")
    if mentor is not None:
        found.append((("mentor", "payment_per_participant"), "mentor.payment_per_participant",
                      mentor.payment_per_participant))
    over = False
    for path, name, value in found:
        if abs(value) > largest:
            over = True
            yield (prefix + path, f"{said}{name}: {money.described(value)} is more than {limit}, "
                   "the largest amount fees.yaml allows", fix)
    target, bands = whole.get("recruitment_target"), whole.get("bands")
    changed = [name for name in ("recruitment_target", "bands") if name in terms]
    if not over and changed and target is not None and bands:
        dearest = max(bands, key=lambda b: b.per_participant)
        value = dearest.per_participant * target
        if value > largest:
            yield (prefix + (changed[0],),
                   f"{said}the contract's value, recruitment_target {target:,} x band "
                   f"{dearest.name}'s {money.described(dearest.per_participant)}, is "
                   f"{money.described(value)}: more than {limit}, the largest amount fees.yaml "
                   "allows", "check the recruitment target (participants, e.g. 4500) and "
                   "the band prices (pounds per participant)")


def _band_issues(bands: tuple[BandTerms, ...], default_split: BandSplit | None,
                 prefix: YamlPath) -> Iterator[Issue]:
    """Bands ascending, without gaps or overlaps, percentages adding up to 100."""
    names: dict[str, int] = {}
    previous: BandTerms | None = None
    for item, band in enumerate(bands):
        path = (*prefix, "bands", item)
        if band.name in names:
            yield (path + ("name",), f"band {band.name!r} appears twice",
                   "give every band its own name (A, B, C, D)")
        names.setdefault(band.name, item)
        if band.max < band.min:
            yield (path + ("max",), f"band {band.name}: max {band.max} is below min {band.min}",
                   "a band holds participants min..max: make max at least min")
        if previous is None:
            if band.min not in (0, 1):
                yield (path + ("min",),
                       f"band {band.name}: the first band starts at {band.min}",
                       "the first band must start at 0 or 1 (participants are counted from 1)")
        elif band.min != previous.max + 1:
            gap = "overlaps" if band.min <= previous.max else "leaves a gap after"
            yield (path + ("min",),
                   (f"band {band.name}: min {band.min} {gap} band {previous.name} "
                   f"(max {previous.max})"),
                   f"start band {band.name} at {previous.max + 1} (the previous max + 1)")
        previous = band
        output = band.output_payment_percentage
        service = band.service_fee_percentage
        if default_split is not None:
            output = default_split.output_payment_percentage if output is None else output
            service = default_split.service_fee_percentage if service is None else service
        if output is not None and service is not None and output + service != HUNDRED:
            yield (path, (f"band {band.name}: output {_pct(output)} + service {_pct(service)} "
                         f"= {_pct(output + service)}, not 100%"),
                   "make output_payment_percentage and service_fee_percentage add up to 100")

# ------------------------------------------------------------- rulebook values


class Band(NamedTuple):
    """One price band of a contract, its percentages resolved (defaults from fees.yaml)."""

    name: str
    min: int
    max: int
    per_participant: Decimal
    output_payment_percentage: Decimal
    service_fee_percentage: Decimal
    #: the lowest participant number a band counts from (banding.yaml min_counts_from)
    min_counts_from: int = 1

    @property
    def capacity(self) -> int:
        """How many participants the band holds: max − max(min, 1) + 1
        (docs/domain.md "Banding")."""
        return max(self.max - max(self.min, self.min_counts_from) + 1, 0)

    @property
    def output_price(self) -> Decimal:
        """The output part of the price per participant (exact): £995 × 60% = 597."""
        return money.percent_of(self.per_participant, self.output_payment_percentage)

    @property
    def service_price(self) -> Decimal:
        """The service-fee part of the price per participant (exact): £995 × 40% = 398."""
        return money.percent_of(self.per_participant, self.service_fee_percentage)


class Contract(NamedTuple):
    """A call-off contract (README "Writing a contract") with resolved bands and its source."""

    lead_provider: str
    cohort: int
    vat_chargeable: bool
    recruitment_target: int
    set_up_fee: Decimal
    uplift_amount: Decimal | None
    monthly_service_fee: Decimal | None
    bands: tuple[Band, ...]
    mentor: MentorTerms | None
    source: Source
    #: VAT rate in per cent when VAT chargeable; None: the rulebook's (fees.yaml)
    vat_rate: Decimal | None = None
    #: DfE's name of this version of the terms (e.g. 0.0.3), when the contract gives it
    version: str | None = None
    #: the first statement (by name) with these terms; None for the contract's first terms
    effective_from: str | None = None
    #: the later versions, earliest first, each with its whole terms (their own
    #: ``versions`` empty); docs/rules.md "Contract versions"
    versions: tuple[Contract, ...] = ()

    def band(self, name: str) -> Band | None:
        return next((b for b in self.bands if b.name == name), None)

    @property
    def all_terms(self) -> tuple[Contract, ...]:
        """The first terms, then every later version."""
        return (self, *self.versions)

    @property
    def label(self) -> str:
        """How a version is named to a reader: DfE's version, else where it starts."""
        if self.version:
            return self.version
        return f"from {self.effective_from}" if self.effective_from else "first terms"


class Milestone(NamedTuple):
    declaration_type: str
    start_date: dt.date
    milestone_date: dt.date | None  # None: no date check (non-standard, 2025 schedules)
    payment_date: dt.date
    source: Source


class Schedule(NamedTuple):
    identifier: str
    cohort: int
    name: str
    family: str
    milestones: Mapping[str, Milestone]  # declaration_type -> milestone
    source: Source


class CalendarStatement(NamedTuple):
    """One statement of a cohort's calendar. ``cut_off_date`` is the one the
    calculation uses; ``original_cut_off_date`` is as written in calendars.yaml."""

    cohort: int
    name: str
    cut_off_date: dt.date
    payment_date: dt.date
    output_fee: bool
    source: Source
    faulty: bool = False
    original_cut_off_date: dt.date | None = None


class RuleSpec(NamedTuple):
    """One eligibility rule: ``when`` is the raw condition, checked by
    :mod:`reconcile.rulebook.conditions`; ``when_lines`` maps a path inside ``when``
    (``()`` for ``when`` itself) to its line in ``source.file``."""

    id: str
    description: str
    when: dict[str, Any]
    then: Classify | FindingSpec
    source: Source
    when_lines: dict[YamlPath, int]

# ------------------------------------------------------------------------ helpers


def _duplicates(values: Iterable[object], path: YamlPath, what: str) -> Iterator[Issue]:
    seen: set[object] = set()
    for item, value in enumerate(values):
        if value in seen:
            yield (path + (item,), f"{path[-1]}: {what} {value!r} appears twice",
                   "remove the second one")
        seen.add(value)


def did_you_mean(word: str, choices: Iterable[object], otherwise: str = "") -> str:
    """``did you mean 'retained-1'?`` when a choice is close, else ``otherwise``."""
    text = str(word)
    options = [str(c) for c in choices]
    close = difflib.get_close_matches(text, options, n=1, cutoff=0.7)
    starting = [o for o in options if len(text) >= 3 and o.startswith(text)]
    if not close and len(starting) == 1:  # dfe_29 -> dfe_29_payments
        close = starting
    if not close:
        lowered = {o.lower().replace("_", "-"): o for o in options}
        hit = lowered.get(text.lower().replace("_", "-"))
        close = [hit] if hit else []
    if close:
        return f"did you mean {close[0]!r}?"
    return otherwise


_did_you_mean = did_you_mean
