"""One evaluation path for exported models (ONNX Runtime) and, through a logits function the caller passes,
training runs (torch; emolens.train.runs.run_logits): evaluation itself depends on nothing of train.

Both produce logits on the same `preprocess`-ed batch, then share metrics and
reports. For a held-out split we also report the subset without exact
duplicates of Training images (FER2013 PublicTest has 280 of them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from emolens.core.card import ModelCard
from emolens.core.metrics import classification_metrics, softmax
from emolens.core.preprocess import preprocess
from emolens.datasets import DataError, Split, read_dataset
from emolens.datasets.ferplus import FerPlusOptions, apply_ferplus, read_votes, votes_path
from emolens.datasets.types import concat_splits
from emolens.evaluation.report import write_reports
from emolens.inference.classifier import Classifier

log = logging.getLogger(__name__)

# (split, tta) -> (N, K) raw logits in the model's label order, and a description of the model whose
# "labels" name the columns, "kind" is "onnx" or "run", "temperature" calibrates them.
LogitsFn = Callable[[Split, str], tuple[np.ndarray, dict[str, Any]]]


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


def split_for_eval(
    data: str | Path,
    split: str | None,
    layout: str = "auto",
    label_map=None,
    labels: str = "fer2013",
    ferplus: FerPlusOptions | None = None,
) -> tuple[Split, set[str]]:
    """The requested split (see pick_split when None) and the digests of the training split (empty when absent).

    labels='ferplus' scores against the FER+ majority (images without one are left out).
    """
    splits = read_dataset(data, layout, label_map=label_map)
    split = pick_split(list(splits), split, data)
    train_digests = set(splits["train"].digests) if "train" in splits and split != "train" else set()
    if split == "all":
        ds, train_digests = concat_splits(list(splits.values()), "all"), set()
    elif split not in splits:
        raise DataError(f"{data} has no {split!r} split; it has: {', '.join(sorted(splits))}")
    else:
        ds = splits[split]
    if labels == "ferplus":
        opts = ferplus or FerPlusOptions(mode="majority")
        ds = apply_ferplus(ds, read_votes(votes_path(data, opts.votes)), opts)
    elif labels != "fer2013":
        raise DataError(f"labels must be fer2013 or ferplus, got {labels!r}")
    return ds, train_digests


def label_order(model_labels: tuple[str, ...], data_labels: tuple[str, ...]) -> tuple[str, ...]:
    """The dataset's labels, then any the model has beyond them (e.g. contempt on FER2013): what we score over.

    Predicting a label the dataset does not have counts as wrong, rather than being hidden.
    """
    return tuple(data_labels) + tuple(n for n in model_labels if n not in data_labels)


def reorder_logits(logits: np.ndarray, model_labels: tuple[str, ...], order: tuple[str, ...]) -> np.ndarray:
    """Model columns -> `order` by name; a label the model lacks gets a logit of -1e4 (probability 0)."""
    out = np.full((len(logits), len(order)), -1e4, np.float32)
    for j, name in enumerate(order):
        if name in model_labels:
            out[:, j] = logits[:, model_labels.index(name)]
    return out


def onnx_logits(
    model: str | Path, split: Split, tta: str = "card", *, card: ModelCard | None = None, precision: str = "auto"
) -> tuple[np.ndarray, dict[str, Any]]:
    """Logits of an exported model (a folder, .onnx file or shipped name); `card`, when given, describes the
    ONNX file instead of its card.json (export calibrates before it writes the card). precision: the graph
    (auto: int8 when the model has one, as the runtime reads)."""
    clf = Classifier(model, threads=2, tta=None if tta == "card" else tta, card=card, precision=precision)
    if tuple(clf.labels) != split.label_names:
        log.info("model labels %s differ from the dataset's %s; mapping by name", clf.labels, split.label_names)
    out = []
    for i in range(0, len(split), 256):  # bounded: decoded and preprocessed 256 crops at a time
        out.append(clf.logits(preprocess(split.images[i : i + 256], clf.card)))
    logits = np.concatenate(out) if out else np.zeros((0, len(clf.labels)), np.float32)
    return logits, {
        "labels": tuple(clf.labels),
        "kind": "onnx",
        "path": str(clf.model_dir),
        "name": clf.card.name,
        "arch": clf.card.arch,
        "tta": ",".join(clf.tta) or "none",
        "temperature": clf.card.temperature,
        "precision": clf.precision,
        "sha256": clf.sha256,
    }


def is_run_folder(model: str | Path) -> bool:
    """A training run folder (best.pt) or a folder of ensemble members (seed*/best.pt)."""
    path = Path(model)
    return path.is_dir() and ((path / "best.pt").is_file() or any(path.glob("seed*/best.pt")))


def model_logits(
    model: str | Path, split: Split, tta: str = "card", *, logits: LogitsFn | None = None, precision: str = "auto"
) -> tuple[np.ndarray, dict[str, Any]]:
    """(N, K) logits over `label_order(model labels, split labels)` and a description of the model.

    `logits` computes the model's raw logits; by default those of an exported model (ONNX). A training
    run's come from emolens.train.runs (run_logits, or model_logits there, which picks). One path for
    evaluation, calibration and distillation teachers. info["labels"] names the columns.
    """
    raw, info = logits(split, tta) if logits is not None else onnx_logits(model, split, tta, precision=precision)
    model_labels = tuple(info["labels"])
    order = label_order(model_labels, split.label_names)
    info["labels"], info["model_labels"] = order, model_labels
    return reorder_logits(raw, model_labels, order), info


def evaluate_model(
    model: str | Path,
    data: str | Path,
    *,
    split: str | None = None,
    layout: str = "auto",
    label_map=None,
    tta: str = "card",
    out: str | Path | None = None,
    dedup: bool = True,
    labels: str = "fer2013",
    ferplus: FerPlusOptions | None = None,
    logits: LogitsFn | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Metrics dict (accuracy, macro_f1, per_class, ece, n, ...) and report files in `out` (default: a run
    folder's eval-<split>/; for an exported model none without `out`). `logits`: see model_logits;
    precision: an exported model's graph (see Classifier)."""
    ds, train_digests = split_for_eval(data, split, layout, label_map, labels, ferplus)
    split = ds.name
    if len(ds) == 0:
        raise DataError(f"split {split!r} of {data} is empty")
    scores, info = model_logits(model, ds, tta, logits=logits, precision=precision)
    run_dir = Path(model)
    default_out = run_dir / f"eval-{split}" if info["kind"] == "run" else None
    probs = softmax(scores, info["temperature"])
    names = tuple(info["labels"])
    report = classification_metrics(probs, ds.labels, names)
    report.update({"split": split, "data": str(data), "model": info, "label_source": labels})
    if dedup and train_digests:
        keep = np.array([d not in train_digests for d in ds.digests])
        sub = classification_metrics(probs[keep], ds.labels[keep], names)
        report["without_train_duplicates"] = {k: sub[k] for k in ("n", "accuracy", "macro_f1", "ece")}
        report["without_train_duplicates"]["removed"] = int((~keep).sum())
    out = Path(out) if out else default_out
    report["files"] = write_reports(report, out, run_dir if info["kind"] == "run" else None) if out else []
    return report
