"""A saved model resumes training exactly: its file keeps the optimizer's state and the random
generator's, so fit 10 epochs equals fit 5, save, load, fit 5."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import dualgrad as dg

OPTIMIZERS = ["sgd", {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}, "adam",
              "adamw", "rmsprop", "adagrad", "fgd",
              {"type": "adam", "lr": {"type": "cosine_decay", "initial": 0.05,
                                      "decay_steps": 40}}]


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    return x, (x @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)


def model(optimizer: object) -> dg.Model:
    return dg.Model([{"type": "dense", "units": 4, "activation": "tanh"},
                     {"type": "dense", "units": 1, "activation": "sigmoid"}], "logloss",
                    optimizer, seed=1)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: json.dumps(o))
def test_fit_resumed_from_a_file_continues_exactly(optimizer, tmp_path):
    """fit 10 epochs (shuffled mini-batches) == fit 5, save, load, fit 5, to 1e-12."""
    x, y = data()
    straight = model(optimizer)
    straight.fit(x, y, epochs=10, batch_size=8, verbose=False)
    first = model(optimizer)
    first.fit(x, y, epochs=5, batch_size=8, verbose=False)
    first.save(tmp_path / "half.npz")
    resumed = dg.Model.load(tmp_path / "half.npz")
    resumed.fit(x, y, epochs=5, batch_size=8, verbose=False)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_a_file_without_training_state_loads_and_starts_fresh(tmp_path):
    """A file of config and weights alone (as older dualgrad wrote) loads; its optimizer
    starts from a fresh state."""
    x, y = data()
    trained = model("adam")
    trained.fit(x, y, epochs=2, verbose=False)
    arrays = {f"weight_{i}": w for i, w in enumerate(trained.get_weights())}
    np.savez(tmp_path / "old.npz", format=np.array("dualgrad-model/1"),
             config=np.array(json.dumps(trained.get_config())), **arrays)
    loaded = dg.Model.load(tmp_path / "old.npz")
    assert loaded.optimizer_state is None
    loaded.fit(x, y, epochs=1, verbose=False)
    assert loaded.optimizer_state.step == 1


def _rewrite(path, member: str, text: str) -> None:
    """Replace the JSON member `member` of the model file at `path`."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(path, "w") as z:
        for name, data_ in members.items():
            if name == f"{member}.npy":
                buf = io.BytesIO()
                np.save(buf, np.array(text))
                data_ = buf.getvalue()
            z.writestr(name, data_)


@pytest.mark.parametrize(("training", "word"), [
    ({"optimizer_state": [1, 2, 3]}, "optimizer"),
    ({"rng": {"bit_generator": "nonsense"}}, "random generator"),
    ({"optimizer_state": "many"}, "optimizer state"),
])
def test_a_training_state_that_does_not_fit_is_a_model_file_error(tmp_path, training, word):
    """Optimizer state or generator state that does not fit the model: ModelFileError."""
    x, y = data()
    trained = model("adam")
    trained.fit(x, y, epochs=1, verbose=False)
    trained.save(tmp_path / "m.npz")
    _rewrite(tmp_path / "m.npz", "training", json.dumps(training))
    with pytest.raises(dg.ModelFileError, match=word):
        dg.Model.load(tmp_path / "m.npz")
