"""What changed between two recorded runs (pure).

Stage: history. In: the previous run's :class:`~reconcile.history.snapshot.Snapshot`
(as the store reads it back, restricted to this run's scope) and this run's.
Out: a tuple of :class:`Change` records, most serious first.

DfE recomputes statements whenever they are viewed, so a past (even paid)
statement can change after the fact; it moves declarations between statements by
script, re-versions contracts and voids declarations after the event, and tells
nobody (docs/history.md). The kinds of change:

``dfe_statement_changed``
    a DfE line, total or date differs from what the previous run read for that
    statement. Severity ``error`` when the statement was already paid then.
``expected_changed``
    our total for a statement changed; ``cause`` says why: ``contract`` (its
    contract's terms changed), ``rules`` (the rule files or the tool changed) or
    ``inputs`` (declarations, DfE statements, the as-of date); ``causes`` lists every
    one that applies, ``cause`` is the first of them in that order.
``declaration_added`` / ``declaration_removed``
    a declaration id new to this run / gone from it.
``declaration_moved``
    DfE's statement (``field`` ``statement``) or clawback statement
    (``clawback_statement``) of a declaration changed, its state unchanged.
``declaration_state_changed``
    its state changed; a new clawback is one of these (its clawback statement in
    ``after``), not a move.
``declaration_changed``
    its delivery partner, declaration type or participant changed.
``contract_changed``
    one term of a contract (``field`` e.g. ``bands.A.per_participant``).
``rules_changed``
    a rule file's content (``field`` its name, SHA-256 prefixes before and after) or
    the tool's version.

``money_effect`` is after minus before where a change has money: a DfE line or
total, our statement total, the money of a declaration added (positive) or removed
(negative), a state change's effect on what the declaration earns, and for a move
the money that moved with it onto ``statement``. ``paid_statement`` is true when
DfE's statements say the statement is (or was) paid, or a declaration paid on it
says so.

Example::

    for change in compute_changes(previous, current):
        print(change.kind, change.statement, change.field, change.before, change.after)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from reconcile.history.snapshot import (
    DFE,
    EXPECTED,
    DeclarationRow,
    Declarations,
    LineRow,
    Scope,
    Snapshot,
    StatementRow,
)
from reconcile.money import ZERO, show

DFE_STATEMENT_CHANGED = "dfe_statement_changed"
EXPECTED_CHANGED = "expected_changed"
DECLARATION_ADDED = "declaration_added"
DECLARATION_REMOVED = "declaration_removed"
DECLARATION_MOVED = "declaration_moved"
DECLARATION_STATE_CHANGED = "declaration_state_changed"
DECLARATION_CHANGED = "declaration_changed"
CONTRACT_CHANGED = "contract_changed"
RULES_CHANGED = "rules_changed"

#: the order changes are listed in (after severity)
KINDS = (DFE_STATEMENT_CHANGED, EXPECTED_CHANGED, CONTRACT_CHANGED, RULES_CHANGED,
         DECLARATION_MOVED, DECLARATION_STATE_CHANGED, DECLARATION_ADDED,
         DECLARATION_REMOVED, DECLARATION_CHANGED)
CAUSES = ("contract", "rules", "inputs")
ERROR, WARNING, INFO = "error", "warning", "info"
_RANK = {ERROR: 0, WARNING: 1, INFO: 2}




class Change(NamedTuple):
    """One thing that differs between the previous run and this one."""

    kind: str
    lead_provider: str | None
    cohort: int | None
    statement: str | None
    declaration_id: str | None
    field: str | None
    before: str | None
    after: str | None
    money_effect: Decimal | None
    paid_statement: bool
    cause: str | None = None
    severity: str = INFO
    causes: tuple[str, ...] = ()
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind, "lead_provider": self.lead_provider, "cohort": self.cohort,
            "statement": self.statement, "declaration_id": self.declaration_id,
            "field": self.field, "before": self.before, "after": self.after,
            "money_effect": show(self.money_effect) if self.money_effect is not None else None,
            "paid_statement": self.paid_statement, "cause": self.cause,
            "severity": self.severity,
        }
        if self.causes:
            data["causes"] = list(self.causes)
        if self.detail:
            data["detail"] = self.detail
        return data


def compute_changes(previous: Snapshot, current: Snapshot) -> tuple[Change, ...]:
    """Every change from ``previous`` to ``current`` (both already in one scope)."""
    paid = _paid_statements(previous, current)
    contract_changed = {(s.lead_provider, s.cohort) for s in _contract_diff_scopes(previous,
                                                                                  current)}
    rules = _rules_changes(previous, current)
    declarations, touched = _declaration_changes(previous.declarations,
                                                 current.declarations, paid)
    changes = [
        *_dfe_changes(previous, current),
        *_expected_changes(previous, current, paid, contract_changed, bool(rules), touched),
        *_contract_changes(previous, current),
        *rules,
        *declarations,
    ]
    order = _statement_order(previous, current)
    kind_rank = {k: i for i, k in enumerate(KINDS)}
    changes.sort(key=lambda c: (_RANK[c.severity], kind_rank[c.kind], c.lead_provider or "",
                                c.cohort or 0, order.get((c.lead_provider, c.cohort,
                                                          c.statement), ""),
                                c.statement or "", c.declaration_id or "", c.field or ""))
    return tuple(changes)


# --------------------------------------------------------------------------- statements

StatementKey = tuple[str, int, str]


def _key(row: StatementRow | LineRow) -> StatementKey:
    name = row.name if isinstance(row, StatementRow) else row.statement
    return (row.lead_provider, row.cohort, name)


def _statements(snap: Snapshot, side: str) -> dict[StatementKey, StatementRow]:
    return {_key(s): s for s in snap.statements if s.side == side}


def _lines(snap: Snapshot, side: str) -> dict[StatementKey, dict[str, LineRow]]:
    out: dict[StatementKey, dict[str, LineRow]] = defaultdict(dict)
    for ln in snap.lines:
        if ln.side == side:
            out[_key(ln)][ln.line] = ln
    return out


def _statement_order(*snaps: Snapshot) -> dict[tuple[Any, ...], str]:
    """Statements sort by payment date (names like "April 2024" do not sort)."""
    order: dict[tuple[Any, ...], str] = {}
    for snap in snaps:
        for s in snap.statements:
            if s.payment_date:
                order.setdefault(_key(s), s.payment_date)
    return order


def _paid_statements(*snaps: Snapshot) -> set[StatementKey]:
    """Statements paid: as DfE's statements say where they were given, else as the
    states of the declarations on them say."""
    given = {_key(s) for snap in snaps for s in snap.statements if s.side == DFE}
    paid = {_key(s) for snap in snaps for s in snap.statements if s.side == DFE and s.paid}
    for snap in snaps:
        paid.update(k for k in snap.paid_statements if k not in given)
    return paid


def _money(value: Decimal | None) -> str | None:
    return show(value) if value is not None else None


def _line_text(ln: LineRow | None) -> str | None:
    return _money(ln.amount) if ln is not None else None


def _line_detail(before: LineRow | None, after: LineRow | None) -> str | None:
    """Count and fee of a line, when they say more than the amount."""
    def part(ln: LineRow | None) -> str:
        if ln is None:
            return "no line"
        if ln.declarations is None:
            return _money(ln.amount) or ""
        fee = f" x {show(ln.fee)}" if ln.fee is not None else ""
        return f"{ln.declarations}{fee} = {show(ln.amount)}"
    if (before is None or before.declarations is None) and (after is None or after.declarations is None):
        return None
    return f"{part(before)} -> {part(after)}"


def _dfe_changes(previous: Snapshot, current: Snapshot) -> list[Change]:
    """DfE's statements as the previous run read them against this run's."""
    before_statements, after_statements = _statements(previous, DFE), _statements(current, DFE)
    before_lines, after_lines = _lines(previous, DFE), _lines(current, DFE)
    changes: list[Change] = []
    for key, after in after_statements.items():
        before = before_statements.get(key)
        if before is None:
            continue
        provider, cohort, name = key
        was_paid = before.paid
        severity = ERROR if was_paid else (WARNING if after.paid else INFO)
        paid = was_paid or after.paid
        found: list[Change] = []
        old, new = before_lines.get(key, {}), after_lines.get(key, {})
        if before.total is None or after.total is None:
            # one run had DfE's money for it, the other only its dates (the v3 API's
            # statement list): a different input, not a change DfE made to its money
            old, new = {}, {}
        explained = ZERO
        # DfE's line order is theirs; a stable order of our own: labels sorted
        for label in sorted(old.keys() | new.keys()):
            a, b = old.get(label), new.get(label)
            if a is not None and b is not None and (a.amount, a.declarations, a.fee) == (
                    b.amount, b.declarations, b.fee):
                continue
            effect = (b.amount if b else ZERO) - (a.amount if a else ZERO)
            explained += effect
            found.append(Change(DFE_STATEMENT_CHANGED, provider, cohort, name, None, label,
                                _line_text(a), _line_text(b), effect, paid, None, severity,
                                detail=_line_detail(a, b)))
        if (before.total is not None and after.total is not None
                and after.total - before.total != explained):
            found.append(Change(DFE_STATEMENT_CHANGED, provider, cohort, name, None, "total",
                                _money(before.total), _money(after.total),
                                after.total - before.total, paid, None, severity))
        for field in ("cut_off_date", "payment_date", "output_fee", "paid"):
            old_value, new_value = getattr(before, field), getattr(after, field)
            if old_value != new_value:
                found.append(Change(DFE_STATEMENT_CHANGED, provider, cohort, name, None, field,
                                    _text(old_value), _text(new_value), None, paid, None,
                                    severity if field != "paid" else INFO))
        changes.extend(found)
    return changes


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _expected_changes(previous: Snapshot, current: Snapshot, paid: set[StatementKey],
                      contract_changed: set[tuple[str, int]], rules_changed: bool,
                      touched: set[StatementKey]) -> list[Change]:
    before_statements = _statements(previous, EXPECTED)
    before_lines, after_lines = _lines(previous, EXPECTED), _lines(current, EXPECTED)
    changes = []
    for key, after in _statements(current, EXPECTED).items():
        before = before_statements.get(key)
        if before is None or before.total == after.total:
            continue
        provider, cohort, name = key
        causes = []
        if (provider, cohort) in contract_changed:
            causes.append("contract")
        if rules_changed:
            causes.append("rules")
        if key in touched or not causes:
            causes.append("inputs")  # the declarations, DfE's statements, the as-of date
        old, new = before_lines.get(key, {}), after_lines.get(key, {})
        moved = []
        for label in sorted(old.keys() | new.keys()):
            a, b = old.get(label), new.get(label)
            if a is None or b is None or a.amount != b.amount:
                moved.append(f"{label} {_line_text(a) or '-'} -> {_line_text(b) or '-'}")
        is_paid = key in paid
        changes.append(Change(
            EXPECTED_CHANGED, provider, cohort, name, None, "total", _money(before.total),
            _money(after.total), after.total - before.total if after.total is not None
            and before.total is not None else None, is_paid, causes[0],
            WARNING if is_paid else INFO, tuple(causes), "; ".join(moved) or None))
    return changes


# --------------------------------------------------------------------------- contracts, rules


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested JSON data as ``{"bands.A.per_participant": "995", ...}``.

    >>> flatten({"bands": {"A": {"max": 10}}, "vat_chargeable": True})
    {'bands.A.max': 10, 'vat_chargeable': True}
    """
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(data, list):
        out = {}
        for i, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: data}


