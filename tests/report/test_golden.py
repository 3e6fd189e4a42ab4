"""The rendered workbook, cell by cell, against golden dumps; the same inputs, the same bytes.

A golden file is the text dump (tests/report/dump.py) of a rendered workbook. When
a change to the workbook is intended, regenerate and review the diff::

    RECONCILE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_golden.py

A missing golden file fails (it never passes by writing itself).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconcile.report import build_workbook
from reconcile.write import write_workbook
from tests.report.test_write import parts_of
from tests.report.dump import dump_workbook
from tests.report.scenario import build_result

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("RECONCILE_UPDATE_GOLDEN") == "1"


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: create it with "
                    f"RECONCILE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest {__file__} "
                    f"and review it before committing")
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"the workbook differs from {path}; if the change is intended, regenerate with "
        f"RECONCILE_UPDATE_GOLDEN=1 and review the diff")


@pytest.mark.parametrize("name, with_dfe", [("scenario", True), ("scenario-no-dfe", False)])
def test_rendered_workbook_matches_its_golden_dump(tmp_path, name, with_dfe):
    result = build_result(with_dfe)
    path = tmp_path / "book.xlsx"
    write_workbook(build_workbook(result), path)
    _check(name, dump_workbook(path))


def test_the_fast_writer_gives_xlsxwriters_own_bytes(tmp_path, monkeypatch):

    book = build_workbook(build_result())
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    write_workbook(book, fast)
    write_workbook(book, slow, fast_rows=False)
    assert parts_of(fast) == parts_of(slow)


def test_the_same_inputs_give_a_byte_identical_workbook(tmp_path):
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    write_workbook(build_workbook(build_result()), first)
    write_workbook(build_workbook(build_result()), second)
    assert first.read_bytes() == second.read_bytes()
