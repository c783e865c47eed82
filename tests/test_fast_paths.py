"""Fast paths must give the reference numbers: a primitive's `jvp`, against its own rules; the
forward-gradient optimizer, against the exact gradient it estimates."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry
from dualgrad._core import Variable, new_tag


def _with_fast_path() -> list[dg.Primitive]:
    return [e.obj for e in _registry.registry().entries("primitive") if e.obj.jvp is not None]


def test_some_builtins_have_a_fast_path():
    """The fused primitives define a jvp fast path (otherwise the next test checks nothing)."""
    names = {p.name for p in _with_fast_path()}
    assert {"affine", "sigmoid_cross_entropy", "mean_squared_error"} <= names


ARGS = {
    "affine": lambda rng: (rng.normal(size=(5, 3)), rng.normal(size=(3, 2)),
                           rng.normal(size=2)),
    "sigmoid_cross_entropy": lambda rng: (rng.normal(size=(6, 1)) * 3,
                                          (rng.random(size=(6, 1)) > 0.5).astype(float)),
    "mean_squared_error": lambda rng: (rng.normal(size=(7, 2)), rng.normal(size=(7, 2))),
}


@pytest.mark.parametrize("prim", _with_fast_path(), ids=lambda p: p.name)
def test_fast_path_matches_the_rules(prim):
    """For every subset of differentiated arguments, the jvp fast path gives the value and
    tangent of the reference path (the rules, reached by nesting one level down)."""
    rng = np.random.default_rng(0)
    args = ARGS[prim.name](rng)
    for mask in range(1, 2 ** len(args)):
        tag = new_tag()
        wrapped = [Variable._make(a, rng.normal(size=(3, *np.shape(a))), tag)
                   if mask >> i & 1 else a for i, a in enumerate(args)]
        fast = prim(*wrapped)
        # an outer constant level pushes the computation through the rules instead
        outer = new_tag()
        nested = [Variable._make(Variable._make(w.value, None, outer), w.tangent, w.tag)
                  if isinstance(w, Variable) else w for w in wrapped]
        slow = prim(*nested)
        np.testing.assert_allclose(fast.value, slow.value.primal(), rtol=1e-13, atol=1e-15)
        slow_tangent = slow.tangent
        if isinstance(slow_tangent, Variable):
            slow_tangent = slow_tangent.primal()
        np.testing.assert_allclose(fast.tangent, slow_tangent, rtol=1e-12, atol=1e-14)


def test_forward_gradient_is_an_unbiased_estimate():
    """Averaged over many random directions, fgd's (grad . v) v approaches the exact gradient,
    within the standard error of the mean."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    model = dg.Model([{"type": "dense", "units": 3, "activation": "tanh"},
                      {"type": "dense", "units": 1}], "mse", "fgd", seed=0, input_shape=[2])
    exact = np.concatenate([g.ravel() for g in model.gradient(x, y)])
    xs, ys = model._data(x, y)
    draws = np.array([model._gradients.forward_gradient(
        model._weights, xs, ys, model._rng)[1] for _ in range(20000)])
    mean, error = draws.mean(0), draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(mean - exact) < 5 * error + 1e-12)
    # and it is an estimate, not the gradient itself
    assert not np.allclose(draws[0], exact)


def test_fgd_trains():
    """fgd lowers the loss of a small regression over a few hundred steps."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 2))
    y = x @ np.array([[1.5], [-2.0]]) + 0.5
    model = dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "fgd", "lr": 0.02},
                     seed=0)
    history = model.fit(x, y, epochs=400, verbose=False)
    assert history.history["loss"][-1] < 0.05 * history.history["loss"][0]


def test_mean_squared_error_of_float32_sums_pairwise():
    """float32 residuals are summed pairwise (a dot product would lose digits at this size)."""
    d = np.random.default_rng(3).normal(size=2_000_000).astype(np.float32)
    exact = float(np.mean(d.astype(np.float64) ** 2))
    got = float(dg.primitives.mean_squared_error(d, np.zeros_like(d)))
    assert abs(got - exact) / exact < 1e-6


def test_affine_of_stacked_inputs_names_their_shapes():
    """A mismatched 3-D input is reported with the shapes the user passed."""
    with pytest.raises(dg.ShapeError, match=r"\(2, 2, 3\)"):
        dg.primitives.affine(np.ones((2, 2, 3)), np.ones((4, 1)), np.ones(1))
