"""Plotly figure specs (plain dicts) for the dashboard and the HTML report: defined once, drawn by
`Plotly.newPlot(el, fig.data, fig.layout)` from the locally served or inlined plotly.min.js."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emolens.apps.satisfaction.aggregate import Group
from emolens.apps.satisfaction.score import ScoreParams

# The same dark, white-text-safe colours as the web pages' faces.js.
COLORS: Mapping[str, str] = {
    "angry": "#b71c1c",
    "disgust": "#33691e",
    "fear": "#4a148c",
    "happy": "#9c4a00",
    "sad": "#0d47a1",
    "surprise": "#00606a",
    "neutral": "#424242",
}
SCORE_COLOR = "#0b57a4"
BASE_LAYOUT: dict[str, Any] = {
    "margin": {"l": 56, "r": 56, "t": 36, "b": 48},
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
}


NO_SCORE = (
    f"No scored session here: a score needs at least {ScoreParams().min_usable_s:g} s of usable customer "
    "face time (see each session's reason)"
)


def count_ticks(top: int, ticks: int = 6) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, 50 ...) giving at most `ticks` steps up to `top`: a session
    count axis never shows 0, 1, 1, 2, 2."""
    step = 1
    while top / step > ticks:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step


def _no_score_note(groups: Sequence[Group]) -> list[dict[str, Any]]:
    """A note inside a chart whose groups have sessions but no score at all (it would be blank otherwise)."""
    if not groups or any(g.mean_score is not None for g in groups):
        return []
    return [
        {
            "text": NO_SCORE,
            "xref": "paper",
            "yref": "paper",
            "x": 0.5,
            "y": 0.5,
            "showarrow": False,
            "font": {"size": 13, "color": "#4a5360"},
            "bgcolor": "#ffffff",
        }
    ]


def trend_figure(groups: Sequence[Group], title: str) -> dict[str, Any]:
    """Mean score per day or week (line) over the number of sessions (bars)."""
    keys = [g.key for g in groups]
    top = 3 * max([g.sessions for g in groups], default=1)
    return {
        "data": [
            {
                "type": "bar",
                "x": keys,
                "y": [g.sessions for g in groups],
                "name": "sessions",
                "yaxis": "y2",
                "marker": {"color": "#c9d3df"},
                "hovertemplate": "%{x}: %{y} sessions<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": keys,
                "y": [_r(g.mean_score) for g in groups],
                "name": "mean score",
                "line": {"color": SCORE_COLOR, "width": 3},
                "connectgaps": False,
                "hovertemplate": "%{x}: score %{y:.1f}<extra></extra>",
            },
        ],
        "layout": {
            **BASE_LAYOUT,
            "title": {"text": title},
            "annotations": _no_score_note(groups),
            "xaxis": {"type": "category", "title": {"text": ""}},
            "yaxis": {"title": {"text": "mean score"}, "range": [0, 100]},
            # the bars stay in the lower third, under the score line; whole-number ticks only
            "yaxis2": {
                "title": {"text": "sessions"},
                "overlaying": "y",
                "side": "right",
                "showgrid": False,
                "range": [0, top],
                "tickmode": "linear",
                "tick0": 0,
                "dtick": count_ticks(top),
                "tickformat": "d",
            },
        },
    }


def groups_figure(groups: Sequence[Group], by: str) -> dict[str, Any]:
    """Mean score per location or agent, with the session count and the weekly trend in the hover."""
    text = [
        f"{g.scored}/{g.sessions} scored" + ("" if g.slope_per_week is None else f", {g.slope_per_week:+.1f}/week")
        for g in groups
    ]
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [g.key for g in groups],
                "x": [_r(g.mean_score) for g in groups],
                "text": text,
                "textposition": "auto",
                "marker": {"color": SCORE_COLOR},
                "name": "mean score",
                "hovertemplate": "%{y}: %{x:.1f} (%{text})<extra></extra>",
            }
        ],
        "layout": {
            **BASE_LAYOUT,
            "title": {"text": f"Mean score per {by}"},
            "annotations": _no_score_note(groups),
            "xaxis": {"range": [0, 100], "title": {"text": "mean score"}},
            "yaxis": {"type": "category", "automargin": True},
            "height": max(380, 90 + 36 * len(groups)),
        },
    }


def timeline_figure(timeline: Mapping[str, Any]) -> dict[str, Any]:
    """The customer's emotions over the session (probability lines) and valence (dotted, right axis)."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": timeline["t"],
            "y": values,
            "name": label,
            "line": {"color": COLORS.get(label, "#424242"), "width": 2},
            "connectgaps": False,
            "hovertemplate": f"{label} %{{y:.0%}} at %{{x:.1f}} s<extra></extra>",
        }
        for label, values in timeline["probabilities"].items()
    ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "x": timeline["t"],
            "y": timeline["valence"],
            "name": "valence (-1..1)",
            "yaxis": "y2",
            "connectgaps": False,
            "line": {"color": "#000000", "dash": "dot", "width": 3},
        }
    )
    return {
        "data": data,
        "layout": {
            **BASE_LAYOUT,
            "hovermode": "x unified",
            "xaxis": {"title": {"text": "time (s)"}},
            "yaxis": {"title": {"text": "probability"}, "range": [0, 1], "tickformat": ".0%"},
            "yaxis2": {
                "title": {"text": "valence"},
                "overlaying": "y",
                "side": "right",
                "range": [-1, 1],
                "showgrid": False,
            },
        },
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
