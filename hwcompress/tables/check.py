"""The truth tables against the trained network: the same class counts and predictions on the test set."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from hwcompress.models.tablenet import TableNet
from hwcompress.tables.tables import TableModel

BATCH = 1024


@dataclass(frozen=True)
class TablesCheck:
    """How many test images the tables answer differently from the network (counts or class), and both
    accuracies."""

    samples: int
    mismatches: int
    accuracy_torch: float
    accuracy_tables: float

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TablesCheck:
        return cls(**data)


@torch.no_grad()
def network_counts(net: TableNet, images: np.ndarray) -> np.ndarray:
    """The network's class counts (popcounts, exact integers in float32): (N, classes), int64."""
    net.eval()
    pixels = torch.from_numpy(images)
    counts = [net.popcounts(pixels[i : i + BATCH]) for i in range(0, len(pixels), BATCH)]
    return torch.cat(counts).round().long().numpy()


def check_tables(net: TableNet, model: TableModel, images: np.ndarray, labels: np.ndarray) -> TablesCheck:
    torch_counts, table_counts = network_counts(net, images), model.counts(images)
    differ = (torch_counts != table_counts).any(axis=1)
    return TablesCheck(
        samples=len(images),
        mismatches=int(differ.sum()),
        accuracy_torch=float((torch_counts.argmax(axis=1) == labels).mean()),
        accuracy_tables=float((table_counts.argmax(axis=1) == labels).mean()),
    )
