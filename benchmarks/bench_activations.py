"""Stable activations on plain arrays against their naive NumPy forms, in one process.

dualgrad's sigmoid, softplus, log_sigmoid, logsumexp and softmax never overflow and keep full
relative precision on both tails; the naive forms overflow (1 / (1 + e^-x) warns below -709,
log(1 + e^x) is inf above 709, log(sum(e^x)) is inf for large entries). Aim: stability should
cost little beside the naive form on 10^6 numbers. The logaddexp forms dualgrad used before are
timed too.

    python benchmarks/bench_activations.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time

import dualgrad as dg
from dualgrad import primitives as p

N = 1_000_000


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(scale=5.0, size=N)
    rows = x.reshape(1000, 1000)
    cases = [
        ("sigmoid", lambda: dg.sigmoid(x), lambda: 1.0 / (1.0 + np.exp(-x)),
         lambda: np.exp(-np.logaddexp(0.0, -x))),
        ("softplus", lambda: dg.softplus(x), lambda: np.log1p(np.exp(x)),
         lambda: np.logaddexp(0.0, x)),
        ("log_sigmoid", lambda: dg.log_sigmoid(x), lambda: -np.log1p(np.exp(-x)),
         lambda: -np.logaddexp(0.0, -x)),
        ("logsumexp, rows of 1000", lambda: p.logsumexp(rows, axis=1),
         lambda: np.log(np.sum(np.exp(rows), axis=1)), None),
        ("softmax, rows of 1000", lambda: p.softmax(rows, axis=1),
         lambda: np.exp(rows) / np.sum(np.exp(rows), axis=1, keepdims=True), None),
    ]
    print(f"stable activations on {N:,} float64 numbers, against the naive NumPy form")
    with np.errstate(over="ignore"):
        for name, ours, naive, before in cases:
            t_naive = best_time(naive, repeat=15)
            t_ours = best_time(ours, repeat=15)
            line = (f"{name:<26} naive {t_naive * 1e3:7.2f} ms   dualgrad {t_ours * 1e3:7.2f} ms"
                    f"   {t_ours / t_naive:5.2f}x naive")
            if before is not None:
                t_before = best_time(before, repeat=15)
                line += f"   (logaddexp form {t_before / t_naive:5.2f}x)"
            print(line)


if __name__ == "__main__":
    main()
