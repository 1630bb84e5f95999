"""Structured pruning of a trained network: score, allocate, remove, fine-tune; one-shot or iterative.

One-shot removes ``cfg.rate`` of all prunable channels at once; iterative reaches it in ``cfg.steps`` equal
steps, fine-tuning after each. With ``cfg.keep_macs`` each step removes channels, in the criterion's order, until
the network's MACs are down to that step's share. The prune stage and the benchmarks both call ``prune_model``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from hwcompress.config import PruneConfig, PruneSchedule
from hwcompress.data import Splits
from hwcompress.hw.cost import layer_costs, totals
from hwcompress.prune.allocate import channels_to_keep, kept_counts, round_counts
from hwcompress.prune.folding import foldable_counts, matrix_layers
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.importance import Importance, TrainingData
from hwcompress.prune.scoring import channel_scores, per_mac
from hwcompress.prune.surgery import channel_counts, prune_channels
from hwcompress.train.loop import accuracy

#: The most of a network's remaining channels one step removes when it aims at a MAC budget.
MAX_RATE = 0.99

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
    importance: Importance | None = None,
) -> Pruned:
    """Prune ``model`` (left as it is) as ``cfg`` says.

    ``cycles_per_image`` (clock / target fps) sizes ``granularity: auto``; it is needed only then.
    ``importance`` scores the channels instead of ``cfg.criterion`` (a peer library's, in the benchmarks).
    """
    result = unpruned(model)
    if not cfg.enabled:
        return result
    if cfg.granularity == "auto" and cycles_per_image is None:
        raise ValueError("granularity 'auto' needs the cycle budget per image (clock / target fps)")
    rounds = cfg.steps if cfg.schedule is PruneSchedule.ITERATIVE else 1
    full_macs = network_macs(model, data.input_shape)
    for step in range(1, rounds + 1):
        budget = None if cfg.keep_macs is None else full_macs * (1 - (1 - cfg.keep_macs) * step / rounds)
        rate = cfg.rate * step / rounds if budget is None else None
        _prune_step(result, data, cfg, rate, cycles_per_image, budget, importance)
        rate = result.achieved_rate if rate is None else rate
        fine_tune(result.model, step)
        val = accuracy(result.model, data.val_x, data.val_y)
        result.steps.append(
            {"step": step, "rate": rate, "macs": network_macs(result.model, data.input_shape), "val": val}
        )
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


def network_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of ``model``."""
    return totals(layer_costs(model, input_shape))["macs"]


def _prune_step(
    result: Pruned,
    data: Splits,
    cfg: PruneConfig,
    rate: float | None,
    cycles_per_image: float | None,
    macs: float | None = None,
    importance: Importance | None = None,
) -> None:
    """Remove channels until ``rate`` of the original ones are gone, or until at most ``macs`` are left."""
    groups = coupling_groups(result.model)
    training = TrainingData(data.train_x, data.train_y)
    if importance is None:
        scores = channel_scores(cfg.criterion, result.model, groups, training)
    else:
        scores = importance(result.model, groups, training)
    if cfg.cost_aware:
        scores = per_mac(scores, result.model, groups, data.input_shape)

    def pruned_at(relative: float) -> tuple[nn.Module, dict[str, torch.Tensor], dict[str, int]]:
        counts, granularity = channel_counts_for(
            result.model, data.input_shape, scores, relative, cfg, cycles_per_image
        )
        chosen = channels_to_keep(scores, counts)
        return prune_channels(result.model, groups, chosen), chosen, granularity

    if rate is not None:
        current = sum(channel_counts(result.model, groups).values())
        relative = max(0.0, 1.0 - round(sum(result.before.values()) * (1.0 - rate)) / current)
    else:
        relative = _rate_for_macs(lambda r: network_macs(pruned_at(r)[0], data.input_shape), macs)
    result.model, chosen, result.granularity = pruned_at(relative)
    result.keep = {name: result.keep[name][chosen[name]] for name in result.keep}


def _rate_for_macs(macs_at: Callable[[float], int], target: float, steps: int = 20) -> float:
    """The smallest share of channels to remove (by bisection) that leaves at most ``target`` MACs."""
    low, high = 0.0, MAX_RATE
    if macs_at(high) > target:
        return high
    for _ in range(steps):
        middle = (low + high) / 2
        low, high = (middle, high) if macs_at(middle) > target else (low, middle)
    return high
