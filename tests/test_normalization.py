"""The normalization layer: adapted to the training data by fit (or by adapt), kept in the
model's config and file, and put first by the CLI's `[fit] standardize = true`."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import cli


def unscaled() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3)) * [100.0, 0.01, 5.0] + [1000.0, 0.0, -3.0]
    return x, (x[:, 0] - 1000.0 + 2e4 * x[:, 1] > 0).astype(float)


def model(*layers: dict) -> dg.Model:
    return dg.Model([*layers, {"type": "dense", "units": 1, "activation": "sigmoid"}],
                    "logloss", {"type": "adam", "lr": 0.1}, seed=0, metrics=["accuracy"])


def test_fit_adapts_the_layer_to_the_training_data(tmp_path):
    """The first fit learns each feature's mean and variance; the model trains on unscaled
    data; the file keeps the statistics."""
    x, y = unscaled()
    m = model({"type": "normalization"})
    history = m.fit(x, y, epochs=40, verbose=False)
    np.testing.assert_allclose(m.layers[0].mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(m.layers[0].variance, x.var(axis=0), rtol=1e-12)
    assert history.history["accuracy"][-1] > 0.9
    m.save(tmp_path / "m.npz")
    loaded = dg.Model.load(tmp_path / "m.npz")
    assert loaded.get_config() == m.get_config()
    np.testing.assert_array_equal(loaded.predict(x), m.predict(x))


def test_an_adapted_layer_keeps_its_statistics_in_later_fits():
    """A second fit on other data does not adapt again; adapt does, explicitly."""
    x, y = unscaled()
    m = model({"type": "normalization"})
    m.fit(x, y, epochs=1, verbose=False)
    before = m.layers[0].mean
    m.fit(x[:10] * 2, y[:10], epochs=1, verbose=False)
    assert m.layers[0].mean == before
    m.adapt(x[:10])
    np.testing.assert_allclose(m.layers[0].mean, x[:10].mean(axis=0), rtol=1e-12)


def test_a_layer_after_others_adapts_to_what_reaches_it():
    """After a dense layer, the statistics are those of the dense layer's outputs."""
    x, _ = unscaled()
    m = model({"type": "dense", "units": 2}, {"type": "normalization"})
    m.build((3,))
    reaching = x @ m.get_weights()[0] + m.get_weights()[1]
    m.adapt(x)
    np.testing.assert_allclose(m.layers[1].mean, reaching.mean(axis=0), rtol=1e-10)


def test_an_unadapted_layer_says_to_fit_or_adapt():
    """predict before any fit or adapt is a ConfigError saying what to do."""
    m = model({"type": "normalization"})
    m.build((3,))
    with pytest.raises(dg.ConfigError, match="adapt"):
        m.predict(np.ones((2, 3)))


@pytest.mark.parametrize(("config", "word"), [
    ({"mean": [0.0, 1.0]}, "together"),
    ({"mean": [0.0], "variance": [-1.0]}, ">= 0"),
    ({"mean": ["a"], "variance": [1.0]}, "numbers"),
])
def test_bad_statistics_are_config_errors(config, word):
    """Mean without variance, a negative variance, or non-numbers: ConfigError."""
    with pytest.raises(dg.ConfigError, match=word):
        dg.layer("normalization", **config)


def test_statistics_of_another_width_are_refused():
    """A layer adapted to 2 features refuses inputs of 3 (ConfigError, as any layer that
    cannot create its weights for the inputs)."""
    layer = dg.layer("normalization", mean=[0.0, 0.0], variance=[1.0, 1.0])
    m = dg.Model([layer, {"type": "dense", "units": 1}], "mse", "adam", seed=0)
    with pytest.raises(dg.ConfigError, match="2 features"):
        m.build((3,))


def test_cli_standardize_puts_a_normalization_first(tmp_path, capsys):
    """[fit] standardize = true trains through a first normalization layer."""
    x, y = unscaled()
    data = tmp_path / "data.csv"
    np.savetxt(data, np.column_stack([x, y]), delimiter=",", fmt="%.17g")
    config = tmp_path / "model.toml"
    config.write_text('loss = "logloss"\nseed = 0\noptimizer = {type = "adam", lr = 0.1}\n'
                      '[[layers]]\ntype = "dense"\nunits = 1\nactivation = "sigmoid"\n'
                      '[fit]\nepochs = 40\nstandardize = true\n')
    assert cli.main(["train", str(config), "--data", str(data), "--quiet"]) == 0
    loaded = dg.Model.load(tmp_path / "model.npz")
    assert loaded.get_config()["layers"][0]["type"] == "normalization"
    assert np.mean(loaded.predict_classes(x) == y) > 0.9
    capsys.readouterr()
