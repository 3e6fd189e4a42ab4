"""Fixtures for rulebook tests: a private copy of the bundled rules to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconcile.paths import bundled_rules_dir


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A copy of the bundled rules folder (with its contracts) to edit."""
    target = tmp_path / "rules"
    shutil.copytree(bundled_rules_dir(), target)
    return target
