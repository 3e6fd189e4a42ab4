"""Uploaded files: streamed from the request into a private folder, never trusted as paths.

Stage: before read (the web page's side of ``--declarations``, ``--dfe-statements``,
``--contracts``...). In: a ``multipart/form-data`` request body, as it arrives.
Out: an :class:`Upload`: the small text fields, and each file saved under a private
folder (mode 0700) with the plain name it had on the user's computer.

What a browser or script sends as a file name is only ever *one* name inside the
run's own private folder: folders in it are dropped (``../../x.csv`` is ``x.csv``),
characters that are not safe in a file name become ``_``, hidden names and names
longer than 200 characters are refused, and files are created with ``O_EXCL`` (never
following a link, never replacing a file). Two files of one request with the same name
are refused with a message, since each is recorded under its own name, as the command
line records the path it was given.

The size of a request is limited as a whole (``--max-upload-mb``): the middleware of
:mod:`reconcile.serve.app` stops a body past it, whatever the parts; here text fields
are limited to :data:`MAX_FIELD_BYTES` each.

Example::

    upload = await receive_upload(request, folder)
    upload.files["declarations"]   # (UploadedFile(name='declarations.xlsx', ...), ...)
    upload.fields["as_of"]         # ('2026-10-10',)
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NamedTuple

from python_multipart.multipart import MultipartParser, parse_options_header

#: a text field (as_of, csrf_token...) longer than this is refused
MAX_FIELD_BYTES = 64 * 1024
#: how many parts one request may have
MAX_PARTS = 2000
#: the longest file name kept
MAX_NAME = 200

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


class UploadError(ValueError):
    """The request cannot be read as an upload (said in plain words)."""


class UploadedFile(NamedTuple):
    """One file as saved: its field, its (cleaned) name, where it is, its size."""

    field: str
    name: str
    path: Path
    size: int


class Upload(NamedTuple):
    fields: dict[str, tuple[str, ...]]
    files: dict[str, tuple[UploadedFile, ...]]

    def field(self, name: str) -> str:
        """The first value of a text field ('' when absent), stripped."""
        values = self.fields.get(name) or ("",)
        return values[0].strip()


def clean_name(name: str) -> str:
    """A file name as sent, made into one safe name in a folder ('' if nothing is left).

    >>> clean_name("C:\\\\Users\\\\me\\\\May 2024: ECF.csv")
    'May 2024_ ECF.csv'
    >>> clean_name("../../etc/passwd")
    'passwd'
    >>> clean_name(".bashrc")
    'bashrc'
    >>> clean_name(" . ")
    ''
    """
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or name.startswith(".") or len(name) > MAX_NAME:
        return ""
    return name


def private_folder(path: Path) -> Path:
    """Make ``path`` (and missing parents) readable by this user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, bytes] = {}
        self.field = ""
        self.file_name: str | None = None
        self.data = bytearray()
        self.fd: int | None = None
        self.path: Path | None = None
        self.size = 0


async def receive_upload(stream: AsyncIterator[bytes], content_type: str,
                         folder: Path) -> Upload:
    """Read a multipart body from ``stream`` into ``folder`` (made private, must be empty).

    Raises :class:`UploadError` for a body that is not a form upload; the caller
    deletes ``folder`` then.
    """
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise UploadError("send the files as a form upload (multipart/form-data)")
    private_folder(folder)
    fields: dict[str, list[str]] = {}
    files: dict[str, list[UploadedFile]] = {}
    names: set[str] = set()
    header_field = bytearray()
    header_value = bytearray()
    state: dict[str, _Part | None] = {"part": None}
    counter = {"parts": 0, "files": 0}
    problems: list[str] = []

    def on_part_begin() -> None:
        counter["parts"] += 1
        if counter["parts"] > MAX_PARTS:
            raise UploadError(f"too many parts in one upload (at most {MAX_PARTS})")
        state["part"] = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        part = state["part"]
        assert part is not None
        part.headers[bytes(header_field).decode("latin-1").lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        part = state["part"]
        assert part is not None
        disposition, options = parse_options_header(part.headers.get("content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise UploadError("a part of the upload has no field name")
        part.field = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            raw = options[b"filename"].decode("utf-8", "replace")
            if not raw:  # an empty file input: the browser sends a nameless empty part
                part.file_name = ""
                return
            name = clean_name(raw)
            if not name:
                problems.append(f"the file name {raw!r} cannot be used: give the file a "
                                "plain name such as declarations.xlsx")
                part.file_name = ""
                return
            if name.casefold() in names:
                problems.append(f"two files are called {name}: rename one of them "
                                "(each file is recorded by its name)")
                part.file_name = ""
                return
            names.add(name.casefold())
            counter["files"] += 1
            part.file_name = name
            part.path = folder / f"{counter['files']:04d}"
            part.fd = os.open(part.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                              0o600)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part = state["part"]
        assert part is not None
        chunk = data[start:end]
        if part.fd is not None:
            os.write(part.fd, chunk)
            part.size += len(chunk)
        elif part.file_name is None:
            part.data.extend(chunk)
            if len(part.data) > MAX_FIELD_BYTES:
                raise UploadError(f"the field {part.field} is longer than "
                                  f"{MAX_FIELD_BYTES // 1024} KB")

    def on_part_end() -> None:
        part = state["part"]
        assert part is not None
        if part.fd is not None:
            os.close(part.fd)
            part.fd = None
            assert part.path is not None and part.file_name
            files.setdefault(part.field, []).append(
                UploadedFile(part.field, part.file_name, part.path, part.size))
        elif part.file_name is None:
            fields.setdefault(part.field, []).append(part.data.decode("utf-8", "replace"))
        state["part"] = None

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data,
        "on_part_end": on_part_end, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished,
    })
    def feed(chunk: bytes | None) -> None:
        try:
            if chunk is None:
                parser.finalize()
            else:
                parser.write(chunk)
        except UploadError:
            raise
        except Exception as error:  # python-multipart's own errors: a malformed body
            raise UploadError(f"the upload could not be read ({error})") from None

    try:
        # the stream's own errors (the size limit, a client gone) are not the body's
        async for chunk in stream:
            if chunk:
                feed(chunk)
        feed(None)
    finally:
        part = state["part"]
        if part is not None and part.fd is not None:
            os.close(part.fd)
    if problems:
        raise UploadError("; ".join(problems))
    return Upload({k: tuple(v) for k, v in fields.items()},
                  {k: tuple(v) for k, v in files.items()})
