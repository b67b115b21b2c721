"""Loading finished runs: weights, config, and their logits on a split (evaluation, export, teachers)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emolens.core.labels import label_set
from emolens.core.preprocess import preprocess
from emolens.core.tta import parse_tta
from emolens.datasets import Split
from emolens.train.config import TrainConfig
from emolens.train.data import card_for
from emolens.train.loop import predict_logits
from emolens.train.models import create_model


def member_runs(path: str | Path) -> list[Path]:
    """A run folder -> [it]; a folder of ensemble members (seed*/best.pt) -> the members, by seed."""
    path = Path(path)
    if (path / "best.pt").is_file():
        return [path]
    members = sorted((p.parent for p in path.glob("seed*/best.pt")), key=lambda p: (len(p.name), p.name))  # seed2 < seed10
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
    return np.mean(all_logits, axis=0), {"kind": "run", "path": str(run_dir), "arch": arch,
                                         "epoch": epochs[0] if len(epochs) == 1 else epochs, "tta": views,
                                         "temperature": 1.0, "labels": label_set(cfg.classes)}
