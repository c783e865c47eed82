"""Forward gradients (issue 6, target 7): train the MLP 2-64-64-1 on 4,096 samples with `fgd`,
one random tangent direction per step, beside SGD with exact forward-mode gradients (every
weight's direction, in memory-bounded chunks). Prints the loss against steps and against wall
time, in one process.

    python benchmarks/bench_fgd.py [seconds]
"""

from __future__ import annotations

import sys
import time

from bench_memory import data, mlp

import dualgrad as dg


def train(optimizer: dict, seconds: float, max_steps: int) -> list[tuple[int, float, float]]:
    """(step, elapsed seconds, loss) after each step, until time or steps run out."""
    model = mlp(dg.get_memory_budget())
    model.optimizer = dg.optimizer(optimizer["type"], **{k: v for k, v in optimizer.items()
                                                         if k != "type"})
    x, y = data()
    trace = [(0, 0.0, model.evaluate(x, y))]
    start = time.perf_counter()
    step = 0
    while step < max_steps and time.perf_counter() - start < seconds:
        model.fit(x, y, epochs=1, verbose=False)
        step += 1
        trace.append((step, time.perf_counter() - start, model.evaluate(x, y)))
    return trace


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    runs = {
        "sgd (exact gradient)": train({"type": "sgd", "lr": 0.05}, seconds, 10**6),
        "fgd (one direction)": train({"type": "fgd", "lr": 0.0005}, seconds, 10**6),
    }
    print(f"MLP 2-64-64-1 on 4096 samples, {seconds:.0f} s of training each")
    print(f"{'optimizer':<22} {'steps':>6} {'s/step':>9} {'loss at 0':>10} "
          f"{'loss at end':>12}")
    for name, trace in runs.items():
        steps, elapsed, loss = trace[-1]
        print(f"{name:<22} {steps:>6} {elapsed / max(steps, 1):>9.4f} {trace[0][2]:>10.4f} "
              f"{loss:>12.4f}")
    print("loss against wall time (s):")
    marks = [seconds * f for f in (0.1, 0.25, 0.5, 1.0)]
    for name, trace in runs.items():
        row = []
        for mark in marks:
            done = [r for r in trace if r[1] <= mark]
            row.append(f"{mark:5.1f}s {done[-1][2]:.4f}")
        print(f"  {name:<22} " + "   ".join(row))
    print("loss against steps:")
    for name, trace in runs.items():
        picks = [trace[min(k, len(trace) - 1)] for k in (1, 5, 10, 50, 100, 500)
                 if k < len(trace)]
        print(f"  {name:<22} " + "   ".join(f"step {s} {loss:.4f}" for s, _, loss in picks))


if __name__ == "__main__":
    main()
