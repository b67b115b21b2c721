"""`emolens data`: class counts per split, exact duplicates, sample grids per class."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emolens.core.labels import EMOTIONS
from emolens.datasets.readers import detect_layout, read_dataset
from emolens.datasets.types import Split


def duplicate_report(splits: dict[str, Split]) -> dict[str, Any]:
    """Byte-identical images within each split and across splits, with label conflicts."""
    where: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, split in splits.items():
        for d, lab in zip(split.digests, split.labels):
            where[d].append((name, int(lab)))
    within: dict[str, dict[str, int]] = {n: {"images": 0, "conflicting_labels": 0} for n in splits}
    across: dict[str, dict[str, int]] = {}
    for hits in where.values():
        if len(hits) < 2:
            continue
        by_split = defaultdict(list)
        for s, lab in hits:
            by_split[s].append(lab)
        for s, labs in by_split.items():
            if len(labs) > 1:
                within[s]["images"] += len(labs) - 1
                within[s]["conflicting_labels"] += int(len(set(labs)) > 1)
        names = sorted(by_split)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                key = f"{b} in {a}" if a == "train" else f"{a} in {b}"
                row = across.setdefault(key, {"images": 0, "same_label": 0})
                other = a if key.startswith(b) else b
                mine = by_split[b] if key.startswith(b) else by_split[a]
                row["images"] += len(mine)
                row["same_label"] += sum(lab in by_split[other] for lab in mine)
    return {"within": within, "across": across}


def sample_grid(split: Split, label: int, n: int = 64, cell: int = 64, seed: int = 0) -> np.ndarray | None:
    idx = np.flatnonzero(split.labels == label)
    if idx.size == 0:
        return None
    pick = np.random.default_rng(seed).choice(idx, size=min(n, idx.size), replace=False)
    cols = 8
    rows = int(np.ceil(len(pick) / cols))
    grid = np.full((rows * cell, cols * cell), 255, np.uint8)
    for k, i in enumerate(pick):
        img = np.asarray(split.images[int(i)])
        img = cv2.resize(img, (cell, cell), interpolation=cv2.INTER_AREA if img.shape[0] > cell else cv2.INTER_LINEAR)
        r, c = divmod(k, cols)
        grid[r * cell : (r + 1) * cell, c * cell : (c + 1) * cell] = img
    return grid


def ferplus_report(path: str | Path, splits: dict[str, Split], votes: str = "") -> dict[str, Any] | None:
    """Per split and FER2013 class: how often the FER+ ten-tagger majority agrees (None without votes)."""
    from emolens.datasets.ferplus import agreement, read_votes, votes_path
    from emolens.datasets.types import DataError

    try:
        where = votes_path(path, votes)
    except DataError:
        if votes:
            raise
        return None
    table = read_votes(where)
    return {"votes": str(where), "splits": {n: agreement(s, table) for n, s in splits.items()}}


def inspect_dataset(
    path: str | Path, layout: str = "auto", label_map=None, out: str | Path = "reports/data", votes: str = ""
) -> dict[str, Any]:
    layout = detect_layout(path) if layout == "auto" else layout
    splits = read_dataset(path, layout, label_map=label_map)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    grids = []
    for name, split in splits.items():
        for label, emotion in enumerate(EMOTIONS):
            grid = sample_grid(split, label)
            if grid is not None:
                f = out / f"samples_{name}_{emotion}.png"
                cv2.imwrite(str(f), grid)
                grids.append(str(f))
    return {
        "path": str(path),
        "layout": layout,
        "splits": {n: {"images": len(s), "counts": s.counts(), "dropped": s.dropped} for n, s in splits.items()},
        "duplicates": duplicate_report(splits),
        "ferplus": ferplus_report(path, splits, votes) if layout != "csv" else None,
        "grids": grids,
    }


def format_report(r: dict[str, Any]) -> str:
    names = list(r["splits"])
    lines = [f"{r['path']} (layout {r['layout']})", f"{'class':<10}" + "".join(f"{n:>10}" for n in names)]
    for e in EMOTIONS:
        lines.append(f"{e:<10}" + "".join(f"{r['splits'][n]['counts'][e]:>10}" for n in names))
    lines.append(f"{'total':<10}" + "".join(f"{r['splits'][n]['images']:>10}" for n in names))
    for n in names:
        if r["splits"][n]["counts"] and min(r["splits"][n]["counts"].values()) == 0:
            empty = [e for e, c in r["splits"][n]["counts"].items() if c == 0]
            lines.append(f"warning: split {n} has no images for {', '.join(empty)}")
        if r["splits"][n]["dropped"]:
            lines.append(f"dropped from {n} (not one of our 7): {r['splits'][n]['dropped']}")
    lines.append("exact duplicates (byte-identical):")
    for n, d in r["duplicates"]["within"].items():
        lines.append(
            f"  within {n}: {d['images']} extra copies, {d['conflicting_labels']} groups with conflicting labels"
        )
    for k, d in r["duplicates"]["across"].items():
        lines.append(f"  {k}: {d['images']} images ({d['same_label']} with the same label)")
    if r.get("ferplus"):
        lines.append(f"FER+ majority agreeing with the label (votes: {r['ferplus']['votes']}):")
        for n, table in r["ferplus"]["splits"].items():
            cells = [f"{e} {100 * c['agree']:.0f}% (else {c['top_other']})" for e, c in table.items()]
            total = sum(c["n"] for c in table.values())
            agree = sum(c["agree"] * c["n"] for c in table.values()) / total if total else 0.0
            lines.append(f"  {n}: {100 * agree:.1f}% overall; " + ", ".join(cells))
    lines.append(f"sample grids: {len(r['grids'])} PNGs in {Path(r['grids'][0]).parent if r['grids'] else '-'}")
    return "\n".join(lines)
