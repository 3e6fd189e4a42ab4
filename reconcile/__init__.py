"""reconcile: what DfE should pay an ECF lead provider on each statement, and why.

Stages (see :mod:`reconcile.pipeline`): read -> validate -> evaluate rules ->
calculate -> compare -> report -> write.
"""

__version__ = "0.1.0"