def _contract_diff_scopes(previous: Snapshot, current: Snapshot) -> list[Scope]:
    """The scopes whose contract changed: its file (``contract_hash``) and its terms.
    Terms that changed while the file did not are the rules' doing (a band's default
    output/service split is in fees.yaml): a ``rules_changed``, not a contract change;
    a file whose terms read the same (a comment edited) is no change at all."""
    before = {(s.lead_provider, s.cohort): s for s in previous.scopes}
    return [s for s in current.scopes
            if (s.lead_provider, s.cohort) in before
            and before[(s.lead_provider, s.cohort)].contract_hash != s.contract_hash
            and flatten(before[(s.lead_provider, s.cohort)].contract or {})
            != flatten(s.contract or {})]


def _contract_changes(previous: Snapshot, current: Snapshot) -> list[Change]:
    before = {(s.lead_provider, s.cohort): s for s in previous.scopes}
    changes = []
    for scope in _contract_diff_scopes(previous, current):
        old = flatten(before[(scope.lead_provider, scope.cohort)].contract or {})
        new = flatten(scope.contract or {})
        for path in sorted(old.keys() | new.keys()):
            if old.get(path) != new.get(path):
                changes.append(Change(CONTRACT_CHANGED, scope.lead_provider, scope.cohort, None,
                                      None, path, _text(old.get(path)), _text(new.get(path)),
                                      None, False, severity=WARNING))
    return changes


