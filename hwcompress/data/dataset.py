"""The in-memory dataset every loader returns: uint8 NCHW images, int64 labels."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwcompress.errors import DatasetError


@dataclass(frozen=True)
class ImageDataset:
    """Train and test images as uint8 pixels (N, C, H, W), as FINN's UINT8 input expects."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        for part, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.dtype != np.uint8 or x.ndim != 4:
                raise DatasetError(f"{self.name}: {part} images must be uint8 (N, C, H, W), got {x.dtype} {x.shape}")
            if len(x) != len(y):
                raise DatasetError(f"{self.name}: {len(x)} {part} images but {len(y)} labels; replace the files")
            if len(y) and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DatasetError(f"{self.name}: {part} labels outside 0..{len(self.classes) - 1}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays after the fixed seeded split."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    classes: tuple[str, ...]

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def pad_images(images: np.ndarray, size: int) -> np.ndarray:
    """``images`` (N, C, H, W) centred in zeros of ``size`` x ``size`` (the extra pixel, if odd, at the end).

    Raises:
        DatasetError: an image is larger than ``size``.
    """
    height, width = images.shape[2:]
    if height > size or width > size:
        raise DatasetError(f"data.pad_to is {size} but the images are {height}x{width}; raise it or remove it")
    top, left = (size - height) // 2, (size - width) // 2
    pad = ((0, 0), (0, 0), (top, size - height - top), (left, size - width - left))
    return np.pad(images, pad)


def crop_images(images: np.ndarray, size: int) -> np.ndarray:
    """The centre ``size`` x ``size`` of ``images`` (N, C, H, W); a side already smaller is kept whole."""
    height, width = images.shape[2:]
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    return np.ascontiguousarray(images[:, :, top : top + size, left : left + size])


def _each_split(data: Splits, transform: Callable[[np.ndarray], np.ndarray]) -> Splits:
    """``data`` with ``transform`` applied to the train, validation and test images."""
    return dataclasses.replace(
        data, train_x=transform(data.train_x), val_x=transform(data.val_x), test_x=transform(data.test_x)
    )


def cropped(data: Splits, size: int) -> Splits:
    """``data`` with every image cropped to its centre ``size`` x ``size``."""
    return _each_split(data, lambda images: crop_images(images, size))


def padded(data: Splits, size: int) -> Splits:
    """``data`` with every image padded to ``size`` x ``size``."""
    return _each_split(data, lambda images: pad_images(images, size))


def split(
    data: ImageDataset, val_fraction: float, seed: int, train_limit: int | None = None, test_limit: int | None = None
) -> Splits:
    """Hold out a fixed, seeded validation share of the training data; optionally cap the sizes.

    The same seed always holds out the same images, whatever ``train_limit`` is.
    """
    order = np.random.default_rng(seed).permutation(len(data.train_x))
    n_val = round(len(order) * val_fraction)
    val_idx, train_idx = order[:n_val], order[n_val:]
    if train_limit is not None:
        train_idx = train_idx[:train_limit]
    test_end = test_limit if test_limit is not None else len(data.test_x)
    return Splits(
        name=data.name,
        train_x=data.train_x[train_idx],
        train_y=data.train_y[train_idx],
        val_x=data.train_x[val_idx],
        val_y=data.train_y[val_idx],
        test_x=data.test_x[:test_end],
        test_y=data.test_y[:test_end],
        classes=data.classes,
    )
