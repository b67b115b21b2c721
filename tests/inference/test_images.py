"""Image decoding: every bad input gives an ImageError naming the file, good odd ones decode."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from emolens.inference.images import ImageError, header_size, load_image

from helpers import astronaut_bgr


def _jpeg(img: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", img)[1].tobytes()


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    """name -> (path, expected message fragment)."""
    d = tmp_path_factory.mktemp("bad")
    img = astronaut_bgr()
    (d / "notes.jpg").write_text("this is not an image\n")
    (d / "empty.png").write_bytes(b"")
    full = _jpeg(img)
    (d / "cut.jpg").write_bytes(full[: int(len(full) * 0.9)])
    cv2.imwrite(str(d / "huge.png"), np.zeros((9000, 12000), np.uint8))  # 108 MP
    return {
        "non-image": (d / "notes.jpg", "not an image"),
        "zero bytes": (d / "empty.png", "empty (0 bytes)"),
        "truncated jpeg": (d / "cut.jpg", "truncated"),
        "huge": (d / "huge.png", "megapixels, over the 100 MP limit"),
        "missing": (d / "nope.jpg", "no such file"),
        "folder": (d, "not a file"),
    }


@pytest.mark.parametrize("case", ["non-image", "zero bytes", "truncated jpeg", "huge", "missing", "folder"])
def test_bad_input_is_a_clear_error(bad_files, case):
    path, fragment = bad_files[case]
    with pytest.raises(ImageError) as err:
        load_image(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


def test_bytes_and_arrays_are_checked_too():
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="shape"):
        load_image(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ImageError, match="over the"):
        load_image(np.zeros((100, 100), np.uint8), max_pixels=5000)


def test_16bit_png_becomes_8bit(tmp_path):
    img = astronaut_bgr()
    cv2.imwrite(str(tmp_path / "deep.png"), img.astype(np.uint16) * 257)
    out = load_image(tmp_path / "deep.png")
    assert out.dtype == np.uint8 and np.array_equal(out, img)


def test_rgba_png_is_composited_on_white(tmp_path):
    img = astronaut_bgr()
    bgra = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    bgra[:40, :, 3] = 0
    cv2.imwrite(str(tmp_path / "alpha.png"), bgra)
    out = load_image(tmp_path / "alpha.png")
    assert out.shape == img.shape
    assert (out[:40] == 255).all() and np.array_equal(out[40:], img[40:])


def test_exif_rotation_is_applied(tmp_path):
    from PIL import Image

    upright = astronaut_bgr()[:, :400]  # not square, so a missed rotation shows in the shape
    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(stored[:, :, ::-1]).save(tmp_path / "phone.jpg", "JPEG", exif=exif, quality=95)
    out = load_image(tmp_path / "phone.jpg")
    assert out.shape == upright.shape
    assert np.abs(out.astype(int) - upright.astype(int)).mean() < 6


def test_gray_rgb_and_float_arrays():
    img = astronaut_bgr()
    assert load_image(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)).shape == img.shape
    assert np.array_equal(load_image(img[:, :, ::-1].copy(), rgb=True), img)
    assert np.array_equal(load_image(img.astype(np.float32) / 255.0), img)


def test_header_size_without_decoding():
    img = np.zeros((30, 70, 3), np.uint8)
    assert header_size(_jpeg(img)) == (70, 30)
    assert header_size(cv2.imencode(".png", img)[1].tobytes()) == (70, 30)
    assert header_size(b"GIF89a") is None


def test_cli_reports_each_bad_file_and_goes_on(bad_files, tmp_path, capsys):
    from emolens.cli import main

    from helpers import make_tiny_model

    model = make_tiny_model(tmp_path / "tiny")
    img = astronaut_bgr()
    cv2.imwrite(str(tmp_path / "deep.png"), img.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "alpha.png"), np.dstack([img, np.full(img.shape[:2], 255, np.uint8)]))
    cases = ["non-image", "zero bytes", "truncated jpeg", "huge", "missing"]
    paths = [str(bad_files[c][0]) for c in cases] + [str(tmp_path / "deep.png"), str(tmp_path / "alpha.png")]
    rc = main(["analyze", *paths, "--model", str(model), "--json"])
    out, err = capsys.readouterr()
    assert rc == 1 and "Traceback" not in err
    for case in cases:
        path, fragment = bad_files[case]
        assert str(path) in err and fragment in err
    doc = {r["image"]: r for r in json.loads(out)}
    assert all("error" in doc[str(bad_files[c][0])] for c in cases)
    assert len(doc[str(tmp_path / "deep.png")]["faces"]) == 1 and len(doc[str(tmp_path / "alpha.png")]["faces"]) == 1
