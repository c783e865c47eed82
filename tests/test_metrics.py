"""Metrics in a model: in its config, in fit's History and logs, in evaluate's dict, and watched
by EarlyStopping in the direction each metric declares."""

from __future__ import annotations

import types

import numpy as np
import pytest

import dualgrad as dg
from dualgrad.callbacks import EarlyStopping


def data(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return x, (x[:, 0] + x[:, 1] > 0).astype(float)


def classifier(**kwargs: object) -> dg.Model:
    return dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                    {"type": "adam", "lr": 0.1}, seed=0, **kwargs)


def test_metrics_are_kept_in_the_config_and_rebuild():
    """Model(metrics=[...]) keeps each metric's config; from_config rebuilds the same model."""
    model = classifier(metrics=["accuracy", {"type": "binary_accuracy", "threshold": 0.3}])
    config = model.get_config()
    assert config["metrics"] == [{"type": "accuracy"},
                                 {"type": "binary_accuracy", "threshold": 0.3}]
    assert dg.Model.from_config(config).get_config() == config


def test_fit_records_metrics_and_their_validation_twins():
    """History holds accuracy and val_accuracy per epoch, and callbacks see them in logs."""
    x, y = data()
    seen = []
    history = classifier(metrics=["accuracy"]).fit(
        x[:40], y[:40], epochs=4, validation_data=(x[40:], y[40:]), verbose=False,
        callbacks=[lambda epoch, logs: seen.append(sorted(logs))])
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 4 for v in history.history.values())
    assert seen[-1] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.history["accuracy"][-1] > history.history["accuracy"][0] - 1e-12


def test_evaluate_returns_the_loss_or_a_dict_with_the_metrics():
    """evaluate(x, y) keeps returning the loss; return_dict=True adds each metric by name."""
    x, y = data()
    model = classifier(metrics=["accuracy", "auc"])
    model.fit(x, y, epochs=20, verbose=False)
    loss = model.evaluate(x, y)
    scores = model.evaluate(x, y, return_dict=True)
    assert isinstance(loss, float) and scores["loss"] == loss
    assert scores["accuracy"] == np.mean(model.predict_classes(x) == y)
    assert 0.9 < scores["auc"] <= 1.0


def test_accuracy_of_a_softmax_head_compares_classes():
    """accuracy on K outputs compares the argmax with the class label."""
    x, y = data()
    model = dg.Model([{"type": "dense", "units": 2}], "softmax_cross_entropy", "adam", seed=0,
                     metrics=["accuracy"], input_shape=(2,))
    acc = model.evaluate(x, y, return_dict=True)["accuracy"]
    assert acc == np.mean(model.predict_classes(x) == y)


@pytest.mark.parametrize(("metrics", "word"), [
    ("accuracy", "list"), (["accurcy"], "Did you mean 'accuracy'"),
    (["mae", "mae"], "twice"), ([{"type": "binary_accuracy", "threshold": 2}], "threshold"),
])
def test_bad_metrics_are_config_errors(metrics, word):
    """metrics as a string, an unknown name, a duplicate or a bad option: ConfigError."""
    with pytest.raises(dg.ConfigError, match=word):
        classifier(metrics=metrics)


def test_keras_metric_names_say_which_to_use():
    """'mean_absolute_error' names dualgrad's 'mae'."""
    with pytest.raises(dg.ConfigError, match="dualgrad's 'mae'"):
        classifier(metrics=["mean_absolute_error"])


def test_auc_of_one_class_is_nan_and_of_several_outputs_an_error():
    """AUC is undefined for one class (NaN) and refused for several outputs (ConfigError)."""
    auc = dg.metric("auc")
    assert np.isnan(auc(np.ones((3, 1)), np.array([[0.1], [0.5], [0.9]])))
    with pytest.raises(dg.ConfigError, match="binary"):
        auc(np.eye(3), np.eye(3))


def _watch(stop: EarlyStopping, metric: str, values: list[float]) -> int | None:
    """Feed `values` of `metric` to `stop` as epochs of a model reporting that metric."""
    model = types.SimpleNamespace(metrics=[dg.metric(metric)], stop_training=False)
    stop.on_train_begin(model)
    for epoch, value in enumerate(values):
        stop.on_epoch_end(epoch, {metric: value}, model)
        if model.stop_training:
            break
    return stop.stopped_epoch


@pytest.mark.parametrize(("metric", "mode", "values", "stopped"), [
    ("accuracy", "auto", [0.5, 0.6, 0.7, 0.65], 3),   # accuracy: higher is better
    ("accuracy", "max", [0.5, 0.6, 0.7, 0.65], 3),
    ("accuracy", "min", [0.5, 0.6, 0.7, 0.65], 1),
    ("mae", "auto", [0.5, 0.4, 0.3, 0.35], 3),         # an error: lower is better
])
def test_early_stopping_watches_a_metric_in_its_direction(metric, mode, values, stopped):
    """mode "max"/"min" set the direction; "auto" takes the metric's declared one."""
    stop = EarlyStopping(monitor=metric, mode=mode)
    assert _watch(stop, metric, values) == stopped
    assert stop.best == (max if stop._sign < 0 else min)(values[:stopped])


def test_early_stopping_on_val_accuracy_in_fit():
    """EarlyStopping(monitor="val_accuracy", mode="max") is accepted and stops a fit."""
    x, y = data()
    stop = EarlyStopping(monitor="val_accuracy", patience=2, mode="max")
    history = classifier(metrics=["accuracy"]).fit(
        x[:40], y[:40], epochs=200, validation_data=(x[40:], y[40:]), callbacks=[stop],
        verbose=False)
    assert stop.stopped_epoch is not None and len(history.epoch) < 200


def test_early_stopping_on_an_unreported_metric_is_a_config_error():
    """Watching a metric the model does not report says how to get it."""
    x, y = data()
    with pytest.raises(dg.ConfigError, match="metrics to the Model"):
        classifier().fit(x, y, callbacks=[EarlyStopping(monitor="accuracy")], verbose=False)
    with pytest.raises(dg.ConfigError, match="mode"):
        EarlyStopping(mode="biggest")
