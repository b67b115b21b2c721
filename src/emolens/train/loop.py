"""The training loop, readable top to bottom: prepare data, fit, checkpoint, resume.

A run is a folder: config.yaml, train.log, history.json, last.pt (resume),
best.pt (best validation accuracy), and the reports `evaluate` adds.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from emolens.core.labels import label_set
from emolens.core.metrics import classification_metrics, softmax
from emolens.train import precision
from emolens.train.augment import BatchAugment
from emolens.train.config import TrainConfig
from emolens.train.data import Data, batches, load_data
from emolens.train.models import create_model
from emolens.train.runs import predict_logits
from emolens.train.targets import sample_onehot

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """'auto' -> the GPU when torch sees one, else the CPU; 'cuda' without a GPU is a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ValueError(f"device must be auto, cpu or cuda[:N], got {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was asked for, but this torch sees no CUDA GPU: use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda[:N], got {name!r}")
    return dev


def class_weights(labels: np.ndarray, mode: str, k: int = 7) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=k).astype(float).clip(min=1)
    w = counts.sum() / (len(counts) * counts)
    if mode == "sqrt":
        w = np.sqrt(w)
    elif mode != "balanced":
        raise ValueError(f"class_weights must be none, balanced or sqrt, got {mode!r}")
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def soft_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    smoothing: float,
    weight: torch.Tensor | None,
    sample_weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cross-entropy against soft targets (FER+ votes, teachers, mixup) with label smoothing,
    class weights and per-image weights (weakly labelled extra data counts less)."""
    k = logits.shape[1]
    target = target * (1 - smoothing) + smoothing / k
    logp = F.log_softmax(logits.float(), dim=1)
    loss = -(target * logp)
    if weight is not None:
        loss = loss * weight
    per_image = loss.sum(1)
    if sample_weight is None:
        return per_image.mean()
    return (per_image * sample_weight).sum() / sample_weight.sum().clamp(min=1e-6)


def batch_inputs(data: Data, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, idx: torch.Tensor, g: torch.Generator):
    """A batch's input (the runtime's crop instead, with probability cfg.recrop) and its (B, K) target."""
    if data.x_recrop is not None and cfg.recrop > 0:
        use = torch.rand(len(idx), generator=g, device=g.device) < cfg.recrop
        x = torch.where(use.to(x.device).view(-1, 1, 1, 1), data.x_recrop[idx.to(data.x_recrop.device)].to(x.device), x)
    if data.targets is None:
        return x, None
    t = data.targets[idx.to(data.targets.device)].to(x.device)
    if cfg.labels == "ferplus" and cfg.ferplus_mode == "probability":
        t = sample_onehot(t, g) if t.device == g.device else sample_onehot(t.to(g.device), g).to(x.device)
    return x, t


def train_one_epoch(
    model,
    data: Data,
    cfg: TrainConfig,
    opt,
    sched,
    augment: BatchAugment,
    weight,
    g,
    epoch: int,
    device: torch.device = torch.device("cpu"),
    teacher=None,
) -> float:
    model.train()
    total, seen, t0 = torch.zeros((), device=device), 0, time.perf_counter()
    n_batches = math.ceil(len(data.train) / cfg.batch_size)
    bar = tqdm(
        batches(data.x_train, data.train, cfg, True, g),
        total=n_batches,
        desc=f"epoch {epoch + 1}/{cfg.epochs}",
        unit="batch",
        leave=False,
        dynamic_ncols=True,
    )
    for i, (x, y, idx) in enumerate(bar):
        x, t = batch_inputs(data, cfg, x, y, idx, g)
        # augmentation runs where the batch is (and its generator): (B, C, S, S), (B, K)
        x, target = augment(x, y, t)
        x, target = x.to(device), target.to(device)  # no-op unless a streamed batch came on the CPU
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        if teacher is not None:  # online distillation: the teacher labels this very view
            target = (1 - cfg.distill_weight) * target + cfg.distill_weight * teacher(x)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16 is True):
            logits = model(x)
        sw = data.weights[idx.to(data.weights.device)].to(device) if data.weights is not None else None
        loss = soft_cross_entropy(logits, target, cfg.label_smoothing, weight, sw)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.detach() * len(y)  # no .item() per step: it would make a GPU wait for every batch
        seen += len(y)
        if i % 20 == 0 or i == n_batches - 1:
            bar.set_postfix(loss=f"{total.item() / seen:.3f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    return total.item() / max(seen, 1)


def build(cfg: TrainConfig, steps_per_epoch: int, device: torch.device = torch.device("cpu")):
    model = create_model(cfg.model, num_classes=len(label_set(cfg.classes)), in_chans=1, **cfg.model_args).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    elif cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=cfg.lr)
    else:
        raise ValueError(f"optimizer must be sgd or adamw, got {cfg.optimizer!r}")
    total = cfg.epochs * steps_per_epoch
    if cfg.schedule == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total, pct_start=cfg.warmup_pct)
    elif cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    else:
        raise ValueError(f"schedule must be onecycle or cosine, got {cfg.schedule!r}")
    return model, opt, sched


@dataclass
class Setup:
    """What a run trains with, made once by `prepare` (also used to time a run before it starts)."""

    cfg: TrainConfig  # the run's config with bf16 / channels_last resolved for this device (train with this one)
    precision: precision.Precision
    device: torch.device
    data: Data
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    g: torch.Generator  # drives the shuffling and the augmentation
    augment: BatchAugment
    weight: torch.Tensor | None  # class weights of the loss


def prepare(cfg: TrainConfig, out: Path | None = None) -> Setup:
    """Seed, pick the device and precision, load the data onto it, build model, optimizer and augmentation.

    `out` (the run folder) caches teacher labels; without it (timing a run) teachers are not asked.
    """
    device = resolve_device(cfg.device)
    prec = precision.resolve(cfg.bf16, cfg.channels_last, device)
    cfg = replace(cfg, bf16=prec.bf16, channels_last=prec.channels_last)
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick the fastest kernels once
    data = load_data(cfg, out).to(device)
    model, opt, sched = build(cfg, math.ceil(len(data.train) / cfg.batch_size), device)
    # the generator lives where the batches are: on the training device for in-memory data,
    # on the CPU for streamed datasets (DataLoader shuffles there)
    g = torch.Generator(device=device if data.x_train is not None else "cpu").manual_seed(cfg.seed)
    weight = class_weights(data.train.labels, cfg.class_weights, len(label_set(cfg.classes)))
    augment = BatchAugment(cfg.augment, len(label_set(cfg.classes)), g, mean=cfg.mean, std=cfg.std)
    return Setup(
        cfg, prec, device, data, model, opt, sched, g, augment, weight.to(device) if weight is not None else None
    )


def fit(cfg: TrainConfig, out: str | Path, resume: bool = False) -> dict:
    """Train (or resume) a run in folder `out`; returns the best validation metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = prepare(cfg, out)
    cfg.precision = s.precision.to_dict()  # config.yaml keeps what was asked (auto) and records what it chose
    cfg.save(out / "config.yaml")
    log.info(
        "precision: %s%s on %s; %s",
        "bf16 autocast" if s.precision.bf16 else "float32",
        " + channels_last" if s.precision.channels_last else "",
        s.precision.device,
        s.precision.reason,
    )
    teacher = None
    if cfg.teachers and cfg.teacher_online:
        from emolens.train.teacher import OnlineTeacher

        teacher = OnlineTeacher(
            cfg.teachers, label_set(cfg.classes), s.device, cfg.distill_temperature, s.cfg.channels_last
        )
    resuming = resume and (out / "last.pt").exists()
    if cfg.init and not resuming:
        initialise(s.model, cfg.init)
    history, start, best = _resumed(s, cfg, out) if resuming else ([], 0, -1.0)
    log.info("training on %s", s.precision.device)
    for epoch in range(start, cfg.epochs):
        row = _epoch(s, cfg, epoch, teacher)
        history.append(row)
        if selection_score(row, cfg.select_on) > best:
            best = selection_score(row, cfg.select_on)
            torch.save(
                {"model": s.model.state_dict(), "config": cfg.to_dict(), "epoch": epoch + 1, "metrics": row},
                out / "best.pt.tmp",
            )
            (out / "best.pt.tmp").replace(out / "best.pt")
        _save_last(s, cfg, out, epoch, history, best)
        (out / "history.json").write_text(json.dumps(history, indent=1))
    return max(history, key=lambda r: selection_score(r, cfg.select_on)) if history else {}


