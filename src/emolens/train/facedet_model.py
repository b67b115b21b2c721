"""A small anchor-free face detector with CenterFace's outputs, so one decoder reads both.

Why this shape: a 640x480 frame must cost a few milliseconds on two CPU cores. Depthwise
separable convolutions down to stride 32 see big faces, a feature pyramid brings that back to
stride 4 where small faces are found, and the four outputs (heatmap, log-size, offset,
landmarks) mean exactly what CenterFace's do (emolens.inference.detectors.centerface.decode).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from emolens.train.facedet_data import Face

STRIDE = 4


def _cbr(i: int, o: int, k: int = 3, s: int = 1, g: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


def _sep(i: int, o: int, s: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(_cbr(i, i, k, s, g=i), _cbr(i, o, 1))


class _Residual(nn.Module):
    """x + BN(pointwise(ReLU(BN(depthwise(x))))): starts as the identity (last BN scale 0), so
    a trained LiteFace grown by such a block detects exactly as before on its first step."""

    def __init__(self, c: int, k: int = 5):
        super().__init__()
        self.dw = _cbr(c, c, k, 1, g=c)
        self.pw = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
        nn.init.zeros_(self.pw[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pw(self.dw(x))


class LiteFace(nn.Module):
    """RGB 0..255 (N, 3, H, W), H and W multiples of 32 -> heat (sigmoid), log-size, offset, landmarks.

    stem: channels at stride 2 (the costliest map: 16 in the session-15/16 files); deep4: residual
    blocks added at stride 4, where 10-pixel faces are found.
    """

    def __init__(self, widths: tuple[int, ...] = (16, 24, 48, 64, 96), fpn: int = 32, *, stem: int = 0, deep4: int = 0):
        super().__init__()
        w = (stem or widths[0], *widths[1:])
        self.arch = {"stem": w[0], "deep4": deep4}
        self.stem = _cbr(3, w[0], 3, 2)
        self.s4 = nn.Sequential(_sep(w[0], w[1], 2), _sep(w[1], w[1]), *(_Residual(w[1]) for _ in range(deep4)))
        self.s8 = nn.Sequential(_sep(w[1], w[2], 2), _sep(w[2], w[2]))
        self.s16 = nn.Sequential(_sep(w[2], w[3], 2, 5), _sep(w[3], w[3], 1, 5))
        self.s32 = nn.Sequential(_sep(w[3], w[4], 2, 5), _sep(w[4], w[4], 1, 5), _sep(w[4], w[4], 1, 5))
        self.lat = nn.ModuleList(nn.Conv2d(c, fpn, 1) for c in w[1:])
        self.head = _sep(fpn, fpn)
        self.out = nn.Conv2d(fpn, 15, 1)
        nn.init.constant_(self.out.bias[:1], -4.6)  # start with "no face anywhere" (sigmoid ~ 0.01)
        self.export_mode = False

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # The first convolution reads 0..255 directly (its weights scaled by 1/255 here, a constant in
        # the exported graph): no normalising pass over the frame, ~10% of the cost at 640x480. Its
        # zero padding is black, like the padding the runtime adds to reach a multiple of 32.
        conv = self.stem[0]
        x = nn.functional.conv2d(x, conv.weight * (1.0 / 255.0), None, conv.stride, conv.padding)
        c4 = self.s4(self.stem[2](self.stem[1](x)))
        c8 = self.s8(c4)
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p = self.lat[3](c32)
        for lat, c in ((self.lat[2], c16), (self.lat[1], c8), (self.lat[0], c4)):
            p = lat(c) + nn.functional.interpolate(p, size=c.shape[2:], mode="nearest")
        o = self.out(self.head(p))
        heat = torch.sigmoid(o[:, :1]) if self.export_mode else o[:, :1]
        return heat, o[:, 1:3], o[:, 3:5], o[:, 5:]


def fold_input_norm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights of a checkpoint that normalised its input (x / 255 - 0.5) -> the raw-input form.

    W(x / 255 - 0.5) = (W / 255) x - 0.5 sum(W): the constant moves into the batch norm's mean.
    """
    out = dict(state)
    out["stem.1.running_mean"] = state["stem.1.running_mean"] + 0.5 * state["stem.0.weight"].sum(dim=(1, 2, 3))
    return out


