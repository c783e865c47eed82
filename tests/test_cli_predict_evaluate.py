"""The command line after training: `predict` and `evaluate` on a saved model, the [fit]
table's validation_split, metrics and early_stopping, and a misplaced model key."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dualgrad as dg
from dualgrad import cli

CONFIG = '''loss = "logloss"
seed = 0
optimizer = {type = "adam", lr = 0.1}

[[layers]]
type = "dense"
units = 1
activation = "sigmoid"

[fit]
epochs = 30
target = "label"
'''


def data_file(tmp_path: Path, name: str = "data.csv") -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(float)
    path = tmp_path / name
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", fmt="%.17g", header="a,b,label",
               comments="")
    return path, x, y


def trained(tmp_path: Path, fit_extra: str = "") -> tuple[Path, Path, np.ndarray, np.ndarray]:
    data, x, y = data_file(tmp_path)
    config = tmp_path / "model.toml"
    config.write_text(CONFIG + fit_extra)
    assert cli.main(["train", str(config), "--data", str(data), "--quiet"]) == 0
    return tmp_path / "model.npz", data, x, y


def test_predict_prints_one_prediction_per_row(tmp_path, capsys):
    """`dualgrad predict MODEL --data CSV` prints a header and the model's outputs."""
    model_path, data, x, _ = trained(tmp_path)
    capsys.readouterr()
    assert cli.main(["predict", str(model_path), "--data", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "prediction"
    got = np.array([float(v) for v in lines[1:]])
    np.testing.assert_array_equal(got, dg.Model.load(model_path).predict(x)[:, 0])


def test_predict_writes_a_csv_of_the_features_alone(tmp_path, capsys):
    """Features without a target column are read whole; --out writes the predictions."""
    model_path, _, x, _ = trained(tmp_path)
    features = tmp_path / "features.csv"
    np.savetxt(features, x, delimiter=",", fmt="%.17g")
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", str(model_path), "--data", str(features), "--out", str(out)]) == 0
    assert "wrote 50 prediction(s)" in capsys.readouterr().out
    got = np.loadtxt(out, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(got, dg.Model.load(model_path).predict(x)[:, 0])


def test_predict_with_the_wrong_number_of_columns_says_what_the_model_takes(tmp_path, capsys):
    """A CSV of 5 columns for a model of 2 features exits 2 with a one-line error."""
    model_path, _, _, _ = trained(tmp_path)
    wide = tmp_path / "wide.csv"
    np.savetxt(wide, np.ones((3, 5)), delimiter=",")
    assert cli.main(["predict", str(model_path), "--data", str(wide)]) == 2
    assert "the model takes 2 features" in capsys.readouterr().err


def test_evaluate_prints_the_loss_and_metrics(tmp_path, capsys):
    """`dualgrad evaluate` prints the loss and each metric the model was trained with."""
    model_path, data, x, y = trained(tmp_path, 'metrics = ["accuracy"]\n')
    capsys.readouterr()
    assert cli.main(["evaluate", str(model_path), "--data", str(data), "--target", "label"]) == 0
    out = capsys.readouterr().out.splitlines()
    scores = dg.Model.load(model_path).evaluate(x, y, return_dict=True)
    assert out == [f"loss: {scores['loss']:.6g}", f"accuracy: {scores['accuracy']:.6g}"]


def test_fit_table_takes_validation_split_and_early_stopping(tmp_path, capsys):
    """[fit] validation_split and early_stopping (a table) train with both."""
    extra = ("validation_split = 0.2\nepochs = 500\n"
             "early_stopping = {patience = 2, min_delta = 0.01}\n")
    data, _, _ = data_file(tmp_path)
    config = tmp_path / "model.toml"
    config.write_text(CONFIG.replace("epochs = 30\n", "") + extra)
    assert cli.main(["train", str(config), "--data", str(data), "--quiet"]) == 0
    out = capsys.readouterr().out
    epochs = int(out.split(" epoch(s)")[0].split()[-1])
    assert epochs < 500


@pytest.mark.parametrize(("extra", "word"), [
    ('early_stopping = "yes"\n', "early_stopping must be"),
    ("early_stopping = {patience = 1, wait = 2}\n", "no option 'wait'"),
    ('metrics = "accuracy"\n', "metrics must be a list"),
])
def test_bad_fit_options_are_one_line_errors(tmp_path, capsys, extra, word):
    """A bad [fit] option exits 2 naming it."""
    data, _, _ = data_file(tmp_path)
    config = tmp_path / "model.toml"
    config.write_text(CONFIG + extra)
    assert cli.main(["train", str(config), "--data", str(data), "--quiet"]) == 2
    assert word in capsys.readouterr().err


def test_a_loss_written_after_a_layer_table_is_named_as_the_layers(tmp_path, capsys):
    """`loss =` after [[layers]] belongs to that layer: the error says layer 2 has no option
    'loss', not that the model needs one."""
    data, _, _ = data_file(tmp_path)
    config = tmp_path / "model.toml"
    config.write_text('seed = 0\noptimizer = "adam"\n[[layers]]\ntype = "dense"\nunits = 2\n'
                      '[[layers]]\ntype = "dense"\nunits = 1\nloss = "mse"\n')
    assert cli.main(["train", str(config), "--data", str(data), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "layer 2 has no option 'loss'" in err and "needs 'loss'" not in err
