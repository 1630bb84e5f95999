"""Cost model of a quantized network, from the model itself: parameters, MACs, BOPs, weight memory.

BOPs (bit operations) = MACs x weight bits x input activation bits, as in the quantization literature.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from brevitas.nn import QuantConv2d
from torch import nn

from hwcompress.models.quant import COMPUTE_LAYERS


@dataclass(frozen=True)
class LayerCost:
    name: str
    kind: str
    params: int
    macs: int
    weight_bits: int
    input_bits: int

    @property
    def bops(self) -> int:
        return self.macs * self.weight_bits * self.input_bits

    @property
    def weight_memory_bits(self) -> int:
        return self.params * self.weight_bits

    def to_json(self) -> dict:
        return {**asdict(self), "bops": self.bops, "weight_memory_bits": self.weight_memory_bits}


def layer_costs(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerCost]:
    """One ``LayerCost`` per quantized linear/conv layer, measured with one forward pass of zeros."""
    seen: dict[str, LayerCost] = {}
    hooks = []

    def record(name: str):
        def hook(module, inputs, output):
            x = inputs[0]
            input_bits = int(x.bit_width) if getattr(x, "bit_width", None) is not None else 32
            weight = module.quant_weight()
            params = module.weight.numel()
            if isinstance(module, QuantConv2d):
                out_pixels = math.prod(output.shape[2:])
                macs = params * out_pixels
            else:
                macs = params
            seen[name] = LayerCost(
                name.rsplit(".", 1)[-1], type(module).__name__, params, macs, int(weight.bit_width), input_bits
            )

        return hook

    for name, module in model.named_modules():
        if isinstance(module, COMPUTE_LAYERS):
            hooks.append(module.register_forward_hook(record(name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return list(seen.values())


def totals(costs: list[LayerCost]) -> dict[str, int]:
    return {
        "params": sum(c.params for c in costs),
        "macs": sum(c.macs for c in costs),
        "bops": sum(c.bops for c in costs),
        "weight_memory_bits": sum(c.weight_memory_bits for c in costs),
    }
