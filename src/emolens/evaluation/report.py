"""Report files for an evaluation: metrics.json, CSVs and PNG figures.

Figures need matplotlib (the [train] extra); without it the CSV/JSON still land.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def write_reports(report: dict[str, Any], out: Path, run_dir: Path | None = None) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    labels = report["labels"]
    files = [out / "metrics.json", out / "confusion.csv", out / "per_class.csv"]
    (out / "metrics.json").write_text(json.dumps({k: v for k, v in report.items() if k != "files"}, indent=2))
    with open(out / "confusion.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["true \\ predicted", *labels])
        for name, row in zip(labels, report["confusion"]):
            w.writerow([name, *row])
    with open(out / "per_class.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["class", "precision", "recall", "f1", "support"])
        for name, m in report["per_class"].items():
            w.writerow([name, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", m["support"]])
    try:
        import matplotlib

        matplotlib.use("Agg")
        from emolens.evaluation import figures
    except ImportError:
        log.warning("matplotlib is not installed: skipping PNG figures (pip install 'emolens[train]')")
        return [str(f) for f in files]
    files.append(figures.confusion_png(report, out / "confusion.png"))
    files.append(figures.reliability_png(report, out / "reliability.png"))
    if run_dir is not None and (run_dir / "history.json").is_file():
        files.append(figures.curves_png(json.loads((run_dir / "history.json").read_text()), out / "curves.png"))
    return [str(f) for f in files]


def format_metrics(report: dict[str, Any]) -> str:
    """Readable table for the terminal."""
    m = report["model"]
    lines = [
        f"model {m.get('name', m['path'])} ({m['arch']}, {m.get('precision', 'float')}, tta {m['tta']}) "
        f"on split {report['split']} of {report['data']}",
        f"n {report['n']}  accuracy {report['accuracy']:.4f}  "
        f"macro-F1 {report['macro_f1']:.4f}  ECE {report['ece']:.4f}",
    ]
    d = report.get("without_train_duplicates")
    if d:
        lines.append(
            f"without {d['removed']} exact duplicates of Training images: n {d['n']}  "
            f"accuracy {d['accuracy']:.4f}  macro-F1 {d['macro_f1']:.4f}"
        )
    lines.append(f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, c in report["per_class"].items():
        lines.append(f"{name:<10}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}{c['support']:>9}")
    files = report.get("files", [])
    lines.append(
        "reports: " + ", ".join(files)
        if files
        else "reports: none written (pass --out DIR for metrics.json, per-class and confusion CSVs, PNGs)"
    )
    return "\n".join(lines)
