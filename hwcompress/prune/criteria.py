"""The classic channel criteria: random, filter norm, batch-norm scale and first-order Taylor.

Each is built from its config (``hwcompress.config``) and registered to it; its call returns one score per
channel, higher = keep, scaled per layer by the config's ``normalization`` so that one global rate can rank
every channel. Where several layers write a group's channels (the writers of a residual stream), the norm
criterion averages over them; with ``group_reduction`` it also takes in the group's depthwise filters and its
consumers' input weights, as Torch-Pruning's group importance does. The batch-norm criterion combines every
batch norm on the channels; the Taylor criterion with ``group_reduction`` scores the group's weights
(|w x dL/dw|, Torch-Pruning's group Taylor) instead of the activation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from hwcompress.config import BNCriterion, GroupReduction, L1Criterion, RandomCriterion, TaylorCriterion
from hwcompress.prune.importance import Scores, normalize, register_criterion

#: How the norms of a group's parts combine (``none`` averages the writers' alone).
REDUCE = {
    GroupReduction.NONE: torch.mean,
    GroupReduction.MEAN: torch.mean,
    GroupReduction.SUM: torch.sum,
    GroupReduction.MAX: torch.amax,
}


@register_criterion(RandomCriterion)
class Random:
    """Random scores: the control every criterion must beat."""

    def __init__(self, config: RandomCriterion | None = None) -> None:
        self.config = config or RandomCriterion()

    def __call__(self, model, groups, data=None) -> Scores:
        generator = torch.Generator().manual_seed(self.config.seed)
        return {g.name: torch.rand(g.channels, generator=generator) for g in groups}


@register_criterion(L1Criterion)
class L1Norm:
    """Mean absolute weight (p = 1) or root mean square (p = 2) of each output filter (Li et al., ICLR 2017)."""

    def __init__(self, config: L1Criterion | None = None) -> None:
        self.config = config or L1Criterion()

    def __call__(self, model, groups, data=None) -> Scores:
        modules = dict(model.named_modules())
        scores = {}
        reduction = self.config.group_reduction
        for g in groups:
            parts = [modules[part.module].weight.detach().flatten(1) for part in g.producers]
            if reduction is not GroupReduction.NONE:
                parts += [modules[part.module].weight.detach().flatten(1) for part in g.outputs[len(g.producers) :]]
                parts += [
                    modules[part.module].weight.detach().transpose(0, 1).reshape(g.channels, -1) for part in g.consumers
                ]
            norms = torch.stack([self._norm(weight) for weight in parts])
            scores[g.name] = normalize(REDUCE[reduction](norms, dim=0), self.config.normalization)
        return scores

    def _norm(self, rows: torch.Tensor) -> torch.Tensor:
        """Each row's mean |w| (p = 1) or root mean square (p = 2)."""
        return rows.abs().mean(dim=1) if self.config.p == 1 else rows.pow(2).mean(dim=1).sqrt()


@register_criterion(BNCriterion)
class BNScale:
    """|gamma| of the batch norm on each channel (network slimming, Liu et al. 2017)."""

    def __init__(self, config: BNCriterion | None = None) -> None:
        self.config = config or BNCriterion()

    def __call__(self, model, groups, data=None) -> Scores:
        modules = dict(model.named_modules())
        scores = {}
        for g in groups:
            if not g.norms:
                raise ValueError(f"{g.name} has no batch norm: the bn criterion cannot rank it")
            gammas = torch.stack([modules[name].weight.detach().abs() for name in g.norms])
            scores[g.name] = normalize(REDUCE[self.config.group_reduction](gammas, dim=0), self.config.normalization)
        return scores


@register_criterion(TaylorCriterion)
class Taylor:
    """First-order Taylor expansion of the loss on each channel's activation (Molchanov et al., ICLR 2017).

    |mean over samples of sum over positions of activation x gradient|, measured on the channel's quantized
    activation over the config's ``batches`` training batches.
    """

    def __init__(self, config: TaylorCriterion | None = None) -> None:
        self.config = config or TaylorCriterion()

    def __call__(self, model, groups, data=None) -> Scores:
        if data is None:
            raise ValueError("the taylor criterion needs training data")
        if self.config.group_reduction is not GroupReduction.NONE:
            return self._group(model, groups, data)
        modules = dict(model.named_modules())
        totals = {g.name: torch.zeros(g.channels) for g in groups}
        captured: dict[str, torch.Tensor] = {}
        hooks = [modules[g.observed].register_forward_hook(_keep_output(g.name, captured)) for g in groups]
        was_training = model.training
        model.eval()
        seen = 0
        try:
            for images, labels in data.batches(self.config.batch_size, self.config.batches):
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
        return {
            name: normalize(total.abs() / max(seen, 1), self.config.normalization) for name, total in totals.items()
        }

    def _group(self, model, groups, data) -> Scores:
        """|w x dL/dw| per channel of every part of each group, the gradients summed over the batches."""
        modules = dict(model.named_modules())
        was_training = model.training
        model.eval()
        model.zero_grad(set_to_none=True)
        try:
            for images, labels in data.batches(self.config.batch_size, self.config.batches):
                F.cross_entropy(model(images), labels).backward()
            scores = {}
            for g in groups:
                parts = [_taylor_rows(modules[part.module].weight, g.channels) for part in g.outputs]
                parts += [
                    _taylor_rows(modules[name].weight, g.channels) + _taylor_rows(modules[name].bias, g.channels)
                    for name in g.norms
                ]
                parts += [_taylor_rows(modules[part.module].weight, g.channels, part.dim) for part in g.consumers]
                combined = REDUCE[self.config.group_reduction](torch.stack(parts), dim=0)
                scores[g.name] = normalize(combined, self.config.normalization)
        finally:
            model.zero_grad(set_to_none=True)
            model.train(was_training)
        return scores


def _taylor_rows(parameter: torch.Tensor, channels: int, dim: int = 0) -> torch.Tensor:
    """Sum of |w x dL/dw| over each of ``channels`` slices of ``parameter`` along ``dim``."""
    if parameter.grad is None:
        return torch.zeros(channels)
    product = (parameter.detach() * parameter.grad).abs().transpose(0, dim)
    return product.reshape(channels, -1).sum(1)


def _keep_output(name: str, store: dict[str, torch.Tensor]) -> Callable:
    def hook(module, inputs, output):
        value = getattr(output, "value", output)  # a QuantTensor after an activation quantizer
        value.retain_grad()
        store[name] = value
        return value

    return hook
