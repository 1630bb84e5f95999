"""Folding-aware channel counts: the granularity each group's kept count should be a multiple of.

FINN folds a matrix layer (MVAU) with SIMD dividing its fan-in and PE dividing its outputs, and its SetFolding
raises SIMD first (while SIMD x weight bits stays within the weight stream width), then PE, until the layer
fits the cycle budget ``clock / fps``. A kept count with few divisors (37 is prime) leaves FINN the choice of
too little parallelism or all of it. Here each group gets the power of two that the folding of the pruned
network needs on both sides of it (its producer's PE, its consumer's SIMD), so FINN finds that exact value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from hwcompress.hw.cost import layer_costs
from hwcompress.prune.groups import ChannelGroup

#: FINN SetFolding's default cap on an MVAU's weight stream (SIMD x weight bits), in bits.
WEIGHT_STREAM_BITS = 36


@dataclass(frozen=True)
class MatrixLayer:
    """One layer as FINN will see it: an MW x MH matrix applied ``pixels`` times per image."""

    module: str
    fan_in: int
    outputs: int
    pixels: int
    weight_bits: int


def matrix_layers(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, MatrixLayer]:
    """The model's linear and conv layers by module name, measured with one forward pass."""
    names = {name.rsplit(".", 1)[-1]: name for name, _ in model.named_modules()}
    layers = {}
    for cost in layer_costs(model, input_shape):
        module = model.get_submodule(names[cost.name])
        outputs = module.weight.shape[0]
        layers[names[cost.name]] = MatrixLayer(
            names[cost.name], cost.params // outputs, outputs, cost.macs // cost.params, cost.weight_bits
        )
    return layers


def folding_granularity(
    layers: Mapping[str, MatrixLayer],
    groups: list[ChannelGroup],
    counts: Mapping[str, int],
    cycles_per_image: float,
) -> dict[str, int]:
    """The power of two each group's kept count (``counts``) should be a multiple of, for the cycle budget."""
    pruned = _shrink(layers, groups, counts)
    granularity = {}
    for group in groups:
        need = 1
        for producer in group.producers:
            need = max(need, _pe_needed(pruned[producer.module], cycles_per_image))
        for consumer in group.consumers:
            simd = _simd_needed(pruned[consumer.module], cycles_per_image)
            per_channel = pruned[consumer.module].fan_in // counts[group.name]
            need = max(need, math.ceil(simd / per_channel))
        granularity[group.name] = min(_next_power_of_two(need), _floor_power_of_two(counts[group.name]))
    return granularity


def _shrink(layers, groups, counts) -> dict[str, MatrixLayer]:
    """The layers with each group's channels cut to ``counts``."""
    shrunk = dict(layers)
    for group in groups:
        kept = counts[group.name] / group.channels
        for producer in group.producers:
            layer = shrunk[producer.module]
            shrunk[producer.module] = MatrixLayer(
                layer.module, layer.fan_in, round(layer.outputs * kept), layer.pixels, layer.weight_bits
            )
        for consumer in group.consumers:
            layer = shrunk[consumer.module]
            shrunk[consumer.module] = MatrixLayer(
                layer.module, round(layer.fan_in * kept), layer.outputs, layer.pixels, layer.weight_bits
            )
    return shrunk


def _parallelism(layer: MatrixLayer, cycles_per_image: float) -> int:
    return max(1, math.ceil(layer.fan_in * layer.outputs * layer.pixels / cycles_per_image))


def _simd_limit(layer: MatrixLayer) -> int:
    return max(1, min(layer.fan_in, WEIGHT_STREAM_BITS // layer.weight_bits))


def _simd_needed(layer: MatrixLayer, cycles_per_image: float) -> int:
    return min(_parallelism(layer, cycles_per_image), _floor_power_of_two(_simd_limit(layer)))


def _pe_needed(layer: MatrixLayer, cycles_per_image: float) -> int:
    simd = _simd_needed(layer, cycles_per_image)
    return min(layer.outputs, math.ceil(_parallelism(layer, cycles_per_image) / simd))


def _next_power_of_two(n: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def _floor_power_of_two(n: int) -> int:
    return 1 << max(0, int(math.log2(max(1, n))))
