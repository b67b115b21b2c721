"""Export a training run and score it the three ways the real-faces work is judged by.

    python scripts/score_run.py runs/a1 [--data ../shared/datasets/fer2013/fer2013.zip]
        [--sfew ../shared/datasets/sfew-dev/sfew-dev.zip] [--out runs/a1/scored] [--tta none] [--half]
    python scripts/score_run.py src/emolens/models/default --no-export --record   # a shipped card gets the figures

1. `emolens export` (parity check, temperature calibrated on PublicTest);
2. FER2013 PublicTest against FER2013's own labels, and against the FER+ majority;
3. the whole pipeline (detect, align, crop, classify; largest face; no face = wrong) on
   sfew-dev, which is for measurement only: nothing here trains or tunes on it.

Writes OUT/summary.json and prints one markdown row for docs/experiments.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def emolens(*args: str) -> str:
    cmd = [sys.executable, "-m", "emolens.cli", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", help="training run folder (or an exported model folder with --no-export)")
    ap.add_argument("--data", default="../shared/datasets/fer2013/fer2013.zip")
    ap.add_argument("--sfew", default="../shared/datasets/sfew-dev/sfew-dev.zip")
    ap.add_argument("--out", help="default: RUN/scored")
    ap.add_argument("--tta", help="TTA written in the exported card (default: the run's)")
    ap.add_argument("--half", action="store_true", help="export weights as float16 (as the shipped ensemble is)")
    ap.add_argument("--no-export", action="store_true", help="RUN is already an exported model")
    ap.add_argument(
        "--record",
        action="store_true",
        help="also write the FER+ and sfew-dev figures into the model's card.json (metrics), as a shipped card has",
    )
    args = ap.parse_args()
    out = Path(args.out or Path(args.run) / "scored")
    model = Path(args.run) if args.no_export else out / "model"
    if not args.no_export:
        extra = (["--tta", args.tta] if args.tta else []) + (["--half"] if args.half else [])
        emolens("export", args.run, "--out", str(model), "--data", args.data, *extra)
    fer = json.loads(
        emolens("evaluate", "--model", str(model), "--data", args.data, "--json", "--out", str(out / "fer2013"))
    )
    ferplus = json.loads(
        emolens(
            "evaluate",
            "--model",
            str(model),
            "--data",
            args.data,
            "--labels",
            "ferplus",
            "--json",
            "--out",
            str(out / "ferplus"),
        )
    )
    sfew = json.loads(
        emolens(
            "evaluate", "--model", str(model), "--data", args.sfew, "--pipeline", "--json", "--out", str(out / "sfew")
        )
    )
    card = json.loads((model / "card.json").read_text())
    summary = {
        "run": str(args.run),
        "model": str(model),
        "tta": card.get("tta"),
        "temperature": card.get("temperature"),
        "fer2013": {k: fer[k] for k in ("n", "accuracy", "macro_f1", "ece")},
        "ferplus": {k: ferplus[k] for k in ("n", "accuracy", "macro_f1", "ece")},
        "sfew": {k: sfew[k] for k in ("n", "accuracy", "macro_f1", "face_found", "recall")},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if args.record:
        from emolens.core.card import ModelCard

        path = model / "card.json"
        card = ModelCard.load(path)
        ferplus_row = {k: round(v, 4) for k, v in summary["ferplus"].items()}
        sfew_row = {k: v if k in ("n", "recall") else round(v, 4) for k, v in summary["sfew"].items()}
        sfew_row["recall"] = {k: round(v, 4) for k, v in sfew_row["recall"].items()}
        metrics = dict(card.metrics, ferplus_majority=ferplus_row, sfew_dev_pipeline=sfew_row)
        card.with_(metrics=metrics).save(path)
    r = summary["sfew"]["recall"]
    print(
        f"| {args.run} | {100 * fer['accuracy']:.1f}% / {fer['macro_f1']:.3f} / ECE {fer['ece']:.3f} | "
        f"{100 * ferplus['accuracy']:.1f}% / {ferplus['macro_f1']:.3f} | {100 * sfew['accuracy']:.1f}% / "
        f"{sfew['macro_f1']:.3f} | " + " ".join(f"{k[:3]} {v:.2f}" for k, v in r.items()) + " |"
    )


if __name__ == "__main__":
    main()
