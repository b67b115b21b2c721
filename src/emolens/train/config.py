"""Training configuration: defaults, YAML loading and CLI overrides, saved with every run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from emolens.train.augment import AugmentConfig
from emolens.train.precision import parse_bf16


@dataclass
class TrainConfig:
    data: str = ""
    layout: str = "auto"
    label_map: str | None = None
    val_split: str = "test"  # PublicTest; when absent, val_fraction of train is held out
    val_fraction: float = 0.1
    model: str = "vgg"
    model_args: dict[str, Any] = field(default_factory=dict)
    input_size: int = 48
    mean: float = 0.5
    std: float = 0.25
    epochs: int = 45
    batch_size: int = 128
    optimizer: str = "sgd"  # sgd (nesterov) | adamw
    lr: float = 0.05  # max lr of the schedule
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # onecycle | cosine
    warmup_pct: float = 0.2
    labels: str = "fer2013"  # fer2013 (one tagger) | ferplus (ten taggers' votes, ferplus.csv next to the data)
    ferplus_mode: str = "crossentropy"  # majority | crossentropy (soft) | probability (sampled) | mixed
    ferplus_weight: float = 0.5  # mixed: share of FER2013's own label in the target
    ferplus_votes: str = ""  # votes CSV; empty: ferplus.csv beside the dataset
    classes: int = 7  # 7, or 8 with contempt (FER+)
    select_on: str = "fer2013"  # best epoch by validation accuracy on: fer2013 | ferplus (majority) | mean of both
    recrop: float = 0.0  # probability of training on the runtime's own re-made crop of an image (0 = never)
    extra_data: list[dict[str, Any]] = field(default_factory=list)  # weakly labelled photo sets (see train/extra.py)
    label_smoothing: float = 0.1
    class_weights: str = "none"  # none | balanced | sqrt
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # none | flip | a comma list of flip, zoom, shift: how validation accuracy is measured (best-epoch choice)
    eval_tta: str = "flip"
    export_tta: str = ""  # TTA written in the exported card, so the runtime applies it; empty: eval_tta
    ensemble_seeds: list[int] = field(default_factory=list)  # 2+ seeds: one member run per seed in OUT/seed<k>
    init: str = ""  # start from the weights of this run folder (its best.pt) or .pt file: fine-tuning
    teachers: list[str] = field(default_factory=list)  # run folders or exported models (e.g. default): distillation
    distill_weight: float = 0.5  # share of the teachers' soft labels in each training target (with teachers)
    distill_temperature: float = 1.0  # softmax temperature of the teachers' logits
    teacher_online: bool = False  # ask the teachers on every augmented view (costs a teacher forward per step)
    bf16: bool | str = "auto"  # auto: bf16 autocast only where the CPU/GPU runs it natively | true | false (forced)
    channels_last: bool = True
    precision: dict[str, Any] = field(
        default_factory=dict
    )  # written by the run: what auto chose, why, on which CPU/GPU
    device: str = "auto"  # auto (a CUDA GPU when torch sees one, else the CPU) | cpu | cuda[:N]
    threads: int = 0  # 0 = torch default
    workers: int = 2  # DataLoader workers, streaming datasets only
    seed: int = 0
    limit: int = 0  # use only the first N training images (smoke tests)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))  # tuples -> lists, YAML-safe

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))} (known: {', '.join(sorted(names))})")
        data = dict(data)
        aug = data.pop("augment", None) or {}
        if isinstance(aug, dict):
            anames = {f.name for f in fields(AugmentConfig)}
            bad = set(aug) - anames
            if bad:
                raise ValueError(f"unknown augment keys: {', '.join(sorted(bad))} (known: {', '.join(sorted(anames))})")
            if "erase_area" in aug:
                aug["erase_area"] = tuple(aug["erase_area"])
            aug = AugmentConfig(**aug)
        cfg = cls(augment=aug, **data)
        cfg.bf16 = parse_bf16(cfg.bf16)
        if not 0.0 <= cfg.distill_weight <= 1.0:
            raise ValueError(f"distill_weight must be between 0 and 1, got {cfg.distill_weight}")
        if cfg.distill_temperature <= 0:
            raise ValueError(f"distill_temperature must be positive, got {cfg.distill_temperature}")
        if isinstance(cfg.teachers, str):
            cfg.teachers = [cfg.teachers]
        if cfg.labels not in ("fer2013", "ferplus"):
            raise ValueError(f"labels must be fer2013 or ferplus, got {cfg.labels!r}")
        if cfg.classes not in (7, 8):
            raise ValueError(f"classes must be 7 or 8 (with contempt), got {cfg.classes}")
        if cfg.select_on not in ("fer2013", "ferplus", "mean"):
            raise ValueError(f"select_on must be fer2013, ferplus or mean, got {cfg.select_on!r}")
        if not 0.0 <= cfg.recrop <= 1.0:
            raise ValueError(f"recrop must be a probability between 0 and 1, got {cfg.recrop}")
        return cfg

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"config file {path} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"config file {path} must hold a mapping of keys to values")
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
