"""Which engine backends the tests run against, and when durable-rules may be skipped.

durable-rules 2.0.28 imports on Python 3.10-3.12 and not on 3.13+ (setup.cfg does
not even install it there). Only there may its tests be skipped: on 3.10-3.12 a
missing or broken durable-rules must fail the tests, not hide behind a skip.
"""

import sys

import pytest

from reconcile.rulebook.engine import durable_unavailable

DURABLE_MISSING = durable_unavailable()

needs_durable = pytest.mark.skipif(
    DURABLE_MISSING is not None and sys.version_info >= (3, 13),
    reason="durable-rules 2.0.28 does not import on Python 3.13+; "
           "the pure-Python backend runs the same rules here")

BACKENDS = ["python", pytest.param("durable", marks=needs_durable)]
