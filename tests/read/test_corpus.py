"""The bad-input corpus (tests/read/bad/, made by make_corpus.py): each file is refused
with exit 2, the place of the mistake and a fix, no traceback and nothing written.

``manifest.json`` says for each file which option it is given to, the place the
message must name (file, sheet, row, column) and a phrase it must contain.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from reconcile.cli import main
from reconcile.errors import InputError
from reconcile.read import read_declarations, read_dfe_statements

from .conftest import BAD, GOOD

MANIFEST = json.loads((BAD / "manifest.json").read_text(encoding="utf-8"))
CASES = sorted(MANIFEST)


def test_the_corpus_is_complete():
    on_disk = {p.name for p in BAD.iterdir()} - {"manifest.json"}
    assert on_disk == set(MANIFEST)
    assert len(MANIFEST) >= 30
    assert {c["option"] for c in MANIFEST.values()} == {"--declarations", "--dfe-statements"}


@pytest.mark.parametrize("name", CASES)
def test_bad_file_is_one_input_error_naming_the_place(name, vocabulary, monkeypatch):
    case = MANIFEST[name]
    for key, value in case.get("env", {}).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(InputError) as caught:
        if case["option"] == "--declarations":
            read_declarations(BAD / name, vocabulary)
        else:
            read_dfe_statements(BAD / name, vocabulary)
    text = caught.value.render()
    assert str(BAD / name) in text
    assert case["where"] in text
    assert case["says"] in text
    # every problem says how to fix it
    assert all(p.fix for p in caught.value.problems)


@pytest.fixture(scope="module")
def one_rulebook():
    """Load the bundled rulebook once for the many CLI runs below (reading is what is tested)."""
    from reconcile.rulebook import load

    return functools.lru_cache(maxsize=None)(load.load_rulebook)


@pytest.mark.parametrize("name", CASES)
def test_bad_file_exits_2_through_the_cli_and_writes_nothing(name, tmp_path, monkeypatch,
                                                             one_rulebook):
    from reconcile.rulebook import load

    monkeypatch.setattr(load, "load_rulebook", one_rulebook)
    case = MANIFEST[name]
    out = tmp_path / "out.json"
    if case["option"] == "--declarations":
        args = ["expected", "--declarations", str(BAD / name)]
    else:
        args = ["expected", "--declarations", str(GOOD / "declarations.csv"),
                "--dfe-statements", str(BAD / name)]
    result = CliRunner().invoke(main, [*args, "--json", str(out), "--quiet"],
                                env=case.get("env"))
    assert result.exit_code == 2, result.output
    assert "input error" in result.stderr
    assert case["where"] in result.stderr and case["says"] in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("name", ["zip_bomb_ratio.xlsx", "formulas_no_cached_value.xlsx",
                                  "truncated.json"])
def test_a_real_process_exits_2_without_a_traceback(name, tmp_path):
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [sys.executable, "-m", "reconcile", "expected", "--declarations", str(BAD / name),
         "--json", str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert MANIFEST[name]["says"] in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
