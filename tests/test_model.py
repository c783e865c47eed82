"""`Model`: configuration, gradients, training, callbacks, weights, files, and bad input.

Gradients are checked against central finite differences of `Model.evaluate`; everything
else against hand computations or against a second model built from the same config.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad.callbacks import Callback, EarlyStopping, EpochEnd
from finite_differences import jacobian as fd_jacobian

BLOG = {
    "layers": [{"type": "dense", "units": 2},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "logloss",
    "optimizer": {"type": "sgd", "lr": 0.1},
}
TANH_342 = {
    "layers": [{"type": "dense", "units": 4, "activation": "tanh"},
               {"type": "dense", "units": 2}],
    "loss": "mse",
    "optimizer": {"type": "sgd", "lr": 0.05},
}


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def class_data(seed: int = 0, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """The blog's classification data: label 1 where 3x - 2 plus unit noise is positive."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, (3 * x - 2 + rng.normal(size=n) > 0).astype(float)


def regression_data(seed: int = 0, n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Three features, two smooth targets."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = np.stack([np.sin(x[:, 0]) + x[:, 1] * x[:, 2], x.sum(axis=1) ** 2 / 3], axis=1)
    return x, y


def blog_model(seed: int = 0, **extra: Any) -> dg.Model:
    return dg.Model.from_config({**BLOG, "seed": seed, **extra})


def tanh_model(seed: int = 0, **extra: Any) -> dg.Model:
    return dg.Model.from_config({**TANH_342, "seed": seed, **extra})


def fd_gradient(model: dg.Model, x: Any, y: Any) -> list[np.ndarray]:
    """Central finite differences of model.evaluate, one array per weight array."""
    start = model.get_weights()

    def loss(*weights: np.ndarray) -> float:
        model.set_weights(weights)
        return model.evaluate(x, y)

    try:
        return [fd_jacobian(loss, start, i) for i in range(len(start))]
    finally:
        model.set_weights(start)


def assert_weights_equal(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


def weights_differ(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return any(not np.array_equal(u, v) for u, v in zip(a, b, strict=True))


# ---- configuration ----------------------------------------------------------------------------


def test_blog_network_has_seven_parameters_on_one_feature():
    """The issue's 2-2-1 config has 7 parameters on one feature: 2 + 2 in, 2 + 1 out."""
    x, y = class_data()
    model = blog_model()
    assert not model.built
    model.fit(x, y, epochs=1, verbose=False)
    assert model.built
    assert model.num_params == 7
    assert [w.shape for w in model.get_weights()] == [(1, 2), (2,), (2, 1), (1,)]
    assert dg.Model.from_config({**BLOG, "input_shape": [1]}).num_params == 7


def test_parts_as_objects_names_or_dicts_are_equivalent():
    """A part given as an object, a registered name or a config dict makes the same model."""
    a = dg.Model([dg.layer("dense", units=1)], dg.loss("mse"), dg.optimizer("sgd"), seed=1)
    b = dg.Model([{"type": "dense", "units": 1}], "mse", "sgd", seed=1)
    c = dg.Model([{"type": "dense", "units": 1}], {"type": "mse"}, {"type": "sgd"}, seed=1)
    assert a.get_config() == b.get_config() == c.get_config()
    x = np.linspace(-1, 1, 9)
    preds = []
    for m in (a, b, c):
        m.fit(x, 2 * x, epochs=3, verbose=False)
        preds.append(m.predict(x))
    np.testing.assert_array_equal(preds[0], preds[1])
    np.testing.assert_array_equal(preds[0], preds[2])


def test_get_config_round_trips_including_seed():
    """get_config holds the seed; from_config(get_config()) gives the same config again,
    and the config survives JSON."""
    model = blog_model(seed=42)
    config = model.get_config()
    assert config["seed"] == 42
    assert dg.Model.from_config(config).get_config() == config
    assert json.loads(json.dumps(config)) == config
    assert [layer["type"] for layer in config["layers"]] == ["dense", "dense"]
    assert config["layers"][1]["activation"] == "sigmoid"
    assert config["loss"]["type"] == "logloss"
    assert config["optimizer"] == {**config["optimizer"], "type": "sgd", "lr": 0.1}


def test_config_keeps_the_memory_budget_and_input_shape(tmp_path):
    """A chosen memory_budget and input_shape survive get_config, from_config, save and load."""
    model = blog_model(seed=1, memory_budget=12345, input_shape=[1])
    config = model.get_config()
    assert config["memory_budget"] == 12345 and config["input_shape"] == [1]
    rebuilt = dg.Model.from_config(config)
    assert rebuilt.memory_budget == 12345 and rebuilt.get_config() == config
    model.save(tmp_path / "m.npz")
    assert dg.Model.load(tmp_path / "m.npz").get_config() == config


def test_model_rebuilt_from_config_trains_identically():
    """A model rebuilt from get_config trains to the same losses and the same weights."""
    x, y = class_data(3)
    first = blog_model(seed=7)
    second = dg.Model.from_config(first.get_config())
    h1 = first.fit(x, y, epochs=12, batch_size=8, verbose=False)
    h2 = second.fit(x, y, epochs=12, batch_size=8, verbose=False)
    assert h1.history["loss"] == h2.history["loss"]
    assert_weights_equal(first.get_weights(), second.get_weights())


def test_config_of_a_trained_model_rebuilds_the_untrained_start():
    """The config of a trained (built) model rebuilds it untrained, with the same first weights."""
    x, y = class_data(3)
    untouched = blog_model(seed=9, input_shape=[1])
    trained = blog_model(seed=9)
    trained.fit(x, y, epochs=5, verbose=False)
    rebuilt = dg.Model.from_config(trained.get_config())
    assert rebuilt.built
    assert_weights_equal(rebuilt.get_weights(), untouched.get_weights())


def test_seed_none_draws_a_seed_that_the_config_keeps():
    """Without a seed one is drawn; the config holds it, so the rebuilt model starts the same."""
    model = dg.Model.from_config({**BLOG, "input_shape": [1]})
    seed = model.get_config()["seed"]
    assert isinstance(seed, int) and seed >= 0
    again = dg.Model.from_config(model.get_config())
    assert_weights_equal(again.get_weights(), model.get_weights())


def test_different_seeds_give_different_weights():
    """Two seeds give two different initial weights; one seed always the same."""
    a = blog_model(seed=1, input_shape=[1]).get_weights()
    b = blog_model(seed=1, input_shape=[1]).get_weights()
    c = blog_model(seed=2, input_shape=[1]).get_weights()
    assert_weights_equal(a, b)
    assert weights_differ(a, c)


BLOG_TOML = """\
seed = 0
loss = "logloss"

[optimizer]
type = "sgd"
lr = 0.1

[[layers]]
type = "dense"
units = 2

[[layers]]
type = "dense"
units = 1
activation = "sigmoid"

[fit]
epochs = 5
"""


def test_from_toml_reads_the_same_content(tmp_path):
    """from_toml on the blog config as TOML equals from_config on the dict; [fit] is ignored."""
    path = tmp_path / "network.toml"
    path.write_text(BLOG_TOML)
    from_toml = dg.Model.from_toml(path)
    from_dict = blog_model(seed=0)
    assert from_toml.get_config() == from_dict.get_config()
    x, y = class_data()
    h1 = from_toml.fit(x, y, epochs=4, verbose=False)
    h2 = from_dict.fit(x, y, epochs=4, verbose=False)
    assert h1.history["loss"] == h2.history["loss"]


def test_from_toml_with_bad_toml_raises_config_error(tmp_path):
    """A file that is not TOML raises ConfigError (a ValueError) naming the file."""
    path = tmp_path / "broken.toml"
    path.write_text("layers = [\n")
    with pytest.raises(dg.ConfigError) as info:
        dg.Model.from_toml(path)
    assert "broken.toml" in str(info.value)


@pytest.mark.parametrize(
    ("config", "word"),
    [
        ({**BLOG, "lyers": []}, "'lyers'"),
        ({"layers": BLOG["layers"], "loss": "mse"}, "'optimizer'"),
        ({**BLOG, "layers": []}, "layers"),
        ({**BLOG, "layers": "dense"}, "layers"),
        ({**BLOG, "layers": [{"units": 2}]}, "type"),
        ({**BLOG, "layers": [{"type": "dense", "units": 2, "size": 3}]}, "'size'"),
        ({**BLOG, "loss": "crossentropy"}, "crossentropy"),
        ({**BLOG, "optimizer": "sgdd"}, "sgd"),
        ({**BLOG, "optimizer": 3}, "optimizer"),
        ({**BLOG, "seed": -1}, "seed"),
        ({**BLOG, "seed": 1.5}, "seed"),
        ({**BLOG, "memory_budget": 0}, "memory_budget"),
    ],
)
def test_bad_model_config_raises_config_error(config, word):
    """A model config with an unknown key, a missing part, an unknown name or a bad value raises
    ConfigError (a ValueError) saying which."""
    with pytest.raises(dg.ConfigError) as info:
        dg.Model.from_config(config)
    assert isinstance(info.value, ValueError)
    assert word in str(info.value)


def test_unknown_optimizer_name_lists_the_registered_ones():
    """An unknown optimizer name in a model raises ConfigError listing adam and sgd."""
    with pytest.raises(dg.ConfigError) as info:
        dg.Model(BLOG["layers"], "logloss", "adamx", seed=0)
    assert "adam" in str(info.value) and "sgd" in str(info.value)


def test_one_feature_as_vector_or_column_is_the_same():
    """x of shape (N,) is one feature: predictions and gradients equal those for (N, 1)."""
    x, y = class_data()
    model = blog_model(input_shape=[1])
    np.testing.assert_array_equal(model.predict(x), model.predict(x[:, None]))
    for a, b in zip(model.gradient(x, y), model.gradient(x[:, None], y[:, None]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.predict(x).shape == (x.size, 1)


# ---- gradients --------------------------------------------------------------------------------


def test_gradient_matches_finite_differences_on_the_blog_network():
    """Model.gradient on the 2-2-1 logloss net equals central differences for all 7 weights."""
    x, y = class_data(1)
    model = blog_model(seed=4)
    model.fit(x, y, epochs=3, verbose=False)
    grads = model.gradient(x, y)
    expected = fd_gradient(model, x, y)
    assert [g.shape for g in grads] == [w.shape for w in model.get_weights()]
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    assert max(np.abs(g).max() for g in grads) > 1e-3


def test_gradient_matches_finite_differences_on_a_3_4_2_tanh_net():
    """Model.gradient on a 3-4-2 tanh net with mse and 2-D y equals central differences."""
    x, y = regression_data()
    model = tanh_model(seed=2, input_shape=[3])
    assert model.num_params == 3 * 4 + 4 + 4 * 2 + 2
    grads = model.gradient(x, y)
    expected = fd_gradient(model, x, y)
    for g, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_gradient_does_not_change_the_weights():
    """Model.gradient reads the weights and leaves them as they were."""
    x, y = regression_data()
    model = tanh_model(input_shape=[3])
    before = model.get_weights()
    model.gradient(x, y)
    assert_weights_equal(model.get_weights(), before)


def _chunk_size(model: dg.Model, rows: int) -> int:
    return model._gradients.chunk_size(model._weights, rows)


def _smallest_budget_with_chunk_of_at_least(model_of_budget: Any, rows: int, k: int) -> int:
    budget = 1
    while _chunk_size(model_of_budget(budget), rows) < k:
        budget *= 2
    return budget


def test_chunked_gradient_equals_one_pass_gradient():
    """With a tiny memory_budget the gradient comes in chunks of 1 or a few directions, and it
    equals the one-pass gradient to 1e-12."""
    x, y = regression_data(n=25)
    rows = x.shape[0]

    def model_of_budget(budget: int) -> dg.Model:
        return tanh_model(seed=3, input_shape=[3], memory_budget=budget)

    whole = model_of_budget(dg.get_memory_budget())
    total = whole.num_params
    assert _chunk_size(whole, rows) == total
    one = model_of_budget(1)
    assert _chunk_size(one, rows) == 1
    budget = _smallest_budget_with_chunk_of_at_least(model_of_budget, rows, 2)
    few = model_of_budget(budget)
    assert 2 <= _chunk_size(few, rows) < total

    reference = whole.gradient(x, y)
    for model in (one, few):
        for g, r in zip(model.gradient(x, y), reference, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-14)


def test_chunked_training_equals_one_pass_training():
    """fit with a tiny memory budget trains to the same weights as with the default budget."""
    x, y = regression_data(n=20)
    a = tanh_model(seed=5)
    b = tanh_model(seed=5, memory_budget=1)
    ha = a.fit(x, y, epochs=5, verbose=False)
    hb = b.fit(x, y, epochs=5, verbose=False)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-12)
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14)


@attrs.define(frozen=True)
class Scale(dg.Layer):
    """A custom layer: x * w, one weight per feature (not registered)."""

    name = "scale"

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return [rng.uniform(0.5, 1.5, size=input_shape)]

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Any, x: Any) -> Any:
        return x * params[0]


@attrs.define(frozen=True)
class Quartic(dg.Loss):
    """A custom loss: mean((p - y)^4)."""

    name = "quartic"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        d = y_pred - y_true
        return dg.mean(d * d * d * d)


@attrs.define(frozen=True)
class SignDescent(dg.Optimizer):
    """A custom optimizer: w <- w - lr sign(g), stateless."""

    name = "sign"
    lr: float = 0.01

    def init(self, params: Any) -> tuple[()]:
        return ()

    def update(self, grads: Any, state: Any, params: Any) -> tuple[list[np.ndarray], Any]:
        return [w - self.lr * np.sign(g) for w, g in zip(params, grads, strict=True)], state


def test_custom_layer_loss_and_optimizer_objects_work_in_a_model():
    """Objects implementing Layer, Loss and Optimizer train in a Model: the gradient matches
    finite differences and one step is w - lr sign(g)."""
    x, y = regression_data(seed=6)
    model = dg.Model([Scale(), dg.layer("dense", units=2)], Quartic(), SignDescent(lr=0.01),
                     seed=0, input_shape=[3])
    assert model.num_params == 3 + 3 * 2 + 2
    grads = model.gradient(x, y)
    for g, e in zip(grads, fd_gradient(model, x, y), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    before = model.get_weights()
    model.fit(x, y, epochs=1, verbose=False)
    for w, b, g in zip(model.get_weights(), before, grads, strict=True):
        np.testing.assert_allclose(w, b - 0.01 * np.sign(g), rtol=1e-14)


# ---- training ---------------------------------------------------------------------------------


def test_fit_returns_history_with_one_loss_per_epoch():
    """fit returns a History with one float loss per epoch and the epoch numbers."""
    x, y = class_data()
    history = blog_model().fit(x, y, epochs=7, verbose=False)
    assert isinstance(history, dg.History)
    assert set(history.history) == {"loss"}
    assert len(history.history["loss"]) == 7
    assert all(isinstance(v, float) and np.isfinite(v) for v in history.history["loss"])
    assert history.epoch == list(range(7))


def test_full_batch_epoch_is_one_gradient_step():
    """A full-batch epoch of sgd(lr) records the loss before the step and moves the weights
    by -lr times the (finite-difference) gradient."""
    x, y = class_data(2)
    model = blog_model(seed=8, input_shape=[1])
    before = model.get_weights()
    loss_before = model.evaluate(x, y)
    assert isinstance(loss_before, float)
    expected_grad = fd_gradient(model, x, y)
    history = model.fit(x, y, epochs=1, verbose=False)
    assert history.history["loss"][0] == pytest.approx(loss_before, rel=1e-12)
    for w, b, g in zip(model.get_weights(), before, expected_grad, strict=True):
        np.testing.assert_allclose(w, b - 0.1 * g, rtol=1e-7, atol=1e-9)


def test_training_lowers_the_loss():
    """A hundred epochs of the blog's network lower its loss."""
    x, y = class_data()
    history = blog_model().fit(x, y, epochs=100, verbose=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0]


def test_verbose_false_prints_nothing(capsys):
    """fit(verbose=False) writes nothing to stdout or stderr, on short and long runs."""
    x, y = class_data()
    model = blog_model()
    model.fit(x, y, epochs=3, verbose=False)
    model.fit(x, y, epochs=60, batch_size=10, verbose=False)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


class _FakeTerminal:
    """A text stream that says it is a terminal, so tqdm draws."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_verbose_draws_a_progress_bar_on_a_terminal_only(monkeypatch, capsys):
    """With verbose on, a long run draws an epoch bar on a terminal and nothing elsewhere."""
    x, y = class_data()
    blog_model().fit(x, y, epochs=20, verbose=True)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    terminal = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    blog_model().fit(x, y, epochs=20, verbose=True)
    drawn = "".join(terminal.parts)
    assert "epochs" in drawn and "20" in drawn


def test_minibatch_shuffling_is_reproducible_with_the_same_seed():
    """Shuffled mini-batches give identical losses and weights for one seed, others for another,
    and differ from unshuffled batches."""
    x, y = class_data(4, n=50)

    def run(seed: int, shuffle: bool = True) -> tuple[list[float], list[np.ndarray]]:
        model = blog_model(seed=seed)
        history = model.fit(x, y, epochs=6, batch_size=7, shuffle=shuffle, verbose=False)
        return history.history["loss"], model.get_weights()

    losses_a, weights_a = run(11)
    losses_b, weights_b = run(11)
    assert losses_a == losses_b
    assert_weights_equal(weights_a, weights_b)
    losses_c, _ = run(12)
    assert losses_c != losses_a
    losses_d, _ = run(11, shuffle=False)
    assert losses_d != losses_a


def test_batch_size_at_least_n_is_full_batch():
    """batch_size >= N trains exactly as batch_size=None."""
    x, y = class_data()
    a, b = blog_model(seed=3), blog_model(seed=3)
    ha = a.fit(x, y, epochs=5, verbose=False)
    hb = b.fit(x, y, epochs=5, batch_size=10 * x.size, verbose=False)
    assert ha.history["loss"] == hb.history["loss"]
    assert_weights_equal(a.get_weights(), b.get_weights())


def test_epoch_loss_is_the_sample_weighted_mean_of_batch_losses():
    """With unshuffled batches of 4, 4 and 2 rows, the epoch loss weighs each batch by its rows."""
    x, y = class_data(5, n=10)
    model = blog_model(seed=1, input_shape=[1])
    probe = blog_model(seed=1, input_shape=[1])
    batch_losses = []
    for rows in (slice(0, 4), slice(4, 8), slice(8, 10)):
        batch_losses.append((probe.evaluate(x[rows], y[rows]), x[rows].size))
        probe.fit(x[rows], y[rows], epochs=1, verbose=False)
    expected = sum(v * n for v, n in batch_losses) / 10
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=False)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-12)
    assert_weights_equal(model.get_weights(), probe.get_weights())


def test_validation_data_gives_val_loss_each_epoch():
    """validation_data adds val_loss per epoch, the loss on it after that epoch's steps."""
    x, y = class_data(0)
    xv, yv = class_data(1, n=15)
    model = blog_model()
    history = model.fit(x, y, epochs=4, validation_data=(xv, yv), verbose=False)
    assert set(history.history) == {"loss", "val_loss"}
    assert len(history.history["val_loss"]) == 4
    assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(xv, yv), rel=1e-12)
    assert history.history["val_loss"] != history.history["loss"]


def test_plain_function_callback_is_called_once_per_epoch():
    """A plain function in callbacks is called once per epoch with (epoch, logs)."""
    x, y = class_data()
    calls: list[tuple[int, dict[str, float]]] = []
    history = blog_model().fit(x, y, epochs=5, verbose=False,
                               callbacks=[lambda epoch, logs: calls.append((epoch, dict(logs)))])
    assert [epoch for epoch, _ in calls] == [0, 1, 2, 3, 4]
    assert [logs["loss"] for _, logs in calls] == history.history["loss"]


def test_callback_hooks_run_in_order():
    """A Callback gets on_train_begin once, on_epoch_end per epoch, on_train_end once."""
    events: list[str] = []

    class Recorder(Callback):
        def on_train_begin(self, model):
            events.append("begin")

        def on_epoch_end(self, epoch, logs, model):
            events.append(f"epoch {epoch}")

        def on_train_end(self, model):
            events.append("end")

    x, y = class_data()
    blog_model().fit(x, y, epochs=3, callbacks=[Recorder()], verbose=False)
    assert events == ["begin", "epoch 0", "epoch 1", "epoch 2", "end"]


def test_a_callback_can_stop_training():
    """Setting model.stop_training in a callback ends fit after that epoch."""
    x, y = class_data()

    def stop_at_two(epoch: int, logs: dict[str, float], model: dg.Model) -> None:
        if epoch == 2:
            model.stop_training = True

    class Stopper(Callback):
        def on_epoch_end(self, epoch, logs, model):
            stop_at_two(epoch, logs, model)

    history = blog_model().fit(x, y, epochs=50, callbacks=[Stopper()], verbose=False)
    assert history.epoch == [0, 1, 2]


def test_epoch_end_needs_a_callable():
    """EpochEnd of something not callable raises ConfigError."""
    with pytest.raises(dg.ConfigError):
        EpochEnd(3)


@pytest.mark.parametrize("patience", [0, 2])
def test_early_stopping_stops_after_patience(patience):
    """When the monitored loss stops improving, EarlyStopping ends fit after `patience` more
    epochs (here nothing counts as improving after the first epoch)."""
    x, y = class_data()
    stopper = EarlyStopping(monitor="loss", patience=patience, min_delta=1e9)
    history = blog_model().fit(x, y, epochs=30, callbacks=[stopper], verbose=False)
    assert len(history.history["loss"]) == patience + 2
    assert stopper.stopped_epoch == patience + 1


def test_early_stopping_does_not_stop_while_improving():
    """While the loss keeps falling, EarlyStopping lets every epoch run."""
    x, y = class_data()
    stopper = EarlyStopping(monitor="loss", patience=0)
    history = blog_model().fit(x, y, epochs=15, callbacks=[stopper], verbose=False)
    assert len(history.history["loss"]) == 15
    assert stopper.stopped_epoch is None


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_restore_best_weights(restore):
    """restore_best_weights on "loss" puts back the weights the best epoch started from (its
    loss is measured before the epoch's update); without it the last weights stay."""
    x, y = class_data()
    seen: list[list[np.ndarray]] = []
    model = blog_model()
    model.build((1,))
    initial = model.get_weights()
    recorder = EpochEnd(lambda epoch, logs: seen.append(model.get_weights()))
    stopper = EarlyStopping(monitor="loss", patience=1, min_delta=1e9,
                            restore_best_weights=restore)
    model.fit(x, y, epochs=30, callbacks=[recorder, stopper], verbose=False)
    assert len(seen) == 3
    assert weights_differ(seen[0], seen[-1])
    assert_weights_equal(model.get_weights(), initial if restore else seen[-1])


def test_early_stopping_restores_weights_that_score_the_best_loss():
    """On a diverging run (full batch), the restored weights evaluate to the best epoch loss."""
    x, y = regression_data()
    model = dg.Model([{"type": "dense", "units": 2}], "mse", {"type": "sgd", "lr": 2.5}, seed=0)
    stopper = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=30, shuffle=False, callbacks=[stopper], verbose=False)
    losses = history.history["loss"]
    assert losses[-1] > losses[0]  # it did diverge
    assert model.evaluate(x, y) == pytest.approx(min(losses), rel=1e-12)


def test_early_stopping_on_val_loss_finds_the_best_validation_epoch():
    """Monitoring val_loss with restore keeps the weights of the lowest val_loss seen."""
    x, y = class_data(0, n=30)
    xv, yv = class_data(9, n=30)
    seen: list[tuple[float, list[np.ndarray]]] = []
    # an aggressive learning rate makes the validation loss wander
    model = dg.Model.from_config({**BLOG, "optimizer": {"type": "sgd", "lr": 3.0}, "seed": 0})
    recorder = EpochEnd(lambda epoch, logs: seen.append((logs["val_loss"], model.get_weights())))
    stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model.fit(x, y, epochs=200, validation_data=(xv, yv), callbacks=[recorder, stopper],
              verbose=False)
    best = min(range(len(seen)), key=lambda i: seen[i][0])
    assert_weights_equal(model.get_weights(), seen[best][1])
    assert model.evaluate(xv, yv) == pytest.approx(seen[best][0], rel=1e-12)


def test_early_stopping_on_missing_metric_raises_config_error():
    """Watching val_loss without validation data raises ConfigError saying to pass it."""
    x, y = class_data()
    with pytest.raises(dg.ConfigError, match="validation_data"):
        blog_model().fit(x, y, epochs=3, callbacks=[EarlyStopping(monitor="val_loss")],
                         verbose=False)


@pytest.mark.parametrize("kwargs", [{"patience": -1}, {"patience": 1.5}, {"min_delta": -0.1}])
def test_early_stopping_rejects_bad_settings(kwargs):
    """A negative or fractional patience, or a negative min_delta, raises ConfigError."""
    with pytest.raises(dg.ConfigError):
        EarlyStopping(**kwargs)


# ---- weights ----------------------------------------------------------------------------------


def test_weights_are_kernel_then_bias_per_layer():
    """get_weights orders each layer's kernel then bias, and predict is the NumPy forward pass
    over those arrays in that order."""
    x, _ = class_data()
    model = blog_model(seed=3, input_shape=[1])
    k1, b1, k2, b2 = model.get_weights()
    expected = _sigmoid((x[:, None] @ k1 + b1) @ k2 + b2)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-13)


