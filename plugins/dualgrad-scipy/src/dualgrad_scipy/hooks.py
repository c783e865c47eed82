"""The hook implementations dualgrad finds through the ``dualgrad`` entry point ``scipy``."""

from __future__ import annotations

from collections.abc import Iterable

import dualgrad

from .optimize import LBFGS
from .special import ALL


@dualgrad.hookimpl
def dualgrad_register_primitives() -> Iterable[dualgrad.Primitive]:
    return ALL


@dualgrad.hookimpl
def dualgrad_register_optimizers() -> Iterable[type[dualgrad.Optimizer]]:
    return (LBFGS,)
