"""Timing for the benchmark scripts: the best of several runs, measured in this process."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_time(fn: Callable[[], Any], repeat: int = 5, number: int = 1) -> float:
    """The fastest of `repeat` runs of `number` calls of `fn`, in seconds per call."""
    fn()  # warm caches and lazy imports
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def report(name: str, seconds: float, baseline: float, baseline_name: str) -> None:
    print(f"{name:<44} {seconds * 1e3:10.3f} ms   {seconds / baseline:8.2f}x {baseline_name}")
