"""Video jobs over the API (progress, summary, timeline, CSV, temp files) and the JobStore itself."""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import pytest

from emolens.core.labels import EMOTIONS
from emolens.web.services.jobs import Job, JobStore

from helpers import moving_faces_video

FRAMES = 24


@pytest.fixture(scope="module")
def clip_bytes(tmp_path_factory) -> bytes:
    return moving_faces_video(tmp_path_factory.mktemp("clip") / "clip.mp4", frames=FRAMES).read_bytes()


def _wait(client, url: str, timeout: float = 600.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(url).json()
        assert 0.0 <= job["progress"] <= 1.0
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job at {url} did not finish in {timeout} s")


def test_video_job_end_to_end(client, clip_bytes):
    r = client.post("/api/v1/analyze/video", files={"video": ("clip.mp4", clip_bytes, "video/mp4")})
    assert r.status_code == 202, r.text
    created = r.json()
    assert created["url"] == f"/api/v1/jobs/{created['id']}"
    job = _wait(client, created["url"])
    assert job["status"] == "done", job["error"]
    assert job["progress"] == 1.0 and job["frames_done"] == FRAMES and job["video"]["source"] == "clip.mp4"
    assert "eta_s" in job and job["eta_s"] is None  # seconds left while running; none once done
    summary, timeline = job["summary"], job["timeline"]
    assert summary["frames"] == FRAMES and summary["face_count"] >= 2 and summary["dominant"] in EMOTIONS
    assert list(timeline["probabilities"]) == list(EMOTIONS)
    n = len(timeline["t"])
    assert n >= 2 and all(len(v) == n for v in timeline["probabilities"].values()) and len(timeline["faces"]) == n
    assert max(timeline["faces"]) >= 1.5  # two faces on screen
    rows = list(csv.DictReader(io.StringIO(client.get(job["csv_url"]).text)))
    assert len(rows) >= FRAMES * 2 - 4 and {"time", "face_id", "emotion", *EMOTIONS} <= set(rows[0])
    r = client.get(job["csv_url"])
    assert r.headers["content-type"].startswith("text/csv") and "clip-timeline.csv" in r.headers["content-disposition"]
    store: JobStore = client.app.state.jobs
    workdir = store.get(created["id"]).workdir
    assert [p.name for p in workdir.iterdir()] == ["timeline.csv"], "the uploaded video must be deleted"


def test_job_files_are_deleted_at_shutdown(make_client, clip_bytes):
    client = make_client()
    created = client.post("/api/v1/analyze/video", files={"video": ("c.mp4", clip_bytes, "video/mp4")}).json()
    _wait(client, created["url"])
    root = client.app.state.jobs.root
    assert root.is_dir()
    client.__exit__(None, None, None)
    assert not root.exists()


def test_unreadable_video_is_400_and_leaves_nothing(client):
    r = client.post("/api/v1/analyze/video", files={"video": ("broken.mp4", b"\x00" * 5000, "video/mp4")})
    assert r.status_code == 400 and r.json()["detail"].count("broken.mp4") == 1  # named once, not "x: x could..."
    assert "/" not in r.json()["detail"].split("broken.mp4")[0], "no server paths in messages"
    assert list(client.app.state.jobs.root.iterdir()) == []


def test_video_errors(make_client, clip_bytes):
    client = make_client(max_video_mb=0.01)
    r = client.post("/api/v1/analyze/video", files={"video": ("clip.mp4", clip_bytes, "video/mp4")})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/api/v1/analyze/video", files={"video": ("photo.jpg", b"x", "image/jpeg")})
    assert r.status_code == 415
    r = client.post("/api/v1/analyze/video", files={"image": ("clip.mp4", b"x", "video/mp4")})
    assert r.status_code == 422 and "missing field 'video'" in r.json()["detail"]
    assert list(client.app.state.jobs.root.iterdir()) == []


def test_unknown_job_is_404_and_csv_before_done_is_409(client):
    r = client.get("/api/v1/jobs/nope")
    assert r.status_code == 404 and "no job" in r.json()["detail"]
    assert client.get("/api/v1/jobs/nope/timeline.csv").status_code == 404
    job = client.app.state.jobs.create("waiting.mp4")  # created, never started
    assert client.get(f"/api/v1/jobs/{job.id}").json()["status"] == "queued"
    r = client.get(f"/api/v1/jobs/{job.id}/timeline.csv")
    assert r.status_code == 409 and "queued" in r.json()["detail"]


def test_busy_store_answers_503(make_client, clip_bytes):
    client = make_client(max_jobs=1)
    client.app.state.jobs.create("a.mp4")  # never started: occupies the only slot
    r = client.post("/api/v1/analyze/video", files={"video": ("clip.mp4", clip_bytes, "video/mp4")})
    assert r.status_code == 503 and r.headers["retry-after"] == "30"


def _finish(store: JobStore, work) -> Job:
    job = store.create("x.mp4")
    store.submit(job, work)
    deadline = time.monotonic() + 120
    while job.finished is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return job


def test_job_store_records_failures_and_prunes(tmp_path):
    store = JobStore(tmp_path / "jobs", max_jobs=2, ttl_s=3600)
    try:

        def boom(job):
            raise RuntimeError("decoder exploded")

        failed = _finish(store, boom)
        assert failed.status == "failed" and failed.error == "decoder exploded"
        done = [_finish(store, lambda job: None) for _ in range(2)]
        assert all(j.status == "done" and j.progress == 1.0 for j in done)
        assert store.get(failed.id) is None and not failed.workdir.exists(), "oldest finished job dropped"
        store.ttl_s = 0
        time.sleep(0.01)
        assert store.get(done[0].id) is None and store.counts() == {}
    finally:
        store.close()


def test_close_cancels_running_jobs(tmp_path):
    store = JobStore(tmp_path / "jobs")
    started = []

    def slow(job):
        started.append(job)
        while True:
            job.check_cancelled()
            time.sleep(0.01)

    job = store.create("long.mp4")
    store.submit(job, slow)
    while not started:
        time.sleep(0.01)
    store.close()
    assert job.status == "cancelled" and not job.workdir.exists()


def test_for_process_sweeps_folders_of_dead_servers(tmp_path):
    dead = tmp_path / "run-999999999-abc"  # no such pid
    (dead / "job-1").mkdir(parents=True)
    alive = tmp_path / f"run-{os.getppid()}-abc"
    alive.mkdir()
    store = JobStore.for_process(tmp_path)
    try:
        assert not dead.exists() and alive.exists() and store.root.name.startswith(f"run-{os.getpid()}-")
    finally:
        store.close()
    assert not store.root.exists() and Path(alive).exists()
