"""The dual number (`Variable`) and the application of a `Primitive` to dual numbers.

A `Variable` carries a value and its tangents: the directional derivatives of that value along
T directions, stacked on a leading axis, so ``tangent.shape == (T, *value.shape)``. A constant
carries ``tangent=None``, a symbolic zero for which no rule is ever run.

Every differentiation owns a *tag*. A Variable of tag k may hold, as its value or tangent,
Variables of smaller tags: that is how derivatives of derivatives work without the perturbations
of different levels mixing. A primitive applied to Variables works on the largest tag among its
arguments; the others are constants at that level and pass down, into the value computation,
where the same logic runs again one level lower.

Inside the engine a plain-array tangent may also be stored compactly, as a `_Rows`: only the
directions (rows) that can be nonzero, every other row known to be zero. ``v[0]`` of an input
seeded with the identity touches one direction of T, and its tangent is one row instead of T.
The public `Variable.tangent` always gives the dense ``(T, *value.shape)`` array.
"""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs
import numpy as np

from . import _zeros
from ._errors import DualgradTypeError, ShapeError, TracingError
from ._zeros import REPAIRING as _REPAIRING

__all__ = ["Primitive", "Variable", "align", "install_box", "install_numpy_dispatch", "new_tag",
           "provide_compact_rules", "provide_operators"]

_next_tag = itertools.count(1).__next__

# ---- what the layers above plug in ---------------------------------------------------------
#
# The core names no primitive and knows nothing of NumPy's dispatch. The primitives layer gives
# Variable its operators (`ops`) and says which primitives may run on compact tangents; the
# numpy layer installs the functions behind `__array_ufunc__` and `__array_function__`.

ops = types.SimpleNamespace()


def provide_operators(**primitives: Any) -> None:
    """Give Variable its operators and methods: ``add``, ``getitem``, ``reduce_sum``, ...,
    and ``broadcast_to``, which the apply path uses to widen a tangent."""
    vars(ops).update(primitives)


# the primitives whose rules may run on compact tangents (each is linear in the tangent and
# treats the direction axis as a batch axis, whatever its length)
_ROWS_RULES: set[Primitive] = set()
# the primitives that move a unit seed's elements without mixing them
_UNIT_MAPS: set[Primitive] = set()
# rules written into an array the engine hands them, (one per argument) for two arguments: a
# sum of contributions on different directions then fills one array of their union
_INTO: dict[Primitive, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def provide_compact_rules(rows: Iterable[Primitive], unit_maps: Iterable[Primitive],
                          into: dict[Primitive, tuple[Callable[..., Any], Callable[..., Any]]]
                          ) -> None:
    """Declare the primitives whose rules run on compact tangents (`rows`), those that move
    unit seeds without mixing them (`unit_maps`, whose first argument's first index or shape
    is the only parameter), and write-into rules of two-argument primitives (`into`)."""
    _ROWS_RULES.update(rows)
    _UNIT_MAPS.update(unit_maps)
    _INTO.update(into)


def _no_numpy(*args: Any) -> Any:
    raise NotImplementedError("NumPy's functions reach a Variable through dualgrad's numpy "
                              "layer, which `import dualgrad` installs")


_numpy = types.SimpleNamespace(ufunc=_no_numpy, function=_no_numpy)


def install_numpy_dispatch(ufunc: Callable[..., Any], function: Callable[..., Any]) -> None:
    """Route ``Variable.__array_ufunc__`` to ``ufunc(fn, method, inputs, kwargs)`` and
    ``__array_function__`` to ``function(fn, args, kwargs)``."""
    _numpy.ufunc, _numpy.function = ufunc, function


# Array-like types of the layers above that stand for arrays of a recorded program (the trace's
# `Tracer`), each with its recorder: a primitive applied to one of them (and to no Variable of a
# differentiation) hands the application to ``record(primitive, args, params)``. A Variable may
# hold them as value or tangent; the primitive then runs its reference rules on them.
_BOXES: dict[type, Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]] = {}


