"""Each finding code has one severity, wherever it is raised (the catalogue's)."""

import re
from pathlib import Path

import reconcile

ROOT = Path(reconcile.__file__).resolve().parent


def test_no_catalogued_finding_is_raised_at_another_severity():
    # finding(...) takes the catalogue's severity; overriding it would give one code two
    # severities in the Findings sheet and in the JSON
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in ROOT.rglob("*.py")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"\bseverity=(?!severity\b)[A-Za-z_.]*Severity\.", line)]
    assert offenders == []
