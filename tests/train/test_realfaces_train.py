"""Training for real faces: FER+ targets, 8 classes, camera effects, runtime crops, extra photo sets, online teacher."""

from __future__ import annotations

import csv
import json
import zipfile

import cv2
import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from emolens.cli import main  # noqa: E402
from emolens.core.labels import EMOTIONS, label_set  # noqa: E402
from emolens.datasets.ferplus import VOTE_COLUMNS  # noqa: E402

from helpers import astronaut_bgr, make_tiny_model  # noqa: E402

# FER+ column of each of our emotions
COLUMN = {"neutral": 0, "happy": 1, "surprise": 2, "sad": 3, "angry": 4, "disgust": 5, "fear": 6}


@pytest.fixture(scope="module")
def voted_data(tmp_path_factory):
    """~100 generated faces with FER+ votes beside them: 7 for the folder's class, 3 for contempt or neutral."""
    from datagen import write_class_tree

    root = write_class_tree(tmp_path_factory.mktemp("fp") / "data", per_class=12, splits=("train",))
    write_class_tree(root, per_class=4, splits=("test",))
    rows = []
    for i, p in enumerate(sorted(root.rglob("*.png"))):
        rel = p.relative_to(root).as_posix()
        v = np.zeros(10, int)
        v[COLUMN[rel.split("/")[1]]] = 7
        v[7 if i % 2 else 0] += 3  # contempt or neutral
        rows.append([rel, *v, i])
    with open(root / "ferplus.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", *VOTE_COLUMNS, "ferplus_row"])
        w.writerows(rows)
    return root


def config(tmp_path, **extra) -> str:
    body = {"epochs": 1, "model_args": {"width": 8}, "batch_size": 32, **extra}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(body))
    return str(path)


@pytest.mark.parametrize("mode", ["crossentropy", "probability", "mixed", "majority"])
def test_training_on_ferplus_votes_reports_both_label_sets(voted_data, tmp_path, mode):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--config",
                config(tmp_path, select_on="mean"),
                "--data",
                str(voted_data),
                "--out",
                str(run),
                "--labels",
                "ferplus",
                "--ferplus-mode",
                mode,
            ]
        )
        == 0
    )
    row = json.loads((run / "history.json").read_text())[0]
    assert {"val_accuracy", "val_ferplus_accuracy"} <= set(row)
    assert f"FER+ {mode} (7 classes), split train: kept" in (run / "train.log").read_text()


def test_an_8_class_run_exports_an_8_label_card(voted_data, tmp_path, capsys):
    run, out = tmp_path / "run8", tmp_path / "exp8"
    assert (
        main(
            [
                "train",
                "--config",
                config(tmp_path),
                "--data",
                str(voted_data),
                "--out",
                str(run),
                "--labels",
                "ferplus",
                "--classes",
                "8",
            ]
        )
        == 0
    )
    assert main(["export", str(run), "--out", str(out)]) == 0
    card = json.loads((out / "card.json").read_text())
    assert tuple(card["labels"]) == label_set(8)
    capsys.readouterr()
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(out),
                "--data",
                str(voted_data),
                "--labels",
                "ferplus",
                "--classes",
                "8",
                "--json",
                "--out",
                str(tmp_path / "ev"),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["labels"][-1] == "contempt" and report["label_source"] == "ferplus"