def install_box(cls: type, record: Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]
                ) -> None:
    """Make primitives applied to instances of `cls` call ``record(primitive, args, params)``."""
    _BOXES[cls] = record


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``; when an argument is a recorded array, `fn` is recorded whole, as one
    equation (a kernel that writes into arrays of its own, which recording could not follow)."""
    for a in args:
        if type(a) in _BOXES:
            return _BOXES[type(a)](fn, args, {})
    return fn(*args)


# Whether grad, jacobian and hessian seed their inputs as compact unit seeds (see `_Rows`);
# False seeds dense arrays, and every tangent stays dense (the tests compare both).
COMPACT_SEEDS = True

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

    # `_tangent` holds None, the dense tangent (an array, or a Variable of an outer level), or
    # a `_Rows`; `tangent` is the dense view of it, the only one code outside this module sees
    __slots__ = ("_tangent", "tag", "value")

    value: Any
    _tangent: Any
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
        self._tangent = tangent
        self.tag = tag

    @classmethod
    def _make(cls, value: Any, tangent: Any, tag: int) -> Variable:
        """Build a Variable from parts already known to be well formed (the hot path); the
        tangent may be a `_Rows`."""
        v = object.__new__(cls)
        v.value = value
        v._tangent = tangent
        v.tag = tag
        return v

    @property
    def tangent(self) -> Any:
        """The tangents, shape ``(T, *value.shape)``, or None for a constant."""
        t = self._tangent
        if type(t) is _Rows:
            if t.rows is None:
                return t.data
            t = self._tangent = t.dense()
        return t

    @tangent.setter
    def tangent(self, tangent: Any) -> None:
        self._tangent = tangent

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
        t = self._tangent
        if type(t) is _Rows:
            return t.total
        return 0 if t is None else int(t.shape[0])

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
        return ops.transpose(self)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        if self.value.ndim == 0:
            raise DualgradTypeError("len() of a 0-d Variable: it holds one number, not a "
                                    "sequence; use .shape or .size")
        return len(self.value)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        if self._tangent is None:
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
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return ops.divide(other, self)

    def __pow__(self, other: Any) -> Any:
        return ops.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return ops.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return ops.matmul(other, self)

    def __neg__(self) -> Any:
        return ops.negative(self)

    def __pos__(self) -> Variable:
        return self

    def __abs__(self) -> Any:
        return ops.absolute(self)

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
            if v._tangent is not None:
                raise DualgradTypeError(
                    "float() of a Variable that carries a tangent would drop it (math.sin(v) "
                    "and np.float64(v) call float()); use dualgrad's or NumPy's functions "
                    "(dg.sin(v), np.sin(v)), or take v.value or v.primal() explicitly"
                )
            v = v.value
        return float(v)

    # ---- array methods --------------------------------------------------------------------------

    def __getitem__(self, index: Any) -> Any:
        return ops.getitem(self, index=index)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return ops.reduce_min(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return ops.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Any:
        return ops.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: Any = None) -> Any:
        return ops.cumsum(self, axis=axis)

    def dot(self, other: Any) -> Any:
        return ops.dot(self, other)

    def squeeze(self, axis: Any = None) -> Any:
        return ops.squeeze(self, axis=axis)

    def ravel(self) -> Any:
        return ops.reshape(self, shape=(-1,))

    def flatten(self) -> Any:
        # a copy in NumPy; Variables are never written to, so the flat view serves both
        return ops.reshape(self, shape=(-1,))

    def reshape(self, *shape: Any) -> Any:
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = tuple(shape[0])
        return ops.reshape(self, shape=shape)

    def transpose(self, *axes: Any) -> Any:
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = tuple(axes[0]) if axes[0] is not None else ()
        return ops.transpose(self, axes=axes or None)

    # ---- NumPy's dispatch protocols -----------------------------------------------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _numpy.ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any,
                           kwargs: Any) -> Any:
        return _numpy.function(func, args, kwargs)

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


def _zero_rule(t: Any, out: Any, *args: Any, **params: Any) -> Any:
    """The rule of an argument whose derivative is zero everywhere (floor, sign).

    The engine never calls it: such an argument contributes nothing (a symbolic zero), so a
    primitive whose arguments all have this rule gives a constant, and an infinite tangent
    coming in never meets a factor 0. Called by hand it returns zeros of t's shape.
    """
    return np.zeros(t.shape, dtype=t.dtype)


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
            ``None`` marks an argument that cannot be differentiated; `Primitive.zero` one whose
            derivative is zero everywhere (floor, sign): it contributes nothing, not even zeros,
            and a primitive all of whose differentiated arguments have it gives a constant. A
            rule must not write into `t` or the other arguments: they may belong to the caller
            or be shared (a model's tangents of frozen data are read-only for that reason).
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

    Every contribution is checked where it is summed: a rule, `joint` or `jvp` must give a float
    array (or, for higher derivatives, a Variable) of shape ``(T, *out.shape)``, T directions
    first. For an elementwise primitive a contribution may also keep length 1 on any axis after
    T (``t`` aligned to shape ``(T, 1, 3)`` for an output ``(2, 3)`` gives ``(T, 1, 3)``): it
    has the output's rank and T, and broadcasts to the output. Anything else (a contribution
    without the direction axis, a scalar, None, a list) is a `ShapeError` or
    `DualgradTypeError` naming the primitive and the argument, never broadcast in silence.

    Zero tangents stay zero: where a direction's tangent entry is 0 and the rule's factor is
    infinite, the contribution is 0, not NaN (0 * inf), so one infinite partial derivative does
    not spoil the others (ForwardDiff.jl's NaN-safe mode). The rules run with NumPy's invalid
    flag checked; only when a rule makes a NaN are its contributions recomputed and repaired
    (entry by entry for elementwise rules, whole directions for the others). A `jvp` fast path
    is trusted to do the same.

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

    # the rule of an argument whose derivative is zero everywhere: see `_zero_rule`
    zero = staticmethod(_zero_rule)

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
        if self.jvp is not None:
            # The hottest path, in one pass over the arguments: a primitive with a `jvp`, on
            # float arrays, numbers and Variables of one differentiation with dense tangents.
            # Anything else (more than one differentiation, compact or nested tangents, other
            # types, mismatched directions) leaves the loop for the general path below.
            primals: list[Any] = []
            tangents: list[Any] = []
            tag = directions = -1
            for a in args:
                ta = type(a)
                if ta is Variable:
                    t = a._tangent
                    if t is not None:
                        if type(t) is not np.ndarray:
                            break
                        if directions < 0:
                            tag, directions = a.tag, t.shape[0]
                        elif a.tag != tag or t.shape[0] != directions:
                            break
                    a = a.value
                    if type(a) is not np.ndarray:  # an outer Variable, or a recorded array
                        break
                elif ta is np.ndarray:
                    if a.dtype.kind != "f":
                        break
                    t = None
                elif ta in _PLAIN_SCALARS:
                    t = None
                else:
                    break
                primals.append(a)
                tangents.append(t)
            else:
                if tag >= 0 and tag not in _REPAIRING:
                    try:
                        out, tangent = self.jvp(tangents, *primals, **params)
                    except ValueError as exc:
                        raise ShapeError(f"{self.name} cannot combine {_describe(primals)}: "
                                         f"{exc}") from exc
                    if type(out) is not np.ndarray:
                        out = np.asarray(out)
                    full = (directions, *out.shape)
                    if type(tangent) is not np.ndarray or tangent.shape != full:
                        tangent = self._fitted(tangent, full, "its jvp")
                    return Variable._make(out, tangent, tag)
        # The hot path: find the innermost differentiation among the arguments, checking on
        # the way that each is something NumPy can compute with.
        tag = -1
        box = None
        for a in args:
            ta = type(a)
            if ta is np.ndarray:
                if a.dtype.kind != "f":  # booleans and integers become floats in _checked
                    return self(*self._checked(args), **params)
            elif ta is Variable:
                if a.tag > tag and a._tangent is not None:
                    tag = a.tag
            elif ta in _BOXES:
                box = ta
            elif ta not in _PLAIN_SCALARS:
                return self(*self._checked(args), **params)
        if tag >= 0:
            return self._apply(tag, args, params)
        if box is not None and not any(type(a) is Variable for a in args):
            return _BOXES[box](self, args, params)
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
                    a = Variable._make(a.value, a._tangent, a.tag)
                floats.append(a.primal().dtype)
            elif type(a) in _BOXES:
                floats.append(a.dtype)
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
        numbers of directions are checked here, in the same pass (the hot path of training).

        A compact tangent (a `_Rows`, which has no shape) raises AttributeError, at no cost to
        dense ones: the callers then turn to `_compact_tangents`."""
        tangents: list[Any] = []
        directions = -1
        for a in args:
            t = a._tangent if type(a) is Variable and a.tag == tag else None
            if t is not None and t.shape[0] != directions:
                if directions >= 0:
                    raise _mixed_directions(self.name, directions, t.shape[0])
                directions = t.shape[0]
            tangents.append(t)
        return tangents

    def _compact_tangents(self, tag: int, args: tuple[Any, ...], primals: Sequence[Any]
                          ) -> tuple[list[Any], Any, int] | None:
        """`_tangents` when some are compact: the tangents on one row set, the union of theirs
        (or dense, for rules not known to take compact tangents), those rows (None: all
        directions), and the number of directions. None when no tangent is compact."""
        tangents: list[Any] = []
        directions = -1
        compact = False
        for a in args:
            t = a._tangent if type(a) is Variable and a.tag == tag else None
            if t is not None:
                compact = compact or type(t) is _Rows
                n = t.total if type(t) is _Rows else t.shape[0]
                if n != directions:
                    if directions >= 0:
                        raise _mixed_directions(self.name, directions, n)
                    directions = n
            tangents.append(t)
        if not compact:
            return None
        return _common_rows(tangents, directions, self._takes_rows(primals))

    def _takes_rows(self, primals: Sequence[Any]) -> bool:
        """Whether this primitive's rules may run on compact tangents here: its rules treat
        the direction axis as a batch axis, and no primal is an outer Variable (the rules
        would give Variables, which stay dense)."""
        return self in _ROWS_RULES and not any(type(a) is Variable for a in primals)

    def _rule_on_rows(self, rule: Rule, t: _Rows, out: Any, primals: Sequence[Any],
                      params: dict[str, Any]) -> tuple[Any, Any, Any]:
        """A rule's contribution for a compact tangent: (the array it ran on, the rows of the
        contribution, the contribution)."""
        if self._takes_rows(primals):
            src, rows = t.data, t.rows
        else:
            src, rows = t.dense(), None
        x = align(src, out.ndim) if self.elementwise and src.ndim <= out.ndim else src
        c = rule(x, out, *primals, **params)
        if rows is not None and type(c) is not np.ndarray:  # not a plain array: stay dense
            src, rows = t.dense(), None
            x = align(src, out.ndim) if self.elementwise and src.ndim <= out.ndim else src
            c = rule(x, out, *primals, **params)
        return src, rows, c

    def _unit_tangent(self, rule: Rule, t: _Rows, out: Any, x: Any, params: dict[str, Any]
                      ) -> Any:
        """The tangent of getitem or a reshape of unit seeds, restricted to the directions its
        elements carry; None when that is all of them or none, where the usual rule serves."""
        if self is not ops.getitem:  # reshape, squeeze, expand_dims keep the order of elements
            return _Rows(t.data.reshape((t.data.shape[0], *out.shape)), t.rows, t.total, t.unit)
        index = params["index"]
        if t.rows is None and x.ndim == 1 and isinstance(index, (int, np.integer)) \
                and not isinstance(index, (bool, np.bool_)) and -x.shape[0] <= index < x.shape[0]:
            # one element of a vector of unit seeds (v[0]): one direction, itself a unit seed
            k = int(index) % x.shape[0] + t.unit
            if not 0 <= k < t.total:
                return None
            return _Rows(t.data[k:k + 1, index], np.array([k]), t.total, k)
        # the direction of each picked element: its flat position in x, shifted
        directions = np.arange(x.size).reshape(x.shape)[params["index"]].reshape(-1) + t.unit
        rows, unit = _directions_of(directions, t.total)
        if rows is None:
            if unit is None or t.rows is not None:
                return None
            # every direction, in order (x[:], x[...]): still unit seeds
            return _Rows(rule(t.data, out, x, **params), None, t.total, unit)
        # the seed's rows for those directions, then the usual rule: views for basic indices
        at = rows if t.rows is None else np.searchsorted(t.rows, rows)
        run = _run(at)
        seeds = t.data[at if run is None else run]
        return _Rows(rule(seeds, out, x, **params), rows, t.total, unit)

    def _jvp_fast(self, tag: int, args: tuple[Any, ...], primals: list[Any],
                  params: dict[str, Any]) -> Variable:
        try:
            tangents, rows = self._tangents(tag, args), None
        except AttributeError:
            compact = self._compact_tangents(tag, args, primals)
            if compact is None:
                raise
            tangents, rows, directions = compact
        try:
            out, tangent = self.jvp(tangents, *primals, **params)  # type: ignore[misc]
        except ValueError as exc:
            raise ShapeError(f"{self.name} cannot combine {_describe(primals)}: {exc}") from exc
        if type(out) is not np.ndarray and type(out) not in _BOXES:
            out = np.asarray(out)
        n = next(t.shape[0] for t in tangents if t is not None)
        tangent = self._fitted(tangent, (n, *out.shape), "its jvp")
        if rows is not None:
            tangent = _Rows(tangent, rows, directions)
        return Variable._make(out, tangent, tag)

    def _fitted(self, tangent: Any, full: tuple[int, ...], which: str) -> Any:
        """A whole output tangent from `joint` or `jvp`, checked, and broadcast to `full` when
        the primitive is elementwise."""
        if type(tangent) is not np.ndarray or tangent.shape != full:
            _check_contribution(self.name, which, tangent, full, self.elementwise)
            if tuple(tangent.shape) != full:
                tangent = (np.broadcast_to(tangent, full) if type(tangent) is np.ndarray
                           else ops.broadcast_to(tangent, shape=full))
        elif tangent.dtype.kind != "f":
            _check_contribution(self.name, which, tangent, full, self.elementwise)
        return tangent

    def _apply(self, tag: int, args: tuple[Any, ...], params: dict[str, Any]) -> Variable:
        # The value: the primals at this level, which may still be Variables of outer levels.
        primals = [a.value if type(a) is Variable and (a.tag == tag or a._tangent is None)
                   else a for a in args]
        nested = boxed = False  # an outer Variable, or a recorded array, among the primals
        for a in primals:
            if type(a) is Variable:
                nested = True
                break
            if type(a) in _BOXES:
                boxed = True
        if tag not in _REPAIRING:
            if not nested and self.jvp is not None:
                if not boxed:
                    return self._jvp_fast(tag, args, primals, params)
                # recorded arrays go through the jvp too, where it can be recorded: its
                # equations share the value's intermediate results, and those of data alone
                # fold (see _trace); one that writes in place runs the rules instead (what it
                # recorded before failing is never read, and the program leaves it out)
                try:
                    return self._jvp_fast(tag, args, primals, params)
                except TracingError:
                    pass
            nested = nested or boxed
            out = self(*primals, **params) if nested else self._evaluate(primals, params)
            return self._tangent(tag, args, primals, out, params, False)
        return self._repaired(tag, args, primals, params, nested)

    def _repaired(self, tag: int, args: tuple[Any, ...], primals: list[Any],
                  params: dict[str, Any], nested: bool) -> Variable:
        """`_apply` in a repairing pass (see `_zeros`): the reference rules, each contribution
        with NaN made 0 where its tangent is 0 (the pass reports a NaN that remains). A
        primitive whose only rule is its `jvp` is repaired by whole directions."""
        if not self.jvps and self.joint is None and self.jvp is not None and not nested:
            with np.errstate(invalid="ignore"):  # the pass reports what NaN remains
                result = self._jvp_fast(tag, args, primals, params)
            ts = [a._tangent if type(a) is Variable and a.tag == tag else None for a in args]
            if type(result._tangent) is np.ndarray and all(
                    t is None or type(t) is np.ndarray for t in ts):
                result._tangent = _zeros.nan_safe_joint(result._tangent, ts)
        else:
            out = self._value(primals, params, nested)  # under the caller's error state
            with np.errstate(invalid="ignore"):  # the pass reports what NaN remains
                result = self._tangent(tag, args, primals, out, params, True)
        return result

    def _value(self, primals: list[Any], params: dict[str, Any], nested: bool) -> Any:
        return self(*primals, **params) if nested else self._evaluate(primals, params)

    def _tangent(self, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any,
                 params: dict[str, Any], safe: bool) -> Variable:
        """The output Variable: `out` with the tangent summed from every differentiated
        argument's contribution; with `safe`, each is repaired by `_zeros.nan_safe`."""
        if self.joint is not None:
            common: Any = None
            total = 0
            try:
                tangents = self._tangents(tag, args)
            except AttributeError:
                compact = self._compact_tangents(tag, args, primals)
                if compact is None:
                    raise
                tangents, common, total = compact
            t = self.joint(tangents, out, *primals, **params)
            n = next(u.shape[0] for u in tangents if u is not None)
            t = self._fitted(t, (n, *out.shape), "its joint rule")
            if safe:
                t = _zeros.nan_safe_joint(t, tangents)
            if common is not None:
                t = _Rows(t, common, total)
            return Variable._make(out, t, tag)

        # The tangent: each differentiated argument's contribution, summed.
        tangent: Any = None
        directions: Any = None
        fresh: Any = None
        jvps = self.jvps
        shape = out.shape
        for i, a in enumerate(args):
            if type(a) is not Variable or a.tag != tag or a._tangent is None:
                continue
            rule = jvps[i] if i < len(jvps) else None
            if rule is None:
                raise _no_rule(self.name, i)
            if rule is _zero_rule:
                continue
            t = a._tangent
            if type(t) is _Rows:
                if t.total * out.size > _SMALL_DENSE or (t.unit is not None
                                                         and self in _UNIT_MAPS):
                    # a compact tangent worth keeping: the sum goes on in _sum_rows
                    return self._sum_rows(tag, args, primals, out, params, i, tangent,
                                          directions, fresh, safe)
                # few numbers in all: dense costs less than the bookkeeping of rows (scalars
                # indexed out of a vector, combined one by one)
                t = t.dense()
            if self.elementwise and t.ndim <= out.ndim:
                t = align(t, out.ndim)
            c = rule(t, out, *primals, **params)
            full = (t.shape[0], *shape)
            if type(c) is not np.ndarray or c.shape != full or c.dtype.kind != "f":
                _check_contribution(self.name, f"the rule for argument {i}", c, full,
                                    self.elementwise)
            if safe:
                c = _zeros.nan_safe(c, t, self.elementwise)
            if tangent is None:
                tangent, directions = c, full[0]
                # a contribution that owns its memory and is no argument's tangent is fresh:
                # the next ones may be added into it instead of allocating another array
                fresh = type(c) is np.ndarray and c.base is None and c is not a._tangent \
                    and c is not t and c.shape == full
            elif full[0] != directions:
                raise _mixed_directions(self.name, directions, full[0])
            elif fresh and type(c) is np.ndarray:
                tangent += c
            else:
                tangent = tangent + c
        if tangent is None:  # every contribution is a symbolic zero: the output is a constant
            return Variable._make(out, None, tag)
        if tangent.shape[1:] != shape:
            full = (directions, *shape)
            tangent = (np.broadcast_to(tangent, full) if type(tangent) is np.ndarray
                       else ops.broadcast_to(tangent, shape=full))
        return Variable._make(out, tangent, tag)

    def _sum_rows(self, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any,
                  params: dict[str, Any], start: int, tangent: Any, directions: Any,
                  fresh: Any, safe: bool) -> Variable:
        """The rest of `_tangent`'s sum from argument `start` on, whose tangent is compact;
        `tangent` is the dense sum of the contributions before it (None if there are none).
        `rows` are the directions the sum is restricted to (None: all of them)."""
        if tangent is None and not safe and self in _INTO \
                and self._takes_rows(primals):
            summed = self._sum_into(tag, args, primals, out)
            if summed is not None:
                return summed
        rows: Any = None
        jvps = self.jvps
        for i in range(start, len(args)):
            a = args[i]
            if type(a) is not Variable or a.tag != tag or a._tangent is None:
                continue
            t = a._tangent
            rule = jvps[i] if i < len(jvps) else None
            if rule is None:
                raise _no_rule(self.name, i)
            if rule is _zero_rule:
                continue
            if type(t) is _Rows:
                if t.unit is not None and len(args) == 1 and self in _UNIT_MAPS:
                    unit = self._unit_tangent(rule, t, out, primals[0], params)
                    if unit is not None:
                        return Variable._make(out, unit, tag)
                n = t.total
                src, r, c = self._rule_on_rows(rule, t, out, primals, params)
            else:
                src, r, n = t, None, t.shape[0]
                if self.elementwise and t.ndim <= out.ndim:
                    t = align(t, out.ndim)
                c = rule(t, out, *primals, **params)
            full = (n if r is None else len(r), *out.shape)
            if type(c) is not np.ndarray or c.shape != full or c.dtype.kind != "f":
                _check_contribution(self.name, f"the rule for argument {i}", c, full,
                                    self.elementwise)
            if safe:
                c = _zeros.nan_safe(c, align(src, out.ndim) if self.elementwise else src,
                                    self.elementwise)
            if tangent is None:
                tangent, directions, rows = c, n, r
                fresh = type(c) is np.ndarray and c.base is None and c is not src \
                    and c.shape == full
            elif n != directions:
                raise _mixed_directions(self.name, directions, n)
            elif r is not rows:
                tangent, rows, fresh = _combine(tangent, rows, fresh, c, r, directions,
                                                out.shape)
            elif fresh and type(c) is np.ndarray:
                tangent += c
            else:
                tangent = tangent + c
        if tangent is None:
            return Variable._make(out, None, tag)
        if tangent.shape[1:] != out.shape:
            shape = (directions if rows is None else len(rows), *out.shape)
            tangent = (np.broadcast_to(tangent, shape) if type(tangent) is np.ndarray
                       else ops.broadcast_to(tangent, shape=shape))
        if rows is None:
            return Variable._make(out, tangent, tag)
        return Variable._make(out, _Rows(tangent, rows, directions), tag)


    def _sum_into(self, tag: int, args: tuple[Any, ...], primals: list[Any], out: Any
                  ) -> Variable | None:
        """add, subtract or multiply of two tangents on different rows, each contribution
        written straight into one array of the union of the rows (or of every direction), with
        no array of its own; None where `_sum_rows` does as well (the same rows, overlapping
        compact rows, rows that are no run)."""
        parts = []
        for i, a in enumerate(args):
            if type(a) is not Variable or a.tag != tag or a._tangent is None:
                continue
            t = a._tangent
            if type(t) is _Rows:
                parts.append((i, t.data, t.rows, t.total))
            elif type(t) is np.ndarray:
                parts.append((i, t, None, t.shape[0]))
            else:
                return None
        if len(parts) != 2:
            return None
        (i, t, rows, n), (j, u, r, m) = parts
        if n != m:
            raise _mixed_directions(self.name, n, m)
        if rows is not None and r is not None and len(rows) == len(r) \
                and np.array_equal(rows, r):
            return None
        union = None if rows is None or r is None else _union(rows, r)
        if union is not None and (len(union) == n or n * out.size <= _SMALL_DENSE):
            union = None
        size = n if union is None else len(union)
        at, at_u = _positions(rows, union, size), _positions(r, union, size)
        if at_u is None:  # the one that covers every row goes first
            i, t, at, j, u, at_u = j, u, at_u, i, t, at
        views = [_run(at), _run(at_u)]
        if at is not None and (len(at) + len(at_u) != size or views[0] is None):
            return None
        acc = np.empty((size, *out.shape), dtype=np.result_type(out, t, u))
        into = _INTO[self]
        x, y = primals
        ndim = out.ndim
        into[i](align(t, ndim), acc if at is None else acc[views[0]], x, y)
        if at is not None and views[1] is not None:  # disjoint: the second fills its own rows
            into[j](align(u, ndim), acc[views[1]], x, y)
        else:  # added to the first, or written to rows that are no run
            _put(acc, at_u, self.jvps[j](align(u, ndim), out, x, y),  # type: ignore[misc]
                 add=at is None)
        if union is None:
            return Variable._make(out, acc, tag)
        return Variable._make(out, _Rows(acc, union, n), tag)


