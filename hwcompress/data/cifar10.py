"""CIFAR-10 from the standard ``cifar-10-batches-py`` layout (Python pickles)."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from hwcompress.data.dataset import ImageDataset
from hwcompress.errors import DatasetError

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
BATCHES = (*tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
NEEDED = ("cifar-10-batches-py/data_batch_1..5", "cifar-10-batches-py/test_batch")
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _batch_dir(directory: Path) -> Path:
    nested = directory / "cifar-10-batches-py"
    return nested if nested.is_dir() else directory


def has_files(directory: Path) -> bool:
    """Whether the five training batches and the test batch are there (nested or directly)."""
    batches = _batch_dir(directory)
    return all((batches / name).is_file() for name in BATCHES)


def files(directory: Path) -> list[Path]:
    """The five training batches and the test batch."""
    return [_batch_dir(directory) / name for name in BATCHES]


def download(directory: Path) -> bool:
    """Fetch and unpack the archive into ``directory``; False if the network does not allow it."""
    from hwcompress.data.download import fetch

    archive = directory / "cifar-10-python.tar.gz"
    if not fetch(URL, archive):
        return False
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    archive.unlink()
    return True


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    # The official batches are pickles of plain dicts of numpy arrays and lists; an unpickler that
    # refuses every class but numpy's array reconstruction keeps a crafted file from running code.
    try:
        with open(path, "rb") as handle:
            batch = _NumpyOnlyUnpickler(handle, encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, EOFError, TypeError, ValueError) as err:
        raise DatasetError(f"{path}: not a CIFAR-10 python batch ({err}); replace the file") from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DatasetError(f"{path}: expected N x 3072 pixels and N labels, got {data.shape}; replace the file")
    return data.reshape(-1, 3, 32, 32), labels


class _NumpyOnlyUnpickler(pickle.Unpickler):
    _ALLOWED = frozenset(
        (core, name)
        for core, name in (
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.numeric", "_frombuffer"),
            ("numpy._core.numeric", "_frombuffer"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol 2
        )
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_cifar10_dataset(directory: Path) -> ImageDataset:
    """50,000 train / 10,000 test 32x32 RGB images."""
    batches = _batch_dir(directory)
    train = [_read_batch(batches / name) for name in BATCHES[:-1]]
    test_x, test_y = _read_batch(batches / "test_batch")
    return ImageDataset(
        name="cifar10",
        train_x=np.concatenate([x for x, _ in train]),
        train_y=np.concatenate([y for _, y in train]),
        test_x=test_x,
        test_y=test_y,
        classes=CLASSES,
    )
