"""The model card: everything needed to run a model, stored next to it as card.json.

Nothing about a model is inferred from its file name: labels, input geometry,
normalisation, crop margin, calibration and provenance all live here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from emolens.core.labels import EMOTIONS
from emolens.core.tta import TTA_NAMES

CARD_VERSION = 1
INTERPOLATIONS = ("area", "linear", "cubic", "nearest")
PRECISIONS = ("auto", "float", "int8")  # which graph of a model folder reads faces (ModelCard.graph)


class CardError(ValueError):
    """A card.json that is missing, malformed or does not match its model."""


@dataclass(frozen=True)
class ModelCard:
    """Self-description of an exported model (see docs in README, 'Model card')."""

    name: str = "emolens"
    arch: str = "vgg"
    labels: tuple[str, ...] = EMOTIONS
    input_size: int = 48  # square side, pixels
    channels: int = 1  # 1 = grayscale, 3 = RGB
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.25,)
    interpolation: str = "area"
    crop_margin: float = 0.0  # extra border around a detector box, fraction of its side
    align: bool = True  # rotate so the eyes are level before cropping
    temperature: float = 1.0  # logits are divided by this before softmax
    uncertain_below: float = 0.4  # top probability under this -> "uncertain"
    tta: tuple[str, ...] = ()  # test-time augmentation the runtime applies ("flip", "zoom", "shift"; see core/tta.py)
    metrics: dict[str, Any] = field(default_factory=dict)
    train_config: dict[str, Any] = field(default_factory=dict)
    onnx_file: str = "model.onnx"
    onnx_sha256: str = ""
    # An int8 graph of the same model beside onnx_file (`emolens export MODEL --int8 --out MODEL`); "" when
    # there is none. The runtime reads faces with it when present (precision "auto"); training, fine-tuning
    # and teachers always start from the float graph.
    int8_file: str = ""
    int8_sha256: str = ""
    version: int = CARD_VERSION

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels) or not self.labels:
            raise CardError(f"card labels must be unique and non-empty, got {self.labels}")
        if self.channels not in (1, 3):
            raise CardError(f"card channels must be 1 or 3, got {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise CardError("card mean/std need one value per channel")
        if any(s <= 0 for s in self.std):
            raise CardError("card std values must be positive")
        if self.interpolation not in INTERPOLATIONS:
            raise CardError(f"card interpolation must be one of {INTERPOLATIONS}")
        if self.input_size < 8:
            raise CardError(f"card input_size too small: {self.input_size}")
        if not set(self.tta) <= set(TTA_NAMES):
            raise CardError(f"card tta must be a subset of {TTA_NAMES}, got {self.tta}")
        if self.temperature <= 0:
            raise CardError("card temperature must be positive")
        if self.int8_file and self.int8_file == self.onnx_file:
            raise CardError("card int8_file must differ from onnx_file (the float graph)")

    def graph(self, precision: str = "auto") -> tuple[str, str]:
        """(file, sha256 from the card or "") of the graph to run: "auto" is int8 when the card has one.

        Readings record the sha256 of the graph that made them, so int8 and float readings stay apart."""
        if precision not in PRECISIONS:
            raise CardError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision == "float" or (precision == "auto" and not self.int8_file):
            return self.onnx_file, self.onnx_sha256
        if not self.int8_file:
            raise CardError(
                f"model {self.name!r} has no int8 graph: use precision float, or write one with "
                "`emolens export MODEL_FOLDER --int8 --out MODEL_FOLDER --data FER2013`"
            )
        return self.int8_file, self.int8_sha256

    def float_only(self) -> ModelCard:
        """This card without its int8 graph: for a model derived from this one (fine-tuned, cut, copied)."""
        return replace(self, int8_file="", int8_sha256="")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> ModelCard:
        """A copy with some fields changed (cards are immutable)."""
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise CardError(f"card.json has unknown fields: {sorted(unknown)}")
        kw = dict(data)
        for key in ("labels", "mean", "std", "tta"):
            if key in kw:
                kw[key] = tuple(kw[key])
        try:
            return cls(**kw)
        except TypeError as exc:
            raise CardError(f"card.json is malformed: {exc}") from None

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        path = Path(path)
        if not path.is_file():
            raise CardError(f"no model card at {path}: a model folder needs card.json next to model.onnx")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CardError(f"{path} is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
