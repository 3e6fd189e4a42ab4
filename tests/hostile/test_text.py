"""Every text that reaches a workbook or the JSON is safe for it (issue 12): control
characters and lone surrogates from any input are replaced with a note; sheet names
are valid and unique; the writer guarantees it for any sheet any builder adds."""

from __future__ import annotations

import json
import xml.dom.minidom
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl

from reconcile.sheets import Formula, Link, Money, RowStream, Sheet, Text, Workbook, sheet_cell
from reconcile.write import write_workbook
from tests.hostile.files import (
    STATEMENTS_JSON,
    DECLARATIONS_XLSX,
    STATEMENTS_XLSX,
    api_json,
    cli,
    zip_with,
)


def assert_well_formed(book: Path) -> openpyxl.Workbook:
    """Every XML part of ``book`` parses, and openpyxl opens it."""
    with zipfile.ZipFile(book) as archive:
        for name in archive.namelist():
            if name.endswith((".xml", ".rels")):
                xml.dom.minidom.parseString(archive.read(name))
    return openpyxl.load_workbook(book)


def test_control_characters_in_a_dfe_statement_name_make_a_well_formed_workbook(tmp_path):
    # the OOXML escapes _x0001_ and _x0000_ are how a workbook carries them: the reader
    # gets U+0001 and U+0000 in the statement's name
    dfe = zip_with(STATEMENTS_XLSX, tmp_path / "dfe.xlsx", "xl/sharedStrings.xml",
                   lambda d: d.replace(b"<t>November 2023</t>",
                                       b"<t>November 2023_x0001__x0000_</t>"))
    out, json_out = tmp_path / "out.xlsx", tmp_path / "out.json"
    result = cli("run", "--declarations", DECLARATIONS_XLSX, "--dfe-statements", dfe,
                 "--out", out, "--json", json_out, "-q")
    assert result.exit_code in (0, 1), result.stderr
    book = assert_well_formed(out)
    assert "November 2023\ufffd\ufffd" in book.sheetnames
    findings = json.loads(json_out.read_text(encoding="utf-8"))["findings"]
    notes = [f for f in findings if f["code"] == "READ_TEXT_REPLACED"]
    assert len(notes) == 1 and notes[0]["severity"] == "warning"
    assert notes[0]["source"] == f"{dfe}, sheet Statements, row 2, column name (D)"
    assert "U+0001, U+0000" in notes[0]["message"]


def test_a_lone_surrogate_in_an_id_is_replaced_and_noted_not_a_crash_at_the_write(tmp_path):
    def edit(document):
        document["data"][0]["id"] = "d-\ud800-1"

    out, json_out = tmp_path / "out.xlsx", tmp_path / "out.json"
    result = cli("run", "--declarations", api_json(tmp_path / "d-cohort2023.json", edit),
                 "--out", out, "--json", json_out, "-q")
    assert result.exit_code in (0, 1), result.stderr
    assert_well_formed(out)
    text = json_out.read_bytes().decode("utf-8")  # valid UTF-8
    assert "d-\ufffd-1" in text
    note = [f for f in json.loads(text)["findings"] if f["code"] == "READ_TEXT_REPLACED"]
    assert note and note[0]["source"].endswith("d-cohort2023.json, row 1, column id")


def test_the_writer_makes_any_sheet_safe_whoever_built_it(tmp_path):
    bad = "May\x00 2024\x01\ud800/[x]"
    book = Workbook((
        Sheet("Summary", ((Text("a\x02b\ud800"), Formula(sheet_cell(bad, 0, 1), Decimal(1)),
                           Link("go\x03", bad)),)),
        Sheet(bad, ((Text("t"), Money(Decimal(1))),)),
        Sheet("Summary", (("x",),)),
        Sheet("Stream\x05", RowStream(lambda: iter([("plain\x00\ud801", Decimal(2))]))),
        Sheet("History", ((Text("h"),),)),
    ), title="T\x01", active=bad)
    write_workbook(book, tmp_path / "safe.xlsx")
    opened = assert_well_formed(tmp_path / "safe.xlsx")
    assert opened.sheetnames == ["Summary", "May 2024--x-", "Summary (2)", "Stream",
                                 "History (sheet)"]
    summary = opened["Summary"]
    assert summary["A1"].value == "a\ufffdb\ufffd"
    assert summary["B1"].value == "='May 2024--x-'!B1"  # follows the renamed sheet
    assert summary["C1"].hyperlink.location == "'May 2024--x-'!A1"
    assert [c.value for c in opened["Stream"][1]] == ["plain\ufffd\ufffd", 2]
    assert opened.active.title == "May 2024--x-"


def test_a_lone_surrogate_in_the_api_statements_month_is_replaced_and_noted(tmp_path):
    # found by the property test: the statement's name (month + year) reached the
    # history's fingerprint raw, and the run stopped with exit 3 at the JSON
    document = json.loads(STATEMENTS_JSON.read_text(encoding="utf-8"))
    document["data"][0]["attributes"]["month"] = "Nov\ud800ember"
    statements = tmp_path / "statements.json"
    statements.write_text(json.dumps(document), encoding="ascii")
    out, json_out = tmp_path / "out.xlsx", tmp_path / "out.json"
    result = cli("run", "--declarations", api_json(tmp_path / "d-cohort2023.json"),
                 "--dfe-statements", statements, "--out", out, "--json", json_out, "-q")
    assert result.exit_code in (0, 1), result.stderr
    assert "Nov\ufffdember 2023" in assert_well_formed(out).sheetnames
    findings = json.loads(json_out.read_bytes().decode("utf-8"))["findings"]
    (note,) = [f for f in findings if f["code"] == "READ_TEXT_REPLACED"]
    assert note["source"] == f"{statements}, row 1, column month"
    assert "U+D800" in note["message"]
