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
read once.

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
import re
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


_RESOURCE_TYPE = re.compile(rb'"type"\s*:\s*"([A-Za-z-]+)"')
#: a v3 API resource type -> the input it belongs to
_ROLE_OF_TYPE = {b"participant": PARTICIPANTS, b"statement": DFE_STATEMENTS}


class Routed(NamedTuple):
    """Declarations inputs once a folder's other API files are put where they belong."""

    declarations: tuple[Path, ...]
    participants: tuple[Path, ...]
    dfe_statements: tuple[Path, ...]
    notes: tuple[str, ...]


def route_api_files(given: Sequence[Path | str]) -> Routed:
    """``--declarations`` files and folders, with a folder's other v3 API JSON routed.

    A provider saves an API pull in one folder: its declarations pages, its participants
    pages (``GET /api/v3/participants/ecf``) and its statements list (``GET
    /api/v3/statements``). Given as ``--declarations FOLDER``, the participants and
    statements files in it are read as ``--participants`` and ``--dfe-statements``
    (each with a note). A file named on its own is read as what it was given as.
    """
    declarations: list[Path] = []
    routed: dict[str, list[Path]] = {PARTICIPANTS: [], DFE_STATEMENTS: []}
    notes: list[str] = []
    for entry in given:
        folder = Path(entry).is_dir()
        for path in expand_inputs([entry], DECLARATIONS):
            role = _api_role(path) if folder and path.suffix.lower() == ".json" else None
            if role is None:
                declarations.append(path)
            else:
                routed[role].append(path)
                notes.append(f"{path}: the v3 API's {role} (in the declarations folder), read "
                             f"as {role}")
    return Routed(tuple(declarations), tuple(routed[PARTICIPANTS]),
                  tuple(routed[DFE_STATEMENTS]), tuple(notes))


def _api_role(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(8192)
    match = _RESOURCE_TYPE.search(head)
    return _ROLE_OF_TYPE.get(match.group(1)) if match else None


def identify_inputs(paths: Sequence[Path], role: str) -> tuple[tuple[InputFile, ...],
                                                                tuple[str, ...]]:
    """Each file's identity, and notes on files given twice under two names.

    Every file is read, even when another has the same bytes: two of DfE's assurance
    reports of statements without line items are both the header alone, yet each says
    something of its own statement (its file name). Reading a copy twice costs nothing
    more: the same declaration in two files counts once.
    """
    kept = tuple(identify_file(path, role) for path in paths)
    return kept, ()
