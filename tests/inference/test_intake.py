"""The image intake: formats from bytes, limits from headers before any decode, OpenCV's own limit, the gate."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from emolens.inference import images
from emolens.inference.decode_gate import DecodeGate
from emolens.inference.imageformats import read_header, sniff
from emolens.inference.images import decode_bytes, load_image
from emolens.inference.limits import (
    MB,
    DecoderBusy,
    ImageError,
    ImageLimits,
    ImageTooLarge,
    UnsupportedImage,
    limit_opencv,
)

from helpers import astronaut_bgr
from hostile_images import bombs, budget_bombs, corrupt, enc, png, scan_bomb, truncated, unsupported, valid

SERVER = ImageLimits(
    max_pixels=40_000_000,
    max_decode_bytes=512 * MB,
    pixels_setting="EMOLENS_MAX_PIXELS",
    decode_setting="EMOLENS_MAX_DECODE_MB",
)


@pytest.fixture
def imdecode_calls(monkeypatch):
    """Counts cv2.imdecode calls made by the intake (a bomb must never get there)."""
    calls = []
    real = cv2.imdecode

    def counting(buf, flags):
        calls.append(len(buf))
        return real(buf, flags)

    monkeypatch.setattr(images.cv2, "imdecode", counting)
    return calls


@pytest.mark.parametrize("case", bombs() + budget_bombs() + [scan_bomb()], ids=lambda c: c.name)
def test_bombs_are_refused_from_the_header_without_decoding(case, imdecode_calls):
    started = time.thread_time()  # CPU time of this thread: a loaded machine does not inflate it
    with pytest.raises(ImageTooLarge) as err:
        decode_bytes(case.data, name=case.name, limits=SERVER)
    assert time.thread_time() - started < 1.0  # a header read: microseconds
    assert imdecode_calls == [], "the decoder was reached"
    message = str(err.value)
    assert case.name in message
    assert any(
        limit in message
        for limit in (
            "40 MP limit (EMOLENS_MAX_PIXELS)",
            "512 MB decode budget (EMOLENS_MAX_DECODE_MB)",
            "side over 65535",
            "more than 100 scans",
        )
    ), message


def test_the_message_names_the_limit_in_force():
    bomb = png(12000, 12000)  # 144 MP
    for limits, text in (
        (SERVER, "over the 40 MP limit (EMOLENS_MAX_PIXELS)"),
        (
            ImageLimits(max_pixels=2_500_000, pixels_setting="--max-megapixels"),
            "over the 2.5 MP limit (--max-megapixels)",
        ),
        (ImageLimits(), "over the 100 MP limit"),
    ):
        with pytest.raises(ImageTooLarge, match=text.replace("(", r"\(").replace(")", r"\)")):
            decode_bytes(bomb, name="x.png", limits=limits)


@pytest.mark.parametrize("case", truncated() + corrupt(), ids=lambda c: c.name)
def test_truncated_and_corrupt_files_are_bad_input(case):
    with pytest.raises(ImageError) as err:
        decode_bytes(case.data, name=case.name, limits=SERVER)
    expected = ImageTooLarge if case.status == 413 else ImageError
    assert isinstance(err.value, expected) and not isinstance(err.value, UnsupportedImage)
    assert case.name in str(err.value)


def test_a_forged_end_marker_is_found_in_every_kind_of_jpeg():
    forged = [c for c in truncated() if c.name.startswith("forged-end")]
    assert len(forged) == 30
    for case in forged:
        with pytest.raises(ImageError, match="truncated"):
            decode_bytes(case.data, name=case.name)


@pytest.mark.parametrize("case", unsupported(), ids=lambda c: c.name)
def test_refused_formats_are_unsupported_whatever_the_name(case, imdecode_calls):
    with pytest.raises(UnsupportedImage, match="not a supported image format|supported"):
        decode_bytes(case.data, name=case.name)
    assert imdecode_calls == []


@pytest.mark.parametrize("case", valid(), ids=lambda c: c.name)
def test_good_files_of_every_format_decode_and_their_headers_tell_the_truth(case):
    header = read_header(case.data, case.name)
    img = decode_bytes(case.data, name=case.name, limits=SERVER)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.flags.c_contiguous
    rotated = "exif" in case.name
    assert (img.shape[1], img.shape[0]) == ((header.height, header.width) if rotated else (header.width, header.height))


def test_sniffing_ignores_the_name():
    face = astronaut_bgr()
    assert sniff(enc(".png", face)) == "png" and sniff(enc(".jpg", face)) == "jpeg" and sniff(b"hello") is None
    a = load_image(enc(".png", face), name="photo.jpg")
    assert np.array_equal(a, face)


def test_decode_memory_is_checked_against_the_budget():
    rgba16 = enc(".png", np.zeros((600, 800, 4), np.uint16))  # 0.48 MP x (8 bytes RGBA + 3 BGR)
    header = read_header(rgba16, "x")
    assert header.decode_bytes == 600 * 800 * 11
    with pytest.raises(ImageTooLarge, match="decode budget"):
        decode_bytes(rgba16, name="x.png", limits=ImageLimits(max_decode_bytes=5 * MB))
    assert decode_bytes(rgba16, name="x.png", limits=ImageLimits(max_decode_bytes=6 * MB)).shape == (600, 800, 3)


def test_files_bigger_than_the_budget_are_not_read(tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff" + bytes(3 * MB))
    with pytest.raises(ImageTooLarge, match="the file alone"):
        load_image(big, limits=ImageLimits(max_decode_bytes=2 * MB))


def test_alpha_is_composited_in_blocks_for_16_bit_and_gray():
    rgba = np.zeros((700, 50, 4), np.uint16)  # more rows than one block
    rgba[:, :, :3] = 40000
    rgba[:350, :, 3] = 65535
    out = decode_bytes(enc(".png", rgba), name="x.png")
    assert (out[:350] == 40000 >> 8).all() and (out[350:] == 255).all()


def test_opencv_pixel_limit_is_set_before_it_loads_and_its_refusal_is_caught():
    """In a fresh process, OpenCV itself refuses over its limit; the intake turns that into ImageTooLarge."""
    code = """
