"""grad of a function of 100 inputs: all 100 directions in one vectorised pass, against 100
single-direction passes (one jvp per input, the blog's way), in one process.

    python benchmarks/bench_grad.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time, report

import dualgrad as dg

N = 100


def f(x):
    return dg.sum(dg.sigmoid(x * 0.5) * dg.log(1.0 + x * x)) + dg.sum(dg.exp(-x))


def main() -> None:
    x = np.random.default_rng(0).normal(size=N)
    basis = np.eye(N)

    def one_direction_at_a_time():
        return np.array([dg.jvp(f, (x,), (basis[i],))[1] for i in range(N)])

    assert np.allclose(dg.grad(f)(x), one_direction_at_a_time())
    loop = best_time(one_direction_at_a_time, repeat=3)
    one_pass = best_time(lambda: dg.grad(f)(x), repeat=20)
    print(f"gradient of a scalar function of {N} inputs")
    report(f"{N} single-direction passes", loop, loop, "loop")
    report("dualgrad.grad, one vectorised pass", one_pass, loop, "loop")
    print(f"one pass is {loop / one_pass:.1f}x faster than {N} passes")


if __name__ == "__main__":
    main()
