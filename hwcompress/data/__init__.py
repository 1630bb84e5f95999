"""Datasets: discovery, loading, validation and the fixed validation split.

Example:
    >>> from hwcompress.config import DataConfig
    >>> splits = load_splits(DataConfig(name="digits"), SearchPath())
    >>> splits.train_x.dtype, splits.input_shape
    (dtype('uint8'), (1, 8, 8))

How to add a dataset: a module with ``has_files(dir)``, a loader returning an ``ImageDataset`` and,
where it can be fetched, ``download(dir)``; then an entry in ``SOURCES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from hwcompress.config import DataConfig, DatasetName
from hwcompress.data import cifar10, mnist
from hwcompress.data.dataset import ImageDataset, Splits, cropped, padded, split
from hwcompress.data.digits import load_digits_dataset
from hwcompress.data.discovery import SearchPath, locate, missing_error

__all__ = ["SOURCES", "ImageDataset", "SearchPath", "Splits", "dataset_files", "load_dataset", "load_splits"]


@dataclass(frozen=True)
class Source:
    """How one dataset is found, fetched and read."""

    needed: tuple[str, ...]
    has_files: Callable[[Path], bool]
    load: Callable[[Path], ImageDataset]
    download: Callable[[Path], bool] | None
    files: Callable[[Path], list[Path]]


SOURCES: dict[DatasetName, Source] = {
    DatasetName.MNIST: Source(
        mnist.NEEDED,
        mnist.has_files,
        partial(mnist.load_idx_dataset, "mnist"),
        partial(mnist.download, "mnist"),
        mnist.files,
    ),
    DatasetName.FASHION_MNIST: Source(
        mnist.NEEDED,
        mnist.has_files,
        partial(mnist.load_idx_dataset, "fashion-mnist"),
        partial(mnist.download, "fashion-mnist"),
        mnist.files,
    ),
    DatasetName.CIFAR10: Source(
        cifar10.NEEDED, cifar10.has_files, cifar10.load_cifar10_dataset, cifar10.download, cifar10.files
    ),
}


def find_dataset_dir(cfg: DataConfig, search: SearchPath) -> Path | None:
    """The directory a file-based dataset is read from, or None when it is not available locally."""
    source = SOURCES[cfg.name]
    return locate(cfg.name.value, cfg.path, search, source.has_files)


def dataset_files(cfg: DataConfig, search: SearchPath) -> list[Path]:
    """The files the dataset is read from, found as ``load_dataset`` finds them; none for the digits (scikit-learn
    embeds them) or for a dataset not found."""
    if cfg.name is DatasetName.DIGITS:
        return []
    directory = find_dataset_dir(cfg, search)
    return [] if directory is None else SOURCES[cfg.name].files(directory)


def load_dataset(cfg: DataConfig, search: SearchPath) -> ImageDataset:
    """Find (or, if allowed, download into the cache) and read the dataset.

    Raises:
        DatasetError: not found anywhere, with where to put which files; or malformed files.
    """
    if cfg.name is DatasetName.DIGITS:
        return load_digits_dataset()
    source = SOURCES[cfg.name]
    directory = find_dataset_dir(cfg, search)
    download_tried = directory is None and cfg.download and source.download is not None
    if download_tried:
        target = search.cache / cfg.name.value
        if source.download(target) and source.has_files(target):
            directory = target
    if directory is None:
        raise missing_error(cfg.name.value, cfg.path, search, source.needed, download_tried)
    return source.load(directory)


def load_splits(cfg: DataConfig, search: SearchPath) -> Splits:
    """The dataset with its fixed validation split, size limits, crop and padding applied."""
    splits = split(load_dataset(cfg, search), cfg.val_fraction, cfg.split_seed, cfg.train_limit, cfg.test_limit)
    splits = cropped(splits, cfg.crop_to) if cfg.crop_to else splits
    return padded(splits, cfg.pad_to) if cfg.pad_to else splits
