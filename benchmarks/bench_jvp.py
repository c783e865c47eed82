"""jvp of a composite of exp, log, sigmoid, mul and add on 1,000,000 elements, against the same
function on plain NumPy arrays, in one process.

Tangent mode costs about 2.5x the function's own operations in theory; the aim is at most 3x.

    python benchmarks/bench_jvp.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, report

import dualgrad as dg

N = 1_000_000


def f(x, y):
    return dg.sigmoid(dg.log(x) * y + dg.exp(-x)) * x + y


def f_numpy(x, y):
    # dualgrad's sigmoid, written out: exp(-log(1 + e^-z)), stable in both tails
    z = np.log(x) * y + np.exp(-x)
    return np.exp(-np.logaddexp(0.0, -z)) * x + y


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, N)
    y = rng.normal(size=N)
    tx, ty = rng.normal(size=N), rng.normal(size=N)
    assert np.allclose(f(x, y), f_numpy(x, y))

    base = best_time(lambda: f_numpy(x, y))
    plain = best_time(lambda: f(x, y))
    tangent = best_time(lambda: dg.jvp(f, (x, y), (tx, ty)))
    print(f"composite of exp, log, sigmoid, mul, add on {N:,} float64 elements")
    report("plain NumPy", base, base, "NumPy")
    report("dualgrad primitives on plain arrays", plain, base, "NumPy")
    report("dualgrad.jvp (value and tangent)", tangent, base, "NumPy")


if __name__ == "__main__":
    main()
