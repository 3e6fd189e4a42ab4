"""The delivery-partner split policy: ``rules/split.yaml`` as a validated, frozen value.

Stage: rulebook (loading). In: the YAML file (through :mod:`reconcile.rulebook.yamlsrc`,
so every value knows its line). Out: a :class:`SplitPolicy`, or a
:class:`~reconcile.errors.RuleError` listing every problem as ``file:line: what — fix``.

The policy says how :mod:`reconcile.split` divides each statement's net payment
between the lead provider's delivery partners (docs/domain.md "People and things": an
LP passes part of each payment on to its DPs):

* ``output_fees.attribution``: ``band`` — each declaration brings what the calculation
  attributed to it (the fee of the band it fell into); ``blended`` — every declaration of a type on a statement brings the same
  blended rate (the type's output total ÷ its count), so the order declarations were
  banded in does not decide which partner is paid at which band;
* ``service_fee.basis``: what the service fee is shared in proportion to;
* ``adjustments.to``: who carries manual adjustments;
* ``retained``: the percentage of each partner's money the lead provider keeps;
* ``paid.basis``: what a remittance pays when DfE's statement is given: the expected
  amounts, or DfE's net divided in proportion to them (issue 17).

Example::

    >>> policy = parse_split_policy(
    ...     "output_fees: {attribution: blended}\\nretained: {percentage: 10}\\n", "split.yaml")
    >>> policy.output_fees.attribution, policy.retained.percentage_for("DP-1")
    ('blended', Decimal('10'))
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from reconcile.errors import Problem, RuleError
from reconcile.rulebook.yamlsrc import Located, load_yaml, parse_yaml

#: the money components of a partner's share (vocabulary: the columns of the split)
Component = Literal["output", "uplift", "clawbacks", "service_fee", "adjustments"]
COMPONENTS: tuple[Component, ...] = ("output", "uplift", "clawbacks", "service_fee",
                                     "adjustments")

#: what the service fee (and adjustments, when they follow it) is shared in proportion to
BASES = ("declarations_to_date", "declarations_on_statement", "output_fees_on_statement",
         "equal", "lead_provider")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OutputFees(_Frozen):
    """How output fees (and output clawbacks) reach partners."""

    attribution: Literal["band", "blended"] = "band"


class ServiceFeeShare(_Frozen):
    """How a statement's service fee is shared between partners.

    ``declarations_to_date``: the partner's billable declarations of ``declaration_types``
    on this and every earlier statement of the provider and cohort, less those clawed
    back (with ``[started]``: the participants it has recruited so far).
    ``declarations_on_statement``: its billable declarations of ``declaration_types``
    (every type when the list is empty) on this statement. ``output_fees_on_statement``:
    its output fees on this statement. ``equal``: the same for every partner that has
    had a declaration on this or an earlier statement. ``lead_provider``: not shared.
    When no partner has anything on the basis (e.g. a service-fee-only month with
    ``declarations_on_statement``), ``fallback`` is used; the lead provider keeps
    what no basis can share.
    """

    basis: Literal["declarations_to_date", "declarations_on_statement",
                   "output_fees_on_statement", "equal", "lead_provider"] = "declarations_to_date"
    declaration_types: tuple[str, ...] = ()
    fallback: Literal["declarations_to_date", "declarations_on_statement",
                      "output_fees_on_statement", "equal", "lead_provider"] = "lead_provider"


class Adjustments(_Frozen):
    """Who carries a statement's manual adjustments (and any other amount in its net)."""

    to: Literal["lead_provider", "service_fee_basis"] = "lead_provider"


class PartnerRetained(_Frozen):
    """A retained percentage agreed with one partner (overrides the default)."""

    delivery_partner_id: str = Field(min_length=1)
    name: str | None = None  # for the reader of the YAML only
    percentage: Decimal = Field(ge=0, le=100)


class Retained(_Frozen):
    """The lead provider's retained share: ``percentage`` % of each partner's money.

    Applied per partner and statement to the sum of the components in ``applies_to``
    (by default all of them, i.e. the partner's gross), and rounded half up to the
    penny. It is signed: when a partner's gross is negative (more clawed back than
    paid), the lead provider bears its percentage of the clawback too, as it kept
    that percentage of the original payment.
    """

    percentage: Decimal = Field(default=Decimal(0), ge=0, le=100)
    applies_to: tuple[Component, ...] = COMPONENTS
    partners: tuple[PartnerRetained, ...] = ()

    def percentage_for(self, delivery_partner_id: str | None) -> Decimal:
        for partner in self.partners:
            if partner.delivery_partner_id == delivery_partner_id:
                return partner.percentage
        return self.percentage


class Paid(_Frozen):
    """What a partner's remittance pays on a statement DfE has given.

    ``expected``: the amounts worked out from the declarations. ``dfe``: DfE's net for
    the statement divided in proportion to the expected amounts (each partner's amount
    payable and the lead provider's retained share), to the penny by largest
    remainder, so the shares add up exactly to DfE's net. Both are shown, with the
    difference; without DfE's statement (or its money) the expected amounts are paid.
    """

    basis: Literal["expected", "dfe"] = "expected"


