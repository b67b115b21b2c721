"""Face detectors: registry contract, recall on a synthetic group photo, alignment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emolens.inference.align import crop_face, eye_angle
from emolens.inference.detectors import Detection, DetectorError, available_detectors, create_detector

from helpers import ASTRONAUT_FACE, astronaut_bgr, group_photo, iou


@pytest.fixture(scope="module")
def centerface():
    return create_detector("centerface")


@pytest.mark.parametrize("name", available_detectors())
def test_every_detector_finds_the_astronaut(name):
    det = create_detector(name)
    found = det.detect(astronaut_bgr())
    assert len(found) == 1
    assert iou(found[0].box, ASTRONAUT_FACE) > 0.5
    assert all(isinstance(v, float) for v in found[0].box)


@pytest.mark.parametrize("name", available_detectors())
def test_no_faces_in_plain_or_noise_images(name):
    det = create_detector(name)
    rng = np.random.default_rng(0)
    assert det.detect(np.full((480, 640, 3), 127, np.uint8)) == []
    assert det.detect(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)) == []


@pytest.mark.parametrize("max_side", [640, 1024])
@pytest.mark.parametrize("seed", [0, 1])
def test_centerface_recall_on_group_photo(max_side, seed):
    """Every face (the smallest 10x14 pixels at max_side 640), no false one, landmarks inside."""
    img, truth = group_photo(seed=seed)
    found = create_detector("centerface", max_side=max_side).detect(img)
    matched = [max(iou(d.box, t) for d in found) for t in truth]
    assert all(m > 0.4 for m in matched), f"missed a face: IoUs {matched}"
    assert len(found) == len(truth), "a false face was found"
    for d in found:
        assert d.landmarks is not None and len(d.landmarks) == 5
        x, y, w, h = d.box
        for px, py in d.landmarks:  # landmarks lie inside their box
            assert x <= px <= x + w and y <= py <= y + h


@pytest.mark.parametrize("name", available_detectors())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_detector_finds_faces_above_its_smallest_face(name, seed):
    """What `smallest_face` promises: every face that big at the detector's input, and no false face."""
    img, truth = group_photo(seed=seed)
    det = create_detector(name, max_side=640)
    scale = det.scale_for(img.shape[1], img.shape[0])
    big = [t for t in truth if min(t[2:]) * scale >= 1.1 * det.smallest_face]
    found = det.detect(img)
    assert big, "the picture must hold faces the promise covers"
    assert all(max((iou(d.box, t) for d in found), default=0) > 0.4 for t in big), f"missed a face: {found}"
    assert all(max(iou(d.box, t) for t in truth) > 0.4 for d in found), "a false face was found"


def test_liteface_ships_small_and_checked(tmp_path, monkeypatch):
    from emolens.inference.detectors import centerface
    from emolens.inference.detectors.liteface import LiteFaceDetector

    path = centerface.packaged_model(LiteFaceDetector.model_file)
    assert path.stat().st_size < 1_000_000  # ~60k parameters
    damaged = tmp_path / "liteface.onnx"
    damaged.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DetectorError, match="not a liteface model"):
        create_detector("liteface", model_path=damaged)
    with pytest.raises(DetectorError, match="not found"):
        create_detector("liteface", model_path=tmp_path / "missing.onnx")
    monkeypatch.setattr(centerface, "packaged_model", lambda file: damaged)
    with pytest.raises(DetectorError, match="sha256"):
        create_detector("liteface")


def test_threshold_and_min_face_filter(centerface):
    img, truth = group_photo()
    strict = create_detector("centerface", threshold=0.95).detect(img)
    assert len(strict) < len(truth)
    big_only = create_detector("centerface", min_face=45).detect(img)
    assert all(min(d.box[2], d.box[3]) >= 45 for d in big_only) and len(big_only) == 2


def test_gray_input_works(centerface):
    gray = cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY)
    assert len(centerface.detect(gray)) == 1


