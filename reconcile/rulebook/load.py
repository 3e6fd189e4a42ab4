"""Load the rulebook: every rules file and contract, validated, or every problem at once.

Stage: rules, the first of the pipeline and the single gate for rules data.
In: a rules folder (default: the bundled ``rules/``, :func:`reconcile.paths.bundled_rules_dir`)
and contract files or folders (``--contracts``; ``RULES/contracts/*.yaml`` are always read).
Out: a frozen :class:`Rulebook`, or one :class:`~reconcile.errors.RuleError` listing every
problem of every file as ``file:line: what is wrong — how to fix``.

How: each file is parsed with line numbers (:mod:`reconcile.rulebook.yamlsrc`),
validated by its pydantic model (:mod:`reconcile.rulebook.schema`; a pydantic
error's ``loc`` is mapped back to the line it points at), then checked for what a
type cannot say (sums to 100%, contiguous bands) and against the other files
(declaration types of fees.yaml and schedules.yaml exist in vocabulary.yaml, ...).
Finally every rule's ``when:`` is type-checked against the fact vocabulary by
:func:`reconcile.rulebook.conditions.validate_rule_conditions`. Problems pile up;
nothing is raised until every file has been looked at.

Files: ``vocabulary.yaml``, ``fees.yaml``, ``banding.yaml``, ``service_fee.yaml``,
``eligibility.yaml``, ``schedules.yaml``, ``calendars.yaml`` are required;
``split.yaml`` and ``contracts/`` are optional. Any other file in the folder is
ignored (a folder may hold notes); a required file that is missing is an error that
names it, and suggests a similarly named file found instead (``fee.yaml``).

Faulty calendar and schedule rows are not errors: they load and become
:class:`~reconcile.findings.Finding` records in :attr:`Rulebook.findings`.

Example::

    rulebook = load_rulebook()                       # the bundled rules
    rulebook.fees.proportion("started")              # Decimal('20')
    rulebook.contract_for("Example Teaching Institute", 2023).bands[0].output_price
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import types
import typing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconcile import findings as _findings
from reconcile.errors import Problem, RuleError
from reconcile.findings import Finding
from reconcile.model import ContractKey, Source
from reconcile.paths import BUNDLED_RULES_NAME, bundled_rules_dir
from reconcile.rulebook import schema
from reconcile.rulebook.schema import (
    Band,
    BandingFile,
    CalendarsFile,
    CalendarStatement,
    Classify,
    Contract,
    ContractFile,
    EligibilityFile,
    FeesFile,
    FindingSpec,
    Milestone,
    RuleSpec,
    Schedule,
    SchedulesFile,
    ServiceFeeFile,
    VocabularyFile,
    did_you_mean,
)
from reconcile.rulebook.split_schema import SplitPolicy, split_policy_from
from reconcile.rulebook.yamlsrc import Located, YamlPath, parse_yaml
from reconcile.rulebook.conditions import validate_rule_conditions

__all__ = ["Band", "CalendarStatement", "Classify", "Contract", "FindingSpec", "Milestone",
           "RuleSpec", "Rulebook", "Schedule", "load_rulebook"]

#: the required files of a rules folder and their models, in loading order
REQUIRED_FILES: dict[str, type[BaseModel]] = {
    "vocabulary.yaml": VocabularyFile,
    "fees.yaml": FeesFile,
    "banding.yaml": BandingFile,
    "service_fee.yaml": ServiceFeeFile,
    "eligibility.yaml": EligibilityFile,
    "schedules.yaml": SchedulesFile,
    "calendars.yaml": CalendarsFile,
}
#: optional files, validated by the schema of the stage that uses them
OPTIONAL_FILES = ("split.yaml",)
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Rulebook:
    """Every rule the calculation uses, validated. Immutable (mappings are not
    copied: treat them as read-only)."""

    directory: Path
    files: tuple[tuple[str, str], ...]  # (display path, sha256) of every file read
    vocabulary: VocabularyFile
    fees: FeesFile
    banding: BandingFile
    service_fee: ServiceFeeFile
    rules: tuple[RuleSpec, ...]
    schedules: dict[tuple[str, int], Schedule]  # (schedule identifier, cohort) ->
    calendar: dict[int, tuple[CalendarStatement, ...]]  # cohort -> by payment date
    contracts: dict[ContractKey, Contract]  # (lead provider, cohort) ->
    calendar_policy: schema.CalendarPolicy
    split: SplitPolicy | None = None  # rules/split.yaml, when the folder has one
    findings: tuple[Finding, ...] = ()
    #: what loading noticed that is not a problem (a given contract shadowing one of
    #: the rules folder's, for the same provider and cohort)
    notes: tuple[str, ...] = ()
    _contract_index: dict[tuple[str, int], Contract] = field(default_factory=dict, repr=False,
                                                             compare=False)

    def contract_for(self, lead_provider: str | None, cohort: int) -> Contract | None:
        """The contract of a provider and cohort; the provider's name is matched ignoring
        case and extra spaces. With no provider (a declarations file of one provider),
        the contract of the cohort when every contract belongs to a single provider."""
        if lead_provider is None:
            providers = {_provider_key(p) for p, _ in self.contracts}
            if len(providers) != 1:
                return None
            lead_provider = next(iter(self.contracts))[0]
        return self._contract_index.get((_provider_key(lead_provider), cohort))

    def schedule_for(self, identifier: str | None, cohort: int) -> Schedule | None:
        return None if identifier is None else self.schedules.get((identifier, cohort))

    def statements_for(self, cohort: int) -> tuple[CalendarStatement, ...]:
        """The cohort's statements in payment-date order (empty if it has no calendar)."""
        return self.calendar.get(cohort, ())

    def rule(self, rule_id: str) -> RuleSpec | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def summary(self) -> str:
        rows = [s for statements in self.calendar.values() for s in statements]
        faulty = sum(s.faulty for s in rows)
        corrected = sum(s.cut_off_date != s.original_cut_off_date for s in rows)
        parts = [
            f"{len(self.rules)} eligibility rules",
            f"{len(self.schedules)} schedules",
            f"{len(rows)} calendar statements for {len(self.calendar)} cohorts"
            + (f" ({faulty} faulty, {corrected} cut-offs corrected)" if faulty else ""),
            f"{len(self.contracts)} contract(s)",
            f"service fee policy {self.service_fee.selected}",
        ]
        if self.findings:
            parts.append(f"{len(self.findings)} notice(s) about the reference data")
        return ", ".join(parts)


