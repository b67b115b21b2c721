"""Train LiteFace, our own small face detector, on real face photos pasted on backgrounds.

    python scripts/train_detector.py --data ../shared/datasets/facial-expressions/facial-expressions.zip \
        --out runs/liteface --steps 6000
    python scripts/train_detector.py --data ... --out runs/liteface --resume   # after an interruption
    python scripts/train_detector.py --data ... --out runs/lf-wide --init runs/liteface/checkpoint.pt \
        --stem 8 --deep4 1 --crowd 0.3 --colour 0.7 --lr 0.002 --steps 2400   # another shape, from trained weights

CenterFace labels every photo once (cached in --cache); the pictures are composed on the fly
(emolens.train.facedet_compose). The run folder gets checkpoint.pt, history.jsonl (validation recall
and false faces per checkpoint, on composites of held-out photos) and liteface.onnx. To ship it,
copy liteface.onnx to src/emolens/inference/detectors/ and put its sha256 in liteface.py; compare
it with CenterFace first (benchmarks/bench_detectors.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
import zipfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path, help="zip of face photos (facial-expressions.zip)")
    ap.add_argument("--out", required=True, type=Path, help="run folder")
    ap.add_argument("--steps", type=int, default=6000, help="optimizer steps in all (default 6000)")
    ap.add_argument("--batch", type=int, default=32, help="pictures per step (default 32)")
    ap.add_argument("--size", type=int, default=256, help="side of the square training pictures (default 256)")
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (default 0.003)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=250, help="validate and checkpoint every N steps (default 250)")
    ap.add_argument("--limit", type=int, help="read only the first N photos (quick trials)")
    ap.add_argument("--cache", type=Path, help="folder for CenterFace's labels (default: the run folder)")
    ap.add_argument(
        "--crowd", type=float, default=0.0, help="share of pictures that are crowds of small faces, 0-1 (default 0)"
    )
    ap.add_argument(
        "--colour", type=float, default=0.0, help="chance a gray photo gets skin-toned faces, 0-1 (default 0)"
    )
    ap.add_argument("--stem", type=int, default=16, help="channels at stride 2 (default 16; fewer: cheaper)")
    ap.add_argument("--deep4", type=int, default=0, help="residual blocks added at stride 4 (default 0)")
    ap.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    ap.add_argument("--init", type=Path, help="start from another run's checkpoint.pt (weights only, new schedule)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.data.is_file():
        print(f"error: no such file: {args.data}", file=sys.stderr)
        return 2
    if args.init is not None and not args.init.is_file():
        print(f"error: --init: no such file: {args.init}", file=sys.stderr)
        return 2
    for flag in ("crowd", "colour"):
        if not 0.0 <= getattr(args, flag) <= 1.0:
            print(f"error: --{flag} must lie between 0 and 1, not {getattr(args, flag)}", file=sys.stderr)
            return 2
    if not 4 <= args.stem <= 64 or not 0 <= args.deep4 <= 4:
        print(f"error: --stem must lie in 4-64 and --deep4 in 0-4, not {args.stem} and {args.deep4}", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file, not a folder", file=sys.stderr)
        return 2
    from emolens.train.facedet import DetTrainConfig, train

    cfg = DetTrainConfig(
        data=args.data, out=args.out, steps=args.steps, batch=args.batch, size=args.size, lr=args.lr,
        threads=args.threads, seed=args.seed, every=args.every, limit=args.limit, cache=args.cache, init=args.init,
        crowd=args.crowd, colour=args.colour, stem=args.stem, deep4=args.deep4,
    )  # fmt: skip
    try:
        path = train(cfg, resume=args.resume)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:  # no faces, not a zip, a full disk: one line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
