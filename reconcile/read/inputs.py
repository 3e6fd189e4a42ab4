"""Every input of a run (read stage): the files the user named in, one read result out.

In: the files of ``--declarations`` and ``--dfe-statements`` (each may be repeated
and may name a folder: :func:`reconcile.inputfiles.expand_inputs`), the rulebook's
vocabulary, and ``say`` (a progress callback naming each file as it is read).
Out: a :class:`ReadResult`: the declarations and DfE statements of all the files,
each file's identity (:class:`~reconcile.inputfiles.InputFile`: path and SHA-256),
the findings about the inputs as a whole, and notes (what was read and how).

Each file is read by its own reader (:func:`reconcile.read.read_declarations`,
:func:`reconcile.read.read_dfe_statements`); the results are merged afterwards
(:mod:`.merge`). DfE's statements are read first: a declaration without a cohort
(the v3 API gives none) takes its statement's cohort. Statements found in two
files with the same details (overlapping pages, one file given twice) count once.

Example::

    result = read_inputs([Path("pulls/")], [Path("statements.json")], rulebook.vocabulary)
    result.files[0].sha256
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from reconcile.findings import Finding
from reconcile.inputfiles import DECLARATIONS, DFE_STATEMENTS, InputFile, identify_inputs
from reconcile.model import Declaration, DfeStatement


class ReadResult(NamedTuple):
    declarations: tuple[Declaration, ...]
    dfe_statements: tuple[DfeStatement, ...]
    files: tuple[InputFile, ...]
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()


def _quiet(_text: str) -> None:
    return None


def read_inputs(declarations: Sequence[Path], dfe_statements: Sequence[Path] = (),
                vocabulary: object = None, *, say: Callable[[str], None] = _quiet,
                limits: object = None) -> ReadResult:
    """Read every file (already expanded: no folders) and merge what they hold."""
    from reconcile.read import read_declarations, read_dfe_statements
    from reconcile.read.merge import merge_declarations

    dfe_files, dfe_notes = identify_inputs(dfe_statements, DFE_STATEMENTS)
    declaration_files, declaration_notes = identify_inputs(declarations, DECLARATIONS)
    notes = [*dfe_notes, *declaration_notes]
    statements: list[DfeStatement] = []
    for number, file in enumerate(dfe_files, 1):
        say(_reading(file, number, len(dfe_files)))
        statements.extend(read_dfe_statements(Path(file.path), vocabulary, limits=limits))
    statements = _distinct_statements(statements)
    per_file: list[tuple[str, tuple[Declaration, ...]]] = []
    for number, file in enumerate(declaration_files, 1):
        say(_reading(file, number, len(declaration_files)))
        read = read_declarations(Path(file.path), vocabulary, dfe_statements=statements,
                                 limits=limits)
        per_file.append((file.path, read))
        if len(declaration_files) > 1:
            notes.append(f"{file.path}: {len(read):,} declaration(s)")
    merged, findings = merge_declarations(per_file, vocabulary)
    return ReadResult(merged, tuple(statements), (*declaration_files, *dfe_files),
                      findings, tuple(notes))


def _reading(file: InputFile, number: int, total: int) -> str:
    count = f" ({number} of {total})" if total > 1 else ""
    return f"reading {file.role} {file.path}{count}"


def _statement_content(s: DfeStatement) -> tuple:
    lines = tuple(line._replace(source=None) for line in s.lines)
    return tuple(s._replace(source=None, lines=lines))


def _distinct_statements(statements: list[DfeStatement]) -> list[DfeStatement]:
    """Statements given twice with the same details count once; others are kept for
    the comparison to report (STATEMENT_DUPLICATE_IN_DFE)."""
    seen: set[tuple] = set()
    kept = []
    for s in statements:
        key = _statement_content(s)
        if key in seen:
            continue
        seen.add(key)
        kept.append(s)
    return kept