def test_set_weights_then_predict_matches_hand_computation():
    """After set_weights with chosen numbers, predict gives sigmoid((x k1 + b1) k2 + b2)."""
    model = blog_model(input_shape=[1])
    weights = [np.array([[1.0, -2.0]]), np.array([0.5, 0.25]), np.array([[3.0], [-1.0]]),
               np.array([-0.5])]
    model.set_weights(weights)
    x = np.array([-1.0, 0.0, 2.0])
    hidden = np.stack([1.0 * x + 0.5, -2.0 * x + 0.25], axis=1)
    expected = _sigmoid(hidden @ np.array([[3.0], [-1.0]]) - 0.5)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-14)
    assert_weights_equal(model.get_weights(), weights)


def test_get_weights_returns_copies():
    """Changing an array from get_weights leaves the model's weights alone."""
    model = blog_model(input_shape=[1])
    weights = model.get_weights()
    weights[0][...] = 123.0
    assert not np.any(model.get_weights()[0] == 123.0)


def test_set_weights_copies_its_input():
    """Changing an array after set_weights leaves the model's weights alone."""
    model = blog_model(input_shape=[1])
    weights = [np.ones((1, 2)), np.ones(2), np.ones((2, 1)), np.ones(1)]
    model.set_weights(weights)
    weights[0][...] = 5.0
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((1, 2)))