def _provider_key(name: str) -> str:
    return " ".join(name.split()).casefold()

# --------------------------------------------------------------------- the loader


class _Reader:
    """Reads and validates files, collecting problems and file hashes."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.files: list[tuple[str, str]] = []

    def read(self, path: Path, display: str) -> Located | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            self.problems.append(Problem(Source(display), "file not found", "check the path"))
            return None
        except OSError as exc:
            self.problems.append(Problem(Source(display), f"cannot be read: {exc.strerror}",
                                         "check the path and permissions"))
            return None
        self.files.append((display, hashlib.sha256(raw).hexdigest()))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.problems.append(Problem(Source(display), f"not UTF-8 text ({exc.reason})",
                                         "save the file as UTF-8"))
            return None
        try:
            located = parse_yaml(text, display)
        except RuleError as error:
            self.problems.extend(error.problems)
            return None
        if located.data is None:
            self.problems.append(Problem(Source(display, line=1), "the file is empty",
                                         "write the rules in it, or copy the bundled file"))
            return None
        return located

    def validate(self, model: type[BaseModel], located: Located | None) -> Any:
        if located is None:
            return None
        try:
            return model.model_validate(located.data)
        except ValidationError as error:
            for item in error.errors(include_url=False):
                path = _document_path(item["loc"], located)
                what, fix = _explain(item, model, located)
                self.problems.append(Problem(Source(located.file, line=located.line_of(path)),
                                             what, fix))
            return None

    def issues(self, located: Located, issues: Iterable[schema.Issue]) -> int:
        count = 0
        for path, what, fix in issues:
            self.problems.append(Problem(located.source(path), what, fix))
            count += 1
        return count


def load_rulebook(rules_dir: Path | None = None, contracts: Sequence[Path] = (), *,
                  example_contracts: bool = True) -> Rulebook:
    """Load and validate the rulebook in ``rules_dir`` (default: the bundled rules)
    and the contracts in ``rules_dir/contracts/`` and ``contracts`` (files or folders).

    The bundled rules' ``contracts/`` hold example contracts (Example Teaching
    Institute): ``example_contracts=False`` leaves them out (a user's run, whose
    contracts are the ones given); a ``rules_dir`` of the user's own always has its
    ``contracts/`` read. A contract given in ``contracts`` for the same provider and
    cohort as one in ``rules_dir/contracts/`` shadows it, with a note.

    Raises :class:`RuleError` with every problem found in every file.
    """
    if rules_dir is None:
        directory = bundled_rules_dir()
        shown = BUNDLED_RULES_NAME  # not its path here: outputs never depend on that
    else:
        directory = Path(rules_dir)
        shown = str(rules_dir)
    if not directory.is_dir():
        raise RuleError([Problem(Source(shown), "rules folder not found",
                                 "give an existing folder, or leave it out to use the bundled "
                                 "rules")])
    reader = _Reader()
    present = {p.name for p in directory.iterdir() if p.is_file()}
    docs: dict[str, Located | None] = {}
    models: dict[str, Any] = {}
    for name, model in REQUIRED_FILES.items():
        display = _join(shown, name)
        if name not in present:
            stray = sorted(p for p in present if p.endswith(YAML_SUFFIXES)
                           and p not in REQUIRED_FILES and p not in OPTIONAL_FILES)
            hint = did_you_mean(name, stray, "")
            hint = (f"{hint} Rename it to {name}" if hint
                    else f"every rules folder needs {name}: copy it from the bundled rules")
            reader.problems.append(Problem(Source(display), "required rules file is missing", hint))
            docs[name] = None
            continue
        docs[name] = reader.read(directory / name, display)
        models[name] = reader.validate(model, docs[name])

    vocabulary: VocabularyFile | None = models.get("vocabulary.yaml")
    fees: FeesFile | None = models.get("fees.yaml")
    banding: BandingFile | None = models.get("banding.yaml")
    service_fee: ServiceFeeFile | None = models.get("service_fee.yaml")
    eligibility: EligibilityFile | None = models.get("eligibility.yaml")
    schedules_file: SchedulesFile | None = models.get("schedules.yaml")
    calendars_file: CalendarsFile | None = models.get("calendars.yaml")

    if vocabulary is not None:
        reader.issues(_doc(docs, "vocabulary.yaml"), vocabulary.issues())
    if fees is not None:
        reader.issues(_doc(docs, "fees.yaml"), fees.issues(vocabulary))
    if banding is not None:
        reader.issues(_doc(docs, "banding.yaml"), banding.issues(vocabulary))
    if service_fee is not None:
        reader.issues(_doc(docs, "service_fee.yaml"), service_fee.issues())
    if eligibility is not None:
        reader.issues(_doc(docs, "eligibility.yaml"), eligibility.issues())
    if schedules_file is not None:
        reader.issues(_doc(docs, "schedules.yaml"), schedules_file.issues(vocabulary))
    if calendars_file is not None:
        reader.issues(_doc(docs, "calendars.yaml"), calendars_file.issues())
    _cross_checks(reader, docs, vocabulary, fees, eligibility, schedules_file)

    rules = _rule_specs(eligibility, docs.get("eligibility.yaml"))
    if eligibility is None:  # still check the conditions of the rules that are sound
        rules = _sound_rule_specs(docs.get("eligibility.yaml"))
    if rules:  # without a sound vocabulary, enumerated fields are checked as open
        reader.problems.extend(_condition_problems(rules, vocabulary))

    notices: list[Finding] = []
    schedules = _schedules(schedules_file, docs.get("schedules.yaml"), fees, notices)
    calendar = _calendar_statements(calendars_file, docs.get("calendars.yaml"), notices)
    folder_contracts = rules_dir is not None or example_contracts
    notes: list[str] = []
    loaded_contracts = _contracts(reader, directory if folder_contracts else None, shown,
                                  contracts, fees, banding, notes, calendar)
    split = _split_policy(reader, directory, shown, present, vocabulary)

    if reader.problems:
        raise RuleError(reader.problems)
    assert vocabulary and fees and banding and service_fee and calendars_file  # for type checkers
    index = {(_provider_key(c.lead_provider), c.cohort): c for c in loaded_contracts.values()}
    return Rulebook(
        directory=directory, files=tuple(reader.files), vocabulary=vocabulary, fees=fees,
        banding=banding, service_fee=service_fee, rules=rules, schedules=schedules,
        calendar=calendar, contracts=loaded_contracts, calendar_policy=calendars_file.policy,
        split=split, findings=tuple(notices), notes=tuple(notes), _contract_index=index)


def _join(folder: str, name: str) -> str:
    return str(Path(folder) / name)

# ----------------------------------------------------------------- cross checks


def _doc(docs: dict[str, Located | None], name: str) -> Located:
    """A rules file that was read (its model validated: so it was)."""
    located = docs[name]
    assert located is not None, name
    return located



def _cross_checks(reader: _Reader, docs: dict[str, Located | None],
                  vocabulary: VocabularyFile | None,
                  fees: FeesFile | None, eligibility: EligibilityFile | None,
                  schedules_file: SchedulesFile | None) -> None:
    """What one file says about another: names must exist where they are defined."""
    if vocabulary is not None and schedules_file is not None:
        identifiers = sorted({s.identifier for s in schedules_file.schedules})
        if vocabulary.default_schedule is not None and \
                vocabulary.default_schedule not in identifiers:
            reader.problems.append(Problem(
                _doc(docs, "vocabulary.yaml").source(("default_schedule",)),
                f"default_schedule: {vocabulary.default_schedule!r} is not a schedule of "
                "schedules.yaml",
                did_you_mean(vocabulary.default_schedule, identifiers,
                             "name one of: " + ", ".join(identifiers))))
    if fees is not None and eligibility is not None:
        rule_id = fees.uplift.eligibility_rule
        rule = next((r for r in eligibility.rules if r.id == rule_id), None)
        if rule is None or not (isinstance(rule.then, Classify) and rule.then.label == "uplift"):
            uplift_rules = [r.id for r in eligibility.rules
                            if isinstance(r.then, Classify) and r.then.label == "uplift"]
            reader.problems.append(Problem(
                _doc(docs, "fees.yaml").source(("uplift", "eligibility_rule")),
                f"uplift.eligibility_rule: {rule_id!r} is not a rule of eligibility.yaml that "
                "classifies 'uplift'",
                did_you_mean(rule_id, uplift_rules,
                             "name the rule with 'then: {classify: uplift}'"
                             + (f" ({', '.join(uplift_rules)})" if uplift_rules else ""))))


def _rule_specs(eligibility: EligibilityFile | None, located: Located | None
                ) -> tuple[RuleSpec, ...]:
    if eligibility is None or located is None:
        return ()
    return tuple(_rule_spec(rule, item, located) for item, rule in enumerate(eligibility.rules))


def _rule_spec(rule: schema.RuleEntry, item: int, located: Located) -> RuleSpec:
    """The rule at ``rules[item]`` with its line and the lines of its ``when:`` nodes."""
    prefix = ("rules", item, "when")
    width = len(prefix)
    when_lines = {path[width:]: line for path, line in located.lines.items()
                  if path[:width] == prefix}
    return RuleSpec(rule.id, rule.description, rule.when, rule.then,
                    located.source(("rules", item)), when_lines)


def _sound_rule_specs(located: Located | None) -> tuple[RuleSpec, ...]:
    """RuleSpecs of the rules that validate on their own, when the file as a whole does
    not: their conditions are checked too, so one run reports every problem."""
    if located is None or not isinstance(located.data, dict):
        return ()
    raw_rules = located.data.get("rules")
    if not isinstance(raw_rules, list):
        return ()
    specs = []
    seen: set[str] = set()
    for item, raw in enumerate(raw_rules):
        try:
            rule = schema.RuleEntry.model_validate(raw)
        except ValidationError:
            continue  # already reported by the file's validation
        if rule.id in seen:
            continue
        seen.add(rule.id)
        specs.append(_rule_spec(rule, item, located))
    return tuple(specs)


def _condition_problems(rules: tuple[RuleSpec, ...], vocabulary: VocabularyFile | None
                        ) -> list[Problem]:
    """The engine's type check of every ``when:`` (reconcile.rulebook.conditions)."""
    return list(validate_rule_conditions(rules, vocabulary))


