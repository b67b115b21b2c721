"""The satisfaction score, confidence and explanation on synthetic timelines with hand-computed values."""

from __future__ import annotations

import pytest

from emolens.apps.satisfaction.analysis import chart_step, chart_timeline
from emolens.apps.satisfaction.explain import clock, explain
from emolens.apps.satisfaction.score import CustomerTimeline, ScoreParams, negative_episodes, score_timeline
from emolens.core.labels import EMOTIONS, VALENCE

ONE_HOT = {k: [float(k == j) for j in EMOTIONS] for k in EMOTIONS}
HAPPY, SAD, NEUTRAL, ANGRY = ONE_HOT["happy"], ONE_HOT["sad"], ONE_HOT["neutral"], ONE_HOT["angry"]


def timeline(*runs: tuple[list[float], int], step: float = 1.0, usable=None) -> CustomerTimeline:
    """Consecutive runs of (probabilities, frames), one frame every `step` seconds."""
    probs = [p for p, n in runs for _ in range(n)]
    return CustomerTimeline.from_arrays(EMOTIONS, [i * step for i in range(len(probs))], probs, usable=usable)


def test_constant_moods_map_to_the_valence_scale():
    assert score_timeline(timeline((HAPPY, 10))).score == 100.0
    assert score_timeline(timeline((NEUTRAL, 10))).score == 50.0
    # Sad throughout: V = -0.8 -> 50 * 0.2 = 10, minus one 10 s episode: 5 + 1 * 10 = 15 points -> clipped at 0.
    s = score_timeline(timeline((SAD, 10)))
    assert s.valence == pytest.approx(-0.8) and s.penalty == 15.0 and s.score == 0.0


def test_end_of_the_session_counts_more():
    # 10 frames of 1 s, span T = 10 s; r_i = 1 + (2 - 1) * i / 10.
    # Frames 0-4 sum r = 5 + (0+1+2+3+4)/10 = 6.0; frames 5-9 sum r = 5 + (5+...+9)/10 = 8.5.
    # Sad then happy: V = (6.0 * -0.8 + 8.5 * 1.0) / 14.5 = 0.255172; 50 * 1.255172 = 62.7586
    # minus the 5 s sad episode (5 + 1 * 5 = 10 points) = 52.76 -> 52.8.
    better = score_timeline(timeline((SAD, 5), (HAPPY, 5)))
    assert better.valence == pytest.approx(3.7 / 14.5)
    assert better.penalty == 10.0 and better.score == 52.8
    # Happy then sad: V = (6.0 * 1.0 + 8.5 * -0.8) / 14.5 = -0.055172 -> 47.2414 - 10 = 37.24 -> 37.2.
    worse = score_timeline(timeline((HAPPY, 5), (SAD, 5)))
    assert worse.valence == pytest.approx(-0.8 / 14.5) and worse.score == 37.2
    # Without recency weighting both orders are the same.
    flat = ScoreParams(end_weight=1.0)
    assert (
        score_timeline(timeline((SAD, 5), (HAPPY, 5)), flat).score
        == score_timeline(timeline((HAPPY, 5), (SAD, 5)), flat).score
        == pytest.approx(50 * (1 + 0.1) - 10)
    )


def test_short_negative_blips_are_not_episodes_and_the_penalty_is_capped():
    # 2 s of anger among neutral frames: under min_episode_s (3 s), no penalty.
    blip = score_timeline(timeline((NEUTRAL, 4), (ANGRY, 2), (NEUTRAL, 4)))
    assert blip.episodes == () and blip.penalty == 0
    # Two episodes of 3 s and 4 s: (5 + 3) + (5 + 4) = 17 points.
    two = score_timeline(timeline((NEUTRAL, 2), (ANGRY, 3), (NEUTRAL, 2), (ANGRY, 4), (NEUTRAL, 2)))
    assert [e.seconds for e in two.episodes] == [3.0, 4.0] and two.penalty == 17.0
    assert [(e.start, e.end) for e in two.episodes] == [(2.0, 5.0), (7.0, 11.0)]
    # 60 s angry: 5 + 60 = 65 points, capped at 30.
    assert score_timeline(timeline((ANGRY, 60))).penalty == 30.0


def test_mixed_probabilities_use_valence_weighted_shares():
    # Each frame 50 % happy, 50 % angry, flat weights: V = 0.5 * 1.0 + 0.5 * -0.8 = 0.1 -> 55.
    mixed = [0.5 * h + 0.5 * a for h, a in zip(HAPPY, ANGRY)]
    s = score_timeline(timeline((mixed, 8)))
    assert s.valence == pytest.approx(0.5 * VALENCE["happy"] + 0.5 * VALENCE["angry"]) and s.score == 55.0


