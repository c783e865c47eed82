"""jacobian of a function from R^2000 to R^2000 (matrix products and elementwise functions) on a
two-worker Dask LocalCluster, against the same jacobian in this process; and the overhead of one
task (a tiny function, one direction per task).

On two cores expect at most 2x: serial forward mode is a few (2000 x 2000) @ (2000 x 2000)
products, which NumPy's BLAS may already spread over both cores (the Dask workers run one BLAS
thread each). Each task also ships f's arguments (the two 2000 x 2000 matrices, 64 MB) and
brings back its block of the answer, and the scheduler adds its round trip.

    pip install "dualgrad[dask]"
    python benchmarks/bench_executors.py
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _timing import best_time

import dualgrad as dg

N = 2000
TINY = 64


def f(x: Any, a: np.ndarray, b: np.ndarray) -> Any:
    h = dg.tanh(dg.matmul(a, x))
    return dg.matmul(b, h * dg.sin(h)) + dg.exp(-h * h)


def tiny(x: Any) -> Any:
    return x * 2.0


def main() -> None:
    from dask.distributed import Client, LocalCluster

    rng = np.random.default_rng(0)
    A = rng.normal(size=(N, N)) / np.sqrt(N)
    B = rng.normal(size=(N, N)) / np.sqrt(N)
    x = rng.normal(size=N)
    jac = dg.jacobian(f, mode="forward")
    serial = best_time(lambda: jac(x, A, B), repeat=3)
    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        started = time.perf_counter() - start
        executor = client.get_executor()
        on_dask = dg.jacobian(f, mode="forward", executor=executor)
        np.testing.assert_allclose(on_dask(x, A, B), jac(x, A, B), rtol=1e-12, atol=1e-12)
        distributed = best_time(lambda: on_dask(x, A, B), repeat=3)
        small = np.ones(TINY)
        one_each = dg.jacobian(tiny, chunk_size=1, executor=executor)
        tasks = best_time(lambda: one_each(small), repeat=3)
        alone = best_time(lambda: dg.jacobian(tiny, chunk_size=1)(small), repeat=3)
    print(f"cluster start (2 worker processes)     {started:8.2f} s")
    print(f"jacobian R^{N} -> R^{N}, serial          {serial:8.3f} s")
    print(f"jacobian R^{N} -> R^{N}, 2 Dask workers  {distributed:8.3f} s   "
          f"speed-up {serial / distributed:.2f}x (2 tasks)")
    print(f"overhead per task ({TINY} tasks of one direction) "
          f"{(tasks - alone) / TINY * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
