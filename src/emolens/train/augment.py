"""Augmentation on whole batches of tensors (fast on CPU: one affine grid per batch).

Injected into the training loop; datasets and models know nothing about it. Every random
draw comes from one generator and is made on that generator's device: on a GPU no random
parameter crosses from the host per step (a host-to-device copy would stall the queue).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from emolens.train.camera import CameraEffects, occlude, perspective_theta, warp_grid


@dataclass(frozen=True)
class AugmentConfig:
    flip: float = 0.5
    rotate: float = 15.0  # degrees, +/-
    shift: float = 0.1  # fraction of the side, +/-
    scale: float = 0.15  # +/- relative zoom
    brightness: float = 0.25  # +/- additive, in normalised units
    contrast: float = 0.25  # +/- relative
    erase: float = 0.5  # probability of one random-erasing box
    erase_area: tuple[float, float] = (0.02, 0.2)
    mixup: float = 0.0  # alpha; 0 disables
    cutmix: float = 0.0  # alpha; 0 disables
    camera: float = 0.0  # probability an image goes through the camera chain (resolution, blur, light, noise, JPEG)
    perspective: float = 0.0  # strength of a projective warp (0.1-0.2: a head turned towards the camera)
    occlude: float = 0.0  # probability of a flat occluder (hand or mask, glasses, a side block)


class BatchAugment:
    """x (B, C, H, W) float, y (B,) long -> augmented x and soft targets (B, K).

    x is normalised as the card says ((pixel - mean) / std); the camera effects work on pixels,
    so they convert with `mean` and `std`.
    """

    def __init__(
        self,
        cfg: AugmentConfig,
        num_classes: int,
        generator: torch.Generator | None = None,
        mean: float = 0.5,
        std: float = 0.25,
    ):
        self.cfg = cfg
        self.k = num_classes
        self.g = generator
        self.mean, self.std = mean, std

    @property
    def device(self) -> torch.device:
        return self.g.device if self.g is not None else torch.device("cpu")

    def _u(self, *shape: int) -> torch.Tensor:  # uniform [0, 1) on the generator's device
        return torch.rand(shape, generator=self.g, device=self.device)

    def _n(self, shape) -> torch.Tensor:  # standard normals on the generator's device
        return torch.randn(tuple(shape), generator=self.g, device=self.device)

    def _rand(self, n: int, lo: float, hi: float) -> torch.Tensor:
        return self._u(n) * (hi - lo) + lo

    def geometric(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        c_ = self.cfg
        ang = self._rand(b, -c_.rotate, c_.rotate) * math.pi / 180
        sc = 1.0 / self._rand(b, 1 - c_.scale, 1 + c_.scale)
        flip = torch.where(self._u(b) < c_.flip, -1.0, 1.0)
        tx, ty = self._rand(b, -c_.shift, c_.shift) * 2, self._rand(b, -c_.shift, c_.shift) * 2
        cos, sin = torch.cos(ang) * sc, torch.sin(ang) * sc
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
        persp = perspective_theta(b, c_.perspective, self._u) if c_.perspective > 0 else None
        grid = warp_grid(theta, persp, list(x.shape))
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def camera(self, x: torch.Tensor) -> torch.Tensor:
        """The camera chain and occluders, on pixels in [0, 1]."""
        px = x * self.std + self.mean
        px = CameraEffects(self.cfg.camera, self._u, self._n)(px)
        if self.cfg.occlude > 0:
            px = occlude(px, self.cfg.occlude, self._u)
        return (px - self.mean) / self.std

    def photometric(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        c_ = self.cfg
        con = self._rand(b, 1 - c_.contrast, 1 + c_.contrast).view(b, 1, 1, 1)
        bri = self._rand(b, -c_.brightness, c_.brightness).view(b, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        return (x - mean) * con + mean + bri

    def erase(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        lo, hi = self.cfg.erase_area
        area = self._rand(b, lo, hi) * h * w
        ratio = torch.exp(self._rand(b, math.log(0.3), math.log(3.3)))
        eh = (area * ratio).sqrt().clamp(1, h).long()
        ew = (area / ratio).sqrt().clamp(1, w).long()
        y0 = (self._u(b) * (h - eh + 1)).long()
        x0 = (self._u(b) * (w - ew + 1)).long()
        rows = torch.arange(h, device=self.device).view(1, h, 1)
        cols = torch.arange(w, device=self.device).view(1, 1, w)
        box = (
            (rows >= y0.view(b, 1, 1))
            & (rows < (y0 + eh).view(b, 1, 1))
            & (cols >= x0.view(b, 1, 1))
            & (cols < (x0 + ew).view(b, 1, 1))
        )
        box &= (self._u(b) < self.cfg.erase).view(b, 1, 1)
        noise = torch.randn(x.shape, generator=self.g, device=self.device, dtype=x.dtype)
        return torch.where(box.unsqueeze(1), noise, x)

    def mix(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c_ = self.cfg
        use_cut = c_.cutmix > 0 and (c_.mixup <= 0 or self._u(1).item() < 0.5)
        alpha = c_.cutmix if use_cut else c_.mixup
        lam = float(torch.distributions.Beta(alpha, alpha).sample())
        perm = torch.randperm(x.shape[0], generator=self.g, device=self.device)
        if use_cut:
            h, w = x.shape[2:]
            ch, cw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
            cy = int(torch.randint(h, (1,), generator=self.g, device=self.device))
            cx = int(torch.randint(w, (1,), generator=self.g, device=self.device))
            y0, y1, x0, x1 = max(cy - ch // 2, 0), min(cy + ch // 2, h), max(cx - cw // 2, 0), min(cx + cw // 2, w)
            x = x.clone()
            x[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
            lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)
        else:
            x = lam * x + (1 - lam) * x[perm]
        return x, lam * t + (1 - lam) * t[perm]

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, soft: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """`soft` (B, K) replaces the one-hot targets (distillation); mixup mixes it the same way."""
        x = self.geometric(x)
        if self.cfg.camera > 0 or self.cfg.occlude > 0:
            x = self.camera(x)
        x = self.photometric(x)
        if self.cfg.erase > 0:
            x = self.erase(x)
        t = soft.float() if soft is not None else F.one_hot(y, self.k).float()
        if self.cfg.mixup > 0 or self.cfg.cutmix > 0:
            x, t = self.mix(x, t)
        return x, t
