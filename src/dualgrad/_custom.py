"""`custom_jvp`: give a Python function a derivative rule of your own, without a plugin."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ._core import _BOXES, Variable, call
from ._errors import DualgradTypeError, ShapeError

__all__ = ["custom_jvp"]

JvpRule = Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, Any]]


class custom_jvp:  # noqa: N801 - named like JAX's decorator, which users will know
    """A function with a hand-written forward-mode rule, as JAX spells it.

    Decorate the function, then its rule with ``@f.defjvp``. The rule is called as
    ``rule(primals, tangents) -> (out, out_tangent)``, where each tangent has its primal's
    shape (one direction), as in JAX. With ``batched=True`` the rule instead receives tangents
    with a leading direction axis, ``(T, *shape)``, and must return one for the output: one call
    instead of T, for rules written with broadcasting operations.

    Constant arguments get zero tangents. Rules written with NumPy calls or dualgrad operators
    work for higher derivatives too.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> @dg.custom_jvp
        ... def log1pexp(x):
        ...     return np.log1p(np.exp(x))
        >>> @log1pexp.defjvp
        ... def log1pexp_jvp(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     return log1pexp(x), t * dg.sigmoid(x)
        >>> float(dg.grad(log1pexp)(0.0))
        0.5
    """

    def __init__(self, fun: Callable[..., Any], batched: bool = False) -> None:
        if not callable(fun):
            raise DualgradTypeError(f"custom_jvp needs a function, got {fun!r}")
        self.fun = fun
        self.batched = batched
        self.rule: JvpRule | None = None
        functools.update_wrapper(self, fun)

    def defjvp(self, rule: JvpRule) -> JvpRule:
        """Set the rule; returns it unchanged, so it can be used as a decorator."""
        if not callable(rule):
            raise DualgradTypeError(f"defjvp needs a function, got {rule!r}")
        self.rule = rule
        return rule

    @staticmethod
    def _pair(result: Any, name: str) -> tuple[Any, Any]:
        if not isinstance(result, tuple) or len(result) != 2:
            raise DualgradTypeError(
                f"the custom_jvp rule of {name} must return a pair (out, out_tangent); it "
                f"returned {type(result).__name__}")
        return result

    def __call__(self, *args: Any) -> Any:
        tag = max((a.tag for a in args if isinstance(a, Variable) and a.tangent is not None),
                  default=-1)
        if tag < 0:
            plain = [a.value if isinstance(a, Variable) else a for a in args]
            if any(type(a) in _BOXES for a in plain):
                # recorded as one equation, which a recorded program differentiated later (see
                # `_trace`) runs as this function again: its rule, not the function's own steps
                return call(self, *plain)
            return self.fun(*plain)
        if self.rule is None:
            raise NotImplementedError(
                f"{getattr(self.fun, '__name__', 'this function')} is a custom_jvp function "
                "with no rule yet: define one with @f.defjvp")
        primals = tuple(a.value if isinstance(a, Variable) and (a.tag == tag or a.tangent is None)
                        else a for a in args)
        directions = next(a.tangent.shape[0] for a in args
                          if isinstance(a, Variable) and a.tag == tag and a.tangent is not None)
        tangents = tuple(
            a.tangent if isinstance(a, Variable) and a.tag == tag and a.tangent is not None
            else np.zeros((directions, *np.shape(p))) for a, p in zip(args, primals))
        name = getattr(self.fun, "__name__", "a function")
        if self.batched:
            out, out_tangent = self._pair(self.rule(primals, tangents), name)
            expected = (directions, *np.shape(out))
            _check_tangent(name, out_tangent, expected, "directions first", numbers=False)
        else:
            results = [self._pair(self.rule(primals, tuple(t[k] for t in tangents)), name)
                       for k in range(directions)]
            out = results[0][0]
            expected = tuple(np.shape(out))
            for r in results:
                _check_tangent(name, r[1], expected, "one direction: the output's shape",
                               numbers=True)
            out_tangent = np.stack([r[1] for r in results])
        if type(out_tangent) is np.ndarray and out_tangent.dtype.kind != "f":
            out_tangent = out_tangent.astype(np.float64)  # integers, where a rule gave 0
        return Variable._make(out, out_tangent, tag)


def _check_tangent(name: str, tangent: Any, expected: tuple[int, ...], layout: str,
                   numbers: bool) -> None:
    """Raise unless a custom_jvp rule's tangent is a float array (or Variable; a real number
    too when `numbers`, for one direction of a scalar output) of shape `expected`."""
    arrays = (np.ndarray, Variable, float, int, np.floating, np.integer) if numbers \
        else (np.ndarray, Variable)
    if type(tangent) in _BOXES:  # a recorded array (reverse mode's symbolic tangent)
        arrays = (*arrays, type(tangent))
    if not isinstance(tangent, arrays) or isinstance(tangent, (bool, np.bool_)):
        got = "None" if tangent is None else f"a {type(tangent).__name__}"
        raise DualgradTypeError(
            f"the custom_jvp rule of {name} returned {got} as its tangent; expected an array "
            f"of shape {expected} ({layout}): return the output's tangent as a NumPy array")
    got_shape = tuple(np.shape(tangent))
    if got_shape != expected:
        raise ShapeError(
            f"the custom_jvp rule of {name} returned a tangent of shape {got_shape}; expected "
            f"{expected} ({layout})")
    boxed: Any = tangent if type(tangent) in _BOXES else None
    dtype = tangent.dtype if isinstance(tangent, (np.ndarray, Variable)) else \
        boxed.dtype if boxed is not None else None
    if dtype is not None and dtype.kind not in "fiu":
        raise DualgradTypeError(
            f"the custom_jvp rule of {name} returned a tangent of dtype {dtype}; expected real "
            "numbers")
