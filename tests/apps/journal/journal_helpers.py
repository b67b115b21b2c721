"""Shared bits of the journal tests: a database with two users, faces and check-ins made by hand."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.journal import store
from emolens.apps.journal.readings import Reading, normalised
from emolens.apps.journal.schema import MIGRATIONS
from emolens.core.labels import EMOTIONS
from emolens.core.results import Face, Quality

TODAY = date(2026, 3, 16)  # a Monday


def make_db(path):
    return open_database(path, [*accounts.MIGRATIONS, *MIGRATIONS])


def make_user(db, name: str) -> accounts.User:
    return accounts.create_user(db, name, "a long enough password", hasher=accounts.password_hasher(fast=True))


def probs(**given: float) -> dict[str, float]:
    """Probabilities over the seven emotions: the given ones, the rest shared equally."""
    rest = (1.0 - sum(given.values())) / (len(EMOTIONS) - len(given))
    return {e: given.get(e, rest) for e in EMOTIONS}


def face(p: dict[str, float], box=(10, 10, 80, 80)) -> Face:
    top = max(p, key=p.get)
    return Face(
        box=box,
        score=0.99,
        landmarks=None,
        probabilities=p,
        emotion=top,
        confidence=p[top],
        uncertain=False,
        quality=Quality(False, False, False, 100.0, 120.0),
    )


def reading(p: dict[str, float], frames: int = 1) -> Reading:
    p = normalised(p)
    return Reading(shares=p, confidence=max(p.values()), frames=frames, total_frames=frames)


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.utc)


def history(db, user_id: int, days: list[dict[str, float] | None], *, end: date = TODAY, tags=None) -> None:
    """One photo check-in per day, oldest first, ending on `end`; None leaves a day without one."""
    for i, p in enumerate(days):
        if p is not None:
            day = end - timedelta(days=len(days) - 1 - i)
            store.add_checkin(db, user_id, reading(p), source="photo", at=at(day), tags=tags)