# --------------------------------------------------------- schedules, calendars


def _schedules(schedules_file: SchedulesFile | None, located: Located | None,
               fees: FeesFile | None, notices: list[Finding]
               ) -> dict[tuple[str, int], Schedule]:
    if schedules_file is None or located is None:
        return {}
    schedules: dict[tuple[str, int], Schedule] = {}
    for item, entry in enumerate(schedules_file.schedules):
        milestones = {}
        for number, row in enumerate(entry.milestones):
            source = located.source(("schedules", item, "milestones", number))
            milestones[row.declaration_type] = Milestone(row.declaration_type, row.start, row.end,
                                                         row.payment, source)
            if row.end is not None and row.end > row.payment:
                notices.append(_findings.finding(
                    "CAL_MILESTONE_AFTER_PAYMENT",
                    f"Schedule {entry.identifier} (cohort {entry.cohort}): the {row.declaration_type}"
                    f" milestone date {row.end} is after its payment date {row.payment} "
                    "(as in DfE's reference data).",
                    cohort=entry.cohort, source=source))
        source = located.source(("schedules", item))
        if fees is not None:
            missing = [t for t in fees.core_milestones if t not in milestones]
            if missing:
                notices.append(_findings.finding(
                    "CAL_SCHEDULE_INCOMPLETE",
                    f"Schedule {entry.identifier} (cohort {entry.cohort}) has no "
                    f"{', '.join(missing)} milestone (as in DfE's reference data): such "
                    "declarations are reported as not in the schedule.",
                    cohort=entry.cohort, source=source))
        schedules[(entry.identifier, entry.cohort)] = Schedule(
            entry.identifier, entry.cohort, entry.name, entry.family, milestones, source)
    return schedules


