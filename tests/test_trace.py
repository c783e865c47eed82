"""Recorded programs: record a function once, replay it on new arrays, fold what is fixed."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import DualgradError
from dualgrad._core import Variable, new_tag
from dualgrad._trace import TracingError, record


def _numpy_program(x, w, mask):
    # ufuncs, operators, methods, indexing, reductions, products, lists of arrays, masks
    h = np.tanh(x @ w) * 2.0 - 1.0
    g = np.where(mask, h, 0.5 * h)
    parts = np.concatenate([g[:, :1], np.exp(-g[:, 1:])], axis=1)
    s = parts.sum(axis=0) + np.mean(parts, axis=0) - parts.max(axis=0)
    return [s / (1.0 + abs(s)), parts.T.reshape(-1)[::2], (g > 0).astype(float)]


def test_a_replay_computes_what_the_function_computes_on_the_new_arrays():
    """A program recorded on some arrays gives, on new arrays of the same shapes, the function's
    own results on those arrays, exactly (the same NumPy calls in the same order)."""
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3, 4), (5, 4)]
    first = [rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=(5, 4)) > 0]
    program, out = record(_numpy_program, first)
    for a, b in zip(out, _numpy_program(*first)):
        np.testing.assert_array_equal(a, b)
    for _ in range(3):
        new = [rng.normal(size=shapes[0]), rng.normal(size=shapes[1]),
               rng.normal(size=shapes[2]) > 0]
        for a, b in zip(program.replay(*new), _numpy_program(*new)):
            np.testing.assert_array_equal(a, b)


def test_a_replayed_jvp_matches_finite_differences():
    """Primitives applied to recorded arrays (and Variables holding them) record the value and
    the rules' tangent; the replayed tangent matches central differences at new points."""
    def f(w, x):
        return dg.sum(dg.sigmoid(x * w) * dg.log1p(w * w)) + dg.exp(w[0]) * dg.softplus(w[1])

    def jvp_program(w, x):
        v = Variable._make(w, np.eye(3), new_tag())
        out = f(v, x)
        return [out.value, out.tangent]

    rng = np.random.default_rng(1)
    x = rng.normal(size=3)
    program, _ = record(jvp_program, [rng.normal(size=3), x])
    for _ in range(3):
        w = rng.normal(size=3)
        value, grad = program.replay(w, x)
        assert value == pytest.approx(float(f(w, x)), rel=1e-14)
        eps = 1e-6
        fd = [(float(f(w + eps * e, x)) - float(f(w - eps * e, x))) / (2 * eps)
              for e in np.eye(3)]
        np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-9)


def test_fixed_inputs_fold_into_results_kept_between_replays():
    """Equations that read only fixed inputs and constants are computed when recorded and not
    replayed; a replay runs only the rest, and still gives the function's results."""
    def f(x, w):
        features = np.exp(np.sin(x) * 3.0) @ np.ones((4, 4))  # data alone: folds
        return features @ w

    rng = np.random.default_rng(2)
    x = rng.normal(size=(6, 4))
    folded, _ = record(f, [x, rng.normal(size=(4, 2))], fixed=[True, False])
    plain, _ = record(f, [x, rng.normal(size=(4, 2))])
    assert folded.folded and folded.size == 1 and plain.size == 5
    assert folded.kept_bytes == 6 * 4 * 8
    w = rng.normal(size=(4, 2))
    np.testing.assert_array_equal(folded.replay(x, w)[0], f(x, w))
    np.testing.assert_array_equal(plain.replay(x, w)[0], f(x, w))


def test_folding_stays_within_its_budget():
    """A program whose folded results would pass its budget keeps none and replays every
    equation, with the same results."""
    def f(x, w):
        return [np.exp(x) @ w]

    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(50, 4)), rng.normal(size=(4, 2))
    program, _ = record(f, [x, w], fixed=[True, False], budget=50 * 4 * 8 - 1)
    assert not program.folded and program.kept_bytes == 0 and program.size == 2
    np.testing.assert_array_equal(program.replay(x, w)[0], np.exp(x) @ w)


def test_a_fixed_input_cannot_be_swapped_for_other_data():
    """A fixed input's folded results belong to that array: replaying with another array
    (even of the same shape) is a ShapeError that says to record again."""
    x = np.ones((3, 2))
    program, _ = record(lambda x, w: [np.exp(x) * w], [x, np.ones(2)], fixed=[True, False])
    with pytest.raises(dg.ShapeError, match="record it again"):
        program.replay(x.copy(), np.ones(2))


@pytest.mark.parametrize(("inputs", "word"), [
    ([np.ones(4)], "takes 2 inputs"),
    ([np.ones(5), np.ones(2)], "shape"),
    ([np.ones(4, dtype=np.float32), np.ones(2)], "dtype"),
    ([[1.0, 2.0, 3.0, 4.0], np.ones(2)], "list"),
])
def test_a_replay_refuses_inputs_unlike_the_recorded_ones(inputs, word):
    """Replaying on inputs of another number, shape, dtype or type is a ShapeError naming what
    differs, never a broadcast in silence."""
    program, _ = record(lambda a, b: [a.sum() * b], [np.ones(4), np.ones(2)])
    with pytest.raises(dg.ShapeError, match=word):
        program.replay(*inputs)


