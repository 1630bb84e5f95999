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
from hwcompress.prune.allocate import round_counts
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
        for producer in group.outputs:
            need = max(need, _pe_needed(pruned[producer.module], cycles_per_image))
        for consumer in group.consumers:
            simd = _simd_needed(pruned[consumer.module], cycles_per_image)
            per_channel = pruned[consumer.module].fan_in // counts[group.name]
            need = max(need, math.ceil(simd / per_channel))
        granularity[group.name] = min(_next_power_of_two(need), _floor_power_of_two(counts[group.name]))
    return granularity


def foldable_counts(
    layers: Mapping[str, MatrixLayer],
    groups: list[ChannelGroup],
    counts: Mapping[str, int],
    cycles_per_image: float,
    min_channels: int = 1,
) -> tuple[dict[str, int], dict[str, int]]:
    """``counts`` rounded to multiples of their folding granularity for the cycle budget, and that granularity.

    A count rounded up can cross into more parallelism than it is worth (88 channels of SFC's first layer
    need PE 8 at 100k fps, 80 need PE 4: twice the hardware for 10 % more channels); a group whose rounded-down
    count costs at least 10 % fewer PE x SIMD per kept channel, as FINN would fold it, is rounded down instead.
    """
    sizes = {group.name: group.channels for group in groups}
    granularity = folding_granularity(layers, groups, counts, cycles_per_image)
    rounded = round_counts(counts, sizes, granularity, min_channels)
    for group in groups:
        name, step = group.name, granularity[group.name]
        down = counts[name] // step * step
        if max(step, min_channels) <= down < rounded[name]:
            cost_up = _compute_units(layers, groups, rounded, group, cycles_per_image)
            cost_down = _compute_units(layers, groups, {**rounded, name: down}, group, cycles_per_image)
            if cost_down / down < 0.9 * cost_up / rounded[name]:  # at least 10 % cheaper per kept channel
                rounded[name] = down
    return rounded, granularity


def finn_folding(layer: MatrixLayer, cycles_per_image: float) -> tuple[int, int]:
    """(PE, SIMD) as FINN's SetFolding picks them: SIMD up through divisors of the fan-in, then PE."""
    simd = 1
    simd_options = [d for d in _divisors(layer.fan_in) if d <= _simd_limit(layer)]
    for simd in simd_options:
        if layer.fan_in * layer.outputs * layer.pixels / simd <= cycles_per_image:
            return 1, simd
    for pe in _divisors(layer.outputs):
        if layer.fan_in * layer.outputs * layer.pixels / (simd * pe) <= cycles_per_image:
            break
    return pe, simd


def _compute_units(layers, groups, counts, group: ChannelGroup, cycles_per_image: float) -> int:
    """PE x SIMD, summed over the layers on both sides of ``group``, with ``counts`` kept."""
    pruned = _shrink(layers, groups, counts)
    modules = [layer.module for layer in (*group.outputs, *group.consumers)]
    return sum(math.prod(finn_folding(pruned[module], cycles_per_image)) for module in modules)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _shrink(layers, groups, counts) -> dict[str, MatrixLayer]:
    """The layers with each group's channels cut to ``counts``."""
    shrunk = dict(layers)
    for group in groups:
        kept = counts[group.name] / group.channels
        for producer in group.outputs:
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
