"""Trends over check-ins: indexes, daily/weekly/monthly views, streaks, weekdays, tags (pure functions).

Formulas (docs/journal.md), from a check-in's final shares s (a correction or a picked
mood counts as the whole check-in on that emotion; otherwise the baseline-adjusted reading):
    happiness = 100 * s_happy
    sadness   = 100 * s_sad
    stress    = 100 * (s_angry + s_fear + s_disgust)
    valence   = sum_k VALENCE[k] * s_k            (-1 .. +1, emolens.core.labels)
A day's shares are the mean over its check-ins; a week's, month's or period's shares are
the mean over its days with check-ins, so a day with five check-ins weighs as much as a
day with one. Indexes of a day, week or period come from its shares.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from emolens.apps.journal.store import CheckIn
from emolens.core.labels import EMOTIONS, VALENCE, label_set

INDEXES = ("happiness", "sadness", "stress")
STRESS_EMOTIONS = ("angry", "fear", "disgust")
GROUPS = ("day", "week", "month")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Indexes:
    happiness: float  # 0..100
    sadness: float  # 0..100
    stress: float  # 0..100
    valence: float  # -1..1

    @classmethod
    def from_shares(cls, s: Mapping[str, float]) -> Indexes:
        return cls(
            happiness=100.0 * s.get("happy", 0.0),
            sadness=100.0 * s.get("sad", 0.0),
            stress=100.0 * sum(s.get(k, 0.0) for k in STRESS_EMOTIONS),
            valence=sum(VALENCE.get(k, 0.0) * v for k, v in s.items()),
        )

    def get(self, name: str) -> float:
        if name not in (*INDEXES, "valence"):
            raise KeyError(f"unknown index {name!r}: one of {', '.join((*INDEXES, 'valence'))}")
        return getattr(self, name)

    def to_dict(self) -> dict[str, float]:
        return {
            "happiness": round(self.happiness, 1),
            "sadness": round(self.sadness, 1),
            "stress": round(self.stress, 1),
            "valence": round(self.valence, 3),
        }


@dataclass(frozen=True)
class Bucket:
    """A day, ISO week (starting Monday) or month with at least one check-in."""

    start: date
    label: str  # 2026-05-04, 2026-W19 or 2026-05
    checkins: int
    days: int
    shares: Mapping[str, float]
    indexes: Indexes

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "label": self.label,
            "checkins": self.checkins,
            "days": self.days,
            "shares": {k: round(v, 4) for k, v in self.shares.items()},
            **self.indexes.to_dict(),
        }


@dataclass(frozen=True)
class Streak:
    current: int  # days in a row with a check-in, up to today (or yesterday, before today's check-in)
    longest: int
    last_day: date | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "longest": self.longest,
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
        }


@dataclass(frozen=True)
class TagEffect:
    """Mean indexes of check-ins with the tag minus those without it (positive: higher with the tag)."""

    tag: str
    with_tag: int
    without_tag: int
    delta: Indexes

    def to_dict(self) -> dict[str, Any]:
        return {"tag": self.tag, "checkins": self.with_tag, "without": self.without_tag, "delta": self.delta.to_dict()}


def mean_shares(items: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean share per emotion; contempt joins when some reading came from an 8-class model."""
    labels = EMOTIONS + tuple(k for k in label_set(8)[len(EMOTIONS) :] if any(k in s for s in items))
    if not items:
        return dict.fromkeys(labels, 0.0)
    return {k: sum(s.get(k, 0.0) for s in items) / len(items) for k in labels}


def daily(checkins: Iterable[CheckIn]) -> list[Bucket]:
    by_day: dict[date, list[CheckIn]] = defaultdict(list)
    for c in checkins:
        by_day[c.day].append(c)
    out = []
    for day in sorted(by_day):
        shares = mean_shares([c.final_shares for c in by_day[day]])
        out.append(Bucket(day, day.isoformat(), len(by_day[day]), 1, shares, Indexes.from_shares(shares)))
    return out


