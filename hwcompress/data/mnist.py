"""MNIST and Fashion-MNIST from the four standard IDX files (.gz or raw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwcompress.data.dataset import ImageDataset
from hwcompress.data.idx import read_idx
from hwcompress.errors import DatasetError

FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}

URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}

NEEDED = tuple(f"{stem}.gz" for stem in FILES.values())


def _find(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def has_files(directory: Path) -> bool:
    """Whether all four IDX files are in ``directory`` (each gzipped or raw)."""
    return all(_find(directory, stem) for stem in FILES.values())


def files(directory: Path) -> list[Path]:
    """The four IDX files in ``directory`` (each gzipped or raw)."""
    return [path for stem in FILES.values() if (path := _find(directory, stem)) is not None]


def download(name: str, directory: Path) -> bool:
    """Fetch the four .gz files of ``name`` into ``directory``; False if the network does not allow it."""
    from hwcompress.data.download import fetch

    return all(fetch(URLS[name] + f"{stem}.gz", directory / f"{stem}.gz") for stem in FILES.values())


def load_idx_dataset(name: str, directory: Path) -> ImageDataset:
    """Read and check the four files: shapes, counts, labels in range."""
    arrays = {
        key: read_idx(_find(directory, stem), 3 if key.endswith("x") else 1)  # type: ignore[arg-type]
        for key, stem in FILES.items()
    }
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_x"], arrays[f"{part}_y"]
        if len(images) != len(labels):
            raise DatasetError(f"{directory}: {len(images)} {part} images but {len(labels)} labels; replace the files")
    return ImageDataset(
        name=name,
        train_x=arrays["train_x"][:, None],
        train_y=arrays["train_y"].astype(np.int64),
        test_x=arrays["test_x"][:, None],
        test_y=arrays["test_y"].astype(np.int64),
        classes=CLASSES[name],
    )
