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

from emolens.core.card import ModelCard
from emolens.core.labels import EMOTIONS
from emolens.core.metrics import classification_metrics
from emolens.core.preprocess import preprocess
from emolens.core.tta import parse_tta, tta_views
from emolens.datasets import DataError, Split, read_dataset
from emolens.train import precision
from emolens.train.augment import BatchAugment
from emolens.train.config import TrainConfig
from emolens.train.models import create_model

log = logging.getLogger(__name__)


@dataclass
class Data:
    train: Split
    val: Split
    x_train: torch.Tensor | None  # (N, C, S, S) preprocessed, in-memory datasets only, on the training device
    x_val: torch.Tensor | None


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


def card_for(cfg: TrainConfig) -> ModelCard:
    """The card a model trained with `cfg` will ship with (before metrics/calibration)."""
    return ModelCard(arch=cfg.model, input_size=cfg.input_size, mean=(cfg.mean,), std=(cfg.std,),
                     tta=parse_tta(cfg.export_tta or cfg.eval_tta), train_config=cfg.to_dict())


def load_data(cfg: TrainConfig) -> Data:
    """Read the dataset once, pick train/val splits, preprocess in-memory splits once."""
    splits = read_dataset(cfg.data, cfg.layout, label_map=cfg.label_map)
    train = splits.get("train") or splits.get("all")
    if train is None:
        raise DataError(f"{cfg.data} has no train split (found: {', '.join(splits)})")
    val = splits.get(cfg.val_split)
    if val is None:
        rng = np.random.default_rng(cfg.seed)
        idx = rng.permutation(len(train))
        n_val = max(1, int(len(train) * cfg.val_fraction))
        log.info("no %r split: holding out %d of %d training images for validation", cfg.val_split, n_val, len(train))
        train, val = train.subset(np.sort(idx[n_val:])), train.subset(np.sort(idx[:n_val]), "val")
    if cfg.limit:
        train = train.subset(np.arange(min(cfg.limit, len(train))))
    card = card_for(cfg)
    xt = torch.from_numpy(preprocess(train.images, card)) if train.in_memory else None
    xv = torch.from_numpy(preprocess(val.images, card)) if val.in_memory else None
    log.info("train %d images, val %d images (%s)", len(train), len(val), "in memory" if xt is not None else "streamed")
    return Data(train, val, xt, xv)


class _Streamed(torch.utils.data.Dataset):
    """Decode + preprocess per item, for datasets that do not fit in memory."""

    def __init__(self, split: Split, card: ModelCard):
        self.split, self.card = split, card

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int):
        return torch.from_numpy(preprocess([self.split.images[i]], self.card)[0]), int(self.split.labels[i]), i


def batches(x: torch.Tensor | None, split: Split, cfg: TrainConfig, shuffle: bool, g: torch.Generator):
    """Yield (x (B, C, S, S), y (B,), index (B,)) batches from memory or through DataLoader workers.

    In-memory batches stay on x's device and are shuffled there (`g` lives on that device too),
    so no index crosses from the host per step on a GPU; streamed batches come on the CPU.
    """
    if x is not None:
        y = torch.from_numpy(split.labels).to(x.device)
        order = torch.randperm(len(y), generator=g, device=x.device) if shuffle else torch.arange(len(y), device=x.device)
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            yield x[idx], y[idx], idx
        return
    loader = torch.utils.data.DataLoader(_Streamed(split, card_for(cfg)), batch_size=cfg.batch_size,
                                         shuffle=shuffle, num_workers=cfg.workers, generator=g)
    yield from loader


