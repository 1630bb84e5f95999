"""What every channel criterion shares: its call signature, the training data it may look at, per-layer
normalisation, and the one registry that maps a criterion's config type to its handler.

How to add a criterion: a config model in ``hwcompress.config`` (a ``name`` literal and its knobs) added to
``CriterionConfig``, and a handler class built from that config whose call returns one score per channel
(higher = keep), registered with ``@register_criterion(MyCriterion)``:

    @register_criterion(MyCriterion)
    class MyImportance:
        def __init__(self, config: MyCriterion) -> None:
            self.config = config

        def __call__(self, model, groups, data) -> Scores: ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from pydantic import BaseModel
from torch import nn

from hwcompress.config import Normalization
from hwcompress.prune.groups import ChannelGroup

Scores = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainingData:
    """uint8 images (N, C, H, W) and labels that data-driven criteria look at."""

    images: np.ndarray
    labels: np.ndarray

    def batches(self, batch_size: int, limit: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        stop = len(self.images) if limit is None else min(len(self.images), limit * batch_size)
        for first in range(0, stop, batch_size):
            yield (
                torch.from_numpy(self.images[first : first + batch_size]),
                torch.from_numpy(self.labels[first : first + batch_size]),
            )


class Importance(Protocol):
    def __call__(self, model: nn.Module, groups: list[ChannelGroup], data: TrainingData | None) -> Scores: ...


_HANDLERS: dict[type[BaseModel], Callable[[Any], Importance]] = {}


def register_criterion(config_type: type[BaseModel]) -> Callable:
    """Class decorator: ``config_type``'s criterion is computed by the decorated class, built from the config."""

    def register(handler: Callable[[Any], Importance]) -> Callable[[Any], Importance]:
        if config_type in _HANDLERS:
            raise ValueError(f"{config_type.__name__} already has a handler: {_HANDLERS[config_type]}")
        _HANDLERS[config_type] = handler
        return handler

    return register


def handler_for(config: BaseModel) -> Importance:
    """The criterion ``config`` configures, ready to call.

    Raises:
        KeyError: no handler is registered for the config's type.
    """
    return _HANDLERS[type(config)](config)


def registered() -> frozenset[type[BaseModel]]:
    """The config types that have a handler."""
    return frozenset(_HANDLERS)


def normalize(scores: torch.Tensor, how: Normalization) -> torch.Tensor:
    """A layer's scores scaled so that one ranking can compare them with other layers' (Torch-Pruning's idea)."""
    if how is Normalization.NONE:
        return scores
    if how is Normalization.PERCENTILE:  # the share of the layer's channels each one outranks or ties
        ranks = scores.argsort().argsort().to(torch.float32) + 1
        return ranks / len(scores)
    scale = {
        Normalization.MEAN: scores.mean,
        Normalization.MAX: scores.max,
        Normalization.SUM: scores.sum,
        Normalization.L2: scores.norm,
    }[how]()
    return scores / scale if scale > 0 else scores
