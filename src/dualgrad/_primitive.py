"""`Primitive`: an operation with its forward-mode rules, and the record of their
specialisations.

The reference rules are written once per primitive: one rule per argument (contributions
summed) or one joint rule. Anything faster is a specialisation of them, declared in the
primitive's `Specialisations` beside it and checked against them by the registry-driven test
of every (primitive, specialisation) pair.

Every contribution is checked where it is summed (see `_contributions`). Zero tangents stay
zero: where a direction's tangent entry is 0 and the rule's factor is infinite, the
contribution is 0, not NaN (0 * inf), so one infinite partial derivative does not spoil the
others (ForwardDiff.jl's NaN-safe mode). The rules run with NumPy's invalid flag checked; only
when a rule makes a NaN are its contributions recomputed by the reference rules and repaired
(see `_zeros`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from ._apply import apply, evaluate
from ._contributions import Rule, describe, fitted, zero_rule
from ._errors import DualgradTypeError, ShapeError
from ._rows import Rows
from ._seams import _BOXES
from ._variable import PLAIN_SCALARS, Variable, as_real
from ._zeros import REPAIRING as _REPAIRING

__all__ = ["Primitive", "Specialisations"]


def _callable_or_none(name: str, what: str, f: Any) -> None:
    if f is not None and not callable(f):
        raise DualgradTypeError(f"Primitive {name!r}: {what} must be callable or None, got {f!r}")


@attrs.frozen(kw_only=True)
class Specialisations:
    """Faster forms of a primitive's reference rules, each optional; the reference rules stay
    what higher derivatives, recorded arrays and repairing passes run.

    Args:
        jvp: a joint value-and-tangent kernel, ``jvp(tangents, *args, **params) -> (out,
            out_tangent)`` on plain arrays (``None`` among `tangents` for constants), so that
            the value and the tangent can share intermediate results.
        unit_jvp: the same kernel for tangents of which some are unit seeds (`_rows.Rows`
            with ``unit`` set: direction k is the unit vector of flat element ``k - unit``),
            which it may place without the arithmetic on their zeros; the others are dense.
        rows: the rules treat the direction axis as a batch axis, whatever its length, so they
            may run on compact tangents (only the directions that can be nonzero).
        unit_map: for a one-argument primitive that moves elements without mixing them,
            ``unit_map(t, out, x, **params)``: the output tangent (a `Rows`) when x's tangent
            `t` is unit seeds, or None where the rule serves.
        into: for a two-argument primitive, one rule per argument ``into(t, o, *args)`` that
            writes its contribution into the array `o`, so that contributions on different
            directions fill one array of their union.
    """

    jvp: Rule | None = None
    unit_jvp: Rule | None = None
    rows: bool = False
    unit_map: Rule | None = None
    into: tuple[Rule, Rule] | None = None

    def check(self, name: str, arguments: int) -> None:
        """Raise a `DualgradTypeError` naming the primitive unless the record is well formed
        for a primitive of `arguments` rules."""
        for what in ("jvp", "unit_jvp", "unit_map"):
            _callable_or_none(name, f"the specialisation {what}", getattr(self, what))
        if self.unit_map is not None and arguments != 1:
            raise DualgradTypeError(f"Primitive {name!r}: unit_map is for primitives of one "
                                    f"argument, this one has rules for {arguments}")
        if self.into is not None and (not isinstance(self.into, tuple) or len(self.into) != 2
                                      or arguments != 2 or not all(map(callable, self.into))):
            raise DualgradTypeError(f"Primitive {name!r}: into must be a pair of callables, "
                                    f"one per argument of a two-argument primitive; got "
                                    f"{self.into!r}")


_NONE = Specialisations()


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
            the argument's contribution to the output tangent (shape ``(T, *out.shape)``), and
            contributions are summed. ``None`` marks an argument that cannot be
            differentiated; `Primitive.zero` one whose derivative is zero everywhere (floor,
            sign): it contributes nothing, not even zeros. A rule must not write into `t` or
            the other arguments: they may belong to the caller or be shared.
        elementwise: the output broadcasts its arguments; tangents are aligned before the rules
            run and the summed tangent is broadcast to the output's shape.
        implements: the NumPy or SciPy function this primitive stands for, so that calling that
            function on a Variable runs the primitive (``np.exp(v)``); a ufunc given as `fn`
            is taken by default. A function (not a ufunc) must take the primitive's arguments.
        joint: for primitives that take any number of arguments (concatenate, stack): one rule
            called as ``joint(tangents, out, *args, **params)``, with ``None`` in `tangents` for
            constant arguments, returning the whole output tangent. Used instead of `jvps`.
        special: the `Specialisations` of these rules (a joint kernel, rules on compact
            tangents, ...); none by default.

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
    special: Specialisations

    # the rule of an argument whose derivative is zero everywhere: see `zero_rule`
    zero = staticmethod(zero_rule)

    def __init__(self, name: str, fn: Callable[..., Any], *jvps: Rule | None,
                 elementwise: bool = False, joint: Rule | None = None,
                 implements: Callable[..., Any] | None = None,
                 special: Specialisations | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise DualgradTypeError(f"a Primitive's name must be a non-empty str, got {name!r}")
        if not callable(fn):
            raise DualgradTypeError(f"Primitive {name!r}: fn must be callable, got {fn!r}")
        for i, rule in enumerate(jvps):
            _callable_or_none(name, f"the rule for argument {i}", rule)
        _callable_or_none(name, "joint", joint)
        if special is None:
            special = _NONE
        elif not isinstance(special, Specialisations):
            raise DualgradTypeError(f"Primitive {name!r}: special must be a Specialisations "
                                    f"record, got {special!r}")
        special.check(name, len(jvps))
        if implements is None and isinstance(fn, np.ufunc):
            implements = fn
        self.__attrs_init__(name, fn, jvps, elementwise, joint, implements, special)

    def __repr__(self) -> str:
        return f"<dualgrad.Primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
        jvp = self.special.jvp
        if jvp is not None:
            # The hottest path, in one pass over the arguments: a primitive with a `jvp`, on
            # float arrays, numbers and Variables of one differentiation with dense tangents
            # (or unit seeds, for its `unit_jvp`). Anything else (more than one
            # differentiation, compact or nested tangents, other types, mismatched directions)
            # leaves the loop for the general path below.
            primals: list[Any] = []
            tangents: list[Any] = []
            tag = directions = -1
            for a in args:
                ta = type(a)
                if ta is Variable:
                    t = a._tangent
                    if t is not None:
                        if type(t) is np.ndarray:
                            n = t.shape[0]
                        elif type(t) is Rows and t.unit is not None \
                                and self.special.unit_jvp is not None:
                            jvp, n = self.special.unit_jvp, t.total
                        else:
                            break
                        if directions < 0:
                            tag, directions = a.tag, n
                        elif a.tag != tag or n != directions:
                            break
                    a = a.value
                    if type(a) is not np.ndarray:  # an outer Variable, or a recorded array
                        break
                elif ta is np.ndarray:
                    if a.dtype.kind != "f":
                        break
                    t = None
                elif ta in PLAIN_SCALARS:
                    t = None
                else:
                    break
                primals.append(a)
                tangents.append(t)
            else:
                if tag >= 0 and tag not in _REPAIRING:
                    try:
                        out, tangent = jvp(tangents, *primals, **params)
                    except ValueError as exc:
                        raise ShapeError(f"{self.name} cannot combine {describe(primals)}: "
                                         f"{exc}") from exc
                    if type(out) is not np.ndarray:
                        out = np.asarray(out)
                    full = (directions, *out.shape)
                    if type(tangent) is not np.ndarray or tangent.shape != full:
                        tangent = fitted(self.name, self.elementwise, tangent, full, "its jvp")
                    return Variable._make(out, tangent, tag)
        # The hot path: find the innermost differentiation among the arguments, checking on
        # the way that each is something NumPy can compute with.
        tag = -1
        box = None
        for a in args:
            ta = type(a)
            if ta is np.ndarray:
                if a.dtype.kind != "f":  # booleans and integers become floats in _checked
                    return self(*_checked(self.name, args), **params)
            elif ta is Variable:
                if a.tag > tag and a._tangent is not None:
                    tag = a.tag
            elif ta in _BOXES:
                box = ta
            elif ta not in PLAIN_SCALARS:
                return self(*_checked(self.name, args), **params)
        if tag >= 0:
            return apply(self, tag, args, params)
        if box is not None and not any(type(a) is Variable for a in args):
            return _BOXES[box](self, args, params)
        for a in args:
            if type(a) is Variable:
                # Variables in, a Variable out, even a constant one: the blog reads `.value`
                # of results built from `Variable(x, 0)` alone.
                out = self(*[b.value if type(b) is Variable else b for b in args], **params)
                return out if type(out) is Variable else Variable._make(out, None, 0)
        return evaluate(self, args, params)


def _checked(name: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
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
            a = as_real(a, f"{name} (argument {i}, with {describe(args)})")
            if a.dtype.kind == "f":
                floats.append(a.dtype)
        out.append(a)
    for i, a in enumerate(out):
        if type(a) is np.ndarray and a.dtype.kind != "f":
            dtype = np.result_type(a.dtype, *floats) if floats else a.dtype
            out[i] = a.astype(dtype if dtype.kind == "f" else np.float64)
    return tuple(out)
