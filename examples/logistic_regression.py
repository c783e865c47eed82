"""The blog's logistic regression: sigmoid(m x + b) trained on log-loss.

Its code is src/dualgrad/examples/logistic_regression.py, installed with dualgrad;
this script runs it as ``python -m dualgrad.examples.logistic_regression`` does.
"""

from dualgrad.examples.logistic_regression import main

if __name__ == "__main__":
    main()
