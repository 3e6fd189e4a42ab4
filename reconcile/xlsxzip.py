"""The workbook's zip, assembled by the tool: big sheets deflated on a second thread.

Stage: write. A workbook is a zip of XML parts. XlsxWriter writes every part but the
rows of the sheets :mod:`reconcile.write` renders itself (for a national run, two
gigabytes of XML). Those rows are compressed *while they are produced*, on a worker
thread (zlib releases the interpreter lock while it deflates, so the second core
does it), into one temporary file. At the end :func:`assemble` writes the final zip:
every part of XlsxWriter's zip in its order, except that each of those sheets is
XlsxWriter's own XML for the sheet (its views, columns, filter, conditional formats,
page set-up) with the rows spliced in where its ``<sheetData/>`` was, and its
``<dimension>`` set to the cells written.

A zip member's data is one deflate stream; it is made of three, each ending on a
byte boundary (``Z_SYNC_FLUSH``) except the last: the sheet XML before the rows, the
rows (deflated earlier), the XML after them. The member's CRC-32 is combined from
the three CRCs (:func:`crc32_combine`, zlib's method). Everything is deterministic:
fixed timestamps (1980-01-01, as XlsxWriter uses), fixed attributes, the same member
order, so the same workbook value gives the same bytes. Zip64 records are written
when a size or offset needs them.

Only the OOXML and zip formats are relied on here, not XlsxWriter's internals.
"""

from __future__ import annotations

import queue
import re
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable
from typing import IO, Any, BinaryIO, NamedTuple

#: deflate level of every part (zlib's default, as XlsxWriter's zipfile uses)
LEVEL = 6
_DOS_TIME, _DOS_DATE = 0, (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01 00:00:00
_FLAGS = 0x0800  # names in UTF-8
_VERSION = 20  # 2.0: deflate
_VERSION_ZIP64 = 45
_SENTINEL = 0xFFFFFFFF  # "see the zip64 record"
#: sizes and offsets from this on are written as zip64 (a test may lower it)
ZIP64_AT = 0xFFFFFFFF


# --------------------------------------------------------------------------- CRC-32


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    i = 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, m) for m in matrix]


_ZEROS: list[list[int]] = []  # operator for 2**k zero bytes, k = 0, 1, ... (made once)


def _zeros_operator(k: int) -> list[int]:
    if not _ZEROS:
        one_bit = [0xEDB88320] + [1 << i for i in range(31)]
        m = one_bit
        for _ in range(3):  # 8 zero bits: one zero byte
            m = _gf2_square(m)
        _ZEROS.append(m)
    while len(_ZEROS) <= k:
        _ZEROS.append(_gf2_square(_ZEROS[-1]))
    return _ZEROS[k]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of ``a + b`` from ``crc32(a)``, ``crc32(b)`` and ``len(b)`` (zlib's method:
    ``crc1`` carried through ``len2`` zero bytes, then xor ``crc2``).

    >>> a, b = b"<sheetData>", b"<row r='1'/></sheetData>"
    >>> crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)
    True
    """
    k = 0
    while len2 > 0:
        if len2 & 1:
            crc1 = _gf2_times(_zeros_operator(k), crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


# --------------------------------------------------------------------------- deflating rows


class Deflated(NamedTuple):
    """Rows deflated into the packer's file: where, how long, their CRC and size."""

    offset: int
    length: int
    crc: int
    size: int


