"""Small table networks for the table-network tests: untrained ones are as good as trained ones for exactness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwcompress.models.tablenet import TableNet
from hwcompress.tables.tables import TableModel


@pytest.fixture(scope="session")
def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as uint8 (N, 1, 8, 8) images and their labels."""
    from hwcompress.data.digits import load_digits_dataset

    data = load_digits_dataset()
    return data.test_x, data.test_y


@pytest.fixture(scope="session")
def small_net(digits_images) -> TableNet:
    """Two table layers (60 and 30 nodes, 6 inputs, learned wiring) over digits, untrained but calibrated."""
    torch.manual_seed(0)
    net = TableNet((1, 8, 8), 10, nodes=(60, 30), fan_in=6, thermometer=3)
    net.calibrate(digits_images[0])
    return net.eval()


@pytest.fixture(scope="session")
def small_model(small_net) -> TableModel:
    return TableModel.of(small_net)


@pytest.fixture(scope="session")
def tables_flow():
    """A flow dict: 100 table nodes over 2 thermometer bits of digits, 6 epochs (a few seconds), runs in tmp_path."""

    def make(tmp_path, **tables) -> dict:
        return {
            "name": "tn",
            "data": {"name": "digits"},
            "model": {"arch": "tables", "tables": {"nodes": [100], "thermometer": 2, **tables}},
            "train": {"epochs": 6, "batch_size": 64, "lr": 0.02, "threads": 2},
            "outputs": {"dir": str(tmp_path / "runs")},
        }

    return make
