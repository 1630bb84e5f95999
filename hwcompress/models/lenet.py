"""Quantized LeNet-5 (the Caffe variant of the Deep Compression paper), bits chosen per layer."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn

from hwcompress.errors import ConfigError
from hwcompress.models.norm import ScalarNorm
from hwcompress.models.quant import PixelQuant, act_quant, clamp_weights_, weight_quant

KERNEL = 5
POOL = 2


class QuantLeNet5(nn.Module):
    """uint8 pixels -> [QuantConv2d 5x5 -> BN -> act -> MaxPool 2] x 2 -> [QuantLinear -> BN -> act] -> QuantLinear.

    Layers are named ``conv0``, ``conv1``, ``fc0``, ``out``; FINN lowers the convolutions to sliding-window
    generators and MVAUs and the pools to Pool layers.

    Example:
        >>> net = QuantLeNet5((1, 28, 28), 10, (20, 50), (500,), [2, 2, 2, 2], [2, 2, 2])
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        conv_channels: Sequence[int],
        fc_widths: Sequence[int],
        weight_bits: Sequence[int],
        act_bits: Sequence[int],
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        channels, height, width = input_shape
        for _ in conv_channels:
            height, width = (height - KERNEL + 1) // POOL, (width - KERNEL + 1) // POOL
        if min(height, width) < 1:
            raise ConfigError(f"lenet5 needs images of at least 16x16 pixels, got {input_shape[1]}x{input_shape[2]}")
        flat = conv_channels[-1] * height * width
        self.input_quant = QuantIdentity(act_quant=PixelQuant, return_quant_tensor=True)
        features: OrderedDict[str, nn.Module] = OrderedDict()
        bits = iter(zip(weight_bits, [*act_bits, None], strict=True))
        for i, out in enumerate(conv_channels):
            w_bits, a_bits = next(bits)
            features[f"conv{i}"] = QuantConv2d(channels, out, KERNEL, bias=False, weight_quant=weight_quant(w_bits))
            features[f"bn{i}"] = nn.BatchNorm2d(out)
            features[f"act{i}"] = QuantIdentity(act_quant=act_quant(a_bits), return_quant_tensor=True)
            features[f"pool{i}"] = nn.MaxPool2d(POOL)
            channels = out
        self.features = nn.Sequential(features)
        width = flat
        classifier: OrderedDict[str, nn.Module] = OrderedDict()
        for i, out in enumerate(fc_widths):
            w_bits, a_bits = next(bits)
            classifier[f"fc{i}"] = QuantLinear(width, out, bias=False, weight_quant=weight_quant(w_bits))
            classifier[f"fcbn{i}"] = nn.BatchNorm1d(out)
            classifier[f"fcact{i}"] = QuantIdentity(act_quant=act_quant(a_bits), return_quant_tensor=True)
            classifier[f"drop{i}"] = nn.Dropout(dropout)
            width = out
        w_bits, _ = next(bits)
        classifier["out"] = QuantLinear(width, num_classes, bias=False, weight_quant=weight_quant(w_bits))
        self.classifier = nn.Sequential(classifier)
        self.norm = ScalarNorm()
        for module in self.modules():
            if isinstance(module, QuantConv2d | QuantLinear):
                nn.init.uniform_(module.weight, -1.0, 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.input_quant(x.float()))
        return self.norm(self.classifier(x.flatten(1)))

    def constrain_weights_(self) -> None:
        """Keep float weights inside the quantizers' [-1, 1] range (called after each optimizer step)."""
        clamp_weights_(self)
