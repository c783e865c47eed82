"""grad, value_and_grad, jacobian and hessian under a memory budget: the passes they plan from
it, the memory they hold, the answers they refuse, and the budget's setting per call and
process-wide."""

from __future__ import annotations

import contextlib
import pickle
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import Variable

B = np.linspace(-1.0, 1.0, 100)


@pytest.fixture(autouse=True)
def default_budget() -> Iterator[None]:
    """Every test starts from the default budget and leaves it as it found it."""
    previous = dg.set_memory_budget(2**30)
    try:
        yield
    finally:
        dg.set_memory_budget(previous)


def recorder(f: Callable[..., Any]) -> tuple[Callable[..., Any], list[int]]:
    """`f`, and the list of the number of directions its argument carried at each call."""
    seen: list[int] = []

    def recorded(x: Any) -> Any:
        seen.append(x.num_directions if isinstance(x, Variable) else -1)
        return f(x)

    return recorded, seen


def sin_x(x: Any) -> Any:
    return dg.sum(dg.sin(x) * x)


def peak_bytes(call: Callable[[], Any]) -> int:
    """The most memory (NumPy arrays included) held at once during `call()`, beyond before.
    The plugins are loaded first: importing them (SciPy, say) is not the call's memory."""
    dg.plugins()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        with contextlib.suppress(dg.MemoryBudgetError):
            call()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


# ---- the answer alone larger than the budget ----------------------------------------------------


def test_a_jacobian_larger_than_the_budget_is_refused_at_once() -> None:
    """A Jacobian of 10^4 inputs and 10^6 outputs (80 GB) raises MemoryBudgetError naming its
    size and the way out, having held a few MiB and computed no tangent."""
    f, seen = recorder(lambda x: dg.reshape(x[:, None] * B, (-1,)))
    x = np.linspace(0.0, 1.0, 10_000)
    with pytest.raises(dg.MemoryBudgetError, match=r"80,000,000,000 bytes.*jvp") as info:
        dg.jacobian(f)(x)
    assert isinstance(info.value, MemoryError)
    assert (info.value.needed, info.value.budget) == (80_000_000_000, 2**30)
    assert seen == [-1]  # f ran once, recorded on plain arrays, to learn its output's size
    assert peak_bytes(lambda: dg.jacobian(f)(x)) < 64 * 2**20


def test_a_hessian_larger_than_the_budget_is_refused_before_f_runs() -> None:
    """A Hessian whose n x n answer exceeds the budget is refused without calling f."""
    f, seen = recorder(sin_x)
    with pytest.raises(dg.MemoryBudgetError, match=r"hessian of .*320,000 bytes.*grad"):
        dg.hessian(f, memory_budget=100_000)(np.ones(200))
    assert seen == []


def test_a_grad_larger_than_the_budget_is_refused() -> None:
    """A gradient of 50 numbers (400 bytes) under a 1-byte budget raises MemoryBudgetError."""
    f, seen = recorder(sin_x)
    with pytest.raises(dg.MemoryBudgetError, match="400 bytes"):
        dg.grad(f, memory_budget=1)(np.ones(50))
    assert seen == []


def test_an_explicit_chunk_size_still_refuses_a_huge_answer_before_any_pass() -> None:
    """With chunk_size, the recording of f tells the answer's size and no pass runs."""
    f, seen = recorder(lambda x: dg.reshape(x[:, None] * B, (-1,)))
    with pytest.raises(dg.MemoryBudgetError, match="jacobian"):
        dg.jacobian(f, chunk_size=2, memory_budget=10**6)(np.ones(100))
    assert seen == [-1]


def test_an_explicit_chunk_size_refuses_after_the_first_pass_of_a_function_not_recorded(
) -> None:
    """With chunk_size, a function whose Python reads its values (which is not recorded)
    tells the answer's size in its first pass, and the other passes never run."""
    def f(x: Any) -> Any:
        if float(dg.sum(x).primal()) > 0:  # Python reading a value: f runs eagerly
            return dg.reshape(x[:, None] * B, (-1,))
        return x

    f, seen = recorder(f)
    with pytest.raises(dg.MemoryBudgetError, match="jacobian"):
        dg.jacobian(f, chunk_size=2, memory_budget=10**6)(np.ones(100))
    assert seen == [-1, 2]


