"""Findings: immutable records of what is wrong or worth knowing, collected, never raised.

A finding is produced by a stage (``READ`` reading the inputs, ``DECL`` validation
of declarations, ``CALC`` calculation, ``RECON`` comparison with DfE, ``CAL``
statement calendar, ``RULE`` the rules engine) and reported in the JSON, the workbook and on the terminal.

Codes are stable and catalogued here (:data:`CATALOGUE`); the eligibility rules of
``rules/eligibility.yaml`` carry their own codes, severities, messages and
suggestions in the YAML (the rulebook is their catalogue).

>>> f = finding("OUTPUT_COUNT_MISMATCH", "Band A started: DfE counts 9, we expect 10",
...             statement="May 2024", expected=10, actual=9, count=-1)
>>> f.severity, f.difference
(<Severity.ERROR: 'error'>, '-1')
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile.model import Source
from reconcile.money import round_money, show


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


#: a finding's expected or actual figure: money (``Decimal``, in pennies), a number of
#: declarations or a year (``int``), or words (a name, a date, a flag, an exact fee as
#: written). The JSON and the report turn it into text and cells; nothing parses it back.
Figure = Decimal | int | str

#: which line of a statement a finding is about (``LineComparison.key``): the section,
#: then what tells lines of the section apart (participant type, declaration type, band;
#: an adjustment's position)
LineKey = tuple[str | int | None, ...]


class Finding(NamedTuple):
    """One discrepancy, ineligible declaration or notice. Immutable.

    ``declaration_id`` names the declaration of a finding about one. A finding
    about a group (``CALC_OVER_CAPACITY``: every declaration of a type beyond the
    last band on a statement; moved, unknown-statement, clawback groups) lists the
    first few ids in its message and *all* of them in ``declaration_ids``, so
    ``reconcile explain ID`` and the Declarations sheet find it for each member.
    ``declaration_ids`` is not in :meth:`as_json`: a group can hold thousands of
    ids, and the JSON's ``declarations`` entries already mark each one (``unpaid``,
    its statement); the message keeps the JSON finding readable.

    The difference (DfE's figure minus ours) is typed by what it counts: ``amount``
    (money), ``count`` (declarations) or ``days``; at most one is set.
    :attr:`difference` is its text. ``line`` names the statement line for people;
    ``line_key`` (not in the JSON) says which line it is for the program.
    """

    code: str
    severity: Severity
    message: str
    suggestion: str = ""
    lead_provider: str | None = None
    cohort: int | None = None
    statement: str | None = None
    declaration_id: str | None = None
    line: str | None = None  # e.g. "output ect started band A"
    expected: Figure | None = None
    actual: Figure | None = None
    amount: Decimal | None = None  # DfE's money minus ours
    #: DfE's number of declarations minus ours
    count: int | None = None  # type: ignore[assignment]  # tuple.count is never called
    days: int | None = None  # DfE's date minus ours, in days
    source: Source | None = None
    rule: str | None = None  # rule id and file:line that produced it
    declaration_ids: tuple[str, ...] = ()  # every member of a grouped finding (not in JSON)
    line_key: LineKey | None = None  # the statement line it is about (not in JSON)

    @property
    def difference(self) -> str | None:
        """The difference as the JSON and the Findings sheet's words show it."""
        if self.amount is not None:
            return show(self.amount)
        if self.count is not None:
            return str(self.count)
        if self.days is not None:
            return f"{self.days} days"
        return None

    def as_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "lead_provider": self.lead_provider,
            "cohort": self.cohort,
            "statement": self.statement,
            "declaration_id": self.declaration_id,
            "line": self.line,
            "expected": figure_text(self.expected),
            "actual": figure_text(self.actual),
            "difference": self.difference,
            "message": self.message,
            "suggestion": self.suggestion,
            "source": str(self.source) if self.source else None,
            "rule": self.rule,
        }


