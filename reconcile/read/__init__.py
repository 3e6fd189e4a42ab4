"""Readers (read stage): input files in, frozen domain records out, or an InputError.

In: a declarations file (``.xlsx``, ``.csv``, v3 API ``.json``; README "Input: declarations") and
optionally a DfE statements file (``.xlsx`` with sheets Statements and Lines, or v3
API statements ``.json``; README "Input: DfE statements").
Out: ``tuple[Declaration, ...]`` and ``tuple[DfeStatement, ...]`` (:mod:`reconcile.model`).

Every file is checked before it is parsed (:mod:`.guard`): it must exist, not be
empty, and hold what its extension says (a CSV named ``.xlsx`` is refused, so is an
old ``.xls`` or an encrypted workbook). Every problem found becomes a
:class:`~reconcile.errors.Problem` naming file, sheet, row and column, what is wrong
and how to fix it; all of them (up to 200, then a count) are raised together as one
:class:`~reconcile.errors.InputError` (exit 2, nothing written). The same bad value
in many rows is one problem naming the first row and counting the others.

Limits (:class:`~.table.Limits`; each can be raised by an environment variable):

========================== ================ ==========================================
limit                      default          environment variable
========================== ================ ==========================================
rows in a sheet/CSV/JSON   2,000,000        ``RECONCILE_MAX_ROWS``
columns in a sheet/CSV     200              ``RECONCILE_MAX_COLUMNS``
cells a sheet spans        100,000,000      ``RECONCILE_MAX_CELLS`` (A1 to the last cell)
distinct texts of a book   50,000,000       ``RECONCILE_MAX_STRINGS`` (shared strings)
workbook unpacked size     4 GiB (declared) ``RECONCILE_MAX_UNZIPPED_BYTES``
part inflation ratio       500×             ``RECONCILE_MAX_RATIO`` (parts over 1 MiB)
CSV/JSON file size         2 GiB            ``RECONCILE_MAX_TEXT_BYTES``
========================== ================ ==========================================

Decisions worth knowing:

* a file with a header and no rows (a blank template) is an error, "there are no
  declarations below the header row": an empty input is almost always the wrong file;
* a formula with a saved value is read as that value; one without (a file written
  by a program that never calculated it) is an error asking to paste values;
  merged cells in the data are an error naming the range;
* a row without a cohort takes its statement's cohort from the DfE statements
  (``dfe_statements=``, matched by ``statement_id`` or ``clawback_statement_id``),
  else the ``CohortNNNN`` in the file name (DfE names its assurance report
  ``ECF-Declarations-<LP>-Cohort2023-<Statement>.csv``), else it is an error;
* the assurance report's paid + clawback rows of one declaration are merged
  (:mod:`.declarations`); any other repeated declaration id is an error;
* dates without a zone (Excel date cells, ``2023-10-01``, ``01/10/2023``) are UTC;
  ``dd/mm/yyyy`` is day first (UK), and a US-looking date is an error saying so;
* a CSV that is not UTF-8 is read as Windows-1252, with a note on standard error;
* in JSON, "row" is the record's position in ``data`` (1-based, across pages) and
  "column" its attribute.

Example::

    from reconcile.read import read_declarations, read_dfe_statements
    dfe = read_dfe_statements(Path("statements.json"), rulebook.vocabulary)
    declarations = read_declarations(Path("declarations.json"), rulebook.vocabulary,
                                     dfe_statements=dfe)
    declarations[0].state        # 'paid'
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reconcile.model import Declaration, DfeStatement

if TYPE_CHECKING:  # annotations only: the readers are imported when a file is read
    from decimal import Decimal

    from reconcile.read.declarations import FileDeclarations
    from reconcile.read.table import Limits
    from reconcile.rulebook.schema import VocabularyFile

__all__ = ["read_declarations", "read_dfe_statements"]


def read_declarations(path: str | Path, vocabulary: VocabularyFile | None = None, *,
                      dfe_statements: Sequence[DfeStatement] = (),
                      limits: Limits | None = None) -> tuple[Declaration, ...]:
    """Every declaration of ``path`` in file order.

    ``vocabulary`` is the rulebook's (declaration types, states, courses, default
    schedule); ``None`` loads the bundled rulebook's. ``dfe_statements`` (optional)
    lets a row without a cohort take its statement's cohort.
    """
    from reconcile.read.declarations import read_table_declarations
    from reconcile.read.dispatch import open_table

    if vocabulary is None:
        from reconcile.rulebook.load import load_rulebook

        vocabulary = load_rulebook().vocabulary
    table = open_table(Path(path), "Declarations", limits=limits, json_kind="declarations")
    return read_table_declarations(table, vocabulary, dfe_statements)


def read_declaration_file(path: str | Path, vocabulary: VocabularyFile, *,
                          dfe_statements: Sequence[DfeStatement] = (),
                          limits: Limits | None = None, defer_cohort: bool = False,
                          sheet: str | None = None) -> FileDeclarations:
    """One file of several (:mod:`.inputs`): its declarations, the fields it has, its kind.

    ``defer_cohort``: a row whose cohort cannot be found here is left for the read stage
    to find (see :func:`reconcile.read.declarations.read_declaration_table`).
    """
    from reconcile.read.declarations import read_declaration_table
    from reconcile.read.dispatch import open_table

    table = open_table(Path(path), sheet or "Declarations", limits=limits,
                       json_kind="declarations", sheet_required=sheet is not None)
    return read_declaration_table(table, vocabulary, dfe_statements,
                                  defer_cohort=defer_cohort)


def read_dfe_statements(path: str | Path, vocabulary: VocabularyFile | None = None, *,
                        limits: Limits | None = None, largest_amount: Decimal | None = None,
                        largest_count: int | None = None) -> tuple[DfeStatement, ...]:
    """Every DfE statement of ``path`` with its money lines (none for API JSON); an
    amount beyond ``largest_amount`` (fees.yaml) is a located error."""
    from reconcile.read.statements import read_statements_file

    return read_statements_file(Path(path), vocabulary, limits=limits,
                                largest_amount=largest_amount,
                                largest_count=largest_count)