def test_memory_budget_error_keeps_its_sizes_through_pickle() -> None:
    """MemoryBudgetError is a MemoryError and a DualgradError that pickles with its sizes."""
    with pytest.raises(dg.MemoryBudgetError) as info:
        dg.grad(sin_x, memory_budget=8)(np.ones(2))
    copy = pickle.loads(pickle.dumps(info.value))
    assert isinstance(copy, dg.DualgradError) and isinstance(copy, MemoryError)
    assert (copy.needed, copy.budget, str(copy)) == (16, 8, str(info.value))


# ---- passes planned from the budget -------------------------------------------------------------


def test_grad_under_a_small_budget_runs_in_several_passes_with_the_same_numbers() -> None:
    """2,000 directions under a 2 MB budget go through f in several passes whose gradient is
    the one-pass gradient, number for number."""
    x = np.linspace(0.1, 1.0, 2000)
    f, seen = recorder(sin_x)
    g = dg.grad(f, mode="forward", memory_budget=2_000_000)(x)
    assert len(seen) > 5 and sum(seen) == 2000
    assert max(seen) * 2000 * 8 * 4 <= 2_000_000  # each pass's tangents fit
    np.testing.assert_array_equal(g, dg.grad(sin_x, chunk_size=2000)(x))
    np.testing.assert_allclose(g, np.cos(x) * x + np.sin(x), rtol=1e-14)


def test_a_small_problem_still_runs_in_one_pass() -> None:
    """Under the default budget, 100 directions go through f in one pass."""
    f, seen = recorder(sin_x)
    dg.grad(f, mode="forward")(np.ones(100))
    assert seen == [100]


def test_a_budget_the_size_of_the_answer_runs_one_direction_per_pass() -> None:
    """A budget that holds the answer and no more still works, one direction per pass."""
    f, seen = recorder(sin_x)
    x = np.linspace(0.1, 1.0, 50)
    g = dg.grad(f, mode="forward", memory_budget=50 * 8)(x)
    assert seen == [1] * 50
    np.testing.assert_array_equal(g, dg.grad(sin_x)(x))


@pytest.mark.parametrize(("transform", "n", "budget"), [
    (lambda b: dg.grad(sin_x, memory_budget=b), 3000, 4_000_000),
    (lambda b: dg.value_and_grad(sin_x, memory_budget=b), 3000, 4_000_000),
    (lambda b: dg.jacobian(lambda x: dg.sin(x) * x, memory_budget=b), 2000, 40_000_000),
    (lambda b: dg.hessian(lambda x: dg.sum(dg.sin(x) * x) * dg.sum(x * x), memory_budget=b),
     300, 4_000_000),
], ids=["grad", "value_and_grad", "jacobian", "hessian"])
def test_peak_memory_stays_within_the_budget(transform: Callable[[int], Any], n: int,
                                             budget: int) -> None:
    """The memory a transformation holds at once (answer and passes) stays within its budget,
    where one pass of every direction would hold many times more."""
    x = np.linspace(0.1, 1.0, n)
    assert peak_bytes(lambda: transform(budget)(x)) <= budget


@pytest.mark.parametrize("budget", [5_000, 20_000, 2**30])
def test_chunked_jacobians_of_tuples_give_the_same_numbers(budget: int) -> None:
    """A tuple output differentiated in a tuple of arguments: any budget, the same blocks."""
    x, y = np.linspace(0.1, 1.0, 7), np.linspace(-1.0, 1.0, 6).reshape(2, 3)

    def f(x: Any, y: Any) -> Any:
        return dg.exp(x)[:, None, None] * y, [dg.sum(dg.tanh(y) * dg.sum(x))]

    got = dg.jacobian(f, argnums=(0, 1), memory_budget=budget)(x, y)
    want = dg.jacobian(f, argnums=(0, 1), chunk_size=13)(x, y)
    assert type(got[1]) is list
    for a, b in zip([got[0], got[1][0]], [want[0], want[1][0]], strict=True):
        for block_a, block_b in zip(a, b, strict=True):
            assert block_a.shape == block_b.shape
            np.testing.assert_allclose(block_a, block_b, rtol=1e-15, atol=0)


