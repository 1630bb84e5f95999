"""The export check: the QONNX graph, run by qonnx's executor, against the PyTorch model."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ExportCheck:
    samples: int
    identical: int
    max_abs_diff: float
    same_predictions: int
    accuracy: float | None = None
    nodes: dict[str, int] = field(default_factory=dict)

    @property
    def bit_exact(self) -> bool:
        return self.identical == self.samples

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "bit_exact": self.bit_exact}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportCheck:
        return cls(**{k: v for k, v in data.items() if k != "bit_exact"})


def compare_outputs(
    qonnx_out: np.ndarray, torch_out: np.ndarray, labels: np.ndarray | None = None, nodes: dict[str, int] | None = None
) -> ExportCheck:
    """How many samples' outputs are identical; the QONNX graph's accuracy on ``labels``; ``nodes``: op counts."""
    n = len(torch_out)
    flat_q, flat_t = qonnx_out.reshape(n, -1), torch_out.reshape(n, -1)
    return ExportCheck(
        samples=n,
        identical=int(np.all(flat_q == flat_t, axis=1).sum()),
        max_abs_diff=float(np.max(np.abs(flat_q - flat_t), initial=0.0)),
        same_predictions=int((flat_q.argmax(1) == flat_t.argmax(1)).sum()),
        accuracy=None if labels is None else float((flat_q.argmax(1) == labels).mean()),
        nodes=nodes or {},
    )


def op_counts(model) -> dict[str, int]:
    """How many nodes of each op type a graph has."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
