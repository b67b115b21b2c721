"""Running partitions on this machine: in this process (one worker) or in a pool of worker processes.

Each pool process builds its engines once (`_worker`) and analyses whole partitions. When a
process dies (killed, out of memory), the pool is rebuilt and the partitions not yet returned
are handed out again, up to MAX_RESTARTS times; what is still missing then is reported by the job.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from emolens.batch.inputs import Item
from emolens.batch.spec import WorkSpec
from emolens.batch.worker import PartResult, Worker, part_id

log = logging.getLogger(__name__)

MAX_RESTARTS = 3


@functools.lru_cache(maxsize=1)
def _worker(spec: WorkSpec) -> Worker:
    """This pool process's worker: its engines are built once, on its first partition."""
    return Worker(spec, remote=True)


def _run(spec: WorkSpec, items: list[Item]) -> PartResult:
    return _worker(spec).run(items)


def local_results(parts: Sequence[list[Item]], spec: WorkSpec, workers: int = 1) -> Iterator[PartResult]:
    """Each partition's result, in the order they finish. workers=1: in this process, one after the other."""
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    if workers == 1:
        worker = Worker(spec)
        for items in parts:
            yield worker.run(items)
        return
    pending = {part_id(items): items for items in parts}
    for attempt in range(MAX_RESTARTS + 1):
        if not pending:
            return
        if attempt:
            log.warning("a worker process died: %d partition(s) handed out again", len(pending))
        context = multiprocessing.get_context("spawn")  # no fork of a process with ONNX Runtime threads
        pool = ProcessPoolExecutor(min(workers, len(pending)), mp_context=context)
        try:
            futures = [pool.submit(_run, spec, items) for items in pending.values()]
            for future in as_completed(futures):
                result = future.result()
                pending.pop(result.part, None)
                yield result
        except BrokenProcessPool:
            continue
        finally:
            _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down now: a stopped job (Ctrl-C) must not wait for the partitions still running."""
    for process in list(getattr(pool, "_processes", {}).values()):
        if process.is_alive():
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
