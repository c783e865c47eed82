"""jacobian of a function from R^16 to R^100000, against the function itself and against a
hand-written NumPy jacobian of it, in one process.

Forward mode pushes all 16 directions through one pass that computes the value once. Aims:
f + 0.5 x 16 x f = 9x f (issue 6), 8x f (issue 11).

f runs once, recorded, and the pass replays the recording on dual numbers: the replay knows
when a value is read for the last time, and the last sum (16 directions of 100,000 numbers)
is written into the tangent of the product it adds to instead of a new 12.8 MB array. The
run of f that is not recorded (each pass runs f's Python, as for a function that reads its
values) is timed too.

The floor is the hand-written jacobian: f's arrays, the few slopes, and the 16 x 100,000 answer
(12.8 MB) written once, row by row, and returned transposed (the layout dualgrad returns). Page
faults are counted per call: on this kind of machine a fault costs microseconds, so the bytes a
call takes fresh from the system weigh as much as its arithmetic.

    python benchmarks/bench_jacobian.py
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import best_time, report

import dualgrad as dg

try:
    import resource
except ImportError:  # not on Windows: no fault counts
    resource = None  # type: ignore[assignment]

M = 100_000
BASE = np.linspace(-1.0, 1.0, M)


def f(v):
    # each output mixes all 16 inputs through exp, tanh, products and sums
    s = dg.tanh(BASE * v[0] + v[1]) * dg.exp(BASE * v[2])
    return s * dg.sum(v[3:] * v[3:]) + dg.sigmoid(BASE * v[4] - v[5]) * v[6]


def eager(v):
    """f, with Python that reads a value first: it cannot be recorded, so it runs eagerly,
    once on constants to size the answer and once in its pass."""
    plain = v.primal() if isinstance(v, dg.Variable) else v
    if not np.isfinite(float(plain.sum())):  # Python reading v: f cannot be recorded
        raise ValueError("v must be finite")
    return f(v)


def jacobian_numpy(v):
    """f's jacobian differentiated by hand: its transpose built row by row (one row per input,
    each written once), returned as a (100000, 16) view."""
    th = np.tanh(BASE * v[0] + v[1])
    e = np.exp(BASE * v[2])
    s = th * e
    q = np.sum(v[3:] * v[3:])
    g = 1.0 / (1.0 + np.exp(-(BASE * v[4] - v[5])))
    jt = np.empty((16, M))
    np.multiply(2.0 * v[3:, None], s, out=jt[3:])  # d/dv[k] of s * q, k >= 3
    d = (1.0 - th * th) * e * q
    jt[1] = d
    np.multiply(d, BASE, out=jt[0])
    np.multiply(s * q, BASE, out=jt[2])
    gs = g * (1.0 - g) * v[6]
    jt[4] += gs * BASE
    jt[5] -= gs
    jt[6] += g
    return jt.T


def dense_jacobian(v):
    """The same jacobian with every tangent dense (T rows), as before direction-sparse tangents:
    a check of the numbers only (timed here, it would run on a heap shaped by the runs before
    it; time it in a process of its own)."""
    dg._core.COMPACT_SEEDS = False
    try:
        return dg.jacobian(f)(v)
    finally:
        dg._core.COMPACT_SEEDS = True


def faults(fn: Callable[[], Any], calls: int = 10) -> str:
    """Minor page faults per call of `fn`, as text ('' where they cannot be counted)."""
    if resource is None:
        return ""
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    return f"   {(after - before) / calls:6.0f} page faults a call"


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
    assert np.allclose(J, jacobian_numpy(v), rtol=1e-13, atol=1e-15)
    runs = {
        "f alone": lambda: f(v),
        "hand-written NumPy jacobian (the floor)": lambda: jacobian_numpy(v),
        "dualgrad.jacobian(f), 16 directions": lambda: dg.jacobian(f)(v),
        "the same, chunk_size=16": lambda: dg.jacobian(f, chunk_size=16)(v),
        "the same, f not recorded (eager passes)": lambda: dg.jacobian(eager)(v),
    }
    times = {name: best_time(fn, repeat=7) for name, fn in runs.items()}
    t_f = times["f alone"]
    hand = times["hand-written NumPy jacobian (the floor)"]
    print(f"jacobian of R^16 -> R^{M:,} (answer {16 * M * 8 / 1e6:.1f} MB): aim at most 8x f")
    for name, seconds in times.items():
        report(name, seconds, t_f, "f")
    ours = times["dualgrad.jacobian(f), 16 directions"]
    print(f"dualgrad.jacobian is {ours / t_f:.1f}x f and {ours / hand:.1f}x the hand-written "
          f"jacobian, which is {hand / t_f:.1f}x f")
    for name, fn in runs.items():
        counted = faults(fn)
        if counted:
            print(f"{name:<44}{counted}")


if __name__ == "__main__":
    main()
