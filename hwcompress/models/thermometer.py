"""Thermometer encoding of 8-bit pixels: bit i of a pixel is 1 when the pixel reaches threshold i.

The thresholds are shared by every pixel and come from the training images: evenly spaced quantiles of the pixels
that are not zero (most MNIST pixels are zero, so quantiles of all pixels, or per pixel, waste most bits), rounded
to multiples of 4, so that each bit depends on the pixel's top 6 bits alone: one LUT6 in the encoder.

Example:
    >>> thresholds = fit_thresholds(train_x, bits=3)     # e.g. [96, 216, 252] on MNIST
    >>> thermometer(images, thresholds).shape           # (N, pixels * bits), 0/1 as uint8
"""

from __future__ import annotations

import numpy as np

#: Thresholds are multiples of this: a pixel reaches 4m exactly when its top 6 bits reach m.
STEP = 4


def fit_thresholds(images: np.ndarray, bits: int) -> np.ndarray:
    """``bits`` increasing thresholds in 4..252, multiples of 4: the quantiles (i + 1) / (bits + 1) of the non-zero
    pixels, rounded to the nearest multiple."""
    pixels = np.asarray(images).reshape(-1)
    nonzero = pixels[pixels > 0].astype(np.float64)
    levels = np.quantile(nonzero, (np.arange(bits) + 1) / (bits + 1)) if nonzero.size else np.zeros(bits)
    top = 255 // STEP
    # strictly increasing, so that no two bits of a pixel are the same: room above each, then each above the last
    thresholds = np.minimum(np.rint(levels / STEP).astype(np.int64), top - np.arange(bits)[::-1])
    for i in range(bits):
        thresholds[i] = max(thresholds[i], thresholds[i - 1] + 1 if i else 1)
    return thresholds * STEP


def thermometer(images: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The bits of every pixel, pixel after pixel, each pixel's bits in threshold order: (N, pixels * bits)."""
    flat = np.asarray(images).reshape(len(images), -1).astype(np.int64)
    return (flat[:, :, None] >= np.asarray(thresholds)[None, None, :]).reshape(len(images), -1).astype(np.uint8)
