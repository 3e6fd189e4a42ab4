"""Several declaration inputs as one (read stage): per-file declarations in, their union out.

In: the declarations of each input file, as its reader made them (files in the order
given, folders expanded in name order).
Out: one ``tuple[Declaration, ...]`` (first appearance order) and the findings about
declarations found in more than one file. Each file is read by its own reader and
only the finished records meet here, so a reader may build its records however it
likes (whole, or in chunks of rows converted to columns).

The same declaration id in two files (two API pages that overlap, last month's pull
and this month's, a pull and DfE's assurance reports):

* rows that agree (every field but where it was read) are one declaration;
* DfE's assurance reports have one row per statement line item, so a clawed-back
  declaration is ``paid`` in the report of the statement that paid it and
  ``awaiting_clawback``/``clawed_back`` in the report of its clawback statement (the
  states are ``rules/vocabulary.yaml``'s ``assurance_report``)
  (DfE's ``Finance::ECF::AssuranceReport::Query`` selects ``statement_line_items.state``
  per statement). Those two rows are one refundable declaration: its payment
  statement from the paid row, its clawback statement from the other;
* rows that differ otherwise: the one DfE changed last (``updated_at``, as the v3
  API gives it) is used; with no ``updated_at`` on either, the later file. One info
  finding per pair of files (``READ_SAME_DECLARATION_DIFFERS``) names both files,
  counts the declarations, shows the first few with the field that differs, and
  lists every id (``declaration_ids``), so nothing is replaced without a word.

Example::

    declarations, findings = merge_declarations([(file_a, decls_a), (file_b, decls_b)],
                                                vocabulary.assurance_report)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from reconcile.findings import Finding, finding
from reconcile.model import Declaration
from reconcile.rulebook.schema import AssuranceStates

#: fields that say where a copy was read, not what it says
_WHERE = frozenset({"file", "sheet", "row"})
_WHAT = tuple(i for i, f in enumerate(Declaration._fields) if f not in _WHERE)
_IDS_SHOWN = 3
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)  # noqa: UP017 (3.10)


def content(d: Declaration) -> tuple[Any, ...]:
    """What a declaration says, without where it was read."""
    return tuple(d[i] for i in _WHAT)


def differing_fields(a: Declaration, b: Declaration) -> list[str]:
    return [Declaration._fields[i] for i in _WHAT if a[i] != b[i]]


def refund_pair(a: Declaration, b: Declaration, report: AssuranceStates) -> Declaration | None:
    """The one refundable declaration of an assurance report's paid + clawback rows, or None.

    The states are the vocabulary's (``assurance_report``: paid_state, refund_states).
    None when the two are not such a pair: not one ``paid`` and one refundable row,
    another participant, course or type, or a refundable row that names both its
    payment and its clawback statement (the API's shape: then it is the same
    declaration at a later moment, not a second line item). The report's refundable
    row names one statement: its clawback statement (read as ``clawback_statement_*``
    by :mod:`.declarations`), or, from a table made by hand, the ``statement_*``.
    """
    paid_state, refund_states = report.paid_state, report.refund_states
    if a.state == paid_state and b.state in refund_states:
        paid, refund = a, b
    elif b.state == paid_state and a.state in refund_states:
        paid, refund = b, a
    else:
        return None
    if (paid.participant_id, paid.course_identifier, paid.declaration_type) != (
            refund.participant_id, refund.course_identifier, refund.declaration_type):
        return None
    has_payment = bool(refund.statement_id or refund.statement_name)
    has_clawback = bool(refund.clawback_statement_id or refund.clawback_statement_name)
    if has_payment and has_clawback:
        return None
    return paid._replace(
        state=refund.state,
        clawback_statement_id=refund.clawback_statement_id or refund.statement_id,
        clawback_statement_name=refund.clawback_statement_name or refund.statement_name,
        updated_at=max((paid.updated_at, refund.updated_at),
                       key=lambda t: t or _EARLIEST))


class _Differs(NamedTuple):
    kept: Declaration
    other: Declaration
    fields: list[str]


def merge_declarations(per_file: Sequence[tuple[str, Sequence[Declaration]]],
                       report: AssuranceStates
                       ) -> tuple[tuple[Declaration, ...], tuple[Finding, ...]]:
    """The union of every file's declarations, one per declaration id (see the module doc).

    ``per_file`` is ``(file as shown, its declarations)`` in reading order; ``report`` the
    vocabulary's assurance-report states (``rules/vocabulary.yaml`` ``assurance_report``).
    """
    if len(per_file) == 1:
        return tuple(per_file[0][1]), ()
    merged: list[Declaration] = []
    where: dict[str, int] = {}
    differs: dict[tuple[str, str], list[_Differs]] = {}
    for _name, declarations in per_file:
        for d in declarations:
            at = where.get(d.declaration_id)
            if at is None:
                where[d.declaration_id] = len(merged)
                merged.append(d)
                continue
            first = merged[at]
            if content(first) == content(d):
                continue
            pair = refund_pair(first, d, report)
            if pair is not None:
                merged[at] = pair
                continue
            # the copy DfE changed last wins; a tie (or no updated_at) goes to the later file
            later = (d.updated_at or _EARLIEST) >= (first.updated_at or _EARLIEST)
            kept, other = (d, first) if later else (first, d)
            merged[at] = kept
            one, other_file = sorted((first.file, d.file))
            files = (one, other_file)
            differs.setdefault(files, []).append(_Differs(kept, other,
                                                         differing_fields(first, d)))
    return tuple(merged), tuple(_differs_finding(files, items)
                                for files, items in differs.items())


def _copy(d: Declaration, field: str) -> str:
    value = getattr(d, field)
    if isinstance(value, dt.datetime):
        value = value.isoformat().replace("+00:00", "Z")
    where = f"{d.file}" + (f" row {d.row}" if d.row is not None else "")
    return f"{value if value is not None else 'blank'} in {where}"


def _differs_finding(files: tuple[str, str], items: list[_Differs]) -> Finding:
    shown = []
    for item in items[:_IDS_SHOWN]:
        field = next((f for f in item.fields if f != "updated_at"), item.fields[0])
        shown.append(f"{item.kept.declaration_id}: {field} {_copy(item.kept, field)} was used, "
                     f"not {_copy(item.other, field)}")
    more = f"; and {len(items) - _IDS_SHOWN:,} more" if len(items) > _IDS_SHOWN else ""
    n = len(items)
    return finding(
        "READ_SAME_DECLARATION_DIFFERS",
        f"{n:,} declaration{'s are' if n != 1 else ' is'} in both {files[0]} and {files[1]} "
        f"with different details; each is counted once, from the copy DfE updated last "
        f"(updated_at), else from the file given later. {'; '.join(shown)}{more}.",
        declaration_id=items[0].kept.declaration_id if n == 1 else None,
        declaration_ids=tuple(item.kept.declaration_id for item in items))
