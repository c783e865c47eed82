"""jacobian of a function from R^16 to R^100000, against the function itself, in one process.

Forward mode pushes all 16 directions through one pass that computes the value once; the aim
(issue 6) is at most f + 0.5 x 16 x f, that is 9x the function's own time.

    python benchmarks/bench_jacobian.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, report

import dualgrad as dg

M = 100_000
BASE = np.linspace(-1.0, 1.0, M)


def f(v):
    # each output mixes all 16 inputs through exp, tanh, products and sums
    s = dg.tanh(BASE * v[0] + v[1]) * dg.exp(BASE * v[2])
    return s * dg.sum(v[3:] * v[3:]) + dg.sigmoid(BASE * v[4] - v[5]) * v[6]


def dense_jacobian(v):
    """The same jacobian with every tangent dense (T rows), as before direction-sparse tangents:
    a check of the numbers only (timed here, it would run on a heap shaped by the runs before
    it; time it in a process of its own)."""
    dg._core.COMPACT_SEEDS = False
    try:
        return dg.jacobian(f)(v)
    finally:
        dg._core.COMPACT_SEEDS = True


def main() -> None:
    v = np.random.default_rng(0).normal(size=16)
    J = dg.jacobian(f)(v)
    assert J.shape == (M, 16)
    eps = 1e-6
    for k in range(16):  # every column against central differences
        e = eps * np.eye(16)[k]
        fd = (np.asarray(f(v + e)) - np.asarray(f(v - e))) / (2 * eps)
        assert np.allclose(J[:, k], fd, atol=1e-6), k
    assert np.allclose(J, dense_jacobian(v), rtol=1e-13, atol=1e-15)
    t_f = best_time(lambda: f(v), repeat=7)
    t_j = best_time(lambda: dg.jacobian(f)(v), repeat=5)
    print(f"jacobian of R^16 -> R^{M:,}: aim at most {1 + 0.5 * 16:.0f}x f")
    report("f alone", t_f, t_f, "f")
    report("dualgrad.jacobian(f), 16 directions", t_j, t_f, "f")


if __name__ == "__main__":
    main()
