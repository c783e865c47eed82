"""The blog's linear regression, 1000 full-batch SGD steps on 100 samples: Model.fit against
hand-derived NumPy gradients, in one process. Aims: within 2x (issue 6), 1.5x (issue 11).

Repeated fits on the same small data replay the step recorded by the first. Timed too: fits
on new numbers (alternating two datasets), which fold them into the recorded step, and a new
model's first fit, which records it.

    python benchmarks/bench_linear.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, report

import dualgrad as dg

STEPS, N, LR = 1000, 100, 0.1


def numpy_steps(x, y, w, b, steps):
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    n = x.shape[0]
    for _ in range(steps):
        d = x @ w + b - y
        _loss = np.add.reduce(d * d, axis=None) / n
        g = d * (2.0 / n)
        w, b = w - LR * (x.T @ g), b - LR * g.sum(0)
    return w, b


def numpy_steps_dot(x, y, w, b, steps):
    """The same with every product through ndarray.dot (no matmul ufunc dispatch)."""
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    n = x.shape[0]
    for _ in range(steps):
        d = x.dot(w) + b - y
        _loss = np.add.reduce(d * d, axis=None) / n
        g = d * (2.0 / n)
        w, b = w - LR * x.T.dot(g), b - LR * g.sum(0)
    return w, b


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=N)
    y = 3 * x - 2 + rng.normal(size=N) / 100
    model = dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "sgd", "lr": LR},
                     seed=0, input_shape=[1])
    start = model.get_weights()

    def fit():
        model.set_weights(start)
        model.fit(x, y, epochs=STEPS, shuffle=False, verbose=False)

    fit()
    assert all(np.allclose(a, b) for a, b in zip(model.get_weights(),
                                                 numpy_steps(x, y, *start, STEPS)))
    assert all(np.allclose(a, b) for a, b in zip(numpy_steps(x, y, *start, STEPS),
                                                 numpy_steps_dot(x, y, *start, STEPS)))
    t_numpy = best_time(lambda: numpy_steps(x, y, *start, STEPS))
    t_dot = best_time(lambda: numpy_steps_dot(x, y, *start, STEPS))
    t_model = best_time(fit)
    # a fit on numbers the model has not trained on folds them into the step it recorded
    # (the layers' Python does not run again): alternate two datasets a rounding apart
    data = [x * (1 + 2**-52), x]

    def fit_new_data():
        data.reverse()
        model.set_weights(start)
        model.fit(data[0], y, epochs=STEPS, shuffle=False, verbose=False)

    t_new = best_time(fit_new_data)
    # a new model's first fit records its step (the models are built outside the timing)
    fresh = [dg.Model([{"type": "dense", "units": 1}], "mse", {"type": "sgd", "lr": LR},
                      seed=0, input_shape=[1]) for _ in range(6)]

    def first_fit():
        m = fresh.pop()
        m.set_weights(start)
        m.fit(x, y, epochs=STEPS, shuffle=False, verbose=False)

    t_first = best_time(first_fit)
    print(f"linear regression, {STEPS} full-batch steps on {N} samples")
    report("hand-derived NumPy gradients", t_numpy, t_numpy, "NumPy")
    report("the same with ndarray.dot", t_dot, t_numpy, "NumPy")
    report("dualgrad Model.fit", t_model, t_numpy, "NumPy")
    report("the same, new data each fit (refolded)", t_new, t_numpy, "NumPy")
    report("a new model's first fit (recorded)", t_first, t_numpy, "NumPy")
    print(f"Model.fit is {t_model / t_numpy:.2f}x hand-derived NumPy, {t_model / t_dot:.2f}x "
          f"its ndarray.dot form; on new data {t_new / t_numpy:.2f}x; a new model's first fit, "
          f"which records its step, {t_first / t_numpy:.2f}x")


if __name__ == "__main__":
    main()
