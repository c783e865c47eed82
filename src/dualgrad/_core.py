"""The dual number (`Variable`) and the application of a `Primitive` to dual numbers.

A `Variable` carries a value and its tangents: the directional derivatives of that value along
T directions, stacked on a leading axis, so ``tangent.shape == (T, *value.shape)``. A constant
carries ``tangent=None``, a symbolic zero for which no rule is ever run.

Every differentiation owns a *tag*. A Variable of tag k may hold, as its value or tangent,
Variables of smaller tags: that is how derivatives of derivatives work without the perturbations
of different levels mixing. A primitive applied to Variables works on the largest tag among its
arguments; the others are constants at that level and pass down, into the value computation,
where the same logic runs again one level lower.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np

from ._errors import DualgradTypeError, ShapeError

__all__ = ["Primitive", "Variable", "align", "new_tag"]

_next_tag = itertools.count(1).__next__

# Python and NumPy scalars that need no inspection before they reach a NumPy function: NumPy
# computes in floating point on each of them. Booleans and small integers are not among them,
# since NumPy computes on those in float16 (np.exp(True) is a float16).
_PLAIN_SCALARS = frozenset({float, int, np.float64, np.float32, np.float16, np.int64,
                            np.int32})


def new_tag() -> int:
    """A fresh differentiation tag, larger than every tag handed out before."""
    return _next_tag()


def _type_name(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"ndarray of dtype {x.dtype}"
    return type(x).__name__


def as_value(x: Any, what: str) -> np.ndarray:
    """`x` as a float ndarray, or a `DualgradTypeError` saying why it cannot be one.

    Booleans and integers become float64. Subclasses of ndarray (a memmap, a matrix) become
    plain ndarrays; a masked array is refused, since its mask would be lost.
    """
    arr = _as_real(x, what)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _as_real(x: Any, what: str) -> np.ndarray:
    """`x` as a plain ndarray of booleans, integers or floats."""
    if type(x) is np.ndarray:
        arr = x
    elif isinstance(x, np.ma.MaskedArray):
        raise DualgradTypeError(
            f"{what} got a masked array, whose mask dualgrad would lose; pass "
            "np.ma.filled(x, fill) or x.compressed() instead"
        )
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise DualgradTypeError(
                f"{what} got a {_type_name(x)}, which is not a number or an array of numbers "
                f"({exc}); pass numbers, NumPy arrays or dualgrad Variables"
            ) from exc
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr
    if kind == "c":
        raise DualgradTypeError(
            f"{what} got complex values ({arr.dtype}); dualgrad differentiates real functions "
            "only: pass the real and imaginary parts as separate real arrays"
        )
    raise DualgradTypeError(
        f"{what} got a {_type_name(x)}, which is not a number or an array of numbers; "
        "pass numbers, NumPy arrays or dualgrad Variables"
    )


def align(t: Any, ndim: int) -> Any:
    """Insert singleton axes after the direction axis of `t` so it has rank ``ndim + 1``.

    This is the one broadcasting helper of every elementwise rule: a tangent of shape (T, 3)
    becomes (T, 1, 3) for an output of shape (2, 3), and NumPy broadcasting does the rest.
    """
    missing = ndim + 1 - t.ndim
    if missing <= 0:
        return t
    shape = t.shape
    return t.reshape(shape[:1] + (1,) * missing + shape[1:])


class Variable:
    """A dual number: a value and its tangents along one or more directions.

    Args:
        value: a number or array (integers become float64), or a Variable of an outer
            differentiation.
        tangent: ``None`` for a constant; an array of the value's own shape for one direction
            (the blog's ``Variable(4, 1)``: x = 4 with dx = 1); or an array of shape
            ``(T, *value.shape)`` for T directions. The number 0, the blog's default, also
            means a constant.
        tag: the differentiation this tangent belongs to; leave it alone unless you are
            writing a transformation.

    Example:
        >>> from dualgrad import Variable
        >>> print((Variable(3) * Variable(4, 1)).grad)
        3.0
    """

    __slots__ = ("tag", "tangent", "value")

    value: Any
    tangent: Any
    tag: int

    def __init__(self, value: Any, tangent: Any = None, tag: int = 0) -> None:
        if not isinstance(value, Variable):
            value = as_value(value, "Variable")
        if tangent is not None:
            if isinstance(tangent, (int, float)) and not isinstance(tangent, bool) \
                    and tangent == 0:
                tangent = None
            else:
                tangent = _as_tangent(tangent, value)
        self.value = value
        self.tangent = tangent
        self.tag = tag

    @classmethod
    def _make(cls, value: Any, tangent: Any, tag: int) -> Variable:
        """Build a Variable from parts already known to be well formed (the hot path)."""
        v = object.__new__(cls)
        v.value = value
        v.tangent = tangent
        v.tag = tag
        return v

    # ---- the blog's view and array-like attributes ------------------------------------------

    @property
    def grad(self) -> Any:
        """The tangent as the blog reads it: of the value's shape when there is one direction.

        With several directions this is the whole ``(T, *value.shape)`` tangent; for a
        constant it is zero.
        """
        t = self.tangent
        if t is None:
            return np.zeros_like(self.value) if isinstance(self.value, np.ndarray) else 0.0
        return t[0] if t.shape[0] == 1 else t

    @property
    def num_directions(self) -> int:
        """T, the number of directions the tangent carries (0 for a constant)."""
        return 0 if self.tangent is None else int(self.tangent.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape  # type: ignore[no-any-return]

    @property
    def ndim(self) -> int:
        return self.value.ndim  # type: ignore[no-any-return]

    @property
    def size(self) -> int:
        return self.value.size  # type: ignore[no-any-return]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.value.dtype  # type: ignore[no-any-return]

    @property
    def T(self) -> Variable:  # noqa: N802 - NumPy's name
        return _p.transpose(self)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        if self.value.ndim == 0:
            raise TypeError("len() of a 0-d Variable")
        return len(self.value)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        if self.tangent is None:
            return f"Variable({self.value!r})"
        return f"Variable({self.value!r}, tangent={self.tangent!r}, tag={self.tag})"

    def primal(self) -> Any:
        """The innermost plain value, with the tangents of every level dropped."""
        v = self.value
        while isinstance(v, Variable):
            v = v.value
        return v

    # ---- arithmetic ---------------------------------------------------------------------------

    def __add__(self, other: Any) -> Any:
        return _p.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _p.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _p.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _p.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return _p.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _p.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _p.divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _p.divide(other, self)

    def __pow__(self, other: Any) -> Any:
        return _p.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _p.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _p.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _p.matmul(other, self)

    def __neg__(self) -> Any:
        return _p.negative(self)

    def __pos__(self) -> Variable:
        return self

    def __abs__(self) -> Any:
        return _p.absolute(self)

    # ---- comparisons look at values only ----------------------------------------------------

    def __lt__(self, other: Any) -> Any:
        return self.primal() < _primal_of(other)

    def __le__(self, other: Any) -> Any:
        return self.primal() <= _primal_of(other)

    def __gt__(self, other: Any) -> Any:
        return self.primal() > _primal_of(other)

    def __ge__(self, other: Any) -> Any:
        return self.primal() >= _primal_of(other)

    def __eq__(self, other: object) -> Any:
        return self.primal() == _primal_of(other)

    def __ne__(self, other: object) -> Any:
        return self.primal() != _primal_of(other)

    __hash__ = None  # type: ignore[assignment]  # equality is elementwise, as for arrays

    def __bool__(self) -> bool:
        return bool(self.primal())

    def __float__(self) -> float:
        # float() is how math.sin(v) or np.float64(v) see a Variable: a carried tangent
        # would vanish, and the derivative silently become 0
        v: Any = self
        while isinstance(v, Variable):
            if v.tangent is not None:
                raise DualgradTypeError(
                    "float() of a Variable that carries a tangent would drop it (math.sin(v) "
                    "and np.float64(v) call float()); use dualgrad's or NumPy's functions "
                    "(dg.sin(v), np.sin(v)), or take v.value or v.primal() explicitly"
                )
            v = v.value
        return float(v)

    # ---- array methods --------------------------------------------------------------------------

    def __getitem__(self, index: Any) -> Any:
        return _p.getitem(self, index=index)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _p.reduce_sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _p.reduce_mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _p.reduce_prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _p.reduce_max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return _p.reduce_min(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return _p.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return _p.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: Any = None) -> Any:
        return _p.cumsum(self, axis=axis)

    def dot(self, other: Any) -> Any:
        return _p.dot(self, other)

    def squeeze(self, axis: Any = None) -> Any:
        return _p.squeeze(self, axis=axis)

    def ravel(self) -> Any:
        return _p.reshape(self, shape=(-1,))

    def flatten(self) -> Any:
        # a copy in NumPy; Variables are never written to, so the flat view serves both
        return _p.reshape(self, shape=(-1,))

    def reshape(self, *shape: Any) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return _p.reshape(self, shape=shape)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return _p.transpose(self, axes=axes or None)

    # ---- NumPy's dispatch protocols -----------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _dispatch.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any,
                           kwargs: Any) -> Any:
        return _dispatch.function(func, args, kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise DualgradTypeError(
            "a Variable cannot become a plain NumPy array: that would drop its tangent. Use "
            "dualgrad's functions (or NumPy's, which dispatch to them), or take .value "
            "explicitly"
        )


def _primal_of(x: Any) -> Any:
    return x.primal() if isinstance(x, Variable) else x


def _as_tangent(tangent: Any, value: Any) -> Any:
    shape = value.shape
    if not isinstance(tangent, Variable):
        tangent = as_value(tangent, "Variable's tangent")
        dtype = value.primal().dtype if isinstance(value, Variable) else value.dtype
        if tangent.dtype != dtype:
            tangent = tangent.astype(np.result_type(tangent.dtype, dtype))
    if tangent.shape == shape:
        return tangent.reshape((1, *shape))
    if tangent.shape[1:] == shape and tangent.ndim == len(shape) + 1:
        return tangent
    stacked = "(" + ", ".join(("T", *map(str, shape))) + ("," if not shape else "") + ")"
    raise ShapeError(
        f"a Variable of shape {shape} needs a tangent of shape {shape} (one direction) or "
        f"{stacked} for T directions; got a tangent of shape {tuple(tangent.shape)}"
    )


def _describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if isinstance(a, (np.ndarray, Variable)):
            parts.append(f"{type(a).__name__} of shape {tuple(a.shape)}")
        else:
            parts.append(_type_name(a))
    return ", ".join(parts)


Rule = Callable[..., Any]


@attrs.define(frozen=True, init=False, eq=False, repr=False)
class Primitive:
    """An operation with its forward-mode rules: the unit every derivative is built from.

    Args:
        name: the name it is registered and looked up by.
        fn: the function on plain arrays. Positional arguments are arrays; keyword arguments
            are static parameters (an axis, a shape) that are never differentiated.
        *jvps: one rule per positional argument, called as ``rule(t, out, *args, **params)``
            with ``t`` that argument's tangent (shape ``(T, *arg.shape)``, aligned to the
            output's rank when `elementwise` is set) and ``out`` the primal output; it returns
            the argument's contribution to the output tangent, and contributions are summed.
            ``None`` marks an argument that cannot be differentiated.
        elementwise: the output broadcasts its arguments; tangents are aligned before the rules
            run and the summed tangent is broadcast to the output's shape.
        implements: the NumPy or SciPy function this primitive stands for, so that calling that
            function on a Variable runs the primitive (``np.exp(v)``); a ufunc given as `fn`
            is taken by default. A function (not a ufunc) must take the primitive's arguments.
        jvp: an optional fast path, called as ``jvp(tangents, *args, **params)`` with plain
            arrays (``None`` among `tangents` for constants) and returning ``(out,
            out_tangent)``, so that the value and the tangent can share intermediate results.
            The rules above stay the reference: they run for higher derivatives, and the tests
            check that both agree.
        joint: for primitives that take any number of arguments (concatenate, stack): one rule
            called as ``joint(tangents, out, *args, **params)``, with ``None`` in `tangents` for
            constant arguments, returning the whole output tangent. Used instead of `jvps`.

    Rules written with NumPy calls or dualgrad operators also work when their arguments are
    themselves Variables, which is how higher derivatives come for free.

    Example:
        >>> import numpy as np
        >>> from dualgrad import Primitive, Variable
        >>> cube = Primitive("cube", lambda x: x**3, lambda t, out, x: 3 * x**2 * t,
        ...                  elementwise=True)
        >>> print(cube(Variable(2.0, 1.0)).grad)
        12.0
    """

    name: str
    fn: Callable[..., Any]
    jvps: tuple[Rule | None, ...]
    elementwise: bool
    joint: Rule | None
    implements: Callable[..., Any] | None
    jvp: Rule | None

    def __init__(self, name: str, fn: Callable[..., Any], *jvps: Rule | None,
                 elementwise: bool = False, joint: Rule | None = None,
                 implements: Callable[..., Any] | None = None,
                 jvp: Rule | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise DualgradTypeError(f"a Primitive's name must be a non-empty str, got {name!r}")
        if not callable(fn):
            raise DualgradTypeError(f"Primitive {name!r}: fn must be callable, got {fn!r}")
        for i, rule in enumerate(jvps):
            if rule is not None and not callable(rule):
                raise DualgradTypeError(
                    f"Primitive {name!r}: the rule for argument {i} must be callable or None, "
                    f"got {rule!r}"
                )
        if implements is None and isinstance(fn, np.ufunc):
            implements = fn
        self.__attrs_init__(name, fn, jvps, elementwise, joint, implements, jvp)

    def __repr__(self) -> str:
        return f"<dualgrad.Primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
        # The hot path: find the innermost differentiation among the arguments, checking on
        # the way that each is something NumPy can compute with.
        tag = -1
        for a in args:
            ta = type(a)
            if ta is np.ndarray:
                if a.dtype.kind != "f":  # booleans and integers become floats in _checked
                    return self(*self._checked(args), **params)
            elif ta is Variable:
                if a.tag > tag and a.tangent is not None:
                    tag = a.tag
            elif ta not in _PLAIN_SCALARS:
                return self(*self._checked(args), **params)
        if tag >= 0:
            return self._apply(tag, args, params)
        for a in args:
            if type(a) is Variable:
                # Variables in, a Variable out, even a constant one: the blog reads `.value`
                # of results built from `Variable(x, 0)` alone.
                out = self(*[b.value if type(b) is Variable else b for b in args], **params)
                return out if type(out) is Variable else Variable._make(out, None, 0)
        return self._evaluate(args, params)

    def _checked(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """The arguments as Variables and float arrays. Booleans and integers become the float
        type NumPy would compute them in beside the other arguments (a mask times a float32
        array stays float32), or float64 on their own (np.exp of int8 would be float16)."""
        out: list[Any] = []
        floats: list[np.dtype[Any]] = []
        for i, a in enumerate(args):
            if isinstance(a, Variable):
                if type(a) is not Variable:
                    a = Variable._make(a.value, a.tangent, a.tag)
                floats.append(a.primal().dtype)
            elif type(a) is not float and type(a) is not int:  # Python's numbers stay weak
                a = _as_real(a, f"{self.name} (argument {i}, with {_describe(args)})")
                if a.dtype.kind == "f":
                    floats.append(a.dtype)
            out.append(a)
        for i, a in enumerate(out):
            if type(a) is np.ndarray and a.dtype.kind != "f":
                dtype = np.result_type(a.dtype, *floats) if floats else a.dtype
                out[i] = a.astype(dtype if dtype.kind == "f" else np.float64)
        return tuple(out)

    def _evaluate(self, args: Sequence[Any], params: dict[str, Any]) -> Any:
        try:
            out = self.fn(*args, **params)
        except ValueError as exc:
            raise ShapeError(f"{self.name} cannot combine {_describe(args)}: {exc}") from exc
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        return out

    def _tangents(self, tag: int, args: tuple[Any, ...]) -> list[Any]:
        """Each argument's tangent at `tag` (None for constants), for the rules that take them
        all at once; these would broadcast 1 direction against 3 without a word, so the
        numbers of directions are checked here, in the same pass (the hot path of training)."""
        tangents: list[Any] = []
        directions = -1
        for a in args:
            t = a.tangent if type(a) is Variable and a.tag == tag else None
            if t is not None and t.shape[0] != directions:
                if directions >= 0:
                    raise _mixed_directions(self.name, directions, t.shape[0])
                directions = t.shape[0]
            tangents.append(t)
        return tangents

    def _jvp_fast(self, tag: int, args: tuple[Any, ...], primals: list[Any],
                  params: dict[str, Any]) -> Variable:
        tangents = self._tangents(tag, args)
        try:
            out, tangent = self.jvp(tangents, *primals, **params)  # type: ignore[misc]
        except ValueError as exc:
            raise ShapeError(f"{self.name} cannot combine {_describe(primals)}: {exc}") from exc
        return Variable._make(out if type(out) is np.ndarray else np.asarray(out), tangent, tag)

    def _apply(self, tag: int, args: tuple[Any, ...], params: dict[str, Any]) -> Variable:
        # The value: the primals at this level, which may still be Variables of outer levels.
        primals = [a.value if type(a) is Variable and (a.tag == tag or a.tangent is None)
                   else a for a in args]
        for a in primals:
            if type(a) is Variable:
                out = self(*primals, **params)
                break
        else:
            if self.jvp is not None:
                return self._jvp_fast(tag, args, primals, params)
            out = self._evaluate(primals, params)

        if self.joint is not None:
            return Variable._make(out, self.joint(self._tangents(tag, args), out, *primals,
                                                  **params), tag)

        # The tangent: each differentiated argument's contribution, summed.
        tangent: Any = None
        jvps = self.jvps
        for i, a in enumerate(args):
            if type(a) is not Variable or a.tag != tag or a.tangent is None:
                continue
            t = a.tangent
            rule = jvps[i] if i < len(jvps) else None
            if rule is None:
                raise NotImplementedError(
                    f"primitive {self.name!r} has no derivative rule for argument {i}; "
                    "differentiate with respect to another argument, or register a rule"
                )
            if self.elementwise and t.ndim <= out.ndim:
                t = align(t, out.ndim)
            c = rule(t, out, *primals, **params)
            if tangent is None:
                tangent, directions = c, t.shape[0]
                # a contribution that owns its memory and is no argument's tangent is fresh:
                # the next ones may be added into it instead of allocating another array
                fresh = type(c) is np.ndarray and c.base is None and c is not a.tangent \
                    and c.shape == (directions, *out.shape)
            elif t.shape[0] != directions:
                raise _mixed_directions(self.name, directions, t.shape[0])
            elif fresh and type(c) is np.ndarray:
                tangent += c
            else:
                tangent = tangent + c
        if tangent.shape[1:] != out.shape:
            shape = (directions, *out.shape)
            tangent = (np.broadcast_to(tangent, shape) if type(tangent) is np.ndarray
                       else _p.broadcast_to(tangent, shape=shape))
        return Variable._make(out, tangent, tag)


def _mixed_directions(name: str, first: int, other: int) -> ShapeError:
    return ShapeError(
        f"{name}: the arguments carry tangents along different numbers of directions ({first} "
        f"and {other}); seed every input of one differentiation with the same number of "
        "directions"
    )


# The built-in primitives are defined with `Primitive` and so import this module; Variable's
# operators call them at run time. Importing them last keeps both import orders working.
from . import _dispatch  # noqa: E402
from . import primitives as _p  # noqa: E402