def _month_end_before(day: dt.date) -> dt.date:
    """The last day of the month before ``day``'s month (the pattern of sound rows)."""
    return day.replace(day=1) - dt.timedelta(days=1)


def _calendar_statements(calendars_file: CalendarsFile | None, located: Located | None,
                         notices: list[Finding]
                         ) -> dict[int, tuple[CalendarStatement, ...]]:
    if calendars_file is None or located is None:
        return {}
    policy = calendars_file.policy
    calendar: dict[int, tuple[CalendarStatement, ...]] = {}
    for cohort, rows in calendars_file.cohorts.items():
        statements = []
        for item, row in enumerate(rows):
            source = located.source(("cohorts", cohort, item))
            cut_off = row.cut_off
            faulty = row.cut_off >= row.payment  # docs/domain.md "Statement": typos
            if faulty:
                same_day = row.cut_off == row.payment
                action = policy.same_day_cut_off if same_day else policy.faulty_cut_off
                if action == "correct":
                    cut_off = _month_end_before(row.payment)
                used = (f"the calculation uses {cut_off}" if cut_off != row.cut_off
                        else "the calculation uses it as written")
                notices.append(_findings.finding(
                    "CAL_CUTOFF_ON_PAYMENT_DATE" if same_day else "CAL_CUTOFF_AFTER_PAYMENT",
                    f"Statement {row.name} (cohort {cohort}): cut-off {row.cut_off} is "
                    f"{'on' if same_day else 'after'} its payment date {row.payment}; {used} "
                    f"(calendars.yaml policy "
                    f"{'same_day_cut_off' if same_day else 'faulty_cut_off'}: {action}).",
                    cohort=cohort, statement=row.name, source=source))
            statements.append(CalendarStatement(cohort, row.name, cut_off, row.payment,
                                                row.output_fee, source, faulty,
                                                row.cut_off))
        statements.sort(key=lambda s: s.payment_date)
        calendar[cohort] = tuple(statements)
    return calendar

