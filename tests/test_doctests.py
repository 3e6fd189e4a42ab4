"""The examples in reconcile's docstrings (``>>> ...``) are run, so that none goes stale.

Each module of the package is one test; a module without examples passes trivially,
one whose examples disagree with the code fails with doctest's report.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import reconcile

#: every module of the package but the command-line entry point (importing it runs it)
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(reconcile.__path__, "reconcile.")
    if not info.name.endswith(".__main__"))


def test_the_package_has_examples_to_run() -> None:
    found = 0
    finder = doctest.DocTestFinder()
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found += sum(len(test.examples) for test in finder.find(module))
    assert found > 100, found


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ImportError as error:  # durable-rules is not installable on every Python
        if "durable" not in str(error):
            raise
        pytest.skip(f"{name} needs durable-rules: {error}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                             verbose=False, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
