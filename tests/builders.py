"""Real rulebooks, declarations and evaluations for tests, written in the domain's notation.

Every test that needs a rulebook gets the real one, loaded and validated by
:func:`reconcile.rulebook.load.load_rulebook` from the bundled rules with the parts
the test changes written as YAML, the way an analyst writes them:

* contracts as contract YAML (:func:`contract`, bands as ``{name: A, min: 0, max: 2,
  per_participant: 400}``: :func:`band`);
* a rules file's top-level keys replaced (``banding={"attribution": "blended"}``,
  ``service_fee={"selected": "seed_profile"}``), the rest of the file as bundled;
* a cohort's statement calendar (``calendars={2023: CALENDAR}``), the schedules,
  the eligibility rules or the split policy as whole YAML text.

So a test can never rely on a shape the real rulebook does not have. Each distinct
rulebook is loaded once per test process.

Example::

    book = rulebook(contract(LP, 2023, BANDS_OF_TWO, recruitment_target=8),
                    calendars={2023: CALENDAR}, banding={"attribution": "blended"})
    calculate(declarations, evaluation, book)
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import functools
import shutil
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from reconcile import money
from reconcile.calculate import Calculation
from reconcile.findings import Finding, Severity
from reconcile.model import (
    Attribution,
    CountAmount,
    Declaration,
    DfeLine,
    DfeStatement,
    ExpectedStatement,
    PaymentLine,
    Source,
    StatementKey,
)
from reconcile.paths import bundled_rules_dir
from reconcile.rulebook.evaluate import Evaluation
from reconcile.rulebook.load import Rulebook, load_rulebook
from reconcile.rulebook.schema import Classify, FindingSpec, RuleSpec, VocabularyFile
from reconcile.rulebook.split_schema import SplitPolicy, parse_split_policy
from reconcile.rulebook.yamlsrc import parse_yaml

D = Decimal
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; we run on 3.10)
LP = "Example Teaching Institute"
COHORT = 2023

# --------------------------------------------------------------------------- contracts


def band(name: str, low: int, high: int, price: object, output: object = None,
         service: object = None) -> str:
    """One band of a contract: ``{name: A, min: 0, max: 2, per_participant: 400}``
    (output/service percentages only when they differ from fees.yaml's 60/40)."""
    text = f"{{name: {name}, min: {low}, max: {high}, per_participant: {price}"
    if output is not None:
        text += f", output_payment_percentage: {output}"
    if service is not None:
        text += f", service_fee_percentage: {service}"
    return text + "}"


#: ECF's test bands of two (docs/rules.md "Banding"): A ≤2 £400, B 3–4 £300, C 5–6 £200,
#: D 7–8 £100 (all output)
BANDS_OF_TWO = (band("A", 0, 2, 400), band("B", 3, 4, 300), band("C", 5, 6, 200),
                band("D", 7, 8, 100, 100, 0))


def contract(lead_provider: str = LP, cohort: int = COHORT,
             bands: tuple[str, ...] = BANDS_OF_TWO, *, recruitment_target: int = 4500,
             vat_chargeable: bool = False, set_up_fee: object = 0,
             uplift_amount: object = None, monthly_service_fee: object = None,
             mentor: object = None, vat_rate: object = None, version: str | None = None,
             versions: str = "") -> str:
    """A contract YAML file (docs/rules.md "Contracts"); ``mentor`` is the flat-rate
    mentor's payment per participant; ``versions`` the YAML of its later versions."""
    lines = [f"lead_provider: {lead_provider}", f"cohort: {cohort}",
             f"vat_chargeable: {str(vat_chargeable).lower()}",
             f"recruitment_target: {recruitment_target}", f"set_up_fee: {set_up_fee}",
             f"uplift_amount: {'null' if uplift_amount is None else uplift_amount}",
             f"monthly_service_fee: "
             f"{'null' if monthly_service_fee is None else monthly_service_fee}"]
    if vat_rate is not None:
        lines.append(f"vat_rate: {vat_rate}")
    if version is not None:
        lines.append(f"version: '{version}'")
    if mentor is not None:
        lines.append(f"mentor: {{payment_per_participant: {mentor}}}")
    lines.append("bands:")
    lines += [f"  - {b}" for b in bands]
    if versions:
        lines.append("versions:")
        lines += ["  " + line for line in versions.strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- calendars


def statement_row(name: str, cut_off: str, payment: str, output_fee: bool) -> str:
    return (f"{{name: {name}, cut_off: {cut_off}, payment: {payment}, "
            f"output_fee: {str(output_fee).lower()}}}")


#: six months of cohort 2023: output-fee statements in February, May and July 2024
CALENDAR = (
    statement_row("January 2024", "2023-12-31", "2024-01-25", False),
    statement_row("February 2024", "2024-01-31", "2024-02-25", True),
    statement_row("March 2024", "2024-02-29", "2024-03-25", False),
    statement_row("April 2024", "2024-03-31", "2024-04-25", False),
    statement_row("May 2024", "2024-04-30", "2024-05-25", True),
    statement_row("June 2024", "2024-05-31", "2024-06-25", False),
    statement_row("July 2024", "2024-06-30", "2024-07-25", True),
)

# --------------------------------------------------------------------------- rulebooks

_FOLDERS: list[Path] = []


@atexit.register
def _remove_folders() -> None:
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


def rulebook(*contracts: str, calendars: Mapping[int, tuple[str, ...]] | None = None,
             schedules: str | None = None, eligibility: str | None = None,
             split: str | None = None, **changes: Mapping[str, Any]) -> Rulebook:
    """The bundled rules with the given contracts (default: one of :data:`LP`, cohort
    2023, bands of two, target 8) and changes, loaded by the real loader.

    ``calendars``: cohort -> statement rows (every other cohort's calendar goes);
    ``schedules``/``eligibility``/``split``: the whole file's YAML; ``changes``: a
    rules file's name (``banding``, ``service_fee``, ``fees``, ``vocabulary``) -> the
    top-level keys that replace the bundled ones.
    """
    if not contracts:
        contracts = (contract(recruitment_target=8),)
    files: dict[str, str] = {}
    for name, keys in changes.items():
        files[f"{name}.yaml"] = _changed(f"{name}.yaml", keys)
    if calendars is not None:
        cohorts = "\n".join(f"  {cohort}:\n" + "".join(f"    - {row}\n" for row in rows)
                            for cohort, rows in calendars.items())
        policy = yaml.safe_dump({"policy": _bundled("calendars.yaml")["policy"]})
        files["calendars.yaml"] = policy + "cohorts:\n" + cohorts
    for name, text in (("schedules.yaml", schedules), ("eligibility.yaml", eligibility),
                       ("split.yaml", split)):
        if text is not None:
            files[name] = text
    return _load(tuple(sorted(files.items())), contracts)


#: service_fee.yaml's under-target rule switched off (a threshold of 0%): the
#: calculation tests' contracts have small targets, and only the tests of the rule
#: itself want its finding
NO_UNDER_TARGET = {"threshold_percentage": 0, "reduction": "none",
                   "recruited": "billable_started"}


def six_months(*contracts: str, **changes: Any) -> Rulebook:
    """:func:`rulebook` with cohort 2023's calendar cut to the six months of
    :data:`CALENDAR` (the calculation tests' statements) and no under-target rule
    unless ``service_fee`` changes give one."""
    service_fee = {"under_target": NO_UNDER_TARGET, **changes.pop("service_fee", {})}
    return rulebook(*contracts, calendars={COHORT: CALENDAR}, service_fee=service_fee,
                    **changes)


@functools.cache
def _bundled(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((bundled_rules_dir() / name).read_text("utf-8"))
    return data


def _changed(name: str, keys: Mapping[str, Any]) -> str:
    unknown = set(keys) - set(_bundled(name))
    assert not unknown, f"{name} has no {sorted(unknown)}"
    return yaml.safe_dump({**_bundled(name), **keys}, sort_keys=False)


@functools.cache
def _load(files: tuple[tuple[str, str], ...], contracts: tuple[str, ...]) -> Rulebook:
    folder = Path(tempfile.mkdtemp(prefix="reconcile-test-rules-"))
    _FOLDERS.append(folder)
    for path in bundled_rules_dir().glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    for name, text in files:
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "contracts").mkdir()
    for number, text in enumerate(contracts, start=1):
        (folder / "contracts" / f"contract-{number}.yaml").write_text(text, encoding="utf-8")
    return load_rulebook(folder)


# --------------------------------------------------------------------------- declarations


def at(day: str) -> dt.datetime:
    """A moment in UTC from ``2024-01-10`` or ``2024-01-10T09:00:00``."""
    return dt.datetime.fromisoformat(day).replace(tzinfo=UTC)


def decl(declaration_id: str, declaration_type: str = "started", *, state: str = "paid",
         date: str = "2024-01-10", created: str | None = None, participant: str | None = None,
         ptype: str = "ect", lead_provider: str | None = LP, **kw: Any) -> Declaration:
    """A declaration as a lead provider submits it (dates as text)."""
    return Declaration(
        declaration_id=declaration_id,
        participant_id=participant or f"p-{declaration_id}",
        course_identifier="ecf-induction" if ptype == "ect" else "ecf-mentor",
        participant_type=ptype, declaration_type=declaration_type,
        declaration_date=at(date), state=state, cohort=kw.pop("cohort", COHORT),
        lead_provider=lead_provider, created_at=at(created) if created else None,
        file="test.csv", row=kw.pop("row", None), **kw)


def evaluation(labels: tuple[frozenset[str], ...]) -> Evaluation:
    """The rules' verdict as the calculation reads it: a set of labels per declaration."""
    return Evaluation(labels=labels, fired=tuple(() for _ in labels), findings=(),
                      backend="python", signatures=len(set(labels)))


def labelled(*pairs: tuple[Declaration, str]) -> tuple[tuple[Declaration, ...], Evaluation]:
    """Declarations with their labels written as "billable uplift" etc."""
    return (tuple(d for d, _ in pairs),
            evaluation(tuple(frozenset(text.split()) for _, text in pairs)))


# --------------------------------------------------------------------------- statements
# The calculation's and DfE's values written the way a statement shows them (real
# model types: ExpectedStatement, DfeStatement, DfeLine, Attribution, Calculation).

#: fees of the ECF sample contract (band A £995, band B £979, 60% output): started (20%)
#: A £119.40, B £117.48; retained-1 (15%) A £89.55. Uplift £100. VAT 20%.
STARTED_A, STARTED_B, RETAINED_A = D("119.40"), D("117.48"), D("89.55")


def compare_rulebook() -> Rulebook:
    """The rulebook a comparison reads: vocabulary, VAT rate, and :data:`LP`'s 2023
    contract, VAT chargeable."""
    return rulebook(contract(LP, 2023, vat_chargeable=True))


def key(name: str = "May 2024", cohort: int = 2023, provider: str = LP) -> StatementKey:
    return StatementKey(provider, cohort, name)


def calculation(statements: tuple[ExpectedStatement, ...],
                attributions: tuple[Attribution, ...] = (),
                findings: tuple[Finding, ...] = ()) -> Calculation:
    return Calculation(tuple(statements), tuple(attributions), tuple(findings))


def expected(name: str, payment: dt.date, *, outputs: Any = (), clawbacks: Any = (),
             uplift: tuple[int, str] = (0, "0"), uplift_clawback: tuple[int, str] = (0, "0"),
             service_fee: str = "0", adjustments: str = "0", cohort: int = 2023,
             output_fee: bool = True, vat: bool = True, statement_id: str | None = None,
             cut_off: dt.date | None = None) -> ExpectedStatement:
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


def line(line_type: str, amount: str, ptype: str | None = None, dtype: str | None = None,
         band: str | None = None, count: int | None = None, fee: str | None = None,
         description: str | None = None, row: int | None = None) -> DfeLine:
    """One line of DfE's statement (as its Lines sheet gives it)."""
    return DfeLine("?", line_type, D(amount), ptype, dtype, band, count,
                   D(fee) if fee is not None else None, description,
                   Source("dfe.xlsx", "Lines", row) if row else None)


def dfe(name: str, payment: dt.date, lines: Any = (), *, total: str | None = None,
        cohort: int = 2023, provider: str | None = LP, output_fee: bool = True,
        statement_id: str | None = None, cut_off: dt.date | None = None) -> DfeStatement:
    """DfE's statement (as its Statements sheet gives it)."""
    return DfeStatement(statement_id, provider, cohort, name,
                        cut_off or payment.replace(day=1) - dt.timedelta(1), payment,
                        output_fee, False, None, D(total) if total is not None else None,
                        tuple(lines), Source("dfe.xlsx", "Statements", 2))


def dfe_like(e: ExpectedStatement, *, total: bool = True, **changes: Any) -> DfeStatement:
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
    values: dict[str, Any] = {"lines": tuple(lines), "total": str(e.total) if total else None}
    values.update(changes)
    return dfe(e.key.name, e.payment_date, values["lines"], total=values["total"],
               cohort=e.key.cohort, provider=e.key.lead_provider, output_fee=e.output_fee,
               statement_id=e.statement_id, cut_off=e.cut_off_date)


def attribution(declaration_id: str, statement: StatementKey, kind: str, fee: str,
                dtype: str = "started", band: str | None = "A",
                ptype: str = "ect") -> Attribution:
    return Attribution(declaration_id, statement, kind, ptype, dtype, band, D(fee), D(0))


# --------------------------------------------------------------------------- the split

RULES = bundled_rules_dir()


def att(declaration_id: str, partner: str | None, kind: str = "output",
        declaration_type: str = "started", band: str | None = "A", fee: str = "119.40",
        uplift: str = "0", *, statement: StatementKey | None = None,
        participant: str | None = None, participant_type: str = "ect",
        name: str | None = None, unpaid: bool = False) -> Attribution:
    """One declaration's share of a statement, with its delivery partner; ``fee`` and
    ``uplift`` are given positive and signed by ``kind``."""
    sign = -1 if kind == "clawback" else 1
    return Attribution(declaration_id, statement or key(), kind, participant_type,
                       declaration_type, band, sign * Decimal(fee), sign * Decimal(uplift),
                       unpaid, partner, name if name is not None else (
                           partner.replace("dp-", "").title() + " Hub" if partner else None),
                       participant or f"p-{declaration_id}")


def statement(attributions: tuple[Attribution, ...], statement_key: StatementKey | None = None,
              service_fee: str = "0", adjustments: str = "0",
              payment_date: dt.date = dt.date(2024, 5, 25),
              output_fee: bool = True) -> ExpectedStatement:
    """The expected statement the attributions add up to, as the calculation makes it:
    one line per (participant type, declaration type, band), amount =
    ``money.line_amount(count, fee)``, net = Σ lines + service fee + adjustments."""
    statement_key = statement_key or key()
    mine = [a for a in attributions if a.statement == statement_key]
    groups: dict[tuple[str, str, str, str | None], list[Attribution]] = {}
    for a in mine:
        if not a.unpaid:
            groups.setdefault((a.kind, a.participant_type, a.declaration_type, a.band),
                              []).append(a)
    lines: dict[str, list[PaymentLine]] = {"output": [], "clawback": []}
    for (kind, ptype, dtype, band_name), items in sorted(groups.items(), key=repr):
        fees = {a.fee for a in items}
        assert len(fees) == 1, "a line has one fee"
        fee = fees.pop()
        lines[kind].append(PaymentLine(ptype, dtype, band_name, len(items), abs(fee),
                                       money.line_amount(len(items), fee)))
    ups = [a for a in mine if a.kind == "output" and a.uplift]
    downs = [a for a in mine if a.kind == "clawback" and a.uplift]
    uplift = CountAmount(len(ups), money.round_money(sum((a.uplift for a in ups), D(0))))
    uplift_clawback = CountAmount(len(downs), money.round_money(
        sum((-a.uplift for a in downs), D(0))))
    service, adjust = D(service_fee), D(adjustments)
    net = (sum((ln.amount for group in lines.values() for ln in group), money.ZERO)
           + uplift.amount - uplift_clawback.amount + service + adjust)
    vat = money.round_money(net * D("0.2"))
    return ExpectedStatement(statement_key, None, None, payment_date, output_fee,
                             tuple(lines["output"]), tuple(lines["clawback"]), uplift,
                             uplift_clawback, service, adjust, net, vat, net + vat)


def bundled_policy_text(**replace: str) -> str:
    """The bundled rules/split.yaml, with each ``old=new`` text replaced (which must be there)."""
    text = (RULES / "split.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def split_rulebook(policy: SplitPolicy | str = "") -> Rulebook:
    """The bundled rulebook with this split policy (YAML text, validated against the
    vocabulary as the loader does, or a validated policy); "": split.yaml's defaults."""
    base = rulebook()
    if isinstance(policy, str):
        policy = parse_split_policy(policy or "{}", "split.yaml",
                                    base.vocabulary.declaration_types)
    return dataclasses.replace(base, split=policy)


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
WORKED_SERVICE_FEE = "1086.21"  # (£31,500) / 29, docs/rules.md "service_fee.yaml"


def worked_calculation() -> Calculation:
    return calculation((statement(WORKED, service_fee=WORKED_SERVICE_FEE),), WORKED)


# --------------------------------------------------------------------------- the rules

def vocabulary(**changes: Any) -> VocabularyFile:
    """The bundled rules/vocabulary.yaml, with these top-level keys changed."""
    return rulebook(vocabulary=changes).vocabulary if changes else rulebook().vocabulary


def rule_specs(text: str, file: str = "rules/eligibility.yaml") -> tuple[RuleSpec, ...]:
    """The rules of eligibility-style YAML as the loader makes them (each rule's line
    and the lines of its ``when`` nodes), without validating the rest of the file: so
    a test can give a condition only, or a rule missing its suggestion. A finding's
    missing message or suggestion is empty; its severity defaults to error."""
    doc = parse_yaml(text, file)
    specs = []
    for item, raw in enumerate(doc.data["rules"]):
        prefix = ("rules", item, "when")
        when_lines = {path[len(prefix):]: line for path, line in doc.lines.items()
                      if path[:len(prefix)] == prefix}
        then = raw["then"]
        outcome: Classify | FindingSpec
        if "classify" in then:
            outcome = Classify.model_validate(then)
        else:
            outcome = FindingSpec.model_construct(
                code=then["finding"], severity=Severity(then.get("severity", "error")),
                message=then.get("message", ""), suggestion=then.get("suggestion", ""))
        specs.append(RuleSpec(raw["id"], raw.get("description", ""), raw["when"], outcome,
                              Source(file, line=doc.line_of(("rules", item))), when_lines))
    return tuple(specs)


def rule(rule_id: str, when: dict[str, Any], then: Classify | FindingSpec | None = None,
         line: int = 1, file: str = "rules/test.yaml") -> RuleSpec:
    """One rule: ``when`` the condition, ``then`` (default: classify billable)."""
    return RuleSpec(rule_id, "", when, then or Classify.model_validate({"classify": "billable"}),
                    Source(file, line=line), {})


#: cohort 2022's statements for the rules tests: output-fee January and May 2023
CALENDAR_2022 = (
    statement_row("January 2023", "2022-12-31", "2023-01-25", True),
    statement_row("February 2023", "2023-01-31", "2023-02-25", False),
    statement_row("May 2023", "2023-04-30", "2023-05-25", True),
)


def rules_rulebook(rules: tuple[RuleSpec, ...] | None = None) -> Rulebook:
    """The rulebook the rules tests read: the bundled schedules (DfE's, e.g.
    ecf-standard-september 2022), cohort 2022's :data:`CALENDAR_2022`, and Provider A's
    contracts for 2022 (uplift £100) and 2025 (flat-rate mentors at £1,000, no uplift);
    ``rules``: its eligibility rules instead of the bundled ones."""
    book = rulebook(contract("Provider A", 2022, uplift_amount=100),
                    contract("Provider A", 2025, mentor=1000),
                    calendars={2022: CALENDAR_2022, 2025: CALENDAR_2025})
    return book if rules is None else dataclasses.replace(book, rules=tuple(rules))


#: one statement for cohort 2025 (its contract needs a calendar)
CALENDAR_2025 = (statement_row("January 2026", "2025-12-31", "2026-01-25", True),)


def declaration(declaration_id: str = "d1", *, participant_id: str = "p1",
                course: str = "ecf-induction", declaration_type: str = "started",
                date: str = "2022-09-15", state: str = "eligible", cohort: int = 2022,
                lead_provider: str | None = "Provider A", created_at: str | None = None,
                schedule: str | None = "ecf-standard-september", **more: Any) -> Declaration:
    """A declaration as the rules see it, with sensible defaults; dates as text."""
    def moment(text: str | dt.datetime | None) -> dt.datetime | None:
        if text is None or isinstance(text, dt.datetime):
            return text
        if len(text) == 10:
            text += "T12:00:00"
        return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)

    participant_type = {"ecf-induction": "ect", "ecf-mentor": "mentor"}[course]
    declared = moment(date)
    assert declared is not None
    return Declaration(declaration_id, participant_id, course, participant_type,
                       declaration_type, declared, state, cohort, lead_provider,
                       moment(created_at), schedule_identifier=schedule, file="decl.csv",
                       row=2, **more)
