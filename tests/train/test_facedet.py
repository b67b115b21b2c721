"""LiteFace training: composites, targets in CenterFace's convention, a short run, export, resume."""

from __future__ import annotations

import json
import zipfile

import cv2
import numpy as np
import pytest

pytest.importorskip("torch")

from emolens.inference.detectors import create_detector  # noqa: E402
from emolens.inference.detectors.centerface import decode  # noqa: E402
from emolens.train.facedet_compose import Composer  # noqa: E402
from emolens.train.facedet_data import (  # noqa: E402
    FLIP_ORDER,
    Face,
    Source,
    augment,
    colourize,
    is_gray,
    label_photos,
)
from emolens.train.facedet_model import LiteFace, adapt_weights, encode, fold_input_norm  # noqa: E402

from helpers import ASTRONAUT_FACE, astronaut_bgr, iou  # noqa: E402


def _face(x0, y0, x1, y1) -> Face:
    w, h = x1 - x0, y1 - y0
    pts = [(x0 + 0.3 * w, y0 + 0.4 * h), (x0 + 0.7 * w, y0 + 0.4 * h), (x0 + 0.5 * w, y0 + 0.6 * h)]
    pts += [(x0 + 0.35 * w, y0 + 0.8 * h), (x0 + 0.65 * w, y0 + 0.8 * h)]
    return Face(np.array([x0, y0, x1, y1], np.float32), np.array(pts, np.float32))


def test_targets_decode_back_to_the_faces_with_centerfaces_decoder():
    faces = [_face(10, 20, 60, 84), _face(120.5, 130.25, 220, 250), _face(200, 10, 216, 30)]
    heat, reg, mask = encode(faces, (256, 256))
    assert mask[0].sum() == 3 and heat.max() == 1.0
    found = decode(heat[0], reg[0:2], reg[2:4], reg[4:14], 0.99, (256, 256))
    assert len(found) == 3
    for f in faces:
        x0, y0, x1, y1 = f.box
        d = max(found, key=lambda d: iou(d.box, (x0, y0, x1 - x0, y1 - y0)))
        assert d.box == pytest.approx((x0, y0, x1 - x0, y1 - y0), abs=1e-3)
        assert np.array(d.landmarks) == pytest.approx(f.landmarks, abs=1e-3)


def test_ignored_faces_are_not_targets_and_mask_their_box():
    heat, reg, mask = encode(
        [Face(_face(40, 40, 100, 100).box, _face(40, 40, 100, 100).landmarks, ignore=True)], (128, 128)
    )
    assert heat.max() == 0 and mask[0].sum() == 0
    assert mask[1, 10:25, 10:25].all() and mask[1].sum() == 15 * 15


def test_mirror_swaps_landmark_sides():
    img = np.zeros((100, 200, 3), np.uint8)
    f = _face(20, 10, 80, 90)
    rng = np.random.default_rng(0)
    for _ in range(20):  # until the coin lands on "mirror"
        _, out = augment(img, [f], rng)
        if out[0].box[0] != f.box[0]:
            break
    g = out[0]
    assert g.box == pytest.approx([200 - 80, 10, 200 - 20, 90])
    assert g.landmarks[0, 0] < g.landmarks[1, 0]  # image-left eye first, as CenterFace gives them
    assert g.landmarks[:, 0] == pytest.approx(200 - f.landmarks[list(FLIP_ORDER), 0])


def test_composites_keep_faces_inside_and_visible():
    src = Source(astronaut_bgr(), [_face(182, 58, 270, 178)])
    comp = Composer([src], [np.full((300, 300, 3), 90, np.uint8)], size=128, min_face=10, max_face=60)
    rng = np.random.default_rng(1)
    seen = 0
    for _ in range(30):
        img, faces = comp(rng)
        assert img.shape == (128, 128, 3) and img.dtype == np.uint8
        for f in faces:
            if not f.ignore:
                seen += 1
                w, h = f.box[2] - f.box[0], f.box[3] - f.box[1]
                assert w > 2 and h > 2
                assert -0.4 * w <= f.box[0] and f.box[2] <= 128 + 0.4 * w  # mostly inside the picture
    assert seen > 10