def _run(at: Any) -> slice | None:
    """Positions that are one run as a slice (all of them: the whole axis); None otherwise."""
    if at is None:
        return slice(None)
    lo = int(at[0])
    return slice(lo, lo + len(at)) if int(at[-1]) - lo + 1 == len(at) else None


def _no_rule(name: str, i: int) -> NotImplementedError:
    return NotImplementedError(
        f"primitive {name!r} has no derivative rule for argument {i}; "
        "differentiate with respect to another argument, or register a rule"
    )


def _check_contribution(name: str, which: str, c: Any, full: tuple[int, ...],
                        elementwise: bool) -> None:
    """Raise unless `c` is a well-formed contribution to a tangent of shape `full`, ``(T,
    *out.shape)`` (see `Primitive`). `which` says whose it is ("the rule for argument 0")."""
    shape: tuple[int, ...] = ()  # a number's: a contribution with no axes at all
    if isinstance(c, (np.ndarray, Variable)) or type(c) in _BOXES:
        shape = tuple(c.shape)
        if shape == full or (
                elementwise and len(shape) == len(full) and shape[0] == full[0]
                and all(n == 1 or n == m for n, m in zip(shape[1:], full[1:]))):
            if c.dtype.kind == "f":
                return
            raise DualgradTypeError(
                f"primitive {name!r}: {which} returned an array of dtype {c.dtype}; expected "
                f"floats of shape {_shape_text(full)}: {_FIX}")
    why = (f"the direction axis T={full[0]} first, then the output's shape {full[1:]}"
           + ("; an elementwise rule may leave axes after T at length 1"
              if elementwise else ""))
    if not (isinstance(c, (np.ndarray, Variable, float, int, np.number)) or type(c) in _BOXES) \
            or isinstance(c, bool):
        raise DualgradTypeError(
            f"primitive {name!r}: {which} returned "
            f"{'None' if c is None else 'a ' + _type_name(c)}, not an array; expected a float "
            f"array of shape {_shape_text(full)} ({why}): {_FIX}")
    raise ShapeError(
        f"primitive {name!r}: {which} returned a contribution of shape {shape}; "
        f"expected {_shape_text(full)} ({why}). A contribution without the direction axis "
        f"would be broadcast across the directions and give wrong derivatives: {_FIX}")


