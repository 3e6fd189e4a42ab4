"""Hostile and damaged inputs for the tests, each built small, in the test run.

Every builder starts from a good file of the reader corpus (``tests/read/good``) and
changes one thing, the way a damaged export or a malicious file would.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result

from reconcile.cli import main
from reconcile.paths import bundled_rules_dir

GOOD = Path(__file__).resolve().parent.parent / "read" / "good"
DECLARATIONS_XLSX = GOOD / "declarations.xlsx"
DECLARATIONS_JSON = GOOD / "declarations.json"
STATEMENTS_XLSX = GOOD / "dfe-statements.xlsx"
STATEMENTS_JSON = GOOD / "statements.json"
CONTRACTS = bundled_rules_dir() / "contracts"
RUNS = ("run", "expected", "split", "explain")


def cli(*args: object) -> Result:
    """``reconcile ARGS`` in this process (standard error apart); a command that runs
    the pipeline gets the bundled example contracts."""
    words = [str(a) for a in args]
    if words and words[0] in RUNS and "--contracts" not in words:
        words += ["--contracts", str(CONTRACTS)]
    return CliRunner().invoke(main, words)


def assert_refused(result: Result, *phrases: str, outputs: tuple[Path, ...] = ()) -> None:
    """Exit 2, every phrase in the message, no traceback, nothing written."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.stderr)
    for phrase in phrases:
        assert phrase in result.stderr, (phrase, result.stderr)
    assert "Traceback" not in result.output + result.stderr
    assert "bug in reconcile" not in result.stderr
    for path in outputs:
        assert not path.exists(), path
        assert not list(path.parent.glob(f".{path.name}.*")), "a temporary file was left"


def zip_with(source: Path, target: Path, part: str, change: Callable[[bytes], bytes]) -> Path:
    """A copy of a workbook with one part changed."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, change(data) if item.filename == part else data)
    return target


def shared_strings_bomb(target: Path) -> Path:
    """A declarations workbook claiming 4,294,967,295 shared strings (calamine would
    reserve about 100 GB for them)."""
    return zip_with(DECLARATIONS_XLSX, target, "xl/sharedStrings.xml",
                    lambda d: re.sub(rb'count="\d+" uniqueCount="\d+"',
                                     b'count="4294967295" uniqueCount="4294967295"', d))


def far_cell(target: Path, reference: str = "XFD1048576", *, dimension: bool = False,
             cell_tag: str | None = None) -> Path:
    """A declarations workbook with one more cell far away, and (unless ``dimension``)
    no ``<dimension>`` element: calamine would hold every cell from A1 to it."""
    row = int(re.sub(r"[A-Za-z]+", "", reference) or 1)
    tag = cell_tag or f'<c r="{reference}"><v>1</v></c>'

    def change(data: bytes) -> bytes:
        if not dimension:
            data = re.sub(rb"<dimension[^>]*/>", b"", data)
        return data.replace(b"</sheetData>", f'<row r="{row}">{tag}</row></sheetData>'.encode())

    return zip_with(DECLARATIONS_XLSX, target, "xl/worksheets/sheet1.xml", change)


def api_json(target: Path, edit: Callable[[dict], None] | None = None, *,
             text: Callable[[str], str] | None = None) -> Path:
    """The good API declarations JSON, its document edited (``edit``) or its text (``text``)."""
    document = json.loads(DECLARATIONS_JSON.read_text(encoding="utf-8"))
    if edit is not None:
        edit(document)
    body = json.dumps(document)
    target.write_text(text(body) if text else body, encoding="utf-8", errors="surrogatepass")
    return target


def billion_laughs() -> str:
    """The classic alias bomb: 10 levels of 9 aliases, 9^10 values once expanded, in 500 bytes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"
