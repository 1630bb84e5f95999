"""Structured pruning of a trained network: score, allocate, remove, fine-tune; one-shot or iterative.

One-shot removes ``cfg.rate`` of all prunable channels at once; iterative reaches it in ``cfg.steps`` equal
steps, fine-tuning after each. The prune stage and the benchmarks both call ``prune_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from hwcompress.config import PruneConfig, PruneSchedule
from hwcompress.data import Splits
from hwcompress.prune.allocate import channels_to_keep, kept_counts, round_counts
from hwcompress.prune.folding import foldable_counts, matrix_layers
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.importance import TrainingData
from hwcompress.prune.scoring import channel_scores, per_mac
from hwcompress.prune.surgery import channel_counts, prune_channels
from hwcompress.train.loop import accuracy

#: ``fine_tune(model, step)`` trains the pruned model in place after pruning step ``step`` (1-based).
FineTune = Callable[[nn.Module, int], None]


@dataclass
class Pruned:
    """The pruned network, its kept channels as indices into the original ones, and what each step did."""

    model: nn.Module
    before: dict[str, int]
    keep: dict[str, torch.Tensor]
    granularity: dict[str, int] = field(default_factory=dict)
    steps: list[dict] = field(default_factory=list)

    @property
    def after(self) -> dict[str, int]:
        return {name: len(index) for name, index in self.keep.items()}

    @property
    def achieved_rate(self) -> float:
        total = sum(self.before.values())
        return 1.0 - sum(self.after.values()) / total if total else 0.0


def prune_model(
    model: nn.Module,
    data: Splits,
    cfg: PruneConfig,
    cycles_per_image: float | None,
    fine_tune: FineTune,
    log: Callable[[str], None] = lambda _: None,
) -> Pruned:
    """Prune ``model`` (left as it is) as ``cfg`` says.

    ``cycles_per_image`` (clock / target fps) sizes ``granularity: auto``; it is needed only then.
    """
    result = unpruned(model)
    if not cfg.enabled:
        return result
    if cfg.granularity == "auto" and cycles_per_image is None:
        raise ValueError("granularity 'auto' needs the cycle budget per image (clock / target fps)")
    rounds = cfg.steps if cfg.schedule is PruneSchedule.ITERATIVE else 1
    for step in range(1, rounds + 1):
        rate = cfg.rate * step / rounds
        _prune_step(result, data, cfg, rate, cycles_per_image)
        fine_tune(result.model, step)
        result.steps.append({"step": step, "rate": rate, "val": accuracy(result.model, data.val_x, data.val_y)})
        log(
            f"prune step {step}/{rounds}: {sum(result.after.values())} channels kept, val {result.steps[-1]['val']:.2%}"
        )
    return result


def unpruned(model: nn.Module) -> Pruned:
    """``model`` as a pruning result that kept every channel."""
    groups = coupling_groups(model)
    return Pruned(model, channel_counts(model, groups), {g.name: torch.arange(g.channels) for g in groups})


def channel_counts_for(
    model: nn.Module,
    input_shape: tuple[int, ...],
    scores: dict[str, torch.Tensor],
    rate: float,
    cfg: PruneConfig,
    cycles_per_image: float | None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Channels each group of ``model`` keeps when ``rate`` of them go, and the multiple each count is rounded to.

    With uniform allocation the scores' values do not matter (only their sizes): the counts are known
    before training, which the pre-flight fit check relies on.
    """
    groups = coupling_groups(model)
    counts = kept_counts(scores, rate, cfg.allocation, cfg.min_channels)
    if cfg.granularity == "auto":
        layers = matrix_layers(model, input_shape)
        return foldable_counts(layers, groups, counts, cycles_per_image, cfg.min_channels)
    granularity = {group.name: cfg.granularity for group in groups}
    return round_counts(counts, {g.name: g.channels for g in groups}, granularity, cfg.min_channels), granularity


def _prune_step(result: Pruned, data: Splits, cfg: PruneConfig, rate: float, cycles_per_image: float | None) -> None:
    """Remove channels until ``rate`` of the original ones are gone."""
    groups = coupling_groups(result.model)
    current = sum(channel_counts(result.model, groups).values())
    relative = max(0.0, 1.0 - round(sum(result.before.values()) * (1.0 - rate)) / current)
    scores = channel_scores(cfg.criterion, result.model, groups, TrainingData(data.train_x, data.train_y))
    if cfg.cost_aware:
        scores = per_mac(scores, result.model, groups, data.input_shape)
    counts, result.granularity = channel_counts_for(
        result.model, data.input_shape, scores, relative, cfg, cycles_per_image
    )
    chosen = channels_to_keep(scores, counts)
    result.model = prune_channels(result.model, groups, chosen)
    result.keep = {name: result.keep[name][chosen[name]] for name in result.keep}
