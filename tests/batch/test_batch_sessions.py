"""Sessions at scale on this machine: a manifest of videos scored in one batch job, each stored once."""

from __future__ import annotations

import json

import pytest

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store
from emolens.batch.sessions import session_id
from emolens.cli import main

from helpers import make_tiny_model, service_video


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    service_video(root / "counter.mp4", frames=60)
    (root / "broken.mp4").write_bytes(b"\x00" * 4096)
    (root / "manifest.csv").write_text(
        "video,location,agent,started_at,customer_ref\n"
        "counter.mp4,Main St,ana,2026-03-02T10:00:00Z,T-1\n"
        f"{root / 'counter.mp4'},Airport,ben,2026-03-03,\n"
        "broken.mp4,Airport,ben,2026-03-04T08:00:00Z,\n"
    )
    return root


def sessions(data):
    db = open_database(data / "emolens.db", all_migrations())
    return store.list_sessions(db, None, store.SessionFilter())


def analyze(clips, model, data, *extra):
    return main(
        ["session", "analyze", "--manifest", str(clips / "manifest.csv"), "--model", str(model), "--json"]
        + ["--data-dir", str(data), "--user", "shop", *extra]
    )


def test_a_manifest_lands_in_the_store_with_scores_and_a_rerun_writes_nothing_twice(clips, model, tmp_path, capsys):
    data = tmp_path / "data"
    assert analyze(clips, model, data) == 1  # broken.mp4 fails (stored as failed, with the reason)
    doc = json.loads(capsys.readouterr().out)
    assert (doc["analysed"], doc["skipped"], len(doc["stored"]), len(doc["failed"])) == (3, 0, 2, 1)
    stored = {s.started_at[:10]: s for s in sessions(data)}
    assert sorted(stored) == ["2026-03-02", "2026-03-03", "2026-03-04"]
    main_st, airport, broken = stored["2026-03-02"], stored["2026-03-03"], stored["2026-03-04"]
    assert main_st.status == "done" and 0 <= main_st.score <= 100 and main_st.frames == 60
    assert (main_st.location, main_st.agent, main_st.customer_ref) == ("Main St", "ana", "T-1")
    assert (main_st.started_at, main_st.ended_at) == ("2026-03-02T10:00:00Z", "2026-03-02T10:00:06Z")
    assert airport.status == "done" and airport.score is not None and airport.started_at == "2026-03-03T00:00:00Z"
    assert broken.status == "failed" and "could not be opened" in broken.error
    user = accounts.find_user(open_database(data / "emolens.db", all_migrations()), "shop")
    meta = {"location": "Main St", "agent": "ana", "started_at": "2026-03-02T10:00:00Z"}
    assert main_st.id == session_id(user.id, str(clips / "counter.mp4"), meta)  # derived: a rerun finds it

    assert analyze(clips, model, data) == 1  # the rerun: the scored ones are skipped, the failed one retried
    again = json.loads(capsys.readouterr().out)
    assert (again["skipped"], again["analysed"], again["stored"]) == (2, 1, [])
    assert sorted(s.id for s in sessions(data)) == sorted(s.id for s in stored.values())  # no duplicate


def test_many_videos_on_the_command_line_share_the_flags(clips, model, tmp_path, capsys):
    data = tmp_path / "data"
    argv = ["session", "analyze", str(clips / "counter.mp4"), str(clips / "counter.mp4"), "--model", str(model)]
    argv += ["--location", "Kiosk", "--agent", "cy", "--data-dir", str(data), "--user", "shop"]
    assert main(argv) == 0
    assert (
        "1 session(s) scored and stored, 0 already stored, 0 failed" in capsys.readouterr().out
    )  # the same video once
    assert [(s.location, s.agent, s.status) for s in sessions(data)] == [("Kiosk", "cy", "done")]


@pytest.mark.parametrize(
    "text, message",
    [
        ("video,location\nx.mp4,Main St\n", "the header lacks agent, started_at"),
        ("video,location,agent,started_at\nx.mp4,Main St,,2026-03-02\n", "line 2: no agent"),
        (
            "video,location,agent,started_at\nx.mp4,Main St,ana,yesterday\n",
            "line 2: started_at 'yesterday' is not a date",
        ),
        ("video,location,agent,started_at\n", "no sessions listed"),
    ],
)
def test_bad_manifests_are_one_line_errors(tmp_path, capsys, text, message):
    (tmp_path / "m.csv").write_text(text)
    assert main(["session", "analyze", "--manifest", str(tmp_path / "m.csv"), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_one_video_still_needs_location_and_agent(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["session", "analyze", "x.mp4"])
    assert stop.value.code == 2 and "give VIDEO with --location and --agent, or --manifest" in capsys.readouterr().err
