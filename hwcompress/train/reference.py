"""The float64 reference that verification compares the accelerator with.

The accelerator computes in integers. The float32 network is not exact itself: with scales that are not powers
of two (3-bit activations step by 1/3, 8-bit ones by 1/127), float32 rounding in the products and batch norms
can tip a value across a quantization boundary that exact arithmetic does not cross. The reference is the same
network evaluated in float64, with the two values a float32 network fixes once taken as it fixes them: its
integer weights (a float weight within float32 rounding of a tie between two levels quantizes as the float32
network and its QONNX export quantize it) and its quantizer scales (the float32 values the export holds, not
float64 recomputations of them). Everything from the products on is float64.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from hwcompress.models.quant import COMPUTE_LAYERS
from hwcompress.train.loop import predict

#: The submodules of Brevitas quantizers that return a scale (``int_scaling_impl`` returns the integer range).
SCALING = "scaling_impl"


def exact_model(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model`` with its integer weights and quantizer scales as the float32 network has them."""
    exact = copy.deepcopy(model).eval()
    with torch.no_grad():
        for layer in exact.modules():
            if isinstance(layer, COMPUTE_LAYERS):
                layer.weight.copy_(layer.quant_weight().value)
    exact = exact.double()
    for name, module in exact.named_modules():
        if name.rsplit(".", 1)[-1] == SCALING:
            module.register_forward_hook(_as_float32)
    return exact


def predict_exact(model: nn.Module, images: np.ndarray) -> torch.Tensor:
    """Logits of ``exact_model(model)`` for uint8 ``images``: the reference verification compares with."""
    return predict(exact_model(model), images)


def _as_float32(module: nn.Module, inputs: tuple, scale: torch.Tensor) -> torch.Tensor:
    return scale.float().double()