def _rules_changes(previous: Snapshot, current: Snapshot) -> list[Change]:
    old = {r.name: r.sha256 for r in previous.rule_files if r.kind == "rules"}
    new = {r.name: r.sha256 for r in current.rule_files if r.kind == "rules"}
    changes = [Change(RULES_CHANGED, None, None, None, None, name,
                      old[name][:12] if name in old else None,
                      new[name][:12] if name in new else None, None, False, severity=WARNING)
               for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]
    if previous.tool_version != current.tool_version:
        changes.append(Change(RULES_CHANGED, None, None, None, None, "reconcile version",
                              previous.tool_version, current.tool_version, None, False,
                              severity=WARNING))
    return changes


# --------------------------------------------------------------------------- declarations

#: fields whose change is a ``declaration_changed``
_OTHER_FIELDS = ("declaration_type", "participant_id", "delivery_partner_id")


#: the fields of a declaration that come from the input (the rest is our calculation)
INPUT_FIELDS = ("lead_provider", "cohort", "participant_id", "declaration_type", "state",
                "statement", "clawback_statement", "delivery_partner_id")


def _input_differs(old: DeclarationRow, new: DeclarationRow) -> bool:
    return any(getattr(old, f) != getattr(new, f) for f in INPUT_FIELDS)


def _earns(d: DeclarationRow) -> Decimal:
    return d.amount + d.clawback_amount


