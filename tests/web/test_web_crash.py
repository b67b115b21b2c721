"""`kill -9` of a real server in the middle of a burst of check-ins and session writes loses nothing it answered.

Every check-in and service session the server acknowledged (201) is in the database
after the crash, whole, and PRAGMA integrity_check is ok. A client that retries a
check-in after the crash with its Idempotency-Key gets the stored one back: stored once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from emolens.apps.db import open_database
from emolens.apps.journal import store as journal
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store as satisfaction

from serving import request, running_server

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")]

PASSWORD = "a long enough password"


def post_json(server, path: str, doc: dict, headers: dict[str, str]) -> tuple[int, dict]:
    status, body, _ = request(
        server, "POST", path, json.dumps(doc).encode(), {"Content-Type": "application/json", **headers}, timeout=30
    )
    return status, body


def sign_up(server) -> tuple[dict[str, str], int]:
    creds = {"username": "alice", "password": PASSWORD}
    assert post_json(server, "/api/v1/auth/register", creds, {})[0] == 201
    status, body = post_json(server, "/api/v1/auth/token", creds, {})
    assert status == 200
    return {"Authorization": f"Bearer {body['token']}"}, body["user"]["id"]


def burst(server, headers, acked: dict, stop: threading.Event, worker: int) -> None:
    """One client: check-ins (with a key) and sessions, alternately, recording what was answered 201."""
    i = 0
    while not stop.is_set():
        key = f"w{worker}-{i}"
        try:
            status, body = post_json(
                server,
                "/api/v1/journal/checkins",
                {
                    "mood": ["happy", "sad", "neutral"][i % 3],
                    "note": f"burst {key}",
                    "tags": ["work", "sleep"][: i % 3],
                },
                {**headers, "Idempotency-Key": key},
            )
            if status == 201:
                acked["checkins"].append((body["id"], key, i % 3))
            status, body = post_json(server, "/api/v1/sessions", {"location": f"desk {key}", "agent": "ann"}, headers)
            if status == 201:
                acked["sessions"].append((body["id"], key))
        except OSError:  # the server died under us: whatever was answered before is what counts
            return
        i += 1


def test_kill_9_during_a_burst_loses_no_acknowledged_write(tiny_model, tmp_path):
    data = tmp_path / "data"
    acked: dict[str, list] = {"checkins": [], "sessions": []}
    with running_server(tiny_model, data) as server:
        headers, user_id = sign_up(server)
        stop = threading.Event()
        workers = [threading.Thread(target=burst, args=(server, headers, acked, stop, w)) for w in range(3)]
        for w in workers:
            w.start()
        deadline = time.monotonic() + 120
        while len(acked["checkins"]) + len(acked["sessions"]) < 60 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(server.proc.pid, signal.SIGKILL)  # mid-burst: three clients are writing right now
        server.proc.wait(timeout=30)
        stop.set()
        for w in workers:
            w.join(timeout=60)
    assert len(acked["checkins"]) >= 10 and len(acked["sessions"]) >= 10, acked
    db = open_database(data / "emolens.db", all_migrations())  # recovers the WAL, as the next start would
    assert db.integrity_check() == "ok"
    stored = {c.id: c for c in journal.list_checkins(db, user_id)}
    for checkin_id, key, n in acked["checkins"]:
        assert checkin_id in stored, f"acknowledged check-in {checkin_id} lost"
        assert stored[checkin_id].note == f"burst {key}" and len(stored[checkin_id].tags) == n
        assert journal.checkin_for_key(db, user_id, key).id == checkin_id
    for session_id, key in acked["sessions"]:
        session = satisfaction.get_session(db, user_id, session_id)
        assert session is not None and session.location == f"desk {key}", f"acknowledged session {session_id} lost"
    with running_server(tiny_model, data) as server:  # back up: a client retries what it sent last
        checkin_id, key, _ = acked["checkins"][-1]
        status, body, got = request(
            server,
            "POST",
            "/api/v1/journal/checkins",
            json.dumps({"mood": "angry", "note": "retry"}).encode(),
            {"Content-Type": "application/json", "Idempotency-Key": key, **headers},
        )
        assert status == 201 and body["id"] == checkin_id and got.get("idempotent-replayed") == "true"
    assert len(journal.list_checkins(db, user_id)) == len(stored)
