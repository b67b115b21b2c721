"""Fine-tune an exported model on journal users' contributed crops, mixed with FER2013 Training, behind a gate.

    result = finetune(feedback, FinetuneConfig(base="default", data="fer2013.zip"), out="finetuned/")

1. The base model (a shipped name or a model folder: model.onnx + card.json) becomes a torch module
   again (train/onnx_torch.py: onnx_module, weights trainable), so the shipped `default` needs no training run.
2. The feedback (48x48 gray crops, each labelled by its user's correction) is split: a held-back
   part is only evaluated on; the rest is mixed with `mix` times as many FER2013 Training images
   (drawn at random), so the model learns the feedback without forgetting FER2013.
3. A few epochs of SGD at a small learning rate, then the model is exported (ONNX, checked for parity).
4. Before and after, on FER2013 PublicTest and on the held-back feedback, with the runtime's own
   path (ONNX Runtime, the card's TTA). The gate refuses a model whose PublicTest accuracy drops by
   more than `max_drop` points: nothing is written, GateRefused says by how much.
5. The card records the base model, the feedback it used (counts only) and both evaluations.
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emolens.core.card import ModelCard, sha256_file
from emolens.core.metrics import classification_metrics, softmax
from emolens.core.preprocess import preprocess
from emolens.datasets import DataError, Split, read_dataset
from emolens.evaluation.evaluate import onnx_logits, reorder_logits
from emolens.inference.model_store import load_card, resolve_model_dir
from emolens.train.export import HALF_PARITY_TOL, PARITY_TOL, check_parity, export_onnx, store_half
from emolens.train.onnx_torch import onnx_module

log = logging.getLogger(__name__)
MIN_FEEDBACK = 10  # corrected crops needed before fine-tuning means anything


class GateRefused(RuntimeError):
    """The fine-tuned model lost more than the allowed accuracy on PublicTest; nothing was written."""


@dataclass(frozen=True)
class Feedback:
    """Contributed crops: (N, 48, 48) uint8 gray, each with its user's correction (an emotion name)."""

    crops: np.ndarray
    labels: tuple[str, ...]
    users: int = 0  # how many users they came from (counts only go into the card)


@dataclass(frozen=True)
class FinetuneConfig:
    base: str = "default"  # a shipped model name or a model folder (model.onnx + card.json)
    data: str = ""  # FER2013 (zip, folder or CSV): Training to mix in, PublicTest to evaluate and gate on
    epochs: int = 3
    lr: float = 0.002  # SGD with momentum: small, the model is already trained
    batch_size: int = 64
    mix: float = 3.0  # FER2013 Training images per feedback crop in the training set
    holdout: float = 0.2  # share of the feedback held back for the after/before evaluation
    max_drop: float = 0.5  # accuracy points on PublicTest the fine-tuned model may lose at most
    name: str = ""  # the new model's name (default: <base>-ft)
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class FinetuneResult:
    card: ModelCard
    out: Path
    evaluation: dict[str, Any]


def _split(name: str, images: np.ndarray, labels: np.ndarray, label_names: tuple[str, ...]) -> Split:
    n = len(labels)
    return Split(
        name,
        images,
        labels,
        [f"{name}:{i}" for i in range(n)],
        [f"{name}:{i}" for i in range(n)],
        label_names=label_names,
    )


def feedback_split(feedback: Feedback, labels: tuple[str, ...], holdout: float, seed: int) -> tuple[Split, Split]:
    """(training part, held-back part) of the feedback, labels as indexes into `labels` (the model's)."""
    unknown = sorted({lab for lab in feedback.labels if lab not in labels})
    if unknown:
        raise DataError(f"feedback labelled {', '.join(unknown)}: the base model has no such output")
    n = len(feedback.labels)
    if n < MIN_FEEDBACK:
        raise DataError(f"only {n} corrected contributed crops: fine-tuning needs at least {MIN_FEEDBACK}")
    y = np.array([labels.index(lab) for lab in feedback.labels])
    order = np.random.default_rng(seed).permutation(n)
    held = order[: max(1, int(round(n * holdout)))]
    train = np.setdiff1d(order, held)
    return (
        _split("feedback-train", feedback.crops[train], y[train], labels),
        _split("feedback-heldout", feedback.crops[held], y[held], labels),
    )


