"""Loading finished runs: weights, config, and their logits on a split (evaluation, export, teachers).

emolens.evaluation scores exported models on its own and a run through `run_logits`, which the
`evaluate` verb and `logits_of` here pass to it: evaluation itself imports nothing of train.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emolens.core.labels import label_set
from emolens.core.preprocess import preprocess
from emolens.core.tta import parse_tta, tta_views
from emolens.datasets import Split
from emolens.evaluation.evaluate import is_run_folder, model_logits
from emolens.train import precision
from emolens.train.config import TrainConfig
from emolens.train.inputs import batches, card_for
from emolens.train.models import create_model


def member_runs(path: str | Path) -> list[Path]:
    """A run folder -> [it]; a folder of ensemble members (seed*/best.pt) -> the members, by seed."""
    path = Path(path)
    if (path / "best.pt").is_file():
        return [path]
    members = sorted(
        (p.parent for p in path.glob("seed*/best.pt")), key=lambda p: (len(p.name), p.name)
    )  # seed2 < seed10
    if not members:
        raise FileNotFoundError(f"{path / 'best.pt'} not found: is {path} a training run folder?")
    return members


def load_run(run_dir: str | Path, which: str = "best") -> tuple[torch.nn.Module, TrainConfig, dict]:
    """Model (eval mode, float32), config and checkpoint dict of a run folder."""
    path = Path(run_dir) / f"{which}.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a training run folder?")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    cfg = TrainConfig.from_dict(ck["config"])
    model = create_model(cfg.model, num_classes=len(label_set(cfg.classes)), in_chans=1, **cfg.model_args)
    model.load_state_dict(ck["model"])
    return model.eval(), cfg, ck


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
    return np.concatenate(out) if out else np.zeros((0, len(label_set(cfg.classes))), np.float32)


def run_logits(run_dir: str | Path, split: Split, tta: str = "card") -> tuple[np.ndarray, dict]:
    """Logits of a run folder's best weights on a split (evaluation of training runs).

    A folder of ensemble members gives the mean of their logits, as its exported graph does.
    info["labels"] names the columns (the run's label set).
    """
    all_logits, epochs = [], []
    for member in member_runs(run_dir):
        model, cfg, ck = load_run(member)
        views = ",".join(parse_tta((cfg.export_tta or cfg.eval_tta) if tta == "card" else tta)) or "none"
        x = torch.from_numpy(preprocess(split.images, card_for(cfg))) if split.in_memory else None
        all_logits.append(predict_logits(model, x, split, cfg, views))
        epochs.append(ck.get("epoch"))
    arch = cfg.model if len(epochs) == 1 else f"ensemble of {len(epochs)} x {cfg.model}"
    return np.mean(all_logits, axis=0), {
        "kind": "run",
        "path": str(run_dir),
        "arch": arch,
        "epoch": epochs[0] if len(epochs) == 1 else epochs,
        "tta": views,
        "temperature": 1.0,
        "labels": label_set(cfg.classes),
    }


def logits_of(model: str | Path, split: Split, tta: str = "card") -> tuple[np.ndarray, dict[str, Any]]:
    """evaluation.model_logits for a training run folder or an exported model (teachers may be either)."""
    return model_logits(model, split, tta, logits=partial(run_logits, Path(model)) if is_run_folder(model) else None)
