"""grad in forward and in reverse mode as the number of inputs grows, in one process: where the
crossover lies, and what mode="auto" picks (reverse from AUTO_REVERSE_FROM inputs).

    python benchmarks/bench_modes.py
"""

from __future__ import annotations

import numpy as np
from _timing import best_time

import dualgrad as dg
from dualgrad._transforms import AUTO_REVERSE_FROM


def elementwise(x):
    return dg.sum(dg.sigmoid(x) * dg.exp(x) + dg.log1p(x * x))


def product(w, x):
    return dg.sum(dg.tanh(x @ w) ** 2)


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"grad, forward against reverse mode (auto takes reverse from {AUTO_REVERSE_FROM} "
          "inputs)")
    print(f"{'function':<28}{'inputs':>8}{'forward':>12}{'reverse':>12}{'fwd/rev':>9}  auto")
    cases = [(f"elementwise, n={n}", elementwise, (rng.normal(size=n),))
             for n in (4, 16, 64, 128, 256, 1024)]
    cases += [(f"tanh(x @ W), W {d}x{d}", product,
               (rng.normal(size=(d, d)), rng.normal(size=(32, d)))) for d in (4, 8, 12, 32)]
    for label, f, args in cases:
        times = {mode: best_time(lambda mode=mode, f=f, args=args: dg.grad(f, mode=mode)(*args))
                 for mode in ("forward", "reverse")}
        n = args[0].size
        auto = "reverse" if n >= AUTO_REVERSE_FROM else "forward"
        fwd, rev = times["forward"], times["reverse"]
        print(f"{label:<28}{n:>8}{fwd * 1e6:>10.0f}us{rev * 1e6:>10.0f}us{fwd / rev:>9.2f}  "
              f"{auto}")


if __name__ == "__main__":
    main()
