"""Model.gradient in reverse and forward mode against hand-written NumPy backprop, in one process.

An MLP 8-h-h-1 (tanh hidden layers, a sigmoid head read by log-loss) on 1,024 samples: the
network of the reverse-mode issue, at 61, 1,377 and 4,801 weights. The aims: reverse mode at
most 2x hand-written backprop at 1,377 weights and 1.5x at 4,801, and at least 1,000x faster
than forward mode at 4,801 (forward mode is timed once there: it takes seconds).

    python benchmarks/bench_reverse.py
"""

from __future__ import annotations

import time

import numpy as np
from _timing import best_time, report

import dualgrad as dg

N = 1024


def backprop(ws: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The gradient of mean log-loss of sigmoid(tanh(tanh(x W1 + b1) W2 + b2) W3 + b3)."""
    w1, b1, w2, b2, w3, b3 = ws
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    z = h2 @ w3 + b3
    d3 = (1.0 / (1.0 + np.exp(-z)) - y) / z.size
    d2 = (d3 @ w3.T) * (1.0 - h2 * h2)
    d1 = (d2 @ w2.T) * (1.0 - h1 * h1)
    return [x.T @ d1, d1.sum(0), h1.T @ d2, d2.sum(0), h2.T @ d3, d3.sum(0)]


def model(h: int, mode: str) -> dg.Model:
    return dg.Model([{"type": "dense", "units": h, "activation": "tanh"},
                     {"type": "dense", "units": h, "activation": "tanh"},
                     {"type": "dense", "units": 1, "activation": "sigmoid"}],
                    "logloss", "sgd", seed=0, input_shape=[8], gradient=mode)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 8))
    y = (x[:, :1] * x[:, 1:2] > 0).astype(float)
    print(f"MLP 8-h-h-1, tanh, sigmoid head, log-loss, {N} samples, one gradient")
    for h in (4, 32, 64):
        measure(h, x, y)


def measure(h: int, x: np.ndarray, y: np.ndarray) -> None:
    reverse, forward, auto = model(h, "reverse"), model(h, "forward"), model(h, "auto")
    ws = reverse.get_weights()
    hand = backprop(ws, x, y)
    for a, b in zip(reverse.gradient(x, y), hand):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-13)
    t_hand = best_time(lambda: backprop(ws, x, y))
    t_rev = best_time(lambda: reverse.gradient(x, y))
    print(f"-- {reverse.num_params} weights")
    report("hand-written NumPy backprop", t_hand, t_hand, "backprop")
    report("Model.gradient, reverse mode", t_rev, t_hand, "backprop")
    if h < 64:
        t_fwd = best_time(lambda: forward.gradient(x, y), repeat=3)
    else:  # seconds: once
        start = time.perf_counter()
        forward.gradient(x, y)
        t_fwd = time.perf_counter() - start
    report("Model.gradient, forward mode", t_fwd, t_hand, "backprop")
    picked = "reverse" if auto._gradients.reverse(auto._built_weights(), N) else "forward"
    print(f"   reverse mode is {t_fwd / t_rev:.0f}x faster than forward mode; "
          f"gradient='auto' picks {picked}")

if __name__ == "__main__":
    main()
