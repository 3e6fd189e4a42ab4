"""Frozen domain types shared by every stage.

Inputs (what the readers produce): :class:`Source`, :class:`Declaration`,
:class:`DfeStatement` with its :class:`DfeLine` rows.
Results (what the calculation produces): :class:`ExpectedStatement` with its
:class:`PaymentLine` rows and :class:`Attribution` per declaration.

Everything is immutable (``NamedTuple`` inside, for speed at a million rows);
collections inside records are tuples. Money is ``Decimal``; dates are
``datetime.date``; moments are timezone-aware ``datetime`` in UTC.

Participant types: ``ect`` (course ``ecf-induction``) and ``mentor``
(``ecf-mentor``); the mapping lives in ``rules/vocabulary.yaml``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple


def normal_name(text: object) -> str:
    """A name (a provider's, a statement's) as names are compared: without case or extra
    spaces; nothing given is "".

    >>> normal_name(" may  2023") == normal_name("May 2023")
    True
    >>> normal_name(None)
    ''
    """
    return " ".join(str(text or "").split()).casefold()


class Source(NamedTuple):
    """Where a value came from: file, sheet, row, column; or file:line for YAML.

    >>> str(Source("decl.xlsx", "Declarations", 17, "declaration_type"))
    'decl.xlsx, sheet Declarations, row 17, column declaration_type'
    >>> str(Source("rules/fees.yaml", line=12))
    'rules/fees.yaml:12'
    """

    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


class Declaration(NamedTuple):
    """One declaration as the lead provider (or DfE's report) holds it.

    ``state`` is dasherized (``awaiting-clawback``); ``participant_type`` is
    ``ect`` or ``mentor``. ``file``/``sheet``/``row`` locate it in its input.
    """

    declaration_id: str
    participant_id: str
    course_identifier: str
    participant_type: str
    declaration_type: str
    declaration_date: dt.datetime
    state: str
    cohort: int
    lead_provider: str | None = None
    created_at: dt.datetime | None = None
    statement_id: str | None = None
    statement_name: str | None = None
    clawback_statement_id: str | None = None
    clawback_statement_name: str | None = None
    delivery_partner_id: str | None = None
    delivery_partner_name: str | None = None
    pupil_premium_uplift: bool = False
    sparsity_uplift: bool = False
    #: the participant's schedule; None when no input gives it (the v3 API's declarations
    #: carry none): the checks that need a schedule are then not run on it
    schedule_identifier: str | None = None
    teacher_reference_number: str | None = None
    file: str = ""
    sheet: str | None = None
    row: int | None = None
    #: the v3 API's ``uplift_paid``: DfE paid an uplift on it, so the participant has
    #: the pupil premium or the sparsity flag even where the file does not say which
    uplift_paid: bool = False
    #: when DfE last changed it (the v3 API's ``updated_at``): of two copies of one
    #: declaration in two inputs, the later one wins
    updated_at: dt.datetime | None = None

    @property
    def source(self) -> Source:
        return Source(self.file, self.sheet, self.row)

    @property
    def submitted_at(self) -> dt.datetime:
        """When it was submitted: ``created_at``, else its declaration date."""
        return self.created_at or self.declaration_date


class DfeLine(NamedTuple):
    """One money line of a DfE statement (README "Input: DfE statements", sheet ``Lines``)."""

    statement_id: str
    line_type: str  # output clawback uplift uplift_clawback service_fee adjustment vat
    amount: Decimal
    participant_type: str | None = None
    declaration_type: str | None = None
    band: str | None = None
    count: int | None = None  # type: ignore[assignment]  # tuple.count is never called
    fee_per_declaration: Decimal | None = None
    description: str | None = None
    source: Source | None = None


class DfeStatement(NamedTuple):
    """A statement as DfE published it (metadata, optionally its money lines)."""

    statement_id: str | None
    lead_provider: str | None
    cohort: int
    name: str  # "May 2023"
    cut_off_date: dt.date | None
    payment_date: dt.date | None
    output_fee: bool
    paid: bool = False
    vat_chargeable: bool | None = None
    total: Decimal | None = None
    lines: tuple[DfeLine, ...] = ()
    source: Source | None = None
    #: the contract version DfE calculated it with (ECF statements' contract_version)
    contract_version: str | None = None
    #: when DfE last changed it (the v3 API's updated_at); None from a workbook
    updated_at: dt.datetime | None = None


class PartnerDetails(NamedTuple):
    """A delivery partner as the lead provider's partners file (``--partners``) gives it:
    the name, email and postal address its remittances are headed with."""

    delivery_partner_id: str
    name: str | None = None
    email: str | None = None
    address: str | None = None
    source: Source | None = None


#: what a contract is for: (lead provider, cohort)
ContractKey = tuple[str, int]


class StatementKey(NamedTuple):
    """Identity of a statement across both sides: provider, cohort, name."""

    lead_provider: str
    cohort: int
    name: str

    def __str__(self) -> str:
        return f"{self.lead_provider} / {self.cohort} / {self.name}"


class PaymentLine(NamedTuple):
    """An output-payment or clawback line: a declaration type in a band.

    ``band`` is ``None`` for flat-rate mentor lines. ``fee_per_declaration`` is
    exact; ``amount`` is ``money.line_amount(count, fee)``, negative for clawbacks.
    """

    participant_type: str
    declaration_type: str
    band: str | None
    count: int  # type: ignore[assignment]  # a field named count: tuple.count is never called on it
    fee_per_declaration: Decimal
    amount: Decimal


class CountAmount(NamedTuple):
    count: int  # type: ignore[assignment]  # a field named count: tuple.count is never called on it
    amount: Decimal


class Attribution(NamedTuple):
    """What one declaration earns (or gives back) on one statement, and why.

    ``kind`` is ``output`` or ``clawback``; ``band`` is ``None`` for flat-rate
    lines and for declarations past the last band (``unpaid`` is then True).
    ``fee`` and ``uplift`` are signed (negative for clawbacks) and the attributions
    of a statement add up exactly to its lines.
    """

    declaration_id: str
    statement: StatementKey
    kind: str
    participant_type: str
    declaration_type: str
    band: str | None
    fee: Decimal
    uplift: Decimal
    unpaid: bool = False
    delivery_partner_id: str | None = None
    delivery_partner_name: str | None = None
    participant_id: str | None = None


class ExpectedStatement(NamedTuple):
    """What DfE should pay on one statement, computed from the declarations."""

    key: StatementKey
    statement_id: str | None
    cut_off_date: dt.date | None
    payment_date: dt.date | None
    output_fee: bool
    output_payments: tuple[PaymentLine, ...]
    clawbacks: tuple[PaymentLine, ...]
    uplift: CountAmount
    uplift_clawback: CountAmount
    service_fee: Decimal
    adjustments: Decimal
    net: Decimal
    vat: Decimal
    total: Decimal
    #: counts shown on a DfE statement: started, retained, completed, extended,
    #: voided, clawed_back (state clawed-back), awaiting_clawback
    counts: tuple[tuple[str, int], ...] = ()
    #: the contract version this statement is calculated with: DfE's name for it when
    #: the contract gives one (e.g. 0.0.3), else None
    contract_version: str | None = None
    #: the first statement of that version's terms (None: the contract's first terms)
    terms_from: str | None = None
