"""Work sent to a `concurrent.futures.Executor`: checks, submission, and failures made errors.

The transformations (chunks of directions or of cotangent rows, see `_passes` and `_reverse`)
and the Model (shards of a batch, see `_sharding`) hand their tasks to any executor: a
`ProcessPoolExecutor` on one machine, ``dask.distributed.Client(...).get_executor()`` on a
cluster. Dask is never imported here: a Dask executor is recognised by its module.

A task that fails (an exception in the user's function, a worker process that died, a
timeout) becomes an `ExecutorError` naming the task and its cause, and the tasks not yet run
are cancelled, so a caller never waits on a broken pool.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import pickle
from collections.abc import Callable, Sequence
from typing import Any

from ._errors import ConfigError, DualgradTypeError, ExecutorError, UnknownNameError

__all__ = ["check_picklable", "checked", "is_dask", "run", "send_once", "workers"]


def checked(executor: Any, timeout: Any) -> float | None:
    """Refuse an object that is no executor, or a timeout that is no positive number of
    seconds; return the timeout as a float (None: wait as long as the tasks take)."""
    if not isinstance(executor, cf.Executor):
        raise DualgradTypeError(
            f"executor must be a concurrent.futures.Executor (a ProcessPoolExecutor, or a Dask "
            f"client's get_executor()), got {type(executor).__name__}")
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not timeout > 0 or not math.isfinite(timeout):
        raise ConfigError(f"timeout must be a positive number of seconds or None, got "
                          f"{timeout!r}")
    return float(timeout)


def is_dask(executor: Any) -> bool:
    """Whether `executor` is a Dask client's executor (``Client.get_executor()``)."""
    return type(executor).__module__.split(".")[0] == "distributed" \
        and hasattr(executor, "_client")


def workers(executor: Any) -> int:
    """How many tasks `executor` runs at once: a pool's workers, a Dask cluster's threads."""
    if is_dask(executor):
        try:
            return max(1, int(sum(executor._client.nthreads().values())))
        except Exception:  # a client that cannot say: one task at a time, then
            return 1
    return max(1, int(getattr(executor, "_max_workers", 1) or 1))


def check_picklable(obj: Any, what: str, executor: Any) -> None:
    """Refuse, before any task is sent, a function `executor` cannot ship: a process pool
    pickles it with the standard pickle (by name: a lambda or nested function fails), Dask
    with cloudpickle (by value). A thread pool ships nothing."""
    if isinstance(executor, cf.ThreadPoolExecutor):
        return
    if is_dask(executor):
        try:
            import cloudpickle
        except ImportError:  # pragma: no cover - Dask depends on cloudpickle
            return
        dumps: Callable[[Any], bytes] = cloudpickle.dumps
        how = "Dask's cloudpickle"
    else:
        dumps, how = pickle.dumps, "the standard pickle"
    try:
        dumps(obj)
    except Exception as exc:
        raise DualgradTypeError(
            f"{what} cannot be sent to the executor's workers: {how} fails on it "
            f"({type(exc).__name__}: {exc}). A {type(executor).__name__} ships the function "
            "and its arguments to other processes; define the function at module level (a "
            "def in an importable module, not a lambda or a nested function), or use a Dask "
            "client's executor (Client(...).get_executor()), which ships functions with "
            "cloudpickle") from None


def send_once(executor: Any, payload: Any) -> Any:
    """`payload` for the tasks of one call to read: on Dask, scattered to the cluster once (a
    future the tasks resolve); elsewhere as it is (each task carries it)."""
    if is_dask(executor):
        return executor._client.scatter([payload], hash=False)[0]
    return payload


def run(executor: Any, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]],
        names: Sequence[str], what: str, timeout: float | None) -> list[Any]:
    """``fn(*task)`` for each task on `executor`, the results in order.

    `names` says what each task is ("chunk 2 (directions 64..96)"), for the error raised when
    one fails: `ExecutorError`, its cause chained, after the other tasks were cancelled.
    """
    futures: list[cf.Future[Any]] = []
    try:
        for task in tasks:
            futures.append(executor.submit(fn, *task))
    except Exception as exc:
        _cancel(futures)
        raise ExecutorError(
            f"{what}: the executor refused {names[len(futures)]} ({type(exc).__name__}: "
            f"{exc}); is it shut down, or its pool broken by an earlier failure? Start a new "
            "one") from exc
    done, pending = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_EXCEPTION)
    for name, future in zip(names, futures):
        if future in done and not future.cancelled() and future.exception() is not None:
            _cancel(futures)
            cause = future.exception()
            raise ExecutorError(f"{what}: {name} failed on the executor: {_cause(cause)}") \
                from cause
    if pending:
        _cancel(futures)
        first = next(name for name, f in zip(names, futures) if f in pending)
        raise ExecutorError(
            f"{what}: {first} (and {len(pending) - 1} more) did not finish within the timeout "
            f"of {timeout} s; the tasks left were cancelled. Raise the timeout, or check that "
            "the executor's workers are alive")
    return [f.result() for f in futures]


def _cancel(futures: Sequence[cf.Future[Any]]) -> None:
    for f in futures:
        f.cancel()


def _cause(exc: BaseException | None) -> str:
    """The cause of a failed task in words, with what to do where dualgrad knows."""
    text = f"{type(exc).__name__}: {exc}"
    name = type(exc).__name__
    if isinstance(exc, UnknownNameError):
        return (f"{text}. The workers resolve names from the plugins installed where they "
                "run: install the same plugin packages there (a part registered only in this "
                "process is unknown to them)")
    if name in ("BrokenProcessPool", "KilledWorker") or "terminated abruptly" in str(exc):
        return (f"{text}. A worker process died (killed, out of memory, or the function "
                "ended the process); a broken ProcessPoolExecutor must be replaced by a new "
                "one")
    return text