def fer_splits(data: str, labels: tuple[str, ...], n_train: int, seed: int) -> tuple[Split, Split]:
    """(n_train FER2013 Training images drawn at random, PublicTest), labels re-indexed by name into `labels`."""
    splits = read_dataset(data, splits=("train", "test"))
    train, test = splits["train"], splits["test"]
    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[: min(n_train, len(train))])
    train = train.subset(pick)
    for s in (train, test):
        if not s.in_memory:
            raise DataError(f"{data}: the {s.name} split does not fit in memory")
    return _relabel(train, labels), _relabel(test, labels)


def _relabel(split: Split, labels: tuple[str, ...]) -> Split:
    names = split.label_names
    missing = sorted({names[i] for i in np.unique(split.labels)} - set(labels))
    if missing:
        raise DataError(f"the base model has no {', '.join(missing)} output to learn {split.name} with")
    y = np.array([labels.index(names[i]) for i in split.labels])
    return Split(split.name, split.images, y, split.sources, split.digests, label_names=labels)


def score(model_dir: Path, split: Split, card: ModelCard | None = None, precision: str = "auto") -> dict[str, float]:
    """Accuracy and macro-F1 (in points) of an exported model on a split, as the runtime reads it."""
    logits, info = onnx_logits(model_dir, split, card=card, precision=precision)
    logits = reorder_logits(logits, tuple(info["labels"]), split.label_names)
    m = classification_metrics(softmax(logits, info["temperature"]), split.labels, split.label_names)
    return {"n": int(m["n"]), "accuracy": round(100 * m["accuracy"], 2), "macro_f1": round(100 * m["macro_f1"], 2)}


def train_steps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: FinetuneConfig) -> list[float]:
    """cfg.epochs of SGD on (x (N, C, S, S), y (N,)), random horizontal flips; the mean loss of each epoch."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=5e-4)
    model.train()
    losses = []
    for epoch in range(cfg.epochs):
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for start in range(0, len(x), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = torch.nn.functional.cross_entropy(model(xb), y[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
        log.info("fine-tune epoch %d/%d: loss %.4f", epoch + 1, cfg.epochs, losses[-1])
    return losses


def _export(model: torch.nn.Module, base: ModelCard, folder: Path) -> ModelCard:
    """model.onnx in folder (float16 weights when the base had them), checked against torch."""
    model.eval()
    path = folder / base.onnx_file
    export_onnx(model, base, path)
    half = base.metrics.get("weights") == "float16"
    if half:
        store_half(path)
    crops = np.random.default_rng(0).integers(0, 256, (16, base.input_size + 8, base.input_size + 8), dtype=np.uint8)
    check_parity(model, path, preprocess(crops, base), HALF_PARITY_TOL if half else PARITY_TOL)
    return base.float_only().with_(onnx_sha256=sha256_file(path))


def finetune(feedback: Feedback, cfg: FinetuneConfig, out: str | Path) -> FinetuneResult:
    """The whole run (see the module docstring); GateRefused when the gate says no (nothing written)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: choose a new --out folder")
    if not cfg.data:
        raise DataError("fine-tuning needs FER2013 (--data): Training to mix in, PublicTest for the gate")
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    base_dir = resolve_model_dir(cfg.base)
    base = load_card(base_dir)
    fb_train, fb_held = feedback_split(feedback, base.labels, cfg.holdout, cfg.seed)
    fer_train, public = fer_splits(cfg.data, base.labels, int(math.ceil(cfg.mix * len(fb_train))), cfg.seed)
    # The base's float graph: what is fine-tuned, so before and after differ by the training alone.
    before = {
        "publictest": score(base_dir, public, precision="float"),
        "feedback_heldout": score(base_dir, fb_held, precision="float"),
    }
    log.info(
        "base %s: PublicTest %s, held-back feedback %s", base.name, before["publictest"], before["feedback_heldout"]
    )
    model = onnx_module(base_dir / base.onnx_file, trainable=True)
    x = torch.from_numpy(preprocess(np.concatenate([fer_train.images, fb_train.images]), base))
    y = torch.from_numpy(np.concatenate([fer_train.labels, fb_train.labels]).astype(np.int64))
    losses = train_steps(model, x, y, cfg)
    staging = Path(tempfile.mkdtemp(prefix="emolens-finetune-"))
    try:
        card = _export(model, base.with_(name=cfg.name or f"{base.name}-ft"), staging)
        after = {"publictest": score(staging, public, card), "feedback_heldout": score(staging, fb_held, card)}
        log.info("fine-tuned: PublicTest %s, held-back feedback %s", after["publictest"], after["feedback_heldout"])
        evaluation = _evaluation(before, after, cfg)
        if not evaluation["gate"]["passed"]:
            raise GateRefused(_refusal(evaluation, cfg))
        card = _card(
            card,
            base,
            sha256_file(base_dir / base.onnx_file),
            feedback,
            (fb_train, fb_held, fer_train),
            evaluation,
            cfg,
            losses,
        )
        out.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / card.onnx_file), out / card.onnx_file)
        card.save(out / "card.json")  # last: a folder with a card is a finished model
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if base.int8_file:  # the base read faces with an int8 graph: its successor gets one too, not a slower float
        from emolens.train.quantize import quantize_model

        card = quantize_model(out, out, cfg.data)
    return FinetuneResult(card, out, evaluation)


