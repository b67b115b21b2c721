"""FER+ labels: ten taggers' votes per FER2013 image, turned into training targets.

Why: FER2013's labels come from one tagger each and disagree with the ten-tagger FER+
majority on about a third of the images. The votes CSV (`ferplus.csv`: path, 8 emotion
columns, unknown, NF) is keyed by the image's path inside the FER2013 layout, so it fits any
copy of that layout. Modes, after Barsoum et al. 2016 (and their reference code):

- majority:      one-hot of the emotion with more than half of the votes (single votes are
                 dropped as outliers first); images without one are dropped;
- crossentropy:  the vote distribution over the top emotions (the paper's soft target);
- probability:   the same distribution, from which the loop samples a one-hot label each time;
- mixed:         FER2013's own label (weight `weight`) mixed with the crossentropy distribution.

Images whose votes point at `unknown` or `NF` (not a face) are dropped in every mode. With 7
classes, contempt votes are removed and the rest renormalised (an image whose target is
mostly contempt is dropped); with 8 classes contempt is the 8th label.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emolens.core.labels import CONTEMPT, EMOTIONS, label_set
from emolens.datasets.types import DataError, Split

log = logging.getLogger(__name__)

# FER+ vote columns in their CSV order, mapped to our label names
VOTE_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt", "unknown", "NF")
OUR_NAMES = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", CONTEMPT)
MODES = ("majority", "crossentropy", "probability", "mixed")
LABEL_SOURCES = ("fer2013", "ferplus")


@dataclass(frozen=True)
class FerPlusOptions:
    mode: str = "crossentropy"
    weight: float = 0.5  # mixed mode: share of FER2013's original label in the target
    classes: int = 7  # 7, or 8 with contempt
    votes: str = ""  # path of the votes CSV; empty: ferplus.csv next to the dataset

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DataError(f"FER+ mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not 0.0 <= self.weight <= 1.0:
            raise DataError(f"FER+ weight must be between 0 and 1, got {self.weight}")
        if self.classes not in (7, 8):
            raise DataError(f"classes must be 7 or 8 (with contempt), got {self.classes}")


def votes_path(data: str | Path, votes: str = "") -> Path:
    """The votes CSV: the one given, else ferplus.csv beside the dataset (or inside its folder)."""
    if votes:
        path = Path(votes)
    else:
        data = Path(data)
        path = (data if data.is_dir() else data.parent) / "ferplus.csv"
    if not path.is_file():
        raise DataError(
            f"FER+ votes {path} not found: pass --ferplus PATH (a CSV with columns path,{','.join(VOTE_COLUMNS)})"
        )
    return path


def read_votes(path: Path) -> dict[str, np.ndarray]:
    """{path in the FER2013 layout: (10,) mean votes}; rows that share a path are averaged."""
    sums: dict[str, np.ndarray] = {}
    counts: Counter = Counter()
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"path", *VOTE_COLUMNS} - set(reader.fieldnames or ())
        if missing:
            raise DataError(f"{path} is not a FER+ votes CSV: missing columns {', '.join(sorted(missing))}")
        for line_no, row in enumerate(reader, start=2):
            try:
                v = np.array([float(row[c] or 0) for c in VOTE_COLUMNS], np.float64)
            except ValueError:
                raise DataError(f"{path} line {line_no}: votes must be numbers") from None
            if (v < 0).any():
                raise DataError(f"{path} line {line_no}: negative votes")
            key = row["path"].strip().lstrip("/")
            sums[key] = sums.get(key, 0) + v
            counts[key] += 1
    return {k: s / counts[k] for k, s in sums.items()}


def process_votes(votes: np.ndarray, mode: str, classes: int = 7) -> np.ndarray | None:
    """(10,) votes -> (classes,) target distribution in our label order, or None to drop the image.

    Follows FER+'s reference processing: single votes are outliers; majority needs > 50% of
    the remaining votes; the soft modes keep the top emotions (at most 3) until they hold
    75% of the votes, and drop the image when they hold no more than half, or when
    unknown / not-a-face ties with or beats them.
    """
    v = np.where(votes <= 1.0 + 1e-9, 0.0, votes.astype(np.float64))
    total = v.sum()
    if total <= 0:
        return None
    if mode == "majority":
        top = int(np.argmax(v))
        if v[top] <= 0.5 * total or (v == v[top]).sum() > 1 or top >= 8:
            return None
        kept = np.zeros(10)
        kept[top] = v[top]
    else:
        kept = np.zeros(10)
        rest = v.copy()
        while kept.sum() < 0.75 * total and (kept > 0).sum() < 3:
            peak = rest.max()
            if peak <= 0:
                break
            tied = np.flatnonzero(rest == peak)
            if (tied >= 8).any():  # unknown / NF as strong as the emotions still to come
                if kept.sum() == 0:
                    return None
                break
            kept[tied] = peak
            rest[tied] = 0
        if kept.sum() <= 0.5 * total or (kept > 0).sum() > 3:
            return None
    emo = kept[:8]
    if classes == 7:
        emo = emo.copy()
        if emo[7] >= emo[:7].max():  # contempt leads: not one of our seven
            return None
        emo[7] = 0.0
    names = label_set(classes)
    out = np.zeros(len(names), np.float32)
    for j, name in enumerate(OUR_NAMES[:classes]):
        out[names.index(name)] = emo[j]
    s = out.sum()
    return out / s if s > 0 else None


def apply_ferplus(split: Split, votes: dict[str, np.ndarray], opts: FerPlusOptions) -> Split:
    """The split with FER+ targets (`targets`), labels = their argmax, unusable images dropped.

    `split.sources` must be paths in the FER2013 folder layout (train/<class>/<file>); the
    original FER2013 label stays available as `original_labels` for reporting and mixing.
    """
    names = label_set(opts.classes)
    keep, targets, reasons = [], [], Counter()
    for i, src in enumerate(split.sources):
        raw = votes.get(src)
        original = np.zeros(len(names), np.float32)
        original[names.index(split.label_names[split.labels[i]])] = 1.0
        if raw is None:
            if opts.mode == "mixed":  # no FER+ row: FER2013's own label is all there is
                keep.append(i)
                targets.append(original)
            else:
                reasons["no FER+ row"] += 1
            continue
        mode = "crossentropy" if opts.mode in ("mixed", "probability") else opts.mode
        t = process_votes(raw, mode, opts.classes)
        if t is None:
            reasons[_why_dropped(raw, opts)] += 1
            continue
        if opts.mode == "mixed":
            t = opts.weight * original + (1 - opts.weight) * t
        keep.append(i)
        targets.append(t)
    log.info(
        "FER+ %s (%d classes), split %s: kept %d of %d images%s",
        opts.mode,
        opts.classes,
        split.name,
        len(keep),
        len(split),
        "; dropped " + ", ".join(f"{n} {r}" for r, n in reasons.most_common()) if reasons else "",
    )
    if not keep:
        raise DataError(
            f"no image of split {split.name!r} has a FER+ row: are the votes keyed by this layout's paths "
            f"(e.g. train/angry/Training_1426440.jpg)?"
        )
    idx = np.array(keep)
    out = split.subset(idx)
    t = np.stack(targets).astype(np.float32)
    out.original_labels = np.array([names.index(split.label_names[k]) for k in split.labels[idx]], np.int64)
    out.label_names = names
    out.targets = t
    out.labels = t.argmax(1).astype(np.int64)
    out.dropped = {**out.dropped, **{f"FER+: {r}": n for r, n in reasons.items()}}
    return out


def _why_dropped(raw: np.ndarray, opts: FerPlusOptions) -> str:
    top = int(np.argmax(raw))
    if top == 8:
        return "unknown"
    if top == 9:
        return "not a face"
    if top == 7 and opts.classes == 7:
        return "contempt"
    return "no clear majority" if opts.mode == "majority" else "votes too spread"


def agreement(split: Split, votes: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per FER2013 class: how often the FER+ majority (8 classes, unknown/NF counted) agrees.

    For `emolens data`: where the one-tagger labels and the ten taggers part ways.
    """
    out: dict[str, dict[str, float]] = {}
    names8 = label_set(8)
    moved: dict[str, Counter] = {n: Counter() for n in EMOTIONS}
    for src, lab in zip(split.sources, split.labels):
        raw = votes.get(src)
        name = split.label_names[lab]
        if raw is None:
            moved[name]["no FER+ row"] += 1
            continue
        t = process_votes(raw, "majority", 8)
        moved[name][names8[int(np.argmax(t))] if t is not None else _majority_name(raw)] += 1
    for name, c in moved.items():
        n = sum(c.values())
        if n:
            out[name] = {
                "n": n,
                "agree": c[name] / n,
                "top_other": max(((k, v) for k, v in c.items() if k != name), key=lambda kv: kv[1], default=("-", 0))[
                    0
                ],
            }
    return out


def _majority_name(raw: np.ndarray) -> str:
    top = int(np.argmax(raw))
    return "unknown" if top == 8 else "not a face" if top == 9 else "no majority"
