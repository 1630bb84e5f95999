"""Sparsify a trained network and count its stored size: magnitude pruning, then Deep Compression.

Weights are masked to ``cfg.sparsity`` (dynamic threshold or fixed schedule, fine-tuning as they go), then
each layer's surviving weights share ``2**cfg.sharing.bits`` values, fine-tuned as centroids, and the result
is counted as Huffman-coded sparse storage. Every number describes the stored model, not a FINN accelerator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from hwcompress.config import SparsifyConfig, SparsifySchedule
from hwcompress.sparse.deep_compression import SharedWeights, Storage, storage
from hwcompress.sparse.magnitude import WeightMasks, dynamic_threshold, fixed_schedule

#: ``fine_tune(model, epochs)`` trains the constrained model in place.
FineTune = Callable[[nn.Module, int], None]
#: ``accuracy(model, images, labels)`` as a fraction.
Accuracy = Callable[[nn.Module, np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Sparsified:
    """A sparsify run: the sparsity reached, its cost, accuracies (simulated: PyTorch), stored size."""

    schedule: str
    target_sparsity: float
    sparsity: float
    fine_tunes: int
    seconds: float
    accuracy_dense: float
    accuracy_masked: float
    accuracy: float
    storage: Storage

    def to_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in vars(self).items() if k != "storage"}, "storage": self.storage.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sparsified:
        return cls(**{**data, "storage": Storage.from_json(data["storage"])})


def sparsify(
    model: nn.Module,
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    cfg: SparsifyConfig,
    fine_tune: FineTune,
    accuracy: Accuracy,
) -> Sparsified:
    """Mask, share and count ``model``'s weights in place; ``val`` steers the schedule, ``test`` is reported."""
    dense = accuracy(model, *test)
    masks = WeightMasks(model, cfg.min_density, cfg.scoring.value)
    evaluate = lambda net: accuracy(net, *val)  # noqa: E731
    one_fine_tune = lambda net: fine_tune(net, cfg.finetune_epochs)  # noqa: E731
    if cfg.schedule is SparsifySchedule.FIXED:
        run = fixed_schedule(model, masks, cfg.sparsity, cfg.steps, one_fine_tune, evaluate)
    else:
        run = dynamic_threshold(
            model, masks, cfg.sparsity, one_fine_tune, evaluate, cfg.tolerance, max_fine_tunes=cfg.max_finetunes
        )
    masks.remove()
    masked = accuracy(model, *test)
    shared = SharedWeights(model, cfg.sharing.bits)
    if cfg.sharing.finetune_epochs:
        fine_tune(model, cfg.sharing.finetune_epochs)
    shared.remove()
    return Sparsified(
        schedule=cfg.schedule.value,
        target_sparsity=cfg.sparsity,
        sparsity=run.sparsity,
        fine_tunes=run.fine_tunes,
        seconds=run.seconds,
        accuracy_dense=dense,
        accuracy_masked=masked,
        accuracy=accuracy(model, *test),
        storage=storage(model, shared, cfg.sharing.index_bits),
    )
