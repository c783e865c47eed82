"""jvp of a composite of exp, log, sigmoid, mul and add on 1,000,000 elements, against a
hand-written NumPy jvp of the same function and against the function itself, in one process.

The hand-written jvp computes the value and the tangent with NumPy calls written out by hand
(the naive sigmoid 1 / (1 + e^-z), its slope s (1 - s)): what a careful user would write without
dualgrad. Aim (issue 11): dualgrad.jvp at most 1.3x that. The ratio to the function alone (the
naive NumPy form) is printed too: a jvp computes the value and about 1.5x its work again for the
tangent, so 2.5x to 3.5x of it is the price of the tangent itself, not overhead.

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
    z = np.log(x) * y + np.exp(-x)
    return 1.0 / (1.0 + np.exp(-z)) * x + y


def jvp_numpy(x, y, tx, ty):
    """f's value and its tangent along (tx, ty), differentiated by hand."""
    lx = np.log(x)
    ex = np.exp(-x)
    z = lx * y + ex
    tz = tx / x * y + lx * ty - ex * tx
    s = 1.0 / (1.0 + np.exp(-z))
    ts = s * (1.0 - s) * tz
    return s * x + y, ts * x + s * tx + ty


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, N)
    y = rng.normal(size=N)
    tx, ty = rng.normal(size=N), rng.normal(size=N)
    out, t = dg.jvp(f, (x, y), (tx, ty))
    hand_out, hand_t = jvp_numpy(x, y, tx, ty)
    assert np.allclose(out, f_numpy(x, y)) and np.allclose(out, hand_out)
    assert np.allclose(t, hand_t)

    base = best_time(lambda: f_numpy(x, y))
    plain = best_time(lambda: f(x, y))
    hand = best_time(lambda: jvp_numpy(x, y, tx, ty))
    tangent = best_time(lambda: dg.jvp(f, (x, y), (tx, ty)))
    print(f"composite of exp, log, sigmoid, mul, add on {N:,} float64 elements")
    report("f in plain NumPy (naive sigmoid)", base, base, "f")
    report("f with dualgrad primitives on plain arrays", plain, base, "f")
    report("hand-written NumPy jvp (value and tangent)", hand, base, "f")
    report("dualgrad.jvp (value and tangent)", tangent, base, "f")
    print(f"dualgrad.jvp is {tangent / hand:.2f}x the hand-written jvp (aim: at most 1.3x) and "
          f"{tangent / base:.2f}x f ({tangent / plain:.2f}x f on dualgrad's primitives)")


if __name__ == "__main__":
    main()
