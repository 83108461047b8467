"""Simulated device/site changes, applied to RAW intensities before preprocessing.

The contract's mid-rank equalisation already removes any monotonic intensity change
(window, bit depth, gamma, contrast), so training does not waste capacity on those.
What it does NOT remove, and what differs between hospitals and detectors, is
simulated here: geometry (positioning), blur, resolution loss, noise, exposure
saturation (clipping merges grey levels, which is not monotonic-invertible) and the
loss of grey levels when a low-contrast image is stored in 8 bits.

`train_augment` works on torch batches for speed; `PERTURBATIONS` are the fixed,
deterministic changes of the robustness table (numpy, one image at a time).
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage


def _u(g, n, lo, hi):
    return lo + (hi - lo) * torch.rand(n, generator=g)


def _gauss_kernel(sigma):
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum(), r


def blur(img, sigma):
    """Separable Gaussian blur of one [1,1,H,W] image, edge-replicated borders."""
    k, r = _gauss_kernel(float(sigma))
    x = F.pad(img, (r, r, r, r), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def train_augment(x, g):
    """x: [B,1,128,128] float raw intensities in 0..255; g: torch.Generator. Returns same shape."""
    b, _, h, w = x.shape
    # Positioning: rotation +-8 deg, scale 0.9-1.1, shift +-6 px, horizontal flip.
    ang = _u(g, b, -8, 8) * math.pi / 180
    scale = _u(g, b, 0.9, 1.1)
    flip = torch.where(torch.rand(b, generator=g) < 0.5, -1.0, 1.0)
    tx = _u(g, b, -6, 6) * 2 / w
    ty = _u(g, b, -6, 6) * 2 / h
    cos, sin = torch.cos(ang) / scale, torch.sin(ang) / scale
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    # Uncovered borders: half the time edge-replicated, otherwise black or white fill
    # (collimation / rotated copies with white fill both occur in the data).
    inside = F.grid_sample(torch.ones_like(x), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    use_fill = (torch.rand(b, generator=g) < 0.5).float().view(b, 1, 1, 1)
    fill = torch.where(torch.rand(b, generator=g) < 0.5, 0.0, 255.0).view(b, 1, 1, 1)
    x = moved + use_fill * (1 - inside) * (fill - moved)

    out = []
    for i in range(b):
        xi = x[i:i + 1]
        # Resolution loss: detector / downsampling at another site.
        if torch.rand(1, generator=g).item() < 0.3:
            m = int(round(128 * _u(g, 1, 0.35, 0.9).item()))
            xi = F.interpolate(F.interpolate(xi, size=(m, m), mode="area"), size=(h, w),
                               mode="bilinear", align_corners=False)
        # Optical / scatter blur.
        if torch.rand(1, generator=g).item() < 0.3:
            xi = blur(xi, _u(g, 1, 0.4, 2.0).item())
        # Exposure with saturation: over- or under-exposure clipped at the range ends.
        if torch.rand(1, generator=g).item() < 0.4:
            xi = (xi * _u(g, 1, 0.8, 1.5).item() + _u(g, 1, -20, 20).item()).clamp(0, 255)
        # Detector / quantum noise, sigma up to 6 % of the range.
        if torch.rand(1, generator=g).item() < 0.4:
            xi = xi + torch.randn(xi.shape, generator=g) * _u(g, 1, 0.0, 0.06 * 255).item()
        # Low contrast stored in 8 bits: fewer distinct grey levels after rounding.
        if torch.rand(1, generator=g).item() < 0.3:
            c = _u(g, 1, 0.25, 1.0).item()
            mu = xi.mean()
            xi = mu + c * (xi - mu)
        out.append(xi)
    # Stored as 8-bit by the "other device".
    return torch.cat(out).clamp(0, 255).round()


# ---------------------------------------------------------------- robustness table
def _q8(x):
    """Store as 8-bit, as the changed device would."""
    return np.clip(np.round(x), 0, 255)


def _affine(img, angle_deg=0.0, scale=1.0, shift=(0.0, 0.0)):
    """Rotate/scale about the centre and shift (dy, dx) px, bilinear, edge-replicated."""
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) / scale
    c = (np.array(img.shape) - 1) / 2.0
    offset = c - rot @ (c + np.array(shift))
    return ndimage.affine_transform(img, rot, offset=offset, order=1, mode="nearest")


def _resolution(img, m):
    t = torch.from_numpy(img.astype(np.float32))[None, None]
    t = F.interpolate(F.interpolate(t, size=(m, m), mode="area"), size=img.shape, mode="bilinear",
                      align_corners=False)
    return t[0, 0].double().numpy()


def _noise(img, frac, seed):
    rng = np.random.default_rng(seed)
    return img + rng.normal(0.0, frac * 255.0, img.shape)


# name -> f(img float64 0..255, per-image seed) -> raw image handed to preprocessing.
PERTURBATIONS = [
    ("clean", lambda x, s: x),
    ("gamma 0.6 (8-bit)", lambda x, s: _q8(255 * (x / 255) ** 0.6)),
    ("gamma 1.6 (8-bit)", lambda x, s: _q8(255 * (x / 255) ** 1.6)),
    ("contrast x0.5 around mean (8-bit)", lambda x, s: _q8(x.mean() + 0.5 * (x - x.mean()))),
    ("exposure x1.5, clipped at 255", lambda x, s: _q8(np.minimum(x * 1.5, 255))),
    ("16-bit window (value*257)", lambda x, s: x * 257),
    ("Gaussian blur sigma 1", lambda x, s: _q8(ndimage.gaussian_filter(x, 1.0, mode="nearest"))),
    ("Gaussian blur sigma 2", lambda x, s: _q8(ndimage.gaussian_filter(x, 2.0, mode="nearest"))),
    ("Gaussian noise 3% of range", lambda x, s: _q8(_noise(x, 0.03, s))),
    ("Gaussian noise 6% of range", lambda x, s: _q8(_noise(x, 0.06, s))),
    ("resolution 64 px then back to 128", lambda x, s: _q8(_resolution(x, 64))),
    ("resolution 48 px then back to 128", lambda x, s: _q8(_resolution(x, 48))),
    ("rotation +5 deg", lambda x, s: _q8(_affine(x, angle_deg=5))),
    ("rotation -5 deg", lambda x, s: _q8(_affine(x, angle_deg=-5))),
    ("scale 1.1 (zoom in)", lambda x, s: _q8(_affine(x, scale=1.1))),
    ("shift 6 px right and down", lambda x, s: _q8(_affine(x, shift=(6, 6)))),
    ("inverted polarity, not corrected", lambda x, s: 255 - x),
]
