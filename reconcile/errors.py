"""Errors that stop a run: bad input, bad rules, bad usage. All exit with status 2.

Findings (discrepancies, ineligible declarations) are *not* errors: they are
collected as :class:`reconcile.findings.Finding` records. An exception here means
"cannot continue": the CLI prints every :class:`Problem` it carries, one per line,
as ``where: what is wrong — how to fix``, writes nothing, and exits 2.
"""

from __future__ import annotations

from typing import NamedTuple

from reconcile.model import Source

#: how many problems one error prints before summarising the rest
PROBLEM_LIMIT = 200


class Problem(NamedTuple):
    """One thing wrong with one place of an input."""

    source: Source
    what: str
    fix: str = ""

    def __str__(self) -> str:
        where = str(self.source)
        text = f"{where}: {self.what}" if where else self.what
        return f"{text} — {self.fix}" if self.fix else text


class ReconcileError(Exception):
    """Cannot continue (the command line exits 2). Carries every problem found."""

    kind = "error"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...] | str):
        if isinstance(problems, str):
            problems = (Problem(Source(""), problems),)
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self, limit: int = PROBLEM_LIMIT) -> str:
        lines = [str(p) for p in self.problems[:limit]]
        hidden = len(self.problems) - limit
        if hidden > 0:
            lines.append(f"... and {hidden} more problem(s) of the same input")
        return "\n".join(lines)


class InputError(ReconcileError):
    """A declarations, statements or contract file cannot be read as it is."""

    kind = "input error"


class RuleError(ReconcileError):
    """The rulebook (rules/*.yaml, contracts) is not valid."""

    kind = "rule error"


class UsageError(ReconcileError):
    """Options that do not go together, a missing file, an unknown name."""

    kind = "usage error"
