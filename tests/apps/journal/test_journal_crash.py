"""A writer process killed (SIGKILL) in the middle of a burst of check-ins and session writes loses nothing it
acknowledged (the same through a real server: tests/web/test_web_crash.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from emolens.apps.journal import store
from emolens.apps.journal.readings import manual_reading
from emolens.apps.satisfaction import store as sessions

from journal_helpers import make_db, make_user

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

WRITER = """
import sys
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.journal import store
from emolens.apps.journal.readings import manual_reading
from emolens.apps.satisfaction import store as sessions
db = open_database(sys.argv[1], all_migrations())
user_id = int(sys.argv[2])
moods = ["happy", "sad", "neutral", "angry"]
for i in range(100000):
    c = store.add_checkin(db, user_id, manual_reading(moods[i % 4]), source="manual", note=f"burst {i}",
                          tags=["work", "sleep"][: i % 3], idempotency_key=f"k{i}")
    print(c.id, flush=True)   # acknowledged: the commit has returned
    s = sessions.create_session(db, user_id, location=f"desk {i}", agent="ann", source="live")
    print("s", s.id, i, flush=True)
"""


def test_killed_writer_keeps_every_acknowledged_checkin(tmp_path):
    db = make_db(tmp_path / "emolens.db")
    user = make_user(db, "alice")
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db.path), str(user.id)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    deadline = time.monotonic() + 600  # generous: a loaded CI machine must not fail it
    try:
        while len(lines) < 120:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the writer stopped early: {proc.stderr.read()[-2000:]}")
            lines.append(line)
            assert time.monotonic() < deadline, "the writer is too slow"
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # mid-burst: it is writing the next check-ins right now
        proc.wait(timeout=30)
    lines += proc.stdout.read().splitlines(keepends=True)  # lines already written before the kill
    lines = [x for x in lines if x.endswith("\n")]  # a line cut by the kill was not acknowledged
    acked = [int(x) for x in lines if not x.startswith("s ")]
    acked_sessions = [x.split()[1:] for x in lines if x.startswith("s ")]
    assert proc.returncode == -signal.SIGKILL
    assert db.integrity_check() == "ok"
    stored = {c.id: c for c in store.list_checkins(db, user.id)}
    missing = sorted(set(acked) - set(stored))
    assert not missing, f"{len(missing)} acknowledged check-ins lost: {missing[:10]}"
    for cid in acked:  # whole rows: tags written with their check-in
        assert stored[cid].note.startswith("burst ")
        n = int(stored[cid].note.split()[1])
        assert len(stored[cid].tags) == n % 3
    for session_id, i in acked_sessions:
        assert sessions.get_session(db, user.id, session_id).location == f"desk {i}"
    assert store.checkin_for_key(db, user.id, "k0").id == acked[0]
    # The database still takes writes after the crash (the WAL was recovered).
    assert store.add_checkin(db, user.id, manual_reading("happy"), source="manual").id > max(acked)
