"""Bench: the calculation alone — declarations and labels built in memory, then ``calculate()``.

For each size, declarations of one lead provider and cohort 2023 are spread over
the first 30 statements of the bundled calendar (DfE's ``statement_name`` given),
with every declaration type, ECTs and mentors, 3% clawed back on a later statement,
20% of the starts uplifted; labels are set directly (no rules engine). The
contract's bands are widened so that most declarations are paid (over-capacity
is the cheap path). Two price scenarios: the contract's (whole-penny fees: a
statement's declarations are sorted into the banding order only where the order
decides a band) and prices with pence (sub-penny fees: every line is sorted and
split to the penny). Only ``calculate()`` is timed (best of ``repeat``), as wall
time and as CPU time of this process (the honest figure on a shared machine).

Run: ``python -m bench.bench_calculate [SIZE ...]`` (default 1,000,000), or via
``make bench``. Progress goes to standard error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
import sys
import time
from decimal import Decimal

from reconcile.calculate import calculate
from reconcile.model import Declaration
from reconcile.pipeline import collector_paused
from reconcile.rulebook.load import load_rulebook

COHORT = 2023
STATEMENTS = 30
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; we run on 3.10)


def _say(text: str) -> None:
    print(f"bench_calculate: {text}", file=sys.stderr, flush=True)


class _Evaluation:
    """What calculate() reads of an evaluation: one label set per declaration."""

    def __init__(self, labels: tuple[frozenset, ...]) -> None:
        self.labels = labels


def bench_rulebook(size: int, odd_prices: bool = False):
    """The bundled rulebook, with cohort 2023's contract bands widened for ``size``.

    ``odd_prices``: prices with pence (£995.37 ...) give fees with sub-penny parts,
    so every line is put in the banding order and split to the penny (the worst
    case); the contract's own prices give whole-penny fees.
    """
    rulebook = load_rulebook()
    (key, contract), = [(k, c) for k, c in rulebook.contracts.items() if k[1] == COHORT][:1]
    step = max(size // 12, 10)  # each type has about size / 9 declarations: A, B and C fill
    extra = Decimal("0.37") if odd_prices else Decimal(0)
    bands = tuple(band._replace(min=0 if i == 0 else i * step + 1, max=(i + 1) * step,
                                per_participant=band.per_participant + extra)
                  for i, band in enumerate(contract.bands[:3]))
    contract = contract._replace(bands=bands, recruitment_target=3 * step)
    return dataclasses.replace(rulebook, contracts={key: contract}), key[0]


def build(size: int, lead_provider: str, calendar, seed: int = 7):
    """``size`` declarations and their labels (deterministic for a seed)."""
    rng = random.Random(seed)
    statements = calendar[:STATEMENTS]
    types = ("started", "retained-1", "retained-2", "retained-3", "retained-4", "completed",
             "extended-1", "extended-2", "extended-3")
    billable = frozenset({"billable"})
    uplifted = frozenset({"billable", "uplift"})
    refundable = frozenset({"refundable"})
    partners = [(f"dp-{i:03d}", f"Delivery Partner {i}") for i in range(60)]
    moments = {}
    declarations, labels = [], []
    for n in range(size):
        k = rng.randrange(STATEMENTS - 1)
        statement = statements[k]
        day = statement.cut_off_date - dt.timedelta(days=rng.randrange(20))
        moment = moments.get(day)
        if moment is None:
            moment = moments[day] = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
        declaration_type = types[n % len(types)]
        mentor = n % 10 == 0 and declaration_type in ("started", "completed")
        clawed = rng.random() < 0.03
        partner = partners[n % len(partners)]
        declarations.append(Declaration(
            declaration_id=f"d-{n:08d}", participant_id=f"p-{n // 6:07d}",
            course_identifier="ecf-mentor" if mentor else "ecf-induction",
            participant_type="mentor" if mentor else "ect",
            declaration_type=declaration_type, declaration_date=moment,
            state="clawed-back" if clawed else "paid", cohort=COHORT,
            lead_provider=lead_provider, created_at=moment, statement_name=statement.name,
            clawback_statement_name=statements[k + 1 + rng.randrange(STATEMENTS - 1 - k)].name
            if clawed else None,
            delivery_partner_id=partner[0], delivery_partner_name=partner[1]))
        if clawed:
            labels.append(refundable)
        elif declaration_type == "started" and n % 5 == 0:
            labels.append(uplifted)
        else:
            labels.append(billable)
    return tuple(declarations), _Evaluation(tuple(labels))


def run(sizes=(1_000_000,), repeat: int = 1) -> list[dict]:
    """Time ``calculate()`` at each size; one row of figures per size."""
    rows = []
    for size, odd_prices in [(size, odd) for size in sizes for odd in (False, True)]:
        rulebook, lead_provider = bench_rulebook(size, odd_prices)
        scenario = "sub-penny fees (every line sorted)" if odd_prices else "contract prices"
        _say(f"building {size:,} declarations over {STATEMENTS} statements, {scenario} ...")
        declarations, evaluation = build(size, lead_provider, rulebook.calendar[COHORT])
        best = cpu = None
        result = None
        for _ in range(repeat):
            result = None
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            with collector_paused():  # as reconcile.pipeline.run runs it
                result = calculate(declarations, evaluation, rulebook)
            took = time.perf_counter() - start
            took_cpu = time.process_time() - start_cpu
            best = took if best is None else min(best, took)
            cpu = took_cpu if cpu is None else min(cpu, took_cpu)
        assert result is not None
        total = sum((s.total for s in result.statements), Decimal(0))
        _say(f"{size:,} declarations: calculate() {best:.2f}s wall, {cpu:.2f}s CPU "
             f"({best / size * 1e6:.2f}s per million), {len(result.statements)} statements, "
             f"{len(result.attributions):,} attributions, total £{total:,.2f}")
        rows.append({
            "declarations": size,
            "prices": scenario,
            "statements": len(result.statements),
            "attributions": len(result.attributions),
            "findings": len(result.findings),
            "calculate_s": round(best, 3),
            "cpu_s": round(cpu, 3),
            "s_per_million": round(best / size * 1e6, 2),
        })
        del declarations, evaluation, result
        gc.collect()
    return rows


if __name__ == "__main__":
    sizes = tuple(int(a.replace("_", "").replace(",", "")) for a in sys.argv[1:]) or (1_000_000,)
    for row in run(sizes):
        print(row)
