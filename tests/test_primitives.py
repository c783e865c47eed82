"""Registry-driven checks of every built-in primitive against central finite differences.

The tests are parametrised over the registry, not over SPECS: a primitive registered without a
checking spec fails the suite. Each spec draws arguments on the primitive's own domain (away
from kinks and poles) over scalar, vector, matrix and broadcast shapes.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import Variable
from dualgrad._registry import registry

# ---- how a case is drawn ------------------------------------------------------------------------


@attrs.frozen
class Case:
    """One call of a primitive: its positional arguments, static params, differentiable args."""

    args: tuple[Any, ...]
    params: dict[str, Any]
    diff: tuple[int, ...]

    def label(self) -> str:
        shapes = ", ".join(str(np.shape(a)) for a in self.args)
        return f"args of shapes {shapes}, params {self.params}"


Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]
Spec = Callable[[np.random.Generator], list[Case]]


def uniform(lo: float, hi: float) -> Sampler:
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def away_from_zero(lo: float = 0.2, hi: float = 2.0) -> Sampler:
    """Either sign, magnitude in [lo, hi]: keeps clear of kinks and poles at 0."""
    return lambda rng, shape: rng.choice([-1.0, 1.0], shape) * rng.uniform(lo, hi, shape)


def _redraw(draw: Callable[[], tuple[Any, ...]],
            accept: Callable[..., bool] | None) -> tuple[Any, ...]:
    for _ in range(10_000):
        args = draw()
        if accept is None or accept(*args):
            return args
    raise AssertionError("the spec could not draw arguments on its domain")


UNARY_SHAPES: list[tuple[int, ...]] = [(), (3,), (2, 3)]
BINARY_SHAPES: list[tuple[tuple[int, ...], tuple[int, ...]]] = [
    ((), ()), ((3,), (3,)), ((2, 3), (2, 3)),
    ((3,), (2, 3)), ((2, 3), (3,)), ((), (2, 3)), ((2, 3), ()), ((2, 1), (1, 3)),
]


def unary(sample: Sampler, diff: bool = True) -> Spec:
    def cases(rng: np.random.Generator) -> list[Case]:
        return [Case((sample(rng, s),), {}, (0,) if diff else ()) for s in UNARY_SHAPES]
    return cases


def binary(sample_x: Sampler, sample_y: Sampler,
           accept: Callable[..., bool] | None = None) -> Spec:
    def cases(rng: np.random.Generator) -> list[Case]:
        return [Case(_redraw(lambda sx=sx, sy=sy: (sample_x(rng, sx), sample_y(rng, sy)),
                             accept), {}, (0, 1))
                for sx, sy in BINARY_SHAPES]
    return cases


def no_ties(x: np.ndarray, y: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.subtract(x, y)) > 0.1))


def between_integers(lo: int = -3, hi: int = 3) -> Sampler:
    """An integer plus a fraction in [0.1, 0.9]: clear of floor's and ceil's jumps."""
    return lambda rng, shape: rng.integers(lo, hi, shape) + rng.uniform(0.1, 0.9, shape)


def near_grid(step: float) -> Sampler:
    """Within 0.3 steps of a multiple of `step`: clear of round's jumps, half a step away."""
    return lambda rng, shape: (rng.integers(-20, 21, shape) + rng.uniform(-0.3, 0.3, shape)) * step


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Entries at least 0.15 apart: no two tie for a maximum or minimum."""
    size = int(np.prod(shape))
    spread = (rng.permutation(size) - size / 2) * 0.25 + rng.uniform(-0.05, 0.05, size)
    return spread.reshape(shape)


def with_zeros(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform in [-2, 2] with about a third of the entries exactly 0 (prod's hard case)."""
    x = rng.uniform(-2.0, 2.0, shape)
    return np.where(rng.uniform(size=shape) < 0.35, 0.0, x)


def round_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [((), {}), ((3,), {"decimals": 0}), ((2, 3), {"decimals": 1}),
              ((2, 3), {"decimals": 2}), ((3,), {"decimals": -1})]
    return [Case((near_grid(10.0 ** -params.get("decimals", 0))(rng, shape),), params, (0,))
            for shape, params in shapes]


