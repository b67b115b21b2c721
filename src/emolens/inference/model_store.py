"""Find a model folder by name ('default', 'fast') or path, and check its files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from emolens.core.card import CardError, ModelCard, sha256_file


def packaged_models_dir() -> Path:
    """src/emolens/models: the models shipped inside the package."""
    return Path(str(resources.files("emolens") / "models"))


def resolve_model_dir(model: str | Path) -> Path:
    """'default' -> the packaged model; a folder holding card.json; or a .onnx next to card.json."""
    p = Path(model)
    if p.is_file() and p.suffix == ".onnx":
        p = p.parent
    if p.is_dir() and (p / "card.json").is_file():
        return p
    named = packaged_models_dir() / str(model)
    if "/" not in str(model) and (named / "card.json").is_file():
        return named
    shipped = (
        sorted(d.name for d in packaged_models_dir().iterdir() if (d / "card.json").is_file())
        if packaged_models_dir().is_dir()
        else []
    )
    raise CardError(
        f"no model at {model!r}: give a folder with model.onnx + card.json"
        + (f", or one of the shipped models: {', '.join(shipped)}" if shipped else "")
    )


def load_card(model_dir: Path, verify: bool = True) -> ModelCard:
    """The card of a model folder; with verify, the ONNX files' sha256 (float, and int8 if any) must match."""
    card = ModelCard.load(model_dir / "card.json")
    onnx_path = model_dir / card.onnx_file
    if not onnx_path.is_file():
        raise CardError(f"{onnx_path} is missing (named by {model_dir / 'card.json'})")
    if verify and card.onnx_sha256 and sha256_file(onnx_path) != card.onnx_sha256:
        raise CardError(f"{onnx_path} does not match the sha256 in its card: the file is corrupt or was replaced")
    if card.int8_file:
        int8_path = model_dir / card.int8_file
        if not int8_path.is_file():
            raise CardError(f"{int8_path} is missing (named by {model_dir / 'card.json'} as its int8 graph)")
        if verify and card.int8_sha256 and sha256_file(int8_path) != card.int8_sha256:
            raise CardError(
                f"{int8_path} does not match the int8 sha256 in its card: the file is corrupt or was replaced"
            )
    return card