def adapt_weights(state: dict[str, torch.Tensor], model: LiteFace) -> dict[str, torch.Tensor]:
    """Weights of a trained LiteFace made to fit `model`, a grown or thinned one, for --init.

    A narrower stem keeps the stem channels that matter most (batch-norm scale x the norm of
    what the next layers read from them); blocks the checkpoint lacks keep their identity start.
    """
    out = dict(state)
    keep_n = model.stem[0].out_channels
    if state["stem.0.weight"].shape[0] > keep_n:
        dw, pw = state["s4.0.0.0.weight"], state["s4.0.1.0.weight"]
        score = state["stem.1.weight"].abs() * dw.flatten(1).norm(dim=1) * pw.flatten(1).norm(dim=0)
        keep = torch.sort(torch.argsort(score, descending=True)[:keep_n]).values
        for layer in ("stem.0", "stem.1", "s4.0.0.0", "s4.0.0.1"):  # the stem and the depthwise layer after it
            for name in ("weight", "bias", "running_mean", "running_var"):
                if f"{layer}.{name}" in state:
                    out[f"{layer}.{name}"] = state[f"{layer}.{name}"][keep]
        out["s4.0.1.0.weight"] = pw[:, keep]
    mine = model.state_dict()
    unknown = sorted(set(out) - set(mine))
    if unknown:
        raise ValueError(f"checkpoint does not fit this LiteFace: unexpected weights {unknown[:3]}")
    for k, v in mine.items():
        out.setdefault(k, v)
        if out[k].shape != v.shape:
            shape, want = tuple(out[k].shape), tuple(v.shape)
            raise ValueError(f"checkpoint does not fit this LiteFace: {k} is {shape}, not {want}")
    return out


def encode(faces: list[Face], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True faces -> heat (1, h, w) Gaussian peaks, regression targets (14, h, w), mask (2, h, w).

    mask[0] marks face centres, mask[1] the boxes of ignored faces (no background loss there).

    Regression channels follow CenterFace: log(h/4), log(w/4); centre offset (dy, dx) from the
    cell centre; landmarks (y, x) from the box corner in box units.
    """
    H, W = size[0] // STRIDE, size[1] // STRIDE
    heat = np.zeros((1, H, W), np.float32)
    reg = np.zeros((14, H, W), np.float32)
    mask = np.zeros((2, H, W), np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    for f in faces:
        x0, y0, x1, y1 = (float(v) for v in f.box)
        bw, bh = x1 - x0, y1 - y0
        if bw < 2 or bh < 2:
            continue
        if f.ignore:
            ys, xs = (
                slice(max(0, int(y0 / STRIDE)), int(np.ceil(y1 / STRIDE))),
                slice(max(0, int(x0 / STRIDE)), int(np.ceil(x1 / STRIDE))),
            )
            mask[1, ys, xs] = 1.0
            continue
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < W and 0 <= iy < H):
            continue
        sigma = max(0.5, 0.12 * min(bw, bh) / STRIDE)
        g = np.exp(-((xx - ix) ** 2 + (yy - iy) ** 2) / (2 * sigma**2))
        heat[0] = np.maximum(heat[0], g)
        heat[0, iy, ix] = 1.0
        lm = f.landmarks
        reg[:, iy, ix] = [
            math.log(bh / STRIDE),
            math.log(bw / STRIDE),
            cy - iy - 0.5,
            cx - ix - 0.5,
            *np.stack([(lm[:, 1] - y0) / bh, (lm[:, 0] - x0) / bw], 1).reshape(-1),
        ]
        mask[0, iy, ix] = 1.0
    return heat, reg, mask


def loss(
    out: tuple[torch.Tensor, ...], heat: torch.Tensor, reg: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """CenterNet's focal loss on the heatmap, L1 on size/offset/landmarks at face centres."""
    logit, size, off, lms = out
    p = torch.sigmoid(logit).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    neg_w = (1 - heat) ** 4
    pos_loss = (torch.log(p) * (1 - p) ** 2 * pos).sum()
    keep = 1 - mask[:, 1:2]
    neg_loss = (torch.log(1 - p) * p**2 * neg_w * (1 - pos) * keep).sum()
    n = pos.sum().clamp(min=1.0)
    l_heat = -(pos_loss + neg_loss) / n
    pred = torch.cat([size, off, lms], 1)
    m = mask[:, :1].expand_as(pred)
    diff = (pred - reg).abs() * m
    l_size = diff[:, :2].sum() / n
    l_off = diff[:, 2:4].sum() / n
    l_lms = diff[:, 4:].sum() / n
    total = l_heat + 0.5 * l_size + l_off + 0.5 * l_lms
    parts = {"heat": l_heat, "size": l_size, "off": l_off, "lms": l_lms}
    return total, {k: float(v.detach()) for k, v in parts.items()}