def _epoch(s: Setup, cfg: TrainConfig, epoch: int, teacher) -> dict:
    """One epoch of training, then validation: the epoch's row of history.json."""
    t0 = time.perf_counter()
    loss = train_one_epoch(
        s.model, s.data, s.cfg, s.opt, s.sched, s.augment, s.weight, s.g, epoch, device=s.device, teacher=teacher
    )
    train_s = time.perf_counter() - t0
    row = {
        "epoch": epoch + 1,
        "train_loss": loss,
        **validate(s.model, s.data, s.cfg),
        "lr": s.sched.get_last_lr()[0],
        "train_seconds": train_s,
        "images_per_s": len(s.data.train) / train_s,
        "device": s.precision.device,
        "bf16": s.precision.bf16,
    }
    log.info(
        "epoch %d/%d loss %.4f %s (%.0f s, %.0f img/s)",
        epoch + 1,
        cfg.epochs,
        loss,
        " ".join(f"{k} {v:.4f}" for k, v in row.items() if k.startswith("val_")),
        train_s,
        row["images_per_s"],
    )
    return row


def initialise(model: torch.nn.Module, source: str | Path) -> None:
    """Weights from a run folder's best.pt (or a .pt file) into `model`: fine-tuning a trained run.

    Why strict: a different architecture, width or number of classes would silently train from a
    half-loaded model; the error names what differs instead.
    """
    path = Path(source)
    path = path / "best.pt" if path.is_dir() else path
    if not path.is_file():
        raise ValueError(f"init: {path} does not exist (give a run folder with best.pt, or a .pt file)")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    state = ck.get("model", ck) if isinstance(ck, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"init: {path} holds no model weights")
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or shapes:
        raise ValueError(
            f"init: {path} does not fit this model (architecture, width or classes differ): "
            f"missing {missing[:3]}, unexpected {unexpected[:3]}, other shapes {shapes[:3]}"
        )
    model.load_state_dict(state)
    log.info("initialised from %s (epoch %s)", path, ck.get("epoch", "?"))


