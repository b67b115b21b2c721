"""The worked examples of docs/feedback.md: the numbers there come from these two commands.

    python scripts/feedback_example.py adaptation [--json]
        Synthetic journal users whose true emotions the model consistently misreads (seeded): how
        their personal adaptation reads held-back check-ins after 0, 5, 10, 20 and 40 corrections, and
        that another user's readings do not move. Runs the real journal code on a temporary database.

    python scripts/feedback_example.py finetune --data ../shared/datasets/fer2013/fer2013.zip \
        --faces ../shared/datasets/facial-expressions/facial-expressions.zip --out ft/ [--per-class 60]
        `emolens finetune --base default` on real photos (the facial-expressions collection: colour photos
        of faces, not FER2013) read by the runtime into 48x48 crops and contributed, with their labels as
        corrections, by 5 stand-in users; prints the evaluation: PublicTest and held-back feedback,
        before and after, and the gate. Extra flags go to `emolens finetune` (e.g. --epochs 2).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from emolens.apps import accounts
from emolens.apps.db import open_database
from emolens.apps.journal import checkin as usecase
from emolens.apps.journal import contributions, personal, store
from emolens.apps.journal.readings import Reading
from emolens.apps.registry import all_migrations
from emolens.core.labels import EMOTIONS

TRUTHS = ("happy", "neutral", "sad", "surprise")
MISREAD = {"happy": "neutral", "sad": "neutral", "surprise": "fear"}  # how the model gets this user's face wrong
HELD_BACK = 200


def misread(truth: str, rng: np.random.Generator) -> dict[str, float]:
    """The model's reading of a check-in whose true emotion is `truth`, for a user whose face it misreads."""
    z = rng.normal(0.0, 0.4, len(EMOTIONS))
    z[EMOTIONS.index(truth)] += 2.0
    if truth in MISREAD:
        z[EMOTIONS.index(MISREAD[truth])] += 2.6
    p = np.exp(z) / np.exp(z).sum()
    return dict(zip(EMOTIONS, p.tolist()))


def _checkins(db, user_id: int, n: int, rng: np.random.Generator) -> list[tuple[str, store.CheckIn]]:
    out = []
    for i in range(n):
        truth = TRUTHS[i % len(TRUTHS)]
        r = misread(truth, rng)
        reading = Reading(shares=r, confidence=max(r.values()), frames=1, total_frames=1)
        out.append((truth, store.add_checkin(db, user_id, reading, source="photo")))
    return out


def _accuracy(pairs, adapted: bool) -> float:
    def top(c: store.CheckIn) -> str:
        r = c.final_shares if adapted else c.shares
        return max(r, key=lambda k: r[k])

    return round(sum(top(c) == truth for truth, c in pairs) / len(pairs), 3)


