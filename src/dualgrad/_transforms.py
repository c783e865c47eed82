"""Function transformations, all in forward mode: jvp, grad, value_and_grad, jacobian, hessian.

Each call owns a fresh tag, so transformations nest: ``grad(grad(f))`` differentiates the inner
derivative, and the inner and outer perturbations never mix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from . import _core
from . import primitives as p
from ._core import Variable, as_value, new_tag
from ._errors import ConfigError, DualgradTypeError, ShapeError

__all__ = ["derivative", "grad", "hessian", "jacobian", "jvp", "value_and_grad"]


def _as_input(x: Any, what: str) -> Any:
    return x if isinstance(x, Variable) else as_value(x, what)


def _split(out: Any, tag: int, directions: int) -> tuple[Any, Any]:
    """The value of `out` and its tangent at `tag` (zeros where out does not depend on it)."""
    if isinstance(out, Variable) and out.tag == tag:
        tangent = out.tangent  # dense, whatever the engine stored
        if tangent is not None:
            return out.value, tangent
    if isinstance(out, Variable) and out.tangent is None:
        out = out.value
    value = _as_input(out, "the differentiated function's output")
    dtype = value.primal().dtype if isinstance(value, Variable) else value.dtype
    return value, np.zeros((directions, *value.shape), dtype=dtype)


def _leaves(out: Any) -> list[Any]:
    """The arrays of an output that may be a (nested) tuple or list of them."""
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [out]


def _rebuild(like: Any, leaves: Iterator[Any]) -> Any:
    """`like`'s tuples and lists, filled with the next items of `leaves` in `_leaves` order."""
    if isinstance(like, (tuple, list)):
        parts = [_rebuild(o, leaves) for o in like]
        return tuple(parts) if isinstance(like, tuple) else parts
    return next(leaves)


def _writable(results: list[Any], callers: Sequence[Any]) -> list[Any]:
    """`results` made safe to write to: a copy of each array that is read-only (a broadcast
    view) or may share memory with the caller's arrays or with an earlier result; the others,
    which the transformation computed afresh, as they are."""
    theirs = [a for a in callers if type(a) is np.ndarray]
    safe: list[Any] = []
    for r in results:
        if type(r) is np.ndarray and (not r.flags.writeable or any(
                np.may_share_memory(r, a) for a in (*theirs, *safe) if type(a) is np.ndarray)):
            r = r.copy()
        safe.append(r)
    return safe


