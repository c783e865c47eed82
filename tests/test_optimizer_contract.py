"""The built-in optimizers' defaults, ranges and formulas away from the default settings, and the
`Optimizer` interface's abstract methods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

import dualgrad as dg
from dualgrad.optimizers import Optimizer

PARAMS = [np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, -0.75])]
GRADS = [
    [np.array([[0.3, -0.1], [2.0, -1.0]]), np.array([0.5, -0.2])],
    [np.array([[-0.4, 0.2], [1.0, 0.6]]), np.array([-0.1, 0.9])],
    [np.array([[0.7, 0.0], [-0.3, 0.2]]), np.array([0.05, -0.6])],
]


def run(opt: Optimizer, params: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Any]:
    """Three steps along GRADS (flattened when params is one flat vector)."""
    state = opt.init(params)
    params = list(params)
    for grads in GRADS:
        if len(params) == 1:
            grads = [np.concatenate([g.ravel() for g in grads])]
        params, state = opt.update(grads, state, params)
    return [np.asarray(w) for w in params], state


@pytest.mark.parametrize(("name", "defaults"), [
    ("sgd", {"lr": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0,
             "clipnorm": None}),
    ("fgd", {"lr": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": 0.0,
             "clipnorm": None}),
    ("adam", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "clipnorm": None}),
    ("adamw", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "clipnorm": None,
               "weight_decay": 0.01}),
    ("rmsprop", {"lr": 0.001, "rho": 0.9, "eps": 1e-7, "clipnorm": None}),
    ("adagrad", {"lr": 0.01, "initial_accumulator": 0.1, "eps": 1e-7, "clipnorm": None}),
])
def test_optimizer_defaults(name, defaults):
    """An optimizer made by name alone has the documented default settings, which a saved
    model's config records."""
    assert dg.optimizer(name).get_config() == defaults


@pytest.mark.parametrize(("name", "config", "word"), [
    ("adam", {"beta1": -0.1}, "beta1"),
    ("adam", {"beta2": -0.1}, "beta2"),
    ("adam", {"beta2": 1.0}, "beta2"),
    ("adam", {"eps": -1e-8}, "eps"),
    ("adam", {"lr": 0.0}, "lr"),
    ("sgd", {"momentum": -0.5}, "momentum"),
    ("fgd", {"momentum": 1.0}, "momentum"),
    ("fgd", {"lr": -0.1}, "lr"),
])
def test_optimizer_settings_out_of_range_raise_config_error(name, config, word):
    """Decay rates and momentum must lie in [0, 1), lr and eps be positive: ConfigError naming
    the setting."""
    with pytest.raises(dg.ConfigError, match=word):
        dg.optimizer(name, **config)


@pytest.mark.parametrize(("name", "config"), [
    ("adam", {"beta1": 0.0, "beta2": 0.0}),
    ("sgd", {"momentum": 0.0, "nesterov": True}),
])
def test_optimizer_settings_at_the_lower_bound_are_accepted(name, config):
    """0 is a valid decay rate and momentum: no averaging, plain steps."""
    assert dg.optimizer(name, **config).get_config().items() >= config.items()


def adam_by_hand(params: Sequence[np.ndarray], lr: float, b1: float, b2: float,
                 eps: float) -> list[np.ndarray]:
    out = []
    for k, w in enumerate(params):
        m = s = np.zeros_like(w)
        for t, grads in enumerate(GRADS, start=1):
            g = grads[k]
            m = b1 * m + (1 - b1) * g
            s = b2 * s + (1 - b2) * g * g
            w = w - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("flat", [False, True], ids=["arrays", "flat"])
