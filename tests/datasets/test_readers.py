import logging
import shutil

import cv2
import numpy as np
import pytest

from emolens.core.labels import EMOTIONS
from emolens.datasets import DataError, detect_layout, read_dataset

from datagen import FER_ZIP, face_like, write_class_tree, zip_tree


def brightness_class(img: np.ndarray) -> int:
    """Inverse of conftest.face_like: the class index a generated image encodes."""
    return int(round((np.median(img) - 20) / 30))


def assert_labels_match_pixels(split):
    for img, lab in zip(split.images, split.labels):
        assert brightness_class(img) == lab, "label does not match the class the image was made for"


def test_kaggle_folder(kaggle_dir):
    assert detect_layout(kaggle_dir) == "kaggle"
    data = read_dataset(kaggle_dir)
    assert set(data) == {"train", "test"}
    assert data["train"].counts() == dict.fromkeys(EMOTIONS, 4)
    assert data["train"].images.shape == (28, 48, 48) and data["train"].in_memory
    assert_labels_match_pixels(data["train"])  # alphabetical folders land on FER2013 indexes by name


def test_kaggle_zip_without_unpacking(kaggle_zip, tmp_path):
    assert detect_layout(kaggle_zip) == "kaggle"
    data = read_dataset(kaggle_zip)
    assert data["test"].counts() == dict.fromkeys(EMOTIONS, 4)
    assert_labels_match_pixels(data["test"])
    assert not any(p.suffix == ".png" for p in tmp_path.glob("*"))  # nothing extracted beside the zip


def test_csv_all_three_splits(fer_csv):
    assert detect_layout(fer_csv) == "csv"
    data = read_dataset(fer_csv)
    assert set(data) == {"train", "test", "private"}
    for split in data.values():
        assert split.counts() == dict.fromkeys(EMOTIONS, 3)
        assert_labels_match_pixels(split)  # CSV order (0 angry ... 6 neutral) lands on the same classes


def test_folder_and_csv_orders_agree(kaggle_dir, fer_csv):
    a, b = read_dataset(kaggle_dir)["train"], read_dataset(fer_csv)["train"]
    for lab in range(len(EMOTIONS)):
        assert (
            {brightness_class(i) for i in a.images[a.labels == lab]}
            == {brightness_class(i) for i in b.images[b.labels == lab]}
            == {lab}
        )


def test_generic_ck_plus_names_drop_contempt(tmp_path, caplog):
    root = tmp_path / "ck"
    for folder, label in [("anger", 0), ("sadness", 4), ("happy/S005", 3), ("contempt", 0)]:
        (root / folder).mkdir(parents=True)  # CK+ style, one level of subject folders allowed
        for i in range(3):
            cv2.imwrite(str(root / folder / f"{i}.png"), face_like(label, i, size=64))
    assert detect_layout(root) == "folder"
    with caplog.at_level(logging.INFO):
        data = read_dataset(root)
    split = data["all"]
    assert split.counts()["angry"] == 3 and split.counts()["sad"] == 3 and split.counts()["happy"] == 3
    assert len(split) == 9
    assert split.dropped == {"contempt": 3}
    assert "dropped 3 images of class 'contempt'" in caplog.text


def test_generic_rafdb_numbers_need_and_use_a_map(tmp_path):
    root = tmp_path / "raf"
    for num, name in [("1", "surprise"), ("6", "angry")]:
        (root / "train" / num).mkdir(parents=True)
        cv2.imwrite(str(root / "train" / num / "a.jpg"), face_like(EMOTIONS.index(name), 0))
    with pytest.raises(KeyError, match="label map"):
        read_dataset(root)
    data = read_dataset(root, label_map="rafdb")
    assert data["train"].counts()["surprise"] == 1 and data["train"].counts()["angry"] == 1
    assert_labels_match_pixels(data["train"])


def test_label_map_file(tmp_path):
    root = tmp_path / "custom"
    (root / "grumpy").mkdir(parents=True)
    cv2.imwrite(str(root / "grumpy" / "a.png"), face_like(0, 0))
    (tmp_path / "map.yaml").write_text("grumpy: angry\n")
    assert read_dataset(root, label_map=str(tmp_path / "map.yaml"))["all"].counts()["angry"] == 1
    (tmp_path / "bad.yaml").write_text("grumpy: cranky\n")
    with pytest.raises(DataError, match="not one of"):
        read_dataset(root, label_map=str(tmp_path / "bad.yaml"))