def _resumed(s: Setup, cfg: TrainConfig, out: Path) -> tuple[list[dict], int, float]:
    """Model, optimiser, schedule and random states from out/last.pt: (history, next epoch, best score)."""
    ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    s.model.load_state_dict(ck["model"])
    s.opt.load_state_dict(ck["optimizer"])
    s.sched.load_state_dict(ck["scheduler"])
    _restore_generator(s.g, ck["generator"], cfg.seed + ck["epoch"] + 1)
    torch.set_rng_state(ck["torch_rng"])
    if s.device.type == "cuda" and ck.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(ck["cuda_rng"], s.device)
    log.info("resumed %s at epoch %d (best val accuracy so far %.4f)", out, ck["epoch"] + 2, ck["best"])
    return ck["history"], ck["epoch"] + 1, ck["best"]


def _save_last(s: Setup, cfg: TrainConfig, out: Path, epoch: int, history: list[dict], best: float) -> None:
    """last.pt: everything a resumed run needs, written atomically (a crash never leaves half a checkpoint)."""
    torch.save(
        {
            "model": s.model.state_dict(),
            "optimizer": s.opt.state_dict(),
            "scheduler": s.sched.state_dict(),
            "generator": s.g.get_state(),
            "torch_rng": torch.get_rng_state(),
            "config": cfg.to_dict(),
            "cuda_rng": torch.cuda.get_rng_state(s.device) if s.device.type == "cuda" else None,
            "epoch": epoch,
            "history": history,
            "best": best,
        },
        out / "last.pt.tmp",
    )
    (out / "last.pt.tmp").replace(out / "last.pt")


def validate(model, data: Data, cfg: TrainConfig) -> dict[str, float]:
    """Validation figures of one epoch: FER2013 labels, the FER+ majority and the runtime's crops when known."""
    logits = predict_logits(model, data.x_val, data.val, cfg, cfg.eval_tta)
    names = label_set(cfg.classes)
    m = classification_metrics(softmax(logits), data.val.labels, names)
    row = {"val_accuracy": m["accuracy"], "val_macro_f1": m["macro_f1"]}
    if data.val_ferplus is not None:
        has = data.val_ferplus >= 0
        row["val_ferplus_accuracy"] = float((logits[has].argmax(1) == data.val_ferplus[has]).mean())
    if data.x_val_recrop is not None:
        lr = predict_logits(model, data.x_val_recrop, data.val, cfg, cfg.eval_tta)
        row["val_recrop_accuracy"] = float((lr.argmax(1) == data.val.labels).mean())
    return row


def selection_score(row: dict, select_on: str) -> float:
    """The figure the best epoch is chosen by: FER2013 accuracy, FER+ majority accuracy, or their mean."""
    if select_on == "fer2013" or "val_ferplus_accuracy" not in row:
        return row["val_accuracy"]
    if select_on == "ferplus":
        return row["val_ferplus_accuracy"]
    return (row["val_accuracy"] + row["val_ferplus_accuracy"]) / 2


def fit_members(cfg: TrainConfig, out: str | Path) -> list[dict]:
    """One run per seed of `cfg.ensemble_seeds` in out/seed<k>; `emolens export out` averages them.

    Running it again continues: finished members are kept, a stopped one resumes.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg.save(out / "config.yaml")
    results = []
    for i, seed in enumerate(cfg.ensemble_seeds):
        member_cfg = replace(cfg, seed=seed, ensemble_seeds=[])
        member = out / f"seed{seed}"
        done = json.loads((member / "history.json").read_text()) if (member / "history.json").is_file() else []
        if len(done) >= cfg.epochs and (member / "best.pt").is_file():
            log.info("member %d/%d (%s) already trained", i + 1, len(cfg.ensemble_seeds), member)
            results.append(max(done, key=lambda r: r["val_accuracy"]))
            continue
        log.info("member %d/%d: seed %d -> %s", i + 1, len(cfg.ensemble_seeds), seed, member)
        results.append(fit(member_cfg, member, resume=(member / "last.pt").exists()))
    return results


def log_to_run(out: Path) -> None:
    """Copy every log line of this process into the run folder's train.log, which travels with the run."""
    out.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


def _restore_generator(g: torch.Generator, state: torch.Tensor, fallback_seed: int) -> None:
    """Resume the data/augmentation stream; a run moved between CPU and GPU gets a fresh one."""
    try:
        g.set_state(state)
    except RuntimeError:
        log.warning("the checkpoint's random stream belongs to another device: reseeding with %d", fallback_seed)
        g.manual_seed(fallback_seed)
