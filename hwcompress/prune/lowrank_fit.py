"""Fitting low-rank factors (``lowrank.split_layers``'s layers) so that they start close to the layer they replace.

Zhang et al. ("Accelerating very deep convolutional networks", 2015) fit the second factor to the layer's
outputs the same way: the first factor is ``V_r^T`` at the scale its quantizer represents best; the
bottleneck's batch norm is calibrated on training images; the second is the least-squares map from the
quantized bottleneck to the original layer's outputs. Every batch norm after it is then recalibrated, and the
caller fine-tunes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hwcompress.prune.lowrank import SUFFIX, Factor, factorizable, short_names, split_layers, weight_matrix

#: Bottleneck batch-norm gains tried when fitting the second factor (the share of the quantizer's range one
#: standard deviation spans).
GAINS = (0.25, 0.35, 0.5, 0.7, 1.0)
#: Clipping points tried for a factor's quantization, as shares of each row's largest magnitude.
CLIPS = torch.linspace(0.05, 1.0, 40)
#: Most rows (images x output pixels) a least-squares fit uses.
MAX_ROWS = 200_000


@torch.no_grad()
def factorize(model: nn.Module, factors: Sequence[Factor], images: torch.Tensor, batch: int = 512) -> nn.Module:
    """A copy of ``model`` with each factor's layer split in two, the factors fitted on ``images``
    (a few thousand training images) and every batch norm recalibrated on them; ``model`` is unchanged."""
    model = model.eval()
    modules = factorizable(model, [factor.layer for factor in factors])
    weights = {layer: weight_matrix(module) for layer, module in modules.items()}
    split = split_layers(model, {factor.layer: factor.split for factor in factors}).eval()
    names = short_names(split)
    order = list(names)
    for factor in sorted(factors, key=lambda f: order.index(f.layer)):  # each fit sees the earlier factors
        first = split.get_submodule(names[factor.layer + SUFFIX])
        norm = split.get_submodule(names[f"{factor.layer}{SUFFIX}_bn"])
        act = split.get_submodule(names[f"{factor.layer}{SUFFIX}_act"])
        second = split.get_submodule(names[factor.layer])
        _, _, vh = torch.linalg.svd(weights[factor.layer], full_matrices=False)
        first.weight.copy_(_quantizable(first, vh[: factor.rank]).reshape(first.weight.shape))
        inputs = _inputs_of(split, first, images, batch)
        target = _original_output(first, weights[factor.layer], inputs)
        _fit_second(norm, act, second, _apply(first, inputs), target)
        recalibrate_norms(split, images, batch)
    return split


def _inputs_of(model: nn.Module, module: nn.Module, images: torch.Tensor, batch: int) -> torch.Tensor:
    """What ``module`` receives when ``model`` runs ``images`` (as plain float tensors)."""
    seen = []
    hook = module.register_forward_hook(lambda _m, args, _out: seen.append(_plain(args[0]).detach()))
    try:
        for start in range(0, len(images), batch):
            model(images[start : start + batch])
    finally:
        hook.remove()
    return torch.cat(seen)


def _plain(x) -> torch.Tensor:
    return x.value if hasattr(x, "value") else x


def _apply(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    weight = module.quant_weight().value
    return F.conv2d(x, weight, stride=module.stride, padding=module.padding) if x.dim() == 4 else x @ weight.T


def _original_output(first: nn.Module, weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The replaced layer's output (without bias) on ``x``, channels last, float64."""
    if x.dim() == 4:
        kernel = weight.reshape(weight.shape[0], x.shape[1], *first.kernel_size).to(x.dtype)
        out = F.conv2d(x, kernel, stride=first.stride, padding=first.padding)
        return _channels_last(out).double()
    return (x.double() @ weight.T).double()


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(1, -1).reshape(-1, x.shape[1]) if x.dim() == 4 else x


def _fit_second(norm: nn.Module, act: nn.Module, second: nn.Module, z: torch.Tensor, target: torch.Tensor) -> None:
    """Calibrate the bottleneck's batch norm on ``z`` and fit ``second`` to ``target`` (channels last) by least
    squares, trying each of ``GAINS`` for the norm and keeping the closest fit."""
    channels = _channels_last(z.double())
    mean, var = channels.mean(0), channels.var(0, unbiased=False)
    norm.running_mean.copy_(mean)
    norm.running_var.copy_(var)
    norm.bias.zero_()
    rows = torch.linspace(0, len(target) - 1, min(len(target), MAX_ROWS)).long()
    best = None
    for gain in GAINS:
        norm.weight.fill_(gain)
        y = _channels_last(_plain(act(norm(z)))).double()
        y, fitted = y[rows], target[rows]
        solution = torch.linalg.lstsq(y, target).solution  # rank x outputs
        error = float(((y @ solution - fitted) ** 2).sum())
        if best is None or error < best[0]:
            best = (error, gain, solution)
    _, gain, solution = best
    norm.weight.fill_(gain)
    matrix = _quantizable(second, solution.T)
    second.weight.copy_(matrix.reshape(second.weight.shape))


def _quantizable(module: nn.Module, matrix: torch.Tensor) -> torch.Tensor:
    """``matrix`` with each row scaled so that ``module``'s quantizer represents it best (least error after the
    best rescaling); the batch norm after each output channel absorbs the scale."""
    matrix = matrix.double()
    peak = matrix.abs().amax(1, keepdim=True).clamp_min(1e-12)
    best_error = torch.full((len(matrix),), float("inf"), dtype=torch.float64)
    best = matrix / peak
    for clip in CLIPS:
        scaled = (matrix / (peak * float(clip))).clamp(-1.0, 1.0)
        quantized = module.weight_quant(scaled.float()).value.double()
        fit = (quantized * matrix).sum(1, keepdim=True) / (quantized**2).sum(1, keepdim=True).clamp_min(1e-12)
        error = ((fit * quantized - matrix) ** 2).sum(1)
        better = error < best_error
        best_error = torch.where(better, error, best_error)
        best = torch.where(better[:, None], scaled, best)
    return best.to(module.weight.dtype)


@torch.no_grad()
def recalibrate_norms(model: nn.Module, images: torch.Tensor, batch: int = 512) -> None:
    """Set every batch norm's running statistics to their average over ``images`` (the rest in eval mode)."""
    norms = [module for module in model.modules() if hasattr(module, "running_var")]
    saved = {module: module.momentum for module in norms}
    model.eval()
    try:
        for module in norms:
            module.train()
        for seen, start in enumerate(range(0, len(images), batch)):
            for module in norms:
                module.momentum = 1.0 / (seen + 1)  # a running average over the batches
            model(images[start : start + batch])
    finally:
        for module, momentum in saved.items():
            module.momentum = momentum
        model.eval()