def arrays(shapes_and_params: Sequence[tuple[Any, dict[str, Any]]],
           sample: Sampler | None = None) -> Spec:
    """One array argument (or several, when the shape entry is a list) with static params."""
    def cases(rng: np.random.Generator) -> list[Case]:
        out = []
        for shapes, params in shapes_and_params:
            shapes = shapes if isinstance(shapes, list) else [shapes]
            args = tuple((sample or uniform(-2.0, 2.0))(rng, s) for s in shapes)
            out.append(Case(args, params, tuple(range(len(args)))))
        return out
    return cases


def clip_cases(rng: np.random.Generator) -> list[Case]:
    def far_from_kinks(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
        return bool(np.all(np.abs(x - lo) > 0.1) and np.all(np.abs(x - hi) > 0.1))

    shapes = [((), (), ()), ((7,), (), ()), ((2, 3), (2, 3), (2, 3)),
              ((2, 3), (3,), (2, 1)), ((3,), (2, 1), ())]
    return [Case(_redraw(lambda sx=sx, slo=slo, shi=shi: (
                             rng.uniform(-2, 2, sx), rng.uniform(-1, -0.2, slo),
                             rng.uniform(0.2, 1, shi)), far_from_kinks), {}, (0, 1, 2))
            for sx, slo, shi in shapes]


def where_cases(rng: np.random.Generator) -> list[Case]:
    def condition(shape: tuple[int, ...]) -> np.ndarray:
        # a fixed pattern with both branches taken wherever there are two elements
        return (np.arange(int(np.prod(shape))) % 2 == 0).reshape(shape)

    shapes = [((), (), ()), ((3,), (3,), (3,)), ((2, 3), (2, 3), (2, 3)),
              ((3,), (2, 3), ()), ((2, 3), (3,), (2, 1))]
    return [Case((condition(sc), rng.normal(size=sx), rng.normal(size=sy)), {}, (1, 2))
            for sc, sx, sy in shapes]


MATMUL_SHAPES = [
    ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)),
    ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 2)), ((2, 2, 3), (2, 3, 2)), ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)), ((2, 1, 2, 3), (3, 3, 2)),
]

# (prediction, target) shapes of the fused losses, which average over every element
LOSS_SHAPES = [((), ()), ((3,), (3,)), ((4, 2), (4, 2)), ((4, 2), (2,)), ((4, 1), (4, 3)),
               ((2, 3), ())]

AXES = [
    ((), {}), ((), {"axis": None}), ((4,), {}), ((4,), {"axis": 0}), ((4,), {"axis": -1}),
    ((2, 3), {}), ((2, 3), {"axis": 0}), ((2, 3), {"axis": 1}), ((2, 3), {"axis": -1}),
    ((2, 3), {"axis": (0, 1)}), ((2, 3), {"axis": (-1, 0)}), ((2, 3, 4), {"axis": (0, 2)}),
    ((2, 3), {"axis": 1, "keepdims": True}), ((2, 3), {"keepdims": True}),
    ((2, 3, 4), {"axis": -2, "keepdims": True}),
]

SOFTMAX_AXES = [
    ((), {"axis": None}), ((4,), {}), ((4,), {"axis": 0}), ((2, 3), {}), ((2, 3), {"axis": 0}),
    ((2, 3), {"axis": None}), ((2, 3, 4), {"axis": (0, 2)}), ((2, 3, 4), {"axis": -2}),
]

# every rank NumPy's dot distinguishes: scalars, inner products, matrix products, and N-D . M-D
DOT_SHAPES = [
    ((), ()), ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)),
    ((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 2, 3), (3, 4)),
    ((2, 3), (2, 3, 4)), ((2, 2, 3), (2, 3, 2)),
]

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("i,i", [(3,), (3,)]),
    ("i,i->", [(3,), (3,)]), ("i,j->ij", [(2,), (3,)]), ("ij->ji", [(2, 3)]), ("ij", [(2, 3)]),
    ("ji", [(2, 3)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("...i,...i->...", [(2, 3), (3,)]), ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),
    ("i...,i...->...", [(3, 2), (3, 2)]), ("Ab,bC->CA", [(2, 3), (3, 2)]),
    (" ij , j -> i ", [(2, 3), (3,)]), ("ij,ij->ij", [(2, 3), (2, 3)]), ("i,->i", [(3,), ()]),
]

def whole_quotients_apart(x: np.ndarray, y: np.ndarray) -> bool:
    """x / y at least 0.1 from a whole number: clear of remainder's and fmod's jumps."""
    q = np.abs(np.divide(x, y))
    return bool(np.all(np.abs(q - np.round(q)) > 0.1))


