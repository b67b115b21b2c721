"""A batch job: skip what is done, cut the rest into partitions, run them here or on Ray, write each once.

    stats = run_job(items, WorkSpec(), Output("results.parquet", labels))             # this machine
    stats = run_job(items, spec, output, ray="auto", actors=4)                        # a Ray cluster

The sink (an `Output`, or the session store's `SessionSink`) says which inputs are done before
the job starts; those are skipped. The driver alone writes, one partition at a time, and drops a
partition it has already written (a retried task's second answer). A partition that never comes
back (its worker died too often) becomes error rows, so no input is silently lost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from emolens.batch.inputs import Item, partitions
from emolens.batch.local import MAX_RESTARTS, local_results
from emolens.batch.rows import error_row
from emolens.batch.spec import WorkSpec
from emolens.batch.worker import PartResult, part_id

log = logging.getLogger(__name__)

LOST = "not analysed: the worker analysing it died {n} times (out of memory? a crash in a decoder?)"


class Sink(Protocol):
    """Where results go: the inputs already there, one partition's results, the end of the job."""

    def done(self) -> set[str]: ...

    def add(self, result: PartResult) -> None: ...

    def finish(self) -> int: ...


@dataclass
class JobStats:
    inputs: int = 0
    skipped: int = 0  # done by an earlier run
    analysed: int = 0
    errors: int = 0  # inputs that became error rows (or failed sessions)
    written: int = 0  # rows in the output (or sessions stored)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_job(
    items: Sequence[Item],
    spec: WorkSpec,
    sink: Sink,
    *,
    workers: int | None = None,
    ray: str | None = None,
    threads: int | None = None,
    photos_per_task: int = 16,
    on_result: Callable[[PartResult], None] | None = None,
    on_plan: Callable[[JobStats], None] | None = None,
) -> JobStats:
    """Analyse the inputs the sink does not have yet. ray: None (this machine, `workers` processes, default 1),
    'local' (a Ray instance started for the job), 'auto' or an address (a running cluster).
    threads: per worker (default: this machine's cores / workers; on Ray, the cluster's CPUs / actors)."""
    done = sink.done()
    todo = [i for i in items if i.key not in done]
    stats = JobStats(inputs=len(items), skipped=len(items) - len(todo))
    if on_plan:
        on_plan(stats)  # e.g. a progress bar starts at what an earlier run did
    parts = partitions(todo, photos_per_task)
    got: set[str] = set()
    for result in _results(parts, spec, workers, ray, threads) if parts else ():
        if result.part in got:
            continue  # a retried task answered twice: written once
        got.add(result.part)
        sink.add(result)
        stats.analysed += len(result.keys)
        stats.errors += result.errors
        if on_result:
            on_result(result)
    for items_ in parts:  # partitions that never came back
        if part_id(items_) not in got:
            lost = _lost(items_, spec)
            sink.add(lost)
            stats.errors += lost.errors
            if on_result:
                on_result(lost)
    stats.written = sink.finish()
    return stats


def _results(
    parts: Sequence[list[Item]], spec: WorkSpec, workers: int | None, ray: str | None, threads: int | None
) -> Iterator[PartResult]:
    if ray is None:
        workers = workers or 1
        spec = spec.with_threads(threads or max(1, (os.cpu_count() or 1) // workers))
        yield from local_results(parts, spec, workers)
        return
    from emolens.batch.on_ray import ray_results

    yield from ray_results(parts, spec, ray, actors=workers, threads=threads)


def _lost(items: list[Item], spec: WorkSpec) -> PartResult:
    message = LOST.format(n=MAX_RESTARTS + 1)
    result = PartResult(part_id(items), [i.key for i in items])
    labels = spec.labels()
    for item in items:
        if item.kind == "session":
            result.sessions.append((item, None, message))
        else:
            result.rows.append(error_row(item.key, item.kind, message, labels))
    return result
