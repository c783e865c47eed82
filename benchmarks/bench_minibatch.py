"""Mini-batches in shuffled order against the same mini-batches in order: a 30-16-1 network,
batch 32, `Model.fit` both ways in one process. Aim (issue 11): shuffled at most 1.3x
unshuffled (the speed of training must not depend on the order of its batches).

Batches in order repeat every epoch; `Model.fit` keeps their first layer's seeded tangents when
those fit in a quarter of the memory budget (about 2 MB a batch here: 513 directions x 32 x 16),
so the ratio depends on the number of samples: with 1,024 (the default) they fit, with 8,192
they do not, and both orders compute them every step.

    python benchmarks/bench_minibatch.py [samples]
"""

from __future__ import annotations

import sys

import numpy as np
from _timing import best_time, report

import dualgrad as dg

N, FEATURES, BATCH, EPOCHS = 1024, 30, 32, 5
CONFIG = {
    "layers": [{"type": "dense", "units": 16, "activation": "tanh"},
               {"type": "dense", "units": 1, "activation": "sigmoid"}],
    "loss": "logloss",
    "optimizer": {"type": "sgd", "lr": 0.1},
    "seed": 0,
    "input_shape": [FEATURES],
}


def main(n: int = N) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, FEATURES))
    y = (x @ rng.normal(size=FEATURES) + 0.5 * rng.normal(size=n) > 0).astype(float)
    model = dg.Model.from_config(CONFIG)
    start = model.get_weights()

    def fit(shuffle: bool) -> None:
        model.set_weights(start)
        model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, shuffle=shuffle, verbose=False)

    steps = EPOCHS * -(-n // BATCH)
    ordered = best_time(lambda: fit(False), repeat=5)
    shuffled = best_time(lambda: fit(True), repeat=5)
    print(f"30-16-1 network, {EPOCHS} epochs of {n} samples in batches of {BATCH} "
          f"({steps} steps)")
    report("Model.fit, batches in order", ordered, ordered, "in order")
    report("Model.fit, batches shuffled", shuffled, ordered, "in order")
    print(f"a step: {ordered / steps * 1e6:.0f} us in order, {shuffled / steps * 1e6:.0f} us "
          f"shuffled; shuffled is {shuffled / ordered:.2f}x (aim: at most 1.3x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N)
