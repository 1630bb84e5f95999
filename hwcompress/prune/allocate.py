"""How many channels each group keeps for one pruning rate, and which.

Global allocation ranks every channel of every group on one scale (the PCAS way: layers lose different numbers
of channels); uniform allocation removes the same share from each group. Kept counts are then rounded to a
granularity: FINN folds a layer with PE dividing its output channels, so 37 channels fold only as PE 1 or 37,
while 40 fold as 1, 2, 4, 5, 8, 10, 20 or 40.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from hwcompress.config import Allocation


def kept_counts(
    scores: dict[str, torch.Tensor],
    rate: float,
    allocation: Allocation = Allocation.GLOBAL,
    min_channels: int = 1,
    granularity: int | Mapping[str, int] = 1,
) -> dict[str, int]:
    """Channels each group keeps when ``rate`` of all channels go, rounded to ``granularity`` (per group)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"pruning rate must be in [0, 1), got {rate}")
    sizes = {name: len(s) for name, s in scores.items()}
    floor = {name: min(size, max(min_channels, 1)) for name, size in sizes.items()}
    if allocation is Allocation.UNIFORM:
        counts = {name: max(floor[name], round(size * (1.0 - rate))) for name, size in sizes.items()}
    else:
        counts = dict(sizes)
        to_remove = round(rate * sum(sizes.values()))
        ranked = sorted(((float(score), name) for name, s in scores.items() for score in s), key=lambda pair: pair[0])
        for _, name in ranked:
            if to_remove == 0:
                break
            if counts[name] > floor[name]:
                counts[name] -= 1
                to_remove -= 1
    return round_counts(counts, sizes, granularity, min_channels)


def round_counts(
    counts: Mapping[str, int], sizes: Mapping[str, int], granularity: int | Mapping[str, int], min_channels: int = 1
) -> dict[str, int]:
    """Each count rounded to the nearest multiple of its granularity, within [min_channels, size]."""
    step = granularity if isinstance(granularity, Mapping) else dict.fromkeys(counts, granularity)
    rounded = {}
    for name, count in counts.items():
        g, low = step[name], min(sizes[name], max(min_channels, 1))
        rounded[name] = count if g <= 1 else min(sizes[name], max(low, g, round(count / g) * g))
    return rounded


def channels_to_keep(scores: dict[str, torch.Tensor], counts: dict[str, int]) -> dict[str, torch.Tensor]:
    """The ``counts[name]`` highest-scoring channels of each group, in ascending order."""
    return {name: torch.topk(scores[name], counts[name]).indices.sort().values for name in scores if name in counts}
