"""Sign-in throttling and the password-check gate (plain Python, used by the sign-in routes).

Failures are counted per username and per client address. Past `user_failures` (or
`address_failures`) each further failure doubles the wait: backoff_s, 2 x backoff_s, ...
up to backoff_max_s. While a key waits, sign-ins are refused with 429 and Retry-After
before the password is looked at, so the right password is refused too. Attempts still
being checked count toward the limit, so a burst of parallel guesses is cut at the same
number. A success clears the username's count (not the address's); a key quiet for
twice the longest wait is forgotten, and only `max_keys` keys are kept, oldest first.

The gate runs at most `slots` argon2 computations at once (64 MiB each) and checks
unknown usernames against one dummy hash per hasher, made at start-up for the
server's own, so that they cost one verification like known ones.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher

from emolens.apps import accounts
from emolens.apps.db import Database
from emolens.apps.passwords import dummy_hash

T = TypeVar("T")


class TooManyAttempts(Exception):
    """Sign-ins for this username or address wait `retry_after` seconds (answered 429)."""

    def __init__(self, retry_after: float):
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(f"too many failed sign-ins: wait {self.retry_after} s before the next try")


class HashesBusy(RuntimeError):
    """Every password-check slot stayed taken (answered 503)."""


@dataclass(frozen=True)
class ThrottlePolicy:
    user_failures: int = 5
    address_failures: int = 20
    backoff_s: float = 2.0
    backoff_max_s: float = 900.0


@dataclass
class _Count:
    failures: int = 0
    pending: int = 0  # attempts being checked right now: they count toward the limit until they end
    until: float = 0.0  # refused before this time
    last: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        policy: ThrottlePolicy = ThrottlePolicy(),
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ):
        self.policy, self.clock, self.max_keys = policy, clock, max_keys
        self._counts: OrderedDict[str, _Count] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, username: str, address: str) -> None:
        """Admit one attempt, or TooManyAttempts while a key waits or has its free attempts in flight."""
        now = self.clock()
        with self._lock:
            counts = [(self._get(key, now), free) for key, free in self._limits(username, address)]
            wait = max(
                c.until - now
                if c.until > now
                # in flight: the free attempts left, or one
                else (self.policy.backoff_s if c.pending >= max(1, free - c.failures) else 0.0)
                for c, free in counts
            )
            if wait > 0:
                raise TooManyAttempts(wait)
            for key, (count, _) in zip(self._keys(username, address), counts):
                count.pending += 1
                self._store(key, count, now)

    def finish(self, username: str, address: str, outcome: str) -> None:
        """outcome: 'failed' (a wrong password: counted, maybe a wait), 'ok' (clears the username) or 'error'."""
        now = self.clock()
        with self._lock:
            for key, free in self._limits(username, address):
                count = self._get(key, now)
                count.pending = max(0, count.pending - 1)
                if outcome == "failed":
                    count.failures += 1
                    if count.failures >= free:
                        delay = self.policy.backoff_s * 2 ** min(count.failures - free, 30)
                        count.until = now + min(delay, self.policy.backoff_max_s)
                elif outcome == "ok" and key.startswith("user:"):
                    count.failures, count.until = 0, 0.0
                self._store(key, count, now)

    def _limits(self, username: str, address: str) -> list[tuple[str, int]]:
        return list(zip(self._keys(username, address), (self.policy.user_failures, self.policy.address_failures)))

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return "user:" + username.strip().lower(), "addr:" + address

    def _get(self, key: str, now: float) -> _Count:
        count = self._counts.get(key)
        if count is None or (count.pending == 0 and now - count.last > 2 * self.policy.backoff_max_s):
            return _Count()
        return count

    def _store(self, key: str, count: _Count, now: float) -> None:
        count.last = now
        self._counts[key] = count
        self._counts.move_to_end(key)
        while len(self._counts) > self.max_keys:
            self._counts.popitem(last=False)


class HashGate:
    def __init__(self, slots: int, *, wait_s: float = 10.0):
        self.slots, self.wait_s = slots, wait_s
        self._semaphore = asyncio.Semaphore(slots)
        self._dummies: dict[tuple, str] = {}

    def dummy(self, hasher: PasswordHasher) -> str:
        """The dummy hash for this hasher's parameters (made on first use; `prepare` makes it at start-up)."""
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len, hasher.type)
        if key not in self._dummies:
            self._dummies[key] = dummy_hash(hasher)
        return self._dummies[key]

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in the thread pool once a slot is free; HashesBusy after wait_s."""
        try:
            await asyncio.wait_for(self._semaphore.acquire(), timeout=self.wait_s)
        except asyncio.TimeoutError:
            raise HashesBusy(f"{self.slots} passwords are being checked: try again in a few seconds") from None
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        finally:
            self._semaphore.release()


@dataclass(frozen=True)
class Login:
    """What the sign-in routes share: the throttle and the gate."""

    throttle: LoginThrottle
    gate: HashGate

    async def sign_in(
        self, db: Database, hasher: PasswordHasher, username: str, password: str, address: str
    ) -> accounts.User:
        """The user, or TooManyAttempts / HashesBusy / accounts.InvalidCredentials."""
        self.throttle.start(username, address)
        outcome = "error"
        try:
            user = await self.gate.run(
                accounts.authenticate, db, username, password, hasher=hasher, dummy=self.gate.dummy(hasher)
            )
            outcome = "ok"
            return user
        except accounts.InvalidCredentials:
            outcome = "failed"
            raise
        finally:
            self.throttle.finish(username, address, outcome)
