"""Channel importance criteria: each a small class whose call returns one score per channel, higher = keep.

Scores are made comparable across layers, so that one global rate can rank all channels: L1 and BN scores
are divided by their layer's mean, Taylor scores by their layer's L2 norm (as Molchanov et al. do).

How to add a criterion: a class with ``__call__(model, groups, data) -> dict[group name, Tensor]`` and an
entry in ``CRITERIA``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hwcompress.prune.groups import ChannelGroup

Scores = dict[str, torch.Tensor]


class Importance(Protocol):
    def __call__(self, model: nn.Module, groups: list[ChannelGroup], data: TrainingData | None) -> Scores: ...


@dataclass(frozen=True)
class TrainingData:
    """uint8 images (N, C, H, W) and labels that data-driven criteria look at."""

    images: np.ndarray
    labels: np.ndarray

    def batches(self, batch_size: int, limit: int | None = None):
        stop = len(self.images) if limit is None else min(len(self.images), limit * batch_size)
        for first in range(0, stop, batch_size):
            yield (
                torch.from_numpy(self.images[first : first + batch_size]),
                torch.from_numpy(self.labels[first : first + batch_size]),
            )


def _by_mean(scores: torch.Tensor) -> torch.Tensor:
    mean = scores.mean()
    return scores / mean if mean > 0 else scores


@dataclass(frozen=True)
class Random:
    """Random scores: the control every criterion must beat."""

    seed: int = 0

    def __call__(self, model, groups, data=None) -> Scores:
        generator = torch.Generator().manual_seed(self.seed)
        return {g.name: torch.rand(g.channels, generator=generator) for g in groups}


@dataclass(frozen=True)
class L1Norm:
    """Mean absolute weight of each output filter (Li et al., ICLR 2017), relative to its layer's mean."""

    def __call__(self, model, groups, data=None) -> Scores:
        modules = dict(model.named_modules())
        scores = {}
        for g in groups:
            weight = modules[g.producer].weight.detach()
            scores[g.name] = _by_mean(weight.abs().flatten(1).mean(dim=1))
        return scores


@dataclass(frozen=True)
class BNScale:
    """|gamma| of the batch norm on each channel (network slimming, Liu et al. 2017), relative to the mean."""

    def __call__(self, model, groups, data=None) -> Scores:
        modules = dict(model.named_modules())
        scores = {}
        for g in groups:
            if not g.norms:
                raise ValueError(f"{g.name} has no batch norm: the bn criterion cannot rank it")
            scores[g.name] = _by_mean(modules[g.norms[0]].weight.detach().abs())
        return scores


@dataclass(frozen=True)
class Taylor:
    """First-order Taylor expansion of the loss on each channel's activation (Molchanov et al., ICLR 2017).

    |mean over samples of sum over positions of activation x gradient|, measured on the channel's quantized
    activation over ``batches`` training batches, L2-normalized per layer.
    """

    batches: int = 20
    batch_size: int = 128

    def __call__(self, model, groups, data=None) -> Scores:
        if data is None:
            raise ValueError("the taylor criterion needs training data")
        modules = dict(model.named_modules())
        totals = {g.name: torch.zeros(g.channels) for g in groups}
        captured: dict[str, torch.Tensor] = {}
        hooks = [modules[g.observed].register_forward_hook(_keep_output(g.name, captured)) for g in groups]
        was_training = model.training
        model.eval()
        seen = 0
        try:
            for images, labels in data.batches(self.batch_size, self.batches):
                model.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(images), labels)
                loss.backward()
                for name, activation in captured.items():
                    contribution = (
                        (activation * activation.grad).flatten(2).sum(2)
                        if activation.dim() > 2
                        else (activation * activation.grad)
                    )
                    totals[name] += contribution.detach().sum(0)
                seen += len(images)
        finally:
            for hook in hooks:
                hook.remove()
            model.zero_grad(set_to_none=True)
            model.train(was_training)
        return {name: _l2(total.abs() / max(seen, 1)) for name, total in totals.items()}


def _keep_output(name: str, store: dict[str, torch.Tensor]) -> Callable:
    def hook(module, inputs, output):
        value = getattr(output, "value", output)  # a QuantTensor after an activation quantizer
        value.retain_grad()
        store[name] = value
        return value

    return hook


def _l2(scores: torch.Tensor) -> torch.Tensor:
    norm = scores.norm()
    return scores / norm if norm > 0 else scores


def _pcas() -> Importance:
    from hwcompress.prune.pcas import PCAS

    return PCAS()


CRITERIA: dict[str, Callable[[], Importance]] = {
    "random": Random,
    "l1": L1Norm,
    "bn": BNScale,
    "taylor": Taylor,
    "pcas": _pcas,
}
