"""What a training run produced, besides the weights: the data it saw, its accuracies, its history."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hwcompress.train.loop import EpochStats


@dataclass(frozen=True)
class TrainingResult:
    """A trained network's data shape, accuracies (simulated: PyTorch) and per-epoch history."""

    dataset: str
    input_shape: tuple[int, ...]
    num_classes: int
    samples: dict[str, int]
    val_accuracy: float
    test_accuracy: float
    history: tuple[EpochStats, ...]
    device: str = "cpu"

    @property
    def seconds_per_epoch(self) -> float:
        return sum(row.seconds for row in self.history) / max(1, len(self.history))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "input_shape": list(self.input_shape), "history": [asdict(r) for r in self.history]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainingResult:
        return cls(
            **{
                **data,
                "input_shape": tuple(data["input_shape"]),
                "history": tuple(EpochStats(**row) for row in data["history"]),
            }
        )
