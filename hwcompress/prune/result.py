"""What a pruning run did: the criterion and its settings, channels per layer before and after, accuracy."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from hwcompress.config import PruneConfig
from hwcompress.prune.engine import Pruned
from hwcompress.prune.lowrank import LowRankSummary


@dataclass(frozen=True)
class LayerChannels:
    """One pruned group: output channels before and after, and the multiple its count was rounded to."""

    name: str
    before: int
    after: int
    granularity: int = 1


@dataclass(frozen=True)
class PruneSummary:
    """A prune stage's outcome. ``keep`` holds each group's kept channels as indices into the original ones;
    ``accuracy`` is the test accuracy of the network the stage wrote (after low-rank factorization, if any)."""

    criterion: dict[str, Any]
    rate: float
    achieved_rate: float
    allocation: str
    granularity: int | str
    schedule: str
    layers: tuple[LayerChannels, ...]
    keep: dict[str, list[int]]
    accuracy_unpruned: float | None
    accuracy: float
    steps: list[dict[str, Any]] = field(default_factory=list)
    lowrank: LowRankSummary | None = None

    @property
    def method(self) -> str:
        return self.criterion["name"]

    @property
    def pruned(self) -> bool:
        """Whether any channel was removed."""
        return any(layer.after < layer.before for layer in self.layers)

    def keep_indices(self) -> dict[str, torch.Tensor]:
        return {name: torch.tensor(index) for name, index in self.keep.items()}

    @classmethod
    def of(cls, result: Pruned, cfg: PruneConfig, accuracy_unpruned: float | None, accuracy: float) -> PruneSummary:
        return cls(
            criterion=cfg.criterion.model_dump(mode="json"),
            rate=cfg.rate,
            achieved_rate=result.achieved_rate,
            allocation=cfg.allocation.value,
            granularity=cfg.granularity,
            schedule=cfg.schedule.value,
            layers=tuple(
                LayerChannels(name, count, result.after[name], result.granularity.get(name, 1))
                for name, count in result.before.items()
            ),
            keep={name: index.tolist() for name, index in result.keep.items()},
            accuracy_unpruned=accuracy_unpruned,
            accuracy=accuracy,
            steps=result.steps,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "layers": [asdict(layer) for layer in self.layers],
            "lowrank": self.lowrank.to_json() if self.lowrank else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PruneSummary:
        lowrank = data.get("lowrank")
        return cls(
            **{
                **data,
                "layers": tuple(LayerChannels(**row) for row in data["layers"]),
                "lowrank": LowRankSummary.from_json(lowrank) if lowrank else None,
            }
        )