@pytest.mark.parametrize("f", [
    lambda x: x * 2 if x.sum() > 0 else x,
    lambda x: x * float(x[0]),
    lambda x: np.asarray(x) + 1,
    lambda x: x.tolist(),
    lambda x: x.__setitem__(0, 1.0),
    lambda x: np.exp(x, out=np.empty(3)),
    lambda x: np.ones(int(x[0])),
    lambda x: x[0].item(),
], ids=["if", "float", "asarray", "tolist", "setitem", "out", "int", "item"])
def test_python_that_reads_a_recorded_value_is_a_tracing_error(f):
    """A function whose Python reads a value it is recording (a branch, a conversion, a write
    into it) cannot be replayed: TracingError, a dualgrad TypeError that says to run eagerly."""
    with pytest.raises(TracingError, match="eagerly") as info:
        record(f, [np.ones(3)])
    assert isinstance(info.value, DualgradError) and isinstance(info.value, TypeError)


def test_only_the_equations_the_outputs_need_are_replayed():
    """Work whose result no output reads is recorded but never replayed."""
    def f(x):
        np.exp(x) * 3.0  # computed and dropped
        return [np.sin(x)]

    program, _ = record(f, [np.zeros(3)])
    assert program.size == 1


def test_shapes_read_by_python_are_static():
    """Reading a recorded array's shape, size or dtype is fine: they are the same on every
    replay of the program."""
    def f(x):
        n = x.shape[0] * np.size(x) + x.ndim + len(x)
        return [x * (1.0 / n) + np.zeros(x.shape, dtype=x.dtype)]

    program, _ = record(f, [np.ones(4)])
    np.testing.assert_array_equal(program.replay(np.full(4, 21.0))[0], np.full(4, 1.0))


def test_recordings_cannot_mix_arrays():
    """An array of one recording used inside another is a TracingError, not a program that
    silently reads a stale value."""
    leaked = []
    record(lambda x: leaked.append(x) or [x * 1.0], [np.ones(2)])
    with pytest.raises(TracingError, match="one at a time"):
        record(lambda y: [y + leaked[0]], [np.ones(2)])


def test_large_results_reuse_buffers_and_outputs_stay_the_callers():
    """Large intermediate results are written into buffers kept between replays; each replay
    is still right, and an output (even a view of such a result) is the caller's to keep: a
    later replay does not change it."""
    def f(x):
        big = np.exp(x) * 2.0  # 80 kB intermediate results: buffered
        return [big.reshape(-1)[:5], (big + 1.0).sum()]

    rng = np.random.default_rng(4)
    program, _ = record(f, [rng.normal(size=(100, 100))])
    assert program.buffer_bytes >= 2 * 80_000
    a, b = rng.normal(size=(100, 100)), rng.normal(size=(100, 100))
    first = program.replay(a)
    kept = [first[0].copy(), first[1]]
    second = program.replay(b)
    for got, want in ((first, f(a)), (second, f(b))):
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]
    np.testing.assert_array_equal(first[0], kept[0])


def test_an_output_is_never_a_buffer_of_the_program():
    """An output that is a large ufunc result passed through unchanged (np.atleast_1d) is
    not written into a buffer kept between replays: an earlier replay's output stays."""
    program, _ = record(lambda x: [np.atleast_1d(np.exp(x))], [np.linspace(0, 1, 10_000)])
    first, = program.replay(np.zeros(10_000))
    second, = program.replay(np.ones(10_000))
    assert first is not second
    np.testing.assert_array_equal(first, np.ones(10_000))


def test_programs_of_no_input_and_of_an_input_returned_unchanged():
    """A program with no inputs replays its constant result; one that returns its input
    returns the new input."""
    program, _ = record(lambda: [np.arange(3.0) * 2.0], [])
    np.testing.assert_array_equal(program.replay()[0], [0.0, 2.0, 4.0])
    program, _ = record(lambda x: [x, x + 1.0], [np.ones(2)])
    x = np.array([3.0, 4.0])
    same, plus = program.replay(x)
    assert same is x
    np.testing.assert_array_equal(plus, [4.0, 5.0])


def test_a_long_program_replays_as_a_loop_with_the_same_numbers(monkeypatch):
    """A program longer than what is written as Python source replays in a loop over its
    equations: the same outputs, constants, folded inputs and all."""
    from dualgrad import _replays

    def f(x, data):
        h = np.tanh(x @ data.T + 1.0)
        return [(h * h).sum(), h[0]]

    rng = np.random.default_rng(3)
    data, x = rng.normal(size=(5, 3)), rng.normal(size=(2, 3))
    program, _ = record(f, [x, data], fixed=[False, True])
    monkeypatch.setattr(_replays, "WRITTEN_UP_TO", 2)
    looped, _ = record(f, [x, data], fixed=[False, True])
    assert looped.size == program.size > 2
    for new in (rng.normal(size=(2, 3)), rng.normal(size=(2, 3))):
        for got, want in zip(looped.replay(new, data), f(new, data)):
            np.testing.assert_array_equal(got, want)
        for got, want in zip(looped.replay(new, data), program.replay(new, data)):
            np.testing.assert_array_equal(got, want)
