"""The oracle a channel criterion is judged against: how much the loss rises when that channel alone is zeroed.

The channel is zeroed where the criteria look at it (``ChannelGroup.observed``: after its activation quantizer),
one channel at a time, on held-out images; the rise of the mean cross-entropy is its importance. It costs one
pass over the images per channel, so it diagnoses criteria (``bench/pcas_diagnosis.py``) rather than pruning.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hwcompress.prune.groups import ChannelGroup
from hwcompress.prune.importance import Scores


def zeroed_loss_rise(
    model: nn.Module, groups: list[ChannelGroup], images: np.ndarray, labels: np.ndarray, batch_size: int = 1000
) -> Scores:
    """Each channel's rise of the mean loss on ``images`` when it alone is zeroed (``model`` left as it is)."""
    modules = dict(model.named_modules())
    batches = [
        (torch.from_numpy(images[first : first + batch_size]), torch.from_numpy(labels[first : first + batch_size]))
        for first in range(0, len(images), batch_size)
    ]
    zeroed: dict[str, int | None] = {"group": None, "channel": None}

    def loss() -> float:
        with torch.no_grad():
            total = sum(F.cross_entropy(model(x), y, reduction="sum").item() for x, y in batches)
        return total / len(images)

    def hook(name: str):
        def zero(module, inputs, output):
            if zeroed["group"] != name:
                return None
            value = getattr(output, "value", output).clone()
            value[:, zeroed["channel"]] = 0
            return value

        return zero

    was_training = model.training
    model.eval()
    handles = [modules[g.observed].register_forward_hook(hook(g.name)) for g in groups]
    try:
        base = loss()
        rises = {}
        for g in groups:
            rise = torch.zeros(g.channels)
            for channel in range(g.channels):
                zeroed.update(group=g.name, channel=channel)
                rise[channel] = loss() - base
            rises[g.name] = rise
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rises
