"""User-facing text cites what a user can look up, never the team's own notes.

Rule descriptions, messages and suggestions (shown by ``reconcile rules show``,
``reconcile explain`` and the workbook's Rules sheet), the service-fee policies'
descriptions, the program's finding catalogue, the rules files' error hints and the
contract template are read by finance users, who have DfE's published guidance and
our docs/, not the developers' DOMAIN.md, INTERFACES.md or research notes.
"""

from __future__ import annotations

import re

import pytest

from reconcile.findings import CATALOGUE
from reconcile.rulebook.load import load_rulebook
from reconcile.rulebook.schema import RuleEntry
from reconcile.rulebook.show import render_rulebook
from reconcile.templates import CONTRACT_TEMPLATE

#: citations of files users do not have
PRIVATE = re.compile(r"DOMAIN\.md|INTERFACES|user-needs|research/|seed 00|the brief|"
                     r"STYLE\.md", re.IGNORECASE)


def _texts():
    rulebook = load_rulebook()
    for rule in rulebook.rules:
        yield f"rule {rule.id} description", rule.description
        for part in ("message", "suggestion"):
            text = getattr(rule.then, part, None)
            if text:
                yield f"rule {rule.id} {part}", text
    for name, policy in rulebook.service_fee.policies.items():
        yield f"service-fee policy {name}", policy.description
    for code, info in CATALOGUE.items():
        yield f"catalogue {code}", f"{info.title} {info.suggestion}"
    for name, field in RuleEntry.model_fields.items():
        yield f"rule key {name} hint", field.description or ""
    yield "contract template", CONTRACT_TEMPLATE
    yield "rules show", render_rulebook(rulebook)


@pytest.mark.parametrize("where, text", list(_texts()), ids=lambda v: v[:40])
def test_user_facing_text_cites_nothing_users_do_not_have(where, text):
    assert not PRIVATE.search(text), f"{where}: {PRIVATE.search(text).group(0)!r} in {text!r}"


def test_the_guard_catches_a_private_citation():
    assert PRIVATE.search('Billable (DOMAIN.md "States")')
    assert PRIVATE.search("as seed 002 says")
    assert not PRIVATE.search("DfE's ECF payment rules; see docs/rules.md")
