"""Breast cancer: a Pipeline of a scaler and DualgradClassifier, scored by 5-fold
cross-validation (needs scikit-learn).

Its code is src/dualgrad/examples/breast_cancer.py, installed with dualgrad;
this script runs it as ``python -m dualgrad.examples.breast_cancer`` does.
"""

from dualgrad.examples.breast_cancer import main

if __name__ == "__main__":
    main()
