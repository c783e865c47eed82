"""NumPy's dispatch protocols: how ``np.exp(v)`` or ``np.sum(v, axis=0)`` reach dualgrad.

`Variable.__array_ufunc__` and `Variable.__array_function__` land here. Every NumPy function
with a rule is listed explicitly, and runs its NumPy-signature version in `dualgrad.numpy_api`;
any other raises `NotImplementedError` naming it, so a tangent is never dropped or computed
wrongly in silence.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from . import numpy_api as api
from .primitives import elementwise


def _comparison(op: np.ufunc) -> Callable[..., Any]:
    # comparisons are piecewise constant: they look at values and return plain booleans
    def compare(x: Any, y: Any) -> Any:
        return op(elementwise._primal(x), elementwise._primal(y))
    return compare


@functools.cache
def ufuncs() -> dict[np.ufunc, Callable[..., Any]]:
    """The ufuncs with no primitive of their own: comparisons and unary plus. Every other
    ufunc reaches the primitive that `implements` it."""
    table: dict[np.ufunc, Callable[..., Any]] = {np.positive: lambda x: x}
    for op in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal):
        table[op] = _comparison(op)
    return table


@functools.cache
def functions() -> dict[Callable[..., Any], Callable[..., Any]]:
    """NumPy function -> dualgrad function, for ``__array_function__``."""
    return {
        np.sum: api.sum,
        np.mean: api.mean,
        np.prod: api.prod,
        np.max: api.max,
        np.amax: api.max,
        np.min: api.min,
        np.amin: api.min,
        np.var: api.var,
        np.std: api.std,
        np.cumsum: api.cumsum,
        np.linalg.norm: api.norm,
        np.reshape: api.reshape,
        np.ravel: api.ravel,
        np.transpose: api.transpose,
        np.squeeze: api.squeeze,
        np.expand_dims: api.expand_dims,
        np.concatenate: api.concatenate,
        np.stack: api.stack,
        np.broadcast_to: api.broadcast_to,
        np.where: api.where,
        np.clip: api.clip,
        np.round: api.around,
        np.around: api.around,
        np.dot: api.dot,
        np.einsum: api.einsum,
        np.shape: lambda a: a.shape,
        np.ndim: lambda a: a.ndim,
        np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    }


def _implementation(fn: Any) -> Any:
    """The registered primitive that implements `fn`, None if none does; several plugins
    claiming it is an error that names them, since load order must not pick one."""
    # The registry imports the built-in plugin, which imports the primitives, which import the
    # module that imports this one: it can only be reached once everything is loaded.
    from ._registry import registry

    reg = registry()
    rule = reg.implementation(fn)
    if rule is None:
        claims = reg.claimants(fn)
        if len(claims) > 1:
            names = ", ".join(repr(e.qualified) for e in claims)
            plugins = ",".join(sorted({e.plugin for e in claims}))
            raise NotImplementedError(
                f"{len(claims)} plugins implement {_name(fn)}: {names}; dualgrad does not let "
                "load order pick one. Call one by name, dualgrad.primitive("
                f"{claims[0].qualified!r})(...), or keep one plugin with "
                f"DUALGRAD_DISABLE_PLUGINS (of {plugins})"
            )
    return rule


def _name(fn: Any) -> str:
    module = getattr(fn, "__module__", None) or "numpy"
    return f"{module.split('._')[0]}.{getattr(fn, '__name__', repr(fn))}"


def ufunc(fn: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route ``fn(*inputs)`` to dualgrad, or say why it cannot be."""
    rule = ufuncs().get(fn) or _implementation(fn)
    if method != "__call__" or rule is None:
        what = _name(fn) + ("" if method == "__call__" else f".{method}")
        raise NotImplementedError(
            f"dualgrad has no derivative rule for {what}; use a dualgrad primitive, or add "
            "one with dualgrad.Primitive"
        )
    if kwargs:
        api.refuse(fn.__name__, **kwargs)
    return rule(*inputs)


def function(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route a NumPy function called on a Variable to dualgrad, or say why it cannot be."""
    rule = functions().get(fn) or _implementation(fn)
    if rule is None:
        raise NotImplementedError(
            f"dualgrad has no derivative rule for {_name(fn)}; write the computation with "
            "functions dualgrad differentiates, or add a rule with dualgrad.Primitive"
        )
    return rule(*args, **kwargs)