# -------------------------------------------------------------------- contracts


def _contract_paths(reader: _Reader, directory: Path | None, shown: str,
                    extra: Sequence[Path]) -> list[tuple[Path, str, bool]]:
    """(path, as shown, given with --contracts) of every contract file to read."""
    found: list[tuple[Path, str, bool]] = []
    seen: set[Path] = set()

    def add(path: Path, display: str, given: bool = True) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append((path, display, given))

    folder = directory / "contracts" if directory is not None else None
    if folder is not None and folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in YAML_SUFFIXES:
                add(path, _join(_join(shown, "contracts"), path.name), False)
    for given in extra:
        given = Path(given)
        if given.is_dir():
            inside = sorted(p for p in given.iterdir() if p.is_file() and p.suffix in YAML_SUFFIXES)
            if not inside:
                reader.problems.append(Problem(Source(str(given)), "no contract YAML in this folder",
                                               "give a folder holding *.yaml contracts, or a file"))
            for path in inside:
                add(path, str(path))
        elif given.is_file():
            add(given, str(given))
        else:
            reader.problems.append(Problem(Source(str(given)), "contracts file or folder not found",
                                           "check the --contracts path"))
    return found


def _contract_terms(terms: dict[str, Any], split: schema.BandSplit, floor: int,
                    header: ContractFile,
                    source: Source, **extra: Any) -> Contract:
    """A rulebook Contract from one version's whole terms (band percentages resolved)."""
    bands = tuple(Band(b.name, b.min, b.max, b.per_participant,
                       split.output_payment_percentage if b.output_payment_percentage is None
                       else b.output_payment_percentage,
                       split.service_fee_percentage if b.service_fee_percentage is None
                       else b.service_fee_percentage, floor)
                  for b in terms["bands"])
    return Contract(header.lead_provider, header.cohort, terms["vat_chargeable"],
                    terms["recruitment_target"], terms["set_up_fee"], terms["uplift_amount"],
                    terms["monthly_service_fee"], bands, terms["mentor"], source,
                    terms["vat_rate"], **extra)