@pytest.mark.parametrize(
    "weights",
    [
        [np.ones((1, 2)), np.ones(2), np.ones((2, 1))],
        [np.ones((1, 2)), np.ones(2), np.ones((2, 1)), np.ones(1), np.ones(1)],
        [np.ones((2, 1)), np.ones(2), np.ones((2, 1)), np.ones(1)],
        [np.ones((1, 2)), np.ones(3), np.ones((2, 1)), np.ones(1)],
    ],
    ids=["too-few", "too-many", "kernel-transposed", "bias-too-long"],
)
def test_set_weights_with_wrong_count_or_shape_raises_shape_error(weights):
    """set_weights with the wrong number or shape of arrays raises ShapeError and changes
    nothing."""
    model = blog_model(input_shape=[1])
    before = model.get_weights()
    with pytest.raises(dg.ShapeError):
        model.set_weights(weights)
    assert_weights_equal(model.get_weights(), before)


def test_set_weights_with_nan_raises_data_error():
    """set_weights refuses NaN weights with DataError and keeps the old ones."""
    model = blog_model(input_shape=[1])
    before = model.get_weights()
    with pytest.raises(dg.DataError):
        model.set_weights([np.full((1, 2), np.nan), np.ones(2), np.ones((2, 1)), np.ones(1)])
    assert_weights_equal(model.get_weights(), before)


