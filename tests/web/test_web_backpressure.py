"""Back-pressure: one engine on a few worker threads, 503 + Retry-After past the admission limit, live frames
dropped (never queued) while one is being analysed."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from emolens.web.services.pool import InferencePool, ServerBusy, cores
from emolens.web.settings import Settings


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_pool_admits_at_most_max_inflight_and_frees_slots():
    pool = InferencePool(workers=2, max_inflight=3)
    gate = threading.Event()
    try:
        futures = [pool.submit(gate.wait, 30) for _ in range(3)]  # two run, one waits for a worker
        assert pool.inflight == 3
        with pytest.raises(ServerBusy) as busy:
            pool.submit(lambda: None)
        assert busy.value.retry_after >= 1 and "EMOLENS_MAX_INFLIGHT" in str(busy.value)
        assert pool.refused == 1
        gate.set()
        assert all(f.result(30) for f in futures)
        _wait_for(lambda: pool.inflight == 0)
        assert pool.submit(lambda: 42).result(30) == 42  # slots are free again
    finally:
        gate.set()
        pool.close()


def test_pool_sizes_itself_to_the_cores_and_checks_its_settings():
    pool = InferencePool()
    assert pool.workers == cores() and pool.max_inflight == 2 * cores()
    pool.close()
    with pytest.raises(ValueError, match="at least the number of workers"):
        InferencePool(workers=4, max_inflight=2)
    with pytest.raises(ValueError, match="workers and max_inflight"):
        Settings(workers=-1)
    assert Settings.from_env({"EMOLENS_WORKERS": "3", "EMOLENS_MAX_INFLIGHT": "5"}).max_inflight == 5


def test_pool_runs_from_async_code_on_its_workers():
    pool = InferencePool(workers=1, max_inflight=1)
    try:
        name = asyncio.run(pool.run(lambda: threading.current_thread().name))
        assert name.startswith("emolens-infer")
    finally:
        pool.close()


def _blocking(client, monkeypatch):
    """Make the served analyser wait on an event (a slow photo) and say when one is in."""
    analyzer = client.app.state.served.current().analyzer
    gate, entered = threading.Event(), threading.Event()
    inner = analyzer.analyze

    def slow(image, **kw):
        entered.set()
        assert gate.wait(60)
        return inner(image, **kw)

    monkeypatch.setattr(analyzer, "analyze", slow)
    return gate, entered


def test_photo_api_answers_503_with_retry_after_when_full(make_client, astronaut_jpeg, monkeypatch):
    client = make_client(workers=1, max_inflight=2)
    gate, entered = _blocking(client, monkeypatch)
    files = {"image": ("a.jpg", astronaut_jpeg, "image/jpeg")}
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(client.post("/api/v1/analyze", files=files))) for _ in range(2)
    ]
    try:
        for t in threads:
            t.start()
        pool = client.app.state.pool
        _wait_for(lambda: entered.is_set() and pool.inflight == 2)  # one running, one waiting: full
        over = [client.post("/api/v1/analyze", files=files) for _ in range(3)]
        assert [r.status_code for r in over] == [503, 503, 503]
        assert all(int(r.headers["Retry-After"]) >= 1 and "try again" in r.json()["detail"] for r in over)
    finally:
        gate.set()
        for t in threads:
            t.join(60)
    assert [r.status_code for r in answers] == [200, 200]  # the admitted ones were answered
    assert len(answers[0].json()["faces"]) == 1
    assert client.post("/api/v1/analyze", files=files).status_code == 200  # and the server recovers


def test_live_socket_drops_frames_that_arrive_while_one_is_analysed(client, astronaut_jpeg, monkeypatch):
    gate, entered = _blocking(client, monkeypatch)
    session_process = []
    from emolens.web.routers import live as live_router
    from emolens.web.services import live as live_service

    inner = live_service.LiveSession.process

    def process(self, data):
        session_process.append(len(data))
        entered.set()
        assert gate.wait(60)
        return inner(self, data)

    monkeypatch.setattr(live_service.LiveSession, "process", process)
    inboxes = []
    real_init = live_router.LatestFrames.__init__
    monkeypatch.setattr(live_router.LatestFrames, "__init__", lambda self: real_init(self) or inboxes.append(self))
    with client.websocket_connect("/api/v1/live") as ws:
        ws.receive_json()
        ws.send_bytes(astronaut_jpeg)  # analysed (blocked in the worker)
        _wait_for(entered.is_set)
        for _ in range(5):  # a fast sender: only the newest of these should be analysed
            ws.send_bytes(astronaut_jpeg)
        ws.send_text("ping")  # commands keep their place
        _wait_for(lambda: inboxes and inboxes[0].received == 7)  # all read while frame 0 is analysed
        gate.set()
        first = ws.receive_json()
        assert first["type"] == "result" and first["index"] == 0
        second = ws.receive_json()
        assert second["type"] == "result" and second["index"] == 1 and second["dropped"] == 4
        assert ws.receive_json()["type"] == "error"  # the text command, after the newest frame
    assert len(session_process) == 2  # 6 frames sent, 2 analysed
