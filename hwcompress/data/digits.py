"""scikit-learn's 8x8 digits: embedded, no download; the quickstart's dataset."""

from __future__ import annotations

import numpy as np

from hwcompress.data.dataset import ImageDataset

#: Share of the 1,797 images kept as the fixed test split (they come without one).
TEST_FRACTION = 0.2


def load_digits_dataset() -> ImageDataset:
    """1,437 train / 360 test images, pixels 0..16 scaled to uint8 0..255 (16 -> 255 exactly)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(1797).permutation(len(labels))
    n_test = round(len(labels) * TEST_FRACTION)
    test, train = order[:n_test], order[n_test:]
    return ImageDataset(
        name="digits",
        train_x=pixels[train],
        train_y=labels[train],
        test_x=pixels[test],
        test_y=labels[test],
        classes=tuple(str(d) for d in range(10)),
    )
