"""Unstructured magnitude pruning: weight masks, and two ways of raising the threshold to a target sparsity.

Weights are ranked across all layers by a layer-adaptive score (LAMP, Lee et al. 2021; or magnitude over the
layer's std, Han et al. 2015), so one sparsity applies to the whole model and layers lose different shares.
``fixed_schedule`` raises the sparsity in equal steps with a fine-tune after each, as set by hand;
``dynamic_threshold`` (after Lee & Park 2021) raises it while validation accuracy stays within a tolerance,
growing the step while pruning is free and fine-tuning only when accuracy falls out of the tolerance. Zeros
shrink the stored model (see ``deep_compression``), not a FINN accelerator: FINN's MVAUs compute every weight.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from hwcompress.models.quant import COMPUTE_LAYERS

#: ``fine_tune(model)`` trains the masked model in place (one unit of the budget, e.g. one epoch).
FineTune = Callable[[nn.Module], None]
#: ``evaluate(model)`` returns validation accuracy as a fraction.
Evaluate = Callable[[nn.Module], float]


def weight_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The model's linear and conv layers by module name: what unstructured pruning and sharing act on."""
    return {name: module for name, module in model.named_modules() if isinstance(module, COMPUTE_LAYERS)}


class WeightHooks:
    """Re-applies ``project`` to each layer's weights before every forward pass (and on demand).

    Training steps move the float weights freely; projecting them before use keeps the constraint (a mask,
    shared values) in every forward pass, as the paper's methods do by masking gradients.
    """

    def __init__(self, model: nn.Module) -> None:
        self.layers = weight_layers(model)
        self._names = {id(module): name for name, module in self.layers.items()}
        self._handles = [m.register_forward_pre_hook(self._before_forward) for m in self.layers.values()]

    def _before_forward(self, module: nn.Module, _inputs) -> None:
        self._apply(module)

    def project(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def _apply(self, module: nn.Module) -> None:
        module.weight.copy_(self.project(self._names[id(module)], module.weight))

    def apply(self) -> None:
        """Project every layer's weights now."""
        for module in self.layers.values():
            self._apply(module)

    def remove(self) -> None:
        """Project once more and detach the hooks: the weights keep the constraint, training no longer does."""
        self.apply()
        for handle in self._handles:
            handle.remove()
        self._handles = []


class WeightMasks(WeightHooks):
    """Binary masks on the weights of every linear and conv layer; pruned weights read as zero.

    Weights are ranked across layers by ``scoring``: ``std``, magnitude over the layer's std (Han et al.
    2015), or ``lamp``, the layer-adaptive score of Lee et al. (2021), which spares small layers. No layer
    keeps fewer than ``min_density`` of its weights: one threshold for all layers would otherwise empty a small
    classifier whose weights spread wider than the rest (Han et al. keep 26 % of LeNet-300-100's).
    """

    def __init__(self, model: nn.Module, min_density: float = 0.05, scoring: str = "lamp") -> None:
        super().__init__(model)
        if scoring not in ("std", "lamp"):
            raise ValueError(f"scoring must be 'std' or 'lamp', got {scoring!r}")
        self.min_density, self.scoring = min_density, scoring
        self.masks = {name: torch.ones_like(m.weight, dtype=torch.bool) for name, m in self.layers.items()}
        self._std = {name: float(m.weight.detach().std()) or 1.0 for name, m in self.layers.items()}

    def project(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.masks[name]

    @property
    def sparsity(self) -> float:
        total = sum(mask.numel() for mask in self.masks.values())
        return 1.0 - sum(int(mask.sum()) for mask in self.masks.values()) / total

    @torch.no_grad()
    def prune_to(self, sparsity: float) -> None:
        """Zero the lowest-scoring weights until ``sparsity`` of all are zero.

        Each layer's ``min_density`` largest stay; masks only shrink.
        """
        total = sum(mask.numel() for mask in self.masks.values())
        if not 0.0 <= sparsity <= 1.0 - self.min_density:
            raise ValueError(f"sparsity must be in [0, {1 - self.min_density:g}] with min_density {self.min_density:g}")
        scores = []
        for name, module in self.layers.items():
            score = self._score(name, module.weight.flatten() * self.masks[name].flatten())
            floor = math.ceil(self.min_density * score.numel())
            score[score.topk(floor).indices] = math.inf
            scores.append(score)
        flat = torch.cat(scores)
        pruned = torch.zeros(total, dtype=torch.bool)
        pruned[flat.argsort(stable=True)[: round(sparsity * total)]] = True
        offset = 0
        for mask in self.masks.values():
            mask &= ~pruned[offset : offset + mask.numel()].view_as(mask)
            offset += mask.numel()
        self.apply()

    def _score(self, name: str, weight: torch.Tensor) -> torch.Tensor:
        if self.scoring == "std":
            return weight.abs() / self._std[name]
        # LAMP (Lee et al., ICLR 2021): w^2 over the sum of w^2 of the layer's weights at least as large
        squares = weight.flatten() ** 2
        order = squares.argsort()
        ranked = squares[order]
        score = torch.empty_like(squares)
        score[order] = ranked / ranked.flip(0).cumsum(0).flip(0).clamp(min=torch.finfo(squares.dtype).tiny)
        return score.view_as(weight)


@dataclass
class PruneStep:
    """One threshold raise: the sparsity reached, validation accuracy, and whether a fine-tune followed."""

    sparsity: float
    val_acc: float
    fine_tuned: bool


@dataclass
class MagnitudeRun:
    """How a schedule went: its steps, fine-tune units spent, seconds, and the final sparsity."""

    method: str
    steps: list[PruneStep] = field(default_factory=list)
    fine_tunes: int = 0
    seconds: float = 0.0

    @property
    def sparsity(self) -> float:
        return self.steps[-1].sparsity if self.steps else 0.0


def fixed_schedule(
    model: nn.Module, masks: WeightMasks, target: float, steps: int, fine_tune: FineTune, evaluate: Evaluate
) -> MagnitudeRun:
    """Raise sparsity to ``target`` in ``steps`` equal steps, fine-tuning after each (Han et al.'s schedule)."""
    run, began = MagnitudeRun("fixed"), time.perf_counter()
    for step in range(1, steps + 1):
        masks.prune_to(target * step / steps)
        fine_tune(model)
        masks.apply()
        run.fine_tunes += 1
        run.steps.append(PruneStep(masks.sparsity, evaluate(model), True))
    run.seconds = time.perf_counter() - began
    return run


def dynamic_threshold(
    model: nn.Module,
    masks: WeightMasks,
    target: float,
    fine_tune: FineTune,
    evaluate: Evaluate,
    tolerance: float = 0.002,
    first_step: float = 0.2,
    max_fine_tunes: int = 20,
) -> MagnitudeRun:
    """Raise sparsity towards ``target`` while validation accuracy stays within ``tolerance`` of the start.

    A raise that keeps accuracy costs one evaluation and doubles the next step; one that loses it is followed
    by fine-tunes until accuracy is back, and halves the next step. Stops at ``target`` with accuracy within
    the tolerance, or after ``max_fine_tunes`` (the run's ``sparsity`` then says how far it got).
    """
    run, began = MagnitudeRun("dynamic"), time.perf_counter()
    floor = evaluate(model) - tolerance
    step = first_step
    while masks.sparsity < target:
        before = masks.sparsity
        masks.prune_to(min(target, before + step))
        if masks.sparsity == before:  # within one weight of the target
            break
        acc, tuned = evaluate(model), False
        while acc < floor and run.fine_tunes < max_fine_tunes:
            fine_tune(model)
            masks.apply()
            run.fine_tunes += 1
            acc, tuned = evaluate(model), True
        run.steps.append(PruneStep(masks.sparsity, acc, tuned))
        if acc < floor:
            break
        step = step / 2 if tuned else step * 2
    run.seconds = time.perf_counter() - began
    return run