class Packer:
    """Deflates the rows of the sheets the tool writes, on a worker thread, in order.

    ``begin(key)``, then ``write(key, text)`` as often as needed, then ``end(key)``;
    one sheet at a time. :meth:`finish` waits for the worker and returns every
    sheet's :class:`Deflated`. A failure on the worker is raised in the caller.
    """

    def __init__(self) -> None:
        self.file: IO[bytes] = tempfile.TemporaryFile()
        self.done: dict[str, Deflated] = {}
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=16)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="reconcile-deflate",
                                        daemon=True)
        self._thread.start()

    def _work(self) -> None:
        file = self.file
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        key = ""
        offset = crc = size = 0
        while True:
            task = self._queue.get()
            if task is None:
                return
            if self._error is not None:
                continue  # drain: the caller is told at its next call
            try:
                kind, key_or_data = task
                if kind == "begin":
                    key = key_or_data
                    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
                    offset, crc, size = file.tell(), 0, 0
                elif kind == "data":
                    data = key_or_data
                    crc = zlib.crc32(data, crc)
                    size += len(data)
                    file.write(compressor.compress(data))
                else:
                    file.write(compressor.flush(zlib.Z_SYNC_FLUSH))
                    self.done[key] = Deflated(offset, file.tell() - offset, crc, size)
            except BaseException as error:  # noqa: BLE001 - handed to the caller
                self._error = error

    def _put(self, task: tuple[str, Any]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(task)

    def begin(self, key: str) -> None:
        self._put(("begin", key))

    def write(self, text: str) -> None:
        if text:
            self._put(("data", text.encode("utf-8")))

    def end(self, key: str) -> None:
        self._put(("end", key))

    def finish(self) -> dict[str, Deflated]:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.done

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self.file.close()


# --------------------------------------------------------------------------- the zip


class _Entry(NamedTuple):
    name: bytes
    crc: int
    compressed: int
    size: int
    offset: int


class ZipWriter:
    """A deterministic zip: deflated members, fixed times, zip64 where needed."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.entries: list[_Entry] = []
        self.position = 0

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def add(self, name: str, data: bytes) -> None:
        """A member from its content."""
        compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
        body = compressor.compress(data) + compressor.flush()
        self.add_deflated(name, [body], zlib.crc32(data), len(data))

    def add_deflated(self, name: str, pieces: list[bytes | Callable[[], bytes]], crc: int,
                     size: int, compressed: int | None = None) -> None:
        """A member from its deflate stream in pieces (bytes, or functions giving bytes)."""
        encoded = name.encode("utf-8")
        if compressed is None:
            compressed = sum(len(p) for p in pieces if isinstance(p, bytes))
        offset = self.position
        big = size >= ZIP64_AT or compressed >= ZIP64_AT
        extra = struct.pack("<HHQQ", 1, 16, size, compressed) if big else b""
        self._write(struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, _VERSION_ZIP64 if big else _VERSION, _FLAGS, 8,
            _DOS_TIME, _DOS_DATE, crc, _SENTINEL if big else compressed,
            _SENTINEL if big else size, len(encoded), len(extra)) + encoded + extra)
        for piece in pieces:
            self._write(piece if isinstance(piece, bytes) else piece())
        self.entries.append(_Entry(encoded, crc, compressed, size, offset))

    def close(self) -> None:
        start = self.position
        for e in self.entries:
            fields = []
            size = e.size if e.size < ZIP64_AT else _SENTINEL
            compressed = e.compressed if e.compressed < ZIP64_AT else _SENTINEL
            offset = e.offset if e.offset < ZIP64_AT else _SENTINEL
            if size == _SENTINEL:
                fields.append(e.size)
            if compressed == _SENTINEL:
                fields.append(e.compressed)
            if offset == _SENTINEL:
                fields.append(e.offset)
            extra = (struct.pack("<HH", 1, 8 * len(fields)) + struct.pack(
                f"<{len(fields)}Q", *fields)) if fields else b""
            version = _VERSION_ZIP64 if fields else _VERSION
            self._write(struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, version, version, _FLAGS, 8, _DOS_TIME,
                _DOS_DATE, e.crc, compressed, size, len(e.name), len(extra), 0, 0, 0, 0,
                offset) + e.name + extra)
        length = self.position - start
        count = len(self.entries)
        if count >= 0xFFFF or length >= ZIP64_AT or start >= ZIP64_AT:
            end64 = self.position
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, _VERSION_ZIP64,
                                    _VERSION_ZIP64, 0, 0, count, count, length, start))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, min(count, 0xFFFF),
                                min(count, 0xFFFF),
                                length if length < ZIP64_AT else _SENTINEL,
                                start if start < ZIP64_AT else _SENTINEL, 0))


def raw_member(file: IO[bytes], info: zipfile.ZipInfo) -> bytes:
    """A member's compressed bytes as stored (``info``: its ``zipfile.ZipInfo``)."""
    file.seek(info.header_offset)
    header = file.read(30)
    if header[:4] != b"PK\x03\x04":
        raise ValueError(f"no local header for {info.filename}")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    file.seek(info.header_offset + 30 + name_length + extra_length)
    return file.read(info.compress_size)


# --------------------------------------------------------------------------- splicing

_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData>\s*</sheetData>")
_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def _deflate_piece(data: bytes, final: bool) -> bytes:
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final
                                                        else zlib.Z_SYNC_FLUSH)


def spliced(xml: bytes, rows: Deflated, dimension: str | None, packer_file: IO[bytes]
            ) -> tuple[list[bytes | Callable[[], bytes]], int, int, int]:
    """A sheet's member: XlsxWriter's XML with the deflated rows where its sheetData was.

    Returns the pieces of the deflate stream, its CRC, size and compressed length.
    """
    found = _SHEET_DATA.search(xml)
    if found is None:
        raise ValueError("the sheet XML has no empty <sheetData/> to put the rows in")
    head = xml[:found.start()]
    if dimension is not None:
        head = _DIMENSION.sub(f'<dimension ref="{dimension}"/>'.encode(), head, count=1)
    head += b"<sheetData>"
    tail = b"</sheetData>" + xml[found.end():]
    first, last = _deflate_piece(head, False), _deflate_piece(tail, True)
    crc = crc32_combine(zlib.crc32(head), rows.crc, rows.size)
    crc = crc32_combine(crc, zlib.crc32(tail), len(tail))

    def middle() -> bytes:
        packer_file.seek(rows.offset)
        return packer_file.read(rows.length)

    size = len(head) + rows.size + len(tail)
    compressed = len(first) + rows.length + len(last)
    if rows.length > 64 << 20:
        pieces: list[bytes | Callable[[], bytes]] = [first, *_reads(packer_file, rows), last]
    else:
        pieces = [first, middle, last]
    return pieces, crc, size, compressed


def _reads(file: IO[bytes], rows: Deflated, block: int = 16 << 20
           ) -> list[Callable[[], bytes]]:
    """Functions that read the rows' deflated bytes a block at a time (no big copy)."""
    out: list[Callable[[], bytes]] = []
    for start in range(0, rows.length, block):
        def read(start: int = start) -> bytes:
            file.seek(rows.offset + start)
            return file.read(min(block, rows.length - start))
        out.append(read)
    return out
