"""Index formulas, day/week/month views, streaks, weekdays and tags on hand-computed fixtures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from emolens.apps.journal import store
from emolens.apps.journal.readings import manual_reading
from emolens.apps.journal.summary import summarize
from emolens.apps.journal.trends import Indexes, daily, grouped, streaks, tag_effects, weekdays

from journal_helpers import TODAY, at, make_db, make_user, probs, reading


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "j.db")


def test_index_formulas():
    s = {"angry": 0.05, "disgust": 0.05, "fear": 0.10, "happy": 0.40, "sad": 0.20, "surprise": 0.10, "neutral": 0.10}
    i = Indexes.from_shares(s)
    assert i.happiness == pytest.approx(40.0) and i.sadness == pytest.approx(20.0)
    assert i.stress == pytest.approx(20.0)  # angry + fear + disgust
    # valence: -0.8*.05 - 0.7*.05 - 0.6*.10 + 1.0*.40 - 0.8*.20 + 0.2*.10 + 0
    assert i.valence == pytest.approx(-0.04 - 0.035 - 0.06 + 0.40 - 0.16 + 0.02)


def test_days_weigh_equally_and_corrections_and_moods_count(db):
    user = make_user(db, "alice")
    monday, tuesday = TODAY - timedelta(days=7), TODAY - timedelta(days=6)
    # Monday: two check-ins, one happy-ish photo later corrected to sad, and a picked mood "happy".
    c1 = store.add_checkin(db, user.id, reading(probs(happy=0.7)), source="photo", at=at(monday, 8))
    store.update_checkin(db, user.id, c1.id, corrected="sad")
    store.add_checkin(db, user.id, manual_reading("happy"), source="manual", at=at(monday, 20))
    # Tuesday: one photo reading happy 0.4, sad 0.1, neutral 0.2 (others 0.075).
    store.add_checkin(db, user.id, reading(probs(happy=0.4, sad=0.1, neutral=0.2)), source="photo", at=at(tuesday))
    days = daily(store.list_checkins(db, user.id))
    assert [d.start for d in days] == [monday, tuesday] and [d.checkins for d in days] == [2, 1]
    assert days[0].indexes.happiness == pytest.approx(50.0) and days[0].indexes.sadness == pytest.approx(50.0)
    (week,) = grouped(days, "week")
    assert week.label == "2026-W11" and week.start == monday and (week.days, week.checkins) == (2, 3)
    assert week.indexes.happiness == pytest.approx((50 + 40) / 2)  # mean of the days, not of the 3 check-ins
    assert week.indexes.sadness == pytest.approx((50 + 10) / 2)
    assert week.indexes.stress == pytest.approx((0 + 3 * 7.5) / 2)
    (month,) = grouped(days, "month")
    assert month.label == "2026-03" and month.start == date(2026, 3, 1)


def test_streaks():
    t = TODAY
    d = lambda n: t - timedelta(days=n)  # noqa: E731
    assert streaks([d(0), d(1), d(2), d(5), d(6)], t).to_dict() == {
        "current": 3,
        "longest": 3,
        "last_day": t.isoformat(),
    }
    assert streaks([d(1), d(2)], t).current == 2  # today's check-in may still come
    assert streaks([d(2), d(3), d(4), d(5)], t).current == 0 and streaks([d(2), d(3), d(4), d(5)], t).longest == 4
    assert streaks([], t).current == 0


def test_weekday_patterns_and_tag_effects(db):
    user = make_user(db, "bob")
    for week in range(3):
        monday = TODAY - timedelta(days=7 * week)
        store.add_checkin(db, user.id, manual_reading("sad"), source="manual", at=at(monday), tags=["work"])
        store.add_checkin(
            db,
            user.id,
            manual_reading("happy"),
            source="manual",
            at=at(monday + timedelta(days=5)),
            tags=["outdoors", "friends"],
        )
    checkins = store.list_checkins(db, user.id)
    days = daily(checkins)
    by_name = {w["weekday"]: w for w in weekdays(days)}
    assert by_name["Monday"]["days"] == 3 and by_name["Monday"]["sadness"] == 100.0
    assert by_name["Saturday"]["happiness"] == 100.0 and by_name["Tuesday"]["days"] == 0
    effects = {e.tag: e for e in tag_effects(checkins)}
    assert set(effects) == {"friends", "outdoors", "work"}
    assert effects["work"].delta.sadness == pytest.approx(100.0) and effects["work"].delta.happiness == -100.0
    assert effects["outdoors"].with_tag == 3 and effects["outdoors"].without_tag == 3


def test_summary_of_a_period(db):
    user = make_user(db, "carol")
    store.add_checkin(db, user.id, manual_reading("happy"), source="manual", at=at(TODAY - timedelta(days=40)))
    store.add_checkin(db, user.id, manual_reading("happy"), source="manual", at=at(TODAY - timedelta(days=1)))
    store.add_checkin(db, user.id, manual_reading("neutral"), source="manual", at=at(TODAY))
    s = summarize(db, user.id, days=30, today=TODAY, group="week").to_dict()
    assert s["checkins"] == 2 and s["days_with_checkins"] == 2 and s["start"] == "2026-02-15"
    assert s["indexes"]["happiness"] == 50.0 and s["streak"]["current"] == 2
    assert s["series"][-1]["label"] == "2026-W12" and s["disclaimer"].startswith("emolens is not a medical device")
    empty = summarize(db, make_user(db, "dave").id, days=7, today=TODAY).to_dict()
    assert empty["checkins"] == 0 and empty["indexes"] is None and empty["suggestions"] == []
