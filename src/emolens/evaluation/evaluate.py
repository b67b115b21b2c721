"""One evaluation path for run folders (torch) and exported models (ONNX Runtime).

Both produce logits on the same `preprocess`-ed batch, then share metrics and
reports. For a held-out split we also report the subset without exact
duplicates of Training images (FER2013 PublicTest has 280 of them).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from emolens.core.labels import EMOTIONS
from emolens.core.metrics import classification_metrics, softmax
from emolens.datasets import DataError, Split, read_dataset
from emolens.datasets.types import concat_splits

log = logging.getLogger(__name__)


def pick_split(available: list[str], split: str | None, data: str | Path) -> str:
    """The split to evaluate: the one named; else the only one there is; else 'test' (PublicTest) when present;
    else an error that lists them."""
    if split is not None:
        return split
    if len(available) == 1:
        return available[0]
    if "test" in available:
        return "test"
    raise DataError(f"{data} has several splits ({', '.join(sorted(available))}): choose one with --split")


def split_for_eval(data: str | Path, split: str | None, layout: str = "auto", label_map=None) -> tuple[Split, set[str]]:
    """The requested split (see pick_split when None) and the digests of the training split (empty when absent)."""
    splits = read_dataset(data, layout, label_map=label_map)
    split = pick_split(list(splits), split, data)
    train_digests = set(splits["train"].digests) if "train" in splits and split != "train" else set()
    if split == "all":
        return concat_splits(list(splits.values()), "all"), set()
    if split not in splits:
        raise DataError(f"{data} has no {split!r} split; it has: {', '.join(sorted(splits))}")
    return splits[split], train_digests


def _onnx_logits(model: str | Path, split: Split, tta: str) -> tuple[np.ndarray, dict[str, Any]]:
    from emolens.core.preprocess import preprocess
    from emolens.inference.classifier import Classifier

    clf = Classifier(model, threads=2, tta=None if tta == "card" else tta)
    if tuple(clf.labels) != EMOTIONS:
        log.info("model labels %s differ in order from the dataset's; mapping by name", clf.labels)
    out = []
    for i in range(0, len(split), 512):
        out.append(clf.logits(preprocess(split.images[i:i + 512], clf.card)))
    logits = np.concatenate(out) if out else np.zeros((0, len(clf.labels)), np.float32)
    order = [clf.labels.index(name) for name in EMOTIONS]  # model columns -> dataset label order
    return logits[:, order], {"kind": "onnx", "path": str(clf.model_dir), "name": clf.card.name, "arch": clf.card.arch,
                              "tta": ",".join(clf.tta) or "none", "temperature": clf.card.temperature,
                              "sha256": clf.card.onnx_sha256}


def is_run_folder(model: str | Path) -> bool:
    """A training run folder (best.pt) or a folder of ensemble members (seed*/best.pt)."""
    path = Path(model)
    return path.is_dir() and ((path / "best.pt").is_file() or any(path.glob("seed*/best.pt")))


def model_logits(model: str | Path, split: Split, tta: str = "card") -> tuple[np.ndarray, dict[str, Any]]:
    """(N, 7) logits in dataset label order and a description of the model, for a run folder or an exported model.

    One path for evaluation and for distillation teachers, so both see the model as the runtime would.
    """
    if is_run_folder(model):
        from emolens.train.loop import run_logits  # training runs need the [train] extra
        return run_logits(Path(model), split, tta)
    return _onnx_logits(model, split, tta)


def evaluate_model(model: str | Path, data: str | Path, *, split: str | None = None, layout: str = "auto",
                   label_map=None, tta: str = "card", out: str | Path | None = None, dedup: bool = True) -> dict[str, Any]:
    """Metrics dict (accuracy, macro_f1, per_class, ece, n, ...) and report files in `out` (default: a run
    folder's eval-<split>/; for an exported model none without `out`)."""
    from emolens.evaluation.report import write_reports

    ds, train_digests = split_for_eval(data, split, layout, label_map)
    split = ds.name
    if len(ds) == 0:
        raise DataError(f"split {split!r} of {data} is empty")
    logits, info = model_logits(model, ds, tta)
    run_dir = Path(model)
    default_out = run_dir / f"eval-{split}" if info["kind"] == "run" else None
    probs = softmax(logits, info["temperature"])
    report = classification_metrics(probs, ds.labels, EMOTIONS)
    report.update({"split": split, "data": str(data), "model": info})
    if dedup and train_digests:
        keep = np.array([d not in train_digests for d in ds.digests])
        sub = classification_metrics(probs[keep], ds.labels[keep], EMOTIONS)
        report["without_train_duplicates"] = {k: sub[k] for k in ("n", "accuracy", "macro_f1", "ece")}
        report["without_train_duplicates"]["removed"] = int((~keep).sum())
    out = Path(out) if out else default_out
    report["files"] = write_reports(report, out, run_dir if info["kind"] == "run" else None) if out else []
    return report
