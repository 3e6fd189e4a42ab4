"""No output depends on the working folder, the time zone, the locale or the hash seed
(issue 12): the same inputs, given by the same paths, give the same bytes. A rule's
source is named from the rulebook's folder (``rules/eligibility.yaml:183``), not from
wherever the program was started (it was ``work/main/rules/...`` from ``/`` and an
absolute path elsewhere)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def _run(where: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "reconcile", "run", "--quiet", "--no-history",
         "--declarations", str(SAMPLES / "declarations.xlsx"),
         "--dfe-statements", str(SAMPLES / "dfe-statements-planted.xlsx"),
         "--contracts", str(SAMPLES / "contracts"), "--as-of", "2026-10-10",
         "--out", str(out / "r.xlsx"), "--json", str(out / "r.json")],
        capture_output=True, text=True, cwd=where, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if line.strip() == text)


@pytest.mark.slow
def test_two_working_folders_time_zones_locales_and_seeds_give_the_same_bytes(tmp_path):
    first, second = tmp_path / "first", tmp_path / "deep" / "second"
    first.mkdir()
    second.mkdir(parents=True)
    a = _run(Path("/"), first, {"TZ": "Pacific/Kiritimati", "LC_ALL": "C",
                                 "PYTHONHASHSEED": "1"})
    b = _run(second, second, {"TZ": "America/Adak", "LC_ALL": "C.UTF-8",
                              "PYTHONHASHSEED": "2"})
    assert a.returncode == b.returncode == 1, (a.stderr, b.stderr)  # planted discrepancies
    for name in ("r.xlsx", "r.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name

    # the rule of a finding is named from the bundled rulebook's folder
    rules = {f["rule"] for f in json.loads((first / "r.json").read_text(encoding="utf-8"))
             ["findings"] if f.get("rule")}
    line = _line(ROOT / "rules" / "eligibility.yaml", "- id: duplicate")
    assert f"duplicate (rules/eligibility.yaml:{line})" in rules
    assert all(r.split(" (", 1)[1].startswith("rules/") for r in rules), rules
