"""A period of the journal in one object: shares, indexes, series, streak, patterns, suggestions.

s = summarize(db, user.id, days=30)      # the last 30 days, today included
print(format_summary(s))                 # the CLI's text; s.to_dict() is the API's JSON
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from emolens.apps.db import Database
from emolens.apps.journal import store
from emolens.apps.journal.store import CheckIn
from emolens.apps.journal.suggestions import Context, RuleBook, Suggestion, crisis_block, load_rules, suggest
from emolens.apps.journal.trends import (
    Bucket,
    Indexes,
    Streak,
    TagEffect,
    daily,
    grouped,
    model_changes,
    period_shares,
    streaks,
    tag_effects,
    weekdays,
)

MAX_DAYS = 3660


@dataclass(frozen=True)
class Summary:
    start: date
    end: date
    checkins: int
    shares: dict[str, float]
    indexes: Indexes | None  # None without check-ins
    streak: Streak
    group: str
    series: tuple[Bucket, ...]  # by day, week or month
    days: tuple[Bucket, ...]  # by day
    weekdays: list[dict[str, Any]]
    tags: tuple[TagEffect, ...]
    suggestions: tuple[Suggestion, ...]
    crisis: dict[str, Any] | None
    disclaimer: str
    has_baseline: bool
    model_changes: tuple[dict[str, Any], ...] = ()  # the days a new model version started reading

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": (self.end - self.start).days + 1,
            "checkins": self.checkins,
            "days_with_checkins": len(self.days),
            "shares": {k: round(v, 4) for k, v in self.shares.items()},
            "indexes": None if self.indexes is None else self.indexes.to_dict(),
            "streak": self.streak.to_dict(),
            "group": self.group,
            "series": [b.to_dict() for b in self.series],
            "daily": [b.to_dict() for b in self.days],
            "weekdays": self.weekdays,
            "tags": [t.to_dict() for t in self.tags],
            "suggestions": [s.to_dict() for s in self.suggestions],
            "crisis": self.crisis,
            "disclaimer": self.disclaimer,
            "has_baseline": self.has_baseline,
            "model_changes": list(self.model_changes),
        }


def period(today: date, days: int) -> tuple[date, date]:
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}, got {days}")
    return today - timedelta(days=days - 1), today


def build_summary(
    checkins: Sequence[CheckIn],
    *,
    today: date,
    days: int,
    all_days: Sequence[date],
    has_baseline: bool,
    book: RuleBook,
    group: str = "day",
) -> Summary:
    """Pure: the period's check-ins (and every check-in day, for the streak) -> Summary."""
    start, end = period(today, days)
    inside = [c for c in checkins if start <= c.day <= end]
    by_day = daily(inside)
    series = grouped(by_day, group)
    shares = period_shares(by_day)
    streak = streaks(all_days, today)
    effects = tag_effects(inside)
    found = suggest(book, Context(today, by_day, streak, effects, checkins=len(inside), has_baseline=has_baseline))
    return Summary(
        start=start,
        end=end,
        checkins=len(inside),
        shares=shares,
        indexes=Indexes.from_shares(shares) if by_day else None,
        streak=streak,
        group=group,
        series=tuple(series),
        days=tuple(by_day),
        weekdays=weekdays(by_day),
        tags=tuple(effects),
        suggestions=tuple(found),
        crisis=crisis_block(book, found),
        disclaimer=book.disclaimer,
        has_baseline=has_baseline,
        model_changes=tuple(model_changes(inside, group)),
    )


def summarize(
    db: Database,
    user_id: int,
    *,
    days: int = 30,
    today: date | None = None,
    group: str = "day",
    book: RuleBook | None = None,
) -> Summary:
    today = today or datetime.now().astimezone().date()
    start, end = period(today, days)
    return build_summary(
        store.list_checkins(db, user_id, since=start, until=end),
        today=today,
        days=days,
        all_days=store.checkin_days(db, user_id),
        has_baseline=store.get_baseline(db, user_id) is not None,
        book=book or load_rules(),
        group=group,
    )


def format_summary(s: Summary) -> str:
    """Plain text for `emolens journal summary`."""
    lines = [f"Mood journal, {s.start} to {s.end}: {s.checkins} check-ins on {len(s.days)} days"]
    if s.indexes is None:
        lines.append("No check-ins in this period yet: `emolens journal checkin PHOTO` or pick a mood on the web page.")
    else:
        i = s.indexes
        lines.append(
            f"Happiness {i.happiness:.0f}/100 · sadness {i.sadness:.0f}/100 · stress {i.stress:.0f}/100 · "
            f"valence {i.valence:+.2f}"
        )
        top = sorted(s.shares.items(), key=lambda kv: -kv[1])[:3]
        lines.append("Mostly " + ", ".join(f"{k} {v:.0%}" for k, v in top))
        lines.append(f"Streak: {s.streak.current} day(s) in a row (longest {s.streak.longest})")
        busy = [w for w in s.weekdays if w["days"]]
        if len(busy) >= 3:
            best = max(busy, key=lambda w: w["happiness"])
            hard = max(busy, key=lambda w: w["stress"])
            lines.append(
                f"Brightest weekday: {best['weekday']} (happiness {best['happiness']:.0f}); "
                f"most tense: {hard['weekday']} (stress {hard['stress']:.0f})"
            )
        for t in s.tags[:5]:
            d = t.delta
            lines.append(
                f"Tag {t.tag} ({t.with_tag} check-ins): happiness {d.happiness:+.0f}, "
                f"sadness {d.sadness:+.0f}, stress {d.stress:+.0f} vs. without it"
            )
        if len(s.series) > 1:
            recent = ", ".join(f"{b.label} {b.indexes.happiness:.0f}" for b in s.series[-6:])
            lines.append(f"Happiness by {s.group}: {recent}")
    for change in s.model_changes:
        lines.append(f"Model changed on {change['day']}: readings from then on are by model {change['sha256'][:12]}")
    if not s.has_baseline:
        lines.append("No personal baseline yet: `emolens journal calibrate PHOTO...` (a relaxed face).")
    if s.crisis:
        lines += ["", s.crisis["title"], s.crisis["text"], *(f"  - {r}" for r in s.crisis["resources"])]
    for sug in s.suggestions:
        lines += ["", f"* {sug.title}", f"  {sug.text}", f"  (because {sug.because})"]
    lines += ["", s.disclaimer]
    return "\n".join(lines)
