"""Session storage on the shared database: ownership, filters, analysis round trip, retention."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.analysis import analyze_recording
from emolens.apps.satisfaction.recording import FaceSample, Recording
from emolens.apps.satisfaction.schema import MIGRATIONS
from emolens.apps.satisfaction.store import SessionError, SessionFilter
from emolens.core.labels import EMOTIONS

HAPPY = tuple(float(k == "happy") for k in EMOTIONS)
NOW = datetime(2026, 3, 31, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path):
    return open_database(tmp_path / "emolens.db", [*accounts.MIGRATIONS, *MIGRATIONS])


@pytest.fixture
def users(db):
    hasher = accounts.password_hasher(fast=True)
    return [accounts.create_user(db, name, None, hasher=hasher).id for name in ("shop", "rival")]


def happy_recording(seconds: int = 8, fps: int = 10) -> Recording:
    n = seconds * fps
    faces = tuple(FaceSample(frame=i, track=1, box=(0.3, 0.2, 0.2, 0.3), probs=HAPPY, usable=True) for i in range(n))
    return Recording(EMOTIONS, tuple(i / fps for i in range(n)), faces)


def test_sessions_belong_to_their_account(db, users):
    shop, rival = users
    s = store.create_session(db, shop, location=" Main St ", agent="ana", customer_ref="T-17")
    assert (s.location, s.agent, s.customer_ref, s.status, s.source) == ("Main St", "ana", "T-17", "open", "live")
    assert len(s.id) == 32 and s.started_at.endswith("Z")
    assert store.get_session(db, shop, s.id) == s
    assert store.get_session(db, rival, s.id) is None  # another account's id looks missing
    assert store.list_sessions(db, rival) == [] and store.delete_session(db, rival, s.id) is False
    assert store.claim_for_recording(db, rival, s.id, "live") is None
    claimed = store.claim_for_recording(db, shop, s.id, "live")
    assert (claimed.status, claimed.source) == ("recording", "live")
    assert store.claim_for_recording(db, shop, s.id, "video") is None  # one camera or upload per session
    store.set_status(db, s.id, "failed", error="camera lost")
    retry = store.claim_for_recording(db, shop, s.id, "video")  # a failed session can be fed again
    assert (retry.status, retry.source, retry.error) == ("processing", "video", None)
    assert store.delete_session(db, shop, s.id) and store.get_session(db, shop, s.id) is None


def test_analysis_round_trip(db, users):
    s = store.create_session(db, users[0], location="Main St", agent="ana", source="video")
    analysis = analyze_recording(happy_recording())
    store.save_analysis(db, s.id, analysis)
    got = store.get_session(db, users[0], s.id)
    assert (got.status, got.score, got.confidence, got.reason, got.frames) == (
        "done",
        100.0,
        analysis.confidence,
        None,
        80,
    )
    assert got.duration == pytest.approx(8.0)
    assert got.ended_at == store.ended_at(got.started_at, 8.0) != got.started_at  # the end of the footage
    assert store.ended_at("2026-03-02T10:00:00Z", 9.6) == "2026-03-02T10:00:10Z"
    d = got.to_dict()
    assert d["explanation"]["end"]["emotion"] == "happy" and d["timeline"]["step"] == 0.5
    assert d["customer"]["customer"] == [1] and d["details"]["usable_seconds"] == pytest.approx(8.0)
    light = store.list_sessions(db, users[0])[0]
    assert light.analysis is None and "timeline" not in light.to_dict(full=False)


def test_list_filters(db, users):
    shop = users[0]
    for when, loc, agent in [
        ("2026-03-01T09:00:00Z", "Main St", "ana"),
        ("2026-03-02T23:59:59Z", "Main St", "ben"),
        ("2026-03-03T00:00:00Z", "Airport", "ana"),
        ("2026-03-05T10:00:00Z", "Airport", "ben"),
    ]:
        store.create_session(db, shop, location=loc, agent=agent, started_at=when)
    starts = lambda f: [s.started_at[:10] for s in store.list_sessions(db, shop, f)]  # noqa: E731
    assert starts(SessionFilter()) == ["2026-03-05", "2026-03-03", "2026-03-02", "2026-03-01"]  # newest first
    assert starts(SessionFilter(location="Main St")) == ["2026-03-02", "2026-03-01"]
    assert starts(SessionFilter(agent="ana", location="Airport")) == ["2026-03-03"]
    assert starts(SessionFilter(start="2026-03-02", end="2026-03-02")) == ["2026-03-02"]  # dates are inclusive
    assert starts(SessionFilter(start="2026-03-02T12:00:00Z", end="2026-03-03")) == ["2026-03-03", "2026-03-02"]
    assert starts(SessionFilter(limit=1)) == ["2026-03-05"]
    with pytest.raises(SessionError, match="YYYY-MM-DD"):
        store.list_sessions(db, shop, SessionFilter(start="last tuesday"))


def test_validation(db, users):
    with pytest.raises(SessionError, match="location is required"):
        store.create_session(db, users[0], location=" ", agent="ana")
    with pytest.raises(SessionError, match="longer than 100"):
        store.create_session(db, users[0], location="x", agent="a" * 101)
    with pytest.raises(SessionError, match="source"):
        store.create_session(db, users[0], location="x", agent="a", source="phone")


def test_retention_deletes_exactly_the_old_sessions_of_every_account(db, users):
    shop, rival = users
    ages = {
        "2026-01-01T00:00:00Z": True,
        "2026-03-01T11:59:59Z": True,  # older than 30 days: go
        "2026-03-01T12:00:00Z": False,
        "2026-03-30T08:00:00Z": False,
    }  # exactly 30 days and newer: stay
    made = {}
    for when, old in ages.items():
        for user in (shop, rival):
            made[store.create_session(db, user, location="x", agent="y", started_at=when).id] = old
    assert store.purge_older_than(db, 0, now=NOW) == 0  # 0 days: keep everything
    assert store.purge_older_than(db, 30, now=NOW) == 4
    left = {s.id for user in users for s in store.list_sessions(db, user)}
    assert left == {sid for sid, old in made.items() if not old}
    assert store.purge_older_than(db, 30, now=NOW) == 0


def test_deleting_an_account_deletes_its_sessions(db, users):
    s = store.create_session(db, users[0], location="x", agent="y")
    accounts.delete_user(db, users[0])
    with db.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM service_sessions WHERE id = ?", (s.id,)).fetchone()[0] == 0
