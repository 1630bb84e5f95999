"""Quantizers FINN compiles: constant-scale, per-tensor, integer or binary (the bnn_pynq style).

Weights and activations live in [-1, 1]: b bits give the narrow-range grid k / (2^(b-1) - 1) (2 bits are
ternary {-1, 0, 1}); 1 bit means bipolar {-1, +1}. The pixel quantizer is unsigned 8 bit at scale 1: the identity on
uint8 pixel values, so the network sees exactly what FINN's UINT8 input carries.
"""

from __future__ import annotations

import torch
from brevitas.core.bit_width import BitWidthImplType
from brevitas.core.quant import QuantType
from brevitas.core.restrict_val import FloatToIntImplType, RestrictValueType
from brevitas.core.scaling import ScalingImplType
from brevitas.core.zero_point import ZeroZeroPoint
from brevitas.inject import ExtendedInjector
from brevitas.nn import QuantConv2d, QuantLinear
from brevitas.quant.solver import ActQuantSolver, WeightQuantSolver
from torch import nn


class _ConstScaled(ExtendedInjector):
    bit_width_impl_type = BitWidthImplType.CONST
    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.FP
    zero_point_impl = ZeroZeroPoint
    float_to_int_impl_type = FloatToIntImplType.ROUND
    scaling_per_output_channel = False
    narrow_range = True
    signed = True


class _WeightQuant(_ConstScaled, WeightQuantSolver):
    scaling_const = 1.0


class _ActQuant(_ConstScaled, ActQuantSolver):
    min_val = -1.0
    max_val = 1.0


class PixelQuant(_ConstScaled, ActQuantSolver):
    """Unsigned 8 bit at scale 1: exact on 0..255."""

    quant_type = QuantType.INT
    bit_width = 8
    signed = False
    narrow_range = False
    min_val = 0.0
    max_val = 255.0


def _quant_type(bits: int) -> QuantType:
    if not 1 <= bits <= 8:
        raise ValueError(f"bit width must be 1..8, got {bits}")
    return QuantType.BINARY if bits == 1 else QuantType.INT


def weight_quant(bits: int) -> type[ExtendedInjector]:
    """The weight quantizer for ``bits`` (1 = binary, 2 = ternary, ... 8)."""
    return _WeightQuant.let(bit_width=bits, quant_type=_quant_type(bits))


def act_quant(bits: int) -> type[ExtendedInjector]:
    """The activation quantizer for ``bits`` (1 = bipolar)."""
    return _ActQuant.let(bit_width=bits, quant_type=_quant_type(bits))


#: The layers whose weights are quantized and that FINN turns into matrix units.
COMPUTE_LAYERS = (QuantLinear, QuantConv2d)


@torch.no_grad()
def init_weights_(model: nn.Module) -> None:
    """Spread every quantized layer's float weights uniformly over the quantizers' [-1, 1] range (the default
    initialisation is so small that a 2-bit quantizer rounds it all to zero)."""
    for module in model.modules():
        if isinstance(module, COMPUTE_LAYERS):
            nn.init.uniform_(module.weight, -1.0, 1.0)


@torch.no_grad()
def clamp_weights_(model: nn.Module) -> None:
    """Keep every quantized layer's float weights inside the quantizers' [-1, 1] range."""
    for module in model.modules():
        if isinstance(module, COMPUTE_LAYERS):
            module.weight.clamp_(-1.0, 1.0)
