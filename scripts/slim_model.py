"""Cut a cheaper starting network out of an exported model: one ensemble member, fewer channels.

    python scripts/slim_model.py default --member 1 --fraction 0.75 --multiple 4 --tta flip \
        --data ../shared/datasets/fer2013/fer2013.zip --out runs/slim-default

Channels are ranked on a fixed sample of Training crops (mean ReLU activation x how strongly the next
layer reads it) and the top `--fraction` of every conv is kept. The result is a model folder to train
from with `model: onnx` (see configs/experiments/realfaces/d2-slim-default.yaml), not a model to ship:
the cut loses accuracy that the distillation then recovers. See emolens.train.slim.
"""

from __future__ import annotations

import argparse
import logging
import sys

from emolens.core.tta import parse_tta
from emolens.datasets.types import DataError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="an exported model folder or a shipped name (default)")
    ap.add_argument("--out", required=True, help="output model folder")
    ap.add_argument("--member", type=int, help="keep only this member of an ensemble (0-based)")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of each conv's channels to keep (default 1)")
    ap.add_argument("--multiple", type=int, default=8, help="round channel counts to this multiple (default 8)")
    ap.add_argument("--tta", help="TTA written in the card: none or a comma list (default: the parent's)")
    ap.add_argument("--data", help="dataset whose Training crops rank the channels (needed with --fraction < 1)")
    ap.add_argument("--calibrate", action="store_true", help="fit the temperature on --data's test split")
    ap.add_argument("--crops", type=int, default=1000, help="Training crops that rank the channels (default 1000)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from emolens.datasets.readers import read_dataset
    from emolens.train.quantize import training_sample
    from emolens.train.slim import slim_model

    images = None
    try:
        if args.fraction < 1:
            if not args.data:
                raise SystemExit("slim_model: --fraction below 1 needs --data (Training crops rank the channels)")
            images = training_sample(read_dataset(args.data, "auto", splits=("train",))["train"], args.crops)
        if args.calibrate and not args.data:
            raise SystemExit("slim_model: --calibrate needs --data (its test split fits the temperature)")
        tta = None if args.tta is None else parse_tta(args.tta)
        card = slim_model(
            args.model,
            args.out,
            images,
            member_index=args.member,
            fraction=args.fraction,
            multiple=args.multiple,
            tta=tta,
            calibrate=args.data if args.calibrate else None,
        )
    except (ValueError, DataError, FileNotFoundError) as e:
        print(f"slim_model: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}/model.onnx ({card.arch}, TTA {', '.join(card.tta) or 'none'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