def test_camera_effects_change_pixels_within_range_and_follow_the_seed():
    from emolens.train.augment import AugmentConfig, BatchAugment
    from emolens.train.camera import jpeg

    x = (torch.rand(16, 1, 48, 48, generator=torch.Generator().manual_seed(0)) - 0.5) / 0.25
    y = torch.zeros(16, dtype=torch.long)
    cfg = AugmentConfig(
        flip=0, rotate=0, shift=0, scale=0, brightness=0, contrast=0, erase=0, camera=1.0, perspective=0.15, occlude=1.0
    )
    a, _ = BatchAugment(cfg, 7, torch.Generator().manual_seed(5))(x, y)
    b, _ = BatchAugment(cfg, 7, torch.Generator().manual_seed(5))(x, y)
    c, _ = BatchAugment(cfg, 7, torch.Generator().manual_seed(6))(x, y)
    assert torch.equal(a, b) and not torch.equal(a, c)
    px = a * 0.25 + 0.5
    assert px.min() >= -1e-5 and px.max() <= 1 + 1e-5 and a.shape == x.shape
    assert (a - x).abs().mean() > 0.05  # the chain really changed the faces
    plain = BatchAugment(
        AugmentConfig(flip=0, rotate=0, shift=0, scale=0, brightness=0, contrast=0, erase=0),
        7,
        torch.Generator().manual_seed(5),
    )(x, y)[0]
    assert torch.allclose(plain, x, atol=1e-4)  # with every effect off nothing changes
    img = torch.rand(3, 1, 40, 44)  # sides not multiples of 8
    assert (jpeg(img, torch.full((3,), 100.0)) - img).abs().max() < 0.01  # quality 100 is near lossless
    assert (jpeg(img, torch.full((3,), 10.0)) - img).abs().mean() > 0.05  # quality 10 is not


def _head(size: int = 48) -> np.ndarray:
    img = astronaut_bgr()[20:300, 120:340]
    return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (size, size), interpolation=cv2.INTER_AREA)


def test_runtime_crops_are_made_once_and_cached(tmp_path, monkeypatch):
    from emolens.train import recrop

    monkeypatch.setenv("EMOLENS_CACHE", str(tmp_path / "cache"))
    faces = np.stack([_head(), np.fliplr(_head()).copy(), np.full((48, 48), 128, np.uint8)])
    crops, found = recrop.recrop_faces(faces, ["a", "b", "c"], 48)
    assert crops.shape == (3, 48, 48) and crops.dtype == np.uint8
    assert found.tolist() == [True, True, False]  # a flat gray square has no face: the original stands in
    assert np.array_equal(crops[2], faces[2])
    monkeypatch.setattr(recrop, "_detector", lambda threads: pytest.fail("the cache should answer"))
    again, _ = recrop.recrop_faces(faces, ["a", "b", "c"], 48)
    assert np.array_equal(again, crops)


@pytest.fixture(scope="module")
def legend_zip(tmp_path_factory):
    """A facial-expressions-like zip: images/*.jpg and legend.csv (image, emotion, user_id)."""
    path = tmp_path_factory.mktemp("fx") / "fx.zip"
    face = cv2.resize(astronaut_bgr()[0:330, 100:360], (160, 190))
    rows = ["image,emotion,user_id"]
    with zipfile.ZipFile(path, "w") as z:
        for i in range(6):
            img = face if i < 5 else np.full((120, 120, 3), 200, np.uint8)  # the last has no face
            z.writestr(f"images/p{i}.jpg", cv2.imencode(".jpg", img)[1].tobytes())
            rows.append(f"p{i}.jpg,{'happiness' if i % 2 else 'NEUTRAL'},7")
        z.writestr("legend.csv", "\n".join(rows) + "\n")
    return path


def test_extra_photos_become_runtime_crops_with_teacher_mixed_targets(legend_zip, tmp_path, monkeypatch):
    from emolens.train.config import TrainConfig
    from emolens.train.data import card_for
    from emolens.train.extra import load_extra

    monkeypatch.setenv("EMOLENS_CACHE", str(tmp_path / "cache"))
    teacher = make_tiny_model(tmp_path / "teacher", bias={"surprise": 60.0})
    cfg = TrainConfig(
        extra_data=[{"path": str(legend_zip), "weight": 0.2, "label_weight": 0.3, "teacher": str(teacher)}]
    )
    (e,) = load_extra(cfg, card_for(cfg), tmp_path)
    assert e.images.shape == (5, 48, 48) and e.weight == 0.2  # the photo without a face is left out
    np.testing.assert_allclose(e.targets.sum(1), 1.0, atol=1e-5)
    happy, neutral, surprise = EMOTIONS.index("happy"), EMOTIONS.index("neutral"), EMOTIONS.index("surprise")
    assert e.targets[1, happy] == pytest.approx(0.3, abs=1e-3) and e.targets[0, neutral] == pytest.approx(0.3, abs=1e-3)
    assert e.targets[:, surprise].min() > 0.69  # the teacher's share


