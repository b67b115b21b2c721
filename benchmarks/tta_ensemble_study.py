"""Which test-time views and which ensemble of runs pay off: one table on the validation split.

    python benchmarks/tta_ensemble_study.py runs/seed0 runs/seed1 runs/seed2 \
        --data ../shared/datasets/fer2013/fer2013.zip --split test

Each run's logits are computed once per view of `emolens.core.tta` (the views the
runtime uses), then every TTA choice x every combination of runs is scored by
averaging logits, exactly as `emolens export RUN... --tta ...` would. Needs [train].
"""

from __future__ import annotations

import argparse
import itertools
import json

import numpy as np
import torch

from emolens.core.preprocess import preprocess
from emolens.core.tta import tta_views
from emolens.evaluation.evaluate import split_for_eval
from emolens.train.data import card_for
from emolens.train.loop import predict_logits
from emolens.train.runs import load_run

# indices into tta_views(x, ("flip", "zoom", "shift")): identity, zoom, 4 shifts, then their mirrors
VIEWS = {
    "none": [0],
    "flip": [0, 6],
    "zoom": [0, 1],
    "flip,zoom": [0, 1, 6, 7],
    "flip,shift": [0, 2, 3, 4, 5, 6, 8, 9, 10, 11],
    "flip,zoom,shift": list(range(12)),
}


def view_logits(run: str, split) -> np.ndarray:
    """(12, N, K): logits of every view of `tta_views` with flip, zoom and shift."""
    model, cfg, _ = load_run(run)
    x = preprocess(split.images, card_for(cfg))
    return np.stack(
        [
            predict_logits(model, torch.from_numpy(v), split, cfg, "none")
            for v in tta_views(x, ("flip", "zoom", "shift"))
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    split, train_digests = split_for_eval(args.data, args.split)
    keep = np.array([d not in train_digests for d in split.digests])
    logits = {run: view_logits(run, split) for run in args.runs}
    preds = {run: logits[run][VIEWS["flip"]].mean(0).argmax(1) for run in args.runs}
    rows = []
    for k in range(1, len(args.runs) + 1):
        for combo in itertools.combinations(args.runs, k):
            for tta, idx in VIEWS.items():
                p = np.mean([logits[r][idx].mean(0) for r in combo], 0).argmax(1)
                rows.append(
                    {
                        "runs": list(combo),
                        "tta": tta,
                        "accuracy": round(float((p == split.labels).mean()), 4),
                        "accuracy_without_train_duplicates": round(float((p[keep] == split.labels[keep]).mean()), 4),
                    }
                )
    agree = {
        f"{a} ~ {b}": round(float((preds[a] == preds[b]).mean()), 4) for a, b in itertools.combinations(args.runs, 2)
    }
    if args.json:
        print(json.dumps({"rows": rows, "flip_agreement": agree}, indent=1))
        return
    for row in rows:
        print(
            f"{' + '.join(row['runs']):60s} {row['tta']:16s} {row['accuracy']:.4f} "
            f"(no dups {row['accuracy_without_train_duplicates']:.4f})"
        )
    for pair, a in agree.items():
        print(f"agreement (flip) {pair}: {a:.4f}")


if __name__ == "__main__":
    main()
