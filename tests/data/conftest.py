"""Small IDX and CIFAR-10 files written by the tests, in the real formats."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest


def _idx_bytes(array: np.ndarray) -> bytes:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx_set(directory: Path, n_train: int = 20, n_test: int = 10, gz: bool = True, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        data = _idx_bytes(array)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return arrays


def _write_cifar(directory: Path, per_batch: int = 4) -> np.ndarray:
    rng = np.random.default_rng(1)
    batches = directory / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    first = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        first = data if first is None else first
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, per_batch)],
            b"data": data,
        }
        (batches / name).write_bytes(pickle.dumps(batch, protocol=2))
    return first


@pytest.fixture(scope="session")
def idx_bytes():
    """``idx_bytes(array)``: the bytes of an unsigned-byte IDX file holding ``array``."""
    return _idx_bytes


@pytest.fixture(scope="session")
def write_idx_set():
    """``write_idx_set(directory, n_train, n_test, gz, seed)``: the four MNIST files; returns their arrays."""
    return _write_idx_set


@pytest.fixture(scope="session")
def write_cifar():
    """``write_cifar(directory)``: a small cifar-10-batches-py; returns the first batch's images."""
    return _write_cifar


@pytest.fixture
def idx_dir(tmp_path: Path) -> Path:
    _write_idx_set(tmp_path / "mnist")
    return tmp_path / "mnist"