def test_unbuilt_model_has_no_weights_yet():
    """Asking an unbuilt model for weights or predictions raises ConfigError saying to fit."""
    model = blog_model()
    with pytest.raises(dg.ConfigError, match="fit"):
        model.get_weights()
    with pytest.raises(dg.ConfigError):
        model.predict(np.ones(3))


# ---- files ------------------------------------------------------------------------------------


def trained_model(seed: int = 0) -> tuple[dg.Model, np.ndarray]:
    x, y = class_data(seed)
    model = blog_model(seed=seed)
    model.fit(x, y, epochs=5, verbose=False)
    return model, x


def test_save_load_round_trip(tmp_path):
    """Model.load of a saved model gives the same config, weights and predictions."""
    model, x = trained_model()
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = dg.Model.load(path)
    assert loaded.get_config() == model.get_config()
    assert_weights_equal(loaded.get_weights(), model.get_weights())
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_saved_file_is_a_plain_npz_with_a_json_config(tmp_path):
    """The file is one .npz readable without pickle, with the config as a JSON string."""
    model, _ = trained_model()
    path = tmp_path / "model.npz"
    model.save(str(path))
    with np.load(path, allow_pickle=False) as data:
        config = json.loads(str(data["config"]))
        assert config == model.get_config()
        weights = [data[f"weight_{i}"] for i in range(4)]
    assert_weights_equal(weights, model.get_weights())


