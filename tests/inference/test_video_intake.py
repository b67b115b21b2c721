"""Video intake: containers sniffed before FFmpeg, frame-size limits, and slow videos read the same everywhere."""

from __future__ import annotations

import json

import cv2
import pytest

from emolens.inference.containers import VideoFormatError, sniff_video
from emolens.inference.video import VideoSource, VideoTooLarge, frame_limit

from helpers import make_tiny_model
from hostile_videos import slow_avi, video_cases, write_video


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return {c.name: c for c in video_cases(tmp_path_factory.mktemp("videos"))}


def test_containers_are_sniffed_from_bytes(cases):
    assert sniff_video(cases["ok.avi"].data[:4096], "x") == "avi"
    assert sniff_video(cases["ok.mp4"].data[:4096], "x") == "mp4"
    assert sniff_video(b"\x1a\x45\xdf\xa3" + bytes(60), "x") == "matroska"
    assert sniff_video(b"OggS" + bytes(60), "x") == "ogg"
    assert sniff_video(b"\x00\x00\x01\xba" + bytes(60), "x") == "mpeg-ps"
    assert sniff_video((b"\x47" + bytes(187)) * 4, "x") == "mpeg-ts"


@pytest.mark.parametrize(
    "name",
    [
        "playlist.m3u8",
        "hls.mp4",
        "concat.mp4",
        "stream.sdp.mp4",
        "list.pls.mp4",
        "urls.mp4",
        "notes.mp4",
        "photo.mp4",
        "heic.mp4",
    ],
)
def test_playlists_text_and_stills_are_refused_as_unsupported(cases, name):
    with pytest.raises(VideoFormatError) as err:
        sniff_video(cases[name].data[:4096], name)
    assert err.value.unsupported and name in str(err.value)


def test_unknown_bytes_are_bad_input_not_unsupported(cases):
    with pytest.raises(VideoFormatError) as err:
        sniff_video(cases["noise.mp4"].data[:4096], "noise.mp4")
    assert not err.value.unsupported


def test_frame_limit_cuts_at_the_time_limit_and_reads_slow_videos_whole():
    assert frame_limit(30.0, 600) == 18_000
    assert frame_limit(29.97, 1.0) == 30  # every frame that starts before 1 s
    assert frame_limit(0.001, 600) == 600  # under 1 fps: max_seconds frames
    assert frame_limit(0.001, 0.5) == 1  # never zero


def test_frame_size_limit_from_the_header_and_each_frame(tmp_path):
    path = tmp_path / "big.avi"
    write_video(path, frames=2, size=(640, 480))
    with pytest.raises(VideoTooLarge, match=r"640x480, over the limit of 0.1 MP per frame \(my_limit\)"):
        VideoSource(str(path), api=cv2.CAP_FFMPEG, max_pixels=100_000, limit_name="my_limit")
    with VideoSource(str(path), api=cv2.CAP_FFMPEG, max_pixels=640 * 480) as source:
        assert sum(1 for _ in source) == 2


def test_a_0001_fps_video_is_read_whole_by_the_cli(tmp_path, capsys):
    from emolens.cli import main

    model = make_tiny_model(tmp_path / "tiny")
    path = tmp_path / "slow.avi"
    path.write_bytes(slow_avi(tmp_path / "raw.avi"))
    assert main(["video", str(path), "--model", str(model), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["video"]["fps"] == 0.001 and doc["frames"] == 3
