"""Function transformations: jvp, grad, value_and_grad, jacobian, hessian, derivative.

Each call owns a fresh tag, so transformations nest: ``grad(grad(f))`` differentiates the inner
derivative, and the inner and outer perturbations never mix. grad, value_and_grad and jacobian
run in forward mode (tangents pushed through f) or in reverse mode (the rules' linear equations
recorded and transposed, see `_reverse`), chosen by `mode`.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _budget, _executors, _zeros
from . import primitives as p
from ._core import Variable, new_tag
from ._errors import (
    ConfigError,
    DualgradTypeError,
    ShapeError,
)
from ._passes import as_input, forward, leaves, rebuild, recorded, split
from ._reverse import reverse_jacobian, reverse_value_and_grad

__all__ = ["grad", "jacobian", "jvp", "value_and_grad"]


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
    xs, ts = [], []
    for i, (x, t) in enumerate(zip(primals, tangents)):
        x = as_input(x, f"jvp (primal {i})")
        t = as_input(t, f"jvp (tangent {i})")
        if tuple(t.shape) != tuple(x.shape):
            raise ShapeError(f"jvp: tangent {i} has shape {tuple(t.shape)} but its primal has "
                             f"shape {tuple(x.shape)}; they must match")
        xs.append(x)
        ts.append(p.reshape(t, shape=(1, *t.shape)))

    def run(tag: int) -> tuple[Any, list[tuple[Any, Any]]]:
        out = f(*(Variable._make(x, t, tag) for x, t in zip(xs, ts)))
        return out, [split(o, tag, 1) for o in leaves(out)]

    out, parts = _zeros.keeping_zeros(run, new_tag, _zeros.has_nan(xs))
    tangents_out = _writable([t[0] for _, t in parts], (*primals, *tangents))
    return rebuild(out, (v for v, _ in parts)), rebuild(out, iter(tangents_out))


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


_MODES = ("auto", "forward", "reverse")


def _mode(mode: Any) -> str:
    if mode not in _MODES:
        raise ConfigError(f"mode must be one of {', '.join(map(repr, _MODES))}; got {mode!r}")
    return str(mode)


# "auto" takes reverse mode from this many differentiated numbers per output: reverse mode
# costs a fixed 100 to 200 us of recording and transposing in Python, forward mode grows with
# inputs x intermediate sizes (benchmarks/bench_modes.py: the crossover lies between 64 and
# 256 inputs for elementwise functions, about 100 for a matrix product)
AUTO_REVERSE_FROM = 100


def _reverse(mode: str, args: tuple[Any, ...], nums: tuple[int, ...], outputs: int | None,
             chunk_size: int | None = None) -> bool:
    """Whether to run in reverse mode: asked for, or, with "auto", when the differentiated
    inputs number `AUTO_REVERSE_FROM` or more per output (`outputs`, None when not known
    before f runs). "auto" keeps forward mode inside another differentiation (a Variable among
    the arguments: mode="reverse" nests, but records f's reverse pass at each call) and when a
    `chunk_size` is given."""
    if mode != "auto":
        return bool(mode == "reverse")
    if outputs is None or chunk_size is not None \
            or any(isinstance(a, Variable) for a in args):
        return False
    inputs = sum(math.prod(np.shape(args[i])) for i in nums)
    return bool(inputs >= AUTO_REVERSE_FROM * outputs)


def _budget_of(memory_budget: int | None) -> int | None:
    return None if memory_budget is None else _budget.checked(memory_budget)


def _pack(blocks: list[Any], argnums: int | Sequence[int]) -> Any:
    return blocks[0] if isinstance(argnums, (int, np.integer)) else tuple(blocks)


_GRAD_ADVICE = ("Differentiate fewer inputs at a time (argnums, or a function of a slice of "
                "them), or take directional derivatives with dualgrad.jvp")
_JACOBIAN_ADVICE = ("Compute the products J @ v you need with dualgrad.jvp, one direction at a "
                    "time; differentiate a smaller output; or loop over slices of the input "
                    "yourself and keep only what you use")
_HESSIAN_ADVICE = ("Compute Hessian-vector products with dualgrad.jvp(dualgrad.grad(f), (x,), "
                   "(v,)), or the Hessian of fewer inputs at a time")


def _scalar(name: str, out: Any, values: list[Any]) -> None:
    """Refuse an output of f that is not one number (grad's check)."""
    if isinstance(out, (tuple, list)):
        raise ShapeError(f"grad needs a function with a scalar output, but {name} returned "
                         f"a {type(out).__name__}; use dualgrad.jacobian for tuple outputs")
    if math.prod(values[0].shape) != 1:  # a number: shape (), or (1,), (1, 1), ...
        raise ShapeError(f"grad needs a function with a scalar output, but {name} returned "
                         f"shape {tuple(values[0].shape)}; use dualgrad.jacobian for array "
                         "outputs")


def _reverse_task(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                  nums: tuple[int, ...], name: str) -> tuple[Any, list[Any]]:
    """A reverse-mode gradient as one task on an executor."""
    return reverse_value_and_grad(f, args, kwargs, nums, functools.partial(_scalar, name))


def _checked_executor(executor: Any, timeout: Any) -> float | None:
    if executor is None:
        if timeout is not None:
            raise ConfigError("timeout= applies to the tasks of an executor; give executor= "
                              "too, or no timeout")
        return None
    return _executors.checked(executor, timeout)


def value_and_grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   chunk_size: int | None = None, memory_budget: int | None = None,
                   mode: str = "auto", *, executor: Any = None,
                   timeout: float | None = None) -> Callable[..., tuple[Any, Any]]:
    """Like `grad`, but the returned function gives ``(f(*args), gradient)``."""
    budget = _budget_of(memory_budget)
    mode = _mode(mode)
    name = getattr(f, "__name__", "f")
    timeout = _checked_executor(executor, timeout)
    scalar = functools.partial(_scalar, name)

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        nums = _argnums(argnums, len(args))
        if _reverse(mode, args, nums, 1, chunk_size):
            if executor is None:
                try:
                    value, grads = reverse_value_and_grad(f, args, kwargs, nums, scalar)
                except NotImplementedError:
                    if mode != "auto":
                        raise
                    # f closes over a Variable of an outer differentiation: forward mode
                    # nests through it
                    return value_and_grad(f, argnums, chunk_size, memory_budget,
                                          "forward")(*args, **kwargs)
            else:
                _executors.check_picklable((f, args, kwargs), f"grad of {name}", executor)
                value, grads = _executors.run(executor, _reverse_task,
                                              [(f, args, kwargs, nums, name)],
                                              ["the reverse pass"], f"grad of {name}",
                                              timeout)[0]
            if np.isfinite(value).all() and not all(np.isfinite(g).all() for g in grads) \
                    and mode == "auto":
                # an infinite slope met a zero cotangent (0 * inf): forward mode keeps zero
                # tangents zero (see _zeros), so it gives the finite entries their numbers
                return value_and_grad(f, argnums, chunk_size, memory_budget, "forward",
                                      executor=executor, timeout=timeout)(*args, **kwargs)
            return value, _pack(_writable(grads, args), argnums)
        _, values, answers, _ = forward(f, args, kwargs, nums, chunk_size,
                                         _budget.resolve(budget), f"grad of {name}",
                                         _GRAD_ADVICE, scalar, outputs=1, executor=executor,
                                         timeout=timeout)
        # an output of one element shaped (1,) or (1, 1): each block loses the output's axes
        blocks = [np.reshape(b, np.shape(args[i])) if type(b) is np.ndarray else b
                  for b, i in zip(answers[0], nums)]
        return values[0], _pack(_writable(blocks, args), argnums)

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
         chunk_size: int | None = None, memory_budget: int | None = None,
         mode: str = "auto", *, executor: Any = None,
         timeout: float | None = None) -> Callable[..., Any]:
    """The gradient of a scalar function, by reverse or forward mode.

    Reverse mode runs f once, with its rules recording their linear equations, and walks them
    back from the output: the cost of a few evaluations of f, whatever the number of inputs.
    Forward mode makes every scalar of the chosen arguments a direction, pushed through `f`
    many at a time in vectorised passes: as many per pass as the memory budget allows (all of
    them in one pass for a small problem), or `chunk_size` per pass. Both give the same numbers
    to rounding.

    Args:
        f: a function returning a scalar.
        argnums: which positional argument(s) to differentiate; a tuple gives a tuple.
        chunk_size: how many directions per pass in forward mode; None to choose from the
            memory budget.
        memory_budget: the bytes this call may hold; None for `get_memory_budget()` (1 GiB
            unless `set_memory_budget` changed it), read at each call.
        mode: "reverse", "forward", or "auto" (the default): reverse when the differentiated
            inputs hold `AUTO_REVERSE_FROM` (100) numbers or more, where it is measured to
            be faster; forward otherwise, with a `chunk_size`, and inside another
            differentiation (where mode="reverse" records f's reverse pass and runs it on the
            outer dual numbers: forward or reverse over reverse). Where reverse mode meets an
            infinite slope with a zero cotangent (a NaN where forward mode keeps the zero),
            "auto" computes the gradient again in forward mode.
        executor: a `concurrent.futures.Executor` (a ProcessPoolExecutor, or a Dask client's
            ``get_executor()``) to run on: in forward mode each chunk of directions is one
            task, cut into at least one chunk per worker; in reverse mode the single pass is
            one task. f and the arguments must pickle (see the README's "Executors").
        timeout: seconds to wait for the executor's tasks (None, the default: no limit);
            past it the tasks are cancelled and `ExecutorError` is raised.

    Returns:
        A function with f's signature returning df/dx shaped like x.

    Raises:
        MemoryBudgetError: the gradient alone is larger than the memory budget.
        ExecutorError: a task failed on the executor (an exception in f, a worker that died,
            the timeout); the message names the chunk and the cause.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> dg.grad(lambda x: (x ** 2).sum())(np.array([1.0, 2.0]))
        array([2., 4.])
    """
    value_and_grad_f = value_and_grad(f, argnums, chunk_size, memory_budget, mode,
                                      executor=executor, timeout=timeout)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0,
             chunk_size: int | None = None, memory_budget: int | None = None,
             mode: str = "auto", *, executor: Any = None,
             timeout: float | None = None) -> Callable[..., Any]:
    """The Jacobian of `f`, shaped ``out.shape + x.shape``, by forward mode (or, with
    ``mode="reverse"``, one transposed pass per output element: jacrev, the better choice when
    the outputs are few and the inputs many). ``mode="auto"`` is forward mode: the number of
    outputs is not known before f runs.

    The value of `f` is computed once per pass and shared by all the directions of that pass;
    the directions are split into passes as for `grad`, by `chunk_size` or the memory budget.
    A tuple `argnums` gives a tuple of blocks, one per argument; a tuple- or list-valued `f`
    gives a tuple or list with one Jacobian per output (each a tuple when `argnums` is).

    `f` runs once, recorded (see `dualgrad._trace`). Where its tangents are large (from 256
    KiB), the passes replay what it computed on the dual numbers, without f's Python: a replay
    knows when a value is read for the last time, and the next sum of tangents may be written
    into its tangent rather than into a new array. Where they are small, or f cannot be
    recorded (its Python reads its values: ``if x > 0``, ``float(x)``), each pass runs f
    itself, and later calls of f on arguments of the same shapes skip the recording.

    The Jacobian must fit in the memory budget (`memory_budget` bytes, or `get_memory_budget()`):
    the recording tells its size (where f is not recorded, f is first evaluated once on the
    arguments as constants, no tangents), and a Jacobian larger than the budget is refused then
    with `MemoryBudgetError`, before any pass. With a `chunk_size`, f not recorded skips that
    evaluation and the first pass tells the size.

    With an `executor` (see `grad`), each chunk of directions (forward mode) or of cotangent
    rows (reverse mode) is one task on it, at least one chunk per worker; f runs once here
    first, as a constant, to size the answer. Failures raise `ExecutorError`.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> dg.jacobian(lambda x: x * x)(np.array([1.0, 3.0]))
        array([[2., 0.],
               [0., 6.]])
    """
    budget = _budget_of(memory_budget)
    name = getattr(f, "__name__", "f")
    mode = _mode(mode)
    timeout = _checked_executor(executor, timeout)

    @functools.wraps(f)
    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        if mode == "reverse":
            nums = _argnums(argnums, len(args))
            out, blocks = reverse_jacobian(f, args, kwargs, nums, _budget.resolve(budget),
                                           f"jacobian of {name}", _JACOBIAN_ADVICE,
                                           executor, timeout)
            return rebuild(out, (_pack(b, argnums) for b in blocks))
        return _jacobian(f, args, kwargs, argnums, chunk_size, _budget.resolve(budget),
                         f"jacobian of {name}", _JACOBIAN_ADVICE, executor=executor,
                         timeout=timeout, worth=_worth_of(f))

    return jacobian_f