def class_weights(labels: np.ndarray, mode: str) -> torch.Tensor | None:
    if mode == "none":
        return None
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(float).clip(min=1)
    w = counts.sum() / (len(counts) * counts)
    if mode == "sqrt":
        w = np.sqrt(w)
    elif mode != "balanced":
        raise ValueError(f"class_weights must be none, balanced or sqrt, got {mode!r}")
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor, smoothing: float, weight: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy against soft targets (mixup) with label smoothing and class weights."""
    k = logits.shape[1]
    target = target * (1 - smoothing) + smoothing / k
    logp = F.log_softmax(logits.float(), dim=1)
    loss = -(target * logp)
    if weight is not None:
        loss = loss * weight
    return loss.sum(1).mean()


def teacher_targets(cfg: TrainConfig, train: Split, out: Path) -> torch.Tensor | None:
    """(N, K) training targets mixing the labels with the teachers' soft labels, or None without teachers.

    The teachers (run folders or exported models) label the un-augmented training images once,
    with the TTA they ship with, and their logits are averaged; augmented views reuse those
    labels, so distillation costs one inference pass instead of a teacher forward per step.
    Their logits are cached in the run folder, so a resumed run neither recomputes them nor sees
    a teacher that changed in between.
    """
    if not cfg.teachers:
        return None
    from emolens.core.metrics import softmax
    from emolens.evaluation.evaluate import model_logits

    cache, meta_path = out / "teacher_logits.npy", out / "teacher_logits.json"
    meta = {"teachers": list(cfg.teachers), "n": len(train), "digest": _labels_digest(train)}
    if cache.is_file() and meta_path.is_file() and json.loads(meta_path.read_text()) == meta:
        logits = np.load(cache)
        log.info("teacher logits from %s", cache)
    else:
        all_logits = []
        for i, teacher in enumerate(cfg.teachers):
            log.info("teacher %d/%d: labelling %d training images with %s", i + 1, len(cfg.teachers), len(train), teacher)
            t0 = time.perf_counter()
            try:
                lg, info = model_logits(teacher, train)
            except (FileNotFoundError, ValueError) as e:
                raise DataError(f"teacher {teacher!r} could not be loaded: {e}") from e
            acc = float((lg.argmax(1) == train.labels).mean()) if len(train) else 0.0
            log.info("teacher %s (%s, TTA %s): training accuracy %.4f, %.0f s", teacher, info.get("arch"), info.get("tta"),
                     acc, time.perf_counter() - t0)
            all_logits.append(lg)
        logits = np.mean(all_logits, axis=0).astype(np.float32)
        np.save(cache, logits)
        meta_path.write_text(json.dumps(meta))
    probs = softmax(logits, cfg.distill_temperature)
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[train.labels]
    return torch.from_numpy((1 - cfg.distill_weight) * onehot + cfg.distill_weight * probs.astype(np.float32))


def _labels_digest(split: Split) -> str:
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(split.labels, dtype=np.int64).tobytes()).hexdigest()[:16]


def train_one_epoch(model, data: Data, cfg: TrainConfig, opt, sched, augment: BatchAugment, weight, g, epoch: int,
                    soft: torch.Tensor | None = None, device: torch.device = torch.device("cpu")) -> float:
    model.train()
    total, seen, t0 = torch.zeros((), device=device), 0, time.perf_counter()
    n_batches = math.ceil(len(data.train) / cfg.batch_size)
    bar = tqdm(batches(data.x_train, data.train, cfg, True, g), total=n_batches,
               desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", leave=False, dynamic_ncols=True)
    for i, (x, y, idx) in enumerate(bar):
        # augmentation runs where the batch is (and its generator): (B, C, S, S), (B, K)
        x, target = augment(x, y, soft[idx.to(soft.device)].to(x.device) if soft is not None else None)
        x, target = x.to(device), target.to(device)  # no-op unless a streamed batch came on the CPU
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.bf16 is True):
            logits = model(x)
        loss = soft_cross_entropy(logits, target, cfg.label_smoothing, weight)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.detach() * len(y)  # no .item() per step: it would make a GPU wait for every batch
        seen += len(y)
        if i % 20 == 0 or i == n_batches - 1:
            bar.set_postfix(loss=f"{total.item() / seen:.3f}", img_s=f"{seen / (time.perf_counter() - t0):.0f}")
    return total.item() / max(seen, 1)


@torch.no_grad()
def predict_logits(model, x: torch.Tensor | None, split: Split, cfg: TrainConfig, tta: str = "none") -> np.ndarray:
    """(N, K) logits, averaged over the test-time views of `tta` ('none', 'flip', 'flip,zoom,shift')."""
    model.eval()
    device = next(model.parameters()).device
    names = parse_tta(tta)
    bf16 = cfg.bf16 if isinstance(cfg.bf16, bool) else precision.resolve(cfg.bf16, cfg.channels_last, device).bf16
    out = []
    for xb, _, _ in batches(x, split, cfg, False, torch.Generator()):
        # the views are made by the runtime's own numpy code (core.tta), so they are the views it uses
        views = [torch.from_numpy(v).to(device) for v in tta_views(xb.cpu().numpy(), names)] if names else [xb]
        acc = 0
        for v in views:
            if cfg.channels_last:
                v = v.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                acc = acc + model(v).float()
        out.append((acc / len(views)).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), np.float32)


def build(cfg: TrainConfig, steps_per_epoch: int, device: torch.device = torch.device("cpu")):
    model = create_model(cfg.model, num_classes=len(EMOTIONS), in_chans=1, **cfg.model_args).to(device)
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


def prepare(cfg: TrainConfig) -> Setup:
    """Seed, pick the device and precision, load the data onto it, build model, optimizer and augmentation."""
    device = resolve_device(cfg.device)
    prec = precision.resolve(cfg.bf16, cfg.channels_last, device)
    cfg = replace(cfg, bf16=prec.bf16, channels_last=prec.channels_last)
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick the fastest kernels once
    data = load_data(cfg)
    data.x_train = data.x_train.to(device) if data.x_train is not None else None
    data.x_val = data.x_val.to(device) if data.x_val is not None else None
    model, opt, sched = build(cfg, math.ceil(len(data.train) / cfg.batch_size), device)
    # the generator lives where the batches are: on the training device for in-memory data,
    # on the CPU for streamed datasets (DataLoader shuffles there)
    g = torch.Generator(device=device if data.x_train is not None else "cpu").manual_seed(cfg.seed)
    weight = class_weights(data.train.labels, cfg.class_weights)
    return Setup(cfg, prec, device, data, model, opt, sched, g, BatchAugment(cfg.augment, len(EMOTIONS), g),
                 weight.to(device) if weight is not None else None)


def fit(cfg: TrainConfig, out: str | Path, resume: bool = False) -> dict:
    """Train (or resume) a run in folder `out`; returns the best validation metrics."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = prepare(cfg)
    device, data, model, opt, sched, g = s.device, s.data, s.model, s.opt, s.sched, s.g
    cfg.precision = s.precision.to_dict()  # config.yaml keeps what was asked (auto) and records what it chose
    cfg.save(out / "config.yaml")
    log.info("precision: %s%s on %s; %s", "bf16 autocast" if s.precision.bf16 else "float32",
             " + channels_last" if s.precision.channels_last else "", s.precision.device, s.precision.reason)
    soft = teacher_targets(cfg, data.train, out)
    soft = soft.to(device) if soft is not None else None
    history, start, best = [], 0, -1.0
    if resume and (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        _restore_generator(g, ck["generator"], cfg.seed + ck["epoch"] + 1)
        torch.set_rng_state(ck["torch_rng"])
        if device.type == "cuda" and ck.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ck["cuda_rng"], device)
        history, start, best = ck["history"], ck["epoch"] + 1, ck["best"]
        log.info("resumed %s at epoch %d (best val accuracy so far %.4f)", out, start + 1, best)
    where = s.precision.device
    log.info("training on %s", where)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        loss = train_one_epoch(model, data, s.cfg, opt, sched, s.augment, s.weight, g, epoch, soft=soft, device=device)
        train_s = time.perf_counter() - t0
        logits = predict_logits(model, data.x_val, data.val, s.cfg, cfg.eval_tta)
        m = classification_metrics(_softmax(logits), data.val.labels, EMOTIONS)
        row = {"epoch": epoch + 1, "train_loss": loss, "val_accuracy": m["accuracy"], "val_macro_f1": m["macro_f1"],
               "lr": sched.get_last_lr()[0], "train_seconds": train_s, "images_per_s": len(data.train) / train_s,
               "device": where, "bf16": s.precision.bf16}
        history.append(row)
        log.info("epoch %d/%d loss %.4f val_acc %.4f val_macro_f1 %.4f (%.0f s, %.0f img/s)", epoch + 1, cfg.epochs,
                 loss, m["accuracy"], m["macro_f1"], train_s, row["images_per_s"])
        if m["accuracy"] > best:
            best = m["accuracy"]
            torch.save({"model": model.state_dict(), "config": cfg.to_dict(), "epoch": epoch + 1, "metrics": row},
                       out / "best.pt.tmp")
            (out / "best.pt.tmp").replace(out / "best.pt")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "generator": g.get_state(), "torch_rng": torch.get_rng_state(), "config": cfg.to_dict(),
                    "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                    "epoch": epoch, "history": history, "best": best}, out / "last.pt.tmp")
        (out / "last.pt.tmp").replace(out / "last.pt")  # atomic: a crash never leaves half a checkpoint
        (out / "history.json").write_text(json.dumps(history, indent=1))
    return max(history, key=lambda r: r["val_accuracy"]) if history else {}


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


