"""The blog's 2-2-1 "deep" network, declared instead of hand-written.

The blog spells out seven parameters and seeds one of them per pass; here the network is a
config, and all seven tangents are seeded together by the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dualgrad as dg

from . import _common

CONFIG = {
    "layers": [{"type": "dense", "units": 2},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "logloss",
    "optimizer": {"type": "sgd", "lr": 0.1},
}
ITERS = 100


def main(seed: int = 0, out_dir: str | Path | None = ".") -> dict[str, Any]:
    x, y = _common.class_data(seed)
    model = dg.Model.from_config({**CONFIG, "seed": seed})

    def report(epoch: int, logs: dict[str, float]) -> None:
        if epoch % 5 == 0 or epoch == ITERS - 1:
            print("Iter/Log loss: ", epoch, logs["loss"])

    history = model.fit(x, y, epochs=ITERS, callbacks=[report], verbose=False)
    print("parameters:", model.num_params)
    _common.save_pictures(out_dir, "deep_network", history.history["loss"], x, y,
                          model.predict(x)[:, 0])
    return {"num_params": model.num_params, "losses": history.history["loss"]}


if __name__ == "__main__":
    main()