def _version_issues(terms: ContractFile, located: Located,
                    calendar: dict[int, tuple[CalendarStatement, ...]]
                    ) -> Iterator[schema.Issue]:
    """Each version's ``from`` names a statement of the cohort's calendar, in order.

    A cohort without a calendar in the rulebook takes DfE's statements as its calendar:
    its versions are checked when the calculation builds it.
    """
    rows = calendar.get(terms.cohort)
    if not rows:
        return
    by_name = {" ".join(r.name.split()).casefold(): r for r in rows}
    previous = None
    for item, version in enumerate(terms.versions):
        path = ("versions", item, "from")
        row = by_name.get(" ".join(version.from_.split()).casefold())
        if row is None:
            names = [r.name for r in rows]
            yield (path, f"versions: {version.from_!r} is not a statement of cohort "
                   f"{terms.cohort}'s calendar",
                   did_you_mean(version.from_, names,
                                f"name the first statement with these terms as calendars.yaml "
                                f"does, from {names[0]} to {names[-1]}"))
            continue
        if previous is not None and row.payment_date <= previous.payment_date:
            yield (path, f"versions: {row.name} (paid {row.payment_date}) comes after "
                   f"{previous.name} (paid {previous.payment_date}) in the list",
                   "list the versions in payment-date order, earliest first; each starts "
                   "a later statement than the one before")
        previous = row


def _contracts(reader: _Reader, directory: Path | None, shown: str, extra: Sequence[Path],
               fees: FeesFile | None, banding: BandingFile | None,
               notes: list[str] | None = None,
               calendar: dict[int, tuple[CalendarStatement, ...]] | None = None
               ) -> dict[ContractKey, Contract]:
    contracts: dict[ContractKey, Contract] = {}
    first_seen: dict[tuple[str, int], Contract] = {}
    from_folder: set[tuple[str, int]] = set()
    split = fees.band_split if fees is not None else None
    floor = banding.min_counts_from if banding is not None else 1
    for path, display, given in _contract_paths(reader, directory, shown, extra):
        located = reader.read(path, display)
        terms: ContractFile | None = reader.validate(ContractFile, located)
        if terms is None or located is None:
            continue
        if (reader.issues(located, terms.issues(split))
                + (reader.issues(located, terms.money_issues(fees.largest_amount))
                   if fees is not None else 0)
                + reader.issues(located, _version_issues(terms, located, calendar or {}))
                or split is None):
            continue
        versions = tuple(
            _contract_terms(whole, split, floor, terms, located.source(("versions", item)),
                            version=version.version, effective_from=version.from_)
            for item, (version, whole) in enumerate(zip(terms.versions,
                                                        terms.version_terms())))
        contract = _contract_terms(terms.terms(), split, floor, terms, located.source(),
                                   version=terms.version, versions=versions)
        key = (_provider_key(contract.lead_provider), contract.cohort)
        if key in first_seen and given and key in from_folder:
            # a contract given with --contracts is the run's: it shadows the rules folder's
            other = first_seen[key]
            del contracts[(other.lead_provider, other.cohort)]
            from_folder.discard(key)
            if notes is not None:
                notes.append(f"the contract {display} ({contract.lead_provider}, cohort "
                             f"{contract.cohort}) is used instead of {other.source.file}")
        elif key in first_seen:
            other = first_seen[key]
            reader.problems.append(Problem(
                located.source(("lead_provider",)),
                f"a second contract for {contract.lead_provider}, cohort {contract.cohort} "
                f"(the first is {other.source})",
                "keep one contract per lead provider and cohort: remove or correct one of them"))
            continue
        first_seen[key] = contract
        if not given:
            from_folder.add(key)
        contracts[(contract.lead_provider, contract.cohort)] = contract
    return contracts