def heaviside_cases(rng: np.random.Generator) -> list[Case]:
    """heaviside differentiated in h0 (its value at 0), with x = 0 at every other entry."""
    def steps(shape: tuple[int, ...]) -> np.ndarray:
        x = away_from_zero()(rng, shape)
        return np.where(np.arange(int(np.prod(shape))).reshape(shape) % 2 == 0, 0.0, x)

    return [Case((steps(sx), rng.uniform(-2, 2, sh)), {}, (1,))
            for sx, sh in BINARY_SHAPES]


def conditioned(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Square matrices near a multiple of the identity (well conditioned), either sign of det."""
    n = shape[-1]
    flips = np.diag(rng.choice([-1.0, 1.0], n))
    return rng.uniform(-1, 1, shape) + 2.0 * n * flips


def symmetric(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Positive definite matrices with eigenvalues 1, 2, ..., n (well apart), rotated."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.normal(size=shape))
    return q @ (np.arange(1.0, n + 1)[:, None] * np.swapaxes(q, -1, -2))


def separated(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Matrices whose singular values are 1, 2, ... (well apart and away from 0)."""
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(rng.normal(size=(*shape[:-2], m, k)))
    v, _ = np.linalg.qr(rng.normal(size=(*shape[:-2], n, k)))
    return (u * np.arange(1.0, k + 1)[..., None, :]) @ np.swapaxes(v, -1, -2)


def matrices(shapes: Sequence[Any], sample: Sampler) -> Spec:
    """Cases of matrix arguments drawn by `sample` (plain uniform for vectors)."""
    def cases(rng: np.random.Generator) -> list[Case]:
        out = []
        for entry in shapes:
            entry = entry if isinstance(entry, list) else [entry]
            args = tuple(sample(rng, s) if (len(s) >= 2 and s[-1] == s[-2]) or sample is separated
                         else rng.uniform(-2, 2, s) for s in entry)
            out.append(Case(args, {}, tuple(range(len(args)))))
        return out
    return cases


SPECS: dict[str, Spec] = {
    "add": binary(uniform(-2, 2), uniform(-2, 2)),
    "subtract": binary(uniform(-2, 2), uniform(-2, 2)),
    "multiply": binary(uniform(-2, 2), uniform(-2, 2)),
    "divide": binary(uniform(-2, 2), away_from_zero(0.5, 2.0)),
    "power": binary(uniform(0.5, 2.0), uniform(-2, 2)),
    "negative": unary(uniform(-2, 2)),
    "matmul": arrays([(list(s), {}) for s in MATMUL_SHAPES]),
    "exp": unary(uniform(-2, 2)),
    "log": unary(uniform(0.2, 3.0)),
    "sqrt": unary(uniform(0.2, 3.0)),
    "square": unary(uniform(-2, 2)),
    "sigmoid": unary(uniform(-4, 4)),
    "tanh": unary(uniform(-2, 2)),
    "relu": unary(away_from_zero()),
    "softplus": unary(uniform(-4, 4)),
    "log_sigmoid": unary(uniform(-4, 4)),
    "sign": unary(away_from_zero()),
    "abs": unary(away_from_zero()),
    "maximum": binary(uniform(-2, 2), uniform(-2, 2), accept=no_ties),
    "minimum": binary(uniform(-2, 2), uniform(-2, 2), accept=no_ties),
    "clip": clip_cases,
    "where": where_cases,
    "sum": arrays(AXES),
    "mean": arrays(AXES),
    "reshape": arrays([
        ((6,), {"shape": (2, 3)}), ((2, 3), {"shape": (3, 2)}), ((2, 3), {"shape": (6,)}),
        ((), {"shape": (1, 1)}), ((1,), {"shape": ()}), ((2, 3), {"shape": (-1,)}),
        ((2, 3, 2), {"shape": (3, -1)}),
    ]),
    "transpose": arrays([
        ((), {}), ((3,), {}), ((2, 3), {}), ((2, 3), {"axes": (1, 0)}),
        ((2, 3, 4), {}), ((2, 3, 4), {"axes": (2, 0, 1)}), ((2, 3, 4), {"axes": (-1, 0, 1)}),
    ]),
    "getitem": arrays([
        ((5,), {"index": 2}), ((5,), {"index": -1}), ((5,), {"index": slice(1, 4)}),
        ((5,), {"index": slice(None, None, -2)}), ((2, 3), {"index": 1}),
        ((2, 3), {"index": (1, slice(0, 2))}), ((2, 3), {"index": (Ellipsis, 1)}),
        ((2, 3), {"index": (None, 0)}), ((4,), {"index": np.array([0, 2, 2])}),
        ((3,), {"index": [2, 0]}),
        ((2, 3), {"index": (np.array([0, 1, 1]), np.array([2, 0, 2]))}),
        ((2, 3), {"index": np.array([[True, False, True], [False, True, True]])}),
        ((2, 3), {"index": np.array([True, False])}),
        ((2, 3), {"index": (slice(None), np.array([False, True, True]))}),
        # advanced indices apart: NumPy puts their broadcast axes first
        ((2, 3, 4), {"index": ([0, 1], slice(None), [0, 1])}),
        ((2, 3, 4), {"index": (0, slice(None), [1, 2])}),
        ((2, 3, 4), {"index": (np.array([[1], [0]]), Ellipsis, np.array([3, 0, 2]))}),
        ((2, 3, 4), {"index": (np.array([True, False]), slice(1, 3), np.array([0, 3]))}),
        ((2, 3, 4), {"index": (slice(None), [2, 0], None, [1, 1])}),
    ]),
    "broadcast_to": arrays([
        ((3,), {"shape": (3,)}), ((3,), {"shape": (2, 3)}), ((), {"shape": (2, 3)}),
        ((2, 1), {"shape": (2, 3)}), ((1, 3), {"shape": (4, 2, 3)}),
    ]),
    "concatenate": arrays([
        ([(3,)], {}), ([(2,), (3,)], {}), ([(2,), (3,)], {"axis": 0}),
        ([(2, 3), (2, 1)], {"axis": 1}), ([(2, 3), (1, 3), (2, 3)], {"axis": 0}),
        ([(2, 3), (2, 2)], {"axis": -1}), ([(2, 2), (3,)], {"axis": None}),
    ]),
    "stack": arrays([
        ([(), ()], {}), ([(3,), (3,)], {"axis": 0}), ([(3,), (3,), (3,)], {"axis": 1}),
        ([(2, 3), (2, 3)], {"axis": -1}), ([(2, 3), (2, 3)], {"axis": 1}),
    ]),
    "affine": arrays([
        ([(3,), (3, 2), (2,)], {}), ([(4, 3), (3, 2), (2,)], {}),
        ([(2, 4, 3), (3, 2), (2,)], {}), ([(4, 3), (3, 2), (4, 2)], {}),
        ([(4, 3), (3, 2), ()], {}), ([(4, 3), (3, 1), (1,)], {}),
    ]),
    "mean_squared_error": arrays([(list(s), {}) for s in LOSS_SHAPES]),
    "sigmoid_cross_entropy": arrays([(list(s), {}) for s in LOSS_SHAPES],
                                    sample=uniform(-4.0, 4.0)),
    # exponentials, logarithms, powers and roots
    "expm1": unary(uniform(-2, 2)),
    "log1p": unary(uniform(-0.8, 3.0)),
    "log2": unary(uniform(0.2, 3.0)),
    "log10": unary(uniform(0.2, 3.0)),
    "cbrt": unary(away_from_zero(0.3, 3.0)),
    "reciprocal": unary(away_from_zero(0.5, 2.0)),
    # piecewise constant, away from their jumps
    "floor": unary(between_integers()),
    "trunc": unary(between_integers()),
    "ceil": unary(between_integers()),
    "round": round_cases,
    # trigonometric and hyperbolic, inside their domains and away from tan's poles
    "sin": unary(uniform(-3, 3)),
    "cos": unary(uniform(-3, 3)),
    "tan": unary(uniform(-1.3, 1.3)),
    "arcsin": unary(uniform(-0.9, 0.9)),
    "arccos": unary(uniform(-0.9, 0.9)),
    "arctan": unary(uniform(-3, 3)),
    "sinh": unary(uniform(-2, 2)),
    "cosh": unary(uniform(-2, 2)),
    "arcsinh": unary(uniform(-3, 3)),
    "arccosh": unary(uniform(1.2, 3.0)),
    "arctanh": unary(uniform(-0.9, 0.9)),
    "hypot": binary(away_from_zero(), uniform(-2, 2)),
    # arctan2(y, x) jumps by 2 pi across y = 0 where x < 0: y keeps clear of 0
    "arctan2": binary(away_from_zero(), uniform(-2, 2)),
    # more exponentials, angles, remainders and the NaN-skipping extremes
    "exp2": unary(uniform(-2, 2)),
    "logaddexp": binary(uniform(-3, 3), uniform(-3, 3)),
    "logaddexp2": binary(uniform(-3, 3), uniform(-3, 3)),
    "deg2rad": unary(uniform(-200, 200)),
    "rad2deg": unary(uniform(-3, 3)),
    "sinc": unary(uniform(-2.5, 2.5)),
    "remainder": binary(uniform(-3, 3), away_from_zero(0.5, 2.0), accept=whole_quotients_apart),
    "fmod": binary(uniform(-3, 3), away_from_zero(0.5, 2.0), accept=whole_quotients_apart),
    "fmax": binary(uniform(-2, 2), uniform(-2, 2), accept=no_ties),
    "fmin": binary(uniform(-2, 2), uniform(-2, 2), accept=no_ties),
    "heaviside": heaviside_cases,
    "astype": arrays([(s, {"dtype": np.dtype(np.float64)}) for s in UNARY_SHAPES]),
    # dense linear algebra, on well-conditioned matrices
    "inv": matrices([(1, 1), (3, 3), (2, 2, 2)], conditioned),
    "solve": matrices([[(3, 3), (3,)], [(3, 3), (3, 2)], [(2, 3, 3), (2, 3, 1)],
                       [(2, 2, 2), (2,)]], conditioned),
    "det": matrices([(1, 1), (3, 3), (2, 2, 2)], conditioned),
    "logabsdet": matrices([(1, 1), (3, 3), (2, 2, 2)], conditioned),
    "cholesky": matrices([(1, 1), (3, 3), (2, 2, 2)], symmetric),
    "eigvalsh": matrices([(1, 1), (3, 3), (2, 2, 2)], symmetric),
    "eigh": matrices([(1, 1), (3, 3), (2, 2, 2)], symmetric),
    "svd": matrices([(3, 3), (4, 2), (2, 4), (2, 3, 2)], separated),
    "svdvals": matrices([(3, 3), (4, 2), (2, 4), (2, 3, 2)], separated),
    "qr": matrices([(3, 3), (4, 2), (2, 3, 2)], separated),
    "pinv": matrices([(3, 3), (4, 2), (2, 4), (2, 3, 2)], separated),
    # reductions
    "prod": arrays(AXES, sample=with_zeros),
    "max": arrays(AXES, sample=distinct),
    "min": arrays(AXES, sample=distinct),
    "var": arrays([*AXES, ((4,), {"ddof": 1}), ((2, 3), {"axis": 1, "ddof": 1}),
                   ((2, 3, 4), {"axis": (0, 2), "ddof": 2, "keepdims": True})]),
    "std": arrays([*AXES, ((4,), {"ddof": 1}), ((2, 3), {"axis": 1, "ddof": 1}),
                   ((2, 3, 4), {"axis": (0, 2), "ddof": 2, "keepdims": True})]),
    "cumsum": arrays([
        ((), {}), ((4,), {}), ((4,), {"axis": 0}), ((2, 3), {}), ((2, 3), {"axis": 0}),
        ((2, 3), {"axis": -1}), ((2, 3, 4), {"axis": 1}),
    ]),
    "logsumexp": arrays(AXES, sample=uniform(-3.0, 3.0)),
    "softmax": arrays(SOFTMAX_AXES, sample=uniform(-3.0, 3.0)),
    "log_softmax": arrays(SOFTMAX_AXES, sample=uniform(-3.0, 3.0)),
    # products and norms
    "dot": arrays([(list(s), {}) for s in DOT_SHAPES]),
    "einsum": arrays([(list(shapes), {"subscripts": spec}) for spec, shapes in EINSUM_CASES]),
    "norm": arrays(AXES),
    # shapes
    "squeeze": arrays([
        ((1,), {}), ((1, 3, 1), {}), ((1, 3, 1), {"axis": 0}), ((1, 3, 1), {"axis": (0, -1)}),
        ((2, 1), {"axis": 1}),
    ]),
    "expand_dims": arrays([
        ((), {"axis": 0}), ((3,), {"axis": 0}), ((2, 3), {"axis": -1}),
        ((2, 3), {"axis": (0, 3)}), ((2, 3), {"axis": 1}),
    ]),
}

BUILTIN_NAMES = sorted(e.name for e in registry().entries("primitive") if e.plugin == "builtin")


def spec_cases(name: str) -> list[Case]:
    """The cases of `name`'s spec, or a failure saying the spec is missing."""
    if name not in SPECS:
        pytest.fail(f"primitive {name!r} is registered but has no checking spec in "
                    "tests/test_primitives.py SPECS; add one that draws arguments on its domain")
    cases = SPECS[name](np.random.default_rng(zlib.crc32(name.encode())))
    assert cases, f"the spec of {name!r} draws no cases"
    return cases


def tangent_of(v: Variable, directions: int) -> Any:
    """v's tangent, zeros where v is a constant (the symbolic zero of floor or sign)."""
    return np.zeros((directions, *v.shape)) if v.tangent is None else v.tangent


def with_arg(args: Sequence[Any], i: int, value: Any) -> list[Any]:
    return [value if j == i else a for j, a in enumerate(args)]


def close(actual: Any, expected: Any, what: str, rtol: float = fd.RTOL,
          atol: float = fd.ATOL) -> None:
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


# ---- the registry and the specs agree -----------------------------------------------------------


def test_registry_has_the_issue_primitives() -> None:
    """The built-in plugin registers at least the primitives the issue names."""
    required = {"add", "subtract", "multiply", "divide", "power", "negative", "matmul", "log",
                "exp", "sigmoid", "tanh", "relu", "sqrt", "abs", "maximum", "sum", "mean",
                "clip", "reshape", "transpose", "getitem", "concatenate",
                # the breadth of the higher-order issue
                "expm1", "log1p", "log2", "log10", "cbrt", "square", "reciprocal", "sin", "cos",
                "tan", "arcsin", "arccos", "arctan", "arctan2", "sinh", "cosh", "arcsinh",
                "arccosh", "arctanh", "sign", "hypot", "minimum", "floor", "ceil", "round",
                "softplus", "log_sigmoid", "softmax", "log_softmax", "logsumexp", "dot", "einsum",
                "prod", "max", "min", "var", "std", "cumsum", "broadcast_to", "squeeze",
                "expand_dims", "stack", "where"}
    assert required <= set(BUILTIN_NAMES)


def test_no_spec_without_a_primitive() -> None:
    """Every spec belongs to a registered primitive, so a renamed primitive cannot hide."""
    assert set(SPECS) <= set(BUILTIN_NAMES), sorted(set(SPECS) - set(BUILTIN_NAMES))


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_registered_primitive_is_looked_up_by_name(name: str) -> None:
    """dualgrad.primitive(name) returns the very object the built-in plugin registered."""
    entry = next(e for e in registry().entries("primitive") if e.name == name)
    assert dg.primitive(name) is entry.obj
    assert isinstance(entry.obj, dg.Primitive)
    assert entry.obj.name == name


# ---- first derivatives --------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_tangent_matches_finite_differences(name: str) -> None:
    """Variable(x, d) through the primitive gives the directional derivative along d."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(1)
    for case in spec_cases(name):
        f = lambda *a, case=case: prim(*a, **case.params)  # noqa: E731
        plain = f(*case.args)
        assert type(plain) is np.ndarray, f"{name} on plain arrays returned {type(plain)}"
        for i in case.diff:
            d = rng.normal(size=np.shape(case.args[i]))
            out = f(*with_arg(case.args, i, Variable(case.args[i], d)))
            what = f"{name}, argument {i}, {case.label()}"
            assert isinstance(out, Variable), what
            close(out.value, plain, what + " (value)", rtol=0, atol=0)
            assert tangent_of(out, 1).shape == (1, *plain.shape), what
            expected = fd.directional(f, case.args, [d if j == i else None
                                                     for j in range(len(case.args))])
            close(tangent_of(out, 1)[0], expected, what)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_jvp_matches_finite_differences(name: str) -> None:
    """dualgrad.jvp of the primitive in one argument gives the directional derivative."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(2)
    for case in spec_cases(name):
        for i in case.diff:
            def f(xi: Any, case: Case = case, i: int = i) -> Any:
                return prim(*with_arg(case.args, i, xi), **case.params)

            d = rng.normal(size=np.shape(case.args[i]))
            out, tangent = dg.jvp(f, (case.args[i],), (d,))
            what = f"{name}, argument {i}, {case.label()}"
            close(out, f(case.args[i]), what + " (value)", rtol=0, atol=0)
            close(tangent, fd.directional(f, (case.args[i],), (d,)), what)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_jacobian_matches_finite_differences(name: str) -> None:
    """dualgrad.jacobian of the primitive is the FD Jacobian, shaped out.shape + in.shape."""
    prim = dg.primitive(name)
    for case in spec_cases(name):
        f = lambda *a, case=case: prim(*a, **case.params)  # noqa: E731
        for i in case.diff:
            jac = dg.jacobian(f, argnums=i)(*case.args)
            close(jac, fd.jacobian(f, case.args, i), f"{name}, argument {i}, {case.label()}")


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_all_arguments_at_once_with_three_directions(name: str) -> None:
    """T=3 tangents on every differentiable argument give three directional derivatives.

    Each direction matches finite differences along the joint direction and the result of a
    single-direction pass.
    """
    prim = dg.primitive(name)
    rng = np.random.default_rng(3)
    for case in spec_cases(name):
        if not case.diff:
            continue
        f = lambda *a, case=case: prim(*a, **case.params)  # noqa: E731
        dirs = {i: rng.normal(size=(3, *np.shape(case.args[i]))) for i in case.diff}
        many = f(*[Variable(a, dirs[i]) if i in dirs else a for i, a in enumerate(case.args)])
        what = f"{name}, {case.label()}"
        assert tangent_of(many, 3).shape == (3, *np.shape(f(*case.args))), what
        for k in range(3):
            single = f(*[Variable(a, dirs[i][k]) if i in dirs else a
                         for i, a in enumerate(case.args)])
            close(tangent_of(many, 3)[k], tangent_of(single, 1)[0],
                  f"{what}, direction {k} vs single pass", rtol=1e-12, atol=1e-12)
            joint = [dirs[i][k] if i in dirs else None for i in range(len(case.args))]
            close(tangent_of(many, 3)[k], fd.directional(f, case.args, joint),
                  f"{what}, direction {k}")


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_second_derivative_matches_finite_differences(name: str) -> None:
    """Nested jvp (rules run on Variables) gives the second derivative along two directions."""
    prim = dg.primitive(name)
    rng = np.random.default_rng(4)
    for case in spec_cases(name):
        for i in case.diff:
            def f(xi: Any, case: Case = case, i: int = i) -> Any:
                return prim(*with_arg(case.args, i, xi), **case.params)

            x = case.args[i]
            d1, d2 = rng.normal(size=np.shape(x)), rng.normal(size=np.shape(x))

            def first(xi: Any, d1: Any = d1, f: Any = f) -> Any:
                return dg.jvp(f, (xi,), (d1,))[1]

            _, second = dg.jvp(first, (x,), (d2,))
            close(second, fd.second_directional(f, (x,), (d1,), (d2,)),
                  f"{name}, argument {i}, {case.label()}", rtol=1e-5, atol=1e-6)


# ---- non-differentiable arguments ---------------------------------------------------------------


def test_where_condition_is_not_differentiable() -> None:
    """A tangent on where's condition raises NotImplementedError naming where and argument 0."""
    cond = Variable(np.array([1.0, 0.0]), np.ones(2))
    with pytest.raises(NotImplementedError, match=r"'where'.*argument 0"):
        dg.primitives.where(cond, np.ones(2), np.zeros(2))


def test_constant_arguments_give_plain_arrays() -> None:
    """On plain numbers and arrays a primitive returns a plain ndarray, no Variable."""
    out = dg.exp(np.array([0.0, 1.0]))
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, np.exp([0.0, 1.0]))
    assert type(dg.primitive("add")(1, 2)) is np.ndarray


