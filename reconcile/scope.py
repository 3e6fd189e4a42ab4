"""The scope of a run (validate stage): which providers and cohorts the declarations are about.

In: the declarations read (:mod:`reconcile.read`), the rulebook (contracts, the
statement calendar's notices), DfE's statements.
Out: a :class:`~reconcile.errors.UsageError` when a provider of the declarations has
no contract at all (checked before any work, so nothing is computed on a wrong
name); DfE's statements of the providers and cohorts in scope (the others are not
this run's business: no finding is made about them, a note counts them); the
rulebook's notices about DfE's reference data for the cohorts in scope only.

A provider's name matches its contract's ``lead_provider`` ignoring case and extra
spaces. With no contract, the error names the provider, the contracts given and
the nearest name, so a contract written "Northbrook Teaching Institute Ltd" for
declarations of "Northbrook Teaching Institute" is found at once.

Example::

    check_contracts(declarations, rulebook)          # raises UsageError (exit 2)
    statements, note = statements_in_scope(dfe, declarations)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconcile.errors import Problem, UsageError
from reconcile.findings import Finding
from reconcile.model import Declaration, DfeStatement, Source
from reconcile.read.values import closest

if TYPE_CHECKING:
    from reconcile.rulebook.load import Rulebook

_SHOWN = 8


def _key(name: str | None) -> str:
    return " ".join((name or "").split()).casefold()


def providers_and_cohorts(declarations: Sequence[Declaration]) -> set[tuple[str, int]]:
    """(provider as a matching key, cohort) of every declaration; "" for no provider."""
    return {(_key(lp), cohort) for lp, cohort in
            {(d.lead_provider, d.cohort) for d in declarations}}


def _cohorts(years: set[int]) -> str:
    return ", ".join(str(y) for y in sorted(years))


def check_contracts(declarations: Sequence[Declaration], rulebook: Rulebook) -> None:
    """Every provider of the declarations has a contract (for some cohort), or exit 2."""
    contracts = rulebook.contracts
    have: dict[str, tuple[str, set[int], set[str]]] = {}
    for (lp, cohort), contract in contracts.items():
        name, cohorts, files = have.setdefault(_key(lp), (lp, set(), set()))
        cohorts.add(cohort)
        files.add(contract.source.file)
    wanted: dict[str, tuple[str | None, set[int], list[Declaration]]] = {}
    for d in declarations:
        entry = wanted.get(_key(d.lead_provider))
        if entry is None:
            entry = wanted[_key(d.lead_provider)] = (d.lead_provider, set(), [])
        entry[1].add(d.cohort)
        if len(entry[2]) < 1:
            entry[2].append(d)
    seen = "; ".join(f"{name!r} (cohort {_cohorts(cohorts)})"
                     for name, cohorts, _ in sorted(have.values()))
    problems: list[Problem] = []
    for key, (given_name, cohorts, first) in sorted(wanted.items()):
        if key == "":
            if not contracts:
                d = first[0]
                problems.append(Problem(
                    Source(d.file, d.sheet, d.row),
                    "no contract was given, so nothing can be valued",
                    "give your contracts with --contracts FILE_OR_FOLDER (one YAML per "
                    "provider and cohort; 'reconcile template contract' writes one)"))
            continue
        if key in have:
            continue
        d = first[0]
        guess = closest(key, list(have))
        hint = f" Did you mean {have[guess][0]!r}?" if guess else ""
        given = (f"the contracts given are for {seen}" if have else "no contract was given")
        problems.append(Problem(
            Source(d.file, d.sheet, d.row, "lead_provider"),
            f"the declarations of lead provider {given_name!r} (cohort {_cohorts(cohorts)}) have "
            f"no contract: {given}.{hint}",
            "give that provider's contracts with --contracts FILE_OR_FOLDER, or make the "
            "name in the contract (lead_provider) and in the declarations the same"))
    if problems:
        raise UsageError(problems)


def statements_in_scope(statements: Sequence[DfeStatement],
                        declarations: Sequence[Declaration]) -> tuple[tuple[DfeStatement, ...],
                                                                     str | None]:
    """DfE's statements of the providers and cohorts of the declarations, and a note
    counting those left out (None when none is).

    A statement without a provider is in scope when its cohort is.
    """
    scope = providers_and_cohorts(declarations)
    cohorts = {cohort for _, cohort in scope}
    providers_of: dict[int, set[str]] = defaultdict(set)
    for lp, cohort in scope:
        providers_of[cohort].add(lp)
    kept: list[DfeStatement] = []
    left: dict[tuple[str, int], int] = defaultdict(int)
    for s in statements:
        if s.lead_provider:
            inside = (_key(s.lead_provider), s.cohort) in scope or (
                "" in providers_of.get(s.cohort, ()))
        else:
            inside = s.cohort in cohorts
        if inside:
            kept.append(s)
        else:
            left[(s.lead_provider or "(provider not given)", s.cohort)] += 1
    if not left:
        return tuple(kept), None
    listed = ", ".join(f"{lp} {cohort} ({n})" for (lp, cohort), n in sorted(left.items())[:_SHOWN])
    more = " ..." if len(left) > _SHOWN else ""
    return tuple(kept), (f"{sum(left.values())} DfE statement(s) of providers or cohorts with "
                         f"no declarations were not compared: {listed}{more}")


def notices_in_scope(notices: Sequence[Finding],
                     declarations: Sequence[Declaration]) -> tuple[Finding, ...]:
    """The rulebook's notices about DfE's reference data, for the cohorts in scope."""
    cohorts = {d.cohort for d in declarations}
    return tuple(f for f in notices if f.cohort is None or f.cohort in cohorts)
