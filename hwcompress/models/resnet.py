"""A quantized residual network: ResNet-8 of MLPerf Tiny's image classification, with quantized additions.

FINN builds the fork of each residual block as DuplicateStreams and the join as ElementwiseAdd; an addition is
exact when both operands carry the same scale, so every activation on the residual stream has the same bits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn

from hwcompress.errors import ConfigError
from hwcompress.models.norm import ScalarNorm
from hwcompress.models.quant import PixelQuant, act_quant, clamp_weights_, init_weights_, weight_quant

KERNEL = 3


@dataclass(frozen=True)
class ResidualBlock:
    """Layer indices of one block: ``conv<first>`` and ``conv<second>`` on the branch, ``conv<shortcut>`` (a 1x1
    strided convolution where the block changes shape, else None: the identity) and the quantizer ``add<index>``."""

    index: int
    first: int
    second: int
    shortcut: int | None


def residual_plan(stages: int) -> list[ResidualBlock]:
    """The blocks of a ResNet with ``stages`` stages of one block each: only the first keeps its shape."""
    blocks, layer = [], 1
    for stage in range(stages):
        shortcut = None if stage == 0 else layer + 2
        blocks.append(ResidualBlock(stage, layer, layer + 1, shortcut))
        layer += 2 if shortcut is None else 3
    return blocks


class QuantResNet(nn.Module):
    """uint8 pixels -> conv0 (3x3) -> [residual block] per stage -> global max-pool -> QuantLinear ``out``.

    A block: conv 3x3 (stride 2 from the second stage) -> BN -> act -> conv 3x3 -> BN -> act, plus the shortcut
    (identity, or conv 1x1 stride 2 -> BN -> act), added and requantized by ``add<i>``. Convolutions pad by 1.
    MLPerf Tiny's ResNet-8 ends in global average pooling and uses ReLU; here the pool is a max-pool and the
    activations are the zoo's symmetric quantizers, which FINN builds as thresholds.

    Example:
        >>> net = QuantResNet((3, 32, 32), 10, (16, 32, 64), [2] * 10, [2] * 9)
        >>> net(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        widths: Sequence[int],
        weight_bits: Sequence[int],
        act_bits: Sequence[int],
    ) -> None:
        super().__init__()
        self.blocks = residual_plan(len(widths))
        _check_stream_bits(self.blocks, act_bits)
        channels, height, width = input_shape
        self.input_quant = QuantIdentity(act_quant=PixelQuant, return_quant_tensor=True)
        self._add_layer(0, channels, widths[0], KERNEL, 1, weight_bits, act_bits)
        channels = widths[0]
        for block, out in zip(self.blocks, widths, strict=True):
            stride = 1 if block.shortcut is None else 2
            self._add_layer(block.first, channels, out, KERNEL, stride, weight_bits, act_bits)
            self._add_layer(block.second, out, out, KERNEL, 1, weight_bits, act_bits)
            if block.shortcut is not None:
                self._add_layer(block.shortcut, channels, out, 1, stride, weight_bits, act_bits)
                height, width = (height + 1) // 2, (width + 1) // 2
            quant = act_quant(act_bits[block.second])
            self.add_module(f"add{block.index}", QuantIdentity(act_quant=quant, return_quant_tensor=True))
            channels = out
        self.pool = nn.MaxPool2d((height, width))
        self.out = QuantLinear(channels, num_classes, bias=False, weight_quant=weight_quant(weight_bits[-1]))
        self.norm = ScalarNorm()
        init_weights_(self)

    def _add_layer(self, i: int, inputs: int, outputs: int, kernel: int, stride: int, w_bits, a_bits) -> None:
        conv = QuantConv2d(
            inputs,
            outputs,
            kernel,
            stride=stride,
            padding=kernel // 2,
            bias=False,
            weight_quant=weight_quant(w_bits[i]),
        )
        self.add_module(f"conv{i}", conv)
        self.add_module(f"bn{i}", nn.BatchNorm2d(outputs))
        self.add_module(f"act{i}", QuantIdentity(act_quant=act_quant(a_bits[i]), return_quant_tensor=True))

    def _layer(self, i: int, x):
        return getattr(self, f"act{i}")(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._layer(0, self.input_quant(x.to(self.norm.weight.dtype)))
        for block in self.blocks:
            branch = self._layer(block.second, self._layer(block.first, x))
            shortcut = x if block.shortcut is None else self._layer(block.shortcut, x)
            x = getattr(self, f"add{block.index}")(branch + shortcut)
        return self.norm(self.out(self.pool(x).flatten(1)))

    def constrain_weights_(self) -> None:
        """Keep float weights inside the quantizers' [-1, 1] range (called after each optimizer step)."""
        clamp_weights_(self)


def _check_stream_bits(blocks: Sequence[ResidualBlock], act_bits: Sequence[int]) -> None:
    """Both operands of an addition must carry the same scale: one activation width per residual stream."""
    stream = [0]
    for block in blocks:
        joined = [block.second, *([block.shortcut] if block.shortcut is not None else stream)]
        widths = {f"conv{i}": act_bits[i] for i in joined}
        if len(set(widths.values())) > 1:
            raise ConfigError(
                f"the addition of residual block {block.index} joins activations of different widths {widths}; "
                "give them the same quant.layers act_bits"
            )
        stream = joined
