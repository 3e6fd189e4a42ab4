"""Fixtures for the reader tests: the bundled rulebook's vocabulary and file writers."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from reconcile.paths import bundled_rules_dir

HERE = Path(__file__).resolve().parent
GOOD = HERE / "good"
BAD = HERE / "bad"


@pytest.fixture(scope="session")
def vocabulary():
    from reconcile.rulebook.load import load_rulebook

    return load_rulebook().vocabulary


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """A CSV from a table written in the test as '|'-separated lines."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in text.strip().splitlines():
        writer.writerow([cell.strip() for cell in line.split("|")])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A copy of the bundled rules folder (with its contracts) to edit."""
    target = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), target)
    return target