@pytest.mark.parametrize(("b1", "b2", "eps"), [(0.3, 0.4, 1e-3), (0.6, 0.2, 0.5)])
def test_adam_with_small_decay_rates_and_a_large_eps(b1, b2, eps, flat):
    """Adam's formula holds away from its defaults: decay rates below one half, where 1 - b
    and 1 mod b differ, and an eps large enough to change every step."""
    params = [np.concatenate([w.ravel() for w in PARAMS])] if flat else PARAMS
    got, state = run(dg.optimizer("adam", lr=0.1, beta1=b1, beta2=b2, eps=eps), params)
    expected = adam_by_hand(PARAMS, 0.1, b1, b2, eps)
    if flat:
        expected = [np.concatenate([w.ravel() for w in expected])]
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    assert state.step == len(GRADS)


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
@pytest.mark.parametrize("flat", [False, True], ids=["arrays", "flat"])
def test_sgd_on_several_arrays_and_on_one_flat_vector_agree(flat, nesterov):
    """SGD, plain or with momentum, updates a list of arrays and the same weights as one flat
    vector alike, each array by its own gradient."""
    lr, mu = 0.1, 0.5
    for momentum in (0.0, mu):
        opt = dg.optimizer("sgd", lr=lr, momentum=momentum, nesterov=nesterov)
        params = [np.concatenate([w.ravel() for w in PARAMS])] if flat else PARAMS
        got, _ = run(opt, params)
        expected = []
        for k, w in enumerate(PARAMS):
            v = np.zeros_like(w)
            for grads in GRADS:
                g = grads[k]
                v = momentum * v - lr * g
                w = w + momentum * v - lr * g if nesterov else w + v
            expected.append(w)
        if flat:
            expected = [np.concatenate([w.ravel() for w in expected])]
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


class _UpdateOnly(Optimizer):
    name = "update-only"

    def update(self, grads: Any, state: Any, params: Any) -> Any:
        return list(params), state


class _InitOnly(Optimizer):
    name = "init-only"

    def init(self, params: Any) -> Any:
        return None


@pytest.mark.parametrize("cls", [_UpdateOnly, _InitOnly], ids=["no-init", "no-update"])
def test_an_optimizer_must_define_init_and_update(cls):
    """An Optimizer subclass without init or without update cannot be made: TypeError naming
    the missing method."""
    missing = "init" if cls is _UpdateOnly else "update"
    with pytest.raises(TypeError, match=missing):
        cls()


@pytest.mark.parametrize("name", ["sgd", "fgd", "adam"])
def test_optimizers_are_immutable(name):
    """A built-in optimizer's settings cannot be changed in place (state lives apart)."""
    opt = dg.optimizer(name)
    with pytest.raises(AttributeError):
        opt.lr = 1.0


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_optimizers_update_no_weights_to_no_weights(name, momentum):
    """An update of an empty list of weights is an empty list."""
    opt = dg.optimizer(name) if name == "adam" else dg.optimizer(name, momentum=momentum)
    new, _ = opt.update([], opt.init([]), [])
    assert new == []


def _fit_recording(optimizer: Optimizer) -> dg.Model:
    """A small model trained two full-batch epochs with `optimizer`."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3))
    model = dg.Model([{"type": "dense", "units": 2, "activation": "tanh"},
                      {"type": "dense", "units": 1}], "mse", optimizer, seed=0)
    model.fit(x, np.tanh(x[:, :1]), epochs=2, verbose=False)
    return model


@pytest.mark.parametrize("base", [dg.optimizers.SGD, dg.optimizers.ForwardGradientDescent,
                                  dg.optimizers.Adam], ids=lambda c: c.name)
def test_model_hands_sgd_and_adam_one_flat_vector(base):
    """SGD, fgd and Adam treat every weight alike, so a Model hands them all the weights as one
    flat vector (flat_weights), one update per step."""
    calls: list[list[tuple[int, ...]]] = []

    class Recording(base):
        def update(self, grads: Any, state: Any, params: Any) -> Any:
            calls.append([np.shape(w) for w in params])
            return super().update(grads, state, params)

    model = _fit_recording(Recording(lr=0.01))
    assert calls == [[(model.num_params,)]] * 2


def test_model_hands_a_custom_optimizer_each_weight_array():
    """An optimizer that does not declare flat_weights gets the weights array by array, shaped
    like get_weights, with gradients of the same shapes."""
    calls: list[list[tuple[int, ...]]] = []

    class PerArray(Optimizer):
        name = "per-array"

        def init(self, params: Sequence[np.ndarray]) -> None:
            calls.append([np.shape(w) for w in params])

        def update(self, grads: Any, state: Any, params: Any) -> Any:
            assert [np.shape(g) for g in grads] == [np.shape(w) for w in params]
            calls.append([np.shape(w) for w in params])
            return [w - 0.01 * g for w, g in zip(params, grads, strict=True)], state

    model = _fit_recording(PerArray())
    assert calls == [[w.shape for w in model.get_weights()]] * 3
