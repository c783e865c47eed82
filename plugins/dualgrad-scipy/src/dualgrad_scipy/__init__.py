"""dualgrad-scipy: scipy.special primitives with their rules, and an L-BFGS-B optimizer.

Installed, it registers itself with dualgrad through the ``dualgrad`` entry point ``scipy``:
``dualgrad.primitive("erf")`` and ``{"type": "lbfgs"}`` work without importing this package.
"""

from . import stats
from .optimize import LBFGS, LBFGSState
from .special import (
    beta,
    betaln,
    digamma,
    entr,
    erf,
    erfc,
    expit,
    gamma,
    gammaln,
    i0,
    i0e,
    i1,
    i1e,
    log_expit,
    log_ndtr,
    ndtr,
    polygamma,
    xlog1py,
    xlogy,
)

__all__ = [
    "LBFGS",
    "LBFGSState",
    "beta",
    "betaln",
    "digamma",
    "entr",
    "erf",
    "erfc",
    "expit",
    "gamma",
    "gammaln",
    "i0",
    "i0e",
    "i1",
    "i1e",
    "log_expit",
    "log_ndtr",
    "ndtr",
    "polygamma",
    "stats",
    "xlog1py",
    "xlogy",
]
