"""Sign-in under attack: throttling with backoff, the password-check gate, equal timing, the password policy."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from argon2 import PasswordHasher

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.passwords import PasswordRefused, check_password
from emolens.apps.registry import all_migrations
from emolens.web.services.login import HashesBusy, HashGate, LoginThrottle, ThrottlePolicy, TooManyAttempts

from helpers import sign_up

GOOD = "a long enough password"


def token(client, username: str, password: str = GOOD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_429_after_repeated_failures_and_the_right_password_is_refused_while_locked(make_client):
    client = make_client(login_user_failures=3, login_backoff_s=30)
    sign_up(client, "alice")
    clock = Clock()
    client.app.state.login.throttle.clock = clock
    assert [token(client, "alice", "wrong password").status_code for _ in range(3)] == [401, 401, 401]
    r = token(client, "alice")  # the right password, during the lockout
    assert r.status_code == 429 and r.headers["retry-after"] == "30"
    assert "too many failed sign-ins" in r.json()["detail"]
    assert token(client, "ALICE ").status_code == 429  # the same username, however written
    clock.now += 31
    assert token(client, "alice").status_code == 200  # the window is over
    assert token(client, "alice", "wrong again").status_code == 401  # a success cleared the count


def test_the_sign_in_page_is_throttled_too(make_client):
    client = make_client(login_user_failures=2, login_backoff_s=30)
    sign_up(client, "bob")
    csrf = client.get("/login").cookies.get("emolens_csrf") or client.cookies.get("emolens_csrf")
    form = {"username": "bob", "password": "nope nope nope", "csrf_token": csrf}
    assert [client.post("/login", data=form).status_code for _ in range(2)] == [401, 401]
    r = client.post("/login", data={**form, "password": GOOD}, follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 29 and "too many failed sign-ins" in r.text


def test_one_address_trying_many_usernames_is_throttled(make_client):
    client = make_client(login_address_failures=4, login_backoff_s=60)
    sign_up(client, "carol")
    for i in range(4):
        assert token(client, f"nobody{i}", "guess guess").status_code == 401
    assert token(client, "carol").status_code == 429  # another username, the same address


def test_backoff_doubles_and_is_capped_and_counts_are_forgotten():
    clock = Clock()
    throttle = LoginThrottle(
        ThrottlePolicy(user_failures=2, address_failures=100, backoff_s=1, backoff_max_s=8), clock=clock
    )
    waits = []
    for _ in range(7):
        throttle.start("dave", "10.0.0.1")
        throttle.finish("dave", "10.0.0.1", "failed")
        try:
            throttle.start("dave", "10.0.0.1")
            throttle.finish("dave", "10.0.0.1", "error")  # admitted: not counted
            waits.append(0)
        except TooManyAttempts as exc:
            waits.append(exc.retry_after)
        clock.now += waits[-1] + 0.5  # wait out each lock, then fail again
    assert waits == [0, 1, 2, 4, 8, 8, 8]
    clock.now += 2 * 8 + 1  # quiet for twice the longest wait: forgotten
    throttle.start("dave", "10.0.0.1")
    throttle.finish("dave", "10.0.0.1", "failed")
    throttle.start("dave", "10.0.0.1")


def test_parallel_attempts_count_before_they_finish():
    throttle = LoginThrottle(ThrottlePolicy(user_failures=3, address_failures=100, backoff_s=5), clock=Clock())
    for _ in range(3):
        throttle.start("eve", "10.0.0.2")  # three guesses in flight at once
    with pytest.raises(TooManyAttempts) as err:
        throttle.start("eve", "10.0.0.2")
    assert err.value.retry_after == 5
    throttle.finish("eve", "10.0.0.2", "ok")
    throttle.start("eve", "10.0.0.2")  # one finished: room again


def test_random_usernames_cannot_fill_memory():
    throttle = LoginThrottle(max_keys=100)
    for i in range(1000):
        throttle.start(f"user{i}", f"10.0.{i // 250}.{i % 250}")
        throttle.finish(f"user{i}", f"10.0.{i // 250}.{i % 250}", "failed")
    assert len(throttle._counts) <= 100


def test_at_most_max_hashes_password_checks_run_at_once():
    gate = HashGate(2, wait_s=30)
    active, peak, lock = [0], [0], threading.Lock()

    def slow_hash() -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1

    async def burst():
        await asyncio.gather(*(gate.run(slow_hash) for _ in range(12)))

    asyncio.run(burst())
    assert peak[0] == 2


def test_a_full_gate_answers_busy():
    gate = HashGate(1, wait_s=0.1)

    async def both():
        first = asyncio.ensure_future(gate.run(time.sleep, 3))  # holds the only slot far past the wait
        await asyncio.sleep(0.01)
        with pytest.raises(HashesBusy):
            await gate.run(time.sleep, 0)
        await first

    asyncio.run(both())


def test_unknown_users_are_checked_against_the_one_dummy_hash(tmp_path):
    db = open_database(tmp_path / "e.db", all_migrations())
    hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    accounts.create_user(db, "erin", GOOD, hasher=hasher)
    gate = HashGate(1)
    dummy = gate.dummy(hasher)
    assert gate.dummy(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)) == dummy  # per parameters

    class Counting(PasswordHasher):
        hashed = verified = 0

        def hash(self, *a, **k):
            Counting.hashed += 1
            return super().hash(*a, **k)

        def verify(self, *a, **k):
            Counting.verified += 1
            return super().verify(*a, **k)

    counting = Counting(time_cost=1, memory_cost=64, parallelism=1)
    for name in ("nobody", "erin"):
        with pytest.raises(accounts.InvalidCredentials):
            accounts.authenticate(db, name, "wrong password", hasher=counting, dummy=dummy)
    assert (Counting.hashed, Counting.verified) == (0, 2)  # one verification each, no hashing per request


def test_unknown_and_known_users_cost_the_same_work(tmp_path):
    """Timing must not tell usernames: every attempt does exactly one argon2id verification, against a hash
    with the server's real parameters. Counted, not timed, so that a loaded machine cannot fail it."""
    from argon2 import extract_parameters

    db = open_database(tmp_path / "e.db", all_migrations())
    real = accounts.password_hasher()
    accounts.create_user(db, "frank", GOOD, hasher=real)
    dummy = HashGate(1).dummy(real)

    class Spy:
        def __init__(self) -> None:
            self.verified: list[object] = []

        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, hash_, password):
            self.verified.append(extract_parameters(hash_))
            return real.verify(hash_, password)

    attempts = {
        "unknown": ("nobody-here", GOOD),
        "known-wrong": ("frank", "not the password"),
        "known-right": ("frank", GOOD),
    }
    work = {}
    for kind, (name, password) in attempts.items():
        spy = Spy()
        try:
            accounts.authenticate(db, name, password, hasher=spy, dummy=dummy)
        except accounts.InvalidCredentials:
            assert kind != "known-right"
        work[kind] = spy.verified
    assert all(len(v) == 1 for v in work.values()), work
    assert work["unknown"] == work["known-wrong"] == work["known-right"]
    assert work["unknown"][0].memory_cost == real.memory_cost and work["unknown"][0].time_cost == real.time_cost


@pytest.mark.parametrize(
    "password, reason",
    [
        ("12345678", "common"),
        ("        ", "different characters"),
        ("aaaaaaaaaa", "different characters"),
        ("password123", "common"),
        ("qwertyuiop", "common"),
        ("87654321", "common"),
        ("abcdefghij", "common"),
        ("grace-hopper", "username"),
        ("Grace-Hopper 2026!", "username"),
        ("reppoh-ecarg", "username"),
        ("short", "too short"),
        ("x" * 1025, "1024"),
    ],
)
def test_weak_passwords_are_refused(client, password, reason):
    r = client.post("/api/v1/auth/register", json={"username": "grace-hopper", "password": password})
    assert r.status_code == 422 and reason in r.json()["detail"], r.text
    with pytest.raises(PasswordRefused, match=reason):
        check_password(password, "grace-hopper")


def test_good_passwords_are_accepted(client):
    assert check_password("correct horse battery stapler", "bob") and check_password("Tr0ub4dor&3x", "alice")
    assert (
        client.post("/api/v1/auth/register", json={"username": "hal", "password": "open the pod bay doors"}).status_code
        == 201
    )
