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
import datetime as dt
import functools
import shutil
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from reconcile.model import Declaration
from reconcile.paths import bundled_rules_dir
from reconcile.rulebook.evaluate import Evaluation
from reconcile.rulebook.load import Rulebook, load_rulebook

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