def _describe(d: DeclarationRow) -> str:
    return f"{d.declaration_type}, {d.state}"


def _changed_rows(previous: Sequence[Declarations], current: Sequence[Declarations]
                  ) -> tuple[dict[str, DeclarationRow], dict[str, DeclarationRow]]:
    """The declarations that differ at all, before and after, by id. One of the few hot
    paths: a declaration that did not change has the same line in both runs, so the
    sets' difference (at C speed) leaves only the lines to take apart."""
    before: dict[str, DeclarationRow] = {}
    after: dict[str, DeclarationRow] = {}
    # a set's lines are taken one (provider, cohort) at a time: a packed set
    # (PackedDeclarations) unpacks them when asked, and lets them go after
    old_sets = {(s.lead_provider, s.cohort): s for s in previous}
    new_sets = {(s.lead_provider, s.cohort): s for s in current}
    for key in sorted(old_sets.keys() | new_sets.keys()):
        old_set, new_set = old_sets.get(key), new_sets.get(key)
        old = set(old_set.lines) if old_set is not None else set()
        new = set(new_set.lines) if new_set is not None else set()
        provider, cohort = key
        for line in sorted(old - new):
            row = DeclarationRow.parse(provider, cohort, line)
            before[row.declaration_id] = row
        for line in sorted(new - old):
            row = DeclarationRow.parse(provider, cohort, line)
            after[row.declaration_id] = row
    return before, after