def adaptation_example(counts=(0, 5, 10, 20, 40), seed: int = 0) -> list[dict]:
    """One row per number of corrections: held-back accuracy before/after, the cross-validated status, the
    calibration's size, and whether another user's readings moved."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "emolens.db", all_migrations())
        hasher = accounts.password_hasher(fast=True)
        for n in counts:
            rng = np.random.default_rng(seed + n)
            user = accounts.local_user(db, f"user{n}", hasher=hasher)
            other = accounts.local_user(db, f"other{n}", hasher=hasher)
            other_before = _checkins(db, other.id, 20, np.random.default_rng(99))
            for truth, c in _checkins(db, user.id, n, rng):
                usecase.edit_checkin(db, user.id, c.id, corrected=truth)
            held = _checkins(db, user.id, HELD_BACK, rng)
            other_after = _checkins(db, other.id, 20, np.random.default_rng(99))
            status = personal.get(db, user.id)
            moved = any(a.final_shares != b.final_shares for (_, a), (_, b) in zip(other_after, other_before))
            rows.append(
                {
                    "corrections": n,
                    "held_back": len(held),
                    "accuracy_before": _accuracy(held, adapted=False),
                    "accuracy_after": _accuracy(held, adapted=True),
                    "cross_validated": status.evaluation,
                    "bias_size": round(float(np.abs(status.calibration.bias).sum()), 2) if status.calibration else 0.0,
                    "scale": round(status.calibration.scale, 3) if status.calibration else 1.0,
                    "other_user_changed": moved,
                }
            )
    return rows


def format_adaptation(rows: list[dict]) -> str:
    lines = [
        "| corrections | held-back accuracy, model | with the adaptation | cross-validated before → after "
        "| sum of abs(bias) | scale | another user's readings |",
        "|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in rows:
        cv = r["cross_validated"]
        cv_text = f"{cv['before']:.2f} → {cv['after']:.2f} (n={cv['n']})" if cv else "–"
        lines.append(
            f"| {r['corrections']} | {r['accuracy_before']:.3f} | {r['accuracy_after']:.3f} | {cv_text} "
            f"| {r['bias_size']:.2f} | {r['scale']:.3f} | {'changed' if r['other_user_changed'] else 'unchanged'} |"
        )
    return "\n".join(lines)


FACES_LABELS = {
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happy",
    "neutral": "neutral",
    "sadness": "sad",
    "surprise": "surprise",
}  # contempt: not one of the model's 7


def contributed_crops(faces_zip: str, per_class: int, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """Up to per_class photos per emotion of the facial-expressions collection, each read by the runtime
    (default model, largest face) into the 48x48 gray crop a journal user would contribute, with its label."""
    import csv
    import io
    import zipfile

    import cv2

    from emolens.inference.analyzer import Analyzer

    analyzer = Analyzer("default", "centerface")
    with zipfile.ZipFile(faces_zip) as z:
        legend = list(csv.DictReader(io.StringIO(z.read("legend.csv").decode("utf-8"))))
        np.random.default_rng(seed).shuffle(legend)
        names = set(z.namelist())
        crops, labels, taken = [], [], dict.fromkeys(EMOTIONS, 0)
        for row in legend:
            label = FACES_LABELS.get(row["emotion"].strip().lower())
            if label is None or taken[label] >= per_class or f"images/{row['image']}" not in names:
                continue
            image = cv2.imdecode(np.frombuffer(z.read(f"images/{row['image']}"), np.uint8), cv2.IMREAD_COLOR)
            faces = analyzer.analyze(image) if image is not None else []
            if not faces:
                continue
            face = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            crops.append(analyzer.model_crop(image, face))
            labels.append(label)
            taken[label] += 1
    return crops, labels


def finetune_example(data: str, faces: str, out: str, per_class: int, extra: list[str] | None = None) -> dict:
    """Crops of real photos contributed (their labels as corrections) by 5 users, then `emolens finetune`."""
    crops, labels = contributed_crops(faces, per_class)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(Path(tmp) / "emolens.db", all_migrations())
        hasher = accounts.password_hasher(fast=True)
        users = [accounts.local_user(db, f"user{i}", hasher=hasher) for i in range(5)]
        flat = Reading(shares=dict.fromkeys(EMOTIONS, 1 / 7), confidence=1 / 7, frames=1, total_frames=1)
        for i, (crop, label) in enumerate(zip(crops, labels)):
            user = users[i % len(users)]
            c = store.add_checkin(db, user.id, flat, source="photo", contribution=contributions.pixels(crop))
            usecase.edit_checkin(db, user.id, c.id, corrected=label)
        cmd = [sys.executable, "-m", "emolens.cli", "finetune", "--feedback", str(Path(tmp) / "emolens.db")]
        cmd += ["--base", "default", "--data", data, "--out", out, "--json", *(extra or [])]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stderr[-3000:], file=sys.stderr)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"emolens finetune failed ({proc.returncode})")
    fed = proc.stdout.splitlines()[0] if proc.stdout else ""  # "N corrected contributed crops from 5 user(s) ..."
    if proc.returncode == 3:
        return {"feedback": fed, "refused": True, "message": proc.stderr.strip().splitlines()[-1]}
    return {"feedback": fed, **json.loads(proc.stdout[proc.stdout.index("{") :])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    a = sub.add_parser("adaptation", help="synthetic misread users: personal adaptation by number of corrections")
    a.add_argument("--json", action="store_true")
    f = sub.add_parser("finetune", help="emolens finetune on real photos' crops contributed as feedback")
    f.add_argument("--data", required=True, help="FER2013 (zip or folder)")
    f.add_argument("--faces", required=True, help="the facial-expressions collection (zip with legend.csv)")
    f.add_argument("--out", required=True, help="a new folder for the fine-tuned model")
    f.add_argument("--per-class", type=int, default=60, help="contributed crops per emotion (default: 60)")
    args, extra = p.parse_known_args(argv)
    if args.what == "adaptation":
        rows = adaptation_example()
        print(json.dumps(rows, indent=2) if args.json else format_adaptation(rows))
    else:
        print(json.dumps(finetune_example(args.data, args.faces, args.out, args.per_class, extra=extra), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