class SplitPolicy(_Frozen):
    """The whole of ``rules/split.yaml``."""

    output_fees: OutputFees = OutputFees()
    service_fee: ServiceFeeShare = ServiceFeeShare()
    adjustments: Adjustments = Adjustments()
    retained: Retained = Retained()
    paid: Paid = Paid()
    #: ``file:line`` of the policy, for explanations (set by the loader, not the YAML)
    source: str = ""

    def describe(self) -> tuple[tuple[str, str], ...]:
        """The policy in words, for the workbooks' notes and the worked example."""
        types = ", ".join(self.service_fee.declaration_types) or "every type"
        basis = {
            "declarations_to_date": f"each partner's billable declarations ({types}) to date, "
                                    "less clawbacks",
            "declarations_on_statement": f"each partner's billable declarations ({types}) "
                                         "on the statement",
            "output_fees_on_statement": "each partner's output fees on the statement",
            "equal": "equally between the partners seen so far",
            "lead_provider": "not shared: the lead provider keeps it",
        }
        overrides = "; ".join(f"{p.name or p.delivery_partner_id}: {p.percentage}%"
                              for p in self.retained.partners)
        return (
            ("Output fees", "as the calculation attributed them: the fee of the band each "
             "declaration fell into" if self.output_fees.attribution == "band" else
             "a blended rate per statement and declaration type (output total ÷ count)"),
            ("Uplifts and clawbacks", "to the delivery partner stamped on the declaration"),
            ("Service fee", basis[self.service_fee.basis]
             + ("" if self.service_fee.basis == "lead_provider" else
                f"; when nobody has any: {basis[self.service_fee.fallback]}")),
            ("Adjustments", "kept by the lead provider" if self.adjustments.to == "lead_provider"
             else "shared like the service fee"),
            ("Retained by the lead provider",
             f"{self.retained.percentage}% of each partner's "
             + ("gross" if set(self.retained.applies_to) == set(COMPONENTS) else
                " + ".join(c.replace("_", " ") for c in self.retained.applies_to) or "nothing")
             + (f" (agreed per partner: {overrides})" if overrides else "")),
            ("Paid", "the expected amounts (DfE's share shown beside them when its "
             "statement is given)" if self.paid.basis == "expected" else
             "DfE's net for the statement divided in proportion to the expected amounts "
             "(the expected amounts when DfE's statement is not given)"),
            ("Rounding", ("each line is divided to the penny by largest remainder "
                          "(ties to the lower partner id); the retained share is rounded "
                          "half up")),
            ("Policy file", self.source),
        )


def _nice(error: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    """A pydantic error as (what is wrong, how to fix it), in the user's words."""
    loc = [str(p) for p in error["loc"] if not str(p).startswith("function-")]
    where = ".".join(loc) or "the file"
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        fields = _fields_at(model, error["loc"][:-1])
        close = difflib.get_close_matches(loc[-1], fields, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"unknown key {loc[-1]!r} in {'.'.join(loc[:-1]) or 'the top level'}",
                f"{hint}allowed keys: {', '.join(fields)}")
    if kind == "literal_error":
        allowed = [a.strip().strip("'") for a in
                   error.get("ctx", {}).get("expected", "").replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(value), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (f"{where}: {value!r} is not allowed", f"{hint}use one of: {', '.join(allowed)}")
    if kind == "missing":
        return f"{where} is missing", f"add {loc[-1]}"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{where}: {value} is not a percentage", "write a number from 0 to 100"
    if kind in ("decimal_parsing", "decimal_type"):
        return f"{where}: {value!r} is not a number", "write a number, e.g. 7.5"
    return f"{where}: {error['msg']} (got {value!r})", "see rules/split.yaml's comments"


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            break
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)),
                     model)
    return [f for f in model.model_fields if f != "source"]


def split_policy_from(doc: Located, declaration_types: tuple[str, ...] = ()) -> SplitPolicy:
    """Validate a loaded document; ``declaration_types`` (the vocabulary) checks the names used."""
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise RuleError([Problem(doc.source(), "the split policy must be a mapping of settings",
                                 "start from the bundled rules/split.yaml")])
    if "source" in data:
        raise RuleError([Problem(doc.source(("source",)), "unknown key 'source'",
                                 "remove it: the file's place is recorded by the loader")])
    try:
        policy = SplitPolicy.model_validate({**data, "source": doc.file})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            what, fix = _nice(error, SplitPolicy)
            problems.append(Problem(doc.source(tuple(error["loc"])), what, fix))
        raise RuleError(problems) from None
    problems = []
    for what, items in (("delivery partner", [p.delivery_partner_id
                                              for p in policy.retained.partners]),
                        ("component", list(policy.retained.applies_to))):
        for i, item in enumerate(items):
            if item in items[:i]:
                path = (("retained", "partners", i, "delivery_partner_id")
                        if what == "delivery partner" else ("retained", "applies_to", i))
                problems.append(Problem(doc.source(path), f"{what} {item!r} is listed twice",
                                        "keep one of them"))
    if declaration_types:
        for i, name in enumerate(policy.service_fee.declaration_types):
            if name not in declaration_types:
                close = difflib.get_close_matches(name, declaration_types, n=1)
                problems.append(Problem(
                    doc.source(("service_fee", "declaration_types", i)),
                    f"unknown declaration type {name!r}",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + f"use one of: {', '.join(declaration_types)}"))
    if problems:
        raise RuleError(problems)
    return policy


def parse_split_policy(text: str, file: str = "split.yaml",
                       declaration_types: tuple[str, ...] = ()) -> SplitPolicy:
    """A split policy from YAML text (tests, and policies written by hand)."""
    return split_policy_from(parse_yaml(text, file), declaration_types)


def load_split_policy(path: str | Path, display: str | None = None,
                      declaration_types: tuple[str, ...] = ()) -> SplitPolicy:
    """Read and validate ``split.yaml``; raises RuleError with every problem as file:line."""
    return split_policy_from(load_yaml(path, display), declaration_types)