def _bucket_start(day: date, group: str) -> tuple[date, str]:
    if group == "week":
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return start, f"{year}-W{week:02d}"
    if group == "month":
        return day.replace(day=1), day.strftime("%Y-%m")
    return day, day.isoformat()


def grouped(days: Sequence[Bucket], group: str) -> list[Bucket]:
    """Daily buckets -> weekly or monthly ones (the mean of their days' shares); 'day' returns them as they are."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}: one of {', '.join(GROUPS)}")
    if group == "day":
        return list(days)
    parts: dict[tuple[date, str], list[Bucket]] = defaultdict(list)
    for d in days:
        parts[_bucket_start(d.start, group)].append(d)
    out = []
    for (start, label), members in sorted(parts.items()):
        shares = mean_shares([m.shares for m in members])
        out.append(
            Bucket(start, label, sum(m.checkins for m in members), len(members), shares, Indexes.from_shares(shares))
        )
    return out


def period_shares(days: Sequence[Bucket]) -> dict[str, float]:
    return mean_shares([d.shares for d in days])


def streaks(days: Iterable[date], today: date) -> Streak:
    unique = sorted({d for d in days if d <= today})
    if not unique:
        return Streak(0, 0, None)
    longest = run = 1
    for prev, cur in zip(unique, unique[1:]):
        run = run + 1 if (cur - prev).days == 1 else 1
        longest = max(longest, run)
    current = 0
    if (today - unique[-1]).days <= 1:
        current = 1
        for prev, cur in zip(reversed(unique[:-1]), reversed(unique[1:])):
            if (cur - prev).days != 1:
                break
            current += 1
    return Streak(current, longest, unique[-1])


def weekdays(days: Sequence[Bucket]) -> list[dict[str, Any]]:
    """Mean indexes per day of the week (over days with check-ins), Monday first."""
    out = []
    for i, name in enumerate(WEEKDAYS):
        members = [d for d in days if d.start.weekday() == i]
        shares = mean_shares([d.shares for d in members])
        out.append(
            {
                "weekday": name,
                "days": len(members),
                **(Indexes.from_shares(shares).to_dict() if members else dict.fromkeys((*INDEXES, "valence"))),
            }
        )
    return out


def tag_effects(checkins: Sequence[CheckIn], *, min_checkins: int = 2) -> list[TagEffect]:
    """For each tag on at least min_checkins check-ins (and missing from as many): indexes with minus without."""
    tags = sorted({t for c in checkins for t in c.tags})
    out = []
    for tag in tags:
        with_tag = [c.final_shares for c in checkins if tag in c.tags]
        without = [c.final_shares for c in checkins if tag not in c.tags]
        if len(with_tag) < min_checkins or len(without) < min_checkins:
            continue
        a, b = Indexes.from_shares(mean_shares(with_tag)), Indexes.from_shares(mean_shares(without))
        delta = Indexes(a.happiness - b.happiness, a.sadness - b.sadness, a.stress - b.stress, a.valence - b.valence)
        out.append(TagEffect(tag, len(with_tag), len(without), delta))
    return out


def model_changes(checkins: Sequence[CheckIn], group: str = "day") -> list[dict[str, Any]]:
    """The days on which the model that read the check-ins changed (a new version was served): the day of the
    first reading by the new model, its bucket's label in `group`, and both models' sha256."""
    out: list[dict[str, Any]] = []
    previous = None
    for c in sorted(checkins, key=lambda c: (c.local_time, c.id)):
        if c.model_sha256 is None:
            continue  # picked moods, and readings stored before versions were recorded
        if previous is not None and c.model_sha256 != previous:
            out.append(
                {
                    "day": c.day.isoformat(),
                    "bucket": _bucket_start(c.day, group)[1],
                    "sha256": c.model_sha256,
                    "previous": previous,
                }
            )
        previous = c.model_sha256
    return out
