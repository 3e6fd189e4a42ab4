"""``mypy --strict reconcile`` (its settings in pyproject.toml [tool.mypy]), run by
``make test``: every module passes, except those still listed in
:data:`NOT_YET_STRICT`, a list that may only shrink.

A module on the list must still have errors (the test says when one is clean, so it
comes off the list); a module off the list must have none. mypy comes with the test
extra (setup.cfg), with the type information of PyYAML.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: modules not yet typed to --strict: each line is a debt (issue 13); remove a module
#: when it passes, never add one
NOT_YET_STRICT = frozenset({
    "reconcile/read/xlsx.py", "reconcile/read/convert.py", "reconcile/read/apijson.py",
    "reconcile/read/declarations.py", "reconcile/read/statements.py",
    "reconcile/read/csvfile.py", "reconcile/read/values.py",
    "reconcile/read/jsonguard.py", "reconcile/read/inputs.py", "reconcile/read/__init__.py",
    "reconcile/read/participants.py", "reconcile/read/merge.py",
    "reconcile/read/sheetscan.py",
    "reconcile/serve/views.py", "reconcile/serve/app.py", "reconcile/serve/charts.py",
})

_ERROR = re.compile(r"^(?P<file>reconcile/\S+?\.py):\d+: error: ", re.MULTILINE)


def errors_by_file(output: str) -> Counter[str]:
    """mypy's error lines counted per file."""
    return Counter(match["file"] for match in _ERROR.finditer(output))


def test_errors_by_file_reads_mypys_lines() -> None:
    output = ("reconcile/a.py:3: error: Missing type arguments  [type-arg]\n"
              "reconcile/a.py:3: note: See https://...\n"
              "reconcile/b/c.py:10: error: Function is missing a type annotation  [no-untyped-def]\n"
              "reconcile/a.py:9: error: Returning Any  [no-any-return]\n"
              "Found 3 errors in 2 files (checked 5 source files)\n")
    assert errors_by_file(output) == {"reconcile/a.py": 2, "reconcile/b/c.py": 1}


def test_mypy_strict_passes_on_every_module_off_the_list() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", "/dev/null",
         "--no-error-summary", "reconcile"],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert "No module named mypy" not in run.stderr, "install the test extra: pip install -e '.[test]'"
    assert run.returncode in (0, 1), run.stderr
    errors = errors_by_file(run.stdout)
    unexpected = sorted(f for f in errors if f not in NOT_YET_STRICT)
    assert not unexpected, ("mypy --strict errors in modules that pass it:\n" + "\n".join(
        line for line in run.stdout.splitlines() if line.split(":")[0] in unexpected))
    now_clean = sorted(NOT_YET_STRICT - set(errors))
    assert not now_clean, f"these pass mypy --strict now: take them off NOT_YET_STRICT: {now_clean}"
    missing = sorted(f for f in NOT_YET_STRICT if not (ROOT / f).exists())
    assert not missing, f"no such module (take it off NOT_YET_STRICT): {missing}"
