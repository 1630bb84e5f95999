"""Small CIFAR-10 files written by the tests, in the real format (the IDX writers are in tests/conftest.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest


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
def write_cifar():
    """``write_cifar(directory)``: a small cifar-10-batches-py; returns the first batch's images."""
    return _write_cifar


@pytest.fixture
def idx_dir(tmp_path: Path, write_idx_set) -> Path:
    write_idx_set(tmp_path / "mnist")
    return tmp_path / "mnist"
