"""What the history records of one run: a :class:`Snapshot` value (pure).

Stage: history (after compare and split, before report). In: the pipeline's
``RunResult`` (its options, rulebook, declarations, DfE statements, calculation,
comparison and findings). Out: a :class:`Snapshot` of plain rows — the run's date,
command, tool version, the hashes of its rules and of each contract's terms, each
input file's path and SHA-256, every expected and DfE statement with its lines,
every declaration's state, statements (DfE's and ours), band, money and delivery
partner, and every finding with its :func:`fingerprint`. The store
(:mod:`reconcile.history.store`) writes a snapshot and reads one back in the same
shape, so changes between two runs (:mod:`reconcile.history.changes`) are computed
between two values of one type.

A run's *scope* is the set of (lead provider, cohort) pairs it covers; a lead
provider is named as its contract names it (declarations may spell it in another
case), so runs from differently typed files still meet.

Money is ``Decimal`` here and text with its exact digits in the store.

Example::

    snap = snapshot_of(result, command="run")
    snap.scopes            # (Scope('Example Teaching Institute', 2023, '5be1…', {...}), ...)
    snap.declarations[0]   # PackedDeclarations("Example Teaching Institute", 2023, 1500, b"...")
    snap.declarations[0].lines[0]   # "<declaration id>\x1f<participant id>\x1f..." (unpacked)
"""

from __future__ import annotations

import codecs
import datetime as dt
import enum
import hashlib
import json
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from reconcile import __version__
from reconcile.findings import Finding, figure_text
from reconcile.model import Attribution, Declaration, DfeLine, ExpectedStatement
from reconcile.money import ZERO, show
from reconcile.result import RunOptions, RunResult

if TYPE_CHECKING:
    from reconcile.compare import Comparison
    from reconcile.rulebook.load import Rulebook

EXPECTED, DFE = "expected", "dfe"


class Scope(NamedTuple):
    """One (lead provider, cohort) of a run, with the hash and terms of its contract."""

    lead_provider: str
    cohort: int
    #: SHA-256 of the contract's file, what the provider agreed (a digest of its terms
    #: when it has no file); the terms below are resolved with the rulebook's defaults
    #: (a band's output/service split), so they can change when only the rules did
    contract_hash: str | None
    contract: Mapping[str, Any] | None  # the contract's terms as plain JSON data


class InputRow(NamedTuple):
    role: str
    path: str
    sha256: str
    size: int


class RuleFileRow(NamedTuple):
    """A rule file (``kind`` ``rules``) or contract file (``contract``) the run read."""

    name: str
    sha256: str
    kind: str


class StatementRow(NamedTuple):
    """A statement of one side (``expected`` or ``dfe``) and its totals."""

    side: str
    lead_provider: str
    cohort: int
    name: str
    statement_id: str | None
    cut_off_date: str | None
    payment_date: str | None
    output_fee: bool
    paid: bool
    net: Decimal | None
    vat: Decimal | None
    total: Decimal | None


class LineRow(NamedTuple):
    """One money line of a statement: ``line`` is its label, e.g. ``output ect started A``."""

    side: str
    lead_provider: str
    cohort: int
    statement: str
    line: str
    declarations: int | None  # the line's count of declarations
    fee: Decimal | None
    amount: Decimal


#: the fields of a declaration in a :class:`DeclarationSet` line, in order: DfE's
#: ``statement`` and ``clawback_statement`` (from the input), our ``expected_*``
#: statements, band, ``amount`` earned on the payment statement (fee + uplift) and
#: ``clawback_amount`` (negative); money as exact text
DECLARATION_FIELDS = ("declaration_id", "participant_id", "declaration_type", "state",
                      "statement", "clawback_statement", "delivery_partner_id",
                      "expected_statement", "band", "amount", "expected_clawback_statement",
                      "clawback_amount")
#: between the fields of a line (the ASCII unit separator); a missing value is empty
SEPARATOR = "\x1f"


class DeclarationSet(NamedTuple):
    """The declarations of one (lead provider, cohort), one text line per declaration:
    its :data:`DECLARATION_FIELDS` joined by :data:`SEPARATOR`, lines in id order.

    Lines, not records, because a run can hold a million declarations: lines are
    stored as one compressed text, read back with one split, and two runs' sets are
    compared as sets of strings (only the lines that differ are taken apart).
    """

    lead_provider: str
    cohort: int
    lines: list[str]

    @property
    def size(self) -> int:
        """The number of declarations (lines)."""
        return len(self.lines)

    @property
    def data(self) -> bytes:
        """The lines as the store keeps them (:func:`pack_lines`)."""
        return pack_lines(self.lines)


