"""WebSocket /api/v1/live: one frame in, tracked and smoothed faces out; bad frames do not end the session."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emolens.core.labels import EMOTIONS


def _result(ws) -> dict:
    msg = ws.receive_json()
    assert msg["type"] == "result", msg
    return msg


def test_live_session_tracks_and_smooths(client, astronaut_jpeg, settings):
    with client.websocket_connect("/api/v1/live") as ws:
        ready = ws.receive_json()
        assert ready["type"] == "ready" and ready["labels"] == list(EMOTIONS) and ready["model"]["name"] == "tiny"
        flipped = cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(astronaut_jpeg, np.uint8), 1)[:, ::-1])[1].tobytes()
        frames = []
        for data in (astronaut_jpeg, astronaut_jpeg, flipped):
            ws.send_bytes(data)
            frames.append(_result(ws))
        assert [f["index"] for f in frames] == [0, 1, 2]
        assert all(len(f["faces"]) == 1 and f["width"] == 512 and f["ms"] > 0 for f in frames)
        ids = {f["faces"][0]["track_id"] for f in frames}
        assert ids == {1}, "the same face keeps its id"
        # EMA: frame 2 mixes the flipped face's probabilities with the history, so it moves but less than fully.
        p1 = np.array(list(frames[1]["faces"][0]["probabilities"].values()))
        p2 = np.array(list(frames[2]["faces"][0]["probabilities"].values()))
        assert p2.sum() == pytest.approx(1.0, abs=1e-3)
        with client.websocket_connect("/api/v1/live") as fresh:  # unsmoothed reference for the flipped frame
            fresh.receive_json()
            fresh.send_bytes(flipped)
            raw = np.array(list(_result(fresh)["faces"][0]["probabilities"].values()))
        alpha = settings.live_alpha
        assert np.allclose(p2, alpha * raw + (1 - alpha) * p1, atol=0.02)


def test_live_bad_frames_get_errors_and_session_goes_on(client, astronaut_jpeg):
    with client.websocket_connect("/api/v1/live") as ws:
        ws.receive_json()
        ws.send_bytes(b"not a jpeg")
        err = ws.receive_json()
        assert err["type"] == "error" and "frame 0" in err["message"]
        ws.send_text("hello")
        assert ws.receive_json()["type"] == "error"
        ws.send_bytes(astronaut_jpeg)
        first = _result(ws)
        ws.send_text("reset")
        assert ws.receive_json() == {"type": "reset"}
        ws.send_bytes(astronaut_jpeg)
        after = _result(ws)
        assert first["faces"][0]["track_id"] == 1 and after["index"] == 0 and after["faces"][0]["track_id"] == 1


def test_live_frame_over_the_limit_is_refused(make_client):
    client = make_client(max_upload_mb=0.001)
    with client.websocket_connect("/api/v1/live") as ws:
        assert ws.receive_json()["max_frame_bytes"] == 1048
        ws.send_bytes(b"\xff" * 5000)
        err = ws.receive_json()
        assert err["type"] == "error" and "limit" in err["message"]
