"""What a Model takes while it trains: data it must refuse (masked arrays), and a loss or
optimizer assigned from a callback in the middle of fit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dualgrad as dg

LAYERS = [{"type": "dense", "units": 4, "activation": "tanh"},
          {"type": "dense", "units": 1, "activation": "sigmoid"}]


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 2))
    return x, (x[:, :1] * x[:, 1:] > 0).astype(float)


def _model(loss: str = "logloss", optimizer: Any = "adam") -> dg.Model:
    return dg.Model(LAYERS, loss, optimizer, seed=0, input_shape=[2])


# ---- masked arrays -------------------------------------------------------------------------------


def _masked(a: np.ndarray) -> np.ma.MaskedArray:
    mask = np.zeros(a.shape, dtype=bool)
    mask[0] = True
    return np.ma.masked_array(a, mask=mask)


_CALLS = {
    "fit x": lambda m, x, y: m.fit(_masked(x), y, verbose=False),
    "fit y": lambda m, x, y: m.fit(x, _masked(y), verbose=False),
    "validation x": lambda m, x, y: m.fit(x, y, validation_data=(_masked(x), y), verbose=False),
    "validation y": lambda m, x, y: m.fit(x, y, validation_data=(x, _masked(y)), verbose=False),
    "rows of x": lambda m, x, y: m.fit([_masked(row) for row in x], y, verbose=False),
    "predict": lambda m, x, y: m.predict(_masked(x)),
    "evaluate x": lambda m, x, y: m.evaluate(_masked(x), y),
    "evaluate y": lambda m, x, y: m.evaluate(x, _masked(y)),
    "gradient": lambda m, x, y: m.gradient(_masked(x), y),
}


@pytest.mark.parametrize("call", list(_CALLS))
def test_masked_arrays_are_refused(call):
    """fit (x, y and validation data), predict, evaluate and gradient refuse a masked array as
    dg.grad does (DualgradTypeError), rather than using the values the mask hides; fit leaves
    the weights as they were."""
    model = _model()
    x, y = _data()
    before = model.get_weights()
    with pytest.raises(dg.DualgradTypeError, match="masked array"):
        _CALLS[call](model, x, y)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_masked_array_message_matches_grad():
    """The model and dg.grad refuse a masked array with the same exception type."""
    x, y = _data()
    with pytest.raises(dg.DualgradTypeError) as from_grad:
        dg.grad(lambda v: dg.sum(v))(_masked(x))
    with pytest.raises(dg.DualgradTypeError) as from_model:
        _model().predict(_masked(x))
    assert type(from_grad.value) is type(from_model.value)
    assert "np.ma.filled" in str(from_model.value)
