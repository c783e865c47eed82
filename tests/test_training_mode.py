"""The training flag and random generator reach layers during fit's steps only, and the
built-in dropout layer uses them: identity at inference, reproducible from the model's seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad.layers import current_mode


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4))
    return x, (x[:, 0] - x[:, 1] > 0).astype(float)


def with_dropout(rate: float = 0.3, seed: int = 3, optimizer: Any = None) -> dg.Model:
    return dg.Model([{"type": "dense", "units": 8, "activation": "tanh"},
                     {"type": "dropout", "rate": rate},
                     {"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                    optimizer or {"type": "adam", "lr": 0.05}, seed=seed)


@attrs.define(frozen=True)
class Spy(dg.Layer):
    """The identity, noting the mode of each call."""

    name = "spy"
    traceable = False
    seen: list[bool] = attrs.field(factory=list, eq=False)

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Sequence[Any], x: Any) -> Any:
        self.seen.append(current_mode().training)
        return x


def test_layers_are_told_they_train_in_fit_steps_only():
    """A layer sees training=True in fit's steps, False in predict, evaluate and validation."""
    x, y = data()
    spy = Spy()
    model = dg.Model([{"type": "dense", "units": 1}, spy], "mse", "sgd", seed=0)
    model.fit(x, y, epochs=1, validation_data=(x, y), verbose=False)
    assert True in spy.seen and False in spy.seen  # the step, then the validation loss
    spy.seen.clear()
    model.predict(x)
    model.evaluate(x, y)
    model.gradient(x, y)
    assert spy.seen and not any(spy.seen)


def test_dropout_is_the_identity_at_inference():
    """predict and evaluate do not drop: two calls agree, and equal the model without it."""
    x, y = data()
    model = with_dropout()
    model.fit(x, y, epochs=3, verbose=False)
    np.testing.assert_array_equal(model.predict(x), model.predict(x))
    plain = dg.Model([model.layers[0], model.layers[2]], "logloss", "adam", seed=3)
    plain.build((4,))
    plain.set_weights(model.get_weights())
    np.testing.assert_array_equal(model.predict(x), plain.predict(x))


def test_dropout_drops_while_training():
    """With dropout the fit's steps differ from the same model with rate 0."""
    x, y = data()
    dropped, kept = with_dropout(0.5), with_dropout(0.0)
    dropped.fit(x, y, epochs=2, verbose=False)
    kept.fit(x, y, epochs=2, verbose=False)
    assert any(np.any(a != b) for a, b in zip(dropped.get_weights(), kept.get_weights()))


def test_dropout_is_reproducible_from_the_seed():
    """The same seed gives the same masks and weights; another seed other ones."""
    x, y = data()
    runs = [with_dropout(seed=s) for s in (3, 3)]
    for m in runs:
        m.fit(x, y, epochs=3, batch_size=8, verbose=False)
    for a, b in zip(runs[0].get_weights(), runs[1].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_one_step_sees_one_mask_however_many_passes_its_gradient_takes():
    """A gradient in chunks (a small memory budget) uses the step's one mask in every chunk:
    it trains as the gradient in one pass does."""
    x, y = data()
    one_pass, chunked = with_dropout(optimizer="sgd"), with_dropout(optimizer="sgd")
    chunked.memory_budget = 20_000
    for m in (one_pass, chunked):
        m.fit(x, y, epochs=2, verbose=False)
    for a, b in zip(one_pass.get_weights(), chunked.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_dropout_rate_must_be_below_one():
    """rate 1 would drop everything: ConfigError."""
    with pytest.raises(dg.ConfigError, match="rate"):
        dg.layer("dropout", rate=1.0)
