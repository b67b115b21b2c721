"""Check-ins with an Idempotency-Key: a client that retries after a crash or a timeout stores one check-in."""

from __future__ import annotations

import threading

from emolens.apps.journal import store
from emolens.apps.journal.readings import manual_reading

from helpers import sign_up

J = "/api/v1/journal"


def test_a_retried_checkin_is_stored_once(client):
    alice = sign_up(client, "alice")
    key = {"Idempotency-Key": "7a1c1b1e-5d0e-4d4b-9d39-0c2f3a9e1f00"}
    first = client.post(f"{J}/checkins", headers={**alice, **key}, json={"mood": "happy", "note": "first"})
    again = client.post(f"{J}/checkins", headers={**alice, **key}, json={"mood": "sad", "note": "retry"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.json()["note"] == "first"
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    assert [c["id"] for c in client.get(f"{J}/checkins", headers=alice).json()] == [first.json()["id"]]


def test_photo_checkins_and_forms_are_idempotent_too(client, astronaut_jpeg):
    bob = sign_up(client, "bob")
    headers = {**bob, "Idempotency-Key": "photo-1"}
    files = {"image": ("me.jpg", astronaut_jpeg, "image/jpeg")}
    ids = {client.post(f"{J}/checkins", headers=headers, files=files).json()["id"] for _ in range(3)}
    form = {**bob, "Idempotency-Key": "form-1"}
    ids |= {client.post(f"{J}/checkins", headers=form, data={"mood": "neutral"}).json()["id"] for _ in range(2)}
    assert len(ids) == 2 and len(client.get(f"{J}/checkins", headers=bob).json()) == 2


def test_keys_belong_to_one_user_and_are_checked(client):
    alice, bob = sign_up(client, "alice"), sign_up(client, "bob")
    key = {"Idempotency-Key": "same-key"}
    a = client.post(f"{J}/checkins", headers={**alice, **key}, json={"mood": "happy"}).json()
    b = client.post(f"{J}/checkins", headers={**bob, **key}, json={"mood": "sad"}).json()
    assert a["id"] != b["id"] and b["emotion"] == "sad"
    for bad in (b"", b"x" * 256, b"spaces are not allowed", "caf\u00e9".encode()):
        r = client.post(f"{J}/checkins", headers={**alice, "Idempotency-Key": bad}, json={"mood": "happy"})
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"], bad


def test_concurrent_retries_store_one_row(client):
    """The store decides inside its write transaction: racing requests with one key make one check-in."""
    db = client.app.state.db
    user_id = client.get("/api/v1/auth/me", headers=sign_up(client, "carol")).json()["id"]
    results, barrier = [], threading.Barrier(8)

    def add() -> None:
        barrier.wait()
        results.append(
            store.add_checkin(db, user_id, manual_reading("happy"), source="manual", idempotency_key="race").id
        )

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(store.list_checkins(db, user_id)) == 1
