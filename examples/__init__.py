"""The blog's three experiments, run through dualgrad; installed as `dualgrad.examples`.

Run one with ``python examples/linear_regression.py``, or all three with ``dualgrad demo``.
"""