class PackedDeclarations(NamedTuple):
    """A :class:`DeclarationSet` as the store keeps it: its ``size`` lines as one
    compressed text (:func:`pack_lines`), taken apart only when :attr:`lines` is asked
    for. What a run holds from its history stage to its write stage: at two million
    declarations the packed text is tens of MB where the lines are hundreds."""

    lead_provider: str
    cohort: int
    size: int
    data: bytes

    @property
    def lines(self) -> list[str]:
        """The lines again, in order (a new list at each call)."""
        return unpack_lines(self.data)


#: a run's declarations of one (lead provider, cohort), as lines or packed
Declarations = DeclarationSet | PackedDeclarations


def pack_lines(lines: list[str]) -> bytes:
    """Lines as one text, compressed fast (level 1: most of the gain, a fraction of the
    time of the default level); what the store writes.

    >>> unpack_lines(pack_lines(["line one", "line two"]))
    ['line one', 'line two']
    """
    return zlib.compress("\n".join(lines).encode("utf-8"), 1)


def packed_size(data: bytes) -> int:
    """The number of lines :func:`pack_lines` packed into ``data``, read through once in
    pieces (never the whole text at once): raises as :func:`unpack_lines` would if
    ``data`` is damaged.

    >>> packed_size(pack_lines(["line one", "line two"])), packed_size(pack_lines([]))
    (2, 0)
    """
    inflate = zlib.decompressobj()
    decode = codecs.getincrementaldecoder("utf-8")()
    breaks, chars, piece = 0, 0, data
    while not inflate.eof:
        chunk = inflate.decompress(piece, 1 << 20)
        piece = inflate.unconsumed_tail
        if not chunk and not piece and not inflate.eof:
            raise zlib.error("the compressed text is cut short")
        text = decode.decode(chunk)
        breaks += text.count("\n")
        chars += len(text)
    decode.decode(b"", final=True)  # raises if the text ends within a character
    return breaks + 1 if chars else 0


def unpack_lines(data: bytes) -> list[str]:
    """The lines of :func:`pack_lines` (raises ``zlib.error`` or ``ValueError`` if damaged)."""
    text = zlib.decompress(data).decode("utf-8")
    return text.split("\n") if text else []


class DeclarationRow(NamedTuple):
    """One declaration of a :class:`DeclarationSet`, taken apart (money as Decimal)."""

    lead_provider: str
    cohort: int
    declaration_id: str
    participant_id: str
    declaration_type: str
    state: str
    statement: str | None
    clawback_statement: str | None
    delivery_partner_id: str | None
    expected_statement: str | None
    band: str | None
    amount: Decimal
    expected_clawback_statement: str | None
    clawback_amount: Decimal

    @classmethod
    def parse(cls, lead_provider: str, cohort: int, line: str) -> DeclarationRow:
        f: list[Any] = [v or None for v in line.split(SEPARATOR)]
        f[9], f[11] = Decimal(f[9] or 0), Decimal(f[11] or 0)
        return cls(lead_provider, cohort, *f)


def declaration_line(fields: Sequence[str | None]) -> str:
    """A declaration's line (missing values empty).

    >>> declaration_line(["d1", "p1", "started", "paid", "May 2024", None, None,
    ...                   "May 2024", "A", "119.40", None, "0.00"]).split(SEPARATOR)[4:6]
    ['May 2024', '']
    """
    return SEPARATOR.join(v or "" for v in fields)


class FindingRow(NamedTuple):
    fingerprint: str
    code: str
    severity: str
    lead_provider: str | None
    cohort: int | None
    statement: str | None
    declaration_id: str | None
    line: str | None
    expected: str | None
    actual: str | None
    difference: str | None
    message: str
    amount: str | None = None  # the money difference, when it is money
    #: the money at stake: for a finding on a statement line, DfE's line minus ours
    #: (a count mismatch says no money of its own, its line does); else ``amount``
    at_stake: str | None = None


