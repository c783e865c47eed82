"""fit's options for the data: validation_split (the last fraction, as Keras), sample_weight
and class_weight (each sample's loss weighed, also in recorded steps and shuffled batches)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import dualgrad as dg


def data(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    return x, x @ np.array([1.0, -2.0, 0.5]) + 0.3


def regression(optimizer: Any = "adam") -> dg.Model:
    return dg.Model([{"type": "dense", "units": 1}], "mse", optimizer, seed=0)


def classifier() -> dg.Model:
    return dg.Model([{"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                    {"type": "adam", "lr": 0.1}, seed=0)


def same_weights(a: dg.Model, b: dg.Model, atol: float = 0.0) -> None:
    for u, v in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(u, v, rtol=0, atol=atol)


def test_validation_split_holds_out_the_last_fraction():
    """validation_split=0.25 trains on the first 30 of 40 samples and validates on the last
    10, as fit(validation_data=those) does."""
    x, y = data()
    split = regression()
    history = split.fit(x, y, epochs=5, batch_size=8, validation_split=0.25, verbose=False)
    explicit = regression()
    expected = explicit.fit(x[:30], y[:30], epochs=5, batch_size=8,
                            validation_data=(x[30:], y[30:]), verbose=False)
    assert history.history == expected.history
    same_weights(split, explicit)


@pytest.mark.parametrize(("kwargs", "error", "word"), [
    ({"validation_split": 1.5}, dg.ConfigError, "fraction"),
    ({"validation_split": 0.99}, dg.DataError, "no training"),
    ({"validation_split": 0.2, "validation_data": "given"}, dg.ConfigError, "not both"),
    ({"sample_weight": np.ones(3)}, dg.DataError, "one weight per sample"),
    ({"sample_weight": -np.ones(40)}, dg.DataError, ">= 0"),
    ({"sample_weight": np.zeros(40)}, dg.DataError, "not all zero"),
    ({"class_weight": [1.0, 2.0]}, dg.ConfigError, "dict"),
])
def test_bad_fit_options_are_refused_before_training(kwargs, error, word):
    """A bad fraction, weight or class weight is an error saying what is wrong; the model is
    left unbuilt."""
    x, y = data()
    if kwargs.get("validation_data") == "given":
        kwargs["validation_data"] = (x, y)
    model = regression()
    with pytest.raises(error, match=word):
        model.fit(x, y, verbose=False, **kwargs)
    assert not model.built


def test_unit_sample_weights_train_as_none():
    """sample_weight of ones trains as no weights (to rounding)."""
    x, y = data()
    weighed, plain = regression(), regression()
    weighed.fit(x, y, epochs=10, batch_size=8, sample_weight=np.ones(40), verbose=False)
    plain.fit(x, y, epochs=10, batch_size=8, verbose=False)
    same_weights(weighed, plain, atol=1e-12)


def test_the_weighted_loss_is_the_mean_of_weight_times_each_loss():
    """The first epoch's full-batch loss is mean(w * (prediction - y)^2) at the start."""
    x, y = data()
    w = np.linspace(0.0, 2.0, 40)
    model = regression()
    model.build((3,))
    start = model.predict(x)[:, 0]
    history = model.fit(x, y, epochs=1, sample_weight=w, verbose=False)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(w * (start - y) ** 2),
                               rtol=1e-12)


def test_a_sample_of_weight_zero_does_not_move_the_weights():
    """Samples of weight 0 change nothing, whatever their targets, in shuffled mini-batches
    of recorded steps: the weights travel with their samples."""
    x, y = data()
    w = np.ones(40)
    w[::4] = 0.0
    runs = []
    for outlier in (1e3, -1e3):
        y_bad = y.copy()
        y_bad[::4] = outlier
        model = regression()
        model.fit(x, y_bad, epochs=6, batch_size=8, sample_weight=w, verbose=False)
        runs.append(model)
    same_weights(*runs)


def test_class_weight_is_a_weight_per_sample_of_the_class():
    """class_weight={1: 3} trains as sample_weight 3 for class 1, and tilts predictions."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    y = (x[:, 0] > 0.5).astype(float)
    by_class, by_sample, plain = classifier(), classifier(), classifier()
    by_class.fit(x, y, epochs=30, class_weight={1: 3.0}, verbose=False)
    by_sample.fit(x, y, epochs=30, sample_weight=np.where(y == 1, 3.0, 1.0), verbose=False)
    plain.fit(x, y, epochs=30, verbose=False)
    same_weights(by_class, by_sample)
    assert by_class.predict_classes(x).sum() > plain.predict_classes(x).sum()


def test_class_weight_of_one_hot_targets_reads_the_class_of_each_row():
    """For a softmax head, a sample's class is its label (or its one-hot row's argmax)."""
    x, _ = data(30)
    labels = np.arange(30) % 3
    models = []
    for targets in (labels, np.eye(3)[labels]):
        model = dg.Model([{"type": "dense", "units": 3}], "softmax_cross_entropy", "adam",
                         seed=0)
        model.fit(x, targets, epochs=3, class_weight={2: 5.0}, verbose=False)
        models.append(model)
    same_weights(*models)
    reference = dg.Model([{"type": "dense", "units": 3}], "softmax_cross_entropy", "adam",
                         seed=0)
    reference.fit(x, labels, epochs=3, sample_weight=np.where(labels == 2, 5.0, 1.0),
                  verbose=False)
    same_weights(models[0], reference)


def test_a_loss_without_per_sample_values_cannot_weigh_samples():
    """A loss that gives only its mean is a ConfigError naming per_sample, before training."""
    class MeanOnly(dg.Loss):
        name = "mean_only"

        def __call__(self, y_true: Any, y_pred: Any) -> Any:
            return dg.mean((y_pred - y_true) ** 2)

    x, y = data()
    model = dg.Model([{"type": "dense", "units": 1}], MeanOnly(), "adam", seed=0)
    with pytest.raises(dg.ConfigError, match="per_sample"):
        model.fit(x, y, sample_weight=np.ones(40), verbose=False)
    assert not model.built


def test_the_model_keeps_its_loss_after_a_weighted_fit():
    """After fit with weights the model's loss is the one it was given, and evaluate
    reads plain targets."""
    x, y = data()
    model = regression()
    model.fit(x, y, epochs=2, sample_weight=np.ones(40), verbose=False)
    assert model.loss == dg.loss("mse")
    assert model.get_config()["loss"] == {"type": "mse"}
    assert np.isfinite(model.evaluate(x, y))
