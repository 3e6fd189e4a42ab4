"""Bench: the rules stage alone — fact derivation, signature dedup and both engines.

Declarations are generated in memory against the bundled rulebook (its schedules,
calendars and contracts): participants on the cohort's schedules (mostly standard
September), declarations inside their milestone windows with a few outside, states
as time has moved them (paid, payable, eligible, submitted, some voided, clawed back
or ineligible), none after the as-of day, flat-rate mentors only at their paid
milestones, a few re-declared duplicates, uplift flags before 2025, delivery
partners on most. Figures per size: fact derivation (including dedup) over every
declaration, dedup alone (interning the per-declaration signatures), the distinct
signatures, each backend evaluating those distinct signatures (facts/s counts every
declaration the answer is broadcast to), durable-rules on a sample without dedup
(for comparison), and the whole ``evaluate()`` with its findings. facts/s is per
CPU second of this process (wall seconds are shown too: the machine is shared).

Run: ``python -m bench.bench_engine [SIZE ...]`` (default 1,000,000), or via
``make bench``. Progress goes to standard error.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import sys
import time
from typing import NamedTuple

from reconcile.model import Declaration
from reconcile.pipeline import collector_paused
from reconcile.rulebook.conditions import compile_rules
from reconcile.rulebook.engine import available_backends, open_engine
from reconcile.rulebook.evaluate import evaluate, signature_fields
from reconcile.rulebook.facts import derive_facts, fact_vocabulary
from reconcile.rulebook.load import load_rulebook

UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; we run on 3.10)
AS_OF = dt.date(2025, 11, 1)
COHORTS = (2022, 2023, 2024, 2025)
SEED = 11
#: declarations evaluated one by one (no dedup) by durable-rules, for comparison
NO_DEDUP_SAMPLE = 20_000


def _say(text: str) -> None:
    print(f"bench_engine: {text}", file=sys.stderr, flush=True)


class _Moments:
    """Shared datetime objects (a quarter-hour grid), so a million declarations do
    not hold two million distinct datetimes."""

    def __init__(self) -> None:
        self._cache: dict[tuple, dt.datetime] = {}

    def at(self, day: dt.date, quarter: int) -> dt.datetime:
        key = (day, quarter)
        moment = self._cache.get(key)
        if moment is None:
            moment = self._cache[key] = dt.datetime(day.year, day.month, day.day,
                                                    quarter // 4, (quarter % 4) * 15,
                                                    tzinfo=UTC)
        return moment


def generate(size: int, rulebook, seed: int = SEED) -> list[Declaration]:
    """``size`` realistic declarations (see the module docstring)."""
    rng = random.Random(seed)
    moments = _Moments()
    vocabulary = rulebook.vocabulary
    courses = list(vocabulary.courses)
    providers = {cohort: sorted({p for p, c in rulebook.contracts if c == cohort})
                 for cohort in COHORTS}
    schedules = {cohort: sorted(ident for ident, c in rulebook.schedules if c == cohort)
                 for cohort in COHORTS}
    partners = [f"dp-{n}" for n in range(8)]
    out: list[Declaration] = []
    participant = 0
    while len(out) < size:
        participant += 1
        cohort = rng.choice(COHORTS)
        course = courses[0] if rng.random() < 0.8 else courses[1]
        standard = [s for s in schedules[cohort] if "standard-september" in s]
        identifier = (standard[0] if standard and rng.random() < 0.85
                      else rng.choice(schedules[cohort]))
        schedule = rulebook.schedule_for(identifier, cohort)
        provider = rng.choice(providers[cohort]) if providers[cohort] else None
        pupil_premium = cohort < 2025 and rng.random() < 0.2
        sparsity = cohort < 2025 and rng.random() < 0.1
        partner = rng.choice(partners) if rng.random() < 0.95 else None
        contract = rulebook.contract_for(provider, cohort)
        flat_rate = (course != courses[0] and contract is not None
                     and contract.mentor is not None)
        # participants drop off: each further milestone is reached with 90% chance
        for declaration_type, milestone in schedule.milestones.items():
            if flat_rate and declaration_type not in rulebook.fees.mentor_flat_rate_proportions:
                continue  # flat-rate mentors declare only the paid milestones
            if declaration_type.startswith("extended") and rng.random() < 0.7:
                break
            start = milestone.start_date
            end = milestone.milestone_date or start + dt.timedelta(days=180)
            span = max((end - start).days, 1)
            offset = rng.randrange(span + 1)
            if rng.random() < 0.01:  # a few outside their window
                offset = rng.choice((-rng.randrange(1, 30), span + rng.randrange(1, 30)))
            day = start + dt.timedelta(days=offset)
            if day > AS_OF:  # not reached yet
                break
            declared = moments.at(day, rng.randrange(96))
            created = moments.at(day + dt.timedelta(days=rng.randrange(0, 21)), rng.randrange(96))
            copies = 2 if rng.random() < 0.003 else 1  # re-declared: a duplicate
            for _ in range(copies):
                out.append(Declaration(
                    f"decl-{len(out):07d}", f"part-{participant:07d}", course,
                    vocabulary.courses[course], declaration_type, declared,
                    _state(rng, day), cohort, provider, created,
                    delivery_partner_id=partner, pupil_premium_uplift=pupil_premium,
                    sparsity_uplift=sparsity, schedule_identifier=identifier,
                    file="bench.csv", row=len(out) + 2))
            if len(out) >= size or rng.random() < 0.1:
                break
    return out[:size]


def _state(rng: random.Random, day: dt.date) -> str:
    age = (AS_OF - day).days
    x = rng.random()
    if x < 0.03:
        return "voided"
    if x < 0.04:
        return rng.choice(("awaiting-clawback", "clawed-back"))
    if x < 0.045:
        return "ineligible"
    if age > 120:
        return "paid"
    if age > 60:
        return "payable"
    return "eligible" if rng.random() < 0.8 else "submitted"


class _Took(NamedTuple):
    wall: float
    cpu: float


def _timed(label: str, action, *args, **kwargs):
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    with collector_paused():  # as reconcile.pipeline.run runs the stages
        result = action(*args, **kwargs)
    took = _Took(time.perf_counter() - wall, time.process_time() - cpu)
    _say(f"{label}: {took.wall:.2f}s ({took.cpu:.2f}s CPU)")
    return result, took


def _row(size: int, step: str, took: _Took | None, facts: int, note: str = "") -> dict:
    """facts/s is per CPU second: the machine is shared, so wall time also counts
    other people's work (both are shown)."""
    return {"declarations": size, "step": step,
            "seconds": None if took is None else round(took.wall, 3),
            "cpu seconds": None if took is None else round(took.cpu, 3),
            "facts/s": int(facts / took.cpu) if took and took.cpu else None, "note": note}


