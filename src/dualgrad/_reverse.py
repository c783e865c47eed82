"""Reverse mode: `vjp` and `linearize`, and the reverse passes of grad and jacobian.

All of it comes from the forward-mode rules: `_linear.linearize` records the rules run on
symbolic tangents, and the recorded linear map is run backwards (see `_linear`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _executors
from ._core import Variable, new_tag
from ._errors import MemoryBudgetError, ShapeError, TracingError
from ._linear import LinearMap
from ._linear import linearize as _linearize
from ._passes import as_input, constant, leaves, rebuild
from ._trace import Program, record

__all__ = ["cotangent_rows", "gradient_program", "linearize", "nested_value_and_grad",
           "reverse_jacobian", "reverse_rows", "reverse_value_and_grad", "vjp"]


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., tuple[Any, ...]]]:
    """Evaluate `f` and return its vector-Jacobian product function, by reverse mode.

    Args:
        f: a function of arrays written with dualgrad's primitives, operators or NumPy calls.
        *primals: the point, one array per argument of `f`.

    Returns:
        ``(out, vjp_fn)``: ``f(*primals)``, and a function that takes a cotangent shaped like
        `out` (a tuple or list of them for a tuple- or list-valued `f`) and returns a tuple of
        cotangents, one per primal, each shaped like its primal: ``c @ J``.

    The rules run once, on symbolic tangents; each `vjp_fn` call then walks the recorded
    linear equations backwards. Memory: what the rules multiply the tangents by, kept while
    `vjp_fn` lives.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> out, vjp_fn = dg.vjp(lambda x: x * x, np.array([1.0, 3.0]))
        >>> vjp_fn(np.array([1.0, 1.0]))
        (array([2., 6.]),)
    """
    xs = [_plain(x, f"vjp (primal {i})") for i, x in enumerate(primals)]
    out, lin = _linearize(f, xs, new_tag())
    lin.transposing_only()
    shapes = lin.out_shapes

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cts = leaves(cotangent)
        if len(cts) != len(shapes):
            raise ShapeError(f"vjp_fn takes one cotangent per output of f ({len(shapes)}), "
                             f"got {len(cts)}")
        for i, (c, shape) in enumerate(zip(cts, shapes)):
            if np.shape(c) != shape:
                raise ShapeError(f"vjp_fn: cotangent {i} has shape {np.shape(c)}, but f's "
                                 f"output has shape {shape}; give one shaped like the output")
        given = [c for c in cts if type(c) is np.ndarray]
        return tuple(np.array(g) if type(g) is np.ndarray and (
            not g.flags.writeable or g.base is not None
            or any(np.may_share_memory(g, c) for c in given)) else g
            for g in lin.transpose(*cts))

    return out, vjp_fn


def linearize(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """Evaluate `f` and return its linear map at `primals`, to apply to many tangents.

    Returns:
        ``(out, f_jvp)``: ``f(*primals)``, and a function taking one tangent per primal
        (shaped like it) and returning the output's tangent, ``J @ t``, without running `f`
        again: the rules' linear equations, recorded once, are replayed.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> out, f_jvp = dg.linearize(lambda x: dg.sin(x), np.array([0.0, np.pi]))
        >>> f_jvp(np.array([1.0, 1.0]))
        array([ 1., -1.])
    """
    xs = [_plain(x, f"linearize (primal {i})") for i, x in enumerate(primals)]
    out, lin = _linearize(f, xs, new_tag())

    def f_jvp(*tangents: Any) -> Any:
        if len(tangents) != len(xs):
            raise ShapeError(f"f_jvp takes one tangent per primal ({len(xs)}), got "
                             f"{len(tangents)}")
        ts = []
        for i, (t, x) in enumerate(zip(tangents, xs)):
            t = as_input(t, f"f_jvp (tangent {i})")
            if t.shape != x.shape:
                raise ShapeError(f"f_jvp: tangent {i} has shape {t.shape} but its primal has "
                                 f"shape {x.shape}; they must match")
            ts.append(t)
        return rebuild(out, iter(lin.forward(*ts)))

    return out, f_jvp


def _plain(x: Any, what: str) -> np.ndarray:
    x = as_input(x, what)
    if isinstance(x, Variable):
        raise NotImplementedError(
            f"{what} is a Variable of another differentiation: reverse mode inside another "
            "differentiation is not supported yet; use mode='forward' (or let mode='auto' pick "
            "it)")
    return np.array(x)  # a copy: the recorded map must not change when the caller's does


def _linear_map(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                nums: tuple[int, ...]) -> tuple[Any, LinearMap]:
    """f's output and its linear map in the arguments `nums` (the others held constant)."""
    xs = [_plain(args[i], f"argument {i}") for i in nums]

    def of_chosen(*chosen: Any) -> Any:
        full = list(args)
        for i, x in zip(nums, chosen):
            full[i] = x
        return f(*full, **kwargs)

    out, lin = _linearize(of_chosen, xs, new_tag())
    return out, lin.transposing_only()


