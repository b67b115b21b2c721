"""Whole-pipeline evaluation: whole photos in class folders through the runtime.

Why: FER2013 crops flatter a model. A user's photo goes through detection, alignment,
cropping and classification, so this scores exactly that: per photo the largest face is
the subject, and a photo where no face is found counts as wrong. Used on sfew-dev (films)
for every candidate model; torch-free, like the runtime it measures.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from emolens.core.defaults import DEFAULT_DETECTOR
from emolens.core.labels import canonical
from emolens.core.metrics import expected_calibration_error, per_class_report
from emolens.datasets import DataError
from emolens.datasets.readers import _resolve_label_map
from emolens.datasets.sources import Tree

if TYPE_CHECKING:
    from emolens.inference.detectors import Detector

log = logging.getLogger(__name__)

NO_FACE = "(no face)"


def photos_by_class(data: str | Path, label_map=None) -> tuple[Tree, list[str], list[str]]:
    """(tree, relative paths, class names): the class is the folder a photo sits in."""
    tree = Tree(Path(data))
    table = _resolve_label_map(label_map)
    rels, names = [], []
    for rel in tree.files():
        parts = PurePosixPath(rel).parts
        if len(parts) < 2:
            continue
        try:
            name = canonical(parts[-2], table)
        except KeyError as exc:
            raise DataError(str(exc).strip("'\"")) from None
        if name is not None:
            rels.append(rel)
            names.append(name)
    if not rels:
        raise DataError(f"{data} holds no photos in emotion-named class folders (expected e.g. happy/001.png)")
    return tree, rels, names


def pipeline_metrics(true: list[str], pred: list[str], probs: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    """Accuracy (no face = wrong), macro-F1 and recall over the dataset's classes, face-found share.

    `pred` holds a model label or NO_FACE per photo; `probs` (N, len(labels)) are the
    subject's probabilities in `labels` order (rows of photos without a face are ignored).
    """
    y = np.array([labels.index(t) for t in true])
    others = sorted({q for q in pred if q not in labels and q != NO_FACE})  # e.g. contempt on a 7-class set: wrong
    cols = list(labels) + others + [NO_FACE]
    p = np.array([cols.index(q) for q in pred])
    cm = np.zeros((len(labels), len(cols)), np.int64)
    np.add.at(cm, (y, p), 1)
    per_class = per_class_report(cm[:, : len(labels)], labels)
    for i, name in enumerate(labels):  # recall counts photos without a face as misses
        per_class[name]["recall"] = float(cm[i, i] / cm[i].sum()) if cm[i].sum() else 0.0
        prec, rec = per_class[name]["precision"], per_class[name]["recall"]
        per_class[name]["f1"] = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[name]["support"] = int(cm[i].sum())
    present = [v["f1"] for v in per_class.values() if v["support"] > 0]
    found = p != len(cols) - 1
    ece = expected_calibration_error(probs[found], y[found])[0] if found.any() else 0.0
    return {
        "n": int(len(y)),
        "accuracy": float((p == y).mean()) if len(y) else 0.0,
        "macro_f1": float(np.mean(present)) if present else 0.0,
        "face_found": float(found.mean()) if len(y) else 0.0,
        "accuracy_on_found": float((p[found] == y[found]).mean()) if found.any() else 0.0,
        "ece_on_found": ece,
        "per_class": per_class,
        "recall": {k: v["recall"] for k, v in per_class.items()},
        "confusion": cm.tolist(),
        "confusion_columns": cols,
        "labels": list(labels),
    }


def evaluate_pipeline(
    model: str | Path,
    data: str | Path,
    *,
    detector: str | Detector = DEFAULT_DETECTOR,
    tta: str = "card",
    label_map=None,
    threads: int = 2,
    limit: int = 0,
    out: str | Path | None = None,
    precision: str = "auto",
) -> dict[str, Any]:
    """Run the runtime (detector: a name or a built one) on every photo of a class-folder set; the metrics."""
    from tqdm import tqdm

    from emolens.inference.analyzer import Analyzer
    from emolens.inference.images import ImageError

    tree, rels, names = photos_by_class(data, label_map)
    if limit:
        pick = np.random.default_rng(0).permutation(len(rels))[:limit]
        rels, names = [rels[i] for i in sorted(pick)], [names[i] for i in sorted(pick)]
    analyzer = Analyzer(model, detector, threads=threads, tta=None if tta == "card" else tta, precision=precision)
    labels = tuple(n for n in analyzer.labels if n in set(names)) + tuple(sorted(set(names) - set(analyzer.labels)))
    pred, probs, unreadable = [], np.zeros((len(rels), len(labels)), np.float32), 0
    for i, rel in enumerate(tqdm(rels, desc="pipeline", unit="photo", disable=None)):
        try:
            faces = analyzer.analyze(tree.read(rel))
        except ImageError as exc:
            log.warning("%s", exc)
            faces, unreadable = [], unreadable + 1
        if not faces:
            pred.append(NO_FACE)
            continue
        face = max(faces, key=lambda f: f.box[2] * f.box[3])
        pred.append(face.emotion)
        probs[i] = [face.probabilities.get(k, 0.0) for k in labels]
    report = pipeline_metrics(names, pred, probs, labels)
    card = analyzer.card
    report.update(
        {
            "data": str(data),
            "unreadable": unreadable,
            "detector": analyzer.detector.name,
            "model": {
                "kind": "onnx",
                "path": str(analyzer.classifier.model_dir),
                "name": card.name,
                "arch": card.arch,
                "tta": ",".join(analyzer.classifier.tta) or "none",
                "precision": analyzer.classifier.precision,
                "sha256": analyzer.classifier.sha256,
            },
            "split": "pipeline",
        }
    )
    if out:
        report["files"] = _write(report, Path(out))
    return report


def _write(report: dict[str, Any], out: Path) -> list[str]:
    import csv
    import json

    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(report, indent=2))
    with open(out / "pipeline-confusion.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["true \\ predicted", *report["confusion_columns"]])
        for name, row in zip(report["labels"], report["confusion"]):
            w.writerow([name, *row])
    return [str(out / "pipeline.json"), str(out / "pipeline-confusion.csv")]


def format_pipeline(report: dict[str, Any]) -> str:
    m = report["model"]
    lines = [
        f"model {m['name']} ({m['arch']}, {m.get('precision', 'float')}, tta {m['tta']}), "
        f"whole pipeline ({report['detector']}) on {report['data']}",
        f"n {report['n']}  accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
        f"face found {report['face_found']:.3f}  accuracy on found faces {report['accuracy_on_found']:.4f}",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'photos':>9}",
    ]
    for name, c in report["per_class"].items():
        lines.append(f"{name:<10}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}{c['support']:>9}")
    if report.get("files"):
        lines.append("reports: " + ", ".join(report["files"]))
    return "\n".join(lines)
