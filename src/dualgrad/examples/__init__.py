"""Worked examples, run through dualgrad: the blog's three experiments and two of
scikit-learn's data sets.

`dualgrad demo` runs the blog's three (`linear_regression`, `logistic_regression`,
`deep_network`). Each module runs on its own with ``python -m dualgrad.examples.NAME``, or from
a checkout with ``python examples/NAME.py``.
"""
