"""What a real camera does to a face, simulated on whole batches: resolution, blur, noise,
JPEG, low light and gamma, perspective, occluders.

Why: FER2013's crops are clean web images; the runtime sees webcams, phones and film frames.
Every effect is drawn per image from the augmenter's generator, on its device, and works on
pixel values in [0, 1] (the augmenter converts from and back to the card's normalisation).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# The JPEG standard's luminance quantisation table (ITU T.81, Annex K).
_JPEG_Q = [
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
]


def _dct_matrix(device: torch.device) -> torch.Tensor:
    k = torch.arange(8, device=device, dtype=torch.float32)
    d = torch.cos((2 * k.view(1, 8) + 1) * k.view(8, 1) * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d  # (8, 8), orthonormal: d @ d.T = I


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """x (B, C, H, W) in [0, 1], quality (B,) in 1..100 -> the image after JPEG's 8x8 DCT quantisation."""
    b, c, h, w = x.shape
    ph, pw = (-h) % 8, (-w) % 8
    xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
    H, W = xp.shape[2:]
    blocks = (xp * 255 - 128).reshape(b, c, H // 8, 8, W // 8, 8).permute(0, 1, 2, 4, 3, 5)  # (B, C, h8, w8, 8, 8)
    d = _dct_matrix(x.device)
    coef = d @ blocks @ d.T
    q = quality.clamp(1, 100).float()
    scale = torch.where(q < 50, 5000 / q, 200 - 2 * q).view(b, 1, 1, 1, 1, 1)
    table = torch.tensor(_JPEG_Q, device=x.device, dtype=torch.float32).view(1, 1, 1, 1, 8, 8)
    qt = ((table * scale + 50) / 100).floor().clamp(1, 255)
    coef = torch.round(coef / qt) * qt
    out = (d.T @ coef @ d).permute(0, 1, 2, 4, 3, 5).reshape(b, c, H, W)
    return ((out + 128) / 255).clamp(0, 1)[:, :, :h, :w]


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-image Gaussian blur, sigma (B,) in pixels (0 = unchanged), separable, 7 taps."""
    b, c, h, w = x.shape
    r = torch.arange(-3, 4, device=x.device, dtype=x.dtype).view(1, 7)
    s = sigma.clamp(min=1e-3).view(b, 1).to(x.dtype)
    k = torch.exp(-0.5 * (r / s) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, 7)
    y = x.reshape(1, b * c, h, w)
    y = F.conv2d(F.pad(y, (3, 3, 0, 0), mode="replicate"), k.view(b * c, 1, 1, 7), groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, 3, 3), mode="replicate"), k.view(b * c, 1, 7, 1), groups=b * c)
    return y.view(b, c, h, w)


def downscale(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Lose resolution as a far-away or cheap camera does: area-shrink by `factor`, then enlarge back."""
    h, w = x.shape[2:]
    small = F.interpolate(x, size=(max(4, int(h * factor)), max(4, int(w * factor))), mode="area")
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def perspective_theta(b: int, strength: float, u) -> torch.Tensor:
    """(B, 2) projective coefficients: a head turned or tilted towards the camera."""
    return (u(b, 2) * 2 - 1) * strength


def warp_grid(theta: torch.Tensor, persp: torch.Tensor | None, shape: list[int]) -> torch.Tensor:
    """Sampling grid of an affine (B, 2, 3) plus an optional projective row (B, 2) -> (B, H, W, 2)."""
    grid = F.affine_grid(theta, shape, align_corners=False)
    if persp is None:
        return grid
    base = F.affine_grid(torch.eye(2, 3, device=theta.device).expand(len(theta), 2, 3), shape, align_corners=False)
    denom = 1 + base[..., 0] * persp[:, 0].view(-1, 1, 1) + base[..., 1] * persp[:, 1].view(-1, 1, 1)
    return grid / denom.unsqueeze(-1).clamp(min=0.5)


class CameraEffects:
    """The camera chain for a batch; `u(*shape)` draws uniforms in [0, 1) and `n(shape)` standard
    normals, both from the augmenter's generator."""

    def __init__(self, p: float, u, n):
        self.p, self.u, self.n = p, u, n

    def _pick(self, b: int, device: torch.device, share: float = 0.5) -> torch.Tensor:
        """(B, 1, 1, 1) mask: images in the camera chain (p) that also get this effect (share)."""
        return ((self.u(b) < self.p) & (self.u(b) < share)).view(b, 1, 1, 1).to(device)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) pixels in [0, 1] -> the same faces as cheap or badly lit cameras show them."""
        b, dev = x.shape[0], x.device
        if self.p <= 0:
            return x
        m = self._pick(b, dev, 0.35)
        x = torch.where(m, downscale(x, 0.3 + 0.5 * float(self.u(1))), x)
        m = self._pick(b, dev, 0.35)
        x = torch.where(m, gaussian_blur(x, 0.3 + 1.2 * self.u(b)), x)
        m = self._pick(b, dev, 0.4)  # gamma and exposure: backlight, dim rooms, overexposed phones
        gamma = torch.exp((self.u(b) * 2 - 1) * math.log(1.8)).view(b, 1, 1, 1)
        gain = (0.35 + 0.65 * self.u(b)).view(b, 1, 1, 1)
        dark = torch.where(self.u(b).view(b, 1, 1, 1) < 0.5, gain, torch.ones_like(gain))
        x = torch.where(m, (x.clamp(min=1e-4) ** gamma) * dark, x)
        m = self._pick(b, dev, 0.4)  # sensor noise: read noise plus shot noise that grows with the signal
        sigma = (0.01 + 0.05 * self.u(b)).view(b, 1, 1, 1)
        x = torch.where(m, x + self.n(x.shape).to(x.dtype) * sigma * (0.5 + x.clamp(0, 1).sqrt()), x)
        m = self._pick(b, dev, 0.5)
        x = torch.where(m, jpeg(x.clamp(0, 1), 15 + 60 * self.u(b)), x)
        return x.clamp(0, 1)


def occlude(x: torch.Tensor, p: float, u) -> torch.Tensor:
    """A flat occluder over part of the face with probability p: a hand or mask on the lower face,
    glasses on the eye band, or a block from one side. x (B, C, H, W) in [0, 1]."""
    b, _, h, w = x.shape
    dev = x.device
    kind = (u(b) * 3).long()
    level = u(b).view(b, 1, 1)  # the occluder's gray level
    rows = torch.arange(h, device=dev).view(1, h, 1).float() / h
    cols = torch.arange(w, device=dev).view(1, 1, w).float() / w
    lo = 0.55 + 0.2 * u(b).view(b, 1, 1)  # lower face from here down
    band = 0.25 + 0.15 * u(b).view(b, 1, 1)  # eye band
    side = 0.25 + 0.2 * u(b).view(b, 1, 1)
    left = u(b).view(b, 1, 1) < 0.5
    lower = rows >= lo
    eyes = (rows >= band) & (rows < band + 0.17)
    block = torch.where(left, cols < side, cols >= 1 - side) & (rows >= 0.3 * u(b).view(b, 1, 1))
    k = kind.view(b, 1, 1)
    box = torch.where(k == 0, lower, torch.where(k == 1, eyes, block))
    box &= (u(b) < p).view(b, 1, 1)
    return torch.where(box.unsqueeze(1), level.unsqueeze(1).expand_as(x), x)
