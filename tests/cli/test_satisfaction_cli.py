"""`emolens session analyze | report | purge` on a generated counter clip and a temporary database."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store
from emolens.cli import main

from helpers import make_tiny_model, service_video


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return service_video(tmp_path_factory.mktemp("clip") / "counter.mp4", frames=60)


@pytest.mark.slow
def test_analyze_stores_a_scored_session_and_report_writes_html_and_csv(model, clip, tmp_path, capsys):
    data = tmp_path / "data"
    common = ["--data-dir", str(data), "--user", "shop"]
    assert (
        main(
            [
                "session",
                "analyze",
                str(clip),
                "--location",
                "Main St",
                "--agent",
                "ana",
                "--model",
                str(model),
                "--started",
                "2026-03-02T10:00:00Z",
                "--json",
                *common,
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "cli" and doc["user"] == "shop" and doc["started_at"] == "2026-03-02T10:00:00Z"
    assert 0 <= doc["score"] <= 100 and doc["frames"] == 60 and doc["explanation"]["summary"]
    assert doc["ended_at"] == "2026-03-02T10:00:06Z"  # 60 frames at 10 fps after the start, not the start again
    assert sorted(t["role"] for t in doc["customer"]["tracks"]) == ["customer", "other"]
    assert (
        main(
            [
                "session",
                "analyze",
                str(clip),
                "--location",
                "Airport",
                "--agent",
                "ben",
                "--model",
                str(model),
                "--rule",
                "largest",
                "--started",
                "2026-03-03T10:00:00Z",
                *common,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out  # the largest face is the passer-by: 3 s on screen, too little for a score
    assert "Airport / ben: no score, confidence" in out and "too little usable customer face time: 3.0 s" in out
    assert "stored as session" in out
    assert (
        main(
            [
                "session",
                "analyze",
                str(clip),
                "--location",
                "Main St",
                "--agent",
                "ana",
                "--model",
                str(model),
                "--no-save",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out  # the moments README promises
    best = next(line for line in out.splitlines() if line.startswith("best moments: "))
    worst = next(line for line in out.splitlines() if line.startswith("worst moments: "))
    moment = r"\d+:\d\d \w+ \([+-]\d\.\d\d\)"
    for line in (best, worst):
        assert re.fullmatch(rf"\w+ moments: ({moment}(, {moment})*|none at or [a-z]+ [+-]0\.15 \(.*\))", line), line
    doc = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "emolens.cli",
                "session",
                "analyze",
                str(clip),
                "--location",
                "x",
                "--agent",
                "y",
                "--model",
                str(model),
                "--no-save",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
    )
    assert len(doc["explanation"]["positive_moments"]) == (0 if "none" in best else best.count("(")) and len(
        doc["explanation"]["negative_moments"]
    ) == (0 if "none" in worst else worst.count("("))

    assert main(["session", "list", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["id", "started", "(UTC)", "location"] and len(lines) == 3
    assert "2026-03-03 10:00" in lines[1] and "Airport" in lines[1] and "too little usable" in lines[1]
    assert main(["session", "list", "--agent", "ana", "--json", *common]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["agent"] == "ana" and listed["ended_at"] == "2026-03-02T10:00:06Z" and "timeline" not in listed

    db = open_database(data / "emolens.db", all_migrations())
    user = accounts.find_user(db, "shop")
    assert len(store.list_sessions(db, user.id)) == 2 and not user.has_password  # a local, password-less account

    html, table = tmp_path / "out" / "report.html", tmp_path / "out" / "sessions.csv"
    assert (
        main(
            [
                "session",
                "report",
                "--from",
                "2026-03-01",
                "--to",
                "2026-03-31",
                "--by",
                "agent",
                "--html",
                str(html),
                "--csv",
                str(table),
                *common,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["agent", "sessions", "scored", "mean", "weighted", "trend/week"]
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [["ana", "1", "1"], ["ben", "1", "0"]]
    text = html.read_text()
    assert "Plotly" in text and len(text) > 1_000_000, "plotly.min.js is inlined"
    assert not re.search(r"<script[^>]+src=", text) and "2026-03-01 to 2026-03-31" in text
    rows = list(csv.DictReader(table.open()))
    assert [r["agent"] for r in rows] == ["ben", "ana"] and all(r["source"] == "cli" for r in rows)
    assert main(["session", "report", "--from", "2026-03-03", "--json", *common]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert [(g["key"], g["sessions"]) for g in groups] == [("Airport", 1)]


def test_report_errors_and_purge(model, tmp_path, capsys):
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["session", "report", "--user", "nobody", *data]) == 2
    assert "no account 'nobody'" in capsys.readouterr().err
    assert main(["session", "report", "--all-accounts", "--from", "March", *data]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    for verb in ("report", "list"):  # a fresh machine: no account yet, and still the date is what is wrong
        assert main(["session", verb, "--from", "notadate", "--data-dir", str(tmp_path / "fresh")]) == 2
        err = capsys.readouterr().err
        assert "--from: 'notadate' is not a date" in err and "no account" not in err
    db = open_database(tmp_path / "data" / "emolens.db", all_migrations())
    user = accounts.local_user(db, "shop", hasher=accounts.password_hasher(fast=True))
    old = store.create_session(db, user.id, location="x", agent="y", started_at="2020-01-01T00:00:00Z")
    new = store.create_session(db, user.id, location="x", agent="y")
    assert main(["session", "purge", "--older-than", "30", *data]) == 0
    assert "deleted 1 session(s)" in capsys.readouterr().out
    assert store.get_session(db, user.id, old.id) is None and store.get_session(db, user.id, new.id) is not None
    assert (
        main(
            [
                "session",
                "analyze",
                str(tmp_path / "missing.mp4"),
                "--location",
                "x",
                "--agent",
                "y",
                "--model",
                str(model),
                *data,
            ]
        )
        == 2
    )
    assert "no such video file" in capsys.readouterr().err
    assert main(["session", "analyze", "x.mp4", "--location", "x", "--agent", "y", "--roi", "1,2", *data]) == 2
    assert "x0,y0,x1,y1" in capsys.readouterr().err
