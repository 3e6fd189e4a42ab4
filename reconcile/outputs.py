"""Atomic output: every file is written to a temporary name beside it and renamed.

A failed run therefore never leaves a half-written workbook or JSON. Several
outputs of one run are committed together at the end (:class:`Outputs`), after
every stage has succeeded, so bad input (exit 2) writes nothing at all.

Nothing lost (:func:`check_output_paths`, before anything is read): every output
path is resolved (symlinks followed) and compared with every input and every
other output; a clash is a usage error naming both. An output must be an ordinary
file or absent: a folder, device or FIFO is refused (``--json /dev/null`` would
otherwise replace the device with a file). ``-`` and ``/dev/stdout`` mean standard
output. A symbolic link is written through: its target gets the new content.

Temporary files are named ``.NAME.reconcile-PID-XXXX.tmp`` beside their output;
one left by a killed run (its process gone) is removed by the next run that writes
there (:func:`remove_stale_temporaries`). A folder that cannot be written (read
only, permission denied, disk full) is the user's to fix: a :class:`WriteError`
(exit 2) naming the folder, never a bug report.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO, NamedTuple

from reconcile.errors import Problem, UsageError
from reconcile.interrupts import held
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
        self._jobs: list[tuple[Path | None, _Job]] = []
        self._folders: list[Path] = []

    def folder(self, path: Path | str) -> None:
        """A folder the outputs go into, created (with its parents) only when committed."""
        self._folders.append(Path(path))

    def text(self, path: Path | str, text: str | Callable[[], str]) -> None:
        """A text file (or standard output when ``path`` is ``-``); text may be deferred."""
        self._jobs.append((None if is_standard_output(path) else Path(path),
                           _DeferredText(text) if callable(text) else text))

    def json(self, path: Path | str, make: Callable[[], object]) -> None:
        """JSON made by ``make()`` when committed, streamed (``-``: standard output)."""
        if is_standard_output(path):
            self.text(path, lambda: dump_json(make()))
            return

        def render(tmp: Path) -> None:
            with open(tmp, "w", encoding="utf-8", errors=ENCODE_ERRORS) as fp:
                write_json(fp, make())

        self.file(path, render)

    def file(self, path: Path | str, render: Callable[[Path], None]) -> None:
        """A file made by ``render(temp_path)``, e.g. an xlsxwriter workbook (``-``: its
        bytes to standard output)."""
        if is_standard_output(path):
            self._jobs.append((None, _ToStandardOutput(render)))
            return
        self._jobs.append((Path(path), render))

    def paths(self) -> tuple[Path | None, ...]:
        """Every output's path, in the order they are written (None: standard output)."""
        return tuple(path for path, _ in self._jobs)

    def check_writable(self) -> None:
        """Fail before any work is written if an output cannot be written where it is
        asked for (:func:`check_output_paths` on every file and folder, and no file twice)."""
        check_output_paths([("output", path) for path, _ in self._jobs if path is not None],
                           folders=[("output folder", folder) for folder in self._folders])

    def commit(self, progress: Callable[[int, int], None] | None = None,
               publish: Callable[[], AbstractContextManager[object]] | None = None) -> None:
        """Write every output; ``progress(done, total)`` counts the files as they go.

        Each file is rendered to a temporary file beside its target (a symbolic link's
        target), then all are renamed into place together, with interrupts held back
        for those few renames; anything that fails or is interrupted before removes
        the temporary files and writes nothing. A folder that cannot be written is a
        :class:`WriteError`. ``publish`` (optional) is a context the renames happen
        inside: the run history commits the run in it, so a run is in the history only
        when every output is in place, and an output that fails leaves no recorded run.
        """
        self.check_writable()
        done: list[tuple[Path, Path]] = []
        current: Path | None = None
        try:
            for folder in self._folders:
                current = folder
                folder.mkdir(parents=True, exist_ok=True)
            for n, (path, job) in enumerate(self._jobs):
                if progress is not None:
                    progress(n, len(self._jobs))
                if isinstance(job, _ToStandardOutput):
                    job.write()
                    continue
                if path is None:  # text to standard output (Outputs.text)
                    assert isinstance(job, (str, _DeferredText))
                    sys.stdout.write(clean(job if isinstance(job, str) else job.make()))
                    sys.stdout.flush()
                    continue
                target = current = written_path(path)
                remove_stale_temporaries(target)
                tmp = temporary_beside(target)
                done.append((tmp, target))
                if isinstance(job, str):
                    tmp.write_text(job, encoding="utf-8", errors=ENCODE_ERRORS)
                elif isinstance(job, _DeferredText):
                    tmp.write_text(job.make(), encoding="utf-8", errors=ENCODE_ERRORS)
                else:
                    job(tmp)
            if progress is not None:
                progress(len(self._jobs), len(self._jobs))
            mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; outputs are ordinary files
            with held(), (publish() if publish is not None else nullcontext()):
                # all renamed and the run recorded, or (interrupted before) none
                for tmp, target in done:
                    current = target
                    os.chmod(tmp, mode)
                    os.replace(tmp, target)
        except OSError as exc:
            raise write_error(exc, current) from None
        finally:
            for tmp, _ in done:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass
                except OSError:
                    pass  # the next run removes it (remove_stale_temporaries)


