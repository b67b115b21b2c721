"""rules.yaml: valid, and each rule fires on the synthetic history it is written for (and not on a calm one)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from emolens.apps.journal import store
from emolens.apps.journal.suggestions import RulesError, load_rules
from emolens.apps.journal.summary import summarize

from journal_helpers import TODAY, at, history, make_db, make_user, probs, reading

CALM = probs(neutral=0.7)
SAD = probs(sad=0.6, neutral=0.2)
TENSE = probs(angry=0.25, fear=0.25, neutral=0.3)
HAPPY = probs(happy=0.7)


@pytest.fixture
def db(tmp_path):
    return make_db(tmp_path / "j.db")


def all_rules(max_suggestions=20):
    return dataclasses.replace(load_rules(), max_suggestions=max_suggestions)


def fired(db, name, days, *, baseline=True, max_suggestions=20):
    user = make_user(db, name)
    if baseline:
        store.save_baseline(db, user.id, reading(CALM, frames=3))
    history(db, user.id, days)
    return summarize(db, user.id, days=30, today=TODAY, book=all_rules(max_suggestions))


def ids(summary):
    return [s.id for s in summary.suggestions]


def test_the_shipped_rules_are_valid_and_kind():
    book = load_rules()
    assert len(book.rules) >= 8 and book.max_suggestions == 3
    assert "not a medical device" in book.disclaimer and len(book.crisis["resources"]) >= 3
    assert any(r.crisis for r in book.rules)
    for rule in book.rules:
        assert rule.text[-1] in ".!?" and "diagnos" not in rule.text.lower()


def test_a_calm_fortnight_fires_nothing(db):
    s = fired(db, "calm", [CALM] * 14)
    assert ids(s) == ["checkin-streak"] and s.crisis is None  # only the habit is celebrated


def test_a_few_sad_days_suggest_reaching_out_without_crisis(db):
    s = fired(db, "sad", [CALM] * 6 + [SAD] * 3)
    assert "sad-days" in ids(s) and "low-days-walk" in ids(s) and s.crisis is None
    (sad,) = [x for x in s.suggestions if x.id == "sad-days"]
    assert sad.because == "sadness at least 35 on 3 of the last 4 days"


def test_a_few_tense_days_suggest_breathing(db):
    assert "stressed-days" in ids(fired(db, "tense", [CALM] * 4 + [TENSE] * 3))


def test_sustained_sadness_brings_crisis_resources_first(db):
    s = fired(db, "low", [SAD] * 12, max_suggestions=3)
    assert ids(s)[0] == "sustained-sadness" and s.suggestions[0].crisis
    assert s.crisis is not None and any("988" in r for r in s.crisis["resources"])
    assert len(s.suggestions) == 3


def test_sustained_stress_is_a_crisis_pattern_too(db):
    assert fired(db, "stressed", [TENSE] * 10).crisis is not None


def test_good_streak_and_checkin_streak(db):
    s = fired(db, "bright", [CALM] * 3 + [HAPPY] * 5)
    assert "good-streak" in ids(s) and "checkin-streak" in ids(s)
    assert "good-streak" not in ids(fired(db, "almost", [HAPPY] * 4 + [CALM]))


def test_welcome_back_after_a_gap(db):
    s = fired(db, "away", [CALM] * 3 + [None] * 5)
    assert "welcome-back" in ids(s) and s.streak.current == 0


def test_calibration_nudge_without_baseline(db):
    assert "calibrate" in ids(fired(db, "new", [CALM] * 3, baseline=False))
    assert "calibrate" not in ids(fired(db, "new2", [CALM] * 2, baseline=False))


def test_tag_rules_name_the_tag(db):
    user = make_user(db, "tags")
    store.save_baseline(db, user.id, reading(CALM))
    for i in range(4):
        day = TODAY - timedelta(days=i)
        store.add_checkin(db, user.id, reading(HAPPY), source="photo", at=at(day, 18), tags=["exercise"])
        store.add_checkin(db, user.id, reading(TENSE), source="photo", at=at(day, 23), tags=["sleep"])
    s = summarize(db, user.id, days=30, today=TODAY, book=all_rules())
    by_id = {x.id: x for x in s.suggestions}
    assert by_id["tag-lift"].title == "More of what works: exercise"
    assert "sleep" in by_id["tag-tension"].title and "sleep-and-stress" in by_id


def test_malformed_rules_are_refused_with_the_rule_named(tmp_path):
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "disclaimer: x\ncrisis: {text: t, resources: [r]}\nrules:\n"
        "  - {id: oops, when: {check: index_days, index: joy, at_least: 1}, title: t, text: t.}\n"
    )
    with pytest.raises(RulesError, match="oops.*index must be one of"):
        load_rules(bad)