def test_save_overwrites_an_earlier_file(tmp_path):
    """Saving over an existing file replaces it with the new model."""
    path = tmp_path / "model.npz"
    first, x = trained_model(0)
    second, _ = trained_model(1)
    first.save(path)
    second.save(path)
    np.testing.assert_array_equal(dg.Model.load(path).predict(x), second.predict(x))


def _write_bad_file(kind: str, path: Path, good: Path) -> None:
    if kind == "corrupt":
        path.write_bytes(np.random.default_rng(0).bytes(600))
    elif kind == "text":
        path.write_text("not a model\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "foreign-npz":
        np.savez(path, a=np.arange(3))
    elif kind == "foreign-npy":
        with open(path, "wb") as f:
            np.save(f, np.arange(3.0))
    elif kind == "damaged-config":
        with open(path, "wb") as f:
            np.savez(f, format=np.array("dualgrad-model/1"), config=np.array("{not json"))
    elif kind == "missing-weights":
        with np.load(good, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != "weight_3"}
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    elif kind == "directory":
        path.mkdir()
    elif kind != "missing":
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    ["corrupt", "text", "empty", "truncated", "foreign-npz", "foreign-npy", "damaged-config",
     "missing-weights", "directory", "missing"],
)
def test_load_of_a_bad_file_raises_model_file_error(tmp_path, kind):
    """Loading a corrupt, truncated, foreign, damaged or missing file raises ModelFileError
    (a ValueError) naming the file."""
    model, _ = trained_model()
    good = tmp_path / "good.npz"
    model.save(good)
    path = tmp_path / "bad.npz"
    _write_bad_file(kind, path, good)
    with pytest.raises(dg.ModelFileError) as info:
        dg.Model.load(path)
    assert isinstance(info.value, ValueError)
    assert "bad.npz" in str(info.value)


