"""CSV exports and the self-contained HTML report."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from emolens.apps.satisfaction.aggregate import aggregate
from emolens.apps.satisfaction.analysis import analyze_recording
from emolens.apps.satisfaction.charts import groups_figure, timeline_figure, trend_figure
from emolens.apps.satisfaction.export import sessions_csv, timeline_csv
from emolens.apps.satisfaction.recording import FaceSample, Recording
from emolens.apps.satisfaction.report import build_report, plotly_js
from emolens.apps.satisfaction.store import ServiceSession
from emolens.core.labels import EMOTIONS

HAPPY = tuple(float(k == "happy") for k in EMOTIONS)


def session(sid: str, when: str, location: str, agent: str, score: float | None, **kw) -> ServiceSession:
    fields = dict(  # noqa: C408 - keyword names read as the dataclass's fields
        id=sid,
        user_id=1,
        location=location,
        agent=agent,
        customer_ref=None,
        source="video",
        status="done",
        created_at=when,
        started_at=when,
        ended_at=when,
        frames=100,
        duration=10.0,
        score=score,
        confidence=None if score is None else 0.5,
        reason="too little usable customer face time: 1.0 s" if score is None else None,
        error=None,
        analysis=None,
    )
    return ServiceSession(**{**fields, **kw})


SESSIONS = [
    session("a1", "2026-03-02T09:00:00Z", "Main St", "ana", 80.0),
    session("b2", "2026-03-02T10:00:00Z", "Airport", '=HYPERLINK("x")', 40.0),
    session("c3", "2026-03-03T09:00:00Z", "Main St", "ben", None),
]


def test_sessions_csv_rows_and_formula_guard():
    rows = list(csv.DictReader(io.StringIO(sessions_csv(SESSIONS))))
    assert [r["id"] for r in rows] == ["a1", "b2", "c3"]
    assert rows[0]["score"] == "80.0" and rows[0]["confidence"] == "0.5" and rows[0]["location"] == "Main St"
    assert rows[1]["agent"] == '\'=HYPERLINK("x")'  # never a live formula in a spreadsheet
    assert rows[2]["score"] == "" and rows[2]["reason"].startswith("too little")


def test_timeline_csv_of_an_analysed_session():
    n = 40
    rec = Recording(
        EMOTIONS,
        tuple(i / 10 for i in range(n)),
        tuple(FaceSample(i, 1, (0.2, 0.2, 0.2, 0.2), HAPPY, True) for i in range(n)),
    )
    d = analyze_recording(rec).to_dict()
    s = session("d4", "2026-03-02T09:00:00Z", "x", "y", d["score"], analysis={"timeline": d["timeline"]})
    rows = list(csv.DictReader(io.StringIO(timeline_csv(s))))
    assert list(rows[0]) == ["t", "present", "valence", *EMOTIONS]
    assert len(rows) == 8 and rows[0]["valence"] == "1.0" and rows[0]["happy"] == "1.0" and rows[0]["present"] == "1.0"
    assert timeline_csv(session("e5", "2026-03-02T09:00:00Z", "x", "y", None)).strip() == "t,present,valence"


def test_figures_are_plain_plotly_specs():
    days = aggregate(SESSIONS, "day")
    trend = trend_figure(days, "per day")
    assert trend["data"][1]["y"] == [60.0, None] and trend["data"][0]["y"] == [2, 1]
    bars = groups_figure(aggregate(SESSIONS, "location"), "location")
    assert bars["data"][0]["y"] == ["Airport", "Main St"] and bars["data"][0]["x"] == [40.0, 80.0]
    tl = timeline_figure({"t": [0, 1], "valence": [0.1, None], "probabilities": {"happy": [0.5, None]}})
    assert [t["name"] for t in tl["data"]] == ["happy", "valence (-1..1)"]
    json.dumps([trend, bars, tl])  # JSON-ready


def test_html_report_is_self_contained(tmp_path):
    html = build_report(SESSIONS, by="agent", start="2026-03-01", end="2026-03-31")
    assert plotly_js()[:200] in html, "plotly.min.js is inlined"
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html), "no external scripts or stylesheets"
    assert "2026-03-01 to 2026-03-31" in html and "grouped by agent" in html
    assert "<td>=HYPERLINK(&#34;x&#34;)</td>" in html  # typed text is escaped
    figures = json.loads(re.search(r'<script type="application/json" id="figures">(.*?)</script>', html, re.S).group(1))
    assert set(figures) == {"trend", "groups"} and figures["groups"]["data"][0]["y"][0] == '=HYPERLINK("x")'
    assert html.count("<tr>") >= 1 + 3 + 1 + 2 + 1 + 3  # header + rows of the three tables
    empty = build_report([], script="/* no plotly */")
    assert "Sessions: <strong>0</strong>" in empty


@pytest.mark.parametrize("most", [1, 2, 3, 5, 9, 40, 170])
def test_session_count_axis_has_whole_distinct_ticks(most):
    """The report's axis once read 0, 1, 1, 2, 2, 3: ticks were halves printed as integers."""
    groups = aggregate([session(f"s{i}", "2026-03-02T09:00:00Z", "x", "y", 50.0) for i in range(most)], "day")
    axis = trend_figure(groups, "per day")["layout"]["yaxis2"]
    top, step = axis["range"][1], axis["dtick"]
    assert axis["tickmode"] == "linear" and axis["tick0"] == 0 and isinstance(step, int) and step >= 1
    ticks = list(range(0, top + 1, step))
    assert len(ticks) == len(set(ticks)) and 2 <= len(ticks) <= 7


def test_charts_without_any_score_say_why_they_are_empty():
    unscored = [session("u1", "2026-03-02T09:00:00Z", "Main St", "ana", None)]
    for fig in (
        groups_figure(aggregate(unscored, "location"), "location"),
        trend_figure(aggregate(unscored, "day"), "d"),
    ):
        (note,) = fig["layout"]["annotations"]
        assert note["text"].startswith("No scored session here: a score needs at least 5 s")
    assert groups_figure(aggregate(SESSIONS, "location"), "location")["layout"]["annotations"] == []


def test_html_report_carries_the_formula_not_a_link_to_our_docs():
    html = build_report(SESSIONS, by="agent", script="/* no plotly */")
    assert "docs/satisfaction.md" not in html
    assert "How a session is scored" in html and "score = clip(50 * (1 + V) - P, 0, 100)" in html
    assert "happy +1" in html and "sad -0.8" in html and "less\n  than 5.0 s of usable customer face time" in html
