"""Which statements the declarations let us compare (after calculate, before compare).

In: the expected statements (:class:`~reconcile.model.ExpectedStatement`) and the
coverage of the declarations read (:attr:`reconcile.read.inputs.ReadResult.coverage`:
the statements of DfE's assurance reports given, or None when the declarations are a
full record: an API pull, a provider's spreadsheet).
Out: the keys of the statements that cannot be compared, and one info finding,
``STATEMENTS_NOT_COVERED``, saying which and why.

Why: bands fill cumulatively over every earlier statement of a provider's cohort
(docs/domain.md "Banding"), so an expected statement worked out from some of DfE's
assurance reports is right only when the report of every earlier output-fee
statement of its cohort is there too (DfE's assurance report is one statement's line
items: DFE-Digital/early-careers-framework ``Finance::ECF::AssuranceReport::Query``).
An output-fee statement is compared when its own report and those of all earlier
output-fee statements are given; a statement without output fees (the service fee
only) when those of all earlier output-fee statements are.

The calculation's findings that count over the whole record of a cohort (the bands
filled, the recruitment behind the service fee, the band a clawback comes off) are
not to be trusted on the statements left uncompared, nor on a cohort whose record is
partial: :func:`set_aside` takes them out and the ``STATEMENTS_NOT_COVERED`` finding
counts them, so nothing is dropped without a word (one report of January 2025 alone
has no started declaration, which is not a recruitment below target).

>>> not_comparable((), None)
(frozenset(), None)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from reconcile.findings import Finding, finding
from reconcile.model import ExpectedStatement, StatementKey
from reconcile.read.assurance import squeeze

_SHOWN = 6


def not_comparable(statements: Sequence[ExpectedStatement],
                   coverage: frozenset[tuple[str, int, str]] | None
                   ) -> tuple[frozenset[StatementKey], Finding | None]:
    """The statements the declarations do not cover (see the module doc), and the finding."""
    if coverage is None or not statements:
        return frozenset(), None
    groups: dict[tuple[str, int], list[ExpectedStatement]] = defaultdict(list)
    for s in statements:
        groups[(s.key.lead_provider, s.key.cohort)].append(s)
    left: set[StatementKey] = set()
    parts = []
    for (provider, cohort), members in sorted(groups.items()):
        members.sort(key=lambda s: (s.payment_date is None, s.payment_date))
        earlier_covered = True
        missing: list[str] = []
        skipped: list[str] = []
        for s in members:
            own = (squeeze(provider), cohort, squeeze(s.key.name)) in coverage
            comparable = earlier_covered and (own or not s.output_fee)
            if s.output_fee and not own:
                missing.append(s.key.name)
                earlier_covered = False
            if not comparable:
                left.add(s.key)
                skipped.append(s.key.name)
        if skipped:
            parts.append(f"{provider}, cohort {cohort}: {_names(skipped)} not compared "
                         f"(no report of {_names(missing)})")
    if not left:
        return frozenset(), None
    return frozenset(left), finding(
        "STATEMENTS_NOT_COVERED",
        f"The declarations given are DfE's assurance reports of {len(coverage)} "
        "statement(s). Bands fill over every earlier statement of a cohort, so a statement "
        "is compared only when the reports of it and of every earlier output-fee statement "
        f"of its cohort are given. {'; '.join(parts)}.")


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


#: the calculation's findings that depend on every declaration of a cohort
WHOLE_RECORD_CODES = frozenset({"CALC_SERVICE_FEE_REDUCED", "CALC_OVER_CAPACITY",
                                "CALC_CLAWBACK_BAND_DIFFERS", "CALC_CLAWBACK_UNMATCHED"})


def partial_cohorts(statements: Sequence[ExpectedStatement],
                    coverage: frozenset[tuple[str, int, str]] | None) -> frozenset[tuple[str, int]]:
    """The (provider, cohort) pairs, squeezed, whose reports leave a gap: an output-fee
    statement without its report before one with it (reports missing only at the end
    leave a record that is whole up to its last report)."""
    if coverage is None:
        return frozenset()
    groups: dict[tuple[str, int], list[ExpectedStatement]] = defaultdict(list)
    for s in statements:
        if s.output_fee:
            groups[(squeeze(s.key.lead_provider), s.key.cohort)].append(s)
    partial = set()
    for (provider, cohort), members in groups.items():
        members.sort(key=lambda s: (s.payment_date is None, s.payment_date))
        given = [(provider, cohort, squeeze(s.key.name)) in coverage for s in members]
        if True in given and False in given[:len(given) - given[::-1].index(True)]:
            partial.add((provider, cohort))
    return frozenset(partial)


def set_aside(findings: Sequence[Finding], statements: Sequence[ExpectedStatement],
              coverage: frozenset[tuple[str, int, str]] | None,
              uncovered: frozenset[StatementKey],
              note: Finding | None) -> tuple[list[Finding], Finding | None]:
    """``findings`` less those of :data:`WHOLE_RECORD_CODES` on an uncovered statement, or
    on no statement of a cohort whose reports leave a gap (:func:`partial_cohorts`), and
    ``note`` saying how many were set aside."""
    if not uncovered or note is None:
        return list(findings), note
    partial = partial_cohorts(statements, coverage)
    names = {(squeeze(k.lead_provider), k.cohort, squeeze(k.name)) for k in uncovered}
    kept: list[Finding] = []
    aside: dict[str, int] = defaultdict(int)
    for f in findings:
        where = (squeeze(f.lead_provider), f.cohort)
        if f.code in WHOLE_RECORD_CODES and (
                (*where, squeeze(f.statement)) in names if f.statement else where in partial):
            aside[f.code] += 1
        else:
            kept.append(f)
    if not aside:
        return kept, note
    listed = ", ".join(f"{code} ({n})" for code, n in sorted(aside.items()))
    return kept, note._replace(message=(
        f"{note.message} {sum(aside.values())} finding(s) of the calculation that "
        f"count over every statement of a cohort were set aside, as the reports of some "
        f"statements are missing: {listed}."))
