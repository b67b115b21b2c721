"""Aggregates per day, week, location and agent, with hand-computed means and trends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from emolens.apps.satisfaction.aggregate import aggregate, group_key, parse_time, slope_per_week


@dataclass(frozen=True)
class S:
    started_at: str
    location: str
    agent: str
    score: float | None
    confidence: float | None = 0.5


SESSIONS = [
    S("2026-03-02T09:00:00Z", "Main St", "ana", 80.0, 1.0),  # Monday, ISO week 10
    S("2026-03-02T15:00:00Z", "Main St", "ben", 60.0, 0.5),
    S("2026-03-03T10:00:00Z", "Airport", "ana", 40.0, 0.25),
    S("2026-03-03T11:00:00Z", "Airport", "ana", None, 0.0),  # too little signal: counted, not scored
    S("2026-03-09T10:00:00Z", "Main St", "ben", 90.0, 1.0),  # Monday, ISO week 11
]


def test_by_location_means_weighted_means_and_unscored():
    groups = {g.key: g for g in aggregate(SESSIONS, "location")}
    assert list(groups) == ["Airport", "Main St"]
    main, airport = groups["Main St"], groups["Airport"]
    assert (main.sessions, main.scored, main.unscored) == (3, 3, 0)
    assert main.mean_score == pytest.approx((80 + 60 + 90) / 3)
    assert main.weighted_score == pytest.approx((80 * 1 + 60 * 0.5 + 90 * 1) / 2.5)  # 80.0
    assert (main.min_score, main.max_score) == (60.0, 90.0)
    assert (airport.sessions, airport.scored, airport.unscored, airport.mean_score) == (2, 1, 1, 40.0)
    assert airport.slope_per_week is None  # one scored session: no trend
    assert main.first == "2026-03-02T09:00:00Z" and main.last == "2026-03-09T10:00:00Z"


def test_by_agent_trend_is_the_least_squares_slope_per_week():
    groups = {g.key: g for g in aggregate(SESSIONS, "agent")}
    # ben: 60 on Mar 2 15:00, 90 on Mar 9 10:00 (6.7917 days later): slope 30 / 6.7917 * 7 = 30.92 per week.
    assert groups["ben"].slope_per_week == pytest.approx(30 / (6 + 19 / 24) * 7)
    # ana: 80 at day 0, 40 at day 1 + 1 h: -40 / (25/24) * 7 per week.
    assert groups["ana"].slope_per_week == pytest.approx(-40 / (25 / 24) * 7)
    assert groups["ana"].to_dict()["unscored"] == 1


def test_by_day_and_week_with_change_from_the_previous_period():
    days = aggregate(SESSIONS, "day")
    assert [g.key for g in days] == ["2026-03-02", "2026-03-03", "2026-03-09"]
    assert [g.mean_score for g in days] == [70.0, 40.0, 90.0]
    assert [g.change for g in days] == [None, -30.0, 50.0]
    weeks = aggregate(SESSIONS, "week")
    assert [g.key for g in weeks] == ["2026-W10", "2026-W11"]
    assert weeks[0].mean_score == pytest.approx(60.0) and weeks[1].change == pytest.approx(30.0)
    assert all(g.slope_per_week is None for g in weeks)


def test_keys_times_and_bad_groupings():
    assert group_key(S("2026-01-01T23:30:00-02:00", "x", "y", 1), "day") == "2026-01-02"  # UTC day
    assert group_key(S("2027-01-01T00:00:00Z", "x", "y", 1), "week") == "2026-W53"
    assert parse_time("2026-03-02T09:00:00").tzinfo is not None
    assert slope_per_week([]) is None
    with pytest.raises(ValueError, match="day, week, location, agent"):
        aggregate(SESSIONS, "month")
    assert aggregate([], "day") == []
    only_null = aggregate([S("2026-03-02T09:00:00Z", "a", "b", None, 0.0)], "day")[0]
    assert only_null.mean_score is None and only_null.weighted_score is None and only_null.to_dict()["unscored"] == 1
