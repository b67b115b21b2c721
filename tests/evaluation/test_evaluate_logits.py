"""Evaluation scores whatever logits it is handed (a training run's come from emolens.train.runs), by label name."""

from __future__ import annotations

import numpy as np

from emolens.core.labels import EMOTIONS
from emolens.evaluation import evaluate_model, is_run_folder, model_logits, split_for_eval

from datagen import write_class_tree


def test_a_logits_function_is_scored_like_a_model(tmp_path):
    data = write_class_tree(tmp_path / "faces", per_class=2, splits=("test",))
    split, _ = split_for_eval(data, "test")
    seen = []

    def perfect(s, tta):  # the right answer for every image, in the model's own (reversed) label order
        seen.append(tta)
        labels = tuple(reversed(EMOTIONS))
        logits = np.full((len(s), len(labels)), -5.0, np.float32)
        logits[np.arange(len(s)), [labels.index(s.label_names[y]) for y in s.labels]] = 5.0
        return logits, {"labels": labels, "kind": "run", "path": "x", "arch": "fake", "tta": tta, "temperature": 1.0}

    report = evaluate_model("runs/fake", data, split="test", tta="flip", logits=perfect, out=tmp_path / "r")
    assert report["accuracy"] == 1.0 and report["n"] == len(split) == 14 and seen == ["flip"]
    assert (tmp_path / "r" / "metrics.json").is_file()
    logits, info = model_logits("runs/fake", split, logits=perfect)
    assert info["labels"] == EMOTIONS and info["model_labels"] == tuple(reversed(EMOTIONS))
    assert (logits.argmax(1) == split.labels).all()  # columns reordered to the dataset's labels


def test_run_folders_are_recognised_without_torch(tmp_path):
    (tmp_path / "run" / "seed1").mkdir(parents=True)
    assert not is_run_folder(tmp_path / "run")
    (tmp_path / "run" / "seed1" / "best.pt").write_bytes(b"")
    assert is_run_folder(tmp_path / "run") and not is_run_folder(tmp_path / "missing")