# -------------------------------------------------------------- split policy


def _split_policy(reader: _Reader, directory: Path, shown: str, present: set[str],
                  vocabulary: VocabularyFile | None) -> SplitPolicy | None:
    """``split.yaml`` (optional), validated by the split stage's own schema."""
    name = "split.yaml"
    if name not in present:
        return None
    located = reader.read(directory / name, _join(shown, name))
    if located is None:
        return None
    try:
        return split_policy_from(located, vocabulary.declaration_types if vocabulary else ())
    except RuleError as error:
        reader.problems.extend(error.problems)
        return None

# ------------------------------------------------ pydantic errors -> plain words


def _document_path(loc: YamlPath, located: Located) -> YamlPath:
    """The part of a pydantic ``loc`` that exists in the document (drops union tags
    and ``[key]`` markers), so that ``line_of`` finds the exact line."""
    path: YamlPath = ()
    for part in loc:
        candidate = path + (part,)
        if candidate in located.lines:
            path = candidate
    return path


def _plain(loc: Iterable[Any], located: Located | None = None) -> str:
    """A pydantic ``loc`` in words: keys joined by '.', a list item named by its id or
    name when it has one (``rules[billable].then.classify``, ``bands[B].min``); union
    tags and plain indexes are left out (the line number locates the item)."""
    parts: list[str] = []
    path: YamlPath = ()
    for part in loc:
        if located is not None:
            candidate = path + (part,)
            if candidate not in located.lines:
                if isinstance(part, str) and _is_field_name(part):
                    parts.append(part)  # a missing key: not in the document
                continue  # a union tag or a [key] marker
            path = candidate
        if isinstance(part, int) and not isinstance(part, bool) and not _in_mapping(
                located, path):
            label = _item_label(located, path) if located is not None else None
            if label and parts:
                parts[-1] += f"[{label}]"
            continue
        parts.append(str(part))
    return ".".join(parts)


def _in_mapping(located: Located | None, path: YamlPath) -> bool:
    """Whether the last part of ``path`` is a mapping key (e.g. a cohort 2021), not an index."""
    if located is None or not path:
        return False
    node = located.data
    try:
        for part in path[:-1]:
            node = node[part]
    except (KeyError, IndexError, TypeError):
        return False
    return isinstance(node, dict)


def _is_field_name(part: str) -> bool:
    return part[:1].islower() or part[:1] == "_"


def _item_label(located: Located, path: YamlPath) -> str | None:
    node = located.data
    try:
        for part in path:
            node = node[part]
    except (KeyError, IndexError, TypeError):
        return None
    if isinstance(node, dict):
        for key in ("id", "name", "identifier"):
            value = node.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool):
                return str(value)
    return None