def _partial_savez(f: Any, **arrays: Any) -> None:
    f.write(b"PK\x03\x04 half a zip")
    raise OSError("disk full")


def _failing_replace(src: Any, dst: Any) -> None:
    raise OSError("rename failed")


def _interrupted_savez(f: Any, **arrays: Any) -> None:
    f.write(b"PK\x03\x04")
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("target", "name", "fake", "error"),
    [
        (np, "savez", _partial_savez, OSError),
        (os, "replace", _failing_replace, OSError),
        (np, "savez", _interrupted_savez, KeyboardInterrupt),
    ],
    ids=["crash-while-writing", "crash-at-rename", "interrupt-while-writing"],
)
def test_save_is_atomic(tmp_path, monkeypatch, target, name, fake, error):
    """A save that crashes midway leaves the earlier file whole and no temporary file behind."""
    old, x = trained_model(0)
    new, _ = trained_model(1)
    path = tmp_path / "model.npz"
    old.save(path)
    before = path.read_bytes()
    monkeypatch.setattr(target, name, fake)
    with pytest.raises(error):
        new.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    np.testing.assert_array_equal(dg.Model.load(path).predict(x), old.predict(x))


def test_save_into_a_missing_folder_fails_cleanly(tmp_path):
    """Saving into a folder that does not exist is a ModelFileError naming the folder, and
    creates nothing."""
    model, _ = trained_model()
    with pytest.raises(dg.ModelFileError, match="nope"):
        model.save(tmp_path / "nope" / "model.npz")
    assert list(tmp_path.iterdir()) == []