def reverse_value_and_grad(f: Callable[..., Any], args: tuple[Any, ...],
                           kwargs: dict[str, Any], nums: tuple[int, ...],
                           scalar: Callable[[Any, list[Any]], None]) -> tuple[Any, list[Any]]:
    """f's value and its gradient in the arguments `nums`, one reverse pass (recorded and run
    on the arguments when some carry another differentiation's tangents)."""
    if any(isinstance(a, Variable) for a in args):
        return nested_value_and_grad(f, args, kwargs, nums)
    out, lin = _linear_map(f, args, kwargs, nums)
    scalar(out, leaves(out))
    value = leaves(out)[0]
    with np.errstate(invalid="ignore"):  # 0 * inf: the caller looks at the gradient's NaN
        grads = lin.transpose(np.ones(np.shape(value)))
    return value, [np.asarray(g) for g in grads]


def reverse_jacobian(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                     nums: tuple[int, ...], budget: int, what: str, advice: str,
                     executor: Any = None, timeout: float | None = None) -> Any:
    """The Jacobian blocks of f by reverse mode: one transposed pass per output element, each
    giving one row of every block (the cotangent rows of jacrev).

    With an `executor` (see `_executors`), the rows are cut into one chunk per worker, each a
    task that records f's linear map again and transposes its rows; f runs here once first,
    as a constant, for the shapes."""
    if executor is None:
        out, lin = _linear_map(f, args, kwargs, nums)
        out_shapes, in_shapes = lin.out_shapes, lin.in_shapes
    else:
        xs = [_plain(args[i], f"argument {i}") for i in nums]
        _executors.check_picklable((f, kwargs, [a for i, a in enumerate(args) if i not in nums]),
                                   what, executor)
        out, values = constant(f, args, kwargs, nums)
        out = rebuild(out, iter(values))
        out_shapes, in_shapes = [np.shape(v) for v in values], [x.shape for x in xs]
    total = sum(math.prod(s) for s in out_shapes)
    size = total * sum(math.prod(s) for s in in_shapes) * 8
    if size > budget:
        raise MemoryBudgetError(f"{what} would hold {size} bytes, over the memory budget of "
                                f"{budget}. {advice}", size, budget)
    if executor is None:
        rows = cotangent_rows(lin, 0, total)
    else:
        step = max(1, -(-total // _executors.workers(executor)))
        ranges = [(start, min(start + step, total)) for start in range(0, total, step)]
        sent = _executors.send_once(executor, (f, args, kwargs, nums))
        chunks = _executors.run(
            executor, reverse_rows, [(sent, a, b) for a, b in ranges],
            [f"chunk {k} (cotangent rows {a}..{b} of {total})" for k, (a, b) in
             enumerate(ranges)], what, timeout)
        rows = [np.concatenate([c[k] for c in chunks]) if len(chunks) != 1 else chunks[0][k]
                for k in range(len(in_shapes))] if chunks else \
            [np.empty((0, *s)) for s in in_shapes]
    blocks: list[list[Any]] = []
    offset = 0
    for shape in out_shapes:
        n = math.prod(shape)
        blocks.append([r[offset:offset + n].reshape((*shape, *s))
                       for r, s in zip(rows, in_shapes)])
        offset += n
    return out, blocks


def gradient_program(f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                     nums: tuple[int, ...], inputs: tuple[int, ...] | None = None,
                     with_value: bool = False) -> Program:
    """f's reverse pass, recorded: a program from the arguments `inputs` (by default `nums`)
    to f's gradient in the arguments `nums` (after f's value, `with_value`), forward equations
    and transposed ones, which `Program.differentiate` runs on dual numbers: forward over
    reverse. It is recorded at the arguments' plain values (Variables' innermost ones).

    Raises:
        TracingError: f's Python reads its values (the program could not be replayed).
        NotTransposableError: a rule reverse mode cannot transpose.
    """
    inputs = nums if inputs is None else inputs
    plain = [a.primal() if isinstance(a, Variable) else a for a in args]
    xs = [as_input(plain[i], f"argument {i}") for i in inputs]

    def gradient(*given: Any) -> list[Any]:
        full = list(plain)
        for i, x in zip(inputs, given):
            full[i] = x

        def of_chosen(*inner: Any) -> Any:
            for i, x in zip(nums, inner):
                full[i] = x
            return f(*full, **kwargs)

        value, lin = _linearize(of_chosen, [full[i] for i in nums], new_tag())
        if math.prod(np.shape(value)) != 1:
            raise ShapeError(f"a gradient needs a function with a scalar output, got shape "
                             f"{np.shape(value)}")
        grads = list(lin.transposing_only().transpose(np.ones(np.shape(value))))
        return [value, *grads] if with_value else grads

    program, _ = record(gradient, xs)
    return program


def nested_value_and_grad(f: Callable[..., Any], args: tuple[Any, ...],
                          kwargs: dict[str, Any], nums: tuple[int, ...]
                          ) -> tuple[Any, list[Any]]:
    """f's value and gradient in the arguments `nums` by reverse mode, when arguments carry the
    tangents of other differentiations (Variables): the reverse pass is recorded at the plain
    values and run on the arguments themselves, so those tangents flow through it (forward
    or reverse mode over reverse mode)."""
    if any(isinstance(v, Variable) for v in kwargs.values()):
        raise NotImplementedError(
            "reverse mode inside another differentiation takes the differentiated values as "
            "positional arguments; pass them positionally, or use mode='forward'")
    inputs = tuple(i for i, a in enumerate(args) if i in nums or isinstance(a, Variable))
    try:
        program = gradient_program(f, args, kwargs, nums, inputs, with_value=True)
    except TracingError as exc:
        raise NotImplementedError(
            f"reverse mode inside another differentiation records f's reverse pass, and it "
            f"read a value while recording ({exc}); a rule that checks its values (a matrix "
            "for singularity, say) cannot nest in reverse mode: use mode='forward' for the "
            "inner derivative") from exc
    value, *grads = program.differentiate(*[args[i] for i in inputs])
    return value, grads


def cotangent_rows(lin: LinearMap, start: int, stop: int) -> list[np.ndarray]:
    """Rows start..stop of the Jacobian (the outputs' elements numbered in order), one array
    per input shaped ``(stop - start, *input.shape)``: one transposed pass each."""
    rows = [np.empty((stop - start, *s)) for s in lin.in_shapes]
    cotangents = [np.zeros(shape) for shape in lin.out_shapes]
    offset = 0
    for c in cotangents:
        flat = c.reshape(-1)
        for r in range(max(start, offset), min(stop, offset + flat.size)):
            flat[r - offset] = 1.0
            for row, g in zip(rows, lin.transpose(*cotangents)):
                row[r - start] = g
            flat[r - offset] = 0.0
        offset += flat.size
    return rows


def reverse_rows(task: tuple[Any, ...], start: int, stop: int) -> list[np.ndarray]:
    """Rows start..stop of the Jacobian of f, ``task = (f, args, kwargs, nums)``, its linear
    map recorded afresh: a task of `reverse_jacobian` on an executor."""
    return cotangent_rows(_linear_map(*task)[1], start, stop)
