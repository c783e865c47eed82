"""Multi-class classification: the softmax cross-entropy, class labels, probabilities and
classes, the messages that steer a binary loss away from several classes, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import cli


def blobs(n: int = 90, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Separable clusters in 2-d, one per class, labels 0..classes-1 as ints."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    angle = 2 * np.pi * labels / classes
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 3
    return centres + rng.normal(scale=0.5, size=(n, 2)), labels


def classifier(classes: int = 3, **kwargs: object) -> dg.Model:
    return dg.Model([{"type": "dense", "units": classes}], "softmax_cross_entropy",
                    {"type": "adam", "lr": 0.1}, seed=0, **kwargs)


def test_softmax_cross_entropy_learns_integer_labels():
    """Integer labels (N,) against K outputs train a classifier that predicts them."""
    x, labels = blobs()
    model = classifier()
    history = model.fit(x, labels, epochs=60, verbose=False)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]
    assert (model.predict_classes(x) == labels).mean() > 0.95


def test_labels_and_one_hot_rows_give_the_same_loss():
    """Class labels, as (N,) or (N, 1), and their one-hot rows (N, K) are the same targets."""
    x, labels = blobs()
    model = classifier(input_shape=(2,))
    one_hot = np.eye(3)[labels]
    assert model.evaluate(x, labels) == model.evaluate(x, labels[:, None]) \
        == model.evaluate(x, one_hot)


def test_softmax_cross_entropy_is_finite_for_huge_logits():
    """Through log_softmax, logits of 1e4 give a finite loss and gradient."""
    model = classifier(input_shape=(2,))
    model.set_weights([np.full((2, 3), 1e4) * [1, 0, -1], np.zeros(3)])
    x, labels = blobs(9)
    assert np.isfinite(model.evaluate(x, labels))
    assert all(np.isfinite(g).all() for g in model.gradient(x, labels))


def test_a_label_outside_the_classes_is_a_data_error():
    """A label >= K (or fractional, or negative) is a DataError naming the range 0 to K-1."""
    x, labels = blobs()
    with pytest.raises(dg.DataError, match="labels 0 to 2"):
        classifier().fit(x, labels + 1, verbose=False)
    with pytest.raises(dg.DataError, match="labels 0 to 2"):
        classifier().fit(x, labels + 0.5, verbose=False)


def test_softmax_cross_entropy_on_one_output_points_to_logloss():
    """One output cannot hold a distribution over classes: the error says to use logloss."""
    x, labels = blobs(classes=2)
    with pytest.raises(dg.DataError, match="logloss"):
        classifier(classes=1).fit(x, labels, verbose=False)


def test_logloss_with_several_class_labels_points_to_the_softmax_loss():
    """logloss given labels 0, 1, 2 says to use softmax_cross_entropy, not to encode 0 and 1."""
    x, labels = blobs()
    model = dg.Model([{"type": "dense", "units": 3}], "logloss", "adam", seed=0)
    with pytest.raises(dg.DataError, match="softmax_cross_entropy") as info:
        model.fit(x, labels, verbose=False)
    assert "encode the classes as 0 and 1" not in str(info.value)


def test_labels_against_several_outputs_of_mse_point_to_the_softmax_loss():
    """A label column against K outputs of another loss suggests softmax_cross_entropy."""
    x, labels = blobs()
    model = dg.Model([{"type": "dense", "units": 3}], "mse", "adam", seed=0)
    with pytest.raises(dg.DataError, match="softmax_cross_entropy"):
        model.fit(x, labels, verbose=False)


def test_logloss_reading_a_softmax_warns():
    """A per-class binary cross-entropy of a softmax layer (the classic mistake) warns."""
    x, labels = blobs()
    model = dg.Model([{"type": "dense", "units": 3, "activation": "softmax"}], "logloss",
                     "adam", seed=0)
    with pytest.warns(dg.TrainingWarning, match="softmax_cross_entropy"):
        model.fit(x, np.eye(3)[labels], verbose=False)


def test_softmax_cross_entropy_after_a_softmax_reads_the_logits():
    """from_logits=False after a softmax layer is the same loss, computed on its logits."""
    x, labels = blobs(9)
    model = dg.Model([{"type": "dense", "units": 3, "activation": "softmax"}],
                     {"type": "softmax_cross_entropy", "from_logits": False}, "adam", seed=0,
                     input_shape=(2,))
    proba = model.predict(x)
    expected = -np.mean(np.log(proba[np.arange(9), labels]))
    np.testing.assert_allclose(model.evaluate(x, labels), expected, rtol=1e-12)


@pytest.mark.parametrize(("keras", "ours"), [
    ("categorical_crossentropy", "softmax_cross_entropy"),
    ("sparse_categorical_crossentropy", "softmax_cross_entropy"),
    ("binary_crossentropy", "logloss"),
])
def test_keras_loss_names_say_which_loss_to_use(keras, ours):
    """A Keras loss name is an UnknownNameError (or ConfigError in a model) naming ours."""
    with pytest.raises(dg.UnknownNameError, match=f"Keras's '{keras}' is dualgrad's '{ours}'"):
        dg.loss(keras)
    with pytest.raises(dg.ConfigError, match=f"dualgrad's '{ours}'"):
        dg.Model([{"type": "dense", "units": 1}], keras, "adam")


def test_predict_proba_and_classes_of_a_softmax_head():
    """predict_proba gives rows summing to 1; predict_classes their argmax, as ints."""
    x, labels = blobs()
    model = classifier()
    model.fit(x, labels, epochs=30, verbose=False)
    proba = model.predict_proba(x)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    classes = model.predict_classes(x)
    assert classes.dtype.kind == "i"
    np.testing.assert_array_equal(classes, np.argmax(model.predict(x), axis=1))


@pytest.mark.parametrize("head", [
    ({"type": "dense", "units": 1, "activation": "sigmoid"}, "logloss"),
    ({"type": "dense", "units": 1}, {"type": "logloss", "from_logits": True}),
])
def test_predict_proba_and_classes_of_a_binary_head(head):
    """A sigmoid head (or logits read by logloss) gives probabilities; classes at 0.5."""
    layer, loss = head
    model = dg.Model([layer], loss, "adam", seed=0, input_shape=(1,))
    model.set_weights([np.array([[1.0]]), np.array([0.0])])
    x = np.array([[-2.0], [0.0], [3.0]])
    np.testing.assert_allclose(model.predict_proba(x)[:, 0], 1 / (1 + np.exp(-x[:, 0])))
    np.testing.assert_array_equal(model.predict_classes(x), [0, 1, 1])


def test_predict_proba_of_a_regression_is_a_config_error():
    """A model trained on mse has no probabilities: ConfigError saying which loss would."""
    model = dg.Model([{"type": "dense", "units": 1}], "mse", "adam", seed=0, input_shape=(1,))
    with pytest.raises(dg.ConfigError, match="logloss"):
        model.predict_proba(np.ones((2, 1)))


def test_cli_trains_on_an_integer_target_with_several_outputs(tmp_path, capsys):
    """An integer target column against K outputs of softmax_cross_entropy is multi-class."""
    x, labels = blobs()
    data = tmp_path / "data.csv"
    np.savetxt(data, np.column_stack([x, labels]), delimiter=",", fmt="%.6g",
               header="a,b,class", comments="")
    config = tmp_path / "model.toml"
    config.write_text('loss = "softmax_cross_entropy"\nseed = 0\n'
                      'optimizer = {type = "adam", lr = 0.1}\n'
                      '[[layers]]\ntype = "dense"\nunits = 3\n'
                      '[fit]\nepochs = 40\ntarget = "class"\n')
    assert cli.main(["train", str(config), "--data", str(data), "--quiet"]) == 0
    model = dg.Model.load(tmp_path / "model.npz")
    assert (model.predict_classes(x) == labels).mean() > 0.95
    capsys.readouterr()
