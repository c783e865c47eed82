"""Unit seeds: a Model's gradient seeds every weight as unit seeds, the one representation grad
and jacobian use too, and the affine map's unit-seed kernel gives the numbers of dense seeds."""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from dualgrad import Variable


def _model(units: list[int], activation: str, seed: int, budget: int) -> dg.Model:
    layers = [{"type": "dense", "units": u, "activation": activation} for u in units[:-1]]
    layers.append({"type": "dense", "units": units[-1]})
    return dg.Model(layers, "mse", "sgd", seed=seed, input_shape=[3], memory_budget=budget)


def _dense_seeded_gradient(model: dg.Model, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The gradient through the layers with every weight seeded by a plain dense block of the
    identity: the reference products, with no unit seeds anywhere."""
    weights = model.get_weights()
    total = sum(w.size for w in weights)
    eye = np.eye(total)
    seeded, offset = [], 0
    for w in weights:
        seeded.append(Variable(w, eye[:, offset:offset + w.size].reshape(total, *w.shape)))
        offset += w.size
    out: Any = x
    for i, layer in enumerate(model.layers):  # every layer here is a Dense with a bias
        out = layer(seeded[2 * i:2 * i + 2], out)
    tangent = model.loss(y, out).tangent
    grads, offset = [], 0
    for w in weights:
        grads.append(tangent[offset:offset + w.size].reshape(w.shape))
        offset += w.size
    return grads


@pytest.mark.parametrize("budget", [1 << 30, 20_000, 3_000])
@pytest.mark.parametrize("units", [[4, 2], [5, 3, 1], [1], [20, 20, 1]])
def test_unit_seeded_gradient_matches_dense_seeds(units: list[int], budget: int) -> None:
    """Model.gradient (unit seeds, whole or in chunks that cut through a weight's block of
    directions) gives the numbers of dense seeds to 1e-12."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(17, 3)), rng.normal(size=(17, units[-1]))
    model = _model(units, "tanh", 0, budget)
    for a, b in zip(_dense_seeded_gradient(model, x, y), model.gradient(x, y)):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13)


def test_unit_seeded_gradient_matches_finite_differences() -> None:
    """The gradient agrees with central finite differences of the loss, with several units per
    layer and chunks smaller than a weight."""
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(11, 3)), rng.normal(size=(11, 2))
    model = _model([3, 2], "sigmoid", 3, 5_000)
    grads = model.gradient(x, y)
    for fd_grad, grad in zip(fd.model_gradient(model, x, y), grads):
        np.testing.assert_allclose(grad, fd_grad, rtol=0, atol=1e-7)


@attrs.define(frozen=True)
class _Product(dg.Layer):
    """x @ w through a given primitive, w of 4 units (not registered)."""

    name = "product"
    primitive: dg.Primitive

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return [np.ones((input_shape[-1], 4))]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*input_shape[:-1], 4)

    def __call__(self, params: Any, x: Any) -> Any:
        return self.primitive(x, params[0])


def _seen_by(kernel_calls: list[Any]) -> dg.Primitive:
    """An affine-like primitive whose unit-seed kernel notes the unit seeds it is handed."""
    def unit_jvp(tangents: Any, x: Any, w: Any) -> tuple[Any, Any]:
        kernel_calls.append([None if t is None else getattr(t, "unit", "dense")
                             for t in tangents])
        dense = [None if t is None else t.dense() if hasattr(t, "dense") else t
                 for t in tangents]
        return x @ w, x @ dense[1]

    return dg.Primitive("noting_product", lambda x, w: x @ w, None,
                        lambda t, out, x, w: x @ t,
                        special=dg.Specialisations(jvp=lambda ts, x, w: (x @ w, x @ ts[1]),
                                                   unit_jvp=unit_jvp))


def test_model_and_grad_hand_the_same_unit_seeds_to_a_kernel() -> None:
    """A declared unit-seed kernel is handed the Model's seeds and grad's alike, as unit seeds
    that say their first direction; it is not called for dense tangents."""
    calls: list[Any] = []
    product = _seen_by(calls)
    x = np.arange(6.0).reshape(3, 2)
    w = np.ones((2, 4))
    g = dg.grad(lambda w: dg.sum(product(x, w)))(w)
    np.testing.assert_allclose(g, np.repeat(x.sum(0)[:, None], 4, axis=1))
    assert calls == [[None, 0]]

    calls.clear()
    model = dg.Model([_Product(product), {"type": "dense", "units": 1}], "mse", "sgd", seed=0,
                     input_shape=[2])
    model.gradient(x, np.ones((3, 1)))
    assert calls == [[None, 0]]
    calls.clear()
    product(x, Variable(w, np.ones((3, 2, 4))))  # dense tangents: the jvp kernel
    assert calls == []
