"""hessian of scalar functions of 200 inputs: forward over reverse (the default) against forward
over forward, in one process. The aim: forward over reverse at least 20x faster.

    python benchmarks/bench_hessian.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time

import dualgrad as dg

N = 200
W = np.random.default_rng(0).normal(size=(N, N)) / np.sqrt(N)


def elementwise(x):
    return dg.sum(dg.sin(x) * dg.exp(0.5 * x) + dg.log1p(x * x))


def dense(x):
    return dg.sum(dg.tanh(W @ x) ** 2) + dg.sum(dg.exp(0.1 * x))


def rosenbrock(x):
    return dg.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def main() -> None:
    x = np.random.default_rng(1).normal(size=N)
    print(f"hessian of f: R^{N} -> R, forward over reverse against forward over forward")
    for f in (elementwise, dense, rosenbrock):
        over_reverse = best_time(lambda f=f: dg.hessian(f)(x))
        over_forward = best_time(lambda f=f: dg.hessian(f, mode="forward")(x), repeat=3)
        assert np.allclose(dg.hessian(f)(x), dg.hessian(f, mode="forward")(x), rtol=1e-10,
                           atol=1e-10)
        print(f"{f.__name__:<12} over reverse {over_reverse * 1e3:8.2f} ms   over forward "
              f"{over_forward * 1e3:8.2f} ms   {over_forward / over_reverse:6.1f}x faster")


if __name__ == "__main__":
    main()