def _evaluation(before: dict[str, Any], after: dict[str, Any], cfg: FinetuneConfig) -> dict[str, Any]:
    drop = round(before["publictest"]["accuracy"] - after["publictest"]["accuracy"], 2)
    return {
        "publictest": {"before": before["publictest"], "after": after["publictest"]},
        "feedback_heldout": {"before": before["feedback_heldout"], "after": after["feedback_heldout"]},
        "gate": {"max_drop_points": cfg.max_drop, "publictest_drop_points": drop, "passed": drop <= cfg.max_drop},
    }


def _refusal(evaluation: dict[str, Any], cfg: FinetuneConfig) -> str:
    pt, fb = evaluation["publictest"], evaluation["feedback_heldout"]
    return (
        f"refused: the fine-tuned model loses {evaluation['gate']['publictest_drop_points']:.2f} points on "
        f"PublicTest ({pt['before']['accuracy']:.2f}% -> {pt['after']['accuracy']:.2f}%), more than the "
        f"{cfg.max_drop} allowed (held-back feedback {fb['before']['accuracy']:.2f}% -> {fb['after']['accuracy']:.2f}%)"
        "; nothing was written. Try a smaller --lr, fewer --epochs or a larger --mix"
    )


def _card(card, base, base_sha, feedback, parts, evaluation, cfg, losses) -> ModelCard:  # noqa: ANN001
    fb_train, fb_held, fer_train = parts
    pt = evaluation["publictest"]["after"]
    metrics = {
        "split": "test",
        "n": pt["n"],
        "accuracy": round(pt["accuracy"] / 100, 4),
        "macro_f1": round(pt["macro_f1"] / 100, 4),
        "finetune_evaluation": evaluation,
    }
    if base.metrics.get("weights"):
        metrics["weights"] = base.metrics["weights"]
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("base", "name", "threads")}
    train_config = {
        "finetune": {
            "base": {"name": base.name, "sha256": base_sha, "arch": base.arch},
            "feedback": {
                "crops": len(feedback.labels),
                "users": feedback.users,
                "train": len(fb_train),
                "heldout": len(fb_held),
                "per_class": dict(sorted(Counter(feedback.labels).items())),
            },
            "fer2013_train_mixed": len(fer_train),
            "epoch_losses": [round(v, 4) for v in losses],
            **settings,
        }
    }
    return card.with_(metrics=metrics, train_config=train_config)
