"""Input files: which files a run reads, and each file's identity (path + SHA-256).

Stage: before read (the pipeline calls it first; nothing here parses a file).
In: the paths the user gave for one kind of input (``--declarations``,
``--dfe-statements``, ``--participants``), files or folders.
Out: the files to read, in order, each an :class:`InputFile` (role, path as shown,
SHA-256, size), or a :class:`~reconcile.errors.UsageError` naming every path that
cannot be used (exit 2, nothing written).

A folder stands for every file inside it with one of the role's extensions
(``.xlsx``, ``.csv``, ``.json`` for declarations), in name order; sub-folders,
hidden files and Excel's lock files (``~$book.xlsx``, left beside a workbook open
in Excel) are not read. A file named twice (once itself, once inside a folder) is
read once; two paths with identical content are read once too, with a note.

:func:`identify_file` is the one place a file's identity is computed: the Rules
sheet lists it, the run history records it and the JSON ``run`` block shows it.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "b.csv").write_text("x\\n1\\n"); _ = (folder / "a.csv").write_text("x\\n2\\n")
>>> [p.name for p in expand_inputs([folder], DECLARATIONS)]
['a.csv', 'b.csv']
>>> identify_file(folder / "b.csv", DECLARATIONS).sha256[:12]
'daff832f8020'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from reconcile.errors import Problem, UsageError
from reconcile.model import Source

#: the roles of input files, as messages and the Rules sheet name them
DECLARATIONS, DFE_STATEMENTS, PARTICIPANTS = "declarations", "DfE statements", "participants"

#: the extensions read from a folder, per role
SUFFIXES: dict[str, tuple[str, ...]] = {
    DECLARATIONS: (".xlsx", ".csv", ".json"),
    DFE_STATEMENTS: (".xlsx", ".json"),
    PARTICIPANTS: (".json",),
}

_CHUNK = 1 << 20


class InputFile(NamedTuple):
    """One file a run read: its role, its path as shown, its SHA-256 and size in bytes."""

    role: str
    path: str
    sha256: str
    size: int

    def as_json(self) -> dict[str, object]:
        return {"role": self.role, "path": self.path, "sha256": self.sha256, "size": self.size}


def identify_file(path: Path | str, role: str = DECLARATIONS) -> InputFile:
    """The identity of one input file: path as given, SHA-256 of its bytes, size.

    Read in 1 MiB pieces, so a file of any size costs little memory.
    """
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as handle:
        while True:
            piece = handle.read(_CHUNK)
            if not piece:
                break
            digest.update(piece)
            size += len(piece)
    return InputFile(role, str(path), digest.hexdigest(), size)


def _readable(path: Path, suffixes: tuple[str, ...]) -> bool:
    name = path.name
    return (path.is_file() and path.suffix.lower() in suffixes
            and not name.startswith((".", "~$")))


def expand_inputs(paths: Sequence[Path | str], role: str) -> tuple[Path, ...]:
    """The files ``paths`` stand for (folders expanded in name order), or a UsageError.

    A path that does not exist, and a folder holding no file of the role's kinds,
    are problems; every one is reported together.
    """
    suffixes = SUFFIXES[role]
    problems: list[Problem] = []
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted((p for p in path.iterdir() if _readable(p, suffixes)),
                            key=lambda p: (p.name.casefold(), p.name))
            if not inside:
                problems.append(Problem(
                    Source(str(path)),
                    f"the folder holds no {role} file ({', '.join(suffixes)})",
                    f"put the {role} files in it, or give the files themselves"))
            members = inside
        elif path.exists():
            members = [path]
        else:
            problems.append(Problem(Source(str(path)), f"{role} file not found",
                                    "check the path"))
            members = []
        for member in members:
            key = member.resolve()
            if key not in seen:
                seen.add(key)
                found.append(member)
    if problems:
        raise UsageError(problems)
    return tuple(found)


def identify_inputs(paths: Sequence[Path], role: str) -> tuple[tuple[InputFile, ...],
                                                                tuple[str, ...]]:
    """Each file's identity, and notes on files of identical content (read once).

    Returns the identities of the files to read (the first of each content) and notes
    naming the repeats.
    """
    kept: list[InputFile] = []
    notes: list[str] = []
    first: dict[str, InputFile] = {}
    for path in paths:
        identity = identify_file(path, role)
        earlier = first.get(identity.sha256)
        if earlier is not None:
            notes.append(f"{identity.path} has the same content as {earlier.path}: "
                         "read once")
            continue
        first[identity.sha256] = identity
        kept.append(identity)
    return tuple(kept), tuple(notes)
