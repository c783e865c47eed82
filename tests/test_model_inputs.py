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
    x = _data()[0]
    with pytest.raises(dg.DualgradTypeError) as from_grad:
        dg.grad(lambda v: dg.sum(v))(_masked(x))
    with pytest.raises(dg.DualgradTypeError) as from_model:
        _model().predict(_masked(x))
    assert type(from_grad.value) is type(from_model.value)
    assert "np.ma.filled" in str(from_model.value)


# ---- a new optimizer or loss from a callback ----------------------------------------------------


class _SwitchAt(dg.callbacks.Callback):
    """Assigns the model's attributes `changes` at the end of epoch `epoch`."""

    def __init__(self, epoch: int, **changes: Any) -> None:
        self.epoch, self.changes = epoch, changes

    def on_epoch_end(self, epoch: int, logs: dict[str, float], model: dg.Model) -> None:
        if epoch == self.epoch:
            for name, value in self.changes.items():
                setattr(model, name, value)
            self.evaluated = model.evaluate(*_data())


def test_optimizer_assigned_in_a_callback_starts_fresh_on_the_next_step():
    """An optimizer assigned from a callback mid-fit trains the following epochs from its own
    fresh state, exactly as if assigned between two fits."""
    x, y = _data()
    sgd = {"type": "sgd", "lr": 0.1, "momentum": 0.9}
    switched = _model()
    switched.fit(x, y, epochs=5, verbose=False, callbacks=[_SwitchAt(1, optimizer=sgd)])
    by_hand = _model()
    by_hand.fit(x, y, epochs=2, verbose=False)
    by_hand.optimizer = sgd
    by_hand.fit(x, y, epochs=3, verbose=False)
    assert isinstance(switched.optimizer_state, dg.optimizers.SGDState)
    for a, b in zip(switched.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_optimizer_assigned_when_training_begins_is_used_from_the_first_step():
    """An optimizer assigned in on_train_begin, after fit prepared the old one, gets its own
    state before the first step."""
    class Swap(dg.callbacks.Callback):
        def on_train_begin(self, model: dg.Model) -> None:
            model.optimizer = "sgd"

    x, y = _data()
    model = _model()
    model.fit(x, y, epochs=2, verbose=False, callbacks=[Swap()])
    assert isinstance(model.optimizer_state, dg.optimizers.SGDState)


def test_loss_assigned_in_a_callback_takes_effect_on_the_next_step():
    """A loss assigned from a callback mid-fit is the loss of the next epoch, and trains the
    rest as a fit with that loss would."""
    x, y = _data()
    to_mse = _SwitchAt(0, loss="mse")
    switched = _model()
    history = switched.fit(x, y, epochs=3, verbose=False, callbacks=[to_mse])
    assert history.history["loss"][1] == pytest.approx(to_mse.evaluated, rel=1e-12)
    by_hand = _model()
    by_hand.fit(x, y, epochs=1, verbose=False)
    by_hand.loss = "mse"
    by_hand.fit(x, y, epochs=2, verbose=False)
    for a, b in zip(switched.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_loss_assigned_in_a_callback_checks_its_targets():
    """A loss assigned mid-fit whose targets the data cannot be (log-loss on targets of 2) is
    a DataError before the next step, as it would be at the start of fit."""
    x, y = _data()
    model = _model(loss="mse")
    with pytest.raises(dg.DataError, match="logloss"):
        model.fit(x, 2 * y, epochs=3, verbose=False, callbacks=[_SwitchAt(0, loss="logloss")])


@pytest.mark.parametrize("bad", [
    np.array([["1.5", "2"]] * 4),
    np.array([[b"1", b"2"]] * 4),
    np.array([["1", 2.0]] * 4, dtype=object),
    np.arange(8).astype("datetime64[s]").reshape(4, 2),
    np.arange(8).astype("timedelta64[s]").reshape(4, 2),
], ids=["str", "bytes", "object-str", "datetime", "timedelta"])
def test_text_and_time_data_is_refused_not_parsed(bad):
    """Strings, bytes, dates and durations are refused as data, never parsed into numbers."""
    model = dg.Model([dg.layer("dense", units=1)], "mse", "sgd", seed=0)
    with pytest.raises(dg.DataError, match="must be numbers"):
        model.fit(bad, np.zeros(4), epochs=1, verbose=False)
    with pytest.raises(dg.DataError, match="must be numbers"):
        model.fit(np.zeros((4, 2)), bad[:, 0], epochs=1, verbose=False)


@pytest.mark.parametrize("units", [10**21, 10**12])
def test_a_layer_too_large_to_create_is_a_config_error(units):
    """A layer whose weights cannot be allocated is a ConfigError naming it, not NumPy's error."""
    model = dg.Model([dg.layer("dense", units=units)], "mse", "sgd", seed=0)
    with pytest.raises(dg.ConfigError, match=r"layer 1 .* cannot create its weights"):
        model.build((1000,))


@pytest.mark.parametrize("content", [
    b"\xff\xfe" + "loss = 'mse'".encode("utf-16-le"),
    b"loss = 'ms\xe9'",
    b"x = " + b"[" * 5000 + b"]" * 5000,
    b"[[layers]\n",
], ids=["utf16", "latin1", "deep", "broken"])
def test_from_toml_refuses_unreadable_files_with_a_config_error(tmp_path, content):
    """Model.from_toml turns non-UTF-8, deeply nested and malformed TOML into a ConfigError."""
    path = tmp_path / "net.toml"
    path.write_bytes(content)
    with pytest.raises(dg.ConfigError):
        dg.Model.from_toml(path)


def test_models_and_layers_pickle_and_copy():
    """A Model (and a Dense with an activation) pickles and deep-copies, and predicts the same."""
    import copy
    import pickle

    model = dg.Model([{"type": "dense", "units": 3, "activation": "tanh"},
                      {"type": "dense", "units": 1, "activation": "sigmoid"}],
                     "logloss", "sgd", seed=0, input_shape=[2])
    x = np.random.default_rng(0).normal(size=(5, 2))
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        np.testing.assert_array_equal(twin.predict(x), model.predict(x))
        assert twin.get_config() == model.get_config()
    layer = dg.layer("dense", units=2, activation="relu")
    assert pickle.loads(pickle.dumps(layer)) == layer


def test_replacing_layers_takes_effect_everywhere():
    """A layer replaced in model.layers is the one fit, evaluate and predict all use."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2))
    y = (x[:, 0] > 0).astype(float)
    model = dg.Model([{"type": "dense", "units": 4, "activation": "tanh"},
                      {"type": "dense", "units": 1, "activation": "sigmoid"}],
                     "logloss", "sgd", seed=0, input_shape=[2])
    model.layers[0] = dg.layer("dense", units=4, activation="relu")
    p = np.clip(model.predict(x)[:, 0], 1e-7, 1 - 1e-7)
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert np.isclose(model.evaluate(x, y), expected, rtol=1e-9)
    fresh = dg.Model([{"type": "dense", "units": 4, "activation": "relu"}], "mse",
                     {"type": "sgd", "lr": 0.1}, seed=0)
    fresh.layers = [dg.layer("dense", units=1)]
    fresh.fit(x, x[:, :1] * -3, epochs=30, verbose=False)
    assert [layer["units"] for layer in fresh.get_config()["layers"]] == [1]
    assert fresh.evaluate(x, x[:, :1] * -3) < 0.5