_FIX = "return the contribution of the tangent t, such as slope * t"


def _shape_text(shape: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _mixed_directions(name: str, first: int, other: int) -> ShapeError:
    return ShapeError(
        f"{name}: the arguments carry tangents along different numbers of directions ({first} "
        f"and {other}); seed every input of one differentiation with the same number of "
        "directions"
    )


# ---- compact tangents: only the directions that can be nonzero ----------------------------------

class _Rows:
    """A tangent stored by the directions it can touch: ``data[i]`` is the tangent along
    direction ``rows[i]``, and along every other of the `total` directions it is zero.

    `rows` are sorted, unique and fewer than `total`; `data`, shape ``(len(rows), *shape)``,
    is a plain float ndarray (a tangent that is a Variable always stays dense). `unit` marks unit
    seeds: direction k is the unit vector of flat element ``k - unit`` of the value (zero where
    that element does not exist). Unit seeds may cover every direction, with ``rows=None`` and
    `data` the dense tangent; indexing them gives compact tangents.
    """

    __slots__ = ("data", "rows", "total", "unit")

    def __init__(self, data: np.ndarray, rows: np.ndarray | None, total: int,
                 unit: int | None = None) -> None:
        self.data = data
        self.rows = rows
        self.total = total
        self.unit = unit

    def dense(self) -> np.ndarray:
        """The tangent with every direction, shape ``(total, *shape)``."""
        if self.rows is None:
            return self.data
        if len(self.rows) == 1:  # one direction (an element indexed out of a vector)
            out = np.zeros((self.total, *self.data.shape[1:]), dtype=self.data.dtype)
            out[int(self.rows[0])] = self.data[0]
            return out
        return _spread(self.data, self.rows, None, self.total)


def unit_seeds(data: np.ndarray, rows: np.ndarray | None, total: int, unit: int) -> _Rows:
    """Unit seeds, for the transformations that build them (see `_Rows`)."""
    return _Rows(data, rows, total, unit)


def stored_rows(v: Any) -> int | None:
    """How many directions `v`'s tangent is stored with when it is compact, None when dense
    (for tests that check the compact path is taken)."""
    t = v._tangent if isinstance(v, Variable) else None
    return len(t.rows) if type(t) is _Rows and t.rows is not None else None


def _directions_of(directions: np.ndarray, total: int) -> tuple[np.ndarray | None, int | None]:
    """The sorted distinct directions among `directions` in 0..total-1, None when that is none
    or all of them; and, when they are one increasing run covering every element, its first
    direction (the elements are unit seeds again)."""
    size = directions.size
    if size == 0:
        return None, None
    first = int(directions[0])
    if first >= 0 and first + size <= total and (
            size == 1 or bool((np.diff(directions) == 1).all())):
        return (np.arange(first, first + size) if size < total else None), first
    rows = np.unique(directions[(directions >= 0) & (directions < total)])
    return (rows if 0 < len(rows) < total else None), None


def _put(acc: np.ndarray, at: Any, c: Any, add: bool) -> None:
    """acc[at] = c, or += c; `at` are sorted unique positions on acc's first axis, None for
    all of them. A run of consecutive positions is written through a view."""
    if at is not None and len(at) == 0:
        return
    where = _run(at)
    if where is None:
        where = at
    if add:
        acc[where] += c
    else:
        acc[where] = c


def _spread(data: Any, rows: np.ndarray, union: np.ndarray | None, total: int) -> np.ndarray:
    """A compact tangent on `rows` spread onto the rows `union` (None: all `total` directions),
    zeros elsewhere."""
    size = total if union is None else len(union)
    out = np.zeros((size, *data.shape[1:]), dtype=data.dtype)
    _put(out, rows if union is None else np.searchsorted(union, rows), data, add=False)
    return out


def _common_rows(tangents: list[Any], directions: int, compact: bool
                 ) -> tuple[list[Any], Any, int]:
    """Tangents (some compact) on one row set, the union of theirs; dense when that is every
    direction, when one of them is dense, or when `compact` is false."""
    union: Any = None
    if compact:
        for t in tangents:
            if t is None:
                continue
            if type(t) is not _Rows or t.rows is None:
                union = None
                break
            union = t.rows if union is None else _union(union, t.rows)
    if union is None or len(union) == directions:
        return [t.dense() if type(t) is _Rows else t for t in tangents], None, directions
    return [t if t is None else t.data if len(t.rows) == len(union)
            else _spread(t.data, t.rows, union, directions) for t in tangents], union, directions


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a is b or (len(a) == len(b) and np.array_equal(a, b)):
        return a
    if len(a) and len(b):  # rows are sorted and unique: two common cases need no sort
        if a[-1] < b[0]:  # disjoint, in order
            return np.concatenate((a, b))
        if b[-1] < a[0]:
            return np.concatenate((b, a))
        if len(b) > len(a):
            a, b = b, a
        if a[-1] - a[0] + 1 == len(a) and a[0] <= b[0] and b[-1] <= a[-1]:
            return a  # b lies within a, which is one run
    return np.union1d(a, b)


def _combine(acc: Any, rows: Any, fresh: bool, c: Any, r: Any, directions: int,
             shape: tuple[int, ...]) -> tuple[Any, Any, bool]:
    """acc + c for contributions restricted to different rows (None: all directions):
    ``(sum, its rows, whether the sum is fresh)``. The sum covers the union of the rows,
    dense when that is every direction."""
    if rows is not None and r is not None and len(r) == len(rows) and np.array_equal(rows, r):
        # the same rows
        if fresh and type(c) is np.ndarray:
            acc += c
            return acc, rows, True
        return acc + c, rows, False
    if type(acc) is not np.ndarray or type(c) is not np.ndarray:
        # a tangent that is a Variable of an outer level: spread the compact one, add densely
        if rows is not None:
            acc = _spread(acc, rows, None, directions)
        if r is not None:
            c = _spread(c, r, None, directions)
        return acc + c, None, False
    union = None if rows is None or r is None else _union(rows, r)
    if union is not None and (len(union) == directions
                              or directions * math.prod(shape) <= _SMALL_DENSE):
        union = None  # every direction, or few enough numbers that dense is cheaper to keep
    size = directions if union is None else len(union)
    if fresh and (rows is None if union is None else len(rows) == len(union)):
        # c's rows are among acc's, which is full-sized and fresh: add c in place
        _put(acc, r if union is None or r is None else np.searchsorted(union, r), c, add=True)
        return acc, union, True
    at, at_c = _positions(rows, union, size), _positions(r, union, size)
    dtype = np.result_type(acc, c)
    if at_c is None:  # c covers every row: write it first (the sum is the same)
        acc, at, c, at_c = c, at_c, acc, at
    if at is None or len(at) + len(at_c) == size:
        # the first part covers every row, or the two are disjoint and cover them together
        out = np.empty((size, *shape), dtype=dtype)
        _put(out, at, acc, add=False)
        _put(out, at_c, c, add=at is None)
    else:
        out = np.zeros((size, *shape), dtype=dtype)
        _put(out, at, acc, add=False)
        _put(out, at_c, c, add=True)
    return out, union, True


# a sum of compact tangents with at most this many numbers in dense form is stored dense: below
# it, finding unions of rows costs more than the zeros it saves (a loop over the scalars of a
# long vector would otherwise grow a union a row at a time)
_SMALL_DENSE = 4096


def _positions(rows: Any, union: Any, size: int) -> Any:
    """Where `rows` sit among `union` (None: all directions); None when they are all of them."""
    if rows is None or len(rows) == size:
        return None
    return rows if union is None else np.searchsorted(union, rows)