def finding_rows(findings: Sequence[Finding], comparison: Comparison | None
                 ) -> tuple[FindingRow, ...]:
    """The findings as the history records them, each with its money at stake: a
    finding on a statement line (``line_key``) stakes the whole line's difference, DfE's
    amount minus ours (an ``OUTPUT_COUNT_MISMATCH`` of 3 against 4 at £120.00: £120.00);
    any other its own money difference; counts and dates alone stake none."""
    line_money: dict[int, Decimal] = {}
    for pair in (comparison.pairs if comparison is not None else ()):
        by_key = {line.key: line.difference for line in pair.lines}
        for f in (*pair.findings, *pair.related):
            if f.line_key is not None and f.line_key in by_key:
                line_money[id(f)] = by_key[f.line_key]
    rows = []
    for fp, f in zip(fingerprints(findings), findings):
        stake = line_money.get(id(f), f.amount)
        rows.append(FindingRow(
            fp, f.code, f.severity.value, f.lead_provider, f.cohort, f.statement,
            f.declaration_id, f.line, figure_text(f.expected), figure_text(f.actual),
            f.difference, f.message, str(f.amount) if f.amount is not None else None,
            show(stake) if stake is not None else None))
    return tuple(rows)


class Snapshot(NamedTuple):
    """Everything the history keeps of one run."""

    as_of: dt.date
    command: str
    tool_version: str
    rules_hash: str
    options: Mapping[str, Any]
    scopes: tuple[Scope, ...]
    inputs: tuple[InputRow, ...]
    rule_files: tuple[RuleFileRow, ...]
    statements: tuple[StatementRow, ...]
    lines: tuple[LineRow, ...]
    declarations: tuple[Declarations, ...]
    findings: tuple[FindingRow, ...]
    #: (lead provider, cohort, statement) DfE has paid declarations on (by their state)
    paid_statements: frozenset[tuple[str, int, str]] = frozenset()

    @property
    def declaration_count(self) -> int:
        return sum(s.size for s in self.declarations)

    def scope_keys(self) -> frozenset[tuple[str, int]]:
        return frozenset((s.lead_provider, s.cohort) for s in self.scopes)


# --------------------------------------------------------------------------- fingerprints


def fingerprint(code: str, lead_provider: str | None, cohort: int | None,
                statement: str | None, subject: str | None, occurrence: int = 1) -> str:
    """A finding's identity across runs: its code and where it is, never its message.

    ``subject`` is the finding's line, else its declaration id. The second finding of
    one run with the same identity (two adjustments of one description, say) is told
    apart by its ``occurrence``. 16 hex digits of SHA-256 (64 bits).

    >>> fingerprint("OUTPUT_COUNT_MISMATCH", "Example", 2023, "May 2024", "output ect started A")
    'bdbe1170ee77e7a1'
    """
    parts = [code, _provider_key(lead_provider), "" if cohort is None else str(cohort),
             statement or "", subject or ""]
    if occurrence > 1:
        parts.append(str(occurrence))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def fingerprints(findings: Iterable[Finding]) -> tuple[str, ...]:
    """The fingerprint of each finding, in order (repeats within the run numbered)."""
    seen: dict[tuple[str, str | None, int | None, str | None, str | None], int] = {}
    out = []
    for f in findings:
        base = (f.code, f.lead_provider, f.cohort, f.statement, f.line or f.declaration_id)
        n = seen[base] = seen.get(base, 0) + 1
        out.append(fingerprint(*base, occurrence=n))
    return tuple(out)


def _provider_key(name: str | None) -> str:
    return " ".join(name.split()).casefold() if name else ""


# --------------------------------------------------------------------------- plain data