def test_a_run_with_extra_data_runtime_crops_and_camera_effects(train_data, legend_zip, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOLENS_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    cfg = config(
        tmp_path,
        recrop=0.5,
        extra_data=[{"path": str(legend_zip), "weight": 0.3}],
        augment={"camera": 0.5, "perspective": 0.1, "occlude": 0.2},
    )
    assert main(["train", "--config", cfg, "--data", str(train_data), "--out", str(run)]) == 0
    log = (run / "train.log").read_text()
    assert "extra data" in log and "runtime crops" in log
    row = json.loads((run / "history.json").read_text())[0]
    assert "val_recrop_accuracy" in row


def test_online_teacher_matches_the_exported_graph_and_trains(trained_student_setup):
    teacher_dir, run, x = trained_student_setup
    import onnxruntime as ort

    from emolens.core.metrics import softmax
    from emolens.train.teacher import OnlineTeacher

    t = OnlineTeacher([str(teacher_dir)], EMOTIONS, torch.device("cpu"))
    got = t(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(str(teacher_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    want = softmax(sess.run(None, {"input": x})[0])
    np.testing.assert_allclose(got, want, atol=2e-3)  # float16-stored weights, folded back to float32
    assert (run / "best.pt").is_file()
    assert "online teacher" in (run / "train.log").read_text()


@pytest.fixture(scope="module")
def trained_student_setup(tmp_path_factory):
    from datagen import write_class_tree

    tmp = tmp_path_factory.mktemp("online")
    data = write_class_tree(tmp / "data", per_class=8, splits=("train", "test"))
    (tmp / "cfg.yaml").write_text("epochs: 1\nmodel_args: {width: 8}\nbatch_size: 32\n")
    assert main(["train", "--config", str(tmp / "cfg.yaml"), "--data", str(data), "--out", str(tmp / "t")]) == 0
    assert main(["export", str(tmp / "t"), "--out", str(tmp / "teacher"), "--half"]) == 0
    (tmp / "s.yaml").write_text(
        "epochs: 1\nmodel_args: {width: 8}\nbatch_size: 32\nteacher_online: true\ndistill_weight: 0.5\n"
    )
    assert (
        main(
            [
                "train",
                "--config",
                str(tmp / "s.yaml"),
                "--data",
                str(data),
                "--out",
                str(tmp / "s"),
                "--teacher",
                str(tmp / "teacher"),
            ]
        )
        == 0
    )
    x = np.random.default_rng(0).normal(0, 1, (4, 1, 48, 48)).astype(np.float32)
    return tmp / "teacher", tmp / "s", x


def test_cached_teacher_labels_follow_the_teachers_weights_not_its_name(tmp_path, monkeypatch):
    """A shipped name (`default`) means another model once a new one ships: its cached pseudo-labels must go."""
    from emolens.datasets import Split
    from emolens.train import targets

    teacher = make_tiny_model(tmp_path / "teacher", seed=0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 48, 48), dtype=np.uint8)
    split = Split("train", images, np.arange(6) % 7, [f"x{i}" for i in range(6)], [f"d{i}" for i in range(6)])
    calls = []
    real = targets.logits_of
    monkeypatch.setattr(targets, "logits_of", lambda t, s: calls.append(t) or real(t, s))

    first = targets.cached_teacher_logits([str(teacher)], split, tmp_path / "cache")
    again = targets.cached_teacher_logits([str(teacher)], split, tmp_path / "cache")
    assert len(calls) == 1 and np.array_equal(first, again)  # same weights: from the cache

    make_tiny_model(tmp_path / "teacher", seed=1)  # same name, new weights
    changed = targets.cached_teacher_logits([str(teacher)], split, tmp_path / "cache")
    assert len(calls) == 2 and not np.allclose(changed, first)
