"""The exceptions and warnings dualgrad raises.

Each subclasses the builtin it refines, so ``except ValueError`` keeps working, and each message
says what happened, what was expected, and what to do about it.
"""

from __future__ import annotations

import numpy as np


class DualgradError(Exception):
    """Base class of every dualgrad exception."""


class ShapeError(DualgradError, ValueError):
    """Shapes that do not fit: arrays that do not broadcast, or a tangent is malformed."""


class LinAlgError(DualgradError, np.linalg.LinAlgError):
    """A matrix at which a derivative asked for does not exist: a singular matrix (inv, solve,
    det), or repeated eigenvalues or singular values (the vectors of eigh and svd)."""


class DualgradTypeError(DualgradError, TypeError):
    """An operand dualgrad cannot differentiate: a string, None, an object or complex array."""


class UnknownNameError(DualgradError, KeyError):
    """A name that no plugin registered."""

    def __str__(self) -> str:
        # KeyError would print the message in quotes.
        return str(self.args[0]) if self.args else ""


class AmbiguousNameError(UnknownNameError):
    """A name that two or more third-party plugins registered; pick one by its qualified name."""


class ConfigError(DualgradError, ValueError):
    """A configuration (of a layer, loss, optimizer or model) that cannot be honoured."""


class DataError(DualgradError, ValueError):
    """Training or evaluation data that cannot be used as given."""


class ModelFileError(DualgradError, ValueError):
    """A model file that is missing, corrupt, or not written by dualgrad."""


class MemoryBudgetError(DualgradError, MemoryError):
    """An answer (a Jacobian, a Hessian) larger than the memory budget, refused before it is
    computed; `needed` and `budget` are in bytes."""

    def __init__(self, message: str, needed: int, budget: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.budget = budget

    def __reduce__(self) -> tuple[type, tuple[str, int, int]]:
        return type(self), (str(self), self.needed, self.budget)


class TracingError(DualgradError, TypeError):
    """A function being recorded (see `dualgrad._trace`) read one of the values it records
    from Python, so its program cannot be replayed; it runs eagerly instead."""


class NotTransposableError(DualgradTypeError):
    """A rule uses its tangent in a way reverse mode cannot transpose (not linear in it, or an
    operation with no transpose): the message names the primitive and the operation."""


class ExecutorError(DualgradError, RuntimeError):
    """A task sent to an executor (``executor=``) failed: an exception in the function, a
    worker process that died, a timeout. The message names the chunk or shard and the cause."""


class NonFiniteLossError(DualgradError, FloatingPointError):
    """The loss became NaN or infinite during training."""


class PluginLoadError(DualgradError, RuntimeError):
    """A plugin failed to load; raised instead of a warning when DUALGRAD_STRICT_PLUGINS=1."""


class PluginWarning(UserWarning):
    """A plugin was skipped or one of its names was not given to it; everything else still works."""


class TrainingWarning(UserWarning):
    """A model that trains, but likely not as meant: a loss reading the wrong activation, a fit
    that learnt nothing."""