# ---- documented conventions at kinks ------------------------------------------------------------


def test_abs_has_slope_zero_at_zero() -> None:
    """abs at 0 has slope 0 (and slope sign(x) elsewhere)."""
    out = dg.absolute(Variable(np.array([-2.0, 0.0, 3.0]), np.ones(3)))
    np.testing.assert_array_equal(out.grad, [-1.0, 0.0, 1.0])


def test_relu_has_slope_zero_at_zero() -> None:
    """relu at 0 has slope 0, slope 1 for x > 0 and 0 for x < 0."""
    out = dg.relu(Variable(np.array([-2.0, 0.0, 3.0]), np.ones(3)))
    np.testing.assert_array_equal(out.grad, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("op", [dg.maximum, dg.minimum])
def test_ties_split_the_tangent_evenly(op: dg.Primitive) -> None:
    """maximum/minimum at a tie give each argument half of its tangent."""
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 5.0])
    dx = op(Variable(x, np.ones(3)), y).grad
    dy = op(x, Variable(y, np.ones(3))).grad
    wins = [1.0, 1.0, 0.0] if op is dg.maximum else [1.0, 0.0, 1.0]
    np.testing.assert_array_equal(dx, [0.5, *wins[1:]])
    np.testing.assert_array_equal(dy, [0.5, *(1 - np.array(wins[1:]))])
    both = op(Variable(x, np.ones(3)), Variable(x, np.ones(3))).grad
    np.testing.assert_array_equal(both, np.ones(3))


