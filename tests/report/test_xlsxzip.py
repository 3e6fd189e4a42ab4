"""The workbook's zip as the tool writes it: valid, deterministic, zip64 when sizes need it."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest

from reconcile import xlsxzip


def test_crc32_combine_is_the_crc_of_the_joined_bytes():
    for a, b in ((b"", b"x"), (b"<sheetData>", b"<row/>" * 1000), (bytes(range(256)) * 9, b"")):
        assert xlsxzip.crc32_combine(zlib.crc32(a), zlib.crc32(b), len(b)) == zlib.crc32(a + b)


@pytest.mark.parametrize("zip64_at", [0xFFFFFFFF, 100])
def test_a_sheet_spliced_from_three_deflate_streams_reads_back_whole(monkeypatch, zip64_at):
    monkeypatch.setattr(xlsxzip, "ZIP64_AT", zip64_at)  # 100: every record as zip64
    packer = xlsxzip.Packer()
    try:
        packer.begin("S")
        rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 3000))
        for i in range(0, len(rows), 7000):
            packer.write(rows[i:i + 7000])
        packer.end("S")
        deflated = packer.finish()
        sheet = b'<worksheet><dimension ref="A1"/><sheetData/><pageSetup/></worksheet>'
        out = io.BytesIO()
        target = xlsxzip.ZipWriter(out)
        target.add("[Content_Types].xml", b"<Types/>")
        pieces, crc, size, compressed = xlsxzip.spliced(sheet, deflated["S"], "A1:A2999",
                                                        packer.file)
        target.add_deflated("xl/worksheets/sheet1.xml", pieces, crc, size, compressed)
        target.close()
    finally:
        packer.close()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as z:
        assert z.testzip() is None  # every CRC right
        assert z.namelist() == ["[Content_Types].xml", "xl/worksheets/sheet1.xml"]
        assert z.read("xl/worksheets/sheet1.xml").decode() == (
            f'<worksheet><dimension ref="A1:A2999"/><sheetData>{rows}</sheetData>'
            f"<pageSetup/></worksheet>")
