"""Quantized convolutional networks in the bnn_pynq style (LeNet-5, CNV, MobileNet), bits chosen per layer."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn

from hwcompress.config import ConvSpec
from hwcompress.errors import ConfigError
from hwcompress.models.norm import ScalarNorm
from hwcompress.models.quant import PixelQuant, act_quant, clamp_weights_, init_weights_, weight_quant

POOL = 2


def feature_size(input_shape: Sequence[int], convs: Sequence[ConvSpec]) -> tuple[int, int]:
    """Height and width after ``convs`` (valid convolutions, 2x2 pools) on ``input_shape`` (C, H, W)."""
    height, width = input_shape[1:]
    for spec in convs:
        height, width = height - spec.kernel + 1, width - spec.kernel + 1
        if spec.pool:
            height, width = height // POOL, width // POOL
    return height, width


def smallest_input(convs: Sequence[ConvSpec]) -> int:
    """The smallest square image ``convs`` leave at least one pixel of."""
    size = 1
    while min(feature_size((1, size, size), convs)) < 1:
        size += 1
    return size


class QuantConvNet(nn.Module):
    """uint8 pixels -> [QuantConv2d -> BN -> act (-> MaxPool 2)] per conv -> [QuantLinear -> BN -> act] -> QuantLinear.

    Layers are named ``conv<i>``, ``fc<i>``, ``out``; FINN lowers the convolutions to sliding-window
    generators and MVAUs (VVAUs for depthwise ones) and the pools to Pool layers.

    Example:
        >>> convs = [ConvSpec(20, 5, True), ConvSpec(50, 5, True)]
        >>> net = QuantConvNet((1, 28, 28), 10, convs, (500,), [2, 2, 2, 2], [2, 2, 2])
        >>> net(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        convs: Sequence[ConvSpec],
        fc_widths: Sequence[int],
        weight_bits: Sequence[int],
        act_bits: Sequence[int],
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        height, width = feature_size(input_shape, convs)
        if min(height, width) < 1:
            side = smallest_input(convs)
            raise ConfigError(
                f"this network needs images of at least {side}x{side} pixels, got {input_shape[1]}x{input_shape[2]} "
                f"(set data.pad_to: {side} to pad them)"
            )
        channels = input_shape[0]
        self.input_quant = QuantIdentity(act_quant=PixelQuant, return_quant_tensor=True)
        features: OrderedDict[str, nn.Module] = OrderedDict()
        bits = iter(zip(weight_bits, [*act_bits, None], strict=True))
        for i, spec in enumerate(convs):
            w_bits, a_bits = next(bits)
            if spec.depthwise and spec.channels != channels:
                raise ConfigError(f"conv{i} is depthwise: {spec.channels} channels out, but {channels} come in")
            features[f"conv{i}"] = QuantConv2d(
                channels,
                spec.channels,
                spec.kernel,
                groups=channels if spec.depthwise else 1,
                bias=False,
                weight_quant=weight_quant(w_bits),
            )
            features[f"bn{i}"] = nn.BatchNorm2d(spec.channels)
            features[f"act{i}"] = QuantIdentity(act_quant=act_quant(a_bits), return_quant_tensor=True)
            if spec.pool:
                features[f"pool{i}"] = nn.MaxPool2d(POOL)
            channels = spec.channels
        self.features = nn.Sequential(features)
        width = channels * height * width
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
        init_weights_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.input_quant(x.to(self.norm.weight.dtype)))
        return self.norm(self.classifier(x.flatten(1)))

    def constrain_weights_(self) -> None:
        """Keep float weights inside the quantizers' [-1, 1] range (called after each optimizer step)."""
        clamp_weights_(self)
