"""NumPy's dispatch protocols: how ``np.exp(v)`` or ``np.sum(v, axis=0)`` reach dualgrad.

`Variable.__array_ufunc__` and `Variable.__array_function__` land here. Every NumPy function
with a rule is listed explicitly, and runs its NumPy-signature version in `dualgrad.numpy_api`;
any other raises `NotImplementedError` naming it, so a tangent is never dropped or computed
wrongly in silence.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _numpy_linalg as linalg_api
from . import numpy_api as api
from ._core import Primitive, install_numpy_dispatch
from ._numpy_options import refuse
from ._numpy_values import VALUE_FUNCTIONS, VALUE_UFUNCS, by_value


def _ufunc_table() -> dict[np.ufunc, Callable[..., Any]]:
    """The ufuncs with no primitive of their own: predicates, comparisons and logic, which
    look at values and return plain results (they are piecewise constant), and the identities
    of real numbers. Every other ufunc reaches the primitive that `implements` it."""
    table: dict[np.ufunc, Callable[..., Any]] = {np.positive: api.conj, np.conjugate: api.conj}
    for op in VALUE_UFUNCS:
        table[op] = by_value(op)
    return table


def _function_table() -> dict[Callable[..., Any], Callable[..., Any]]:
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
        np.linalg.slogdet: linalg_api.slogdet,
        np.linalg.eigh: linalg_api.eigh,
        np.linalg.eigvalsh: linalg_api.eigvalsh,
        np.linalg.cholesky: linalg_api.cholesky,
        np.linalg.svd: linalg_api.svd,
        np.linalg.qr: linalg_api.qr,
        np.linalg.pinv: linalg_api.pinv,
        np.linalg.matrix_power: linalg_api.matrix_power,
        np.nansum: api.nansum,
        np.nanmean: api.nanmean,
        np.average: api.average,
        np.real: api.real,
        np.imag: api.imag,
        np.conj: api.conj,
        np.tensordot: api.tensordot,
        np.inner: api.inner,
        np.outer: api.outer,
        np.vdot: api.vdot,
        np.kron: api.kron,
        np.cross: api.cross,
        np.trace: api.trace,
        np.swapaxes: api.swapaxes,
        np.moveaxis: api.moveaxis,
        np.flip: api.flip,
        np.flipud: api.flipud,
        np.fliplr: api.fliplr,
        np.roll: api.roll,
        np.repeat: api.repeat,
        np.tile: api.tile,
        np.take: api.take,
        np.take_along_axis: api.take_along_axis,
        np.diagonal: api.diagonal,
        np.diag: api.diag,
        np.tril: api.tril,
        np.triu: api.triu,
        np.pad: api.pad,
        np.sort: api.sort,
        np.atleast_1d: api.atleast_1d,
        np.atleast_2d: api.atleast_2d,
        np.atleast_3d: api.atleast_3d,
        np.vstack: api.vstack,
        np.hstack: api.hstack,
        np.dstack: api.dstack,
        np.column_stack: api.column_stack,
        np.append: api.append,
        np.split: api.split,
        np.array_split: api.array_split,
        **{fn: by_value(fn) for fn in VALUE_FUNCTIONS},
    }


# ---- NumPy functions that registered primitives implement ------------------------------------
#
# A table filled when the primitives are registered (by the registry layer, see
# `_primitive_kind`), read by every dispatch: no registry look-up per call.

_implemented: dict[Any, Primitive] | None = None
# NumPy function -> the qualified names claiming it, when several plugins do and none is built in
_conflicts: dict[Any, tuple[str, ...]] = {}


def _not_set() -> object:
    return None


_load: Callable[[], object] = _not_set


def use_implementations(table: dict[Any, Primitive] | None,
                        conflicts: dict[Any, tuple[str, ...]]) -> None:
    """Dispatch NumPy functions by `table` (None: not known until `_load` runs again); a
    function in `conflicts` is claimed by the plugins named there, so none of them runs."""
    global _implemented, _conflicts
    _implemented, _conflicts = table, conflicts


def load_implementations_with(load: Callable[[], object]) -> None:
    """`load()` fills the table (by loading the registry) the first time dispatch needs it."""
    global _load
    _load = load


def _implementation(fn: Any) -> Any:
    """The registered primitive that implements `fn`, None if none does; several plugins
    claiming it is an error that names them, since load order must not pick one."""
    table = _implemented
    if table is None:
        _load()
        table = _implemented or {}
    rule = table.get(fn)
    if rule is None and fn in _conflicts:
        claims = _conflicts[fn]
        plugins = ",".join(sorted({name.partition("/")[0] for name in claims}))
        raise NotImplementedError(
            f"{len(claims)} plugins implement {_name(fn)}: {', '.join(map(repr, claims))}; "
            "dualgrad does not let load order pick one. Call one by name, "
            f"dualgrad.primitive({claims[0]!r})(...), or keep one plugin with "
            f"DUALGRAD_DISABLE_PLUGINS (of {plugins})"
        )
    return rule


def _name(fn: Any) -> str:
    """The name a user calls `fn` by: a ufunc's module says "numpy" for SciPy's too, so a ufunc
    is named after the module that holds it (scipy.special.erf, not numpy.erf)."""
    name = getattr(fn, "__name__", repr(fn))
    if isinstance(fn, np.ufunc) and getattr(np, name, None) is not fn:
        for module in ("scipy.special",):
            holder = sys.modules.get(module)
            if holder is not None and getattr(holder, name, None) is fn:
                return f"{module}.{name}"
        return f"the ufunc {name} (not NumPy's)"
    module = getattr(fn, "__module__", None) or "numpy"
    return f"{module.split('._')[0]}.{name}"


def ufunc(fn: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route ``fn(*inputs)`` to dualgrad, or say why it cannot be."""
    rule = _UFUNCS.get(fn) or _implementation(fn)
    if method != "__call__" or rule is None:
        what = _name(fn) + ("" if method == "__call__" else f".{method}")
        raise NotImplementedError(
            f"dualgrad has no derivative rule for {what}; use a dualgrad primitive, or add "
            "one with dualgrad.Primitive"
        )
    if kwargs:
        refuse(fn.__name__, **kwargs)
    return rule(*inputs)


def function(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Route a NumPy function called on a Variable to dualgrad, or say why it cannot be."""
    rule = _FUNCTIONS.get(fn) or _implementation(fn)
    if rule is None:
        raise NotImplementedError(
            f"dualgrad has no derivative rule for {_name(fn)}; write the computation with "
            "functions dualgrad differentiates, or add a rule with dualgrad.Primitive"
        )
    return rule(*args, **kwargs)


_UFUNCS = _ufunc_table()
_FUNCTIONS = _function_table()
install_numpy_dispatch(ufunc, function)
