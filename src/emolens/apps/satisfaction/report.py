"""A self-contained HTML report of service sessions: one file that opens offline.

plotly.min.js is read from the installed plotly package and inlined; the figures
are the same specs the dashboard draws (charts.py). Nothing is fetched when the
file is opened.

    html = build_report(sessions, by="location", start="2026-03-01", end="2026-03-31")
    Path("report.html").write_text(html)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2

from emolens import __version__
from emolens.apps.satisfaction.aggregate import aggregate, overall
from emolens.apps.satisfaction.charts import groups_figure, trend_figure
from emolens.apps.satisfaction.score import ScoreParams
from emolens.apps.satisfaction.store import ServiceSession
from emolens.core.labels import VALENCE

TEMPLATES = Path(__file__).resolve().parent / "templates"


def plotly_js() -> str:
    """The text of plotly.min.js from the installed plotly wheel (a dependency of emolens)."""
    spec = importlib.util.find_spec("plotly")  # locates the package without importing it
    folder = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    path = folder / "package_data" / "plotly.min.js" if folder else None
    if path is None or not path.is_file():
        raise FileNotFoundError("plotly.min.js not found: the report needs the plotly package (pip install plotly)")
    return path.read_text(encoding="utf-8")


def inline_script(js: str) -> str:
    """JS text safe inside <script>...</script> (a literal "</script" would end the element early)."""
    return js.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def build_report(
    sessions: Sequence[ServiceSession],
    *,
    by: str = "location",
    start: str | None = None,
    end: str | None = None,
    title: str = "Customer satisfaction",
    script: str | None = None,
) -> str:
    """The report as one HTML string; script defaults to the installed plotly.min.js."""
    if by not in ("location", "agent"):
        raise ValueError(f"--by must be location or agent, got {by!r}")
    days = aggregate(sessions, "day")
    groups = aggregate(sessions, by)
    total = overall(sessions)
    totals = {
        **(total.to_dict() if total else {"sessions": 0, "scored": 0, "mean_score": None, "mean_confidence": None}),
        "locations": len({s.location for s in sessions}),
        "agents": len({s.agent for s in sessions}),
    }
    figures = {"trend": trend_figure(days, "Mean score per day"), "groups": groups_figure(groups, by)}
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.get_template("report.html").render(
        title=title,
        start=start or (min(s.started_at for s in sessions)[:10] if sessions else "-"),
        end=end or (max(s.started_at for s in sessions)[:10] if sessions else "-"),
        by=by,
        totals=totals,
        groups=[g.to_dict() for g in groups],
        days=[g.to_dict() for g in days],
        sessions=sorted(sessions, key=lambda s: s.started_at),
        figures=figures,
        plotly=inline_script(script if script is not None else plotly_js()),
        version=__version__,
        params=ScoreParams(),
        valence=", ".join(f"{k} {v:+g}" if v else f"{k} 0" for k, v in VALENCE.items()),
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(path: str | Path, sessions: Sequence[ServiceSession], **kw: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(sessions, **kw), encoding="utf-8")
    return path
