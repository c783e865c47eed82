"""The blog's linear regression: fit y = m x + b to y = 3x - 2 plus noise, through dualgrad.

The blog differentiates m and b in separate passes, one sample at a time; here one Dense unit
is declared, and `fit` gets both derivatives over all 100 samples in one forward pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import dualgrad as dg

from . import _common

CONFIG = {
    "layers": [{"type": "dense", "units": 1}],
    "loss": "mse",
    "optimizer": {"type": "sgd", "lr": 0.1},
}


def main(seed: int = 0, out_dir: str | Path | None = ".") -> dict[str, Any]:
    x, y = _common.line_data(seed)
    model = dg.Model.from_config({**CONFIG, "seed": seed})
    history = model.fit(x, y, epochs=1000, verbose=False)
    kernel, bias = model.get_weights()
    m_fit, b_fit = float(kernel[0, 0]), float(bias[0])
    print("m", _common.M, "m prime", np.round(m_fit, 4))
    print("b", _common.B, "b prime", np.round(b_fit, 4))
    mse_fit = model.evaluate(x, y)
    mse_truth = float(np.mean((y - (_common.M * x + _common.B)) ** 2))
    print("MSE autodiff", mse_fit)
    print("MSE truth", mse_truth)
    _common.save_pictures(out_dir, "linear_regression", history.history["loss"], x, y,
                          model.predict(x)[:, 0])
    return {"m": m_fit, "b": b_fit, "mse": mse_fit, "mse_truth": mse_truth,
            "losses": history.history["loss"]}


if __name__ == "__main__":
    main()
