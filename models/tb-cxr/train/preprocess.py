"""The preprocessing contract shared by training, evaluation and the Edge appliance.

This module is the single Python definition of what the C# appliance implements.
Training, validation, test metrics, robustness and the reference scores all go
through it, so a change here is a change of the contract: bump the bundle version
and update the "preprocessing" object in model.json (see PREPROCESSING below).

Steps (all in float64 until the final cast):
  0. Input is a 2-D array of raw intensities. PNG: the stored values. Colour:
     luma 0.299 R + 0.587 G + 0.114 B. DICOM: modality values, negated first when
     the photometric interpretation is MONOCHROME1. No VOI/window is applied:
     step 2 makes the result independent of any monotonic intensity mapping.
  1. Resize to 128 x 128 by exact area averaging, aspect ratio not kept.
  2. Histogram equalisation by mid-rank: y(v) = (#(x < v) + 0.5 #(x == v)) / N.
  3. Normalise (y - MEAN) / STD, cast to float32, shape [1, 1, 128, 128].
"""
import numpy as np

SIZE = 128
# Mid-rank values of a continuous image are uniform on (0, 1): mean 1/2, std 1/sqrt(12).
MEAN = 0.5
STD = 0.2887

# Written verbatim into model.json; the appliance binds it with a strict schema.
PREPROCESSING = {
    "colour": "luma-bt601",
    "monochrome1": "negate",
    "voi": "none",
    "resize": {"method": "area", "width": SIZE, "height": SIZE, "keepAspect": False},
    "intensity": {"method": "histogram-equalisation", "ties": "mid-rank"},
    "normalise": {"mean": MEAN, "std": STD},
}


def luma(rgb):
    """Colour to grayscale as the appliance does it (BT.601 luma), float64."""
    rgb = np.asarray(rgb, dtype=np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def area_weights(n, m):
    """(m, n) matrix: output k averages input over [k*s, (k+1)*s), s = n/m.

    Weight of input pixel i = overlap of [i, i+1) with that interval, divided by s,
    so every row sums to 1. Identity when n == m.
    """
    s = n / m
    lo = np.arange(m, dtype=np.float64)[:, None] * s
    hi = lo + s
    i = np.arange(n, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(i + 1.0, hi) - np.maximum(i, lo), 0.0, None)
    return overlap / s


def resize_area(img, height=SIZE, width=SIZE):
    img = np.asarray(img, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D grayscale image, got shape {img.shape}")
    wy = area_weights(img.shape[0], height)
    wx = area_weights(img.shape[1], width)
    return wy @ img @ wx.T


def equalise_midrank(img):
    """Histogram equalisation by mid-rank (ties get the mean of their ranks), in (0, 1)."""
    x = np.asarray(img, dtype=np.float64).ravel()
    _, inv, c = np.unique(x, return_inverse=True, return_counts=True)
    mid = np.cumsum(c) - c + 0.5 * c
    return (mid / x.size)[inv.ravel()].reshape(np.shape(img))


def preprocess(img):
    """Raw 2-D intensities -> float32 tensor [1, 1, 128, 128] for the ONNX input `image`."""
    y = equalise_midrank(resize_area(img))
    return ((y - MEAN) / STD).astype(np.float32)[None, None]


def equalise_midrank_torch(x):
    """Batched torch version of steps 2-3 for training (inputs already 128 x 128).

    x: float tensor [B, 1, H, W] of raw intensities. Same mid-rank definition as
    equalise_midrank (count below plus half the ties), computed with two binary
    searches in the sorted pixels; exact in float32 for 128 x 128 images.
    """
    import torch

    b = x.shape[0]
    flat = x.reshape(b, -1).contiguous()
    srt, _ = torch.sort(flat, dim=1)
    below = torch.searchsorted(srt, flat, right=False)
    upto = torch.searchsorted(srt, flat, right=True)
    y = (below + upto).to(torch.float32) / (2.0 * flat.shape[1])
    return ((y - MEAN) / STD).reshape(x.shape)
