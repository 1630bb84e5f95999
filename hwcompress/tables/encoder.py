"""Thermometer encoding of 8-bit pixels: bit i of a pixel is 1 when the pixel reaches threshold i.

The thresholds are shared by every pixel and come from the training images: evenly spaced quantiles of the pixels
that are not zero (most MNIST pixels are zero, so quantiles of all pixels, or per pixel, waste most bits).

Example:
    >>> thresholds = fit_thresholds(train_x, bits=3)     # e.g. [97, 214, 253] on MNIST
    >>> thermometer(images, thresholds).shape           # (N, pixels * bits), 0/1 as uint8
"""

from __future__ import annotations

import numpy as np


def fit_thresholds(images: np.ndarray, bits: int) -> np.ndarray:
    """``bits`` increasing integer thresholds in 1..255: the quantiles (i + 1) / (bits + 1) of the non-zero pixels."""
    pixels = np.asarray(images).reshape(-1)
    nonzero = pixels[pixels > 0].astype(np.float64)
    if nonzero.size == 0:
        return np.arange(1, bits + 1, dtype=np.int64)
    levels = np.quantile(nonzero, (np.arange(bits) + 1) / (bits + 1))
    thresholds = np.clip(np.ceil(levels), 1, 255).astype(np.int64)
    for i in range(1, bits):  # strictly increasing, so that no two bits of a pixel are the same
        thresholds[i] = max(thresholds[i], thresholds[i - 1] + 1)
    return thresholds


def thermometer(images: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The bits of every pixel, pixel after pixel, each pixel's bits in threshold order: (N, pixels * bits)."""
    flat = np.asarray(images).reshape(len(images), -1).astype(np.int64)
    return (flat[:, :, None] >= np.asarray(thresholds)[None, None, :]).reshape(len(images), -1).astype(np.uint8)
