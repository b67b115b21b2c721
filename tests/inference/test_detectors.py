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
def test_centerface_recall_on_group_photo(max_side):
    img, truth = group_photo()
    found = create_detector("centerface", max_side=max_side).detect(img)
    matched = [max(iou(d.box, t) for d in found) for t in truth]
    assert all(m > 0.4 for m in matched), f"missed a face: IoUs {matched}"
    assert len(found) == len(truth), "a false face was found"
    for d in found:
        assert d.landmarks is not None and len(d.landmarks) == 5
        x, y, w, h = d.box
        for px, py in d.landmarks:  # landmarks lie inside their box
            assert x <= px <= x + w and y <= py <= y + h


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