def test_crowds_are_many_small_faces_with_shoulders():
    src = Source(astronaut_bgr()[0:300, 100:350], [_face(82, 58, 170, 178)])
    comp = Composer([src], [], size=128, crowd=1.0)
    rng = np.random.default_rng(2)
    sizes = []
    for _ in range(20):
        img, faces = comp(rng)
        assert img.shape == (128, 128, 3)
        true = [f for f in faces if not f.ignore]
        sizes += [min(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in true]
    assert len(sizes) >= 20 * 3  # 6-24 pasted per picture; some hidden by later heads and shoulders
    assert max(sizes) <= 32 * 1.01 and np.median(sizes) < 20  # the 6-32 px range, log-uniform
    plain = Composer([src], [], size=128)  # crowd defaults to 0: the recipe of the shipped LiteFace
    assert all(len(plain(np.random.default_rng(i))[1]) <= 9 for i in range(20))


def test_gray_photos_get_skin_toned_faces():
    """Most training photos are gray; coloured, their faces look like skin (R > G > B) and stay as bright."""
    gray = cv2.cvtColor(cv2.cvtColor(astronaut_bgr(), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    assert is_gray(gray) and not is_gray(astronaut_bgr())
    box = np.array([182, 58, 270, 178], np.float32)
    for seed in range(5):
        out = colourize(gray, [box], np.random.default_rng(seed))
        assert out.shape == gray.shape and out.dtype == np.uint8 and not is_gray(out)
        b, g, r = (float(c) for c in out[100:140, 205:245].reshape(-1, 3).mean(0))  # the middle of the face
        assert r > g > b, (seed, b, g, r)
        assert abs((b + g + r) / 3 - float(gray[100:140, 205:245].mean())) < 25
    src = Source(gray, [Face(box, np.zeros((5, 2), np.float32))])
    comp = Composer([src], [], size=128, colour=1.0)
    assert not all(is_gray(comp(np.random.default_rng(i))[0]) for i in range(5))


def test_fold_input_norm_keeps_what_the_first_layer_computes():
    """Old checkpoints normalised x / 255 - 0.5; folded, the raw-input model gives the same stem output."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    old = LiteFace()
    with torch.no_grad():
        old.stem[1].running_mean.uniform_(-1, 1)
        old.stem[1].running_var.uniform_(0.5, 2)
    old.eval()
    x = torch.rand(1, 3, 64, 64) * 255
    want = old.stem(x / 255.0 - 0.5)  # what the session-15 forward computed
    new = LiteFace()
    new.load_state_dict(fold_input_norm(old.state_dict()))
    new.eval()
    conv = new.stem[0]
    got = new.stem[2](new.stem[1](torch.nn.functional.conv2d(x, conv.weight / 255.0, None, conv.stride, conv.padding)))
    # the same inside; only the zero padding differs (black now, mid-gray then), so skip the border
    assert torch.allclose(got[..., 1:-1, 1:-1], want[..., 1:-1, 1:-1], atol=1e-4)
    assert not torch.allclose(got[..., :1, :], want[..., :1, :], atol=1e-4)


def _trained_looking(model):
    """Batch-norm statistics away from their defaults, as after training."""
    import torch

    torch.manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
                m.weight.uniform_(0.5, 1.5)
    return model.eval()


def test_a_grown_liteface_starts_out_detecting_exactly_as_before():
    torch = pytest.importorskip("torch")
    old = _trained_looking(LiteFace())
    grown = LiteFace(deep4=2)
    grown.load_state_dict(adapt_weights(old.state_dict(), grown))
    grown.eval()
    x = torch.rand(1, 3, 64, 96) * 255
    with torch.no_grad():
        for a, b in zip(old(x), grown(x)):
            assert torch.allclose(a, b, atol=1e-5)
    assert grown.arch == {"stem": 16, "deep4": 2}


def test_a_thinner_stem_keeps_the_channels_that_matter_most():
    torch = pytest.importorskip("torch")
    old = _trained_looking(LiteFace())
    state = old.state_dict()
    scale = torch.full((16,), 0.01)
    scale[[1, 4, 9, 15]] = 1.0  # these four carry the signal
    state["stem.1.weight"] = scale
    thin = LiteFace(stem=4)
    got = adapt_weights(state, thin)
    thin.load_state_dict(got)
    assert torch.equal(got["stem.0.weight"], state["stem.0.weight"][[1, 4, 9, 15]])
    assert torch.equal(got["s4.0.1.0.weight"], state["s4.0.1.0.weight"][:, [1, 4, 9, 15]])
    assert torch.equal(got["s8.0.0.0.weight"], state["s8.0.0.0.weight"])  # the rest as it was


def test_a_checkpoint_of_another_shape_is_a_clear_error():
    pytest.importorskip("torch")
    grown = LiteFace(deep4=1).state_dict()
    with pytest.raises(ValueError, match="does not fit"):
        adapt_weights(grown, LiteFace())  # weights of a block the model does not have
    with pytest.raises(ValueError, match="does not fit"):
        adapt_weights(LiteFace(stem=8).state_dict(), LiteFace(stem=16))  # a stem cannot widen


@pytest.fixture()
def photo_zip(tmp_path):
    """A zip of astronaut portraits at a few sizes (real faces from a dependency, no dataset)."""
    base = astronaut_bgr()[0:300, 100:350]
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i, s in enumerate((0.5, 0.6, 0.7, 0.8)):
            img = cv2.resize(base if i % 2 == 0 else base[:, ::-1], None, fx=s, fy=s)
            zf.writestr(f"images/p{i}.jpg", cv2.imencode(".jpg", img)[1].tobytes())
        zf.writestr("legend.csv", "image,emotion\n")
    return path


def test_label_photos_uses_centerface_and_caches(photo_zip, tmp_path):
    sources = label_photos(photo_zip, tmp_path / "cache")
    assert len(sources) == 4 and all(len(s.faces) == 1 for s in sources)
    fx, fy, fw, fh = ASTRONAUT_FACE
    box = sources[0].faces[0].box / 0.5 + [100, 0, 100, 0]
    assert iou((box[0], box[1], box[2] - box[0], box[3] - box[1]), ASTRONAUT_FACE) > 0.5
    (cached,) = (tmp_path / "cache").glob("facedet-labels-*.json")
    assert len(json.loads(cached.read_text())) == 4
    assert len(label_photos(photo_zip, tmp_path / "cache")) == 4  # from the cache


def test_a_short_run_exports_a_detector_the_runtime_loads_and_resumes(photo_zip, tmp_path):
    from emolens.train.facedet import DetTrainConfig, train

    cfg = DetTrainConfig(
        data=photo_zip, out=tmp_path / "run", steps=4, batch=4, size=128, every=2, threads=1, val_pictures=8
    )
    onnx = train(cfg)
    rows = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4] and all(0 <= r["recall"] <= 1 for r in rows)
    det = create_detector("liteface", model_path=onnx, threshold=0.01)
    found = det.detect(astronaut_bgr())  # untrained: any answer, but in CenterFace's format
    assert all(len(d.landmarks) == 5 for d in found)
    cfg.steps = 6
    train(cfg, resume=True)
    rows = [json.loads(line) for line in (tmp_path / "run" / "history.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]  # went on from step 4, not from 0


def test_a_resumed_run_keeps_the_shape_it_started_with(photo_zip, tmp_path):
    import torch

    from emolens.train.facedet import DetTrainConfig, train

    cfg = DetTrainConfig(
        data=photo_zip, out=tmp_path / "run", steps=2, batch=2, size=64, every=2, threads=1, val_pictures=2,
        stem=8, deep4=1,
    )  # fmt: skip
    train(cfg)
    cfg.steps, cfg.stem, cfg.deep4 = 3, 16, 0  # the run's shape comes from its checkpoint
    train(cfg, resume=True)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 3 and state["arch"] == {"stem": 8, "deep4": 1}
    assert state["model"]["stem.0.weight"].shape[0] == 8


def test_the_script_refuses_bad_paths_in_one_line(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "train_detector.py"
    spec = importlib.util.spec_from_file_location("train_detector", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main(["--data", str(tmp_path / "none.zip"), "--out", str(tmp_path / "run")]) == 2
    assert "no such file" in capsys.readouterr().err
    data = tmp_path / "photos.zip"
    zipfile.ZipFile(data, "w").close()
    (tmp_path / "file").write_text("x")
    assert script.main(["--data", str(data), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert script.main(["--data", str(data), "--out", str(tmp_path / "run"), "--init", str(tmp_path / "no.pt")]) == 2
    assert "--init" in capsys.readouterr().err
    assert script.main(["--data", str(data), "--out", str(tmp_path / "run"), "--crowd", "1.5"]) == 2
    assert "--crowd" in capsys.readouterr().err
    assert script.main(["--data", str(data), "--out", str(tmp_path / "run"), "--colour", "-1"]) == 2
    assert "--colour" in capsys.readouterr().err
    assert script.main(["--data", str(data), "--out", str(tmp_path / "run"), "--stem", "2"]) == 2
    assert "--stem" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    (tmp_path / "bad.zip").write_text("not a zip")
    assert script.main(["--data", str(tmp_path / "bad.zip"), "--out", str(tmp_path / "run")]) == 2
    assert "zip" in capsys.readouterr().err.lower()


def test_a_zip_without_faces_is_a_clear_error(tmp_path):
    from emolens.train.facedet import DetTrainConfig, train

    data = tmp_path / "empty.zip"
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("images/gray.jpg", cv2.imencode(".jpg", np.full((64, 64, 3), 128, np.uint8))[1].tobytes())
    with pytest.raises(ValueError, match="no labelled face photos"):
        train(DetTrainConfig(data=data, out=tmp_path / "run", steps=2, batch=2, size=64, threads=1))
