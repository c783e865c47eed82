"""What a rule gives back: a contribution to the output tangent, checked where it is summed.

A rule, a joint rule or a specialisation must give a float array (or, for higher derivatives,
a Variable) of shape ``(T, *out.shape)``, T directions first; an elementwise primitive's may
keep length 1 on any axis after T. Anything else is a `ShapeError` or `DualgradTypeError`
naming the primitive and the argument, never broadcast in silence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._errors import DualgradTypeError, ShapeError
from ._seams import _BOXES, ops
from ._variable import Variable, type_name

__all__ = ["Rule", "align", "check_contribution", "describe", "fitted", "mixed_directions",
           "no_rule", "zero_rule"]

Rule = Callable[..., Any]


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


def zero_rule(t: Any, out: Any, *args: Any, **params: Any) -> Any:
    """The rule of an argument whose derivative is zero everywhere (floor, sign).

    The engine never calls it: such an argument contributes nothing (a symbolic zero), so a
    primitive whose arguments all have this rule gives a constant, and an infinite tangent
    coming in never meets a factor 0. Called by hand it returns zeros of t's shape.
    """
    return np.zeros(t.shape, dtype=t.dtype)


def describe(args: Sequence[Any]) -> str:
    parts = []
    for a in args:
        if isinstance(a, (np.ndarray, Variable)):
            parts.append(f"{type(a).__name__} of shape {tuple(a.shape)}")
        else:
            parts.append(type_name(a))
    return ", ".join(parts)


def no_rule(name: str, i: int) -> NotImplementedError:
    return NotImplementedError(
        f"primitive {name!r} has no derivative rule for argument {i}; "
        "differentiate with respect to another argument, or register a rule"
    )


def check_contribution(name: str, which: str, c: Any, full: tuple[int, ...],
                       elementwise: bool) -> None:
    """Raise unless `c` is a well-formed contribution to a tangent of shape `full`, ``(T,
    *out.shape)`` (see `Primitive`). `which` says whose it is ("the rule for argument 0")."""
    shape: tuple[int, ...] = ()  # a number's: a contribution with no axes at all
    array: Any = c  # (isinstance below would narrow c to object, for want of the box types)
    if isinstance(c, (np.ndarray, Variable, *_BOXES)):
        shape = tuple(array.shape)
        if shape == full or (
                elementwise and len(shape) == len(full) and shape[0] == full[0]
                and all(n == 1 or n == m for n, m in zip(shape[1:], full[1:]))):
            if array.dtype.kind == "f":
                return
            raise DualgradTypeError(
                f"primitive {name!r}: {which} returned an array of dtype {array.dtype}; expected "
                f"floats of shape {shape_text(full)}: {FIX}")
    why = (f"the direction axis T={full[0]} first, then the output's shape {full[1:]}"
           + ("; an elementwise rule may leave axes after T at length 1"
              if elementwise else ""))
    if not isinstance(c, (np.ndarray, Variable, *_BOXES, float, int, np.number)) \
            or isinstance(c, bool):
        raise DualgradTypeError(
            f"primitive {name!r}: {which} returned "
            f"{'None' if c is None else 'a ' + type_name(c)}, not an array; expected a float "
            f"array of shape {shape_text(full)} ({why}): {FIX}")
    raise ShapeError(
        f"primitive {name!r}: {which} returned a contribution of shape {shape}; "
        f"expected {shape_text(full)} ({why}). A contribution without the direction axis "
        f"would be broadcast across the directions and give wrong derivatives: {FIX}")


FIX = "return the contribution of the tangent t, such as slope * t"


def shape_text(shape: tuple[int, ...]) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def mixed_directions(name: str, first: int, other: int) -> ShapeError:
    return ShapeError(
        f"{name}: the arguments carry tangents along different numbers of directions ({first} "
        f"and {other}); seed every input of one differentiation with the same number of "
        "directions"
    )

def fitted(name: str, elementwise: bool, tangent: Any, full: tuple[int, ...], which: str
           ) -> Any:
    """A whole output tangent from a joint rule or kernel, checked, and broadcast to `full`
    when the primitive is elementwise."""
    if type(tangent) is not np.ndarray or tangent.shape != full:
        check_contribution(name, which, tangent, full, elementwise)
        if tuple(tangent.shape) != full:
            tangent = (np.broadcast_to(tangent, full) if type(tangent) is np.ndarray
                       else ops.broadcast_to(tangent, shape=full))
    elif tangent.dtype.kind != "f":
        check_contribution(name, which, tangent, full, elementwise)
    return tangent