def test_clip_passes_the_tangent_to_x_on_the_closed_interval() -> None:
    """clip gives x the tangent where lo <= x <= hi, lo where x < lo, hi where x > hi."""
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    assert_x = dg.clip(Variable(x, np.ones(5)), -1.0, 1.0).grad
    np.testing.assert_array_equal(assert_x, [0.0, 1.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(dg.clip(x, Variable(-1.0, 1.0), 1.0).grad,
                                  [1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dg.clip(x, -1.0, Variable(1.0, 1.0)).grad,
                                  [0.0, 0.0, 0.0, 0.0, 1.0])


def test_sign_has_zero_derivative() -> None:
    """sign is piecewise constant: its tangent is zero everywhere, including at 0."""
    out = dg.primitive("sign")(Variable(np.array([-2.0, 0.0, 3.0]), np.ones(3)))
    np.testing.assert_array_equal(out.grad, np.zeros(3))


def test_power_at_zero_base() -> None:
    """0**y has slope 0 in y (y > 0), and x**0 has slope 0 in x, with no NaN or warning."""
    power = dg.primitive("power")
    assert float(power(Variable(0.0, 1.0), 0.0).grad) == 0.0
    assert float(power(0.0, Variable(2.0, 1.0)).grad) == 0.0
    np.testing.assert_array_equal(power(Variable(np.zeros(2), np.ones(2)), np.zeros(2)).grad,
                                  [0.0, 0.0])
    assert float(power(Variable(0.0, 1.0), 2.0).grad) == 0.0
    assert float(power(Variable(0.0, 1.0), 1.0).grad) == 1.0


# ---- numerical stability ------------------------------------------------------------------------


@pytest.mark.parametrize("x", [-1000.0, -40.0, 40.0, 1000.0])
def test_sigmoid_is_stable_for_large_inputs(x: float) -> None:
    """sigmoid and its slope are finite, warning-free and accurate for large |x|."""
    out = dg.sigmoid(Variable(x, 1.0))
    expected = 1.0 / (1.0 + np.exp(np.float128(-x))) if hasattr(np, "float128") else None
    assert np.isfinite(out.value) and np.isfinite(out.grad)
    if expected is not None:
        np.testing.assert_allclose(float(out.value), float(expected), rtol=1e-12)
    if x == -40.0:
        np.testing.assert_allclose(float(out.value), np.exp(-40.0), rtol=1e-12)
        np.testing.assert_allclose(float(out.grad), np.exp(-40.0), rtol=1e-12)


@pytest.mark.parametrize(("name", "value", "slope"), [
    ("softplus", [0.0, 1000.0], [0.0, 1.0]),
    ("log_sigmoid", [-1000.0, 0.0], [1.0, 0.0]),
])
def test_softplus_family_is_stable_for_large_inputs(name: str, value: list[float],
                                                    slope: list[float]) -> None:
    """softplus and log_sigmoid do not overflow at |x| = 1000: exact tails, slopes 0 and 1."""
    out = dg.primitive(name)(Variable(np.array([-1000.0, 1000.0]), np.ones(2)))
    np.testing.assert_allclose(out.value, value, atol=1e-300)
    np.testing.assert_allclose(out.grad, slope, atol=1e-300)
