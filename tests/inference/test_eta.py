"""Video guidance: the ETA arithmetic, the up-front note on cheaper settings, CLI progress lines, job ETAs.

Everything here counts or uses fixed numbers: nothing depends on how fast this machine is.
"""

from __future__ import annotations

import io
import math

import pytest

from emolens.cli import main
from emolens.inference.eta import CostModel, StreamCosts, cheaper_settings, eta_seconds, format_duration, plan_note
from emolens.web.services.jobs import Job

from helpers import make_tiny_model, moving_faces_video


def test_cost_model_from_counts_and_seconds():
    costs = StreamCosts(frames=10, detect_calls=10, detect_s=0.5, faces=20, classify_s=1.6)
    m = CostModel.measured(costs, elapsed_s=2.4)
    assert (m.detect_s, m.face_s, m.faces_per_frame) == pytest.approx((0.05, 0.08, 2.0))
    assert m.other_s == pytest.approx(0.03)  # (2.4 - 0.5 - 1.6) / 10 frames: decoding, tracking, writing
    assert m.seconds(100, every=1) == pytest.approx(100 * (0.05 + 2 * 0.08 + 0.03))
    assert m.seconds(100, every=3) == pytest.approx(100 * (0.05 / 3 + 2 * 0.08 + 0.03))
    assert m.seconds(100, every=1, face_s=0.002) == pytest.approx(100 * (0.05 + 2 * 0.002 + 0.03))


def test_a_ten_second_clip_with_the_default_model_and_what_cheaper_settings_would_cost():
    """The issue's case: 300 frames at ~2.4 s each; fast runs 60x cheaper per face."""
    m = CostModel(detect_s=0.3, face_s=1.0, other_s=0.05, faces_per_frame=2.0)
    options = dict(cheaper_settings(m, 300, every=1, fast_face_s=1.0 / 60))
    assert options["--model fast"] == pytest.approx(300 * (0.3 + 2 / 60 + 0.05))
    assert options["--every 3"] == pytest.approx(300 * (0.1 + 2.0 + 0.05))
    assert options["both"] == pytest.approx(300 * (0.1 + 2 / 60 + 0.05))
    note = plan_note("clip.mp4", m, 300, 1, fast_face_s=1.0 / 60)
    assert note == (
        "clip.mp4: 300 frames left, about 12 min at this speed; cheaper: --model fast about 1 min 55 s, "
        "--every 3 about 11 min, both about 55 s"
    )
    assert cheaper_settings(m, 300, every=3, fast_face_s=None) == []  # already fast, already every 3rd frame
    assert "cheaper" not in plan_note("clip.mp4", m, 300, 3, fast_face_s=None)


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0.4, "0 s"),
        (8.4, "8 s"),
        (60, "1 min"),
        (80, "1 min 20 s"),
        (599, "9 min 59 s"),
        (731, "12 min"),
        (3600, "1 h"),
        (3900, "1 h 5 min"),
    ],
)
def test_durations_read_the_way_people_say_them(seconds, text):
    assert format_duration(seconds) == text


def test_eta_is_the_speed_so_far_times_what_is_left():
    assert eta_seconds(30.0, 10, 40) == pytest.approx(90.0)
    assert eta_seconds(30.0, 40, 40) == 0.0
    assert eta_seconds(5.0, 0, 40) is None and eta_seconds(5.0, 3, 0) is None


class _FakeStream:
    costs = StreamCosts()


class _Result:
    faces = ()


def test_progress_in_a_pipe_says_the_plan_first_then_time_left_every_tenth():
    from emolens.cli.progress import VideoProgress

    now = [0.0]
    stream = _FakeStream()
    out = io.StringIO()
    progress = VideoProgress(
        "clip.mp4", 100, stream, 1, fast_face_s=lambda m: m.face_s / 10, file=out, tty=False, clock=lambda: now[0]
    )
    for i in range(100):
        now[0] += 2.0  # 2 s per frame: 1 s detecting, one face at 0.8 s, 0.2 s the rest
        stream.costs = StreamCosts(
            frames=i + 1, detect_calls=i + 1, detect_s=1.0 * (i + 1), faces=i + 1, classify_s=0.8 * (i + 1)
        )
        progress(_Result())
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == (
        "clip.mp4: 90 frames left, about 3 min at this speed; cheaper: --model fast about 1 min 55 s, "
        "--every 3 about 2 min, both about 55 s"
    )
    assert lines[1:] == [
        f"clip.mp4: {n}/100 frames ({n}%), 0.5 fps, about {format_duration(2.0 * (100 - n))} left"
        for n in range(20, 100, 10)
    ]


def test_stream_counts_detector_calls_and_faces(tmp_path):
    import emolens
    from emolens.inference.stream import StreamAnalyzer, StreamOptions
    from emolens.inference.video import VideoSource, run_video

    clip = moving_faces_video(tmp_path / "two.mp4", frames=10)
    stream = StreamAnalyzer(emolens.Analyzer(make_tiny_model(tmp_path / "m")), StreamOptions(every=3))
    with VideoSource(clip) as src:
        run_video(src, stream)
    c = stream.costs
    assert (c.frames, c.detect_calls, c.faces) == (10, math.ceil(10 / 3), 20)  # two faces in every frame
    assert c.detect_s > 0 and c.classify_s > 0


def test_video_cli_says_up_front_what_cheaper_settings_cost_and_gives_time_left(tmp_path, capsys):
    clip = moving_faces_video(tmp_path / "meeting.mp4", frames=30)
    assert main(["video", str(clip), "--model", str(make_tiny_model(tmp_path / "m"))]) == 0
    err = capsys.readouterr().err.splitlines()
    plan = [line for line in err if "frames left, about" in line]
    assert len(plan) == 1 and plan[0].startswith("meeting.mp4: 20 frames left")  # after the first 10
    assert "--model fast about" in plan[0] and "--every 3 about" in plan[0] and "both about" in plan[0]
    assert any(
        line.startswith("meeting.mp4: 15/30 frames (50%), ") and " fps, about " in line and line.endswith(" left")
        for line in err
    )
    assert err.index(plan[0]) < min(i for i, line in enumerate(err) if "/30 frames" in line)


def test_a_running_job_reports_seconds_left(tmp_path):
    job = Job(
        id="x", filename="a.mp4", workdir=tmp_path, status="running", frames_done=30, frame_count=120, started=1000.0
    )
    assert job.eta_s(now=1060.0) == pytest.approx(180.0)  # 60 s for 30 frames: 90 more take 180 s
    assert "eta_s" in job.to_dict()
    job.status = "done"
    assert job.eta_s(now=1060.0) is None
    assert Job(id="y", filename="b.mp4", workdir=tmp_path).eta_s(now=5.0) is None  # queued
