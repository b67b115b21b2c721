"""Train, check and export LiteFace, our own face detector (see facedet_model and facedet_data).

A run folder holds `checkpoint.pt` (resumable), `history.jsonl` (losses and validation
recall per checkpoint) and, at the end, `liteface.onnx`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from emolens.train.facedet_compose import Composer
from emolens.train.facedet_data import Face, backgrounds, label_photos, split_sources
from emolens.train.facedet_model import LiteFace, adapt_weights, encode, fold_input_norm, loss

log = logging.getLogger(__name__)


@dataclass
class DetTrainConfig:
    data: Path  # a zip of face photos (facial-expressions.zip)
    out: Path
    steps: int = 6000
    batch: int = 32
    size: int = 256
    lr: float = 3e-3
    threads: int = 2
    seed: int = 0
    every: int = 250  # checkpoint and validate every this many steps
    val_fraction: float = 0.05
    limit: int | None = None  # photos read (tests use a few)
    val_pictures: int = 200  # composites of held-out photos scored at every checkpoint
    init: Path | None = None  # start from this checkpoint's weights (a new schedule, not a resume)
    crowd: float = 0.0  # share of training pictures that are crowds of small faces (6-32 px)
    colour: float = 0.0  # chance that a gray source photo is used with skin-toned faces
    stem: int = 16  # channels at stride 2 (16: the shape of the session-15/16 files)
    deep4: int = 0  # residual blocks added at stride 4 (0: as in the session-15/16 files)
    cache: Path | None = None


class _Stream(IterableDataset):
    def __init__(self, composer: Composer, seed: int):
        self.composer, self.seed = composer, seed

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, 0 if info is None else info.id, int(time.time() * 1000) % 2**31])
        while True:
            img, faces = self.composer(rng)
            heat, reg, mask = encode(faces, img.shape[:2])
            yield img[:, :, ::-1].transpose(2, 0, 1).astype(np.float32), heat, reg, mask


def validation_set(composer: Composer, n: int = 200, seed: int = 1234) -> list[tuple[np.ndarray, list[Face]]]:
    rng = np.random.default_rng(seed)
    return [composer(rng) for _ in range(n)]


def evaluate(model: LiteFace, items: list[tuple[np.ndarray, list[Face]]], threshold: float = 0.5) -> dict[str, float]:
    """Recall (IoU >= 0.4) of true faces of at least 10 px, and false faces per picture."""
    from emolens.inference.detectors.centerface import decode

    model.eval()
    found = total = false = 0
    with torch.no_grad():
        for img, faces in items:
            x = torch.from_numpy(img[:, :, ::-1].transpose(2, 0, 1).astype(np.float32))[None]
            logit, size, off, lms = model(x)
            heat = torch.sigmoid(logit)
            dets = decode(heat[0, 0].numpy(), size[0].numpy(), off[0].numpy(), lms[0].numpy(), threshold, img.shape[:2])
            truth = [f.box for f in faces if not f.ignore and min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= 10]
            ignored = [f.box for f in faces if f.ignore]
            for d, hit in zip(dets, match_faces(dets, truth)):
                x0, y0, w, h = d.box
                if hit is not None:
                    found += 1
                elif min(w, h) >= 10 and not any(
                    b[0] - 4 <= x0 + w / 2 <= b[2] + 4 and b[1] - 4 <= y0 + h / 2 <= b[3] + 4 for b in ignored
                ):
                    false += 1
            total += len(truth)
    model.train()
    return {"recall": found / max(total, 1), "false_per_image": false / max(len(items), 1), "faces": total}


def match_faces(dets: list, truth: list[np.ndarray], min_iou: float = 0.4) -> list[int | None]:
    """For each detection in turn, the true face (x0, y0, x1, y1) it found, or None: best IoU among those left."""
    from emolens.inference.tracking import box_iou

    free, out = list(range(len(truth))), []
    for d in dets:
        ious = {i: box_iou(d.box, (t[0], t[1], t[2] - t[0], t[3] - t[1])) for i in free for t in (truth[i],)}
        best = max(ious, key=ious.__getitem__, default=None)
        hit = best if best is not None and ious[best] >= min_iou else None
        if hit is not None:
            free.remove(hit)
        out.append(hit)
    return out


def train(cfg: DetTrainConfig, resume: bool = False) -> Path:
    """Train (or resume) to cfg.steps; returns the exported ONNX file."""
    from tqdm import tqdm

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    cfg.out.mkdir(parents=True, exist_ok=True)
    cache = cfg.cache or cfg.out
    with tqdm(desc="labelling photos with CenterFace", unit="photo", mininterval=5) as bar:
        sources = label_photos(cfg.data, cache, limit=cfg.limit, progress=lambda _i: bar.update(1))
    train_src, val_src = split_sources(sources, cfg.val_fraction, cfg.seed)
    bgs = backgrounds()
    log.info("%d photos with faces (%d for validation), %d backgrounds", len(sources), len(val_src), len(bgs))
    val_items = validation_set(Composer(val_src, bgs, size=cfg.size), cfg.val_pictures)

    ckpt = cfg.out / "checkpoint.pt"
    model, saved = _model(cfg, ckpt, resume)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05)
    step, sched = _start(cfg, model, opt, sched, saved)
    loader = DataLoader(
        _Stream(Composer(train_src, bgs, size=cfg.size, crowd=cfg.crowd, colour=cfg.colour), cfg.seed + step),
        batch_size=cfg.batch,
        num_workers=1,
    )
    history = cfg.out / "history.jsonl"
    model.train()
    running: dict[str, float] = {}
    with tqdm(total=cfg.steps, initial=step, desc="training LiteFace", unit="step", mininterval=10) as bar:
        for x, heat, reg, mask in loader:
            if step >= cfg.steps:
                break
            total, parts = loss(model(x), heat, reg, mask)
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            for k, v in parts.items():
                running[k] = 0.98 * running.get(k, v) + 0.02 * v
            if step % cfg.every == 0 or step == cfg.steps:
                metrics = evaluate(model, val_items)
                row = {"step": step, "lr": sched.get_last_lr()[0], **running, **metrics}
                bar.set_postfix(recall=f"{metrics['recall']:.3f}", false=f"{metrics['false_per_image']:.2f}")
                log.info("%s", row)
                with history.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                state = {
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "sched": sched.state_dict(),
                    "raw_input": True,
                    "arch": model.arch,
                }
                torch.save({**state, "step": step}, ckpt.with_suffix(".tmp"))
                ckpt.with_suffix(".tmp").replace(ckpt)  # never a half-written checkpoint
    return export(model, cfg.out / "liteface.onnx")


def _model(cfg: DetTrainConfig, ckpt: Path, resume: bool) -> tuple[LiteFace, dict | None]:
    """(a new LiteFace, the checkpoint to resume from, read once): a resumed run keeps its own shape."""
    if not resume:
        return LiteFace(stem=cfg.stem, deep4=cfg.deep4), None
    if not ckpt.is_file():
        raise FileNotFoundError(f"nothing to resume: {ckpt} does not exist")
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)
    arch = saved.get("arch", {"stem": 16, "deep4": 0})
    if arch != {"stem": cfg.stem, "deep4": cfg.deep4}:
        log.warning("resuming in the run's own shape %s; --stem/--deep4 are ignored", arch)
    return LiteFace(**arch), saved


def _start(
    cfg: DetTrainConfig,
    model: LiteFace,
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.OneCycleLR,
    state: dict | None,
) -> tuple[int, torch.optim.lr_scheduler.OneCycleLR]:
    """(first step, schedule): a resumed checkpoint (`state`), --init weights, or a fresh start."""
    if state is None:
        if cfg.init is not None:
            start = _weights(torch.load(cfg.init, map_location="cpu", weights_only=False))
            model.load_state_dict(adapt_weights(start, model))
            log.info("starting from the weights of %s", cfg.init)
        return 0, sched
    model.load_state_dict(_weights(state))
    opt.load_state_dict(state["opt"])
    step = int(state["step"])
    log.info("resumed at step %d", step)
    if state["sched"].get("total_steps") == cfg.steps:
        sched.load_state_dict(state["sched"])
        return step, sched
    # --steps changed: the same one-cycle schedule stretched to the new length, from here on
    return step, torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05, last_epoch=step - 1
    )


def _weights(state: dict) -> dict[str, torch.Tensor]:
    """A checkpoint's model weights; those of the first runs (session 15) normalised their input."""
    return state["model"] if state.get("raw_input") else fold_input_norm(state["model"])


def export(model: LiteFace, path: Path) -> Path:
    """ONNX with free height and width (multiples of 32), the same four outputs as CenterFace."""
    model.eval()
    model.export_mode = True
    try:
        torch.onnx.export(
            model,
            (torch.zeros(1, 3, 480, 640),),
            str(path),
            input_names=["input"],
            output_names=["heat", "scale", "offset", "landmarks"],
            dynamic_axes={"input": {0: "n", 2: "h", 3: "w"}},
            opset_version=17,
            dynamo=False,
        )
    finally:
        model.export_mode = False
    return path