def member_runs(path: str | Path) -> list[Path]:
    """A run folder -> [it]; a folder of ensemble members (seed*/best.pt) -> the members, by seed."""
    path = Path(path)
    if (path / "best.pt").is_file():
        return [path]
    members = sorted((p.parent for p in path.glob("seed*/best.pt")), key=lambda p: (len(p.name), p.name))  # seed2 < seed10
    if not members:
        raise FileNotFoundError(f"{path / 'best.pt'} not found: is {path} a training run folder?")
    return members


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


def _softmax(logits: np.ndarray) -> np.ndarray:
    from emolens.core.metrics import softmax
    return softmax(logits)


def load_run(run_dir: str | Path, which: str = "best") -> tuple[torch.nn.Module, TrainConfig, dict]:
    """Model (eval mode, float32), config and checkpoint dict of a run folder."""
    path = Path(run_dir) / f"{which}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a training run folder?")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = TrainConfig.from_dict(ck["config"])
    model = create_model(cfg.model, num_classes=len(EMOTIONS), in_chans=1, **cfg.model_args)
    model.load_state_dict(ck["model"])
    return model.eval(), cfg, ck


def run_logits(run_dir: str | Path, split: Split, tta: str = "card") -> tuple[np.ndarray, dict]:
    """Logits of a run folder's best weights on a split (evaluation of training runs).

    A folder of ensemble members gives the mean of their logits, as its exported graph does.
    """
    all_logits, epochs = [], []
    for member in member_runs(run_dir):
        model, cfg, ck = load_run(member)
        views = ",".join(parse_tta((cfg.export_tta or cfg.eval_tta) if tta == "card" else tta)) or "none"
        x = torch.from_numpy(preprocess(split.images, card_for(cfg))) if split.in_memory else None
        all_logits.append(predict_logits(model, x, split, cfg, views))
        epochs.append(ck.get("epoch"))
    arch = cfg.model if len(epochs) == 1 else f"ensemble of {len(epochs)} x {cfg.model}"
    return np.mean(all_logits, axis=0), {"kind": "run", "path": str(run_dir), "arch": arch,
                                         "epoch": epochs[0] if len(epochs) == 1 else epochs, "tta": views,
                                         "temperature": 1.0}
