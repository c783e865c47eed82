"""What keeping zero tangents zero costs (issue 10): the same workloads with the NaN-safe rule on
and off, alternated in one process, the ratio on/off of the best times.

Each differentiation pass runs with NumPy's invalid flag watched, and only a pass that met an
invalid operation is run again with its contributions repaired (see `dualgrad._zeros`); the
workloads below never meet one, so the watch is the price every user pays. Aim: under 5%, to
be the default.

    python benchmarks/bench_nan_safe.py [rounds]
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import bench_grad
import bench_jvp
import bench_linear
import bench_model
import numpy as np

import dualgrad as dg
from dualgrad import _zeros


def workloads() -> dict[str, Callable[[], Any]]:
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, bench_jvp.N)
    y = rng.normal(size=bench_jvp.N)
    tx, ty = rng.normal(size=bench_jvp.N), rng.normal(size=bench_jvp.N)

    xm = rng.normal(size=bench_model.N)
    ym = (3 * xm - 2 + rng.normal(size=bench_model.N) > 0).astype(float)
    model = dg.Model.from_config(bench_model.CONFIG)
    start = model.get_weights()

    def fit_model() -> None:
        model.set_weights(start)
        model.fit(xm, ym, epochs=bench_model.STEPS, shuffle=False, verbose=False)

    xl = rng.normal(size=bench_linear.N)
    yl = 3 * xl - 2 + rng.normal(size=bench_linear.N) / 100
    linear = dg.Model([{"type": "dense", "units": 1}], "mse",
                      {"type": "sgd", "lr": bench_linear.LR}, seed=0, input_shape=[1])
    start_l = linear.get_weights()

    def fit_linear() -> None:
        linear.set_weights(start_l)
        linear.fit(xl, yl, epochs=bench_linear.STEPS, shuffle=False, verbose=False)

    xg = rng.normal(size=bench_grad.N)
    v = np.array([0.5, 1.5, 2.5])

    def small(w: Any) -> Any:
        for _ in range(20):
            w = dg.sigmoid(dg.exp(-w) * w + w)
        return dg.sum(w)

    def small_ops() -> Any:
        # 100 elementwise primitives on 3 numbers with 3 directions: the per-call overhead
        return dg.grad(small)(v)

    return {
        "bench_jvp: jvp on 1,000,000 elements": lambda: dg.jvp(bench_jvp.f, (x, y), (tx, ty)),
        "bench_model: 2-2-1 network, 100 steps": fit_model,
        "bench_linear: linear regression, 1000 steps": fit_linear,
        "bench_grad: grad of 100 inputs": lambda: dg.grad(bench_grad.f)(xg),
        "100 elementwise ops on 3 numbers": small_ops,
    }


def cpu_time(fn: Callable[[], Any]) -> float:
    """The CPU time of one call of `fn`: on a machine shared with other jobs, the time this
    process waits for a core is not counted."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    best: dict[tuple[str, bool], float] = {}
    for name, fn in workloads().items():
        fn()
        for _ in range(rounds):  # on and off alternate call by call
            for safe in (False, True):
                _zeros.ENABLED = safe
                t = cpu_time(fn)
                best[name, safe] = min(best.get((name, safe), t), t)
    _zeros.ENABLED = True
    print(f"NaN-safe rule on / off: the least CPU time of {rounds} calls each, alternated")
    for name in workloads():
        on, off = best[name, True], best[name, False]
        print(f"{name:<46} off {off * 1e3:9.3f} ms   on {on * 1e3:9.3f} ms   "
              f"{on / off:6.3f}x")


if __name__ == "__main__":
    main()
