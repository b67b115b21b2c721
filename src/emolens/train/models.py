"""Model registry: `create_model(name, num_classes=7, in_chans=1, **kwargs)`.

Models only do maths: (B, C, H, W) normalised input -> (B, num_classes) logits.
All work on any input size >= 32 thanks to global pooling.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str):
    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _REGISTRY[name] = fn
        return fn

    return deco


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def create_model(name: str, *, num_classes: int = 7, in_chans: int = 1, **kwargs) -> nn.Module:
    """Build a registered model; unknown names get a suggestion."""
    if name not in _REGISTRY:
        import difflib

        near = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"unknown model {name!r}{hint}; available: {', '.join(list_models())}")
    return _REGISTRY[name](num_classes=num_classes, in_chans=in_chans, **kwargs)


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class VGG(nn.Module):
    """Blocks of `convs` 3x3 conv-BN-ReLU, each followed by 2x2 max-pool; GAP head."""

    def __init__(
        self, widths=(48, 96, 192, 384), convs: int = 2, dropout: float = 0.4, num_classes: int = 7, in_chans: int = 1
    ):
        super().__init__()
        layers, cin = [], in_chans
        for w in widths:
            for _ in range(convs):
                layers.append(conv_bn(cin, w))
                cin = w
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, K)
        return self.head(self.features(x))


@register_model("vgg")
def vgg(*, num_classes: int = 7, in_chans: int = 1, width: int = 48, convs: int = 2, dropout: float = 0.4) -> nn.Module:
    """VGG family: widths width*(1, 2, 4, 8); width 48 is our ~2.6M-parameter baseline."""
    return VGG(tuple(width * m for m in (1, 2, 4, 8)), convs, dropout, num_classes, in_chans)


@register_model("simple_deep_cnn")
def simple_deep_cnn(*, num_classes: int = 7, in_chans: int = 1, dropout: float = 0.25) -> nn.Module:
    """Seed architecture: Conv32-64, 128 (5x5), 512, 512 blocks + Dense 256/512."""

    def block(cin, cout, k):
        return nn.Sequential(conv_bn(cin, cout, k), nn.MaxPool2d(2), nn.Dropout(dropout))

    return nn.Sequential(
        conv_bn(in_chans, 32),
        block(32, 64, 3),
        block(64, 128, 5),
        block(128, 512, 3),
        block(512, 512, 3),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(512, 256),
        nn.BatchNorm1d(256),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(256, 512),
        nn.BatchNorm1d(512),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(512, num_classes),
    )


class SEResidual(nn.Module):
    """Residual block with squeeze-excitation; stride 2 halves the map."""

    def __init__(self, cin: int, cout: int, stride: int = 1, reduction: int = 8):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, cout, 3, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        )
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(cout, max(cout // reduction, 8), 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(max(cout // reduction, 8), cout, 1),
            nn.Sigmoid(),
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return self.act(y * self.se(y) + self.skip(x))


@register_model("resemotenet")
def resemotenet(*, num_classes: int = 7, in_chans: int = 1, width: int = 64, dropout: float = 0.4) -> nn.Module:
    """Seed architecture: CNN stem + squeeze-excitation residual blocks."""
    w = width
    return nn.Sequential(
        conv_bn(in_chans, w),
        conv_bn(w, w),
        SEResidual(w, w),
        SEResidual(w, 2 * w, 2),
        SEResidual(2 * w, 4 * w, 2),
        SEResidual(4 * w, 8 * w, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(dropout),
        nn.Linear(8 * w, num_classes),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(cin, cout, 3, stride), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        )
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.skip(x))


@register_model("resnet18")
def resnet18(*, num_classes: int = 7, in_chans: int = 1, width: int = 64, dropout: float = 0.2) -> nn.Module:
    """ResNet-18 for 48x48: 3x3 stride-1 stem and no stem max-pool (from scratch)."""
    layers, cin = [conv_bn(in_chans, width)], width
    for i, mult in enumerate((1, 2, 4, 8)):
        cout = width * mult
        layers += [BasicBlock(cin, cout, 1 if i == 0 else 2), BasicBlock(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


@register_model("onnx")
def onnx_graph(*, num_classes: int = 7, in_chans: int = 1, path: str = "") -> nn.Module:
    """An exported model (a shipped name such as `fast`, a model folder, or a .onnx file) as a trainable module.

    Why: the shipped models have no training run left, only model.onnx; fine-tuning them on real-camera
    data starts here. The graph is the inference graph (batch norm folded, no dropout), so keep the
    learning rate low, and give the run the card's mean, std and input size.
    """
    from pathlib import Path

    import torch

    from emolens.train.onnx_torch import onnx_module

    if not path:
        raise ValueError("model onnx needs model_args: {path: NAME_OR_FILE} (e.g. fast)")
    file = Path(path)
    size = 48
    if file.suffix != ".onnx":
        from emolens.inference.model_store import load_card, resolve_model_dir

        folder = resolve_model_dir(path)
        card = load_card(folder)
        file, size = folder / card.onnx_file, card.input_size
    model = onnx_module(file, trainable=True).train()
    with torch.no_grad():
        k = model(torch.zeros(1, in_chans, size, size)).shape[-1]
    if k != num_classes:
        raise ValueError(f"{file} reads {k} classes, but this run trains {num_classes}")
    return model