def test_an_episode_ends_at_a_gap_without_a_usable_face():
    # 2 s angry, 3 unusable frames, 2 s angry: two runs of 2 s, neither long enough.
    tl = timeline((ANGRY, 2), (ANGRY, 3), (ANGRY, 2), (NEUTRAL, 4), usable=[1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    assert negative_episodes(tl.only_usable(), ScoreParams()) == []
    assert score_timeline(tl).usable_seconds == 8.0


def test_too_little_signal_gives_no_score_and_says_why():
    # 20 frames, only 3 usable: 3 s < min_usable_s = 5 s.
    usable = [i in (4, 5, 6) for i in range(20)]
    s = score_timeline(timeline((HAPPY, 20), usable=usable))
    assert s.score is None and s.valence is None
    assert "3.0 s" in s.reason and "5 s" in s.reason
    assert s.confidence == pytest.approx(min(1, 3 / 30) * 3 / 20)
    empty = score_timeline(timeline(), no_customer="no face was seen during the session")
    assert empty.score is None and empty.reason == "no face was seen during the session" and empty.confidence == 0
    e = explain(timeline(), empty)
    assert e.start.mood == "unknown" and e.summary.startswith("no face was seen")


def test_confidence_grows_with_usable_time_and_coverage():
    # 10 s usable over a 20 s span (every other second unusable): min(1, 10/30) * 10/20.
    s = score_timeline(timeline((HAPPY, 20), usable=[i % 2 == 0 for i in range(20)]))
    assert s.usable_seconds == 10.0 and s.span_seconds == 20.0
    assert s.confidence == pytest.approx(1 / 3 * 0.5, abs=1e-3)
    assert score_timeline(timeline((HAPPY, 60))).confidence == 1.0


def test_explanation_start_end_moments_and_shares():
    # 0-4 s neutral, 4-9 s sad, 9-12 s neutral, 12-20 s happy.
    tl = timeline((NEUTRAL, 4), (SAD, 5), (NEUTRAL, 3), (HAPPY, 8))
    s = score_timeline(tl)
    e = explain(tl, s)
    assert (e.start.mood, e.start.emotion) == ("neutral", "neutral")  # first 20 %: 0..4 s
    assert (e.end.mood, e.end.emotion, e.end.valence) == ("positive", "happy", 1.0)  # last 20 %: 16..20 s
    assert e.change == pytest.approx(1.0)
    assert [m.t for m in e.negative_moments] == [4.0, 6.0, 8.0]  # never two neighbouring windows
    assert all(m.emotion == "sad" and m.valence == pytest.approx(-0.8) for m in e.negative_moments)
    assert [m.t for m in e.positive_moments] == [12.0, 14.0, 16.0]
    assert e.share["happy"] == pytest.approx(8 / 20) and e.share["sad"] == pytest.approx(5 / 20)
    assert e.share["neutral"] == pytest.approx(7 / 20) and sum(e.share.values()) == pytest.approx(1)
    d = e.to_dict()
    assert d["negative_moments"][0]["time"] == "0:04" and d["episodes"] == [
        {"start": 4.0, "end": 9.0, "seconds": 5.0, "min_valence": -0.8}
    ]
    assert (
        "started neutral" in e.summary and "ended positive" in e.summary and "1 sustained negative episode" in e.summary
    )


def test_clock_and_chart_timeline():
    assert clock(0) == "0:00" and clock(73.4) == "1:13" and clock(3600) == "60:00"
    assert chart_step(10) == 0.5 and chart_step(600) == 2.0 and chart_step(601) == 2.1
    tl = timeline((SAD, 2), (HAPPY, 2), step=0.5, usable=[1, 1, 0, 1])
    chart = chart_timeline(tl, duration=3.0)
    assert chart["step"] == 0.5 and chart["t"] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    assert chart["valence"][:4] == [-0.8, -0.8, None, 1.0] and chart["valence"][4:] == [None, None]
    assert chart["present"] == [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    assert chart["probabilities"]["happy"][:4] == [0.0, 0.0, None, 1.0]


def test_irregular_live_frames_are_weighted_by_time():
    # Live frames arrive irregularly: 1 happy frame lasting 4 s vs 4 sad frames of 1 s each, then a last frame.
    tl = CustomerTimeline.from_arrays(
        EMOTIONS, [0, 1, 2, 3, 4, 8], [SAD, SAD, SAD, SAD, HAPPY, HAPPY], d=[1, 1, 1, 1, 4, 1]
    )
    s = score_timeline(tl, ScoreParams(end_weight=1.0))
    # V = (4 * -0.8 + 5 * 1.0) / 9 = 0.2; episode 4 s -> 9 points; 50 * 1.2 - 9 = 51.
    assert s.valence == pytest.approx(0.2) and s.score == 51.0
