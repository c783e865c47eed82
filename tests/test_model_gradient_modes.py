"""A Model's gradient by forward or reverse mode: the same training, the mode in the config."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dualgrad as dg
import finite_differences as fd
from test_training_programs import _Branching, _Counted


def _model(mode: str, units: tuple[int, ...] = (6, 4), seed: int = 3, **kw: Any) -> dg.Model:
    layers: list[Any] = [{"type": "dense", "units": u, "activation": "tanh"} for u in units]
    layers.append({"type": "dense", "units": 1, "activation": "sigmoid"})
    return dg.Model(layers, "logloss", {"type": "sgd", "lr": 0.5, "momentum": 0.5}, seed=seed,
                    input_shape=[3], gradient=mode, **kw)


def _data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(n, 3))
    return x, (x[:, :1] * x[:, 1:2] > 0).astype(float)


@pytest.mark.parametrize(("batch_size", "shuffle"), [(None, True), (16, True), (16, False)])
def test_both_modes_train_to_the_same_weights(batch_size: Any, shuffle: bool) -> None:
    """Ten epochs in reverse mode end at forward mode's weights to 1e-10, full batch and in
    mini-batches (recorded steps replayed in both modes)."""
    x, y = _data()
    forward, reverse = _model("forward"), _model("reverse")
    forward.fit(x, y, epochs=10, batch_size=batch_size, shuffle=shuffle, verbose=False)
    reverse.fit(x, y, epochs=10, batch_size=batch_size, shuffle=shuffle, verbose=False)
    for a, b in zip(forward.get_weights(), reverse.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_a_reverse_gradient_matches_finite_differences() -> None:
    """Model.gradient in reverse mode agrees with central differences of the loss."""
    x, y = _data(12)
    model = _model("reverse", units=(3,))
    grads = model.gradient(x, y)
    for fd_grad, grad in zip(fd.model_gradient(model, x, y), grads):
        np.testing.assert_allclose(grad, fd_grad, rtol=0, atol=1e-7)


def test_the_mode_is_kept_in_the_config_and_checked() -> None:
    """`gradient` round-trips through get_config/from_config (default "auto"); another value
    is a ConfigError naming the choices."""
    assert _model("reverse").get_config()["gradient"] == "reverse"
    assert dg.Model.from_config(_model("forward").get_config()).get_config()["gradient"] \
        == "forward"
    assert dg.Model([{"type": "dense", "units": 1}], "mse", "sgd").get_config()["gradient"] \
        == "auto"
    with pytest.raises(dg.ConfigError, match=r"'backward'.*'reverse'|'reverse'.*'backward'"):
        _model("backward")


def test_auto_keeps_forward_mode_for_few_weights_and_takes_reverse_for_many() -> None:
    """"auto" keeps the blog's 2-2-1 network in forward mode and takes reverse mode for a
    network of hundreds of weights."""
    small = dg.Model([{"type": "dense", "units": 2, "activation": "sigmoid"},
                      {"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss", "sgd",
                     seed=0, input_shape=[2])
    large = _model("auto", units=(32, 32))
    assert not small._gradients.reverse(small._built_weights(), 100)
    assert large._gradients.reverse(large._built_weights(), 100)


def test_a_reverse_step_is_recorded_once_and_replayed() -> None:
    """In reverse mode too the layers' Python runs when the step is recorded (forward and
    backward pass in one program), not at every step."""
    x, y = _data()
    model = dg.Model([_Counted(units=4, activation="tanh"), _Counted(units=1)], "mse", "sgd",
                     seed=0, input_shape=[3], gradient="reverse")
    _Counted.calls[0] = 0
    model.fit(x, y, epochs=5, verbose=False)
    assert _Counted.calls[0] == 2


def test_a_layer_that_reads_values_trains_eagerly_in_reverse_mode() -> None:
    """A layer branching on values cannot be recorded: reverse mode then runs eagerly at each
    step, and ends at forward mode's weights."""
    x, y = _data()

    def model(mode: str) -> dg.Model:
        return dg.Model([_Branching(units=4, activation="tanh"), _Branching(units=1)], "mse",
                        "sgd", seed=0, input_shape=[3], gradient=mode)

    forward, reverse = model("forward"), model("reverse")
    forward.fit(x, y, epochs=4, verbose=False)
    reverse.fit(x, y, epochs=4, verbose=False)
    for a, b in zip(forward.get_weights(), reverse.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