def test_only_test_folder_and_private_prefix(tmp_path):
    root = write_class_tree(tmp_path / "t", per_class=2, splits=("test",))
    write_class_tree(root, per_class=1, splits=("test",), prefix="PrivateTest")
    data = read_dataset(root)
    assert set(data) == {"test", "private"}
    assert len(data["test"]) == 14 and len(data["private"]) == 7


def test_forced_layout_and_unknown_layout(kaggle_dir):
    assert set(read_dataset(kaggle_dir, layout="folder")) == {"train", "test"}
    with pytest.raises(DataError, match="unknown layout"):
        read_dataset(kaggle_dir, layout="parquet")


def test_corrupt_image_names_the_file(kaggle_dir):
    bad = kaggle_dir / "train" / "happy" / "Training_broken.png"
    bad.write_bytes(b"this is not a png")
    with pytest.raises(DataError, match="Training_broken.png"):
        read_dataset(kaggle_dir)
    bad.write_bytes(b"")
    with pytest.raises(DataError, match="empty file"):
        read_dataset(kaggle_dir)


def test_corrupt_image_in_zip_names_the_file(tmp_path):
    tree = write_class_tree(tmp_path / "tree", per_class=1)
    (tree / "train" / "sad" / "Training_bad.jpg").write_bytes(b"\xff\xd8garbage")
    z = zip_tree(tree, tmp_path / "d.zip")
    with pytest.raises(DataError, match="Training_bad.jpg"):
        read_dataset(z)


def test_missing_path_and_bad_zip(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_dataset(tmp_path / "nowhere")
    (tmp_path / "x.zip").write_bytes(b"nope")
    with pytest.raises(DataError, match="not a readable zip"):
        read_dataset(tmp_path / "x.zip")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        read_dataset(tmp_path / "empty")


def test_missing_requested_split(kaggle_dir):
    shutil.rmtree(kaggle_dir / "test")
    with pytest.raises(DataError, match="no test split"):
        read_dataset(kaggle_dir, splits=("test",))


def test_empty_class_is_reported(kaggle_dir, caplog):
    shutil.rmtree(kaggle_dir / "train" / "disgust")
    (kaggle_dir / "train" / "disgust").mkdir()
    with caplog.at_level(logging.WARNING):
        data = read_dataset(kaggle_dir)
    assert data["train"].counts()["disgust"] == 0
    assert "no images for: disgust" in caplog.text


def test_bad_csv(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="emotion,pixels,Usage"):
        read_dataset(p)
    p.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(DataError, match="line 2"):
        read_dataset(p)


def test_large_dataset_streams(kaggle_dir):
    data = read_dataset(kaggle_dir, memory_budget=1000)
    split = data["train"]
    assert not split.in_memory and len(split) == 28
    assert split.images[0].shape == (48, 48)
    assert_labels_match_pixels(
        type("S", (), {"images": [split.images[i] for i in range(len(split))], "labels": split.labels})()
    )


def test_data_command_reports_duplicates_and_grids(kaggle_dir, tmp_path, capsys):
    from emolens.cli import main

    src = kaggle_dir / "train" / "happy"
    first = sorted(src.iterdir())[0]
    shutil.copy(first, kaggle_dir / "test" / "happy" / "PublicTest_dup.png")  # cross-split duplicate
    shutil.copy(first, src / "Training_dup.png")  # within-split duplicate
    assert main(["data", str(kaggle_dir), "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "test in train: 1 images (1 with the same label)" in out
    assert "within train: 1 extra copies" in out
    assert len(list((tmp_path / "rep").glob("samples_*.png"))) == 14


@pytest.mark.slow
@pytest.mark.fer2013
@pytest.mark.skipif(not FER_ZIP.exists(), reason=f"FER2013 not found at {FER_ZIP}")
def test_real_fer2013_counts_match_its_readme():
    data = read_dataset(FER_ZIP)
    assert data["train"].counts() == {
        "angry": 3995,
        "disgust": 436,
        "fear": 4097,
        "happy": 7215,
        "sad": 4830,
        "surprise": 3171,
        "neutral": 4965,
    }
    assert data["test"].counts() == {
        "angry": 467,
        "disgust": 56,
        "fear": 496,
        "happy": 895,
        "sad": 653,
        "surprise": 415,
        "neutral": 607,
    }
    dups = set(data["train"].digests) & set(data["test"].digests)
    assert sum(d in dups for d in data["test"].digests) == 280
