"""Products and norms of vectors, matrices and tensors: matmul, dot, einsum, norm.

Each rule is the product itself with one factor replaced by its tangent, the direction axis
carried in front. Convention: the 2-norm has slope 0 where it is 0 (the zero vector), as abs
has at 0.
"""

from __future__ import annotations

import functools
import string
from typing import Any

from .._core import Primitive, Specialisations, align
from . import _numpy as np  # NumPy bound at import: see _numpy
from .elementwise import _nonzero
from .reductions import _add_up, tangent_axes

# every rule here treats the direction axis as a batch axis: it may run on compact tangents
_ON_ROWS = Specialisations(rows=True)


def _to_front(a: Any, axis: int) -> Any:
    """Move axis `axis` of `a` to the front."""
    if axis == 0:
        return a
    return a.transpose((axis, *range(axis), *range(axis + 1, a.ndim)))


# ---- matmul: NumPy's @, batched over leading axes -----------------------------------------------

def _matmul_left(t: Any, out: Any, x: Any, y: Any) -> Any:
    if x.ndim == 1:
        if y.ndim <= 2:
            return t @ y  # (T, k) @ (k, m) -> (T, m); (T, k) @ (k,) -> (T,)
        # (T, 1.., 1, k) @ (B.., k, m) -> (T, B.., 1, m): drop the row axis
        t = t.reshape((t.shape[0],) + (1,) * (y.ndim - 1) + (t.shape[1],))
        r = t @ y
        return r.reshape(r.shape[:-2] + r.shape[-1:])
    return _align_batch(t, x, y) @ y


def _matmul_right(t: Any, out: Any, x: Any, y: Any) -> Any:
    if y.ndim == 1:
        # x (.., n, k) @ (k, T) -> (.., n, T) -> (T, .., n)
        r = x @ t.T
        return _to_front(r, r.ndim - 1)
    return x @ _align_batch(t, y, x)


def _align_batch(t: Any, a: Any, other: Any) -> Any:
    # the direction axis must sit in front of every batch axis of the product
    missing = max(other.ndim - a.ndim, 0)
    if missing == 0:
        return t
    return t.reshape(t.shape[:1] + (1,) * missing + t.shape[1:])


matmul = Primitive("matmul", np.matmul, _matmul_left, _matmul_right, special=_ON_ROWS)


# ---- dot: NumPy's dot, for arrays of any rank ---------------------------------------------------

def _dot_left(t: Any, out: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0:  # a scalar times b
        return align(t, out.ndim) * b
    # dot contracts the last axis of t (T, .., k) with b: (T, ..) + b's other axes, in order
    return np.dot(t, b)


def _dot_right(t: Any, out: Any, a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:  # a product with a scalar (a Python number, maybe)
        return align(t, out.ndim) * a
    if b.ndim == 1:  # (.., k) . (k, T) -> (.., T)
        r = np.dot(a, t.T)
        return _to_front(r, r.ndim - 1)
    # (.., k) . (T, B.., k, m) -> (.., T, B.., m): the direction axis lands after a's axes
    return _to_front(np.dot(a, t), a.ndim - 1)


dot = Primitive("dot", np.dot, _dot_left, _dot_right, special=_ON_ROWS)


# ---- einsum: any contraction, written in Einstein's subscripts ----------------------------------

@functools.lru_cache(maxsize=256)
def _tangent_subscripts(subscripts: str) -> tuple[tuple[str, ...], str, str]:
    """The operands' subscripts, the explicit output subscript, and a letter free for the
    direction axis."""
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        inputs, output = spec.split("->")
    else:  # NumPy's implicit output: the letters used once, in order, after any broadcast axes
        inputs = spec
        letters = inputs.replace("...", "").replace(",", "")
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    free = [c for c in string.ascii_letters if c not in spec]
    if not free:
        raise NotImplementedError(
            f"einsum {subscripts!r} uses all 52 letters, leaving none for the direction axis of "
            "its tangent; split the contraction in two")
    return tuple(inputs.split(",")), output, free[0]


def _contract(*operands: Any, subscripts: str, optimize: Any = False) -> Any:
    return np.einsum(subscripts, *operands, optimize=optimize)


def _contract_tangent(tangents: Any, out: Any, *operands: Any, subscripts: str,
                      optimize: Any = False) -> Any:
    # operand i's contribution: the same contraction with its tangent in its place, the
    # direction axis a fresh letter d in front of its subscripts and of the output's
    inputs, output, d = _tangent_subscripts(subscripts)
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        spec = ",".join(d + s if j == i else s for j, s in enumerate(inputs)) + "->" + d + output
        c = contract(*operands[:i], t, *operands[i + 1:], subscripts=spec,
                     optimize=optimize if isinstance(optimize, (bool, str)) else "greedy")
        total = c if total is None else total + c
    return total


# contract(*operands, subscripts=...) is np.einsum(subscripts, *operands) as a primitive, whose
# arguments must all be arrays; `einsum` below takes NumPy's argument order
contract: Primitive = Primitive("einsum", _contract, joint=_contract_tangent, special=_ON_ROWS)


def einsum(subscripts: str, *operands: Any, optimize: Any = False) -> Any:
    """NumPy's einsum, differentiable in every operand: explicit ('->') and implicit output,
    repeated letters (traces, diagonals) and '...' broadcasting.

    Example:
        >>> import numpy as np, dualgrad as dg
        >>> a = dg.Variable(np.array([[1.0, 2.0], [3.0, 4.0]]), np.eye(2))
        >>> print(dg.einsum("ii", a).grad)  # d trace(a) along the identity
        2.0
    """
    if not isinstance(subscripts, str):  # the interleaved form: einsum(a, [0, 1], b, [1])
        subscripts, operands = _interleaved(subscripts, *operands)
    return contract(*operands, subscripts=subscripts, optimize=optimize)


def _interleaved(*args: Any) -> tuple[str, tuple[Any, ...]]:
    """einsum(op0, sublist0, op1, sublist1, ..., [sublistout]) as a subscripts string and the
    operands; axis labels 0..51 stand for NumPy's letters A..Z, a..z."""
    def letters(sublist: Any) -> str:
        out = []
        for label in sublist:
            if label is Ellipsis:
                out.append("...")
                continue
            k = int(label)
            if not 0 <= k < 52 or k != label:
                raise ValueError(f"einsum: subscript labels in the interleaved form must be "
                                 f"ints in [0, 52) or Ellipsis, got {label!r}")
            out.append(string.ascii_uppercase[k] if k < 26 else string.ascii_lowercase[k - 26])
        return "".join(out)

    operands, inputs = args[0::2], [letters(s) for s in args[1::2]]
    if len(args) % 2:  # an output sublist at the end
        operands, output = operands[:-1], "->" + letters(args[-1])
    else:
        output = ""
    if len(inputs) != len(operands):
        raise ValueError("einsum's interleaved form alternates operands and their sublists")
    return ",".join(inputs) + output, tuple(operands)


# ---- the 2-norm: of vectors along an axis, Frobenius over several -------------------------------

def _norm(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


# norm(x) = sqrt(sum(x^2)): slope x / norm(x), taken as 0 at the zero vector
norm = Primitive(
    "norm", _norm,
    lambda t, out, x, axis=None, keepdims=False:
        _add_up(t * x, tangent_axes(axis, x.ndim), keepdims) / _nonzero(out), special=_ON_ROWS)

# einsum is not listed: it is the NumPy-style front of the primitive `contract`
PRIMITIVES = (matmul, dot, contract, norm)
