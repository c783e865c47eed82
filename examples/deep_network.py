"""The blog's 2-2-1 "deep" network, declared instead of hand-written.

Its code is src/dualgrad/examples/deep_network.py, installed with dualgrad;
this script runs it as ``python -m dualgrad.examples.deep_network`` does.
"""

from dualgrad.examples.deep_network import main

if __name__ == "__main__":
    main()
