"""Handwritten digits: a 64-32-10 network with softmax cross-entropy, accuracy, validation
and early stopping (needs scikit-learn, and matplotlib for the picture).

Its code is src/dualgrad/examples/digits.py, installed with dualgrad;
this script runs it as ``python -m dualgrad.examples.digits`` does.
"""

from dualgrad.examples.digits import main

if __name__ == "__main__":
    main(verbose=True, out_dir=".")