def jvp(f: Callable[..., Any], primals: Sequence[Any],
        tangents: Sequence[Any]) -> tuple[Any, Any]:
    """Evaluate `f` and its directional derivative: ``(f(*primals), J f(primals) @ tangents)``.

    Args:
        f: a function of arrays written with dualgrad's primitives, operators, or NumPy calls.
        primals: the point, a tuple with one array per argument of `f`.
        tangents: the direction, a tuple of arrays shaped like `primals`.

    Returns:
        ``(out, out_tangent)``; a tuple- or list-valued `f` gives tuples or lists of both. The
        tangents are new arrays, never views of `tangents`.

    Example:
        >>> import dualgrad as dg
        >>> out, t = dg.jvp(lambda x: dg.exp(2 * x), (0.0,), (1.0,))
        >>> float(out), float(t)
        (1.0, 2.0)
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ShapeError(f"jvp got {len(primals)} primals but {len(tangents)} tangents; "
                         "give one tangent per primal")
    tag = new_tag()
    args = []
    for i, (x, t) in enumerate(zip(primals, tangents)):
        x = _as_input(x, f"jvp (primal {i})")
        t = _as_input(t, f"jvp (tangent {i})")
        if tuple(t.shape) != tuple(x.shape):
            raise ShapeError(f"jvp: tangent {i} has shape {tuple(t.shape)} but its primal has "
                             f"shape {tuple(x.shape)}; they must match")
        args.append(Variable._make(x, p.reshape(t, shape=(1, *t.shape)), tag))
    out = f(*args)
    parts = [_split(o, tag, 1) for o in _leaves(out)]
    tangents_out = _writable([t[0] for _, t in parts], (*primals, *tangents))
    return _rebuild(out, (v for v, _ in parts)), _rebuild(out, iter(tangents_out))


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    if isinstance(argnums, (int, np.integer)):
        nums: tuple[Any, ...] = (argnums,)
    else:
        try:
            nums = tuple(argnums)
        except TypeError:
            raise DualgradTypeError(f"argnums must be an int or a tuple of ints, got "
                                    f"{argnums!r}") from None
    for a in nums:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise DualgradTypeError(f"argnums must be ints, got {a!r}")
        if not -nargs <= a < nargs:
            raise ConfigError(f"argnums {a} is out of range for a function called with "
                              f"{nargs} positional argument(s)")
    chosen = tuple(int(a) % nargs for a in nums)
    if len(set(chosen)) < len(chosen):
        raise ConfigError(f"argnums {argnums!r} names an argument twice; name each once")
    return chosen


def _chunk(chunk_size: int | None, total: int) -> int:
    if chunk_size is None:
        return max(total, 1)
    if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool):
        raise DualgradTypeError(f"chunk_size must be a positive int or None, got "
                                f"{chunk_size!r}")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    return int(chunk_size)


def _seeded(x: Any, offset: int, start: int, stop: int, tag: int) -> Any:
    """`x` carrying directions start..stop of the unit basis, where x's scalars are numbered
    from `offset`; a constant when none of those directions touches x."""
    n = int(np.prod(x.shape, dtype=np.int64))
    lo, hi = max(start, offset), min(stop, offset + n)
    if lo >= hi:
        return x
    dtype = x.primal().dtype if isinstance(x, Variable) else x.dtype
    if not _core.COMPACT_SEEDS:
        seed = np.zeros((stop - start, n), dtype=dtype)
        seed[np.arange(lo - start, hi - start), np.arange(lo - offset, hi - offset)] = 1
        return Variable._make(x, seed.reshape((stop - start, *x.shape)), tag)
    # Marked as unit seeds, stored with the directions that touch x only: x[0] then carries
    # one direction, not stop - start of which all but one are zero.
    block = np.zeros((hi - lo, n), dtype=dtype)
    block[np.arange(hi - lo), np.arange(lo - offset, hi - offset)] = 1
    rows = None if hi - lo == stop - start else np.arange(lo - start, hi - start)
    return Variable._make(x, _core.unit_seeds(block.reshape((hi - lo, *x.shape)), rows,
                                              stop - start, offset - start), tag)


def _forward(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
             argnums: tuple[int, ...], chunk_size: int | None
             ) -> tuple[Any, list[Any], list[Any], list[Any]]:
    """Run `f` with every scalar of the chosen arguments seeded, `chunk_size` at a time.

    Returns f's output (its last run), the value of each of its arrays (`_leaves` order), their
    stacked tangents, each of shape ``(n, *value.shape)`` with n the number of seeded scalars,
    and the chosen arguments as arrays.
    """
    args = tuple(_as_input(a, f"argument {i}") if i in argnums else a
                 for i, a in enumerate(args))
    chosen = [args[i] for i in argnums]
    sizes = [int(np.prod(a.shape, dtype=np.int64)) for a in chosen]
    total = sum(sizes)
    step = _chunk(chunk_size, total)
    out: Any = None
    values: list[Any] = []
    pieces: list[list[Any]] = []
    for start in range(0, max(total, 1), step):
        stop = min(start + step, total)
        tag = new_tag()
        call = list(args)
        offset = 0
        for i, size in zip(argnums, sizes):
            call[i] = _seeded(args[i], offset, start, stop, tag)
            offset += size
        out = f(*call, **kwargs)
        parts = [_split(o, tag, stop - start) for o in _leaves(out)]
        values = [v for v, _ in parts]
        pieces.append([t for _, t in parts])
    tangents = [ts[0] if len(ts) == 1 else p.concatenate(*ts, axis=0) for ts in zip(*pieces)]
    return out, values, tangents, chosen


def _per_argument(tangents: Any, chosen: list[Any], out_shape: tuple[int, ...]) -> list[Any]:
    """Cut stacked tangents (n, *out) into one ``out.shape + arg.shape`` block per argument."""
    blocks, offset = [], 0
    k = len(out_shape)
    for a in chosen:
        n = int(np.prod(a.shape, dtype=np.int64))
        block = tangents[offset:offset + n] if len(chosen) > 1 else tangents
        offset += n
        if k:
            block = p.transpose(block, axes=(*range(1, k + 1), 0))
        blocks.append(p.reshape(block, shape=(*out_shape, *a.shape)))
    return blocks


def _pack(blocks: list[Any], argnums: int | Sequence[int]) -> Any:
    return blocks[0] if isinstance(argnums, (int, np.integer)) else tuple(blocks)


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   chunk_size: int | None = None) -> Callable[..., tuple[Any, Any]]:
    """Like `grad`, but the returned function gives ``(f(*args), gradient)``."""

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args))
        out, values, tangents, chosen = _forward(f, args, kwargs, nums, chunk_size)
        name = getattr(f, "__name__", "f")
        if isinstance(out, (tuple, list)):
            raise ShapeError(f"grad needs a function with a scalar output, but {name} returned "
                             f"a {type(out).__name__}; use dualgrad.jacobian for tuple outputs")
        value = values[0]
        if tuple(value.shape) != ():
            raise ShapeError(f"grad needs a function with a scalar output, but {name} returned "
                             f"shape {tuple(value.shape)}; use dualgrad.jacobian for array "
                             "outputs")
        blocks = _writable(_per_argument(tangents[0], chosen, ()), args)
        return value, _pack(blocks, argnums)

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
         chunk_size: int | None = None) -> Callable[..., Any]:
    """The gradient of a scalar function, by forward mode.

    Every scalar of the chosen arguments is a direction; all of them are pushed through `f` in
    one vectorised pass, or `chunk_size` at a time to bound memory (the numbers are the same).

    Args:
        f: a function returning a scalar.
        argnums: which positional argument(s) to differentiate; a tuple gives a tuple.
        chunk_size: how many directions per pass; None for all in one pass.

    Returns:
        A function with f's signature returning df/dx shaped like x.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> dg.grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
        array([2., 4.])
    """
    value_and_grad_f = value_and_grad(f, argnums, chunk_size)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
             chunk_size: int | None = None) -> Callable[..., Any]:
    """The Jacobian of `f`, shaped ``out.shape + x.shape``, by forward mode.

    The value of `f` is computed once per pass and shared by all the directions of that pass.
    A tuple `argnums` gives a tuple of blocks, one per argument; a tuple- or list-valued `f`
    gives a tuple or list with one Jacobian per output (each a tuple when `argnums` is).

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> dg.jacobian(lambda x: x * x)(np.array([1.0, 3.0]))
        array([[2., 0.],
               [0., 6.]])
    """

    @functools.wraps(f)
    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args))
        out, values, tangents, chosen = _forward(f, args, kwargs, nums, chunk_size)
        blocks = [_per_argument(t, chosen, tuple(v.shape)) for v, t in zip(values, tangents)]
        flat = iter(_writable([b for bs in blocks for b in bs], args))
        return _rebuild(out, (_pack([next(flat) for _ in bs], argnums) for bs in blocks))

    return jacobian_f


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of a scalar `f`, shaped ``x.shape + x.shape``: forward over forward.

    A tuple `argnums` gives a tuple of tuples: block ``[i][j]`` holds the second derivatives
    in arguments ``argnums[i]`` and ``argnums[j]``, shaped ``xi.shape + xj.shape``.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> dg.hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
        array([[ 6.,  0.],
               [ 0., 12.]])
    """
    return jacobian(grad(f, argnums), argnums)


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
