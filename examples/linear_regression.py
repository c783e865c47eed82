"""The blog's linear regression: fit y = m x + b to y = 3x - 2 plus noise.

Its code is src/dualgrad/examples/linear_regression.py, installed with dualgrad;
this script runs it as ``python -m dualgrad.examples.linear_regression`` does.
"""

from dualgrad.examples.linear_regression import main

if __name__ == "__main__":
    main()