# by function, then by the shapes and dtypes of its arguments: whether recording it for its
# Jacobian paid at its last call (see `_jacobian`); forgotten with the function
_WORTH: weakref.WeakKeyDictionary[Any, dict[Any, bool]] = weakref.WeakKeyDictionary()


def _worth_of(f: Callable[..., Any]) -> dict[Any, bool]:
    try:
        return _WORTH.setdefault(f, {})
    except TypeError:  # not weakly referable: no memory of it
        return {}


def _signature(chosen: list[Any]) -> Any:
    """The shapes and dtypes of the differentiated arguments (None where one is no array: a
    list, a string, which `forward` converts or refuses)."""
    if not all(type(a) is np.ndarray for a in chosen):
        return None
    return tuple((a.shape, a.dtype.str) for a in chosen)


def _jacobian(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
              argnums: int | Sequence[int], chunk_size: int | None, budget: int, what: str,
              advice: str, outputs: int | None = None, spread: int = 1, executor: Any = None,
              timeout: float | None = None, worth: dict[Any, bool] | None = None) -> Any:
    """The forward-mode Jacobian. With `worth` (kept by the caller between calls), f is first
    recorded (see `_passes.recorded`) unless that was found not to pay at the last call with
    arguments of these shapes (small tangents, or f's Python reads its values): then it runs
    as before, first on constants to size the passes."""
    nums = _argnums(argnums, len(args))
    if worth is not None and outputs is None and executor is None \
            and not any(isinstance(a, Variable) for a in args):
        key = _signature([args[i] for i in nums])
        if worth.get(key, True):
            replay, outputs = recorded(f, args, kwargs, nums, budget)
            if len(worth) >= 64:  # a few shapes are the rule; many, no reason to keep them
                worth.clear()
            if key is not None:
                worth[key] = replay is not None
            if replay is not None:
                f = replay
    out, _, answers, _ = forward(f, args, kwargs, nums, chunk_size, budget, what, advice,
                                  outputs=outputs, spread=spread, executor=executor,
                                  timeout=timeout)
    flat = iter(_writable([b for bs in answers for b in bs], args))
    return rebuild(out, (_pack([next(flat) for _ in bs], argnums) for bs in answers))
