"""Higher derivatives: `hessian` (forward over reverse, or forward over forward) and
`derivative` (the n-th derivative of a scalar function)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _budget
from ._core import Variable
from ._errors import ConfigError, DualgradTypeError, NotTransposableError, TracingError
from ._passes import as_input, itemsize, leaves
from ._reverse import gradient_program
from ._transforms import (
    _HESSIAN_ADVICE,
    _argnums,
    _budget_of,
    _checked_executor,
    _jacobian,
    _mode,
    grad,
)

__all__ = ["derivative", "hessian"]


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
            memory_budget: int | None = None, mode: str = "auto", *, executor: Any = None,
            timeout: float | None = None) -> Callable[..., Any]:
    """The Hessian of a scalar `f`, shaped ``x.shape + x.shape``: forward over reverse.

    f's reverse pass (its gradient) is recorded once as a program, and forward mode pushes the
    n directions of x through that program: n passes of the gradient's cost, where forward over
    forward pays n x n tangents through f. ``mode="forward"`` asks for forward over forward,
    which "auto" (the default) also takes inside another differentiation, with an `executor`
    (the chunks of directions of forward over forward ship as tasks), for a function whose
    Python reads its values (its program could not be replayed) or whose rules reverse mode
    cannot transpose, and where forward over reverse gives NaN that forward mode's zero
    tangents avoid. ``mode="reverse"`` insists on forward over reverse.

    A tuple `argnums` gives a tuple of tuples: block ``[i][j]`` holds the second derivatives
    in arguments ``argnums[i]`` and ``argnums[j]``, shaped ``xi.shape + xj.shape``.

    The n x n answer must fit in the memory budget (`memory_budget` bytes, or
    `get_memory_budget()`): one larger is refused with `MemoryBudgetError` before f runs; what
    it leaves of the budget bounds the passes of both differentiations.

    With an `executor` (see `grad`), each chunk of outer directions (rows of the Hessian) is
    one task on it.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> dg.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
        array([[ 6.,  0.],
               [ 0., 12.]])
    """
    budget = _budget_of(memory_budget)
    name = getattr(f, "__name__", "f")
    mode = _mode(mode)
    timeout = _checked_executor(executor, timeout)

    @functools.wraps(f)
    def hessian_f(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args))
        chosen = [as_input(args[i], f"argument {i}") for i in nums]
        n = sum(math.prod(a.shape) for a in chosen)
        answer = n * n * max(itemsize(a) for a in chosen)
        limit = _budget.resolve(budget)
        # refused before f runs, whichever way it is computed
        _budget.refuse_larger(f"hessian of {name}", n * n, answer, limit, _HESSIAN_ADVICE)
        if mode != "forward" and executor is None \
                and not any(isinstance(a, Variable) for a in args):
            try:
                program = gradient_program(f, args, kwargs, nums)
            except (TracingError, NotTransposableError, NotImplementedError):
                if mode == "reverse":
                    raise
            else:
                def inner(*full: Any, **_: Any) -> Any:
                    blocks = program.differentiate(*[full[i] for i in nums])
                    return blocks[0] if isinstance(argnums, (int, np.integer)) \
                        else tuple(blocks)

                hess = _jacobian(inner, args, kwargs, argnums, None, limit,
                                 f"hessian of {name}", _HESSIAN_ADVICE, outputs=n, spread=2)
                if mode == "reverse" or all(np.isfinite(h).all() for h in leaves(hess)):
                    return hess
        # forward over forward: the inner gradients share what the answer leaves, or at the
        # least hold their own answer (a row of the Hessian for each outer direction) and
        # passes of one direction
        inner_grad = functools.partial(_gradient_of, f, argnums,
                                       max(limit - answer, answer // max(n, 1), 1))
        return _jacobian(inner_grad, args, kwargs, argnums, None, limit, f"hessian of {name}",
                         _HESSIAN_ADVICE, outputs=n, spread=2, executor=executor,
                         timeout=timeout)

    return hessian_f


def _gradient_of(f: Callable[..., Any], argnums: int | Sequence[int], memory_budget: int,
                 *args: Any, **kwargs: Any) -> Any:
    """f's gradient at args: a Hessian's inner function, a partial of it pickles (to ship)."""
    return grad(f, argnums, memory_budget=memory_budget, mode="forward")(*args, **kwargs)


def derivative(f: Callable[..., Any], order: int = 1) -> Callable[..., Any]:
    """The `order`-th derivative of a scalar-to-scalar function.

    Example:
        >>> import dualgrad as dg
        >>> float(dg.derivative(dg.exp, order=4)(0.0))
        1.0
    """
    if not isinstance(order, (int, np.integer)) or isinstance(order, bool):
        raise DualgradTypeError(f"order must be a non-negative int, got {order!r}")
    if order < 0:
        raise ConfigError(f"order must be a non-negative int, got {order!r}")
    result = f
    for _ in range(order):
        result = grad(result)
    return result