def run(sizes=(1_000_000,)) -> list[dict]:
    rulebook = load_rulebook()
    vocabulary = fact_vocabulary(rulebook.vocabulary)
    rules = compile_rules(rulebook.rules, fields=vocabulary)
    fields = signature_fields(rules, vocabulary)
    _say(f"{len(rules)} rules over {len(fields)} fact fields; "
         f"backends {', '.join(available_backends())}")
    rows: list[dict] = []
    for size in sizes:
        declarations, _ = _timed(f"generating {size:,} declarations", generate, size, rulebook)
        rows.extend(_measure(declarations, rulebook, rules, vocabulary, fields))
    return rows


def _measure(declarations, rulebook, rules, vocabulary, fields) -> list[dict]:
    size = len(declarations)
    rows = []
    facts, took = _timed("fact derivation (with dedup)", derive_facts, declarations, rulebook,
                         AS_OF, fields, rules=rules)
    rows.append(_row(size, "fact derivation (incl. dedup)", took, size, f"{len(fields)} fields"))
    per_declaration = [facts.signatures[n] for n in facts.signature_of]
    distinct, took = _timed("signature dedup alone", _dedup, per_declaration)
    rows.append(_row(size, "signature dedup alone", took, size))
    rows.append(_row(size, "distinct signatures", None, size,
                     f"{len(distinct):,} ({len(distinct) / size:.2%} of declarations)"))
    backends = available_backends()
    for backend in ("durable", "python"):
        if backend not in backends:
            rows.append(_row(size, f"{backend} evaluation", None, size,
                             "not available on this Python"))
            continue
        with open_engine(rules, backend=backend, fields=vocabulary,
                         signature_fields=fields) as engine:
            _, took = _timed(f"{backend} evaluation of {len(distinct):,} signatures",
                             engine.evaluate, facts.signatures)
        rows.append(_row(size, f"{backend} evaluation (distinct signatures)", took, size,
                         f"{int(len(distinct) / took.cpu):,} signatures/s"))
    if "durable" in backends:
        sample = per_declaration[:NO_DEDUP_SAMPLE]
        with open_engine(rules, backend="durable", fields=vocabulary,
                         signature_fields=fields) as engine:
            _, took = _timed(f"durable, {len(sample):,} facts one by one", engine.evaluate,
                             sample)
        rows.append(_row(size, "durable without dedup (sample)", took, len(sample),
                         f"first {len(sample):,} declarations, for comparison"))
    result, took = _timed("evaluate() end to end", evaluate, declarations, rulebook, as_of=AS_OF)
    rows.append(_row(size, f"evaluate() end to end ({result.backend})", took, size,
                     f"{len(result.findings):,} findings"))
    return rows


def _dedup(signatures: list[tuple]) -> dict[tuple, int]:
    """Intern signatures: what derive_facts does for each declaration."""
    seen: dict[tuple, int] = {}
    for signature in signatures:
        if signature not in seen:
            seen[signature] = len(seen)
    return seen


if __name__ == "__main__":
    chosen = tuple(int(a.replace("_", "").replace(",", "")) for a in sys.argv[1:]) or (1_000_000,)
    for row in run(chosen):
        print(row)