class _DeferredText(NamedTuple):
    """A text output made only when committed."""

    make: Callable[[], str]


class _ToStandardOutput:
    """A file output sent to standard output: rendered to a temporary file, then copied."""

    def __init__(self, render: Callable[[Path], None]) -> None:
        self.render = render

    def write(self) -> None:
        fd, name = tempfile.mkstemp(prefix=f"reconcile-{os.getpid()}-", suffix=".tmp")
        os.close(fd)
        try:
            self.render(Path(name))
            sys.stdout.flush()
            with open(name, "rb") as source:
                while block := source.read(1 << 20):
                    sys.stdout.buffer.write(block)
            sys.stdout.buffer.flush()
        finally:
            os.unlink(name)


#: what an output is made of: text, text made when committed, a file rendered to a
#: temporary path, or such a file sent to standard output
_Job = str | _DeferredText | Callable[[Path], None] | _ToStandardOutput


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomically(path: Path | str, render: Callable[[Path], None]) -> None:
    """One file, atomically."""
    out = Outputs()
    out.file(path, render)
    out.commit()


# --------------------------------------------------------------------------- paths

#: the paths that mean standard output
STANDARD_OUTPUT = frozenset({"-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})


def is_standard_output(path: Path | str | None) -> bool:
    return path is not None and str(path) in STANDARD_OUTPUT


def written_path(path: Path | str) -> Path:
    """Where writing ``path`` puts the bytes: a symbolic link's target (followed to the
    end), else the path itself."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def _real(path: Path | str) -> Path:
    """The path with every symbolic link followed and made absolute (it need not exist)."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def check_output_paths(outputs: Iterable[tuple[str, Path | str | None]],
                       inputs: Iterable[tuple[str, Path | str | None]] = (), *,
                       folders: Iterable[tuple[str, Path | str | None]] = ()) -> None:
    """Refuse, before anything is read or written, outputs that would destroy or clash.

    ``outputs`` and ``folders`` are ``(label, path)``: the files and the folders a
    command will write (e.g. ``("--json", path)``, ``("--per-partner", folder)``);
    ``inputs`` are ``(label, path)`` of every file or folder it reads (a folder's
    files are all inputs). Refused, every problem together in one UsageError:

    * an output that is an input (the same file, through any path, link or hard
      link), or a file written straight into a folder given as an input (the next
      run would read it as one);
    * two outputs that are one file, or two outputs to standard output;
    * an output that exists and is not an ordinary file (a folder, a device such
      as ``/dev/null``, a FIFO, a socket); a folder output that is a file;
    * an output whose folder does not exist (unless a folder output makes it) or
      cannot be written.

    Commands, the history store (issue 14), uploads (15) and imports (11) call this
    with their own labels.
    """
    output_paths = [(label, Path(path)) for label, path in outputs if path is not None]
    folder_paths = [(label, Path(path)) for label, path in folders if path is not None]
    input_paths = [(label, Path(path)) for label, path in inputs if path is not None]
    problems: list[Problem] = []
    input_files: dict[object, str] = {}
    input_folders: dict[Path, str] = {}
    for label, path in input_paths:
        if path.is_dir():
            input_folders[_real(path)] = label
        else:
            input_files[_real(path)] = label
            identity = _identity(path)
            if identity is not None:
                input_files[identity] = label
    made = {_real(folder) for _, folder in folder_paths}

    for label, folder in folder_paths:
        real = _real(folder)
        if folder.exists() and not folder.is_dir():
            problems.append(Problem(Source(str(folder)), f"{label} needs a folder, and this "
                                    "is a file", "give a folder name (it is made if missing)"))
        if real in input_files or _identity(folder) in input_files:
            what = input_files.get(real) or input_files.get(_identity(folder))
            problems.append(Problem(Source(str(folder)), f"{label} is also given as {what}",
                                    "write to another folder"))
        elif real in input_folders:
            problems.append(Problem(Source(str(folder)), f"{label} is the folder given as "
                                    f"{input_folders[real]}: the files written there would "
                                    "be read as inputs next time", "write to another folder"))

    seen: dict[object, str] = {}
    to_standard_output: list[str] = []
    for label, path in output_paths:
        where = Source(str(path))
        if is_standard_output(path):
            to_standard_output.append(label)
            continue
        real = _real(path)
        identity = _identity(path)
        clash = input_files.get(real) or (input_files.get(identity) if identity else None)
        if clash:
            problems.append(Problem(where, f"{label} names the file given as {clash}: "
                                    "writing it would destroy that input",
                                    f"give {label} another file name"))
        elif real.parent in input_folders:
            problems.append(Problem(where, f"{label} is inside the folder given as "
                                    f"{input_folders[real.parent]}: the next run would read "
                                    "it as an input", "write it to another folder"))
        other = seen.get(real) or (seen.get(identity) if identity else None)
        if other:
            problems.append(Problem(where, f"{other} and {label} name the same file: one "
                                    "would replace the other", "give each a file name of its own"))
        seen[real] = label
        if identity:
            seen[identity] = label
        problems.extend(_target_problems(label, path, real, made))
    if len(to_standard_output) > 1:
        both = "both" if len(to_standard_output) == 2 else "all"
        problems.append(Problem(Source("-"), f"{' and '.join(to_standard_output)} {both} write "
                                "to standard output, which would mix them",
                                "give all but one a file name"))
    if problems:
        raise UsageError(problems)


def _target_problems(label: str, path: Path, real: Path, made: set[Path]) -> list[Problem]:
    """An output that is not an ordinary file, or whose folder is missing or unwritable."""
    where = Source(str(path))
    try:
        info = os.stat(real)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        return [Problem(where, f"cannot be checked: {exc.strerror}", "check the path")]
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            return [Problem(where, f"{label} names a folder, not a file",
                            "give a file name")]
        if not stat.S_ISREG(info.st_mode):
            kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else
                    "a socket" if stat.S_ISSOCK(info.st_mode) else "a device")
            return [Problem(where, f"{label} names {kind}, not an ordinary file; reconcile "
                                   "writes whole files only (it would replace it)",
                            "give a file name, or - for standard output")]
    folder = real.parent
    if any(folder == m or folder.is_relative_to(m) for m in made):
        return []
    if not folder.is_dir():
        return [Problem(where, "the folder does not exist",
                        f"create {path.parent} first or choose another path")]
    if _read_only(folder):
        return [Problem(where, f"the folder {folder} is on a read-only disk",
                        "choose a folder on a disk that can be written (not a read-only "
                        "share or disk image)")]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [Problem(where, f"you cannot write in the folder {folder}",
                        "choose a folder you can write to, or ask for permission to write "
                        "in this one")]
    return []


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows)
        return False