from emolens.inference.limits import ImageLimits, ImageTooLarge, limit_opencv
assert limit_opencv(1000)  # before cv2 is imported: takes effect
import numpy as np, cv2
from emolens.inference.images import decode_bytes
png = cv2.imencode(".png", np.zeros((100, 100, 3), np.uint8))[1].tobytes()
try:
    decode_bytes(png, name="x.png", limits=ImageLimits(max_pixels=10**6))  # our check passes, OpenCV's does not
except ImageTooLarge as exc:
    print("refused:", exc)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: x.png: over OpenCV's pixel limit (OPENCV_IO_MAX_IMAGE_PIXELS)" in out.stdout


def test_limit_opencv_after_opencv_loaded_changes_nothing(monkeypatch):
    monkeypatch.delenv("OPENCV_IO_MAX_IMAGE_PIXELS", raising=False)
    assert "cv2" in sys.modules and limit_opencv(1000) is False
    import os

    assert "OPENCV_IO_MAX_IMAGE_PIXELS" not in os.environ


def test_the_gate_bounds_concurrent_decodes_and_their_memory():
    gate = DecodeGate(2, 100, wait_s=5)
    peak, active, lock = [0], [0], threading.Lock()

    def work(nbytes: int) -> None:
        with gate.reserve(nbytes):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.02)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=work, args=(10,)) for _ in range(12)]
    threads += [threading.Thread(target=work, args=(80,)) for _ in range(3)]  # two of these never fit together
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2 and gate.active == 0


def test_the_gate_answers_busy_instead_of_waiting_forever():
    gate = DecodeGate(1, 100, wait_s=0.05)
    with gate.reserve(10):
        with pytest.raises(DecoderBusy, match="try again"):
            with gate.reserve(10):
                pass
    with gate.reserve(10):  # released: free again
        pass


def test_a_gated_decode_still_refuses_bombs_first(imdecode_calls):
    gate = DecodeGate(1, 10 * MB)
    with pytest.raises(ImageTooLarge):
        decode_bytes(png(20000, 20000), name="b.png", limits=SERVER, gate=gate)
    img = decode_bytes(enc(".jpg", astronaut_bgr()), name="a.jpg", limits=SERVER, gate=gate)
    assert img.shape == (512, 512, 3) and gate.active == 0 and imdecode_calls


def test_the_cli_sets_opencvs_limit_from_its_flags_before_opencv_loads(tmp_path):
    code = f"""
import os, sys
from emolens.cli import main
assert "cv2" not in sys.modules
main(["analyze", {str(tmp_path / "missing.png")!r}, "--max-megapixels", "2"])
print(os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2000000"


def test_serve_sets_opencvs_limit_from_the_servers_setting():
    """`serve` loads the web app (and OpenCV with it) only after the limit is set from EMOLENS_MAX_PIXELS."""
    code = """
import contextlib, io, os, sys
from emolens.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["serve", "--help"])
print(os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"], "cv2" in sys.modules)
"""
    import os

    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EMOLENS_MAX_PIXELS": "3000000"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3000000 True"
