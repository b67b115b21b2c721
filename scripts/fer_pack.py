"""Pack a FER2013 copy into one small lossless file, and unpack it as a Kaggle-layout folder.

Why: a lent GPU machine can be sent at most 64 MiB with the whole working tree, and the
Kaggle zip alone is 64 MB. The decoded pixels, row-delta coded and xz-compressed, take
~58 MB; unpacked, they become a `train/<class>/*.png` + `test/<class>/*.png` folder that
`emolens train --data DIR` reads like the zip: the same pixels (PNG is lossless), the same
file names, so the same order and the same splits.

    python scripts/fer_pack.py pack ../shared/datasets/fer2013/fer2013.zip .gpu/fer2013.pack.xz
    python scripts/fer_pack.py unpack .gpu/fer2013.pack.xz /tmp/fer2013

The pack holds FER2013 images: keep it out of the repository (`.gpu/` is git-ignored).
"""

from __future__ import annotations

import argparse
import io
import lzma
import sys
from pathlib import Path, PurePosixPath

import numpy as np

MAGIC = "emolens-fer-pack-1"


def pack(src: str, dest: str, splits: tuple[str, ...] = ("train", "test")) -> int:
    """Decode `src` (any layout `read_dataset` reads) and write the pack; returns the image count."""
    from emolens.datasets import read_dataset

    data = read_dataset(src, splits=splits)
    images, names = [], []
    for split in splits:
        s = data[split]
        if not s.in_memory or s.images.shape[1:] != (48, 48):
            raise SystemExit(f"{src}: split {split} is not a stack of 48x48 images")
        if any(len(PurePosixPath(r).parts) != 3 for r in s.sources):
            raise SystemExit(f"{src}: split {split} is not in the split/class/file layout")
        images.append(s.images)
        names += list(s.sources)
    pixels = np.concatenate(images)  # (N, 48, 48) uint8
    delta = np.diff(pixels.astype(np.int16), axis=2, prepend=0).astype(np.uint8)  # neighbours differ little
    buf = io.BytesIO()
    np.savez(buf, magic=np.array(MAGIC), delta=delta, names=np.array(names))
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    Path(dest).write_bytes(lzma.compress(buf.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    return len(names)


def unpack(src: str, dest: str) -> int:
    """Write the pack's images as lossless PNGs under `dest`; returns the image count."""
    import cv2

    with np.load(io.BytesIO(lzma.decompress(Path(src).read_bytes()))) as z:
        if str(z["magic"]) != MAGIC:
            raise SystemExit(f"{src} is not an emolens FER pack")
        pixels = np.cumsum(z["delta"], axis=2, dtype=np.uint8)  # wraps mod 256: undoes the delta
        names = [str(n) for n in z["names"]]
    root = Path(dest)
    for name, img in zip(names, pixels):
        path = (root / name).with_suffix(".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(path), img):
            raise SystemExit(f"cannot write {path}")
    return len(names)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("pack", help="dataset (zip, folder or csv) -> pack file")
    p.add_argument("src")
    p.add_argument("dest")
    u = sub.add_parser("unpack", help="pack file -> folder of PNGs in the Kaggle layout")
    u.add_argument("src")
    u.add_argument("dest")
    args = ap.parse_args(argv)
    n = pack(args.src, args.dest) if args.verb == "pack" else unpack(args.src, args.dest)
    print(f"{args.verb}ed {n} images: {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