# ---- non-finite loss --------------------------------------------------------------------------


def test_nonfinite_loss_stops_training_and_keeps_the_last_finite_weights():
    """A learning rate that blows the loss up raises NonFiniteLossError (a FloatingPointError),
    and the model keeps the last weights whose loss was finite: they score the last logged
    loss."""
    x = np.linspace(-1, 1, 20)
    y = 3 * x - 2
    model = dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "sgd", "lr": 1e3}, seed=0)
    seen: list[tuple[list[np.ndarray], float]] = []
    with pytest.raises(dg.NonFiniteLossError) as info:
        model.fit(x, y, epochs=500, verbose=False,
                  callbacks=[lambda epoch, logs: seen.append((model.get_weights(),
                                                              logs["loss"]))])
    assert isinstance(info.value, FloatingPointError)
    assert 1 < len(seen) < 500
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert_weights_equal(after, seen[-2][0])
    assert model.evaluate(x, y) == pytest.approx(seen[-1][1], rel=1e-12)


def test_nonfinite_loss_from_the_first_step_keeps_the_initial_weights():
    """If the very first loss is infinite, the model keeps its initial weights."""
    x = np.array([1e200, -1e200, 3e200])
    y = np.array([0.0, 1.0, 2.0])
    model = dg.Model([{"type": "dense", "units": 1, "initializer": "normal"}], "mse", "sgd",
                     seed=0, input_shape=[1])
    before = model.get_weights()
    with pytest.raises(dg.NonFiniteLossError):
        model.fit(x, y, epochs=3, verbose=False)
    assert_weights_equal(model.get_weights(), before)


# ---- bad input --------------------------------------------------------------------------------


def _bad_calls() -> list[tuple[str, dict[str, Any], type[Exception], str]]:
    """Each bad call to fit, the exact exception it raises and a word of its message."""
    x, y = class_data()
    nan_x = x.copy()
    nan_x[3] = np.nan
    inf_y = y.copy()
    inf_y[1] = np.inf
    half = y.copy()
    half[0] = 0.5
    data, config = dg.DataError, dg.ConfigError
    return [
        ("rows-differ", {"x": x, "y": y[:-1]}, data, "rows"),
        ("target-0.5", {"x": x, "y": half}, data, "0 or 1"),
        ("nan-in-x", {"x": nan_x, "y": y}, data, "NaN"),
        ("inf-in-y", {"x": x, "y": inf_y}, data, "infinite"),
        ("empty-x", {"x": np.empty(0), "y": np.empty(0)}, data, "empty"),
        ("scalar-x", {"x": 1.0, "y": 1.0}, data, "scalar"),
        ("strings", {"x": np.array(["a", "b"]), "y": np.array([0.0, 1.0])}, data, "numbers"),
        ("y-two-columns", {"x": x, "y": np.stack([y, y], axis=1)}, data, "predicts"),
        ("epochs-0", {"x": x, "y": y, "epochs": 0}, config, "epochs"),
        ("epochs-float", {"x": x, "y": y, "epochs": 2.0}, config, "epochs"),
        ("batch-size-0", {"x": x, "y": y, "batch_size": 0}, config, "batch_size"),
        ("validation-nan", {"x": x, "y": y, "validation_data": (nan_x, y)}, data, "NaN"),
        ("validation-not-a-pair", {"x": x, "y": y, "validation_data": (x,)}, data, "pair"),
        ("validation-target-0.5", {"x": x, "y": y, "validation_data": (x, half)}, data,
         "0 or 1"),
    ]


