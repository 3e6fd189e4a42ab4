"""``mypy --strict reconcile`` passes (its settings in pyproject.toml [tool.mypy]), run
by ``make test``.

mypy comes with the test extra (setup.cfg), with PyYAML's type information; a
``# type: ignore[code]`` in reconcile/ says why on its line (strict mode reports any
that is no longer needed).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", "/dev/null",
                           *arguments], cwd=cwd, capture_output=True, text=True, check=False)


def test_mypy_strict_passes_on_reconcile() -> None:
    run = _mypy("reconcile")
    assert "No module named mypy" not in run.stderr, "install the test extra: pip install -e '.[test]'"
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_check_fails_on_an_untyped_function(tmp_path: Path) -> None:
    # the same command on a package with one strict-mode error: it must fail, naming it
    (tmp_path / "reconcile").mkdir()
    (tmp_path / "reconcile" / "__init__.py").write_text("def f(x):\n    return x\n",
                                                        encoding="utf-8")
    run = _mypy("--config-file", str(ROOT / "pyproject.toml"), "reconcile", cwd=tmp_path)
    assert run.returncode == 1
    assert re.search(r"reconcile/__init__\.py:1: error: Function is missing a type annotation",
                     run.stdout), run.stdout


def test_every_type_ignore_says_why() -> None:
    unexplained = [f"{path.relative_to(ROOT)}:{number}"
                   for path in sorted((ROOT / "reconcile").rglob("*.py"))
                   for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                   if (at := line.find("# type: ignore")) >= 0
                   and not re.match(r"# type: ignore\[[\w,-]+\]\s+#\s*\S", line[at:])]
    assert unexplained == []
