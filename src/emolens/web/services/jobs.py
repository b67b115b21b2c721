"""Background jobs (video analysis) run one at a time in a worker thread; results kept in memory.

Each job gets a private temporary folder under the data dir for its upload and
timeline CSV; the upload is deleted as soon as it has been analysed, the folder
when the job is forgotten (after job_ttl_s, when more than max_jobs exist, or at shutdown).

A job id is 192 random bits (unguessable): an anonymous job (owner None) is reachable by
whoever holds its id, a job of an account's data only by that account (`visible_to`).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emolens.inference.eta import eta_seconds

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")


class JobCancelled(Exception):
    """Raised inside a job when the store is shutting down."""


class JobsBusy(RuntimeError):
    """Too many jobs waiting; the client should retry later."""


@dataclass
class Job:
    id: str
    filename: str
    workdir: Path
    owner: int | None = None  # the account whose data this job holds; None: anonymous
    created: float = field(default_factory=time.time)
    status: str = "queued"  # queued | running | done | failed | cancelled
    frames_done: int = 0
    frame_count: int = 0  # frames that will be analysed; 0 when unknown
    video: dict[str, Any] | None = None
    error: str | None = None
    summary: dict[str, Any] | None = None
    timeline: dict[str, Any] | None = None
    started: float | None = None  # when the worker began it (the ETA counts from here)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def csv_path(self) -> Path:
        return self.workdir / "timeline.csv"

    @property
    def progress(self) -> float:
        if self.status == "done":
            return 1.0
        return min(1.0, self.frames_done / self.frame_count) if self.frame_count else 0.0

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds left at the speed so far (None while queued, done or of unknown length)."""
        if self.status != "running" or self.started is None:
            return None
        left = eta_seconds((time.time() if now is None else now) - self.started, self.frames_done, self.frame_count)
        return None if left is None else round(left, 1)

    def visible_to(self, user_id: int | None) -> bool:
        return self.owner is None or self.owner == user_id

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise JobCancelled(f"job {self.id} cancelled")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "filename": self.filename,
            "progress": round(self.progress, 4),
            "frames_done": self.frames_done,
            "frame_count": self.frame_count,
            "eta_s": self.eta_s(),
            "video": self.video,
            "error": self.error,
            "summary": self.summary,
            "timeline": self.timeline,
            "created": self.created,
            "finished": self.finished,
        }


class JobStore:
    """Jobs by id; `submit` runs `work(job)` on the worker thread and records the outcome."""

    def __init__(self, root: str | Path, *, max_jobs: int = 20, ttl_s: float = 3600.0, workers: int = 1):
        self.root = Path(root)
        self.max_jobs = max_jobs
        self.ttl_s = ttl_s
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="emolens-job")

    @classmethod
    def for_process(cls, parent: str | Path, **kw) -> JobStore:
        """A store in a fresh run-<pid>-* folder under parent, after deleting folders of dead processes."""
        parent = Path(parent)
        parent.mkdir(parents=True, exist_ok=True)
        for old in parent.glob("run-*"):
            pid = old.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                log.info("deleting %s left by a server that stopped without cleaning up", old)
                shutil.rmtree(old, ignore_errors=True)
        return cls(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=parent), **kw)

    def create(self, filename: str, *, owner: int | None = None) -> Job:
        """A new queued job with its own temporary folder; JobsBusy when max_jobs are active."""
        with self._lock:
            self._prune()
            if sum(j.status in ACTIVE for j in self._jobs.values()) >= self.max_jobs:
                raise JobsBusy(f"{self.max_jobs} video jobs are already waiting or running: try again later")
            self.root.mkdir(parents=True, exist_ok=True)
            workdir = Path(tempfile.mkdtemp(prefix="job-", dir=self.root))
            job = Job(id=secrets.token_urlsafe(24), filename=filename, workdir=workdir, owner=owner)
            self._jobs[job.id] = job
        return job

    def submit(self, job: Job, work: Callable[[Job], None]) -> None:
        self._pool.submit(self._run, job, work)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._prune()
            return self._jobs.get(job_id)

    def discard(self, job: Job) -> None:
        """Forget a job that never started (its upload was refused) and delete its folder."""
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(job.workdir, ignore_errors=True)

    def counts(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for j in self._jobs.values():
                out[j.status] = out.get(j.status, 0) + 1
            return out

    def close(self) -> None:
        """Cancel running jobs, wait for the worker, delete every job folder."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            for job in self._jobs.values():
                shutil.rmtree(job.workdir, ignore_errors=True)
            self._jobs.clear()
        if self.root.name.startswith("run-"):
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, job: Job, work: Callable[[Job], None]) -> None:
        try:
            job.check_cancelled()
            job.started = time.time()
            job.status = "running"
            work(job)
            job.status = "done"
        except JobCancelled:
            job.status = "cancelled"
        except Exception as exc:  # noqa: BLE001 - a job's failure is reported to its client, never lost
            log.exception("job %s failed", job.id)
            job.status, job.error = "failed", str(exc) or type(exc).__name__
        finally:
            job.finished = time.time()

    def _prune(self) -> None:
        """Forget finished jobs past their TTL, then the oldest finished ones beyond max_jobs (lock held)."""
        now = time.time()
        done = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished)
        drop = [j for j in done if now - j.finished > self.ttl_s]
        keep = [j for j in done if j not in drop]
        drop += keep[: max(0, len(self._jobs) - len(drop) - self.max_jobs)]
        for job in drop:
            shutil.rmtree(job.workdir, ignore_errors=True)
            del self._jobs[job.id]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
