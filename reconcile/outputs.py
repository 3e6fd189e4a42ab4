"""Atomic output: every file is written to a temporary name beside it and renamed.

A failed run therefore never leaves a half-written workbook or JSON. Several
outputs of one run are committed together at the end (:class:`Outputs`), after
every stage has succeeded, so bad input (exit 2) writes nothing at all.

``-`` as a JSON path means standard output (INTERFACES.md §1).
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from reconcile.errors import Problem, UsageError
from reconcile.model import Source
from reconcile.textsafe import ENCODE_ERRORS, clean

#: top-level lists longer than this are written one compact item per line
LONG_LIST = 200


def write_json(fp: IO[str], data: object) -> None:
    """JSON for people and for machines, streamed.

    A top-level object is indented; each item of a long top-level list (the
    per-declaration attributions can run to a million) is written compactly on one
    line, so the file stays readable, diffable and a fraction of the indented size,
    and is never built as one string in memory.
    """
    if not isinstance(data, dict):
        fp.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return
    fp.write("{")
    for n, (key, value) in enumerate(data.items()):
        fp.write("," if n else "")
        fp.write(f"\n  {json.dumps(key)}: ")
        if isinstance(value, list) and len(value) > LONG_LIST:
            fp.write("[")
            compact = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
            for i, item in enumerate(value):
                fp.write(",\n    " if i else "\n    ")
                fp.write(compact.encode(item))
            fp.write("\n  ]")
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False)
            fp.write(text.replace("\n", "\n  "))
    fp.write("\n}\n" if data else "}\n")


def dump_json(data: object) -> str:
    """The text :func:`write_json` writes (for small results and tests)."""
    buffer = io.StringIO()
    write_json(buffer, data)
    return buffer.getvalue()


class Outputs:
    """Collects what a run will write; :meth:`commit` writes it all, atomically per file."""

    def __init__(self) -> None:
        self._jobs: list[tuple[Path | None, object]] = []
        self._text_jobs: set[int] = set()
        self._folders: list[Path] = []

    def folder(self, path: Path | str) -> None:
        """A folder the outputs go into, created (with its parents) only when committed."""
        self._folders.append(Path(path))

    def text(self, path: Path | str, text: str | Callable[[], str]) -> None:
        """A text file (or standard output when ``path`` is ``-``); text may be deferred."""
        if callable(text):
            self._text_jobs.add(id(text))
        self._jobs.append((None if str(path) == "-" else Path(path), text))

    def json(self, path: Path | str, make: Callable[[], object]) -> None:
        """JSON made by ``make()`` when committed, streamed (``-``: standard output)."""
        if str(path) == "-":
            self.text(path, lambda: dump_json(make()))
            return

        def render(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8", errors=ENCODE_ERRORS) as fp:
                write_json(fp, make())

        self.file(path, render)

    def file(self, path: Path | str, render: Callable[[Path], None]) -> None:
        """A file made by ``render(temp_path)``, e.g. an xlsxwriter workbook."""
        self._jobs.append((Path(path), render))

    def paths(self) -> tuple[Path | None, ...]:
        """Every output's path, in the order they are written (None: standard output)."""
        return tuple(path for path, _ in self._jobs)

    def check_writable(self) -> None:
        """Fail before any work is written if an output folder does not exist."""
        problems = []
        for folder in self._folders:
            if folder.exists() and not folder.is_dir():
                problems.append(Problem(Source(str(folder)), "this is a file, not a folder",
                                        "give a folder name"))
        for path, _ in self._jobs:
            if path is not None and path.parent in self._folders:
                continue  # made by commit
            if path is not None and not path.parent.exists():
                problems.append(Problem(Source(str(path)), "the folder does not exist",
                                        f"create {path.parent} first or choose another path"))
            elif path is not None and path.is_dir():
                problems.append(Problem(Source(str(path)), "this is a folder, not a file",
                                        "give a file name"))
        if problems:
            raise UsageError(problems)

    def commit(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Write every output; ``progress(done, total)`` counts the files as they go."""
        self.check_writable()
        for folder in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
        done: list[tuple[Path, Path]] = []
        try:
            for n, (path, job) in enumerate(self._jobs):
                if progress is not None:
                    progress(n, len(self._jobs))
                if path is None:
                    sys.stdout.write(clean(job if isinstance(job, str) else job()))
                    sys.stdout.flush()
                    continue
                fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                                dir=path.parent)
                os.close(fd)
                tmp = Path(tmp_name)
                done.append((tmp, path))
                if isinstance(job, str):
                    tmp.write_text(job, encoding="utf-8", errors=ENCODE_ERRORS)
                elif id(job) in self._text_jobs:
                    tmp.write_text(job(), encoding="utf-8", errors=ENCODE_ERRORS)
                else:
                    job(tmp)
            if progress is not None:
                progress(len(self._jobs), len(self._jobs))
            mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; outputs are ordinary files
            for tmp, path in done:
                os.chmod(tmp, mode)
                os.replace(tmp, path)
        finally:
            for tmp, _ in done:
                if tmp.exists():
                    tmp.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomically(path: Path | str, render: Callable[[Path], None]) -> None:
    """One file, atomically."""
    out = Outputs()
    out.file(path, render)
    out.commit()