def figure_text(value: Figure | None) -> str | None:
    """A figure as text: money with two decimals, a number as digits, words as they are."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return show(value)
    return str(value)


class CodeInfo(NamedTuple):
    stage: str
    severity: Severity
    title: str
    suggestion: str


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

#: Every finding code the program itself produces (rule-defined codes live in
#: rules/eligibility.yaml).
CATALOGUE: dict[str, CodeInfo] = {
    # --- several inputs (reconcile/read) ---
    "READ_SAME_DECLARATION_DIFFERS": CodeInfo(
        "READ", I, "The same declaration is in two files with different details",
        "Nothing is double-counted: the copy DfE updated last is used. Check the older file "
        "is not out of date, or leave it out."),
    "READ_SAME_STATEMENT_DIFFERS": CodeInfo(
        "READ", I, "The same DfE statement is in two files with different details",
        "Nothing is compared twice: the copy DfE updated last (else the later file) is used. "
        "Check the older file is not out of date, or leave it out."),
    "READ_SCHEDULE_NOT_GIVEN": CodeInfo(
        "READ", I, "Declarations with no schedule: their dates were not checked",
        "Give DfE's participants (--participants) or a schedule_identifier column."),
    "READ_UPLIFT_FLAGS_NOT_GIVEN": CodeInfo(
        "READ", I, "Started declarations with no uplift flags: no uplift expected on them",
        "Give DfE's participants (--participants), whose enrolments carry the pupil premium "
        "and sparsity flags, or pupil_premium_uplift and sparsity_uplift columns."),
    "READ_COHORT_NOT_GIVEN": CodeInfo(
        "READ", I, "Declarations that move no money have no cohort: left out",
        "Give DfE's participants (--participants) so they take their participant's cohort; "
        "nothing is paid on them either way."),
    "READ_OTHER_PROVIDERS": CodeInfo(
        "READ", I, "Declarations of other lead providers left out",
        "Nothing to do: --lead-provider names the provider this run is for."),
    "READ_TEXT_REPLACED": CodeInfo(
        "READ", W, "Text held characters no file can hold; they were replaced by \ufffd",
        "Control characters or broken Unicode came from the input (a damaged export?). "
        "The text is shown with \ufffd in their place: check it against the source and "
        "correct the input."),
    # --- statement calendar (rules/calendars.yaml, DfE statements) ---
    "CAL_CUTOFF_AFTER_PAYMENT": CodeInfo(
        "CAL", W, "Statement cut-off date is on or after its payment date",
        "The calendar row is probably a typo (DfE's own statement calendar has several). "
        "Ask DfE which cut-off applies; the tool uses the corrected date shown."),
    "CAL_CUTOFF_ON_PAYMENT_DATE": CodeInfo(
        "CAL", I, "Statement cut-off date is its payment date",
        "Plausible for a cohort's first statement; ask DfE if a declaration's statement "
        "depends on it."),
    "CAL_MILESTONE_AFTER_PAYMENT": CodeInfo(
        "CAL", I, "Schedule milestone date is after its payment date",
        "Check the schedule with DfE's published milestone dates."),
    "CAL_SCHEDULE_INCOMPLETE": CodeInfo(
        "CAL", I, "Schedule lacks one of the core milestones",
        "DfE's reference data has no such milestone for this schedule: check with DfE "
        "before submitting declarations of that type on it."),
    "CAL_NO_OUTPUT_STATEMENT": CodeInfo(
        "CAL", E, "No output-fee statement left for the declaration's cohort",
        "The cohort's funding contract has ended: DfE will not pay this declaration "
        "unless contract management agrees a manual adjustment."),
    # --- calculation ---
    "CALC_OVER_CAPACITY": CodeInfo(
        "CALC", W, "Declarations beyond the last band are not paid",
        "You are over your contracted volume for this declaration type. Talk to "
        "DfE contract management about a contract variation (a new band)."),
    "CALC_NO_CONTRACT": CodeInfo(
        "CALC", E, "No contract for the lead provider and cohort",
        "Add a contract YAML for this provider and cohort (reconcile template contract)."),
    "CALC_STATEMENT_MOVED": CodeInfo(
        "CALC", W, "Declaration is on a different statement than the calendar rule expects",
        "DfE attaches a declaration to the next output-fee statement after it was "
        "submitted (or became eligible). Check whether DfE moved it by script, and "
        "whether the amount will be paid on the later statement."),
    "CALC_UNKNOWN_STATEMENT": CodeInfo(
        "CALC", E, "Declaration names a statement that is not in the calendar",
        "Check the statement name or id against DfE's statements for the cohort."),
    "CALC_CLAWBACK_BAND_DIFFERS": CodeInfo(
        "CALC", I, "Clawback valued at a different band fee from the one originally paid",
        "DfE claws back from the top band filled, not at the fee originally paid. "
        "This is DfE's method; the difference is explained, not an error."),
    "CALC_CONTRACT_VERSION": CodeInfo(
        "CALC", I, "A new contract version applies from this statement",
        "No action needed if this matches your contract; the amounts of this statement "
        "and later ones use the new terms."),
    "CALC_SERVICE_FEE_REDUCED": CodeInfo(
        "CALC", W, "Service fee reduced: recruitment below the threshold of the target",
        "Recruitment is under the contract's threshold; check the reduction with DfE."),
    "CALC_CLAWBACK_STATEMENT_ASSUMED": CodeInfo(
        "CALC", I, "Clawback without a clawback statement: statement assumed",
        "Give clawback_statement_id or clawback_statement_name (from DfE's API or "
        "assurance report) so the clawback is placed where DfE put it."),
    "CALC_CLAWBACK_UNMATCHED": CodeInfo(
        "CALC", W, "Clawback with nothing paid left to come off",
        "The clawback's statement is before (or without) the statement that paid it. "
        "Check its statement and clawback statement with DfE."),
    "CALC_NO_FEE": CodeInfo(
        "CALC", W, "Billable declaration with no fee for its type",
        "rules/fees.yaml has no proportion for this declaration type under this "
        "payment scheme (or the contract has no mentor block for a flat-rate "
        "mentor); check the rules and the contract."),
    # --- reconciliation against DfE statements ---
    "OUTPUT_COUNT_MISMATCH": CodeInfo(
        "RECON", E, "Output payment count differs from DfE's",
        "Compare the declarations attached to this statement (Declarations sheet) "
        "with DfE's assurance report for it."),
    "OUTPUT_FEE_MISMATCH": CodeInfo(
        "RECON", E, "Fee per declaration differs from the contract",
        "Check the band prices of the contract version DfE used for this statement."),
    "OUTPUT_AMOUNT_MISMATCH": CodeInfo(
        "RECON", E, "Output payment amount differs from DfE's",
        "Check count and fee on this line; raise a query with DfE if both match."),
    "CLAWBACK_COUNT_MISMATCH": CodeInfo(
        "RECON", E, "Clawback count differs from DfE's",
        "List the voided paid declarations with this clawback statement and compare."),
    "CLAWBACK_AMOUNT_MISMATCH": CodeInfo(
        "RECON", E, "Clawback amount differs from DfE's",
        "Check the band the clawback was taken from (top band filled first)."),
    "UPLIFT_MISMATCH": CodeInfo(
        "RECON", E, "Uplift fees differ from DfE's",
        "Check the pupil premium and sparsity flags of the started declarations."),
    "UPLIFT_CLAWBACK_MISMATCH": CodeInfo(
        "RECON", E, "Uplift clawbacks differ from DfE's",
        "Check the flags of the clawed-back started declarations."),
    "CONTRACT_VERSION_DIFFERS": CodeInfo(
        "RECON", W, "DfE's statement names another contract version than ours",
        "Check which terms DfE applied to this statement; add or correct the version "
        "(its 'from' statement and 'version') in the contract file."),
    "SERVICE_FEE_MISMATCH": CodeInfo(
        "RECON", E, "Service fee differs from DfE's",
        "Check the contract version (recruitment target, set-up fee, monthly fee)."),
    "VAT_NOT_GIVEN": CodeInfo(
        "RECON", W, "DfE's statement as given has no VAT and no total",
        "Add DfE's VAT line (or the statement's total, VAT included) to compare the VAT."),
    "VAT_MISMATCH": CodeInfo(
        "RECON", E, "VAT differs from DfE's",
        "Check whether the provider is VAT chargeable in the contract."),
    "TOTAL_MISMATCH": CodeInfo(
        "RECON", E, "Statement total differs from DfE's",
        "See the line findings of this statement; the total follows from them."),
    "HIDDEN_RECONCILE_AMOUNT": CodeInfo(
        "RECON", W, "DfE's total differs from the sum of its own lines",
        "DfE's statement total includes an amount not shown as a line (a "
        "'reconcile amount'). Ask DfE contract management what it corrects."),
    "UNEXPLAINED_ADJUSTMENT": CodeInfo(
        "RECON", I, "Additional adjustment on DfE's statement",
        "Manual adjustments are not computed from declarations: confirm the reason "
        "with DfE and record it."),
    "STATEMENT_MISSING_FROM_DFE": CodeInfo(
        "RECON", E, "Expected statement not found in DfE's statements",
        "Check that DfE's statement list is complete for the cohort."),
    "STATEMENT_NOT_EXPECTED": CodeInfo(
        "RECON", W, "DfE statement with no expected counterpart",
        "Check the cohort and name; the calendar may have changed."),
    "LINE_MISSING_FROM_DFE": CodeInfo(
        "RECON", E, "Expected line not on DfE's statement",
        "Ask DfE why the declarations of this line are not on the statement."),
    "LINE_NOT_EXPECTED": CodeInfo(
        "RECON", E, "DfE line with no expected counterpart",
        "Check which declarations DfE counted on this line (assurance report)."),
    "DECLARATION_PAID_TWICE": CodeInfo(
        "RECON", E, "Two billable declarations for one participant and type",
        "Void the duplicate; DfE should make it ineligible (reason duplicate)."),
    "CLAWBACK_OTHER_COHORT": CodeInfo(
        "RECON", E, "Clawback on a statement of another cohort",
        "A clawback belongs to a statement of the declaration's own cohort; ask DfE to move it."),
    "CLAWBACK_BEFORE_PAYMENT": CodeInfo(
        "RECON", E, "Clawback on a statement earlier than the one that paid it",
        "A clawback must follow the payment; ask DfE to move it to a later statement."),
    # --- reconciliation (added by the compare stage) ---
    "CLAWBACK_FEE_MISMATCH": CodeInfo(
        "RECON", E, "Clawback fee per declaration differs from the band fee",
        "Check which band DfE took the clawback from (top band filled first) and "
        "the band prices of the contract version DfE used."),
    "ADJUSTMENT_MISMATCH": CodeInfo(
        "RECON", W, "Additional adjustments differ from the expected adjustments",
        "Confirm each adjustment with DfE contract management."),
    "STATEMENT_DATES_DIFFER": CodeInfo(
        "RECON", W, "DfE statement dates differ from the statement calendar",
        "Declarations submitted between the two dates land on a different statement: "
        "ask DfE which dates apply and update rules/calendars.yaml if DfE's are right."),
    "STATEMENT_OUTPUT_FEE_DIFFERS": CodeInfo(
        "RECON", W, "DfE statement's output-fee flag differs from the calendar",
        "Only output-fee statements carry declarations: check the calendar with DfE."),
    "STATEMENT_DUPLICATE_IN_DFE": CodeInfo(
        "RECON", E, "DfE's statements list the same statement twice",
        "Remove the duplicate from the DfE statements file (only the first is compared)."),
    "STATEMENTS_NOT_COVERED": CodeInfo(
        "RECON", I, "Statements not compared: the assurance reports given do not cover them",
        "Give DfE's assurance reports of every earlier output-fee statement of the cohort "
        "too (or the full API pull) to compare these."),
    "STATEMENTS_NOT_COMPARED": CodeInfo(
        "RECON", I, "Expected statements outside the DfE statements given",
        "Add DfE's statements for these months to the DfE statements file to compare them."),
    # --- delivery-partner split ---
    "SPLIT_NO_DELIVERY_PARTNER": CodeInfo(
        "SPLIT", W, "Declaration has no delivery partner",
        "Add delivery_partner_id to the declaration; until then its money is shown "
        "in the 'unassigned' row."),
    "SPLIT_UNATTRIBUTED_AMOUNT": CodeInfo(
        "SPLIT", W, "Statement money with no declaration behind it in the calculation",
        "It is shown in the 'unassigned' row. This is a gap in the calculation, not in "
        "your data: report it with the input files."),
    "SPLIT_DFE_NOT_PRORATED": CodeInfo(
        "SPLIT", W, "DfE's net cannot be divided in proportion to an expected net of £0.00",
        "The lead provider's share holds all of DfE's net for the statement. Find out "
        "with DfE what it paid for before passing any of it on to partners."),
    "SPLIT_PARTNER_NOT_IN_FILE": CodeInfo(
        "SPLIT", W, "A delivery partner of the declarations is not in the partners file",
        "Add a row for it to the partners file (delivery partner id, name, email, "
        "address); until then its remittance is headed with what the declarations say."),
    # --- history (reconcile/history/): what changed since the previous run ---
    "HISTORY_PAID_STATEMENT_CHANGED": CodeInfo(
        "HIST", E, "A paid DfE statement changed after it was paid",
        "DfE recomputes statements when they are viewed, so a paid one can change. Ask "
        "DfE contract management why, and whether the difference will be paid or "
        "recovered on a later statement. The Changes sheet lists each line that moved."),
    # --- rules engine (reconcile/rulebook/engine.py) ---
    "RULE_ENGINE_ERROR": CodeInfo(
        "RULE", W, "The durable-rules engine failed on some declarations",
        "The pure-Python engine's answer (the same rules) was used for them, so the "
        "results stand. To avoid durable-rules altogether, run with --engine python."),
}


def finding(code: str, message: str, suggestion: str | None = None, *,
            severity: Severity | None = None, **where: Any) -> Finding:
    """A finding of a catalogued code; the catalogue supplies severity and suggestion.

    Money (``expected``, ``actual``, ``amount``) is kept in pennies, as it is shown.
    """
    info = CATALOGUE.get(code)
    if info is None:
        raise KeyError(f"finding code {code!r} is not in the catalogue")
    for name in ("expected", "actual", "amount"):
        value = where.get(name)
        if isinstance(value, Decimal):
            where[name] = round_money(value)
    return Finding(code, severity or info.severity, message,
                   info.suggestion if suggestion is None else suggestion, **where)


def sort_key(f: Finding) -> tuple[object, ...]:
    """Severity first, then the size of the difference (largest first), then place."""
    size = abs(f.amount) if f.amount is not None else abs(f.count or 0)
    return (f.severity.rank, -size, f.lead_provider or "",
            f.cohort or 0, f.statement or "", f.code, f.declaration_id or "")