def test_a_chunked_hessian_gives_the_same_numbers() -> None:
    """A Hessian under a budget that splits both differentiations equals the one-pass one."""
    f = lambda v: dg.sum(dg.sin(v) * v) * dg.sum(v * v)  # noqa: E731
    x = np.linspace(0.1, 1.0, 40)
    np.testing.assert_allclose(dg.hessian(f, memory_budget=40 * 40 * 8 + 20_000)(x),
                               dg.hessian(f)(x), rtol=1e-14, atol=0)


# ---- setting the budget -------------------------------------------------------------------------


def test_set_memory_budget_returns_the_previous_one_and_reaches_built_functions() -> None:
    """set_memory_budget returns the previous budget and applies to a grad built before it."""
    f, seen = recorder(sin_x)
    g = dg.grad(f, mode="forward")
    assert dg.get_memory_budget() == 2**30
    assert dg.set_memory_budget(100_000) == 2**30
    assert dg.get_memory_budget() == 100_000
    g(np.ones(300))
    assert len(seen) > 1 and sum(seen) == 300
    with pytest.raises(dg.MemoryBudgetError, match="100,000 bytes"):
        g(np.ones(20_000))


def test_a_call_budget_takes_precedence_over_the_process_budget() -> None:
    """memory_budget= of a call wins over set_memory_budget, both ways."""
    f, seen = recorder(sin_x)
    dg.set_memory_budget(100_000)
    dg.grad(f, mode="forward", memory_budget=2**30)(np.ones(300))
    assert seen == [300]
    dg.set_memory_budget(2**30)
    seen.clear()
    dg.grad(f, mode="forward", memory_budget=100_000)(np.ones(300))
    assert len(seen) > 1


@pytest.mark.parametrize(("budget", "error", "word"), [
    (0, dg.ConfigError, "positive"), (-1, dg.ConfigError, "positive"),
    (1.5, dg.ConfigError, "whole number"), (True, dg.ConfigError, "whole number"),
    ("2", dg.ConfigError, "whole number"), (float("nan"), dg.ConfigError, "whole number"),
])
@pytest.mark.parametrize("make", [
    lambda b: dg.grad(sin_x, memory_budget=b),
    lambda b: dg.value_and_grad(sin_x, memory_budget=b),
    lambda b: dg.jacobian(sin_x, memory_budget=b),
    lambda b: dg.hessian(sin_x, memory_budget=b),
    lambda b: dg.set_memory_budget(b),
], ids=["grad", "value_and_grad", "jacobian", "hessian", "set_memory_budget"])
def test_bad_budgets_are_refused_by_name(make: Callable[[Any], Any], budget: Any,
                                         error: type[Exception], word: str) -> None:
    """A budget that is not a positive whole number of bytes raises ConfigError at once."""
    with pytest.raises(error, match=rf"(?i)budget.*{word}"):
        make(budget)
    assert dg.get_memory_budget() == 2**30


def test_a_whole_float_budget_is_taken_as_bytes():
    """memory_budget=1e9 is 10**9 bytes, for transformations and models alike."""
    assert dg.Model([dg.layer("dense", units=1)], "mse", "sgd",
                    memory_budget=1e9).memory_budget == 10**9
    np.testing.assert_allclose(dg.grad(sin_x, memory_budget=1e9)(np.ones(3)),
                               dg.grad(sin_x)(np.ones(3)))


def test_a_model_takes_the_process_budget_by_default():
    """Model's default memory budget is the process's, as set by set_memory_budget."""
    previous = dg.set_memory_budget(123_456_789)
    try:
        model = dg.Model([dg.layer("dense", units=1)], "mse", "sgd")
        assert model.memory_budget == 123_456_789
        assert dg.Model([dg.layer("dense", units=1)], "mse", "sgd",
                        memory_budget=5_000_000).memory_budget == 5_000_000
    finally:
        dg.set_memory_budget(previous)
    assert dg.Model([dg.layer("dense", units=1)], "mse", "sgd").memory_budget == previous


def test_a_nested_transformation_inherits_the_enclosing_budget():
    """grad inside a jacobian with a 16 MiB budget stays near that budget (not the 1 GiB
    default): at most twice it, one budget per level."""
    x = np.ones(300)
    jac = dg.jacobian(dg.grad(sin_x), memory_budget=16 * 2**20)
    peak = peak_bytes(lambda: jac(x))
    assert peak <= 2 * 16 * 2**20
    np.testing.assert_allclose(jac(x), dg.hessian(sin_x)(x), rtol=1e-12)