# --------------------------------------------------------------------------- temporaries

_TEMPORARY = ".{name}.reconcile-{pid}-"
_STALE = re.compile(r"\.(?P<name>.+)\.reconcile-(?P<pid>\d+)-[^.]*\.tmp$")
#: a temporary file this old is stale whatever its process (the pid may be reused)
STALE_AFTER_SECONDS = 24 * 3600


def temporary_beside(target: Path) -> Path:
    """A new, empty temporary file in ``target``'s folder, named after it and this process."""
    fd, name = tempfile.mkstemp(prefix=_TEMPORARY.format(name=target.name, pid=os.getpid()),
                                suffix=".tmp", dir=target.parent)
    os.close(fd)
    return Path(name)


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporary files of ``target`` that a killed run left behind: named by
    :func:`temporary_beside`, of a process that no longer runs (or older than a day).
    Another run writing the same output at this moment keeps its own."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    prefix = f".{target.name}.reconcile-"
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        match = _STALE.match(entry.name)
        if match is None or match.group("name") != target.name:
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER_SECONDS
            if old or not _running(int(match.group("pid"))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this run's own are made fresh; an old one of the same pid is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


# --------------------------------------------------------------------------- faults

class WriteError(UsageError):
    """The folder of an output cannot be written: the user's to fix (exit 2)."""

    kind = "cannot write"


_FAULTS = {
    errno.EACCES: ("permission to write in {folder} is denied",
                   "choose a folder you can write to, or ask for permission to write in it"),
    errno.EPERM: ("permission to write in {folder} is denied",
                  "choose a folder you can write to, or ask for permission to write in it"),
    errno.EROFS: ("{folder} is on a read-only disk",
                  "choose a folder on a disk that can be written (not a read-only share or "
                  "disk image)"),
    errno.ENOSPC: ("the disk of {folder} is full",
                   "free some space on it, or write the outputs to another disk"),
    errno.EDQUOT: ("your disk quota for {folder} is used up",
                   "free some space, or write the outputs elsewhere"),
    errno.ENAMETOOLONG: ("the file name is too long for the disk of {folder}",
                         "choose a shorter file name"),
}


def write_error(exc: OSError, path: Path | None) -> WriteError:
    """The user's message for an OS error while writing ``path`` (nothing was written)."""
    named = Path(exc.filename) if exc.filename else path
    folder = (named if named is not None and named.is_dir() else
              named.parent if named is not None else Path("."))
    what, fix = _FAULTS.get(exc.errno or 0, (
        f"cannot write in {{folder}}: {exc.strerror or exc}", "check the folder and try again"))
    return WriteError([Problem(Source(str(path or named or folder)),
                               what.format(folder=folder) + "; nothing was written", fix)])


_READ_FAULTS = {
    errno.EACCES: ("permission to read or write {name} is denied",
                   "check the file's permissions, or choose another place"),
    errno.EPERM: ("permission to read or write {name} is denied",
                  "check the file's permissions, or choose another place"),
    errno.EIO: ("the disk could not read or write {name} (an input/output error)",
                "check the disk or network share, then run again"),
    errno.EMFILE: ("too many files are open at once",
                   "close other programs or give fewer files, then run again"),
}


def environment_fault(exc: BaseException) -> UsageError | None:
    """The user's message (exit 2) for a fault of the machine rather than of reconcile:
    a full disk, a read-only or forbidden folder, memory exhausted. None: a bug."""
    if isinstance(exc, MemoryError):
        return UsageError([Problem(Source(""), "the machine ran out of memory; nothing was "
                                   "written", "give fewer or smaller inputs at a time (e.g. one "
                                   "cohort), or run on a machine with more memory")])
    if not isinstance(exc, OSError) or exc.errno is None:
        return None
    name = exc.filename or ""
    if exc.errno in _FAULTS:
        return write_error(exc, Path(name) if name else None)
    if exc.errno in _READ_FAULTS:
        what, fix = _READ_FAULTS[exc.errno]
        return UsageError([Problem(Source(str(name)), what.format(name=name or "a file")
                                   + "; nothing was written", fix)])
    return None
