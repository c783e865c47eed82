"""Everyday comfort: model.summary(), and dg.register for parts defined in a script."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import pytest

import dualgrad as dg
from dualgrad import _registry


@pytest.fixture
def clean_local() -> Iterator[None]:
    """Forget, after the test, what it registered in-process."""
    before = dict(_registry._LOCAL)
    yield
    _registry._LOCAL.clear()
    _registry._LOCAL.update(before)
    _registry.reload()


@attrs.define(frozen=True)
class HalfMSE(dg.Loss):
    """Half the mean squared error."""

    name = "half_mse"

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        return 0.5 * dg.mean((y_pred - y_true) ** 2)


@attrs.define(frozen=True)
class Negate(dg.Layer):
    """-x, no weights."""

    name = "negate"

    def init(self, input_shape: tuple[int, ...], rng: np.random.Generator) -> list[np.ndarray]:
        return []

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def __call__(self, params: Any, x: Any) -> Any:
        return -x


def test_summary_lists_layers_shapes_and_weight_counts():
    """summary() gives one row per layer (output shape, weights) and the total."""
    model = dg.Model([{"type": "dense", "units": 4, "activation": "relu"},
                      {"type": "dropout", "rate": 0.2}, {"type": "dense", "units": 2}],
                     "mse", "adam", seed=0, input_shape=(3,))
    printed: list[str] = []
    text = model.summary(print_fn=printed.append)
    assert printed == [text]
    lines = text.splitlines()
    assert lines[1].split() == ["dense(4)", "(4,)", "16"]
    assert lines[2].split() == ["dropout", "(4,)", "0"]
    assert lines[3].split() == ["dense(2)", "(2,)", "10"]
    assert lines[4].split() == ["total", "26"]


def test_summary_of_an_unbuilt_model_says_to_build_it():
    """An unbuilt model has no shapes yet: ConfigError saying how to build it."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "adam")
    with pytest.raises(dg.ConfigError, match="input_shape"):
        model.summary()


def test_registered_parts_make_models_that_save_and_load(clean_local, tmp_path):
    """A loss and a layer registered in-process train, get_config and save; the file loads."""
    dg.register(HalfMSE, kind="loss")
    dg.register(Negate, kind="layer", name="neg")
    x = np.linspace(-1, 1, 20)
    model = dg.Model([{"type": "dense", "units": 1}, "neg"], HalfMSE(), "adam", seed=0)
    model.fit(x, 2 * x, epochs=3, verbose=False)
    config = model.get_config()
    assert config["loss"] == {"type": "half_mse"}
    assert config["layers"][1] == {"type": "neg"}
    model.save(tmp_path / "m.npz")
    loaded = dg.Model.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert "local" in {info.name for info in dg.plugins()}


def test_loading_a_file_whose_part_is_not_registered_names_it(clean_local, tmp_path):
    """In a process without the registration, loading says which name is missing and how
    to register it."""
    dg.register(HalfMSE, kind="loss")
    model = dg.Model([{"type": "dense", "units": 1}], "half_mse", "adam", seed=0,
                     input_shape=(1,))
    model.save(tmp_path / "m.npz")
    _registry._LOCAL.clear()
    _registry.reload()
    with pytest.raises(dg.ModelFileError, match=r"'half_mse'.*dualgrad\.register"):
        dg.Model.load(tmp_path / "m.npz")


@pytest.mark.parametrize(("args", "word"), [
    ((HalfMSE, "gizmo"), "no kind 'gizmo'"),
    ((HalfMSE, "layer"), "not a dualgrad.Layer subclass"),
    ((HalfMSE, "loss", "mse"), "taken by the plugin 'builtin'"),
    ((HalfMSE, "loss", "a/b"), "without '/'"),
])
def test_bad_registrations_are_config_errors(clean_local, args, word):
    """An unknown kind, a wrong class, a taken or malformed name: ConfigError saying which."""
    with pytest.raises(dg.ConfigError, match=word):
        dg.register(*args)


def test_registering_again_replaces_the_earlier_class(clean_local):
    """A class redefined (a notebook cell run again) replaces the one registered before."""
    dg.register(HalfMSE, kind="loss")

    @attrs.define(frozen=True)
    class HalfMSE2(HalfMSE):
        name = "half_mse"

    dg.register(HalfMSE2, kind="loss")
    assert type(dg.loss("half_mse")) is HalfMSE2


def test_a_fit_that_learnt_nothing_says_why():
    """Unscaled features that leave a classifier at the majority class, its loss flat at the
    class frequencies', give a TrainingWarning pointing at scaling."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    model = dg.Model([{"type": "dense", "units": 32, "activation": "relu"},
                      {"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                     {"type": "sgd", "lr": 0.1}, seed=0)
    with pytest.warns(dg.TrainingWarning, match="standardise them"):
        model.fit(x, y, epochs=20, batch_size=32, verbose=False)


def test_a_fit_that_learnt_does_not_warn():
    """The same data standardised trains without a warning (warnings are errors here)."""
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    model = dg.Model([{"type": "normalization"},
                      {"type": "dense", "units": 32, "activation": "relu"},
                      {"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                     {"type": "sgd", "lr": 0.1}, seed=0)
    model.fit(x, y, epochs=20, batch_size=32, verbose=False)
