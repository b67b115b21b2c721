"""What the Ray tests run as a job's driver, in a child process (raycluster.in_driver): module-level functions,
so that a spawned interpreter can import them."""

from __future__ import annotations

import contextlib
import io
from typing import Any

from emolens.batch.inputs import find_inputs
from emolens.batch.job import run_job
from emolens.batch.output import Output
from emolens.batch.spec import WorkSpec
from emolens.cli import main


def cli(argv: list[str]) -> tuple[int, str]:
    """`emolens ARGV`: its exit code and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def stopped_after_one_partition(archive: str, out: str, address: str) -> list[str]:
    """A job stopped (KeyboardInterrupt, as from Ctrl-C) once its first partition is written: that partition's keys."""
    spec = WorkSpec()
    items, _ = find_inputs([archive])
    first: list[str] = []

    def stop(result: Any) -> None:
        first.extend(result.keys)
        raise KeyboardInterrupt

    try:
        run_job(items, spec, Output(out, spec.labels()), ray=address, photos_per_task=1, on_result=stop)
    except KeyboardInterrupt:
        return first
    raise AssertionError("the job was not stopped")


def whole_job(archive: str, out: str, address: str) -> tuple[dict[str, int], list[str]]:
    """The job run to its end: its stats and the keys of the partitions it analysed."""
    spec = WorkSpec()
    items, _ = find_inputs([archive])
    keys: list[str] = []
    stats = run_job(
        items, spec, Output(out, spec.labels()), ray=address, photos_per_task=1, on_result=lambda r: keys.extend(r.keys)
    )
    return stats.to_dict(), keys
