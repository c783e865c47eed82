"""Model.gradient of an MLP 2-64-64-1 (about 4,400 weights) on 4,096 samples, under a memory
budget (issue 6, targets 5 and 6).

One unchunked pass would hold about 4,400 directions x 4,096 samples x 129 activations of
tangents, over 9 GB. The model sizes its chunks of directions from its memory budget (1 GiB by
default); this script measures the peak resident memory of a fresh process that computes the
gradient, and the gradient's time with and without unit-seed scattering in the dense layers.

    python benchmarks/bench_memory.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

import dualgrad as dg
from dualgrad import _gradients

N = 4096


def mlp(budget: int) -> dg.Model:
    return dg.Model([{"type": "dense", "units": 64, "activation": "tanh"},
                     {"type": "dense", "units": 64, "activation": "tanh"},
                     {"type": "dense", "units": 1}], "mse", "sgd", seed=0, input_shape=[2],
                    memory_budget=budget)


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 2))
    return x, np.sin(x[:, :1]) * np.cos(x[:, 1:])


def child(budget: int, scatter: bool) -> None:
    """Compute one gradient and report time, chunking and peak RSS as JSON."""
    if not scatter:
        # every weight seeded with its plain dense block of the identity: dense products
        _gradients.unit_seeds = lambda data, rows, total, unit: data  # type: ignore
    model = mlp(budget)
    x, y = data()
    start = time.perf_counter()
    grads = model.gradient(x, y)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    chunk = model._gradients.chunk_size(model._weights, N)
    print(json.dumps({"seconds": seconds, "peak": peak, "chunk": chunk,
                      "params": model.num_params,
                      "norm": float(np.sqrt(sum((g * g).sum() for g in grads)))}))


def run(budget: int, scatter: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(budget), str(int(scatter))],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    budget = dg.get_memory_budget()
    params = mlp(budget).num_params
    unchunked = 8 * params * N * (64 + 64 + 1)
    print(f"MLP 2-64-64-1, {params} weights, {N} samples; one unchunked pass: "
          f"{unchunked / 2**30:.1f} GiB for the tangents of all layer outputs")
    with_scatter = run(budget, True)
    without = run(budget, False)
    assert abs(with_scatter["norm"] - without["norm"]) < 1e-9 * without["norm"]
    for name, r in (("unit seeds scattered", with_scatter), ("dense seed products", without)):
        print(f"{name:<24} chunk {r['chunk']:>4} directions   peak RSS "
              f"{r['peak'] / 2**20:7.0f} MiB (budget {budget / 2**20:.0f} MiB)   "
              f"gradient {r['seconds']:7.2f} s")
    print(f"scattering unit seeds makes the gradient "
          f"{without['seconds'] / with_scatter['seconds']:.1f}x faster")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), bool(int(sys.argv[3])))
    else:
        main()
