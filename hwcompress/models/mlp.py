"""Quantized MLPs: FINN's TFC/SFC/LFC and any hidden widths, bits chosen per layer."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence

import torch
from brevitas.nn import QuantIdentity, QuantLinear
from torch import nn

from hwcompress.models.norm import ScalarNorm
from hwcompress.models.quant import PixelQuant, act_quant, clamp_weights_, init_weights_, weight_quant


class QuantMLP(nn.Module):
    """uint8 pixels -> [QuantLinear -> BatchNorm -> quantized activation -> Dropout] x N -> QuantLinear.

    Layers are named ``fc0 .. fc{N-1}`` and ``out``; ``bn<i>``, ``act<i>`` and ``drop<i>`` follow ``fc<i>``.

    Example:
        >>> net = QuantMLP((1, 28, 28), [64, 64, 64], 10, weight_bits=[2, 2, 2, 2], act_bits=[2, 2, 2])
        >>> net(torch.zeros(4, 1, 28, 28)).shape
        torch.Size([4, 10])
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        hidden: Sequence[int],
        num_classes: int,
        weight_bits: Sequence[int],
        act_bits: Sequence[int],
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if len(weight_bits) != len(hidden) + 1 or len(act_bits) != len(hidden):
            raise ValueError("need one weight bit width per linear layer and one act bit width per hidden layer")
        self.input_quant = QuantIdentity(act_quant=PixelQuant, return_quant_tensor=True)
        self.input_drop = nn.Dropout(dropout)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        width = math.prod(input_shape)
        for i, (out, w_bits, a_bits) in enumerate(zip(hidden, weight_bits, act_bits, strict=False)):
            layers[f"fc{i}"] = QuantLinear(width, out, bias=False, weight_quant=weight_quant(w_bits))
            layers[f"bn{i}"] = nn.BatchNorm1d(out)
            layers[f"act{i}"] = QuantIdentity(act_quant=act_quant(a_bits), return_quant_tensor=True)
            layers[f"drop{i}"] = nn.Dropout(dropout)
            width = out
        layers["out"] = QuantLinear(width, num_classes, bias=False, weight_quant=weight_quant(weight_bits[-1]))
        self.body = nn.Sequential(layers)
        self.norm = ScalarNorm()
        init_weights_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_quant(x.flatten(1).to(self.norm.weight.dtype))
        return self.norm(self.body(self.input_drop(x)))

    def constrain_weights_(self) -> None:
        """Keep float weights inside the quantizers' [-1, 1] range (called after each optimizer step)."""
        clamp_weights_(self)
