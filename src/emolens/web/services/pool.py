"""The server's inference workers: one engine, shared by a few threads, behind an admission limit.

ONNX Runtime sessions may be run from several threads at once, so the photo API, the live
cameras and the apps share one Analyzer; `workers` threads (one per core by default) run the
analyses, and at most `max_inflight` requests are admitted at a time (running or waiting for a
worker). Past that, a request is refused at once with ServerBusy (503 + Retry-After) instead
of queueing without end: under overload, accepted requests keep their latency and the others
learn to come back.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class ServerBusy(RuntimeError):
    """Every admission slot is taken (answered 503 with Retry-After)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def cores() -> int:
    """CPU cores this process may run on (the affinity mask, e.g. a container's share)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class InferencePool:
    """Runs analyses on `workers` threads; admits at most `max_inflight` at once (0: twice the workers)."""

    def __init__(self, workers: int = 0, max_inflight: int = 0):
        self.workers = workers if workers > 0 else cores()
        self.max_inflight = max_inflight if max_inflight > 0 else 2 * self.workers
        if self.max_inflight < self.workers:
            raise ValueError(
                f"max_inflight ({self.max_inflight}) must be at least the number of workers ({self.workers})"
            )
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="emolens-infer")
        self._lock = threading.Lock()
        self._inflight = 0
        self._mean_s = 0.2  # running mean of one analysis, for Retry-After
        self.refused = 0

    @property
    def inflight(self) -> int:
        return self._inflight

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the admitted work spread over the workers, at least 1."""
        return max(1, math.ceil(self._mean_s * self.max_inflight / self.workers))

    def submit(self, fn: Callable[..., T], *args: Any, **kw: Any) -> Future[T]:
        """Admit and queue one analysis, or raise ServerBusy; the slot is freed when the work ends."""
        with self._lock:
            if self._inflight >= self.max_inflight:
                self.refused += 1
                raise ServerBusy(
                    f"the server is analysing {self._inflight} requests, its limit (EMOLENS_MAX_INFLIGHT): "
                    f"try again in {self.retry_after()} s",
                    self.retry_after(),
                )
            self._inflight += 1
        try:
            future = self._executor.submit(self._timed, partial(fn, *args, **kw))
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return future

    async def run(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        """`fn(*args, **kw)` on a worker; ServerBusy at once when the limit is reached."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kw))

    def _timed(self, call: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            return call()
        finally:
            self._mean_s = 0.9 * self._mean_s + 0.1 * (time.perf_counter() - start)

    def _release(self) -> None:
        with self._lock:
            self._inflight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