BAD_CALLS = _bad_calls()


def _state(model: dg.Model) -> dict[str, Any]:
    """What a failed fit must not change: built or not, weights, optimizer state, generator."""
    state: dict[str, Any] = {"built": model.built,
                             "rng": json.dumps(model._rng.bit_generator.state, default=str)}
    if model.built:
        state["weights"] = model.get_weights()
        opt = model.optimizer_state
        state["opt"] = opt
        state["opt_arrays"] = [a.copy() for a in _arrays(opt)]
    return state


def _arrays(obj: Any) -> list[np.ndarray]:
    if attrs.has(type(obj)):
        return [a for f in attrs.fields(type(obj)) for a in _arrays(getattr(obj, f.name))]
    if isinstance(obj, (tuple, list)):
        return [a for o in obj for a in _arrays(o)]
    return [obj] if isinstance(obj, np.ndarray) else []


def _assert_same_state(model: dg.Model, state: dict[str, Any]) -> None:
    assert model.built == state["built"]
    assert json.dumps(model._rng.bit_generator.state, default=str) == state["rng"]
    if state["built"]:
        assert_weights_equal(model.get_weights(), state["weights"])
        assert model.optimizer_state is state["opt"]
        for a, b in zip(_arrays(model.optimizer_state), state["opt_arrays"], strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("trained", [False, True], ids=["unbuilt", "trained"])
@pytest.mark.parametrize(("case", "call", "error", "word"), BAD_CALLS,
                         ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_before_any_step_and_leaves_the_model_as_it_was(case, call, error,
                                                                         word, trained):
    """Bad data or arguments to fit raise DataError or ConfigError naming the fault, before any
    step: an unbuilt model stays unbuilt; a trained one keeps its weights, optimizer state and
    random generator."""
    model = dg.Model.from_config({**BLOG, "optimizer": {"type": "sgd", "lr": 0.1,
                                                        "momentum": 0.9}, "seed": 0})
    if trained:
        x, y = class_data(7)
        model.fit(x, y, epochs=2, verbose=False)
    state = _state(model)
    steps: list[int] = []
    with pytest.raises(error, match=word) as info:
        model.fit(**{"epochs": 3, "verbose": False,
                     "callbacks": [lambda epoch, logs: steps.append(epoch)], **call})
    assert type(info.value) is error
    assert steps == []
    _assert_same_state(model, state)


@pytest.mark.parametrize(
    ("layers", "optimizer", "word"),
    [
        ([{"type": "dense", "units": 2, "unit": 3}], "sgd", "'unit'"),
        ([{"type": "dense", "units": 2}], "sgdm", "sgdm"),
        ([{"type": "dense", "units": 2}], {"type": "sgd", "lr": -1}, "lr"),
    ],
    ids=["unknown-layer-key", "unknown-optimizer", "negative-lr"],
)
def test_bad_parts_raise_config_error_when_the_model_is_made(layers, optimizer, word):
    """A layer config with an unknown key or an unknown optimizer name raises ConfigError
    (a ValueError) naming it, when the model is declared."""
    with pytest.raises(dg.ConfigError) as info:
        dg.Model(layers, "mse", optimizer, seed=0)
    assert isinstance(info.value, ValueError)
    assert word in str(info.value)


BAD_DATA = [*BAD_CALLS[:8],
            ("x-two-features", {"x": np.ones((5, 2)), "y": np.ones(5)}, dg.DataError,
             "shape")]


@pytest.mark.parametrize(("case", "call", "error", "word"), BAD_DATA,
                         ids=[c[0] for c in BAD_DATA])
def test_bad_input_to_gradient_and_evaluate_raises_dualgrad_errors(case, call, error, word):
    """gradient and evaluate of a built model check data like fit does, samples' shape
    included: DataError naming the fault."""
    model = blog_model(input_shape=[1])
    for method in (model.gradient, model.evaluate):
        with pytest.raises(error, match=word) as info:
            method(call["x"], call["y"])
        assert type(info.value) is error


def test_fit_on_samples_of_another_shape_leaves_a_trained_model_alone():
    """fit with two features on a model built for one raises DataError before any step."""
    x, y = class_data(7)
    model = blog_model()
    model.fit(x, y, epochs=2, verbose=False)
    state = _state(model)
    with pytest.raises(dg.DataError):
        model.fit(np.stack([x, x], axis=1), y, verbose=False)
    _assert_same_state(model, state)


def test_early_stopping_on_val_loss_without_validation_data_fails_before_training():
    """EarlyStopping watching val_loss with no validation_data is a ConfigError, raised before
    any step, so the model stays unbuilt."""
    x, y = class_data()
    model = blog_model()
    with pytest.raises(dg.ConfigError, match="val_loss"):
        model.fit(x, y, epochs=3, verbose=False,
                  callbacks=[EarlyStopping(monitor="val_loss", patience=1)])
    assert not model.built