def plain(value: Any) -> Any:
    """A domain value as JSON data: records as objects (their ``source`` left out),
    Decimals and dates as text, a tuple of named records as an object keyed by name.

    >>> from reconcile.rulebook.schema import Band
    >>> plain((Band("A", 0, 2000, Decimal("995"), Decimal("60"), Decimal("40")),))
    {'A': {'min': 0, 'max': 2000, 'per_participant': '995', \
'output_payment_percentage': '60', 'service_fee_percentage': '40', 'min_counts_from': 1}}
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral_value() else str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items() if k != "source"}
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__ if k != "source"}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list, set, frozenset)):
        items = list(value)
        names = [getattr(item, "name", None) if hasattr(item, "_asdict") else None
                 for item in items]
        if items and all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            return {n: {k: v for k, v in plain(item).items() if k != "name"}
                    for n, item in zip(names, items)}
        return [plain(item) for item in items]
    return str(value)


def digest(data: Any) -> str:
    """SHA-256 of JSON data in a canonical form (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- the snapshot


def snapshot_of(result: RunResult, command: str, inputs: Iterable[InputRow] = ()) -> Snapshot:
    """The snapshot of a finished run (see the module docstring).

    ``inputs`` are the identities of the input files (path, SHA-256); the run's
    date is its ``--as-of`` (else today).
    """
    options = result.options
    as_of = options.as_of or dt.date.today()
    rulebook = result.rulebook
    provider_of = _ProviderNames(rulebook)
    comparison = result.comparison

    statements: list[StatementRow] = []
    lines: list[LineRow] = []
    for s in result.calculation.statements:
        provider = provider_of(s.key.lead_provider, s.key.cohort)
        statements.append(StatementRow(
            EXPECTED, provider, s.key.cohort, s.key.name, s.statement_id,
            _iso(s.cut_off_date), _iso(s.payment_date), bool(s.output_fee), False,
            s.net, s.vat, s.total))
        lines.extend(LineRow(EXPECTED, provider, s.key.cohort, s.key.name, label, count, fee,
                             amount)
                     for label, count, fee, amount in expected_lines(s))
    dfe_names: dict[str, str] = {}
    for given in result.dfe_statements:
        if given.statement_id:
            dfe_names[given.statement_id] = given.name
    if comparison is not None:
        for pair in comparison.pairs:
            d = pair.dfe
            if d is None:
                continue
            provider = provider_of(pair.key.lead_provider, pair.key.cohort)
            statements.append(StatementRow(
                DFE, provider, pair.key.cohort, pair.key.name, d.statement_id,
                _iso(d.cut_off_date), _iso(d.payment_date), bool(d.output_fee), bool(d.paid),
                pair.dfe_net, pair.dfe_vat, pair.dfe_total))
            lines.extend(LineRow(DFE, provider, pair.key.cohort, pair.key.name, label, count,
                                 fee, amount)
                         for label, count, fee, amount in dfe_lines(d.lines))

    declarations, paid_statements = _declaration_sets(result, provider_of, dfe_names)
    scopes = _scopes(rulebook, provider_of, statements, declarations)
    rule_files = _rule_files(rulebook)
    findings = finding_rows(result.findings, result.comparison)
    rules_hash = digest([[r.name, r.sha256] for r in rule_files if r.kind == "rules"])
    return Snapshot(
        as_of=as_of, command=command, tool_version=__version__, rules_hash=rules_hash,
        options=_options(options), scopes=scopes, inputs=tuple(inputs),
        rule_files=rule_files, statements=tuple(statements), lines=tuple(lines),
        declarations=declarations, findings=findings, paid_statements=paid_statements)


class _ProviderNames:
    """A lead provider as its contract names it (memoised: called per declaration)."""

    def __init__(self, rulebook: Rulebook) -> None:
        self._rulebook = rulebook
        self._cache: dict[tuple[str | None, int], str] = {}

    def __call__(self, name: str | None, cohort: int) -> str:
        key = (name, cohort)
        found = self._cache.get(key)
        if found is None:
            contract = self._rulebook.contract_for(name, cohort)
            found = self._cache[key] = (contract.lead_provider if contract is not None
                                        else " ".join((name or "").split()))
        return found


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def expected_lines(s: ExpectedStatement) -> Iterable[tuple[str, int | None, Decimal | None, Decimal]]:
    """An expected statement's money lines, labelled like :func:`dfe_lines`."""
    for section, rows in (("output", s.output_payments), ("clawback", s.clawbacks)):
        for ln in rows:
            yield (line_label(section, ln.participant_type, ln.declaration_type, ln.band),
                   ln.count, ln.fee_per_declaration, ln.amount)
    if s.uplift.count or s.uplift.amount:
        yield "uplift", s.uplift.count, None, s.uplift.amount
    if s.uplift_clawback.count or s.uplift_clawback.amount:
        yield "uplift_clawback", s.uplift_clawback.count, None, s.uplift_clawback.amount
    yield "service_fee", None, None, s.service_fee
    if s.adjustments:
        yield "adjustment", None, None, s.adjustments
    yield "vat", None, None, s.vat


def dfe_lines(rows: Iterable[DfeLine]) -> Iterable[tuple[str, int | None, Decimal | None, Decimal]]:
    """DfE's lines of one statement, those of one label added together."""
    merged: dict[str, list[Any]] = {}
    for ln in rows:
        label = line_label(ln.line_type, ln.participant_type, ln.declaration_type, ln.band,
                           ln.description if ln.line_type == "adjustment" else None)
        if label in merged:
            entry = merged[label]
            entry[0] = None if entry[0] is None or ln.count is None else entry[0] + ln.count
            entry[1] = entry[1] if entry[1] == ln.fee_per_declaration else None
            entry[2] += ln.amount
        else:
            merged[label] = [ln.count, ln.fee_per_declaration, ln.amount]
    for label, (count, fee, amount) in merged.items():
        yield label, count, fee, amount


def line_label(section: str, participant_type: str | None = None,
               declaration_type: str | None = None, band: str | None = None,
               description: str | None = None) -> str:
    """``output ect started A``; ``adjustment: <description>``; ``service_fee``."""
    parts = [section, *(p for p in (participant_type, declaration_type, band) if p)]
    label = " ".join(parts)
    return f"{label}: {description}" if description else label


def _declaration_sets(result: RunResult, provider_of: _ProviderNames, dfe_names: Mapping[str, str]
                      ) -> tuple[tuple[PackedDeclarations, ...], frozenset[tuple[str, int, str]]]:
    """One line per declaration id (the first, if an id came twice), with our money,
    grouped by (lead provider, cohort), each group's lines sorted and packed; and the
    statements DfE has paid declarations on.

    Memory is what bounds a national run (two million declarations), so the lines are
    never all held at once: the declarations are first grouped by their positions,
    then each group's lines are made, sorted, packed and let go."""
    declarations = result.declarations
    # the states of a declaration paid on its (DfE) statement: rules/vocabulary.yaml
    paid_states = result.rulebook.vocabulary.assurance_report.paid_states
    members, paid_statements = declaration_groups(declarations, paid_states, dfe_names)
    merged: dict[tuple[str, int], list[array[int]]] = {}
    for (provider, cohort), positions in members.items():
        merged.setdefault((provider_of(provider, cohort), cohort), []).append(positions)
    del members
    paid_on, clawed_on = shares(result.calculation.attributions)
    sets = []
    for (provider, cohort), parts in sorted(merged.items()):
        lines: list[str] = []
        for positions in parts:
            lines.extend(declaration_lines(declarations, positions, paid_on, clawed_on,
                                           dfe_names))
        if not _well_formed(lines):
            # a value holding a separator or line break (no DfE identifier or name does):
            # replaced by U+FFFD, so that every line still splits into its fields
            lines = []
            for positions in parts:
                lines.extend(declaration_lines(declarations, positions, paid_on, clawed_on,
                                               dfe_names, _clean))
        lines.sort()
        sets.append(PackedDeclarations(provider, cohort, len(lines), pack_lines(lines)))
    paid = frozenset((provider_of(p, c), c, name) for p, c, name in paid_statements)
    return tuple(sets), paid


Share = tuple[str, str, str]  # statement, band ("" for none), money as text


def shares(attributions: Iterable[Attribution]) -> tuple[dict[str, Share], dict[str, Share]]:
    """Each declaration's payment and clawback: (statement, band, fee + uplift as text),
    by declaration id (two shares of one kind, which is rare, added up). The few
    thousand distinct shares are each one tuple, however many declarations share it."""
    paid_on: dict[str, Share] = {}
    clawed_on: dict[str, Share] = {}
    distinct: dict[Share, Share] = {}
    for a in attributions:
        on = clawed_on if a.kind == "clawback" else paid_on
        ident = a.declaration_id
        before = on.get(ident)
        share: Share = ((a.statement.name, a.band or "", str(a.fee + a.uplift))
                        if before is None else
                        (before[0], before[1], str(Decimal(before[2]) + (a.fee + a.uplift))))
        on[ident] = distinct.setdefault(share, share)
    return paid_on, clawed_on


#: the fields read from each declaration to group it: id, provider, cohort, and what
#: says whether DfE paid it on a statement
_GROUPING = attrgetter("declaration_id", "lead_provider", "cohort", "state", "statement_name",
                       "statement_id")
#: the fields read from each declaration, in the order of its line
_DECLARATION = attrgetter("declaration_id", "participant_id", "declaration_type", "state",
                          "statement_name", "statement_id", "clawback_statement_name",
                          "clawback_statement_id", "delivery_partner_id")
_NO_SHARE: Share = ("", "", str(ZERO))


def declaration_groups(declarations: Sequence[Declaration], paid_states: frozenset[str],
                       dfe_names: Mapping[str, str]
                       ) -> tuple[dict[tuple[str | None, int], array[int]],
                                  set[tuple[str | None, int, str]]]:
    """The positions of the declarations by (provider as given, cohort), each id's first
    only, and the statements DfE has paid declarations on (a state of ``paid_states``)."""
    groups: dict[tuple[str | None, int], array[int]] = {}
    paid_statements: set[tuple[str | None, int, str]] = set()
    seen: set[str] = set()
    for i, (ident, provider, cohort, state, statement, statement_id) in enumerate(
            map(_GROUPING, declarations)):
        if ident in seen:
            continue
        seen.add(ident)
        positions = groups.get((provider, cohort))
        if positions is None:
            positions = groups[(provider, cohort)] = array("q")
        positions.append(i)
        if state in paid_states:
            if statement is None and statement_id is not None:
                statement = dfe_names.get(statement_id, statement_id)
            if statement:
                paid_statements.add((provider, cohort, statement))
    return groups, paid_statements


def declaration_lines(declarations: Sequence[Declaration], positions: Iterable[int],
                      paid_on: Mapping[str, Share], clawed_on: Mapping[str, Share],
                      dfe_names: Mapping[str, str], clean: Any = str) -> list[str]:
    """The lines of the declarations at ``positions``; ``clean`` is applied to the
    values that come from the input as free text. A hot loop (a million declarations),
    kept plain: one tuple unpacked and one join per declaration measured faster than
    building the lines column-wise."""
    no_payment = _NO_SHARE
    join = SEPARATOR.join
    lines: list[str] = []
    append = lines.append
    for (ident, participant, dtype, state, statement, statement_id, clawback, clawback_id,
         partner) in map(_DECLARATION, map(declarations.__getitem__, positions)):
        if statement is None and statement_id is not None:
            statement = dfe_names.get(statement_id, statement_id)
        if clawback is None and clawback_id is not None:
            clawback = dfe_names.get(clawback_id, clawback_id)
        paid = paid_on.get(ident, no_payment)
        clawed = clawed_on.get(ident, no_payment)
        append(join((clean(ident), clean(participant), dtype, state,
                     clean(statement or ""), clean(clawback or ""), clean(partner or ""),
                     paid[0], paid[1], paid[2], clawed[0], clawed[2])))
    return lines


def _well_formed(lines: list[str]) -> bool:
    """Every line splits into its fields (checked at C speed over the whole set)."""
    text = "\n".join(lines)
    return (text.count(SEPARATOR) == (len(DECLARATION_FIELDS) - 1) * len(lines)
            and text.count("\n") == len(lines) - 1 and "\r" not in text)


def _clean(value: str) -> str:
    return value.replace(SEPARATOR, "\ufffd").replace("\n", "\ufffd").replace("\r", "\ufffd")


def _scopes(rulebook: Rulebook, provider_of: _ProviderNames, statements: Iterable[StatementRow],
            declarations: Iterable[Declarations]) -> tuple[Scope, ...]:
    keys = {(s.lead_provider, s.cohort) for s in statements}
    keys.update((d.lead_provider, d.cohort) for d in declarations)
    file_sha = dict(rulebook.files)
    scopes = []
    for provider, cohort in sorted(keys):
        contract = rulebook.contract_for(provider, cohort) if provider else None
        terms = plain(contract) if contract is not None else None
        sha = file_sha.get(str(contract.source.file)) if contract is not None else None
        scopes.append(Scope(provider, cohort,
                            sha or (digest(terms) if terms is not None else None), terms))
    return tuple(scopes)


def _rule_files(rulebook: Rulebook) -> tuple[RuleFileRow, ...]:
    """Every file the rulebook read: contract files by path, rule files by name (moving
    the rules folder is not a change of rules)."""
    contract_files = {str(c.source.file) for c in rulebook.contracts.values()}
    rows = []
    for display, sha in rulebook.files:
        if display in contract_files:
            rows.append(RuleFileRow(display, sha, "contract"))
        else:
            rows.append(RuleFileRow(Path(display).name, sha, "rules"))
    return tuple(sorted(rows))


def _options(options: RunOptions) -> dict[str, Any]:
    """The run's options worth keeping (as JSON data)."""
    keep = {}
    for name, value in options._asdict().items():
        if name in ("quiet",):
            continue
        keep[name] = plain(value)
    return keep