def _declaration_changes(previous: Sequence[Declarations], current: Sequence[Declarations],
                         paid: set[StatementKey]
                         ) -> tuple[list[Change], set[StatementKey]]:
    """Declaration changes, and the statements (ours) whose declarations changed."""
    before, after_rows = _changed_rows(previous, current)
    changes: list[Change] = []
    touched: set[StatementKey] = set()

    def touch(d: DeclarationRow) -> None:
        if d.expected_statement:
            touched.add((d.lead_provider, d.cohort, d.expected_statement))
        if d.expected_clawback_statement:
            touched.add((d.lead_provider, d.cohort, d.expected_clawback_statement))

    def is_paid(d: DeclarationRow, statement: str | None) -> bool:
        return statement is not None and (d.lead_provider, d.cohort, statement) in paid

    for ident, d in after_rows.items():
        old = before.get(ident)
        if old is None or _input_differs(old, d):
            touch(d)  # only what came from the input: a new fee alone is no cause
            if old is not None:
                touch(old)
        if old is None:
            statement = d.statement or d.expected_statement
            changes.append(Change(DECLARATION_ADDED, d.lead_provider, d.cohort, statement, ident,
                                  None, None, _describe(d), _earns(d), is_paid(d, statement)))
            continue
        for field in ("lead_provider", "cohort"):  # it moved to another (provider, cohort)
            if getattr(old, field) != getattr(d, field):
                changes.append(Change(DECLARATION_CHANGED, d.lead_provider, d.cohort,
                                      d.statement or d.expected_statement, ident, field,
                                      _text(getattr(old, field)), _text(getattr(d, field)),
                                      _earns(d) - _earns(old), is_paid(d, d.statement)))
        if old.state != d.state:
            after = d.state
            statement = d.statement or d.expected_statement
            if d.clawback_statement and d.clawback_statement != old.clawback_statement:
                after = f"{d.state}, clawed back on {d.clawback_statement}"
                statement = d.clawback_statement
            elif d.statement != old.statement:
                after = f"{d.state}, on {d.statement or 'no statement'}"
            changes.append(Change(DECLARATION_STATE_CHANGED, d.lead_provider, d.cohort,
                                  statement, ident, "state", old.state, after,
                                  _earns(d) - _earns(old), is_paid(d, statement)))
        else:
            for field in ("statement", "clawback_statement"):
                a, b = getattr(old, field), getattr(d, field)
                if a != b:
                    moved = d.amount if field == "statement" else d.clawback_amount
                    changes.append(Change(DECLARATION_MOVED, d.lead_provider, d.cohort, b or a,
                                          ident, field, a, b, moved,
                                          is_paid(d, a) or is_paid(d, b)))
        for field in _OTHER_FIELDS:
            a, b = getattr(old, field), getattr(d, field)
            if a != b:
                changes.append(Change(DECLARATION_CHANGED, d.lead_provider, d.cohort,
                                      d.statement or d.expected_statement, ident, field,
                                      _text(a), _text(b), None, is_paid(d, d.statement)))
    for ident, old in before.items():
        if ident not in after_rows:
            statement = old.statement or old.expected_statement
            touch(old)
            changes.append(Change(DECLARATION_REMOVED, old.lead_provider, old.cohort, statement,
                                  ident, None, _describe(old), None, -_earns(old),
                                  is_paid(old, statement)))
    return changes, touched


def summarise(changes: Iterable[Change]) -> dict[str, int]:
    """How many changes of each kind, in :data:`KINDS` order."""
    counts: dict[str, int] = dict.fromkeys(KINDS, 0)
    for c in changes:
        counts[c.kind] += 1
    return {k: n for k, n in counts.items() if n}
