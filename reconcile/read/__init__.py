"""Readers (read stage): input files in, frozen domain records out, or an InputError.

In: a declarations file (``.xlsx``, ``.csv``, v3 API ``.json``; INTERFACES.md §2) and
optionally a DfE statements file (``.xlsx`` with sheets Statements and Lines, or v3
API statements ``.json``; INTERFACES.md §3).
Out: ``tuple[Declaration, ...]`` and ``tuple[DfeStatement, ...]`` (:mod:`reconcile.model`).

Every file is checked before it is parsed (:mod:`.guard`: right content for its
extension, not empty, not encrypted, not a zip bomb, not too big). Every problem
found becomes a :class:`~reconcile.errors.Problem` naming file, sheet, row and
column, what is wrong and how to fix it; all of them (up to 200) are raised together
as one :class:`~reconcile.errors.InputError` (exit 2, nothing written).

Example::

    from reconcile.read import read_declarations
    declarations = read_declarations(Path("declarations.xlsx"), rulebook.vocabulary)
    declarations[0].state        # 'paid'
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path

from reconcile.model import Declaration, DfeStatement

__all__ = ["read_declarations", "read_dfe_statements"]


def read_declarations(path: str | Path, vocabulary=None, *, dfe_statements=(),
                      limits=None) -> tuple[Declaration, ...]:
    """Every declaration of ``path`` in file order.

    ``vocabulary`` is the rulebook's (declaration types, states, courses, default
    schedule); ``None`` loads the bundled rulebook's. ``dfe_statements`` (optional)
    lets a row without a cohort take its statement's cohort.
    """
    from reconcile.read.declarations import read_table_declarations
    from reconcile.read.guard import open_table

    if vocabulary is None:
        from reconcile.rulebook.load import load_rulebook

        vocabulary = load_rulebook().vocabulary
    with _no_gc():
        table = open_table(Path(path), "Declarations", limits=limits, json_kind="declarations")
        return read_table_declarations(table, vocabulary, dfe_statements)


def read_dfe_statements(path: str | Path, vocabulary=None, *, limits=None
                        ) -> tuple[DfeStatement, ...]:
    """Every DfE statement of ``path`` with its money lines (none for API JSON)."""
    from reconcile.read.statements import read_statements_file

    with _no_gc():
        return read_statements_file(Path(path), vocabulary, limits=limits)


@contextmanager
def _no_gc():
    """No cyclic garbage collection while millions of acyclic records are built.

    The collector would otherwise walk the growing lists again and again (it more
    than doubles the conversion time at a million rows); nothing built here is cyclic.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
