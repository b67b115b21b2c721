"""An 8-class model (FER+'s contempt) works everywhere with no code change: labels come from its card."""

from __future__ import annotations

import csv
import io
import json

import pytest

from emolens.cli import main
from emolens.core.labels import label_set
from emolens.inference.analyzer import Analyzer

from helpers import astronaut_bgr, make_tiny_model, service_video, sign_up

EIGHT = label_set(8)


@pytest.fixture(scope="module")
def contempt_model(tmp_path_factory):
    """A tiny 8-class model that reads every face as contempt."""
    return make_tiny_model(tmp_path_factory.mktemp("m8"), labels=EIGHT, bias={"contempt": 60.0})


def test_the_analyzer_reads_the_eighth_class(contempt_model):
    faces = Analyzer(contempt_model).analyze(astronaut_bgr())
    assert faces and set(faces[0].probabilities) == set(EIGHT)
    assert faces[0].emotion == "contempt" and faces[0].to_dict()["probabilities"]["contempt"] > 0.99


def test_the_rest_api_and_a_journal_checkin_with_an_8_class_model(make_client, contempt_model, astronaut_jpeg):
    client = make_client(model=str(contempt_model))
    r = client.post("/api/v1/analyze", files={"image": ("a.jpg", astronaut_jpeg, "image/jpeg")})
    assert r.status_code == 200, r.text
    face = r.json()["faces"][0]
    assert face["emotion"] == "contempt" and set(face["probabilities"]) == set(EIGHT)
    assert client.get("/api/v1/model").json()["labels"] == list(EIGHT)

    alice = sign_up(client, "alice")
    c = client.post(
        "/api/v1/journal/checkins", headers=alice, files={"image": ("me.jpg", astronaut_jpeg, "image/jpeg")}
    )
    assert c.status_code == 201, c.text
    assert c.json()["emotion"] == "contempt" and set(c.json()["shares"]) == set(EIGHT)
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/journal/export?format=csv", headers=alice).text)))
    assert float(rows[0]["share_contempt"]) > 0.99  # the export keeps the eighth share
    s = client.get("/api/v1/journal/summary?days=30", headers=alice)
    assert s.status_code == 200 and s.json()["checkins"] == 1


def test_a_counter_session_is_scored_with_an_8_class_model(contempt_model, tmp_path, capsys):
    video = service_video(tmp_path / "counter.mp4", frames=80, fps=10.0)
    code = main(
        [
            "session",
            "analyze",
            str(video),
            "--model",
            str(contempt_model),
            "--location",
            "Main St",
            "--agent",
            "ana",
            "--no-save",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    session = out[0] if isinstance(out, list) else out
    assert session["score"] is not None and 0 <= session["score"] < 50, session  # contempt is unpleasant: valence -0.5
    assert session["explanation"]["start"]["emotion"] == "contempt"
