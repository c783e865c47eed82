"""The blog's logistic regression: sigmoid(m x + b) trained on log-loss, through dualgrad."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import dualgrad as dg

from . import _common

CONFIG = {
    "layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "logloss",
    "optimizer": {"type": "sgd", "lr": 0.1},
}


def main(seed: int = 0, out_dir: str | Path | None = ".") -> dict[str, Any]:
    x, y = _common.class_data(seed)
    model = dg.Model.from_config({**CONFIG, "seed": seed})
    history = model.fit(x, y, epochs=1000, verbose=False)
    loss_fit = model.evaluate(x, y)
    truth = dg.Model.from_config({**CONFIG, "seed": seed, "input_shape": [1]})
    truth.set_weights([np.array([[_common.M]]), np.array([_common.B])])
    loss_truth = truth.evaluate(x, y)
    print("Log loss autodiff", loss_fit)
    print("Log loss truth", loss_truth)
    _common.save_pictures(out_dir, "logistic_regression", history.history["loss"], x, y,
                          model.predict(x)[:, 0])
    return {"logloss": loss_fit, "logloss_truth": loss_truth,
            "losses": history.history["loss"]}


if __name__ == "__main__":
    main()
