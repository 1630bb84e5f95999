"""Channel scores for a criterion config: the handler registered to the config's type computes them; optionally
per MAC each channel costs."""

from __future__ import annotations

from pydantic import BaseModel
from torch import nn

# The criterion modules register their handlers when imported.
from hwcompress.hw.cost import layer_costs
from hwcompress.prune import criteria, pcas  # noqa: F401
from hwcompress.prune.groups import ChannelGroup
from hwcompress.prune.importance import Scores, TrainingData, handler_for


def channel_scores(
    config: BaseModel, model: nn.Module, groups: list[ChannelGroup], data: TrainingData | None
) -> Scores:
    """One score per channel of every group (higher = keep), by the criterion ``config`` configures."""
    return handler_for(config)(model, groups, data)


def per_mac(scores: Scores, model: nn.Module, groups: list[ChannelGroup], input_shape: tuple[int, ...]) -> Scores:
    """Each channel's score divided by the MACs that go with it: its share of every layer that writes it (the
    depthwise filters included) and every layer that reads it. A cheap channel then outranks a costly one of
    equal importance: one global ranking removes the most computation for the least importance."""
    macs = {cost.name: cost.macs for cost in layer_costs(model, input_shape)}
    costs = {}
    for group in groups:
        total = sum(macs[part.module.rsplit(".", 1)[-1]] for part in (*group.outputs, *group.consumers))
        costs[group.name] = total / group.channels
    return {name: score / costs[name] for name, score in scores.items()}
