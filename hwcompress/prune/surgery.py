"""Physical channel removal from Brevitas layers: weights, biases, batch norms, depthwise filters, the consumers'
inputs.

Quantizer configurations stay as they are (the zoo's quantizers are per tensor, so no scale changes shape).
"""

from __future__ import annotations

import copy

import torch
from brevitas.nn import QuantConv2d
from torch import nn

from hwcompress.prune.groups import ChannelGroup, is_depthwise


def prune_channels(model: nn.Module, groups: list[ChannelGroup], keep: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of ``model`` keeping, for each group named in ``keep``, only the channels it lists."""
    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    for group in groups:
        if group.name not in keep:
            continue
        index = torch.as_tensor(keep[group.name], dtype=torch.long).sort().values
        if len(index) == 0 or index[-1] >= group.channels:
            raise ValueError(f"{group.name}: channels to keep must be within 0..{group.channels - 1}, at least one")
        for part in group.outputs:
            _slice(modules[part.module], 0, index)
        for name in group.norms:
            _slice_norm(modules[name], index)
        for part in group.consumers:
            expanded = (index[:, None] * part.stride + torch.arange(part.stride)[None]).flatten()
            _slice(modules[part.module], part.dim, expanded)
    return model


def _slice(module: nn.Module, dim: int, index: torch.Tensor) -> None:
    module.weight = nn.Parameter(module.weight.data.index_select(dim, index).clone())
    if dim == 0 and getattr(module, "bias", None) is not None:
        module.bias = nn.Parameter(module.bias.data[index].clone())
    size = len(index)
    if is_depthwise(module):
        module.in_channels = module.out_channels = module.groups = size
    elif isinstance(module, QuantConv2d):
        if dim == 0:
            module.out_channels = size
        else:
            module.in_channels = size
    elif dim == 0:
        module.out_features = size
    else:
        module.in_features = size


def _slice_norm(norm: nn.Module, index: torch.Tensor) -> None:
    norm.weight = nn.Parameter(norm.weight.data[index].clone())
    norm.bias = nn.Parameter(norm.bias.data[index].clone())
    norm.running_mean = norm.running_mean[index].clone()
    norm.running_var = norm.running_var[index].clone()
    norm.num_features = len(index)


def channel_counts(model: nn.Module, groups: list[ChannelGroup]) -> dict[str, int]:
    """Output channels of each group's producer in ``model``."""
    modules = dict(model.named_modules())
    counts = {}
    for group in groups:
        module = modules[group.producer]
        counts[group.name] = module.out_channels if isinstance(module, QuantConv2d) else module.out_features
    return counts