def _walk(model: type[BaseModel], loc: YamlPath) -> tuple[Any, Any]:
    """Follow ``loc`` through the model's fields: (annotation at the end, last FieldInfo)."""
    annotation: Any = model
    info = None
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found = next((f for n, f in annotation.model_fields.items()
                          if part in (n, f.alias)), None)
            if found is None:
                continue  # a union tag
            info, annotation = found, found.annotation
            continue
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (tuple, list) and args:
            annotation = args[0]
        elif origin is dict and args:
            if part == "[key]":
                return args[0], info
            annotation = args[1]
        elif origin in (typing.Union, types.UnionType):
            branch = next((a for a in args if getattr(_unwrap(a), "__name__", None) == part), None)
            if branch is not None:
                annotation = branch
    return _unwrap(annotation), info


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _choices(annotation: Any) -> tuple[str, ...]:
    if typing.get_origin(annotation) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(annotation))
    if inspect.isclass(annotation) and issubclass(annotation, _findings.Severity):
        return tuple(s.value for s in annotation)
    return ()


def _keys(annotation: Any) -> tuple[str, ...]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return tuple(f.alias or n for n, f in annotation.model_fields.items())
    return ()


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: ErrorDetails, model: type[BaseModel], located: Located | None = None
             ) -> tuple[str, str]:
    """A pydantic error as (what is wrong, how to fix it), in plain English."""
    kind, loc, value, ctx = error["type"], error["loc"], error.get("input"), error.get("ctx") or {}
    annotation, info = _walk(model, loc)
    hint = info.description if info is not None and info.description else ""
    here = _plain(loc, located)
    prefix = f"{here}: " if here else ""
    if kind == "extra_forbidden":
        key = loc[-1]
        parent, _ = _walk(model, loc[:-1])
        allowed = _keys(parent)
        where = _plain(loc[:-1], located)
        fix = did_you_mean(str(key), allowed, "remove it" + (
            f" (the keys allowed here: {', '.join(allowed)})" if allowed else ""))
        return f"{where + ': ' if where else ''}unknown key {key!r}", fix
    if kind == "missing":
        key = loc[-1]
        where = _plain(loc[:-1], located)
        return (f"{where + ': ' if where else ''}{key!r} is missing",
                f"add {key}" + (f" ({hint})" if hint else ""))
    if kind in ("literal_error", "enum"):
        options = _choices(annotation)
        listed = ", ".join(options) if options else ctx.get("expected", "")
        return (f"{prefix}{_shown(value)} is not allowed here",
                did_you_mean(str(value), options, "") + (" " if options and did_you_mean(
                    str(value), options, "") else "") + f"use one of: {listed}")
    if kind == "string_pattern_mismatch":
        form = schema.PATTERN_WORDS.get(ctx.get("pattern", ""), f"the form {ctx.get('pattern')}")
        return f"{prefix}{_shown(value)} is not written as {form}", hint or "correct the spelling"
    if kind == "then_kind":
        return f"{prefix}neither 'classify' nor 'finding' is given", (
            "write 'then: {classify: billable}' or 'then: {finding: CODE, severity: error, "
            "message: ..., suggestion: ...}'")
    if kind in ("exact_number", "plain_date"):
        return f"{prefix}{error['msg']}", ctx.get("fix", hint)
    if kind == "greater_than_equal" and ctx.get("ge") == 0:
        return f"{prefix}{_shown(value)} is negative", hint or "write 0 or more"
    plain = _PLAIN_MESSAGES.get(kind)
    if plain is not None:
        return f"{prefix}{_shown(value)} {plain.format(**ctx)}", hint or "correct the value"
    return f"{prefix}{error['msg']} (found {_shown(value)})", hint or "correct the value"


_PLAIN_MESSAGES = {
    "int_parsing": "is not a whole number",
    "int_type": "is not a whole number",
    "int_from_float": "is not a whole number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "string_type": "should be text",
    "dict_type": "should be a mapping (key: value lines)",
    "model_type": "should be a mapping (key: value lines)",
    "model_attributes_type": "should be a mapping (key: value lines)",
    "tuple_type": "should be a list",
    "list_type": "should be a list",
    "too_short": "needs at least {min_length} item(s)",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long (at most {max_length} characters)",
    "greater_than_equal": "is too small: it must be at least {ge}",
    "greater_than": "is too small: it must be more than {gt}",
    "less_than_equal": "is too large: it must be at most {le}",
    "less_than": "is too large: it must be less than {lt}",
    "decimal_parsing": "is not a number",
    "date_parsing": "is not a date (YYYY-MM-DD)",
}