def test_unknown_detector_suggests_a_name():
    with pytest.raises(DetectorError, match="did you mean 'centerface'"):
        create_detector("centreface")
    with pytest.raises(DetectorError, match="unknown detector 'haar'.*centerface"):
        create_detector("haar")  # gone with OpenCV 5's CascadeClassifier: a clear error, never a skip
    with pytest.raises(DetectorError, match="threshold"):
        create_detector("centerface", threshold=1.5)


def test_alignment_levels_the_eyes(centerface):
    img = astronaut_bgr()
    fx, fy, fw, fh = ASTRONAUT_FACE
    centre = (fx + fw / 2, fy + fh / 2)
    tilted = cv2.warpAffine(img, cv2.getRotationMatrix2D(centre, 25, 1.0), (512, 512), borderMode=cv2.BORDER_REFLECT)
    det = centerface.detect(tilted)[0]
    assert abs(eye_angle(det.landmarks)) > 15  # the tilt is seen ...
    crop = crop_face(tilted, det, margin=0.3, align=True)
    assert crop.shape[0] == crop.shape[1]
    again = create_detector("centerface", threshold=0.3).detect(crop)
    assert again and abs(eye_angle(again[0].landmarks)) < 6  # ... and undone


def test_crop_margin_and_edges():
    img = astronaut_bgr()
    det = Detection((-10.0, -10.0, 100.0, 80.0), 0.9, None)  # partly outside the image
    crop = crop_face(img, det, margin=0.25, align=True)
    assert crop.shape[:2] == (150, 150)


# The contract every registered detector keeps (a new backend gets these tests for free).
@pytest.mark.parametrize("name", available_detectors())
def test_detector_contract(name):
    img, truth = group_photo()
    before = img.copy()
    det = create_detector(name, min_face=20)
    found = det.detect(img)
    assert np.array_equal(img, before), "detect() must not draw on or modify its input"
    assert found and all(isinstance(d, Detection) for d in found)
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    h, w = img.shape[:2]
    for d in found:
        x, y, bw, bh = d.box
        assert det.threshold <= d.score <= 1.0
        assert 0 <= x and 0 <= y and x + bw <= w + 1e-6 and y + bh <= h + 1e-6
        assert min(bw, bh) >= det.min_face
        assert d.landmarks is None or len(d.landmarks) == 5
    assert det.detect(img) == found, "the same image gives the same faces"
    assert det.name == name and 0.0 <= det.default_threshold < 1.0


@pytest.mark.parametrize("name", available_detectors())
@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 3), (16, 2000, 3), (3000, 20, 3), (48, 48)])
def test_detector_contract_odd_sizes(name, shape):
    """Tiny, extreme aspect ratios, gray: an empty list or boxes inside the image, never an exception."""
    img = np.full(shape, 128, np.uint8)
    for d in create_detector(name).detect(img):
        x, y, bw, bh = d.box
        assert 0 <= x <= x + bw <= shape[1] and 0 <= y <= y + bh <= shape[0]


@pytest.mark.parametrize("name", available_detectors())
def test_detector_resolution_follows_min_face(name):
    """Asking only for big faces lets a detector look at a smaller image (never a larger one)."""
    det = create_detector(name, max_side=1024, min_face=20)
    small = create_detector(name, max_side=1024, min_face=80)
    assert small.scale_for(1400, 900) <= det.scale_for(1400, 900) <= 1024 / 1400
    assert det.scale_for(100, 80) == 1.0  # never enlarged
    img, truth = group_photo()
    big = [t for t in truth if min(t[2:]) >= 80 * 1.1]
    found = small.detect(img)
    assert all(max(iou(d.box, t) for d in found) > 0.4 for t in big)


def test_centerface_runs_at_the_resolution_the_faces_need(monkeypatch):
    seen = []
    det = create_detector("centerface", max_side=1024, min_face=60)
    inner = det._detect
    monkeypatch.setattr(det, "_detect", lambda image: seen.append(image.shape[:2]) or inner(image))
    img, truth = group_photo()  # 900 x 1400; faces of 22, 35, 53 and 79 pixels
    found = det.detect(img)
    assert max(seen[0]) == round(1400 * det.smallest_face / 60)  # 467, not 1024
    assert len(found) == 1 and iou(found[0].box, truth[-1]) > 0.4  # only the face over 60 pixels
