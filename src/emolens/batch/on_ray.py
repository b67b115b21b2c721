"""Running partitions on a Ray cluster with Ray Data (the `[ray]` extra; Ray is imported only here, on use).

The partitions become a dataset of one row each (one block each, so a retry redoes one partition),
then `map_batches` with `RayWorker`, a callable class: each actor builds one ONNX Runtime engine
and gets `threads` CPUs (cores / actors unless --threads says otherwise). A video is one
partition, decoded and analysed in the actor that got it: its tracker never spans two workers.
An actor that dies is restarted and its partition retried; the results stream back to the
driver, which alone writes them (each once: see output.py and sessions.py).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from emolens.batch.inputs import Item
from emolens.batch.spec import WorkSpec
from emolens.batch.worker import CHAOS_ENV, PartResult, Worker

log = logging.getLogger(__name__)

LOCAL = "local"  # --ray with no address: start a Ray instance on this machine for this job
RETRIES = 3  # restarts of a dead actor, and retries of the partition it held


class RayMissing(ImportError):
    """--ray without Ray installed."""


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise RayMissing(
            "--ray needs Ray: pip install 'emolens[ray]' (or run without --ray, on this machine)"
        ) from None
    return ray


class RayWorker:
    """The callable class of map_batches: one Worker (one engine) per actor, one partition per call."""

    def __init__(self, spec: WorkSpec):
        self.worker = Worker(spec, remote=True)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        payloads = []
        for text in batch["part"]:
            items = [Item.from_dict(d) for d in _loads(text)]
            payloads.append(pickle.dumps(self.worker.run(items)))
        return {"payload": np.array(payloads, dtype=object)}


def _loads(text: Any) -> list[dict]:
    return json.loads(str(text))


@dataclass(frozen=True)
class Plan:
    """How a job uses the cluster: actors, and threads (= CPUs) per actor."""

    actors: int
    threads: int

    @classmethod
    def for_cluster(cls, cpus: int, actors: int | None, threads: int | None) -> Plan:
        cpus = max(1, int(cpus))
        if actors is None:
            actors = max(1, cpus // (threads or 1))
        return cls(actors=max(1, actors), threads=threads or max(1, cpus // max(1, actors)))


def connect(address: str) -> bool:
    """Join the cluster at address ('auto': the one running here) or start a local one; True if started here."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address == LOCAL:
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        try:
            ray.init(address=address, log_to_driver=False)
        except ConnectionError as exc:
            raise ConnectionError(
                f"no Ray cluster at {address!r} ({exc}): start one with `ray start --head`, or give its address"
            ) from None
    return True


def ray_results(
    parts: Sequence[list[Item]], spec: WorkSpec, address: str, *, actors: int | None, threads: int | None
) -> Iterator[PartResult]:
    """Each partition's result as the cluster finishes it."""
    ray = import_ray()
    started = connect(address)
    try:
        plan = Plan.for_cluster(ray.cluster_resources().get("CPU", 1), actors, threads)
        log.info("Ray: %d actor(s) of %d thread(s)", plan.actors, plan.threads)
        rows = [{"part": _dumps(items)} for items in parts]
        if not rows:
            return
        context = ray.data.DataContext.get_current()
        context.max_errored_blocks = -1  # a partition that fails for good becomes error rows (job.py)
        context.enable_progress_bars = False  # the command has its own
        remote: dict[str, Any] = {"max_restarts": RETRIES, "max_task_retries": RETRIES}  # not forever: a file
        if os.environ.get(CHAOS_ENV):  # that crashes its worker every time must not hold the job up
            remote["runtime_env"] = {"env_vars": {CHAOS_ENV: os.environ[CHAOS_ENV]}}
        with warnings.catch_warnings():  # bounded retries are ray_remote_args, deprecated in Ray 2.60 (see pyproject)
            warnings.simplefilter("ignore", DeprecationWarning)
            dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
                RayWorker,
                fn_constructor_kwargs={"spec": spec.with_threads(plan.threads)},
                batch_size=1,
                compute=ray.data.ActorPoolStrategy(size=min(plan.actors, len(rows))),
                num_cpus=plan.threads,
                **remote,
            )
        batches = iter(dataset.iter_batches(batch_size=1, batch_format="numpy"))
        try:
            for batch in batches:
                for payload in batch["payload"]:
                    yield pickle.loads(payload)
        finally:
            closing = getattr(batches, "close", None)
            if closing is not None:  # a stopped job: the streaming executor goes down before Ray does
                closing()
    finally:
        if started:
            ray.shutdown()


def _dumps(items: list[Item]) -> str:
    return json.dumps([asdict(i) for i in items])
