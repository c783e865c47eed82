"""dualgrad-scipy: scipy.special primitives with their rules, and an L-BFGS-B optimizer.

Installed, it registers itself with dualgrad through the ``dualgrad`` entry point ``scipy``:
``dualgrad.primitive("erf")`` and ``{"type": "lbfgs"}`` work without importing this package.
"""

from .optimize import LBFGS, LBFGSState
from .special import digamma, erf, erfc, expit, gammaln, log_expit, polygamma

__all__ = [
    "LBFGS",
    "LBFGSState",
    "digamma",
    "erf",
    "erfc",
    "expit",
    "gammaln",
    "log_expit",
    "polygamma",
]
