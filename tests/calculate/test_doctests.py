"""The examples in the calculation modules' docstrings are true."""

import doctest

import pytest

from reconcile.calculate import assign, attribution, banding, fees, service_fee
from reconcile.rulebook import versions


@pytest.mark.parametrize("module", [assign, attribution, banding, fees, service_fee,
                                    versions],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0
