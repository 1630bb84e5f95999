"""Channel scores for a criterion config: the handler registered to the config's type computes them."""

from __future__ import annotations

from pydantic import BaseModel
from torch import nn

# The criterion modules register their handlers when imported.
from hwcompress.prune import criteria, pcas  # noqa: F401
from hwcompress.prune.groups import ChannelGroup
from hwcompress.prune.importance import Scores, TrainingData, handler_for


def channel_scores(
    config: BaseModel, model: nn.Module, groups: list[ChannelGroup], data: TrainingData | None
) -> Scores:
    """One score per channel of every group (higher = keep), by the criterion ``config`` configures."""
    return handler_for(config)(model, groups, data)
